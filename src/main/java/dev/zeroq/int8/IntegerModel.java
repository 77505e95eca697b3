// The integer engine: runs a deploy-scheme QuantPlan with uint8 activations, int8 weights and int32
// accumulation, fusing ReLU/Clip/residual Add into the conv epilogue and writing the next site's codes directly.
package dev.zeroq.int8;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.Activation;
import dev.zeroq.backend.Backend;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.PoolSpec;
import dev.zeroq.backend.cpu.Scratch;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.graph.Executor;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.graph.Op;
import dev.zeroq.graph.ShapeInference;
import dev.zeroq.pipeline.Simulation;
import dev.zeroq.pipeline.WeightLayer;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.quant.SymmetricQuantizer;
import dev.zeroq.quant.SymmetricQuantizer.ActivationParams;
import dev.zeroq.tensor.Tensor;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * An executable integer model compiled from a graph and a {@link QuantPlan.Scheme#DEPLOY} plan, on the BN-folded
 * graph ({@link Simulation#workingGraph}). Each value is held either as float or as {@link Codes}:
 * <ul>
 *   <li>Conv/Gemm/MatMul layers of the plan run in integers: input codes (scale s_x, zero point zp_x from the
 *       plan entry of the layer's data input), int8 weight codes recomputed from the float weights with the
 *       plan's scales exactly as {@code FakeQuant.fromPlan} does, int32 accumulation of Σ (q_x − zp_x)·q_w,
 *       int32 bias {@link SymmetricQuantizer#quantizeBias}.</li>
 *   <li>Epilogue, <b>float-scale requantization</b>: y = (acc + bias_q)·(s_x·s_w[c]) in double, rounded to float,
 *       then the fused ops, then the next site's quantizer. Why not a fixed-point multiplier and shift
 *       (M0·2^−n, as integer-only accelerators do): the plan, the fake-quant simulation and the QDQ ONNX export all
 *       define the output with the float scale, so the float path is the one that agrees with them; the
 *       fixed-point form adds its own rounding (the scale approximated to 31 bits and a rounding shift) that
 *       would make the engine differ from what was measured; and on a CPU one float multiply per output costs
 *       the same as an integer multiply-high and shift.</li>
 *   <li>Fusion: when a layer's output flows only (single reader, not the graph output) through element-wise
 *       activations and/or residual Adds into a quantized value, those nodes run inside the epilogue and the
 *       layer writes that value's codes directly; otherwise the layer produces float.</li>
 *   <li>Max pooling, ReLU, Clip, Identity, Flatten, Reshape and Concat run on codes when their input is codes:
 *       quantization is monotonic, so it commutes with max/min/copies and the result is exact. For the same
 *       reason a site's quantizer is moved back through pooling, reshapes and concat when they are its value's
 *       only path
 *       (e.g. conv → ReLU → MaxPool → conv quantizes at the ReLU, inside the first conv's epilogue).</li>
 *   <li>Everything else runs in float on a {@link Backend}, on the dequantized values.</li>
 * </ul>
 * Results match the fake-quant {@link Simulation} up to float rounding: the simulation sums dequantized floats
 * (in a backend-defined order) while the engine sums exact integers, so a value lying within a rounding error
 * of a quantization boundary can land on the neighbouring code.
 */
public final class IntegerModel implements UnaryOperator<Tensor> {
    private final Graph graph;
    private final Executor floatOps;
    private final Int8Kernels kernels;
    /** Values produced as codes, with their quantizer: the plan's sites plus those moved back through exact ops. */
    private final Map<String, ActivationParams> coded;
    private final Map<Node, QLayer> layers = new HashMap<>();
    private final Set<Node> fused = new HashSet<>();
    private final Map<String, Integer> lastUse = new HashMap<>();

    /** One element-wise op fused into an epilogue: an activation, or the addition of another value. */
    public record Step(Activation fn, String addend) {}

    /**
     * A compiled integer layer.
     *
     * @param wq     int8 weight codes, output-major (cout, k)
     * @param bias   int32 bias, zeros when the layer has none
     * @param scale  s_x·s_w[c] in float: the float the runtime multiplies by
     * @param out    the value the layer writes (its own output, or the end of the fused chain)
     * @param outQ   the quantizer of {@code out} when the layer writes codes, else null (float output)
     * @param weights {@code wq} prepared by the engine's kernels for its forward passes
     *
     * <p>Public (read-only by contract: the arrays are the engine's own) so that another executor of the same plan,
     * the CUDA engine, makes exactly this engine's decisions instead of repeating them.
     */
    public record QLayer(Node node, boolean conv, ConvSpec spec, int cout, int k, byte[] wq, int[] bias,
                          float[] scale, float alpha, float beta, ActivationParams in, List<Step> steps,
                          String out, ActivationParams outQ, Int8Kernels.Weights weights) {}

    private IntegerModel(Graph graph, Backend backend, Int8Kernels kernels, Map<String, ActivationParams> coded) {
        this.graph = graph;
        this.floatOps = new Executor(graph, backend);
        this.kernels = kernels;
        this.coded = coded;
    }

    /** Compiles with the fast CPU kernels and the reference backend for the float ops. */
    public static IntegerModel compile(Graph original, QuantPlan plan) {
        return compile(original, plan, new RefBackend(), Int8Kernels.vector());
    }

    /**
     * @param floatOps the backend that runs the ops left in float (pooling averages, non-fused adds, …)
     * @param kernels  the integer kernels
     */
    public static IntegerModel compile(Graph original, QuantPlan plan, Backend floatOps, Int8Kernels kernels) {
        if (plan.scheme() != QuantPlan.Scheme.DEPLOY) {
            throw ZeroqException.badInput("plan for " + plan.model().fileName() + " has scheme '"
                    + plan.scheme().name().toLowerCase(java.util.Locale.ROOT) + "', which the integer engine cannot run: "
                    + "re-run zeroq quantize with --scheme deploy");
        }
        Graph g = Simulation.workingGraph(original, plan.scheme());
        Map<String, ActivationParams> coded = new LinkedHashMap<>();
        for (QuantPlan.Activation a : plan.activations()) {
            if (a.scale() == null || a.zeroPoint() == null) {
                throw ZeroqException.badInput("plan activation " + a.value() + " has no scale/zero point; a deploy plan "
                        + "needs both: re-run zeroq quantize with --scheme deploy");
            }
            coded.put(a.value(), new ActivationParams(a.scale(), a.zeroPoint(), a.bits(), false));
        }
        IntegerModel m = new IntegerModel(g, floatOps, kernels, coded);
        m.build(plan);
        return m;
    }

    private void build(QuantPlan plan) {
        List<Node> nodes = graph.nodes();
        Map<String, List<Node>> readers = new HashMap<>();
        Map<String, Integer> producedAt = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            for (String in : n.inputs()) {
                readers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
                lastUse.put(in, i);
            }
            for (String o : n.outputs()) producedAt.put(o, i);
        }
        lastUse.put(graph.outputName(), Integer.MAX_VALUE);
        moveQuantizersBack(readers, producedAt);

        Map<String, QuantPlan.Layer> byNode = new HashMap<>();
        for (QuantPlan.Layer l : plan.layers()) byNode.put(l.node(), l);
        Map<String, int[]> shapes = ShapeInference.infer(graph, 1);
        for (WeightLayer wl : WeightLayer.of(graph)) {
            QuantPlan.Layer entry = byNode.remove(wl.name());
            ActivationParams in = coded.get(wl.node().input(0));
            if (entry == null || in == null) {
                continue; // not quantized by the plan: runs in float
            }
            layers.put(wl.node(), layer(wl, entry, in, readers, producedAt, shapes));
        }
        if (!byNode.isEmpty()) {
            throw ZeroqException.badInput("the plan names layers the model does not have: " + byNode.keySet()
                    + "; the plan belongs to another model");
        }
    }

    /** Single-reader values between a site and exact code ops get the site's quantizer (see the class comment). */
    private void moveQuantizersBack(Map<String, List<Node>> readers, Map<String, Integer> producedAt) {
        Deque<String> work = new ArrayDeque<>(coded.keySet());
        while (!work.isEmpty()) {
            String v = work.pop();
            Integer at = producedAt.get(v);
            if (at == null) continue;
            Node p = graph.nodes().get(at);
            // Not through activations: those are better fused into the producing layer's epilogue.
            if (!runsOnCodes(p.op()) || p.op() instanceof Op.Unary || p.outputs().size() != 1) continue;
            ActivationParams q = coded.get(v);
            boolean ok = true;
            for (String u : p.inputs()) {
                ActivationParams have = coded.get(u);
                boolean free = !graph.isParam(u) && !u.equals(graph.outputName())
                        && readers.getOrDefault(u, List.of()).size() == 1;
                ok &= have == null ? free : have.equals(q);
            }
            if (!ok) continue;
            for (String u : p.inputs()) {
                if (coded.putIfAbsent(u, q) == null) work.push(u);
            }
        }
    }

    /** Ops whose result on codes is exactly the codes of their float result. */
    private static boolean runsOnCodes(Op op) {
        return switch (op) {
            case Op.MaxPool p -> true;
            case Op.Unary u -> u.fn() instanceof Activation.Relu || u.fn() instanceof Activation.Clip;
            case Op.Identity i -> true;
            case Op.Flatten f -> true;
            case Op.Reshape r -> true;
            case Op.Concat c -> true;
            default -> false;
        };
    }

    private QLayer layer(WeightLayer wl, QuantPlan.Layer entry, ActivationParams in, Map<String, List<Node>> readers,
                         Map<String, Integer> producedAt, Map<String, int[]> shapes) {
        Node n = wl.node();
        Tensor w = wl.outputMajor(graph);
        int cout = w.dim(0);
        int k = w.size() / cout;
        float[] sw = entry.scales();
        if (sw == null || sw.length != cout) {
            throw ZeroqException.badInput("plan layer " + entry.node() + " has " + (sw == null ? "no" : sw.length)
                    + " weight scales but the model's layer has " + cout + " output channels; the plan belongs to another model");
        }
        // |Σ (q_x − zp)·q_w| ≤ 255·127·k must fit an int32 (and so must the bias added to it, checked below).
        if ((long) k * 255 * 127 > Integer.MAX_VALUE / 2) {
            throw ZeroqException.badInput("layer " + n.name() + " sums " + k + " products per output, too many for "
                    + "int32 accumulation; the integer engine cannot run it");
        }
        byte[] wq = new byte[w.size()];
        float[] wd = w.data();
        for (int c = 0; c < cout; c++) {
            for (int i = c * k; i < (c + 1) * k; i++) {
                // The same call FakeQuant.fromPlan makes, so the codes are those the simulation dequantizes.
                wq[i] = (byte) SymmetricQuantizer.quantizeSymmetric(wd[i], sw[c], entry.weightBits());
            }
        }
        int[] bias = new int[cout];
        if (wl.bias() != null) {
            Tensor b = graph.param(wl.bias());
            if (b.size() != cout) {
                throw ZeroqException.badInput("layer " + n.name() + " has a bias of " + b.size() + " values for " + cout
                        + " output channels; the integer engine needs one per channel");
            }
            bias = SymmetricQuantizer.quantizeBias(b.data(), in.scale(), sw);
        }
        float[] scale = new float[cout];
        for (int c = 0; c < cout; c++) scale[c] = in.scale() * sw[c];
        float alpha = 1f, beta = 1f;
        ConvSpec spec = null;
        switch (n.op()) {
            case Op.Conv c -> spec = c.spec();
            case Op.Gemm gm -> {
                alpha = gm.alpha();
                beta = gm.beta();
            }
            default -> { }
        }

        // Fusion: follow the single reader through element-wise ops until a coded value is reached.
        int at = producedAt.get(n.output());
        String v = n.output();
        List<Node> chain = new ArrayList<>();
        List<Step> steps = new ArrayList<>();
        while (!coded.containsKey(v)) {
            List<Node> rs = readers.getOrDefault(v, List.of());
            if (v.equals(graph.outputName()) || rs.size() != 1) break;
            Node r = rs.getFirst();
            if (r.op() instanceof Op.Unary u) {
                steps.add(new Step(u.fn(), null));
            } else if (r.op() instanceof Op.Binary b && b.kind() == dev.zeroq.backend.Backend.BinaryOp.ADD
                    && !r.input(0).equals(r.input(1))) {
                String other = r.input(0).equals(v) ? r.input(1) : r.input(0);
                boolean ready = other.equals(graph.inputName())
                        || producedAt.containsKey(other) && producedAt.get(other) < at;
                if (!ready || graph.isParam(other) || !Arrays.equals(shapes.get(other), shapes.get(v))) break;
                steps.add(new Step(null, other));
            } else {
                break;
            }
            chain.add(r);
            v = r.output();
        }
        // Prepared once for every forward pass (the vector kernels pack them on first use).
        Int8Kernels.Weights weights = kernels.prepare(wq, cout, spec == null ? 1 : spec.group());
        if (coded.containsKey(v)) {
            fused.addAll(chain);
            return new QLayer(n, spec != null, spec, cout, k, wq, bias, scale, alpha, beta, in, List.copyOf(steps), v,
                    coded.get(v), weights);
        }
        return new QLayer(n, spec != null, spec, cout, k, wq, bias, scale, alpha, beta, in, List.of(), n.output(), null,
                weights);
    }

    /** The working (BN-folded) graph the engine runs. */
    public Graph graph() {
        return graph;
    }

    /** Number of layers that run in integers. */
    public int integerLayers() {
        return layers.size();
    }

    /** Number of nodes fused into integer epilogues. */
    public int fusedNodes() {
        return fused.size();
    }

    /**
     * Multiply-accumulates per image of the layers that run in integers (int8 convs and gemms): each layer's
     * {@code k} (Cin/group·kh·kw, or the gemm's inner size) times the elements of its output for one image, channel
     * and spatial padding of the kernels not counted. Twice this is the layer's int8 "ops". Example: a 3×3 conv from
     * 8 to 12 channels with a 7×6 output is 72·12·42 = 36,288 MACs; a gemm from 12 features to 5 classes, 60.
     */
    public long integerMacsPerImage() {
        Map<String, int[]> shapes = ShapeInference.infer(graph, 1);
        long macs = 0;
        for (QLayer l : layers.values()) {
            long outPerImage = 1;
            for (int d : shapes.get(l.node().output())) outPerImage = Math.multiplyExact(outPerImage, d);
            macs = Math.addExact(macs, Math.multiplyExact((long) l.k(), outPerImage));
        }
        return macs;
    }

    /** Names of the nodes that run in integers, in graph order. */
    public List<String> integerLayerNames() {
        List<String> out = new ArrayList<>();
        for (Node n : graph.nodes()) if (layers.containsKey(n)) out.add(n.name());
        return out;
    }

    /**
     * Teacher forcing, for tests and diagnostics: runs the integer layer {@code node} alone on given float
     * values of its inputs (data input and fused residual operands, looked up by value name), and returns what
     * it writes: {@link Codes} of {@link #layerOutputValue} when the layer ends at a quantized value, else float.
     * Inputs that the engine holds as codes are quantized with their quantizer first, as a full run does; values
     * already on that grid (the simulation's fake-quantized sites) convert exactly.
     */
    public Object runLayer(String node, java.util.function.Function<String, Tensor> values) {
        QLayer l = layer(node);
        Map<String, Object> env = new HashMap<>();
        List<String> needed = new ArrayList<>(List.of(l.node().input(0)));
        for (Step s : l.steps()) if (s.addend() != null) needed.add(s.addend());
        for (String v : needed) {
            Tensor t = values.apply(v);
            ActivationParams q = coded.get(v);
            env.put(v, q == null ? t : Codes.quantize(t, q));
        }
        return runLayer(l, env);
    }

    /** The compiled integer layer of node {@code n} (do not modify its arrays), or null when n runs otherwise. */
    public QLayer integerLayer(Node n) {
        return layers.get(n);
    }

    /** Whether node {@code n} runs inside an integer layer's epilogue (and so produces nothing of its own). */
    public boolean isFused(Node n) {
        return fused.contains(n);
    }

    /** The quantizer value {@code name} is held in as codes, or null when the engine holds it as float. */
    public ActivationParams quantizer(String name) {
        return coded.get(name);
    }

    /** The value an integer layer writes: its own output, or the end of its fused chain. */
    public String layerOutputValue(String node) {
        return layer(node).out();
    }

    /** The quantizer of the value an integer layer writes, or null when it writes float. */
    public ActivationParams layerOutputQuantizer(String node) {
        return layer(node).outQ();
    }

    private QLayer layer(String node) {
        for (Map.Entry<Node, QLayer> e : layers.entrySet()) {
            if (e.getKey().name().equals(node)) return e.getValue();
        }
        throw new IllegalArgumentException("no integer layer named '" + node + "'; integer layers: " + integerLayerNames());
    }

    @Override
    public Tensor apply(Tensor x) {
        floatOps.checkInput(x);
        int batch = x.dim(0);
        Map<String, Object> env = new HashMap<>();
        ActivationParams inQ = coded.get(graph.inputName());
        env.put(graph.inputName(), inQ == null ? x : Codes.quantize(x, inQ));
        List<Node> nodes = graph.nodes();
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            if (!fused.contains(n)) {
                QLayer l = layers.get(n);
                if (l != null) {
                    env.put(l.out(), runLayer(l, env));
                } else {
                    Object[] outs = runOther(n, env, batch);
                    for (int j = 0; j < outs.length; j++) {
                        String name = n.outputs().get(j);
                        ActivationParams q = coded.get(name);
                        env.put(name, q == null ? outs[j] : ensure(outs[j], q));
                    }
                }
            }
            for (String in : n.inputs()) {
                if (lastUse.getOrDefault(in, -1) == i) env.remove(in);
            }
        }
        return asFloat(env.get(graph.outputName()));
    }

    private Object value(Map<String, Object> env, String name) {
        Object v = env.get(name);
        return v != null ? v : graph.param(name);
    }

    private static Tensor asFloat(Object v) {
        return v instanceof Codes c ? c.dequantize() : (Tensor) v;
    }

    /** The value as codes of quantizer q: as is when it already is, else quantized from its float value. */
    private static Codes ensure(Object v, ActivationParams q) {
        if (v instanceof Codes c && c.params().equals(q)) return c;
        return Codes.quantize(asFloat(v), q);
    }

    // ---------------------------------------------------------------- integer layers

    private Object runLayer(QLayer l, Map<String, Object> env) {
        Codes x = ensure(value(env, l.node().input(0)), l.in());
        int[] xs = x.shape();
        int[] outShape;
        if (l.conv()) {
            ConvSpec s = l.spec();
            outShape = new int[] {xs[0], l.cout(), s.outH(xs[2]), s.outW(xs[3])};
        } else {
            outShape = xs.clone();
            outShape[outShape.length - 1] = l.cout();
            if (xs[xs.length - 1] != l.k()) {
                throw ZeroqException.internal("layer " + l.node().name() + " expects " + l.k() + " inputs per row, got "
                        + Arrays.toString(xs));
            }
        }
        int total = Math.toIntExact(dev.zeroq.tensor.Shapes.size(outShape));
        // Residual operands stay as they are (codes are dequantized lane by lane inside the epilogue, with the
        // same float expression as Codes.dequantize, rather than into a whole float tensor first).
        Object[] addends = new Object[l.steps().size()];
        for (int i = 0; i < addends.length; i++) {
            String a = l.steps().get(i).addend();
            if (a != null) {
                Object v = value(env, a);
                int size = v instanceof Codes c ? c.q().length : ((Tensor) v).size();
                if (size != total) {
                    throw ZeroqException.internal("fused add at layer " + l.node().name() + ": operand has "
                            + size + " values, output " + total);
                }
                addends[i] = v;
            }
        }
        Epilogue e = new Epilogue(l, addends, total);
        if (l.conv()) {
            int plane = outShape[2] * outShape[3];
            int cout = l.cout();
            kernels.conv(x.q(), xs[0], xs[1], xs[2], xs[3], l.in().zeroPoint(), l.weights(), l.spec(),
                    (j0, j1, co0, co1, acc, off, stride) -> {
                        for (int co = co0; co < co1; co++) {
                            int a = off + (co - co0) * stride;
                            // Column j = image·plane + p; the output of (image, co) is one contiguous plane.
                            for (int j = j0; j < j1; ) {
                                int img = j / plane, p = j - img * plane, len = Math.min(plane - p, j1 - j);
                                e.channel(acc, a + (j - j0), (img * cout + co) * plane + p, len, co);
                                j += len;
                            }
                        }
                    });
        } else {
            int rows = total / l.cout();
            kernels.gemm(x.q(), rows, l.k(), l.in().zeroPoint(), l.weights(), (r0, r1, acc, off) -> {
                for (int r = r0; r < r1; r++) {
                    e.row(acc, off + (r - r0) * l.cout(), r * l.cout(), l.cout());
                }
            });
        }
        return e.codes != null ? new Codes(e.codes, outShape, l.outQ()) : new Tensor(e.floats, outShape);
    }

    /**
     * Turns int32 accumulators into the layer's output value (codes of the fused site, or float). The vector path
     * (8 lanes: int32 → double → float → int32 → byte keeps one lane count through every conversion) computes
     * exactly what the scalar path computes, op for op, so outputs do not depend on where a run is cut.
     */
    private static final class Epilogue {
        private static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
        private static final VectorSpecies<Double> D8 = DoubleVector.SPECIES_512;
        private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
        private static final VectorSpecies<Byte> B8 = ByteVector.SPECIES_64;
        /**
         * rint by the 1.5·2^23 trick: for |v| ≤ 2^22, v + 1.5·2^23 has no fraction bits left, so the addition
         * itself rounds v half to even (Java float arithmetic always rounds to nearest even) and subtracting
         * the constant back is exact. |v| beyond 2^22 saturates to 0 or qmax anyway (zp ≤ 255), so v is
         * clamped to ±2^22 first.
         */
        private static final float MAGIC = 12582912f;
        private static final float RINT_LIMIT = 4194304f;

        final QLayer l;
        final Object[] addends;
        final byte[] codes;
        final float[] floats;
        final Activation[] fns;
        /** Every step has a vector form (ReLU, Clip, adds): otherwise the scalar loop runs. */
        final boolean vector;

        Epilogue(QLayer l, Object[] addends, int total) {
            this.l = l;
            this.addends = addends;
            this.codes = l.outQ() != null ? new byte[total] : null;
            this.floats = l.outQ() != null ? null : new float[total];
            this.fns = new Activation[l.steps().size()];
            boolean v = true;
            for (int i = 0; i < fns.length; i++) {
                fns[i] = l.steps().get(i).fn();
                v &= fns[i] == null || fns[i] instanceof Activation.Relu || fns[i] instanceof Activation.Clip;
            }
            this.vector = v;
        }

        /**
         * count outputs of conv channel c: accumulators from acc[a], flat outputs from o. The vector path runs in
         * stages over a per-thread float scratch (L1-resident: at most one plane), each stage a small method with its
         * own load-compute-store loop: no vector crosses a call (a call the JIT does not inline boxes its vectors),
         * and no method grows big enough for C2 to stop inlining the Vector API inside it (one big loop with every
         * step kind inline fell back to the non-intrinsified Vector API code in the full test suite: ~10 MB of
         * garbage per batch-1 pass).
         */
        void channel(int[] acc, int a, int o, int count, int c) {
            int n = vector ? count - count % 8 : 0;
            if (n > 0) {
                float[] y = Scratch.get(Scratch.INT8_EPILOGUE, n);
                dequantizeAcc(acc, a, y, n, l.alpha(), (double) l.beta() * l.bias()[c], l.scale()[c]);
                for (int s = 0; s < fns.length; s++) {
                    Activation fn = fns[s];
                    if (fn instanceof Activation.Relu) {
                        relu(y, n);
                    } else if (fn instanceof Activation.Clip cl) {
                        clip(y, n, cl.min(), cl.max());
                    } else if (addends[s] instanceof Codes cd) {
                        addCodes(y, n, cd.q(), o, cd.params().zeroPoint(), cd.params().scale());
                    } else {
                        addFloats(y, n, ((Tensor) addends[s]).data(), o);
                    }
                }
                if (codes != null) {
                    ActivationParams q = l.outQ();
                    quantize(y, n, codes, o, q.scale(), q.zeroPoint(), q.qmin(), q.qmax());
                } else {
                    System.arraycopy(y, 0, floats, o, n);
                }
            }
            for (int i = n; i < count; i++) {
                scalar(acc[a + i], c, o + i);
            }
        }

        /** y = (float) ((alpha·acc + betaBias)·scale), in double then one rounding to float: as in scalar(). */
        private static void dequantizeAcc(int[] acc, int a, float[] y, int n, double alpha, double betaBias,
                                          double scale) {
            for (int i = 0; i < n; i += 8) {
                DoubleVector d = (DoubleVector) IntVector.fromArray(I8, acc, a + i).convertShape(VectorOperators.I2D, D8, 0);
                ((FloatVector) d.mul(alpha).add(betaBias).mul(scale).convertShape(VectorOperators.D2F, F8, 0))
                        .intoArray(y, i);
            }
        }

        /** x > 0 ? x : 0, as Relu.apply (NaN → 0), not max(x, 0) (NaN → NaN). */
        private static void relu(float[] y, int n) {
            for (int i = 0; i < n; i += 8) {
                FloatVector v = FloatVector.fromArray(F8, y, i);
                FloatVector.zero(F8).blend(v, v.compare(VectorOperators.GT, 0f)).intoArray(y, i);
            }
        }

        /** Math.min(Math.max(x, min), max), lane-wise. */
        private static void clip(float[] y, int n, float min, float max) {
            for (int i = 0; i < n; i += 8) {
                FloatVector.fromArray(F8, y, i).max(min).min(max).intoArray(y, i);
            }
        }

        /** y += (q − zp)·scale: int subtraction, exact conversion, one float multiply, as dequantize(). */
        private static void addCodes(float[] y, int n, byte[] q, int o, int zp, float scale) {
            for (int i = 0; i < n; i += 8) {
                FloatVector v = (FloatVector) ((IntVector) ByteVector.fromArray(B8, q, o + i)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I8, 0)).sub(zp)
                        .convertShape(VectorOperators.I2F, F8, 0);
                FloatVector.fromArray(F8, y, i).add(v.mul(scale)).intoArray(y, i);
            }
        }

        private static void addFloats(float[] y, int n, float[] x, int o) {
            for (int i = 0; i < n; i += 8) {
                FloatVector.fromArray(F8, y, i).add(FloatVector.fromArray(F8, x, o + i)).intoArray(y, i);
            }
        }

        /** clamp(rint(y/scale) + zp, qmin, qmax) lane-wise, as ActivationParams.quantize, stored as bytes. */
        private static void quantize(float[] y, int n, byte[] out, int o, float scale, int zp, int qmin, int qmax) {
            for (int i = 0; i < n; i += 8) {
                FloatVector v = FloatVector.fromArray(F8, y, i).div(scale).max(-RINT_LIMIT).min(RINT_LIMIT);
                v = v.add(MAGIC).sub(MAGIC).add((float) zp).max((float) qmin).min((float) qmax);
                ((ByteVector) v.convertShape(VectorOperators.F2I, I8, 0).convertShape(VectorOperators.I2B, B8, 0))
                        .intoArray(out, o + i);
            }
        }

        /** One gemm row: count channels from 0, accumulators from acc[a], outputs from o. */
        void row(int[] acc, int a, int o, int count) {
            for (int i = 0; i < count; i++) {
                scalar(acc[a + i], i, o + i);
            }
        }

        /** The definition, one output: the vector path above must equal it bit for bit. */
        private void scalar(int acc, int c, int o) {
            // (alpha·acc + beta·bias)·s_x·s_w[c]: exact in double for these integer ranges, one rounding to float.
            float y = (float) (((double) l.alpha() * acc + (double) l.beta() * l.bias()[c]) * l.scale()[c]);
            for (int s = 0; s < fns.length; s++) {
                if (fns[s] != null) {
                    y = fns[s].apply(y);
                } else if (addends[s] instanceof Codes cd) {
                    y += cd.params().dequantize(cd.q()[o] & 0xFF);
                } else {
                    y += ((Tensor) addends[s]).data()[o];
                }
            }
            if (codes != null) {
                codes[o] = (byte) l.outQ().quantize(y);
            } else {
                floats[o] = y;
            }
        }
    }

    // ---------------------------------------------------------------- other ops

    private Object[] runOther(Node n, Map<String, Object> env, int batch) {
        Object first = n.inputs().isEmpty() ? null : value(env, n.input(0));
        if (first instanceof Codes c && runsOnCodes(n.op())) {
            Codes out = switch (n.op()) {
                case Op.MaxPool p -> maxPool(c, p.spec());
                case Op.Unary u -> clamp(c, u.fn());
                case Op.Identity i -> c;
                case Op.Flatten f -> c.reshape(ShapeInference.outputShapes(f, new int[][] {c.shape()}, batch)[0]);
                case Op.Reshape r -> c.reshape(ShapeInference.reshape(c.shape(), r.shape(), batch));
                case Op.Concat cat -> concat(n, env, cat.axis());
                default -> null;
            };
            if (out != null) return new Object[] {out};
        }
        Tensor[] in = new Tensor[n.inputs().size()];
        for (int j = 0; j < in.length; j++) {
            if (!n.input(j).isEmpty()) in[j] = asFloat(value(env, n.input(j)));
        }
        try {
            return floatOps.forward(n.op(), in, batch);
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw ZeroqException.internal("node '" + n.name() + "' (" + n.op().onnxType() + ") failed: " + e.getMessage(), e);
        }
    }

    /** ReLU and Clip on codes: clamp to the codes of the bounds (quantize is monotonic, and quantize(0) = zp). */
    private static Codes clamp(Codes c, Activation fn) {
        ActivationParams p = c.params();
        int lo = fn instanceof Activation.Clip cl ? p.quantize(cl.min()) : p.zeroPoint();
        int hi = fn instanceof Activation.Clip cl ? p.quantize(cl.max()) : p.qmax();
        byte[] q = c.q();
        byte[] out = new byte[q.length];
        for (int i = 0; i < q.length; i++) out[i] = (byte) Math.min(Math.max(q[i] & 0xFF, lo), hi);
        return new Codes(out, c.shape(), p);
    }

    /** Max pooling on codes, the window rules of the reference backend (padding never wins). */
    private static Codes maxPool(Codes c, PoolSpec s) {
        int[] sh = c.shape();
        int n = sh[0], ch = sh[1], h = sh[2], w = sh[3];
        int oh = s.outH(h), ow = s.outW(w);
        int[] k = s.kernel(), st = s.strides(), p = s.pads(), d = s.dilations();
        byte[] q = c.q();
        byte[] out = new byte[Math.toIntExact(dev.zeroq.tensor.Shapes.size(n, ch, oh, ow))];
        int o = 0;
        for (int b = 0; b < n * ch; b++) {
            int base = b * h * w;
            for (int y = 0; y < oh; y++) {
                for (int xo = 0; xo < ow; xo++) {
                    int m = 0; // a window entirely in the padding is -inf in float, which quantizes to code 0
                    for (int ky = 0; ky < k[0]; ky++) {
                        int iy = y * st[0] - p[0] + ky * d[0];
                        if (iy < 0 || iy >= h) continue;
                        for (int kx = 0; kx < k[1]; kx++) {
                            int ix = xo * st[1] - p[1] + kx * d[1];
                            if (ix >= 0 && ix < w) m = Math.max(m, q[base + iy * w + ix] & 0xFF);
                        }
                    }
                    out[o++] = (byte) m;
                }
            }
        }
        return new Codes(out, new int[] {n, ch, oh, ow}, c.params());
    }

    /** Concat on codes when every input is codes of one quantizer; null (float path) otherwise. */
    private Codes concat(Node n, Map<String, Object> env, int axis) {
        List<Codes> xs = new ArrayList<>();
        for (String in : n.inputs()) {
            if (!(value(env, in) instanceof Codes c) || !c.params().equals(((Codes) value(env, n.input(0))).params())) {
                return null;
            }
            xs.add(c);
        }
        int[] shape = xs.getFirst().shape();
        long outer = dev.zeroq.tensor.Shapes.size(Arrays.copyOfRange(shape, 0, axis));
        int total = 0;
        int[] inner = new int[xs.size()];
        for (int i = 0; i < xs.size(); i++) {
            int[] s = xs.get(i).shape();
            inner[i] = Math.toIntExact(dev.zeroq.tensor.Shapes.size(Arrays.copyOfRange(s, axis, s.length)));
            total = Math.addExact(total, inner[i]);
        }
        byte[] out = new byte[Math.toIntExact(Math.multiplyExact(outer, total))];
        int o = 0;
        for (long r = 0; r < outer; r++) {
            for (int i = 0; i < xs.size(); i++) {
                System.arraycopy(xs.get(i).q(), (int) (r * inner[i]), out, o, inner[i]);
                o += inner[i];
            }
        }
        int[] outShape = shape.clone();
        outShape[axis] = 0;
        for (Codes c : xs) outShape[axis] += c.shape()[axis];
        return new Codes(out, outShape, xs.getFirst().params());
    }
}
