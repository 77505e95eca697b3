package dev.zeroq.pipeline;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.Activation;
import dev.zeroq.backend.Backend;
import dev.zeroq.graph.Executor;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.graph.Op;
import dev.zeroq.graph.Transforms;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.quant.QuantPlan.Scheme;
import dev.zeroq.quant.SymmetricQuantizer;
import dev.zeroq.tensor.Tensor;

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Runs a model as a quantization plan says, in float ("fake quantization"): weights replaced by the values
 * their codes stand for, and every quantized activation rounded to its grid as it is produced. This is how
 * the accuracy of any plan is measured, on any backend.
 */
public final class Simulation implements UnaryOperator<Tensor>, AutoCloseable {
    private final Scheme scheme;
    private final Graph graph;
    private final Backend backend;
    // Opened on the first batch, sized by it (CUDA plans for a maximum batch); volatile + lock so that concurrent
    // first calls (a CPU session serving several threads) open it once.
    private volatile ForwardRunner runner;
    private final Map<String, QuantPlan.Activation> activations = new HashMap<>();

    /** The graph a scheme works on: BatchNorm folded for deploy, as written for paper. */
    public static Graph workingGraph(Graph original, Scheme scheme) {
        return scheme == Scheme.DEPLOY ? Transforms.foldBatchNorm(original) : original;
    }

    /**
     * Values whose activations a scheme quantizes. Paper: outputs of ReLU and ReLU6 (Clip with min 0).
     * Deploy: the data input of every weight layer (the network input included).
     */
    public static Set<String> activationSites(Graph working, Scheme scheme) {
        Set<String> sites = new LinkedHashSet<>();
        if (scheme == Scheme.DEPLOY) {
            for (WeightLayer l : WeightLayer.of(working)) {
                sites.add(l.node().input(0));
            }
        } else {
            for (Node n : working.nodes()) {
                if (n.op() instanceof Op.Unary u && (u.fn() instanceof Activation.Relu
                        || u.fn() instanceof Activation.Clip c && c.min() == 0f)) {
                    sites.add(n.output());
                }
            }
        }
        return sites;
    }

    public Simulation(Graph original, QuantPlan plan, Backend backend) {
        this.scheme = plan.scheme();
        Graph working = workingGraph(original, scheme);
        for (QuantPlan.Activation a : plan.activations()) {
            activations.put(a.value(), a);
        }
        Map<String, QuantPlan.Layer> byNode = new HashMap<>();
        for (QuantPlan.Layer l : plan.layers()) {
            byNode.put(l.node(), l);
        }
        Map<String, Tensor> replaced = new HashMap<>();
        for (WeightLayer l : WeightLayer.of(working)) {
            QuantPlan.Layer entry = byNode.remove(l.name());
            if (entry == null) {
                continue;
            }
            replaced.put(l.weight(), l.stored(FakeQuant.fromPlan(scheme, l.outputMajor(working), entry)));
            QuantPlan.Activation in = activations.get(l.node().input(0));
            if (scheme == Scheme.DEPLOY && l.bias() != null && in != null) {
                replaced.put(l.bias(), int32Bias(working.param(l.bias()), in.scale(), entry.scales()));
            }
        }
        if (!byNode.isEmpty()) {
            throw ZeroqException.badInput("the plan names layers the model does not have: " + byNode.keySet()
                    + "; the plan belongs to another model");
        }
        this.graph = Transforms.withParams(working, replaced);
        this.backend = backend;
    }

    /** The bias as the int32 values an integer engine adds: rint(b/(s_in·s_w))·s_in·s_w. */
    private static Tensor int32Bias(Tensor bias, float inputScale, float[] weightScales) {
        int[] q = SymmetricQuantizer.quantizeBias(bias.data(), inputScale, weightScales);
        float[] out = new float[q.length];
        for (int c = 0; c < q.length; c++) {
            out[c] = (float) ((double) q[c] * inputScale * weightScales[c]);
        }
        return new Tensor(out, bias.shape());
    }

    public Graph graph() {
        return graph;
    }

    /**
     * The plan's model on a batch. On a CUDA backend that supports the graph the weights are uploaded once, on the
     * first call, and activations are fake-quantized on the device; {@link #close} releases it.
     */
    @Override
    public Tensor apply(Tensor x) {
        new Executor(graph, backend).checkInput(x);
        ForwardRunner r = runner;
        if (r == null) {
            synchronized (this) {
                if (runner == null) {
                    runner = ForwardRunner.open(graph, backend, x.dim(0));
                }
                r = runner;
            }
        }
        return r.run(x, scheme, activations.keySet(), (name, values) -> activations.get(name));
    }

    /** Where the simulation runs (after the first batch), for logs. */
    public String description() {
        return runner == null ? backend.name() : runner.description();
    }

    @Override
    public synchronized void close() {
        if (runner != null) {
            runner.close();
            runner = null;
        }
    }

    /**
     * Every value of one forward pass, by name: {@code raw} as computed, {@code passed} as handed to the next
     * ops (fake-quantized where the plan quantizes, else the same tensor). For diagnostics and teacher-forced
     * tests, which feed the simulation's own inputs to each layer of another engine.
     */
    public record Trace(Map<String, Tensor> raw, Map<String, Tensor> passed) {}

    /** Runs one forward pass and keeps every value (memory: the whole network's activations). */
    public Trace trace(Tensor x) {
        Map<String, Tensor> raw = new HashMap<>(), passed = new HashMap<>();
        QuantPlan.Activation in = activations.get(graph.inputName());
        Tensor input = in == null ? x : FakeQuant.apply(scheme, in, x);
        raw.put(graph.inputName(), x);
        passed.put(graph.inputName(), input);
        new dev.zeroq.graph.Executor(graph, backend).run(input, (node, i, value) -> {
            QuantPlan.Activation a = activations.get(node.outputs().get(i));
            Tensor out = a == null ? value : FakeQuant.apply(scheme, a, value);
            raw.put(node.outputs().get(i), value);
            passed.put(node.outputs().get(i), out);
            return out;
        });
        return new Trace(Map.copyOf(raw), Map.copyOf(passed));
    }

    /** Names of the values this simulation quantizes, for reports. */
    public List<String> quantizedValues() {
        return List.copyOf(activations.keySet());
    }
}
