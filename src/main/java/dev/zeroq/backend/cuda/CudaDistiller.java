// ZeroQ data distillation (ZEROQ.md §1) kept on one CUDA device: the math of distill.Distiller, with weights,
// activations, gradients, loss partials and Adam's moments in one device pool planned before the loop. An iteration
// enqueues forward, BN-statistics taps, backward, the loss reduction and Adam on one stream and brings back 8 bytes.
package dev.zeroq.backend.cuda;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.Backend.BinaryOp;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.cuda.DevicePlan.At;
import dev.zeroq.backend.cuda.DevicePlan.Pending;
import dev.zeroq.backend.cuda.DevicePlan.Region;
import dev.zeroq.backend.Activation;
import dev.zeroq.backend.PoolSpec;
import dev.zeroq.bindings.cuda.cuda_h;
import dev.zeroq.distill.DistillConfig;
import dev.zeroq.distill.Distiller;
import dev.zeroq.distill.PlateauSchedule;
import dev.zeroq.graph.Backprop;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.graph.Op;
import dev.zeroq.graph.ShapeInference;
import dev.zeroq.report.Laps;
import dev.zeroq.tensor.Shapes;
import dev.zeroq.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Device-resident ZeroQ distillation for one batch size. The constructor plans the whole iteration (which nodes
 * run, every buffer's place in one device allocation, every kernel's arguments) and uploads the weights; {@link
 * #distill} then allocates nothing on the device. Results match {@link Distiller} up to float summation order.
 *
 * <p>Supported ops on the path to a BatchNorm input: Conv (grouped, depthwise), BatchNormalization, Relu, Clip,
 * LeakyRelu, Sigmoid, HardSigmoid, HardSwish, Add, Sub, Mul, Div (broadcasting), MaxPool, AveragePool,
 * GlobalAveragePool, Flatten, Reshape, Identity, Gemm (transA = 0), Concat. Anything else: a {@link ZeroqException}
 * naming the op, so the caller can fall back to the CPU ({@link #unsupported(Graph)} asks up front). Not thread-safe.
 */
public final class CudaDistiller implements AutoCloseable {
    /**
     * How convolutions run. AUTO: the direct kernels below 16 channels per group or for depthwise, the 128×128
     * implicit GEMM (backward-data by output phase) above 64 channels where its grid fills the chip, else the 64×128
     * implicit GEMM (IgemmLayout.choose). The other values force one family everywhere: DIRECT, IMPLICIT_GEMM (64×128)
     * or IMPLICIT_GEMM_128.
     */
    public enum ConvAlgorithm { AUTO, DIRECT, IMPLICIT_GEMM, IMPLICIT_GEMM_128 }

    /**
     * Which convolution steps (each forward and each backward-data) run on cuDNN instead of zeroq's kernel. OFF: none.
     * FASTEST: each step on whichever of the two the device timed faster during setup (CUDA events, the best of 3
     * rounds of 3 runs, after cuDNN found its own best algorithm for the shape; decided once per distinct shape); zeroq's
     * kernels only when cuDNN cannot be loaded ({@link #convSummary()} says why). ALWAYS: every step cuDNN can run
     * (symmetric pads). Math as the rest of the pass: strict FP32 (cuDNN's FMA kernels), or TF32 with {@code tf32}.
     */
    public enum Cudnn { OFF, FASTEST, ALWAYS }

    /**
     * @param conv      convolution kernels (forward and backward-data)
     * @param cudaGraph capture one iteration into a CUDA graph and replay it (fewer launch calls per iteration)
     * @param tf32      run the layers that use the 128×128 implicit GEMM on its TF32 tensor-core twin (sm_80+):
     *                  operands rounded to a 10-bit mantissa, FP32 accumulation, products within ~2^-10 relative;
     *                  off by default, strict FP32 being the reference
     * @param cudnn     which convolution steps may run on cuDNN instead ({@link Cudnn})
     */
    public record Options(ConvAlgorithm conv, boolean cudaGraph, boolean tf32, Cudnn cudnn) {
        public Options {
            if (conv == null) throw new IllegalArgumentException("conv algorithm is null");
            if (cudnn == null) throw new IllegalArgumentException("cudnn use is null");
        }

        /** zeroq's kernels only. */
        public Options(ConvAlgorithm conv, boolean cudaGraph, boolean tf32) {
            this(conv, cudaGraph, tf32, Cudnn.OFF);
        }

        /** Strict FP32, zeroq's kernels only. */
        public Options(ConvAlgorithm conv, boolean cudaGraph) {
            this(conv, cudaGraph, false);
        }

        public static Options defaults() {
            return new Options(ConvAlgorithm.AUTO, false, false);
        }
    }

    /** Per-iteration device times (CUDA events around each whole iteration) and the host's wall time per iteration. */
    public record Timing(int iterations, double medianMs, double meanMs, double minMs, double maxMs, double wallMs) {
        public double iterationsPerSecond() {
            return 1000.0 / medianMs;
        }
    }

    private static final int MAX_BLOCKS = DevicePlan.MAX_BLOCKS;
    private static final int LOSS_REDUCE_TARGET_CHUNK = 8192;

    private final Graph graph;
    private final int batch;
    private final Options options;
    private final CudaContext context;
    private final CudaModule module;
    private final CudaStream stream;
    private final Arena arena = Arena.ofShared(); // prepared kernel arguments, alive as long as this object
    private DeviceBuffer pool;
    private MemorySegment pinned; // page-locked: [0] the loss, [8] lr/(1 − β1^t), [16] sqrt(1 − β2^t)
    private MemorySegment graphHandle;
    private MemorySegment graphExec;
    private String graphFailure; // why the iteration could not be captured (then it runs launch by launch)

    private final List<DeviceStep> lossSteps = new ArrayList<>();
    private final List<DeviceStep> resetSteps = new ArrayList<>();
    private CudaModule.Prepared adamStep;
    private ConvChoice convs; // the cuDNN handle, if any, and the choice of each convolution step
    private String convSummary = "convolutions on zeroq's kernels";
    private final Laps setup = new Laps(); // the constructor's wall time, by part (setupSummary)
    private final int inputSize;
    private long inputAddr, inputGradAddr, lossAddr, hpAddr;
    private final int bnTerms;

    // ---- planning state (used by the constructor only) ----
    private final Map<String, int[]> shapes;
    private final DevicePlan p; // the pool layout and forward launches, shared with CudaForward
    private final Map<String, Region> grads = new HashMap<>();
    private final Set<Region> written = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    private final Map<String, List<float[][]>> targets = new LinkedHashMap<>();
    private Region partials;
    private long partialCount;

    /** The iteration's plan; a batch beyond the kernels' limits (32-bit element counts, grid sizes) is bad input. */
    private static DevicePlan plan(Graph graph, Map<String, int[]> shapes, int batch, Options options) {
        try {
            return new DevicePlan(graph, shapes, options.conv(), options.tf32(), false);
        } catch (ArithmeticException e) {
            throw ZeroqException.badInput("distilling a batch of " + batch + " image(s) of '" + graph.name()
                    + "' is too large for the CUDA kernels (" + DevicePlan.tooLarge(e) + "); use a smaller batch", e);
        }
    }

    /** Opens device {@code ordinal}, plans the iteration for {@code batch} images and uploads the weights. */
    public CudaDistiller(Graph graph, int batch, int ordinal, Options options) {
        if (batch < 1) throw ZeroqException.badInput("batch must be at least 1, got " + batch);
        List<String> bad = unsupported(graph);
        if (!bad.isEmpty()) {
            throw ZeroqException.badInput("CUDA distillation does not support " + String.join(", ", bad)
                    + " on the path to a BatchNorm input; distill on the CPU backend instead");
        }
        this.graph = graph;
        this.batch = batch;
        this.options = options;
        this.shapes = ShapeInference.infer(graph, batch);
        this.p = plan(graph, shapes, batch, options);
        // Only when cuDNN loads: each alternative keeps a copy of its weights in the graph's layout.
        p.cudnnAlternatives = options.cudnn() != Cudnn.OFF && CudnnConv.available().usable();
        ConvChoice.checkUsable(options.cudnn());
        int[] in = shapes.get(graph.inputName());
        this.inputSize = Math.toIntExact(Shapes.size(in));
        collectTargets();
        this.bnTerms = targets.values().stream().mapToInt(List::size).sum() - 1;
        setup.lap("planning");
        // Non-blocking: a captured stream must not order against the legacy stream; uploads synchronize the context.
        DeviceHandles h = DeviceHandles.open(ordinal, "CUDA distillation", true);
        this.context = h.context();
        this.module = h.module();
        this.stream = h.stream();
        setup.lap("device and kernels");
        try {
            plan();
            setup.lap("planning");
            allocateAndUpload();
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * Plans without a device (tests on machines with no GPU): builds every launch and the pool layout and returns
     * "launches L, pool B bytes, regions R, fused [Relu(BatchNormalization(x)), Relu(Add(y)),
     * Relu(Add(BatchNormalization(z))), …], deferred statistics gradients D of T taps (K added by BatchNorm backward
     * launches), F with the fused BatchNorm forward" (what is planned as one launch each way, with an Add's first operand
     * or the BatchNorm folded into it; the statistics-loss gradients left to the backward pass, kernels/bn_stat.cuh; the
     * taps whose launch also computes the fused forward that reads the value), then ", cudnn alternatives A" with cuDNN;
     * throws as the constructor would for unsupported graphs.
     */
    static String dryPlan(Graph graph, int batch, Options options) {
        CudaDistiller d = new CudaDistiller(graph, batch, options);
        d.plan();
        long total = d.p.layout();
        long alternatives = d.p.pending.stream().filter(q -> q.cudnn() != null).count();
        List<String> fused = new ArrayList<>();
        for (Fusion f : new HashSet<>(d.fusions.values())) fused.add(f.describe());
        fused.sort(null);
        return "launches " + (d.p.pending.size() - 1) + ", pool " + total + " bytes, regions " + d.p.regions.size()
                + ", fused " + fused + ", deferred statistics gradients " + d.deferredTaps + " of " + d.taps + " taps ("
                + (d.deferredTaps - d.deferredApplied) + " added by BatchNorm backward launches), "
                + d.forwardWithStatistics.size() + " with the fused BatchNorm forward"
                + (options.cudnn() != Cudnn.OFF ? ", cudnn alternatives " + alternatives : "");
    }

    /** Every launch {@link #dryPlan} plans (the iteration's, the Adam step and the batch reset), for tests. */
    static List<Pending> dryLaunches(Graph graph, int batch, Options options) {
        CudaDistiller d = new CudaDistiller(graph, batch, options);
        d.plan();
        List<Pending> all = new ArrayList<>(d.p.pending);
        all.add(d.adamPending);
        return all;
    }

    /**
     * The loss and input gradient of {@code images} as this class's planned launches compute them, run in order on a
     * host copy of the pool through {@code launcher} (tests without a GPU: every launch, its arguments and the pool's
     * wiring, against the CPU reference). Only zeroq's kernels take part ({@code options.cudnn()} must be OFF).
     */
    static Backprop.Result emulateLossAndGradient(Graph graph, Options options, Tensor images,
                                                  DevicePlan.HostLauncher launcher) {
        if (options.cudnn() != Cudnn.OFF) throw new IllegalArgumentException("cuDNN has no host emulation");
        CudaDistiller d = new CudaDistiller(graph, images.dim(0), options);
        if (!Arrays.equals(images.shape(), d.shapes.get(graph.inputName()))) {
            throw new IllegalArgumentException("images " + Arrays.toString(images.shape()));
        }
        d.plan();
        try (Arena arena = Arena.ofConfined()) {
            d.p.allocateHost(arena);
            MemorySegment.copy(images.data(), 0, d.p.hostRegion(d.inputRegion), ValueLayout.JAVA_FLOAT, 0, images.size());
            for (Pending q : d.p.pending) {
                if (q.into() == null) launcher.launch(q.kernel(), q.grid(), q.block(), d.p.resolved(q));
            }
            double loss = d.p.hostRegion(d.lossRegion).get(ValueLayout.JAVA_DOUBLE, 0);
            float[] g = d.p.hostRegion(d.inputGradRegion).toArray(ValueLayout.JAVA_FLOAT);
            return new Backprop.Result(loss, new Tensor(g, images.shape()));
        }
    }

    private CudaDistiller(Graph graph, int batch, Options options) {
        List<String> bad = unsupported(graph);
        if (!bad.isEmpty()) {
            throw ZeroqException.badInput("CUDA distillation does not support " + String.join(", ", bad)
                    + " on the path to a BatchNorm input; distill on the CPU backend instead");
        }
        this.graph = graph;
        this.batch = batch;
        this.options = options;
        this.shapes = ShapeInference.infer(graph, batch);
        this.p = plan(graph, shapes, batch, options);
        p.cudnnAlternatives = options.cudnn() != Cudnn.OFF;
        this.inputSize = Math.toIntExact(Shapes.size(shapes.get(graph.inputName())));
        collectTargets();
        this.bnTerms = targets.values().stream().mapToInt(List::size).sum() - 1;
        this.context = null;
        this.module = null;
        this.stream = null;
    }

    /** The ops of {@code graph} on the path to a BatchNorm input that this class cannot run, as "Op (node 'name')". */
    public static List<String> unsupported(Graph graph) {
        List<String> bad = new ArrayList<>();
        for (Node n : neededNodes(graph, tapValues(graph))) {
            boolean ok = switch (n.op()) {
                case Op.Conv c -> true;
                case Op.BatchNorm b -> true;
                case Op.Unary u -> true;
                case Op.Binary b -> true;
                case Op.MaxPool p -> true;
                case Op.AveragePool p -> true;
                case Op.GlobalAveragePool g -> true;
                case Op.Flatten f -> true;
                case Op.Reshape r -> true;
                case Op.Identity i -> true;
                case Op.Gemm g -> !g.transA() && !graph.isParam(n.input(0));
                case Op.Concat c -> true;
                default -> false;
            };
            if (ok && n.outputs().size() != 1) ok = false;
            if (!ok) bad.add(n.op().onnxType() + " (node '" + n.name() + "')");
        }
        return bad;
    }

    /** Device name, compute capability and driver. */
    public String describe() {
        context.makeCurrent();
        return context.name() + ", sm_" + context.computeCapability() + ", driver " + CudaContext.driverVersion();
    }

    /** Bytes of the one device allocation holding everything. */
    public long poolBytes() {
        return pool.bytes();
    }

    /**
     * Where the convolutions run: "convolutions on zeroq's kernels", or with cuDNN how many forward and backward-data
     * steps it took and the setup's timings of the convolution steps (zeroq's alone vs as chosen), or why cuDNN could
     * not be used.
     */
    public String convSummary() {
        return convSummary;
    }

    /**
     * The constructor's wall time by part, e.g. "setup 1.23 s (planning 0.05 s, device and kernels 0.10 s, pool and
     * weights 0.21 s, cuDNN start 0.30 s, cuDNN first runs 0.40 s, convolution timing 0.15 s, launches 0.02 s)", and
     * once the first iteration has run, the CUDA graph's capture.
     */
    public String setupSummary() {
        return "setup " + setup;
    }

    /** Why Options.cudaGraph could not capture the iteration (it then ran step by step), or null. */
    public String cudaGraphFailure() {
        return graphFailure;
    }

    /** Steps per iteration (kernel launches and cuDNN calls: forward, taps, backward, loss reduction, Adam). */
    public int launchesPerIteration() {
        return lossSteps.size() + 1;
    }

    /** Number of BatchNorm statistics terms (as {@link Distiller#bnTerms()}). */
    public int bnTerms() {
        return bnTerms;
    }

    /** cuMemAlloc calls made so far by this process (for tests: the loop must make none). */
    public static long deviceAllocations() {
        return DeviceBuffer.allocations();
    }

    // ---- running ----

    /** As {@link Distiller#distill}: same initial batches, Adam, plateau schedule and result. */
    public Distiller.Result distill(DistillConfig cfg, Consumer<Distiller.Iteration> progress) {
        if (cfg.batch() != batch) {
            throw ZeroqException.badInput("this CUDA distiller was planned for batch " + batch + ", the config asks for "
                    + cfg.batch());
        }
        long t0 = System.nanoTime();
        int[] chw = graph.inputShape();
        float[] all = new float[Math.multiplyExact(inputSize, cfg.batches())];
        double[][] curves = new double[cfg.batches()][cfg.iterations()];
        for (int b = 0; b < cfg.batches(); b++) {
            startBatch(Distiller.initialBatch(chw, batch, cfg.init(), cfg.seed() + b));
            PlateauSchedule schedule = new PlateauSchedule(DistillConfig.LEARNING_RATE);
            for (int it = 0; it < cfg.iterations(); it++) {
                double lr = schedule.lr();
                double loss = iterate(it + 1, lr);
                if (!Double.isFinite(loss)) {
                    throw ZeroqException.internal("distillation diverged: the loss became " + loss + " at iteration "
                            + (it + 1) + " of batch " + (b + 1) + "; nothing was written (try --init uniform or fewer --iters)");
                }
                curves[b][it] = loss;
                schedule.step(loss);
                progress.accept(new Distiller.Iteration(b, it, loss, lr));
            }
            float[] x = new float[inputSize];
            download(inputAddr, x);
            System.arraycopy(x, 0, all, b * inputSize, inputSize);
        }
        int[] shape = shapes.get(graph.inputName()).clone();
        shape[0] = Math.multiplyExact(batch, cfg.batches());
        return new Distiller.Result(new Tensor(all, shape), curves, (System.nanoTime() - t0) / 1e9);
    }

    /** The ZeroQ loss and its input gradient for {@code images} (no optimizer step), as Distiller.lossAndGradient. */
    public Backprop.Result lossAndGradient(Tensor images) {
        if (!Arrays.equals(images.shape(), shapes.get(graph.inputName()))) {
            throw new IllegalArgumentException("images " + Arrays.toString(images.shape()) + ", planned for "
                    + Arrays.toString(shapes.get(graph.inputName())));
        }
        upload(inputAddr, images.data());
        context.makeCurrent();
        for (DeviceStep p : lossSteps) p.run(stream);
        Cuda.check("cuMemcpyDtoHAsync_v2(loss)", cuda_h.cuMemcpyDtoHAsync_v2(pinned, lossAddr, Double.BYTES, stream.handle()));
        stream.synchronize();
        double loss = pinned.get(ValueLayout.JAVA_DOUBLE, 0);
        float[] g = new float[inputSize];
        download(inputGradAddr, g);
        return new Backprop.Result(loss, new Tensor(g, images.shape()));
    }

    /**
     * Benchmark: {@code warmup} iterations, then {@code iterations} timed ones, each between two CUDA events on the
     * stream (device time of a whole iteration, launch gaps included), from a fresh initial batch.
     */
    public Timing time(int warmup, int iterations, DistillConfig.Init init, long seed) {
        if (iterations < 1) throw new IllegalArgumentException("iterations must be >= 1");
        PlateauSchedule schedule = warmUp(warmup, init, seed);
        int t = warmup;
        double[] ms = new double[iterations];
        try (CudaEvent start = CudaEvent.create(); CudaEvent end = CudaEvent.create()) {
            long w0 = System.nanoTime();
            for (int i = 0; i < iterations; i++) {
                start.record(stream);
                iterateNoSync(++t, schedule.lr());
                end.record(stream);
                end.synchronize(); // the loss copy precedes the end event on the stream
                schedule.step(pinned.get(ValueLayout.JAVA_DOUBLE, 0));
                ms[i] = CudaEvent.elapsedMillis(start, end);
            }
            double wall = (System.nanoTime() - w0) / 1e6 / iterations;
            double[] sorted = ms.clone();
            Arrays.sort(sorted);
            double median = iterations % 2 == 1 ? sorted[iterations / 2]
                    : (sorted[iterations / 2 - 1] + sorted[iterations / 2]) / 2;
            return new Timing(iterations, median, Arrays.stream(ms).average().orElse(0), sorted[0],
                    sorted[iterations - 1], wall);
        }
    }

    /** Device time of one kind of step in an iteration: its label, its launches per iteration, their milliseconds. */
    public record StepTime(String label, int launches, double ms) {}

    /**
     * Diagnostic: where an iteration's device time goes, by kind of step ({@link DeviceStep#label}: the kernel, or the
     * cuDNN call). After {@code warmup} iterations, {@code iterations} iterations run step by step (no CUDA graph) with
     * a CUDA event after every step; each step's time is the gap between its two events, so very short steps include
     * an event's cost (a few microseconds). Times are per iteration (averaged), largest first.
     */
    public List<StepTime> profileSteps(int warmup, int iterations, DistillConfig.Init init, long seed) {
        if (iterations < 1) throw new IllegalArgumentException("iterations must be >= 1");
        PlateauSchedule schedule = warmUp(warmup, init, seed);
        int t = warmup;
        List<DeviceStep> steps = new ArrayList<>(lossSteps);
        steps.add(adamStep);
        double[] ms = new double[steps.size()];
        List<CudaEvent> events = new ArrayList<>();
        try {
            for (int k = 0; k <= steps.size(); k++) events.add(CudaEvent.create());
            for (int i = 0; i < iterations; i++) {
                uploadAdamScalars(++t, schedule.lr());
                events.getFirst().record(stream);
                for (int k = 0; k < steps.size(); k++) {
                    steps.get(k).run(stream);
                    events.get(k + 1).record(stream);
                }
                Cuda.check("cuMemcpyDtoHAsync_v2(loss)", cuda_h.cuMemcpyDtoHAsync_v2(pinned, lossAddr, Double.BYTES, stream.handle()));
                stream.synchronize();
                schedule.step(pinned.get(ValueLayout.JAVA_DOUBLE, 0));
                for (int k = 0; k < steps.size(); k++) ms[k] += CudaEvent.elapsedMillis(events.get(k), events.get(k + 1));
            }
        } finally {
            for (CudaEvent e : events) e.close();
        }
        Map<String, double[]> byLabel = new LinkedHashMap<>(); // label → {launches, ms}
        for (int k = 0; k < steps.size(); k++) {
            double[] v = byLabel.computeIfAbsent(steps.get(k).label(), x -> new double[2]);
            v[0]++;
            v[1] += ms[k] / iterations;
        }
        List<StepTime> out = new ArrayList<>();
        byLabel.forEach((label, v) -> out.add(new StepTime(label, (int) v[0], v[1])));
        out.sort(Comparator.comparingDouble(StepTime::ms).reversed());
        return out;
    }

    /** A fresh starting batch and {@code warmup} optimizer steps on it (steps 1 … warmup); returns the schedule. */
    private PlateauSchedule warmUp(int warmup, DistillConfig.Init init, long seed) {
        startBatch(Distiller.initialBatch(graph.inputShape(), batch, init, seed));
        PlateauSchedule schedule = new PlateauSchedule(DistillConfig.LEARNING_RATE);
        for (int t = 1; t <= warmup; t++) schedule.step(iterate(t, schedule.lr()));
        return schedule;
    }

    /** Uploads a batch's starting images and zeroes Adam's moments. */
    private void startBatch(Tensor x0) {
        upload(inputAddr, x0.data());
        for (DeviceStep p : resetSteps) p.run(stream);
        stream.synchronize();
    }

    /** One optimizer step (t counts from 1, as torch's Adam); returns the loss of the images before the step. */
    private double iterate(int t, double lr) {
        iterateNoSync(t, lr);
        stream.synchronize();
        return pinned.get(ValueLayout.JAVA_DOUBLE, 0);
    }

    /** Enqueues one step; the loss lands in pinned[0] once the stream reaches it. */
    private void iterateNoSync(int t, double lr) {
        uploadAdamScalars(t, lr);
        if (options.cudaGraph() && graphExec == null && graphFailure == null) {
            try {
                long t0 = System.nanoTime();
                capture();
                setup.add("graph capture", System.nanoTime() - t0);
            } catch (CudaException | CudnnConv.CudnnException e) {
                // A step the driver cannot capture (a library call, say): the same steps, launched one by one.
                graphFailure = e.getMessage();
            }
        }
        if (graphExec != null) {
            Cuda.check("cuGraphLaunch", cuda_h.cuGraphLaunch(graphExec, stream.handle()));
        } else {
            for (DeviceStep p : lossSteps) p.run(stream);
            adamStep.run(stream);
        }
        Cuda.check("cuMemcpyDtoHAsync_v2(loss)", cuda_h.cuMemcpyDtoHAsync_v2(pinned, lossAddr, Double.BYTES, stream.handle()));
    }

    /** Enqueues the upload of Adam's step-dependent scalars for step t, rounded as distill/Adam.java computes them. */
    private void uploadAdamScalars(int t, double lr) {
        context.makeCurrent();
        double c1 = 1 - Math.pow(0.9, t);
        double c2 = 1 - Math.pow(0.999, t);
        pinned.set(ValueLayout.JAVA_DOUBLE, 8, lr / c1);
        pinned.set(ValueLayout.JAVA_DOUBLE, 16, Math.sqrt(c2));
        Cuda.check("cuMemcpyHtoDAsync_v2(adam scalars)",
                cuda_h.cuMemcpyHtoDAsync_v2(hpAddr, pinned.asSlice(8, 16), 16, stream.handle()));
    }

    /** Records every launch of one iteration into a CUDA graph, once; later iterations replay it. */
    private void capture() {
        try (Arena a = Arena.ofConfined()) {
            Cuda.check("cuStreamBeginCapture_v2", cuda_h.cuStreamBeginCapture_v2(stream.handle(),
                    Cuda.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
            MemorySegment g = a.allocate(ValueLayout.ADDRESS);
            try {
                for (DeviceStep p : lossSteps) p.run(stream);
                adamStep.run(stream);
            } finally {
                // End the capture even when a launch failed, or the stream stays unusable.
                int r = cuda_h.cuStreamEndCapture(stream.handle(), g);
                Cuda.check("cuStreamEndCapture", r);
            }
            graphHandle = Cuda.readPointer(g);
            MemorySegment e = a.allocate(ValueLayout.ADDRESS);
            Cuda.check("cuGraphInstantiateWithFlags", cuda_h.cuGraphInstantiateWithFlags(e, graphHandle, 0L));
            graphExec = Cuda.readPointer(e);
        }
    }

    // ---- planning ----

    /** BatchNorm input values and their (mean, std) targets, plus the input's (0, 1) target, as Distiller builds them. */
    private void collectTargets() {
        for (Node bn : graph.nodesOf(Op.BatchNorm.class)) {
            float[] mean = graph.param(bn.input(3)).data();
            float[] var = graph.param(bn.input(4)).data();
            float[] std = new float[var.length];
            for (int c = 0; c < std.length; c++) {
                std[c] = (float) Math.sqrt(var[c] + Distiller.EPS);
            }
            targets.computeIfAbsent(bn.input(0), k -> new ArrayList<>()).add(new float[][] {mean, std});
        }
        if (targets.isEmpty()) {
            throw ZeroqException.badInput("model '" + graph.name() + "' has no BatchNormalization layers: ZeroQ needs "
                    + "their statistics to distill data; calibrate on real images instead with --calib data --calib-images F");
        }
        int c = graph.inputShape()[0];
        float[] ones = new float[c];
        Arrays.fill(ones, 1f);
        targets.computeIfAbsent(graph.inputName(), k -> new ArrayList<>()).add(new float[][] {new float[c], ones});
    }

    private static Set<String> tapValues(Graph graph) {
        Set<String> taps = new HashSet<>();
        for (Node bn : graph.nodesOf(Op.BatchNorm.class)) taps.add(bn.input(0));
        taps.add(graph.inputName());
        return taps;
    }

    /** The nodes some tap depends on, in graph order (as Backprop). */
    private static List<Node> neededNodes(Graph graph, Set<String> tapValues) {
        Map<String, Node> producer = new HashMap<>();
        for (Node n : graph.nodes()) {
            for (String o : n.outputs()) producer.put(o, n);
        }
        Set<Node> needed = new HashSet<>();
        List<String> todo = new ArrayList<>(tapValues);
        while (!todo.isEmpty()) {
            Node p = producer.get(todo.removeLast());
            if (p != null && needed.add(p)) todo.addAll(p.inputs());
        }
        return graph.nodes().stream().filter(needed::contains).toList();
    }

    private void plan() {
        List<Node> nodes = neededNodes(graph, targets.keySet());
        fuseActivations(nodes);
        String input = graph.inputName();
        partials = region(0);
        Region x = value(input);
        tap(input);
        for (Node n : nodes) {
            Fusion f = fusions.get(n);
            if (f == null) {
                forward(n);
            } else if (n == f.producer() && !forwardWithStatistics.contains(f)) {
                fusedForward(f); // at the producer's place; the other nodes of the fusion plan nothing forward
            }
            tap(n.output());
        }
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Node n = nodes.get(i);
            flushDeferred(n.output()); // every reader's gradient is in: the last chance before n reads it
            Fusion f = fusions.get(n);
            if (f != null && n != f.act()) continue; // their gradients come with the activation's
            if (!written.contains(grad(n.output()))) continue; // no gradient reaches it (Backprop skips it too)
            if (f != null) {
                fusedBackward(f);
            } else {
                backward(n);
            }
        }
        flushDeferred(input);
        if (!deferred.isEmpty()) throw new IllegalStateException("statistics gradients never added: " + deferred.values());
        Region gx = grad(input);
        if (!written.contains(gx)) {
            launch("fill", grid1d(inputSize), block(), At.of(gx), (long) inputSize, 0f);
        }
        // Loss: the taps' per-(n, c) partials, summed in two fixed-shape stages.
        partials.bytes = Math.multiplyExact(Math.max(partialCount, 1), Double.BYTES);
        int blocks = (int) Math.clamp(Math.ceilDiv(Math.max(partialCount, 1), LOSS_REDUCE_TARGET_CHUNK), 1, 1024);
        long chunk = Math.ceilDiv(Math.max(partialCount, 1), blocks);
        Region blockSums = region((long) blocks * Double.BYTES);
        Region loss = region(Double.BYTES);
        launch("loss_reduce_partial", new int[] {blocks, 1, 1}, block(), At.of(partials), At.of(blockSums), partialCount, chunk);
        launch("loss_reduce_final", new int[] {1, 1, 1}, block(), At.of(blockSums), At.of(loss), blocks);
        // Adam on the images, and the moment resets run before each batch.
        Region m = floats(inputSize), v = floats(inputSize), hp = region(2L * Double.BYTES);
        adamPending = new Pending(null, "adam", grid1d(inputSize), block(),
                new Object[] {At.of(x), At.of(gx), At.of(m), At.of(v), At.of(hp), inputSize});
        p.pending.add(new Pending(resetSteps, "fill", grid1d(inputSize), block(), new Object[] {At.of(m), (long) inputSize, 0f}));
        p.pending.add(new Pending(resetSteps, "fill", grid1d(inputSize), block(), new Object[] {At.of(v), (long) inputSize, 0f}));
        inputRegion = x;
        inputGradRegion = gx;
        lossRegion = loss;
        hpRegion = hp;
    }

    // ---- BatchNorm or residual Add + ReLU/Clip as one kernel each way ----

    /**
     * What one fused launch computes each way: act(BN(x)) ({@code add} null), act(a + b) ({@code bn} null), or
     * act(BN(x) + other) (a bottleneck's end). The BatchNorm's output and the sum are never stored: the backward reads
     * relu' and clip' off the activation's output (or, reading x for a deferred statistics gradient, takes them of
     * BN(x)). The same results bit for bit as the separate kernels
     * (native/igemm-emu/run.sh fused), with one exception in the gradient sums: the fused backward runs at the
     * activation's place in the backward order, the separate BatchNorm/Add backward at their own. Where a value that
     * gets three or more gradients has a reader between the fusion's first node and its activation (no torchvision
     * ResNet or test net but TestNets.readerInsideAFusion does), its gradients are added in another order: the last
     * bits differ (PlanEmulatorTest shows both within the reference's tolerance).
     */
    private record Fusion(Node bn, Node add, Node act) {
        /** The node whose place in the forward order the fused launch takes: the Add, else the BatchNorm. */
        Node producer() {
            return add != null ? add : bn;
        }

        /** The Add's operand that is not the BatchNorm's output (with both present). */
        String other() {
            return add.input(0).equals(bn.output()) ? add.input(1) : add.input(0);
        }

        /** "Relu(BatchNormalization(x))", "Relu(Add(a))", "Relu(Add(BatchNormalization(x)))" (for dry plans). */
        String describe() {
            String inner = bn == null ? add.input(0) : bn.op().onnxType() + "(" + bn.input(0) + ")";
            return act.op().onnxType() + "(" + (add == null ? inner : "Add(" + inner + ")") + ")";
        }
    }

    /** Every node of a fusion (its BatchNorm, Add and activation), mapped to the fusion. */
    private final Map<Node, Fusion> fusions = new IdentityHashMap<>();
    /** The fusions with a BatchNorm, by the value it reads (one BatchNorm, hence one fusion, per tapped value). */
    private final Map<String, Fusion> fusionByBatchNormInput = new HashMap<>();

    /**
     * System property {@value}, read when a distiller is planned: {@code false} plans every BatchNorm, Add and activation
     * as its own kernel each way (as before the fused kernels), for comparing the two on a device (the same results).
     */
    public static final String FUSE_PROPERTY = "zeroq.distill.fuse";

    /**
     * Fuses each BatchNorm of a value, and each Add of two different values of its output's shape, whose only reader is
     * a ReLU or Clip (and that is no tap and not the graph output); and into such an Add a BatchNorm that only it reads,
     * unless that BatchNorm's input is the Add's other operand (one kernel would then write one gradient twice).
     */
    private void fuseActivations(List<Node> nodes) {
        if ("false".equals(System.getProperty(FUSE_PROPERTY))) return;
        Map<String, List<Node>> readers = new HashMap<>();
        for (Node n : nodes) for (String in : n.inputs()) readers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
        Map<String, Node> producers = new HashMap<>();
        for (Node n : nodes) producers.put(n.output(), n);
        for (Node n : nodes) {
            Node act = soleReader(n, readers);
            if (!fusable(n) || act == null || !(act.op() instanceof Op.Unary u)
                    || !(u.fn() instanceof Activation.Relu || u.fn() instanceof Activation.Clip) || act.inputs().size() != 1) {
                continue;
            }
            Node bn = n.op() instanceof Op.BatchNorm ? n : null, add = bn == null ? n : null;
            for (int k = 0; add != null && k < 2; k++) {
                Node b = producers.get(add.input(k));
                if (b != null && b.op() instanceof Op.BatchNorm && isValue(b.input(0)) && soleReader(b, readers) == add
                        && !root(b.input(0)).equals(root(add.input(1 - k)))) {
                    bn = b;
                    break;
                }
            }
            Fusion f = new Fusion(bn, add, act);
            for (Node member : new Node[] {bn, add, act}) if (member != null) fusions.put(member, f);
            if (bn != null) fusionByBatchNormInput.put(bn.input(0), f);
        }
    }

    /** The one planned node that reads {@code n}'s output, or null (other readers, a tap, or the graph output). */
    private Node soleReader(Node n, Map<String, List<Node>> readers) {
        String y = n.output();
        List<Node> r = readers.getOrDefault(y, List.of());
        return r.size() == 1 && !targets.containsKey(y) && !y.equals(graph.outputName()) ? r.getFirst() : null;
    }

    /** A BatchNorm of a value, or an Add of two different values that both have its output's shape. */
    private boolean fusable(Node n) {
        return switch (n.op()) {
            case Op.BatchNorm b -> isValue(n.input(0));
            case Op.Binary b -> b.kind() == BinaryOp.ADD && n.inputs().size() == 2 && isValue(n.input(0))
                    && isValue(n.input(1)) && !root(n.input(0)).equals(root(n.input(1)))
                    && Arrays.equals(shapeOf(n.input(0)), shapes.get(n.output()))
                    && Arrays.equals(shapeOf(n.input(1)), shapes.get(n.output()));
            default -> false;
        };
    }

    private void fusedForward(Fusion f) {
        float[] ab = DevicePlan.activationArgs(((Op.Unary) f.act().op()).fn());
        int[] os = shapes.get(f.act().output());
        int total = size(os), ch = os[1], hw = total / (os[0] * ch);
        At out = At.of(value(f.act().output()));
        Node bn = f.bn();
        if (f.add() == null) {
            launch("batchnorm_activation", grid1d(total), block(), operand(bn.input(0)), operand(bn.input(1)),
                    operand(bn.input(2)), operand(bn.input(3)), inverseStd(bn), out, total,
                    ch, hw, (int) ab[2], ab[0], ab[1]);
        } else if (bn == null) {
            launch("add_activation", grid1d(Math.ceilDiv(total, 4)), block(), operand(f.add().input(0)),
                    operand(f.add().input(1)), out, total, (int) ab[2], ab[0], ab[1]);
        } else {
            launch("batchnorm_add_activation", grid1d(total), block(), operand(bn.input(0)), operand(bn.input(1)),
                    operand(bn.input(2)), operand(bn.input(3)), inverseStd(bn),
                    operand(f.other()), out, total, ch, hw, (int) ab[2], ab[0], ab[1]);
        }
    }

    /**
     * The gradients of the fusion's inputs from its activation's, each written or added to as the separate kernels
     * would (in the Add's input order; the BatchNorm's input after its tap's gradient).
     */
    private void fusedBackward(Fusion f) {
        float[] ab = DevicePlan.activationArgs(((Op.Unary) f.act().op()).fn());
        int[] os = shapes.get(f.act().output());
        int total = size(os), ch = os[1], hw = total / (os[0] * ch);
        At z = operand(f.act().output()), dz = At.of(grad(f.act().output()));
        Node bn = f.bn();
        if (f.add() == null) {
            Region gx = grad(bn.input(0));
            At[] stat = takeDeferred(bn.input(0));
            // With the BatchNorm's input read for its statistics gradient, f' comes from it instead of from z.
            boolean fromX = stat[0] != null;
            launch("activation_batchnorm_backward", grid1d(total), block(), fromX ? null : z, dz,
                    At.of(uploadFloats(batchNormGradientScale(bn))), At.of(gx), total, ch, hw, (int) ab[2], ab[0], ab[1],
                    writeFlag(gx), stat[0], stat[1], fromX ? operand(bn.input(1)) : null,
                    fromX ? operand(bn.input(2)) : null, fromX ? operand(bn.input(3)) : null,
                    fromX ? inverseStd(bn) : null);
        } else if (bn == null) {
            Region ga = grad(f.add().input(0)), gb = grad(f.add().input(1));
            int accA = writeFlag(ga), accB = writeFlag(gb);
            launch("activation_add_backward", grid1d(Math.ceilDiv(total, 4)), block(), z, dz, At.of(ga), At.of(gb), total,
                    (int) ab[2], ab[0], ab[1], accA, accB);
        } else {
            Region gOther = grad(f.other()), gx = grad(bn.input(0));
            int accOther = writeFlag(gOther), accX = writeFlag(gx);
            At[] stat = takeDeferred(bn.input(0));
            launch("activation_add_batchnorm_backward", grid1d(total), block(), z, dz,
                    At.of(uploadFloats(batchNormGradientScale(bn))), At.of(gOther), At.of(gx), total, ch, hw, (int) ab[2],
                    ab[0], ab[1], accOther, accX, stat[0], stat[1]);
        }
    }

    /**
     * inv[c] = 1/sqrt(var[c] + eps) of BatchNorm {@code bn} on the device, rounded as batchnorm_inference rounds it per
     * element (float sum, IEEE ops): uploaded once, however many launches (forward, statistics, backward) read it.
     */
    private At inverseStd(Node bn) {
        return At.of(inverseStds.computeIfAbsent(bn, b -> {
            float eps = ((Op.BatchNorm) b.op()).epsilon();
            float[] var = graph.param(b.input(4)).data();
            float[] inv = new float[var.length];
            for (int c = 0; c < inv.length; c++) inv[c] = 1.0f / (float) Math.sqrt(var[c] + eps);
            return uploadFloats(inv);
        }));
    }

    private final Map<Node, Region> inverseStds = new IdentityHashMap<>();

    /** k[c] = scale[c]/sqrt(var[c] + eps), the BatchNorm's dx/dy, rounded as Gradients.batchNormBackward. */
    private float[] batchNormGradientScale(Node bn) {
        float[] scale = graph.param(bn.input(1)).data(), var = graph.param(bn.input(4)).data();
        float[] k = new float[scale.length];
        for (int ch = 0; ch < k.length; ch++) {
            k[ch] = (float) (scale[ch] / Math.sqrt((double) var[ch] + ((Op.BatchNorm) bn.op()).epsilon()));
        }
        return k;
    }

    private Pending adamPending;
    private Region inputRegion, inputGradRegion, lossRegion, hpRegion;

    private void allocateAndUpload() {
        convs = ConvChoice.open(options.cudnn(), options.tf32(), context, stream, "iteration");
        if (options.cudnn() != Cudnn.OFF) setup.lap("cuDNN start");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pp = a.allocate(ValueLayout.ADDRESS);
            Cuda.check("cuMemAllocHost_v2(32 bytes)", cuda_h.cuMemAllocHost_v2(pp, 32));
            pinned = Cuda.readPointer(pp).reinterpret(32);
        }
        // cuDNN's algorithm search runs beside the weights' reordering and upload, once the pool has its memory; the
        // uploads then go through this distiller's stream alone (see DevicePlan.allocate).
        List<DevicePlan.ConvCall> calls = p.pending.stream().map(Pending::cudnn).filter(Objects::nonNull).toList();
        pool = p.allocate(context, stream, () -> convs.searchAhead(context, calls));
        setup.lap("pool and weights");
        for (Pending q : p.pending) {
            DeviceStep step = convs.step(p.prepare(module, arena, q), q.cudnn(), p);
            (q.into() == null ? lossSteps : q.into()).add(step);
        }
        convs.decide();
        convSummary = convs.summary();
        adamStep = p.prepare(module, arena, adamPending);
        setup.lap("launches", convs.setupNanos());
        inputAddr = p.address(inputRegion);
        inputGradAddr = p.address(inputGradRegion);
        lossAddr = p.address(lossRegion);
        hpAddr = p.address(hpRegion);
    }

    // ---- planning helpers shared with CudaForward (DevicePlan) ----

    private void forward(Node n) {
        p.forward(n);
    }

    private IgemmLayout.Kernel convKernel(int m, int k, long pixels, int slices) {
        return p.convKernel(m, k, pixels, slices);
    }

    private void gemm(Object a, Object b, Object c, Object out, int m, int n, int k, int sAi, int sAk, int sBk, int sBj,
                      int sCi, int sCj, float alpha, float beta) {
        p.gemm(a, b, c, out, m, n, k, sAi, sAk, sBk, sBj, sCi, sCj, alpha, beta);
    }

    private String root(String name) {
        return p.root(name);
    }

    private boolean isValue(String name) {
        return p.isValue(name);
    }

    private Region value(String name) {
        return p.value(name);
    }

    private At operand(String name) {
        return p.operand(name);
    }

    private Region param(String name) {
        return p.param(name);
    }

    private int[] shapeOf(String name) {
        return p.shapeOf(name);
    }

    private Region region(long bytes) {
        return p.region(bytes);
    }

    private Region floats(long count) {
        return p.floats(count);
    }

    private Region uploadFloats(float[] data) {
        return p.uploadFloats(data);
    }

    private Region uploadInts(int[] data) {
        return p.uploadInts(data);
    }

    private void launch(String kernel, int[] grid, int[] block, Object... args) {
        p.launch(kernel, grid, block, args);
    }

    private static float[] activationArgs(Activation f) {
        return DevicePlan.activationArgs(f);
    }

    private static int gridX(long blocks) {
        return DevicePlan.gridX(blocks);
    }

    private static int[] grid1d(long n) {
        return DevicePlan.grid1d(n);
    }

    private static int[] block() {
        return DevicePlan.block();
    }

    private static int size(int[] shape) {
        return DevicePlan.size(shape);
    }

    private static int[] pad(int[] v, int fill) {
        return DevicePlan.pad(v, fill);
    }

    // ---- taps ----

    /** The largest H·W that the warp-per-plane statistics kernels take (BNSTAT_WARP_MAX_HW in kernels/bn_stat_reduce.cuh). */
    static final int BN_STAT_WARP_MAX_HW = 1024;

    private void tap(String name) {
        List<float[][]> t = targets.get(name);
        if (t == null) return;
        int[] xs = shapes.get(name);
        int nb = xs[0], c = xs[1];
        int hw = size(xs) / Math.multiplyExact(nb, c);
        Region gr = grad(name);
        for (float[][] mu : t) {
            if (mu[0].length != c) {
                throw ZeroqException.badInput("BatchNorm statistics of '" + name + "' have " + mu[0].length + " channels, the value has " + c);
            }
            long planes = Math.multiplyExact((long) nb, c);
            taps++;
            // One tap of a value with no gradient yet: its gradient waits for the backward pass (kernels/bn_stat.cuh).
            // Not a second one on the same gradient (a tapped alias, e.g. Identity or Flatten of a tapped value).
            boolean defer = t.size() == 1 && !written.contains(gr) && !deferred.containsKey(gr)
                    && !"false".equals(System.getProperty(DEFER_PROPERTY));
            Region coef = defer ? region(Math.multiplyExact(planes, 3L * Double.BYTES)) : null;
            int acc = defer ? 0 : writeFlag(gr);
            // Small planes: a warp each (8 to a block) instead of a block of 256 threads each (kernels/bn_stat.cuh).
            boolean warp = hw <= BN_STAT_WARP_MAX_HW;
            int[] grid = {gridX(warp ? Math.ceilDiv(planes, DevicePlan.THREADS / 32) : planes), 1, 1};
            At partial = new At(partials, Math.multiplyExact(partialCount, Double.BYTES));
            Fusion f = defer ? fusedForwardOf(name) : null;
            if (f != null) {
                // The fused BatchNorm forward that reads this value, in the same pass over it (its operands exist).
                Node bn = f.bn();
                float[] ab = DevicePlan.activationArgs(((Op.Unary) f.act().op()).fn());
                launch(warp ? "bn_stat_batchnorm_activation_warp" : "bn_stat_batchnorm_activation", grid, block(),
                        operand(name), At.of(uploadFloats(mu[0])), At.of(uploadFloats(mu[1])), partial, At.of(coef), nb, c,
                        hw, Distiller.EPS, operand(bn.input(1)), operand(bn.input(2)), operand(bn.input(3)),
                        inverseStd(bn), f.add() == null ? null : operand(f.other()),
                        At.of(value(f.act().output())), (int) ab[2], ab[0], ab[1]);
                forwardWithStatistics.add(f);
            } else {
                launch(warp ? "bn_stat_loss_warp" : "bn_stat_loss", grid, block(), operand(name),
                        At.of(uploadFloats(mu[0])), At.of(uploadFloats(mu[1])), defer ? null : At.of(gr), partial, nb, c,
                        hw, Distiller.EPS, acc, defer ? At.of(coef) : null);
            }
            if (defer) {
                deferred.put(gr, new Deferred(name, operand(name), coef, size(xs), hw));
                deferredTaps++;
            }
            partialCount = Math.addExact(partialCount, (long) nb * c);
        }
    }

    /**
     * System property {@value}, read when a distiller is planned: {@code false} stores each BatchNorm-statistics
     * gradient during the forward pass (as before deferred gradients), for comparing the two on a device (the same
     * results where nothing else reads the BatchNorm's input, as in ResNets).
     */
    public static final String DEFER_PROPERTY = "zeroq.distill.deferStats";

    /**
     * A statistics-loss gradient not yet added to the gradient of the value {@code x} it belongs to: the planes'
     * coefficients (kernels/bn_stat.cuh). The first BatchNorm backward launch that writes that gradient adds it, or,
     * where none does before the value's producer reads its gradient, bn_stat_apply.
     */
    private record Deferred(String value, At x, Region coef, int total, int hw) {}

    /**
     * The fusion whose BatchNorm reads {@code value} and whose other operands are already produced, so that its forward
     * can run in the statistics kernel's pass over the value (kernels/bn_stat_batchnorm_activation.cu); else null.
     */
    private Fusion fusedForwardOf(String value) {
        Fusion f = fusionByBatchNormInput.get(value);
        return f != null && !forwardWithStatistics.contains(f) && (f.add() == null || p.produced(f.other())) ? f : null;
    }

    /** Fusions whose forward a statistics launch computes (kernels/bn_stat_batchnorm_activation.cu). */
    private final Set<Fusion> forwardWithStatistics = java.util.Collections.newSetFromMap(new IdentityHashMap<>());

    /** Deferred statistics gradients, by the gradient they belong to, in tap order. */
    private final Map<Region, Deferred> deferred = new LinkedHashMap<>();
    private int taps, deferredTaps, deferredApplied; // for dry plans: taps, those deferred, those added by bn_stat_apply

    /**
     * The BatchNorm input and coefficients that the backward launch of the BatchNorm reading {@code input} adds to its
     * gradient (both null: none): the deferred gradient of that gradient region, when it was tapped with the same
     * shape (its planes are the BatchNorm's); one tapped through an alias of another shape waits for bn_stat_apply.
     */
    private At[] takeDeferred(String input) {
        Region gx = grad(input);
        Deferred d = deferred.get(gx);
        if (d == null || !Arrays.equals(shapeOf(d.value()), shapeOf(input))) return new At[2];
        deferred.remove(gx);
        return new At[] {d.x(), At.of(d.coef())};
    }

    /** Adds the deferred statistics gradient of {@code value}, if one is still pending, to its gradient. */
    private void flushDeferred(String value) {
        Region gr = grads.get(root(value));
        Deferred d = gr == null ? null : deferred.remove(gr);
        if (d == null) return;
        launch("bn_stat_apply", grid1d(d.total()), block(), d.x(), At.of(d.coef()), At.of(gr), d.total(), d.hw(),
                writeFlag(gr));
        deferredApplied++;
    }

    // ---- backward ----

    private void backward(Node n) {
        String out = n.output();
        Region gy = grad(out);
        int[] os = shapes.get(out);
        switch (n.op()) {
            case Op.Flatten f -> { } // gradients alias like the values
            case Op.Reshape r -> { }
            case Op.Identity i -> { }
            case Op.Conv c -> { if (isValue(n.input(0))) convBackward(n, c.spec(), gy); }
            case Op.BatchNorm bn -> {
                if (!isValue(n.input(0))) return;
                int total = size(os), ch = os[1], hw = total / (os[0] * ch);
                Region gx = grad(n.input(0));
                At[] stat = takeDeferred(n.input(0));
                launch("batchnorm_backward", grid1d(total), block(), At.of(gy), At.of(uploadFloats(batchNormGradientScale(n))),
                        At.of(gx), total, ch, hw, writeFlag(gx), stat[0], stat[1]);
            }
            case Op.Unary u -> {
                if (!isValue(n.input(0))) return;
                float[] ab = activationArgs(u.fn());
                int total = size(os);
                Region gx = grad(n.input(0));
                launch("activation_backward", grid1d(total), block(), operand(n.input(0)), At.of(gy), At.of(gx), total,
                        (int) ab[2], ab[0], ab[1], writeFlag(gx));
            }
            case Op.Binary b -> {
                int[] sa = shapeOf(n.input(0)), sb = shapeOf(n.input(1));
                boolean needsOperands = b.kind() == BinaryOp.MUL || b.kind() == BinaryOp.DIV;
                for (int side = 0; side < 2; side++) {
                    String in = n.input(side);
                    if (!isValue(in)) continue;
                    int[] is = side == 0 ? sa : sb;
                    Region gx = grad(in);
                    int cnt = size(is);
                    // This side has the output's shape, and so does the other one where its values are read.
                    if (Arrays.equals(is, os) && (!needsOperands || (Arrays.equals(sa, os) && Arrays.equals(sb, os)))) {
                        launch("binary_backward_same", grid1d(Math.ceilDiv(cnt, 4)), block(), At.of(gy),
                                needsOperands ? operand(n.input(0)) : null, needsOperands ? operand(n.input(1)) : null,
                                At.of(gx), cnt, b.kind().ordinal(), side, writeFlag(gx));
                        continue;
                    }
                    launch("broadcast_reduce", grid1d(cnt), block(), At.of(gy),
                            needsOperands ? operand(n.input(0)) : null, needsOperands ? operand(n.input(1)) : null,
                            At.of(gx), cnt, pad(os, 1), pad(is, 1), pad(CudaBackend.broadcastStrides(sa, os), 0),
                            pad(CudaBackend.broadcastStrides(sb, os), 0), b.kind().ordinal(), side, writeFlag(gx));
                }
            }
            case Op.MaxPool p -> {
                if (!isValue(n.input(0))) return;
                int[] xs = shapes.get(n.input(0));
                PoolSpec s = p.spec();
                int[] k = s.kernel(), st = s.strides(), pd = s.pads(), d = s.dilations();
                Region gx = grad(n.input(0));
                // Each window's argmax once (int per output), then the gather reads it instead of recomputing it for
                // every pixel of the window: the same sums in the same order as maxpool2d_backward.
                Region argmax = region(Math.multiplyExact((long) size(os), Integer.BYTES));
                launch("maxpool2d_argmax", grid1d(size(os)), block(), operand(n.input(0)), At.of(argmax), xs[0] * xs[1],
                        xs[2], xs[3], os[2], os[3], k[0], k[1], st[0], st[1], pd[0], pd[1], d[0], d[1]);
                launch("maxpool2d_backward_argmax", grid1d(size(xs)), block(), At.of(argmax), At.of(gy), At.of(gx),
                        xs[0] * xs[1], xs[2], xs[3], os[2], os[3], k[0], k[1], st[0], st[1], pd[0], pd[1], d[0], d[1],
                        writeFlag(gx));
            }
            case Op.AveragePool p -> {
                if (!isValue(n.input(0))) return;
                int[] xs = shapes.get(n.input(0));
                PoolSpec s = p.spec();
                int[] k = s.kernel(), st = s.strides(), pd = s.pads();
                Region gx = grad(n.input(0));
                launch("avgpool2d_backward", grid1d(size(xs)), block(), At.of(gy), At.of(gx), xs[0] * xs[1], xs[2], xs[3],
                        os[2], os[3], k[0], k[1], st[0], st[1], pd[0], pd[1], pd[2], pd[3], s.countIncludePad() ? 1 : 0,
                        writeFlag(gx));
            }
            case Op.GlobalAveragePool gp -> {
                if (!isValue(n.input(0))) return;
                int[] xs = shapes.get(n.input(0));
                Region gx = grad(n.input(0));
                // The average pool whose window is the whole plane: dx = dy / (H·W).
                launch("avgpool2d_backward", grid1d(size(xs)), block(), At.of(gy), At.of(gx), xs[0] * xs[1], xs[2], xs[3],
                        1, 1, xs[2], xs[3], 1, 1, 0, 0, 0, 0, 0, writeFlag(gx));
            }
            case Op.Gemm gm -> {
                // dA = α·dY·op(B)ᵀ: dY (M, N) times op(B)ᵀ (N, K), op(B)ᵀ read through strides.
                int[] bs = shapeOf(n.input(1));
                int m = os[0], nn = os[1];
                int k = gm.transB() ? bs[1] : bs[0];
                Region gx = grad(n.input(0));
                int acc = writeFlag(gx);
                gemm(At.of(gy), operand(n.input(1)), acc == 1 ? At.of(gx) : null, At.of(gx), m, k, nn, nn, 1,
                        gm.transB() ? k : 1, gm.transB() ? 1 : nn, k, 1, gm.alpha(), acc == 1 ? 1f : 0f);
            }
            case Op.Concat c -> {
                int[] outStrides = Shapes.strides(os);
                int offset = 0;
                for (String in : n.inputs()) {
                    int[] is = shapeOf(in);
                    if (isValue(in)) {
                        Region gx = grad(in);
                        int cnt = size(is);
                        launch("strided_accumulate", grid1d(cnt), block(), At.of(gy), At.of(gx), cnt, pad(is, 1),
                                pad(outStrides, 0), pad(Shapes.strides(is), 0),
                                Math.multiplyExact(offset, outStrides[c.axis()]), 0, writeFlag(gx));
                    }
                    offset += is[c.axis()];
                }
            }
            default -> throw new IllegalStateException("unreachable: " + n.op().onnxType());
        }
    }

    private void convBackward(Node n, ConvSpec s, Region gy) {
        int[] xs = shapes.get(n.input(0)), os = shapes.get(n.output());
        Tensor w = graph.param(n.input(1));
        int nb = xs[0], cin = xs[1], h = xs[2], wd = xs[3];
        int cout = w.dim(0), cinG = w.dim(1), kh = w.dim(2), kw = w.dim(3), g = s.group();
        int oh = os[2], ow = os[3], coutG = cout / g;
        int[] st = s.strides(), p = s.pads(), d = s.dilations();
        Region gx = grad(n.input(0));
        int acc = writeFlag(gx);
        int k = coutG * kh * kw;
        // Sized for the 128×128 kernels' phases; for the others the choice is DIRECT or IGEMM64 whatever the count.
        IgemmLayout.Kernel kn = convKernel(cinG, k, IgemmLayout.backwardSlicePixels(IgemmLayout.Kernel.IGEMM128, nb, h, wd, st),
                Math.multiplyExact(g, st[0] * st[1]));
        if (kn != IgemmLayout.Kernel.DIRECT) {
            // The tables now, the reordered weights when the pool is filled (DevicePlan.uploadFloatsLater: in parallel).
            IgemmLayout.Backward b = IgemmLayout.backward(kn, null, g, coutG, cinG, kh, kw, nb, h, wd, oh, ow, st, p, d);
            Region wt = this.p.uploadFloatsLater(w.size(), () -> IgemmLayout.backward(kn, w.data(), g, coutG, cinG, kh,
                    kw, nb, h, wd, oh, ow, st, p, d).weights());
            if (kn.phased()) {
                launch(kn.backward, b.grid(), block(), At.of(gy), At.of(wt), At.of(uploadInts(b.ktab())),
                        At.of(uploadInts(b.phases())), At.of(gx), nb, cin, h, wd, cout, oh, ow, g, k, st[0], st[1], acc);
            } else {
                launch(kn.backward, b.grid(), block(), At.of(gy), At.of(wt), At.of(uploadInts(b.ktab())),
                        At.of(gx), nb, cin, h, wd, cout, oh, ow, g, k, st[0], st[1], p[0], p[1], acc);
            }
        } else {
            launch("conv2d_backward_data", grid1d(size(xs)), block(), At.of(gy), At.of(param(n.input(1))), At.of(gx), nb,
                    cin, h, wd, cout, oh, ow, kh, kw, st[0], st[1], p[0], p[1], d[0], d[1], g, acc);
        }
        this.p.attachCudnn(n, s, false, At.of(gx), xs, null, At.of(gy), acc == 1);
    }

    // ---- planning helpers ----

    /** 0 if this is the first write to the gradient region (the kernel stores), 1 after that (it adds). */
    private int writeFlag(Region gradRegion) {
        return written.add(gradRegion) ? 0 : 1;
    }

    private Region grad(String name) {
        return grads.computeIfAbsent(root(name), r -> floats(size(shapes.get(r))));
    }

    // ---- copies ----

    private void upload(long address, float[] data) {
        context.makeCurrent();
        DeviceBuffer.uploadFloats(address, data);
        // The synchronous copy orders against the legacy stream only; ours is non-blocking, so wait for the device.
        context.synchronize();
    }

    private void download(long address, float[] dst) {
        context.makeCurrent();
        stream.synchronize();
        DeviceBuffer.downloadFloats(address, dst);
    }

    @Override
    public void close() {
        context.makeCurrent();
        RuntimeException first = null;
        List<Runnable> steps = new ArrayList<>();
        if (graphExec != null) {
            MemorySegment e = graphExec;
            steps.add(() -> Cuda.check("cuGraphExecDestroy", cuda_h.cuGraphExecDestroy(e)));
        }
        if (graphHandle != null) {
            MemorySegment g = graphHandle;
            steps.add(() -> Cuda.check("cuGraphDestroy", cuda_h.cuGraphDestroy(g)));
        }
        if (convs != null) {
            steps.add(convs::close); // before the stream its cuDNN handle is bound to
        }
        steps.add(() -> { if (stream != null) stream.close(); });
        if (pinned != null) {
            MemorySegment p = pinned;
            steps.add(() -> Cuda.check("cuMemFreeHost", cuda_h.cuMemFreeHost(p)));
        }
        steps.add(() -> { if (pool != null) pool.close(); });
        steps.add(() -> { if (module != null) module.close(); });
        steps.add(arena::close);
        steps.add(context::close);
        graphExec = null;
        graphHandle = null;
        pinned = null;
        convs = null;
        for (Runnable r : steps) {
            try {
                r.run();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }
}
