package dev.zeroq.graph;

/*
 * The FP32 forward pass for inference only (zeroq run, eval, bench and FP32 sessions). Distillation,
 * calibration and backward keep the Executor on the graph as written; this path may rearrange it because
 * nothing looks inside.
 */

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.Activation;
import dev.zeroq.backend.Backend;
import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.backend.cpu.FusedConv;
import dev.zeroq.tensor.Tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * On the cpu backend the graph is compiled once: BatchNorms folded into their convs
 * ({@link Transforms#foldBatchNorm}), then each Conv fused with what follows it alone — an Add of a same-shape
 * value (a residual) and/or one activation — into a {@link FusedConv} with pre-packed weights whose epilogue
 * does the add and the activation. Conv outputs live in buffers that are reused once their last reader has run,
 * across ops and across calls of the same batch size, so a steady stream of same-size batches allocates only the
 * small outputs of the unfused ops. Other nodes run on the backend as the {@link Executor} runs them.
 *
 * <p>On any other backend (ref, the oracle; cuda) this is the Executor on the unchanged graph.
 *
 * <p>Results equal the Executor's up to float32 rounding: folding rescales the weights and the fused epilogue
 * adds the bias before the products are summed in a different order (FixtureParityTest bounds both against ONNX
 * Runtime). Thread-safe: concurrent calls each take their own set of buffers.
 */
public final class Inference {
    private final Graph graph;
    private final Backend backend;
    /** Runs the unfused nodes (of the folded graph on the cpu backend); the whole pass elsewhere. */
    private final Executor executor;
    /** Null when the pass is the plain Executor. */
    private final Program program;

    private Inference(Graph graph, Backend backend, Executor executor, Program program) {
        this.graph = graph;
        this.backend = backend;
        this.executor = executor;
        this.program = program;
    }

    /** The inference pass of {@code graph} on {@code backend}: compiled on the cpu backend, else the Executor. */
    public static Inference compile(Graph graph, Backend backend) {
        if (backend instanceof CpuBackend cpu) {
            Graph folded = foldable(graph) ? Transforms.foldBatchNorm(graph) : graph;
            Executor ex = new Executor(folded, backend);
            return new Inference(graph, backend, ex, Program.of(folded, cpu, ex));
        }
        return new Inference(graph, backend, new Executor(graph, backend), null);
    }

    /**
     * Whether every conv→BatchNorm pair reads its weights and statistics from parameters, as folding needs (a
     * model may compute a weight at run time; it then runs unfolded, its convs still fused).
     */
    private static boolean foldable(Graph g) {
        for (Graph.BnPair p : g.bnPairs()) {
            Node c = p.conv();
            if (c.inputs().size() < 2 || !g.isParam(c.input(1))
                    || (c.inputs().size() > 2 && !c.input(2).isEmpty() && !g.isParam(c.input(2)))) {
                return false;
            }
            for (int i = 1; i <= 4; i++) {
                if (p.bn().inputs().size() <= i || !g.isParam(p.bn().input(i))) {
                    return false;
                }
            }
        }
        return true;
    }

    /** The graph as given (before folding). */
    public Graph graph() {
        return graph;
    }

    public Backend backend() {
        return backend;
    }

    /** Number of fused convs (0 when the pass is the plain Executor); for tests and logs. */
    public int fusedConvs() {
        return program == null ? 0 : program.fused;
    }

    /** Rejects an input whose rank or per-image shape differs from the model's, naming both. */
    public void checkInput(Tensor input) {
        executor.checkInput(input);
    }

    /** Forward pass of a batch (N, C, H, W); the returned tensor is new and the caller's. */
    public Tensor run(Tensor input) {
        if (program == null) {
            return executor.run(input);
        }
        executor.checkInput(input);
        return program.run(input);
    }

    // ---------------------------------------------------------------------------------------------------------

    /** One step of the compiled pass; slots index the per-call value table. */
    private sealed interface Step {
        Node node();
    }

    /** {@code out = conv(x) [+ residual] [then act]}, residual −1 when none. */
    private record Fused(Node node, FusedConv conv, int x, int residual, int out) implements Step {}

    /** A node run by the Executor; inputs −1 are parameters or empty (taken from {@code params}). */
    private record Plain(Node node, int[] in, Tensor[] params, int[] out) implements Step {}

    private static final class Program {
        final CpuBackend cpu;
        final Executor executor;
        final List<Step> steps;
        final int slots, inputSlot, outputSlot, fused;
        /** For each step, the slots whose last reader it is (freed after it runs). */
        final int[][] dying;
        /** Sets of buffers ready for the next call; a call takes one or makes one. */
        final ConcurrentLinkedDeque<Buffers> idle = new ConcurrentLinkedDeque<>();
        final int maxIdle = Math.max(2, Runtime.getRuntime().availableProcessors());

        private Program(CpuBackend cpu, Executor executor, List<Step> steps, int slots, int inputSlot,
                        int outputSlot, int fused, int[][] dying) {
            this.cpu = cpu;
            this.executor = executor;
            this.steps = steps;
            this.slots = slots;
            this.inputSlot = inputSlot;
            this.outputSlot = outputSlot;
            this.fused = fused;
            this.dying = dying;
        }

        static Program of(Graph g, CpuBackend cpu, Executor executor) {
            Map<String, Integer> readers = new HashMap<>();
            for (Node n : g.nodes()) {
                for (String in : n.inputs()) {
                    readers.merge(in, 1, Integer::sum);
                }
            }
            readers.merge(g.outputName(), 1, Integer::sum);
            Map<String, Node> readerOf = new HashMap<>();
            for (Node n : g.nodes()) {
                for (String in : n.inputs()) {
                    readerOf.put(in, n);
                }
            }
            Map<String, int[]> shapes = ShapeInference.infer(g, 1);

            // Pick the chains: Conv [→ Add(residual)] [→ activation], each link the sole reader of the one before.
            Set<Node> claimed = new HashSet<>();
            Map<Node, Chain> endsAt = new HashMap<>();
            for (Node n : g.nodes()) {
                if (!(n.op() instanceof Op.Conv c) || !fusable(g, n)) {
                    continue;
                }
                String v = n.outputs().get(0);
                Node last = n;
                String residual = null;
                Activation act = null;
                Node next = soleReader(v, readers, readerOf);
                if (next != null && !claimed.contains(next) && next.op() instanceof Op.Binary b
                        && b.kind() == Backend.BinaryOp.ADD && next.inputs().size() == 2) {
                    String other = next.input(0).equals(v) ? next.input(1) : next.input(0);
                    if (!other.equals(v) && !other.isEmpty() && !g.isParam(other)
                            && Arrays.equals(shapes.get(other), shapes.get(v))) {
                        residual = other;
                        last = next;
                        v = next.outputs().get(0);
                        next = soleReader(v, readers, readerOf);
                    }
                }
                if (next != null && !claimed.contains(next) && next.op() instanceof Op.Unary u) {
                    act = u.fn();
                    last = next;
                }
                claimed.add(n);
                claimed.add(last);
                if (residual != null) {
                    claimed.add(readerOf.get(n.outputs().get(0)));
                }
                Tensor bias = n.inputs().size() > 2 && !n.input(2).isEmpty() ? g.param(n.input(2)) : null;
                endsAt.put(last, new Chain(n, new FusedConv(g.param(n.input(1)), bias, c.spec(), act), residual,
                        last.outputs().get(0)));
            }

            Map<String, Integer> slotOf = new HashMap<>();
            slotOf.put(g.inputName(), 0);
            List<Step> steps = new ArrayList<>();
            int fused = 0;
            for (Node n : g.nodes()) {
                Chain ch = endsAt.get(n);
                if (ch != null) {
                    int x = slotOf.get(ch.conv.input(0));
                    int r = ch.residual == null ? -1 : slotOf.get(ch.residual);
                    steps.add(new Fused(ch.conv, ch.fused, x, r, slot(slotOf, ch.out)));
                    fused++;
                } else if (!claimed.contains(n)) {
                    int[] in = new int[n.inputs().size()];
                    Tensor[] params = new Tensor[in.length];
                    for (int i = 0; i < in.length; i++) {
                        String name = n.input(i);
                        Integer s = name.isEmpty() ? null : slotOf.get(name);
                        in[i] = s == null ? -1 : s;
                        params[i] = s == null && !name.isEmpty() ? g.param(name) : null;
                    }
                    int[] out = new int[n.outputs().size()];
                    for (int i = 0; i < out.length; i++) {
                        out[i] = slot(slotOf, n.outputs().get(i));
                    }
                    steps.add(new Plain(n, in, params, out));
                }
            }
            int slots = slotOf.size();
            int outputSlot = slotOf.get(g.outputName());
            int[] lastUse = new int[slots];
            Arrays.fill(lastUse, -1);
            for (int i = 0; i < steps.size(); i++) {
                for (int s : reads(steps.get(i))) {
                    if (s >= 0) {
                        lastUse[s] = i;
                    }
                }
            }
            lastUse[outputSlot] = Integer.MAX_VALUE;
            lastUse[0] = Integer.MAX_VALUE; // the caller's input is never released
            int[][] dying = new int[steps.size()][];
            for (int i = 0; i < steps.size(); i++) {
                final int step = i;
                dying[i] = java.util.stream.IntStream.range(0, slots).filter(s -> lastUse[s] == step).toArray();
            }
            return new Program(cpu, executor, List.copyOf(steps), slots, 0, outputSlot, fused, dying);
        }

        /** A conv whose weight (and bias, if any) are parameters and whose output is not the graph output. */
        private static boolean fusable(Graph g, Node conv) {
            return conv.inputs().size() >= 2 && g.isParam(conv.input(1))
                    && (conv.inputs().size() < 3 || conv.input(2).isEmpty() || g.isParam(conv.input(2)))
                    && g.param(conv.input(1)).rank() == 4;
        }

        private static Node soleReader(String value, Map<String, Integer> readers, Map<String, Node> readerOf) {
            return readers.getOrDefault(value, 0) == 1 ? readerOf.get(value) : null;
        }

        private static int slot(Map<String, Integer> slotOf, String name) {
            return slotOf.computeIfAbsent(name, k -> slotOf.size());
        }

        private static int[] reads(Step s) {
            return switch (s) {
                case Fused f -> new int[] {f.x(), f.residual()};
                case Plain p -> p.in();
            };
        }

        Tensor run(Tensor input) {
            int batch = input.dim(0);
            Buffers buf = idle.pollFirst();
            if (buf == null) {
                buf = new Buffers();
            }
            buf.reset(batch);
            Tensor[] env = new Tensor[slots];
            env[inputSlot] = input;
            for (int i = 0; i < steps.size(); i++) {
                Step step = steps.get(i);
                try {
                    switch (step) {
                        case Fused f -> {
                            Tensor x = env[f.x()];
                            int[] shape = f.conv().outputShape(x.shape());
                            Tensor out = new Tensor(buf.take(Math.toIntExact(dev.zeroq.tensor.Shapes.size(shape))),
                                    shape);
                            f.conv().run(cpu, x, f.residual() < 0 ? null : env[f.residual()], out);
                            env[f.out()] = out;
                            buf.hold(out.data());
                        }
                        case Plain p -> {
                            Tensor[] in = new Tensor[p.in().length];
                            for (int j = 0; j < in.length; j++) {
                                in[j] = p.in()[j] >= 0 ? env[p.in()[j]] : p.params()[j];
                            }
                            Tensor[] out = executor.forward(p.node().op(), in, batch);
                            for (int j = 0; j < out.length; j++) {
                                env[p.out()[j]] = out[j];
                                buf.hold(out[j].data());
                            }
                        }
                    }
                } catch (IllegalArgumentException | ArithmeticException e) {
                    throw ZeroqException.internal("node '" + step.node().name() + "' ("
                            + step.node().op().onnxType() + ") failed: " + e.getMessage(), e);
                }
                for (int s : dying[i]) {
                    buf.release(env[s].data());
                    env[s] = null;
                }
            }
            Tensor y = env[outputSlot];
            if (buf.owns(y.data())) {
                y = y.copy();
            }
            if (idle.size() < maxIdle) {
                idle.offerFirst(buf);
            }
            return y;
        }
    }

    private record Chain(Node conv, FusedConv fused, String residual, String out) {}

    /**
     * The arrays that hold conv outputs, reused by exact length. Values that share an array (a Flatten or
     * Identity of a conv output is a view of it) are counted, so an array goes back to the free list only when
     * the last of them has died.
     */
    private static final class Buffers {
        private int batch = -1;
        private final Map<Integer, ArrayDeque<float[]>> free = new HashMap<>();
        /** Arrays this set owns, with the number of live values reading each. */
        private final IdentityHashMap<float[], int[]> owned = new IdentityHashMap<>();

        /** Starts a call: buffers sized for another batch size are dropped. */
        void reset(int batch) {
            if (batch != this.batch) {
                free.clear();
                owned.clear();
                this.batch = batch;
            }
            for (int[] live : owned.values()) {
                live[0] = 0; // a call that failed half-way leaves counts behind; none is live now
            }
            if (!owned.isEmpty()) {
                free.clear();
                for (float[] a : owned.keySet()) {
                    free.computeIfAbsent(a.length, k -> new ArrayDeque<>()).push(a);
                }
            }
        }

        /** An owned array of exactly {@code size} floats, not held by any live value; contents are stale. */
        float[] take(int size) {
            ArrayDeque<float[]> q = free.get(size);
            float[] a = q == null ? null : q.poll();
            if (a == null) {
                a = new float[size];
                owned.put(a, new int[1]);
            }
            return a;
        }

        boolean owns(float[] a) {
            return owned.containsKey(a);
        }

        /** A new live value reads {@code a}. */
        void hold(float[] a) {
            int[] live = owned.get(a);
            if (live != null) {
                live[0]++;
            }
        }

        /** A value reading {@code a} has died. */
        void release(float[] a) {
            int[] live = owned.get(a);
            if (live != null && --live[0] == 0) {
                free.computeIfAbsent(a.length, k -> new ArrayDeque<>()).push(a);
            }
        }
    }
}
