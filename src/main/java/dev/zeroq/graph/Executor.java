package dev.zeroq.graph;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.Backend;
import dev.zeroq.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs a graph forward on a backend. Intermediate values are dropped as soon as their last reader has run,
 * so peak memory is the live set, not the whole network. A {@link Hook} sees (and may replace) every node
 * output: that is how statistics are collected and fake quantization is inserted.
 */
public final class Executor {
    private final Graph graph;
    private final Backend backend;
    private final Map<String, Integer> lastUse = new HashMap<>();

    /** Sees every node output in execution order; returns the value to pass on (usually {@code value}). */
    @FunctionalInterface
    public interface Hook {
        Tensor after(Node node, int outputIndex, Tensor value);

        Hook NONE = (node, i, value) -> value;
    }

    public Executor(Graph graph, Backend backend) {
        this.graph = graph;
        this.backend = backend;
        List<Node> nodes = graph.nodes();
        for (int i = 0; i < nodes.size(); i++) {
            for (String in : nodes.get(i).inputs()) {
                lastUse.put(in, i);
            }
        }
        lastUse.put(graph.outputName(), Integer.MAX_VALUE);
    }

    public Graph graph() { return graph; }

    public Backend backend() { return backend; }

    public Tensor run(Tensor input) {
        return run(input, Hook.NONE);
    }

    /** Forward pass of a batch (N, C, H, W); returns the graph output. */
    public Tensor run(Tensor input, Hook hook) {
        checkInput(input);
        Map<String, Tensor> env = new HashMap<>();
        env.put(graph.inputName(), input);
        return run(0, env, input.dim(0), hook);
    }

    /**
     * The end of a pass: nodes {@code first} onwards, reading whatever they need from before {@code first} in
     * {@code earlier} (values of a pass over the same input, kept e.g. by a {@link Hook}; the graph input under its
     * name). A pass whose parameters differ from that earlier pass's only at nodes {@code first} onwards gives the
     * output a whole {@link #run(Tensor)} would, for the cost of the nodes it runs.
     *
     * @throws IllegalArgumentException if {@code earlier} lacks the graph input or a value the nodes read
     */
    public Tensor runFrom(int first, Map<String, Tensor> earlier) {
        List<Node> nodes = graph.nodes();
        if (first < 0 || first > nodes.size()) {
            throw new IllegalArgumentException("node " + first + " of " + nodes.size());
        }
        Tensor input = earlier.get(graph.inputName());
        if (input == null) throw new IllegalArgumentException("the earlier values lack the graph input '" + graph.inputName() + "'");
        Map<String, Tensor> env = new HashMap<>();
        for (String v : readFrom(first)) {
            Tensor t = earlier.get(v);
            if (t == null) throw new IllegalArgumentException("the earlier values lack '" + v + "', read from node " + first + " on");
            env.put(v, t);
        }
        return run(first, env, input.dim(0), Hook.NONE);
    }

    /**
     * The values produced before node {@code first} (the graph input included) that node {@code first} or a later one
     * reads, or that are the graph output: what {@link #runFrom} needs from the earlier pass.
     */
    public List<String> readFrom(int first) {
        List<Node> nodes = graph.nodes();
        Set<String> before = new LinkedHashSet<>();
        before.add(graph.inputName());
        for (int i = 0; i < first; i++) before.addAll(nodes.get(i).outputs());
        Set<String> read = new LinkedHashSet<>();
        for (int i = first; i < nodes.size(); i++) {
            for (String in : nodes.get(i).inputs()) if (before.contains(in)) read.add(in);
        }
        if (before.contains(graph.outputName())) read.add(graph.outputName());
        return List.copyOf(read);
    }

    private Tensor run(int first, Map<String, Tensor> env, int batch, Hook hook) {
        List<Node> nodes = graph.nodes();
        for (int i = first; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            Tensor[] in = new Tensor[n.inputs().size()];
            for (int j = 0; j < in.length; j++) {
                String name = n.input(j);
                if (name.isEmpty()) {
                    continue;
                }
                Tensor t = env.get(name);
                in[j] = t != null ? t : graph.param(name);
            }
            Tensor[] out;
            try {
                out = forward(n.op(), in, batch);
            } catch (IllegalArgumentException | ArithmeticException e) {
                throw ZeroqException.internal("node '" + n.name() + "' (" + n.op().onnxType() + ") failed: "
                        + e.getMessage(), e);
            }
            for (int j = 0; j < out.length; j++) {
                env.put(n.outputs().get(j), hook.after(n, j, out[j]));
            }
            for (String name : n.inputs()) {
                if (lastUse.getOrDefault(name, -1) == i) {
                    env.remove(name);
                }
            }
        }
        return env.get(graph.outputName());
    }

    /** Rejects an input whose rank or per-image shape differs from the model's, naming both. */
    public void checkInput(Tensor input) {
        int[] want = graph.inputShape();
        int[] got = input.shape();
        if (got.length != 4 || got[1] != want[0] || got[2] != want[1] || got[3] != want[2] || got[0] < 1) {
            throw ZeroqException.badInput("input shape " + Arrays.toString(got) + " does not fit the model: expected (N, "
                    + want[0] + ", " + want[1] + ", " + want[2] + ") with N >= 1");
        }
    }

    /** Runs one op on the backend. */
    public Tensor[] forward(Op op, Tensor[] in, int batch) {
        Backend b = backend;
        return switch (op) {
            case Op.Conv c -> one(b.conv2d(in[0], in[1], in.length > 2 ? in[2] : null, c.spec()));
            case Op.BatchNorm bn -> one(b.batchNorm(in[0], in[1], in[2], in[3], in[4], bn.epsilon()));
            case Op.Unary u -> one(b.activation(in[0], u.fn()));
            case Op.Binary bin -> one(b.binary(in[0], in[1], bin.kind()));
            case Op.MaxPool p -> one(b.maxPool(in[0], p.spec()));
            case Op.AveragePool p -> one(b.avgPool(in[0], p.spec()));
            case Op.GlobalAveragePool g -> one(b.globalAvgPool(in[0]));
            case Op.ReduceMean r -> one(b.reduceMean(in[0], r.axes(), r.keepDims()));
            case Op.Flatten f -> one(in[0].reshape(ShapeInference.outputShapes(op, new int[][] {in[0].shape()}, batch)[0]));
            case Op.Reshape r -> one(in[0].reshape(ShapeInference.reshape(in[0].shape(), r.shape(), batch)));
            case Op.Transpose t -> one(b.transpose(in[0], t.perm()));
            case Op.Split s -> {
                Tensor[] outs = new Tensor[s.sizes().length];
                int start = 0;
                int rank = in[0].rank();
                for (int i = 0; i < outs.length; i++) {
                    int[] starts = new int[rank];
                    int[] ends = in[0].shape();
                    starts[s.axis()] = start;
                    ends[s.axis()] = start + s.sizes()[i];
                    int[] axes = new int[rank];
                    int[] steps = new int[rank];
                    for (int a = 0; a < rank; a++) {
                        axes[a] = a;
                        steps[a] = 1;
                    }
                    outs[i] = b.slice(in[0], starts, ends, axes, steps);
                    start += s.sizes()[i];
                }
                yield outs;
            }
            case Op.Slice s -> {
                int[][] r = ShapeInference.resolveSlice(s, in[0].shape());
                yield one(b.slice(in[0], r[0], r[1], r[2], r[3]));
            }
            case Op.Concat c -> {
                List<Tensor> xs = new ArrayList<>(Arrays.asList(in));
                yield one(b.concat(xs, c.axis()));
            }
            case Op.Gemm g -> one(b.gemm(in[0], in[1], in.length > 2 ? in[2] : null, g.alpha(), g.beta(),
                    g.transA(), g.transB()));
            case Op.MatMul m -> one(b.matmul(in[0], in[1]));
            case Op.Identity i -> one(in[0]);
        };
    }

    private static Tensor[] one(Tensor t) {
        return new Tensor[] {t};
    }
}
