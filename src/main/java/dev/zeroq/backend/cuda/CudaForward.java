// A graph's forward pass kept on one CUDA device for the ZeroQ calibration and sensitivity passes: planned once
// for a maximum batch (one pool, parameters uploaded once, prepared launches), then each run uploads the images,
// optionally fake-quantizes chosen values in place as they are produced, and downloads only the logits (or, for a
// sensitivity pass, only their mean KL against reference logits kept on the device).
package dev.zeroq.backend.cuda;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.cuda.DevicePlan.Region;
import dev.zeroq.bindings.cuda.cuda_h;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.graph.Op;
import dev.zeroq.graph.ShapeInference;
import dev.zeroq.quant.AffineParams;
import dev.zeroq.quant.Clipping;
import dev.zeroq.quant.SymmetricQuantizer;
import dev.zeroq.tensor.Shapes;
import dev.zeroq.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Device-resident forward pass of a graph for up to {@code maxBatch} images. The constructor plans every node (as
 * {@link dev.zeroq.graph.Executor} runs them all), lays out one device allocation and uploads the parameters; runs
 * allocate nothing on the device. Outputs match the Executor on the CPU up to float summation order.
 *
 * <p>Supported: Conv, BatchNormalization, the activations, Add/Sub/Mul/Div, MaxPool, AveragePool,
 * GlobalAveragePool, ReduceMean over H and W, Flatten, Reshape, Identity, Gemm, rank-2 MatMul, Concat. Anything
 * else: {@link #unsupported(Graph)} lists it and the constructor throws a {@link ZeroqException} naming it, so the
 * caller can fall back to the Executor. Not thread-safe.
 *
 * <p>Reductions that answer with a few bytes instead of a download: a site value's min/max and percentile range
 * ({@link SiteValue}), and a pass's mean KL against reference logits kept on the device ({@link #setReference},
 * {@link #klDivergence}).
 *
 * <p>Example: {@code try (CudaForward f = new CudaForward(g, 32, 0)) { Tensor logits = f.run(images); }}
 */
public final class CudaForward implements AutoCloseable {
    /** How a quantized value is rounded to its grid, with the host twin that the kernels reproduce bit for bit. */
    public sealed interface FakeQuantSpec {
        /** The paper scheme's affine quantizer (inverse step, zero point, bits): kernel fake_quant_affine. */
        record Affine(AffineParams params) implements FakeQuantSpec {}

        /** The deploy scheme's activation quantizer (scale, zero point, bits): kernel fake_quant_uint8. */
        record Deploy(SymmetricQuantizer.ActivationParams params) implements FakeQuantSpec {}

        /** What the host computes for one value (the reference of the kernels). */
        default float apply(float x) {
            return switch (this) {
                case Affine a -> a.params().fakeQuant(x);
                case Deploy d -> d.params().fakeQuant(x);
            };
        }
    }

    /** A value as it is produced during a run: its reduction or a copy, on demand. */
    public interface SiteValue {
        /** The value's name (a node output, or the graph input). */
        String name();

        /** {min, max} over the images of this run, reduced on the device (8 bytes come back). Non-finite: throws. */
        float[] minMax();

        /** Elements of the value for the images of this run. */
        long size();

        /**
         * {@link Clipping#percentileByHistogram} of the value for the images of this run, from the device min/max
         * and histogram (8 bytes and 16 KiB come back): the range {@link Clipping#percentile} gives above
         * {@link Clipping#EXACT_PERCENTILE_LIMIT} elements. Non-finite elements throw.
         */
        Clipping.Range percentileRange(double percentile, boolean symmetric);

        /** A host copy of the value for the images of this run (for exact percentile or MSE clipping). */
        Tensor download();
    }

    /** Decides, for each site value, how to fake-quantize it in place; null leaves it as it is. */
    @FunctionalInterface
    public interface SiteHandler {
        FakeQuantSpec at(SiteValue value);
    }

    /** One node's launches (kernels, or a convolution on cuDNN) and the value it produces, in run order. */
    private record Step(String output, List<DeviceStep> launches) {}

    private final Graph graph;
    private final int maxBatch;
    private final Map<String, int[]> shapes;
    private final DevicePlan plan;
    private final boolean batchMajor; // every value has the batch as dimension 0: a smaller batch is a prefix
    private final List<List<DevicePlan.Pending>> pendingByNode = new ArrayList<>();
    private final List<Step> steps = new ArrayList<>();
    private final CudaContext context;
    private final CudaModule module;
    private final CudaStream stream;
    private final Arena arena = Arena.ofShared(); // prepared kernel arguments, alive as long as this object
    private ConvChoice convs; // the cuDNN handle, if any, and the choice of each convolution step
    private DeviceBuffer pool;
    private Region reductionScratch; // DeviceReductions' scratch
    private Region reference; // reference logits of klDivergence, uploaded by setReference
    private int[] referenceShape; // null until setReference
    private DeviceReductions reductions;
    /**
     * What the pool's values hold, for {@link #klDivergenceAgain}: a plain pass (no value fake-quantized) over
     * {@code imagesHeld} images (0: none to repeat), exact for the parameters as they are now up to step
     * {@code validSteps} (a replaced or restored parameter lowers it to the first step that reads it).
     */
    private int imagesHeld;
    private int validSteps;
    /**
     * How a replaced parameter reaches every place the plan keeps it: uploaded into {@code into} (its place as stored,
     * or {@link #swapScratch} when every place reorders it), then one strided_copy per reordered place ({@code copies}),
     * so a replacement needs no reordering on the host.
     */
    private record Swap(Region into, List<DevicePlan.Pending> copies) {}

    private final Map<String, Swap> swaps = new java.util.HashMap<>();
    private Region swapScratch; // a replacement of a parameter the plan keeps only reordered
    private final Map<DevicePlan.Pending, DeviceStep> preparedCopies = new java.util.HashMap<>();
    private MemorySegment staging; // pinned host memory a replacement is copied through, grown as needed

    /** Opens device {@code ordinal}, plans the forward pass for up to {@code maxBatch} images and uploads the weights. */
    public CudaForward(Graph graph, int maxBatch, int ordinal) {
        this(graph, maxBatch, ordinal, false);
    }

    /**
     * As {@link #CudaForward(Graph, int, int)}; with {@code tf32} the convolutions that use the 128×128 implicit GEMM
     * run on its TF32 tensor-core twin (opt-in, --tf32; strict FP32 otherwise).
     */
    public CudaForward(Graph graph, int maxBatch, int ordinal, boolean tf32) {
        this(graph, maxBatch, ordinal, tf32, CudaDistiller.Cudnn.OFF);
    }

    /**
     * As {@link #CudaForward(Graph, int, int, boolean)}, with the convolutions that cuDNN can run on it as
     * {@code cudnn} says: OFF none, FASTEST each where it was faster when timed at setup (timings and cuDNN's
     * algorithm choices are kept for the process, so a second pass over the same shapes times nothing), ALWAYS all
     * (a ZeroqException when cuDNN cannot load). cuDNN runs in the same math as the rest: strict FP32, or TF32 with
     * {@code tf32}. {@link #convSummary()} says what was chosen.
     */
    public CudaForward(Graph graph, int maxBatch, int ordinal, boolean tf32, CudaDistiller.Cudnn cudnn) {
        this(graph, maxBatch, tf32, cudnn, () -> DeviceHandles.open(ordinal, "CUDA forward", true));
    }

    /** Strict FP32 on the given handles (JCudaInterop's borrowed context and stream), or plan only when null. */
    CudaForward(Graph graph, int maxBatch, Supplier<DeviceHandles> handles) {
        this(graph, maxBatch, false, CudaDistiller.Cudnn.OFF, handles);
    }

    /**
     * Plans, then (with non-null {@code handles}) opens them, allocates the pool, uploads and prepares every launch.
     * The handles are opened only once planning has succeeded; close() closes them as each says (a borrowed context
     * or stream, JCudaInterop's, is only forgotten).
     */
    private CudaForward(Graph graph, int maxBatch, boolean tf32, CudaDistiller.Cudnn cudnn,
                        Supplier<DeviceHandles> handles) {
        if (maxBatch < 1) throw ZeroqException.badInput("batch must be at least 1, got " + maxBatch);
        if (cudnn == null) throw new IllegalArgumentException("cudnn use is null");
        List<String> bad = unsupported(graph);
        if (!bad.isEmpty()) {
            throw ZeroqException.badInput("the CUDA forward pass does not support " + String.join(", ", bad)
                    + "; run it with the Executor instead");
        }
        this.graph = graph;
        this.maxBatch = maxBatch;
        ConvChoice.checkUsable(cudnn);
        try {
            this.shapes = ShapeInference.infer(graph, maxBatch);
            this.plan = new DevicePlan(graph, shapes, CudaDistiller.ConvAlgorithm.AUTO, tf32, true);
            // On a device, only when cuDNN loads: each alternative keeps a copy of its weights in the graph's layout.
            plan.cudnnAlternatives = cudnn != CudaDistiller.Cudnn.OFF
                    && (handles == null || CudnnConv.available().usable());
            this.batchMajor = batchMajor(graph, shapes, maxBatch);
            planAll();
        } catch (ArithmeticException e) {
            // The kernels count a tensor's elements in 32 bits: a batch beyond that is refused like one beyond memory.
            throw ZeroqException.badInput(String.format(java.util.Locale.ROOT, "the device-resident pass of '%s' for a "
                    + "batch of %d image(s) is too large for the CUDA kernels (%s; about %.3f GiB of device memory); "
                    + "use a smaller batch", graph.name(), maxBatch, DevicePlan.tooLarge(e),
                    extrapolatedPoolBytes(graph, maxBatch) / (double) (1L << 30)), e);
        }
        if (handles == null) {
            this.context = null;
            this.module = null;
            this.stream = null;
            return;
        }
        DeviceHandles h = handles.get();
        this.context = h.context();
        this.module = h.module();
        this.stream = h.stream();
        try {
            pool = plan.allocate(context);
            convs = ConvChoice.open(cudnn, tf32, context, stream, "pass");
            for (int i = 0; i < pendingByNode.size(); i++) {
                List<DeviceStep> launches = new ArrayList<>();
                for (DevicePlan.Pending p : pendingByNode.get(i)) {
                    launches.add(convs.step(plan.prepare(module, arena, p), p.cudnn(), plan));
                }
                steps.add(new Step(graph.nodes().get(i).output(), launches));
            }
            convs.decide();
            reductions = new DeviceReductions(module, stream, plan.address(reductionScratch), maxRows());
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * Whether every value (input and node outputs) has the batch as dimension 0 and nothing else depends on it, so
     * that the first n images of a run are a prefix of each value: compared against the shapes at another batch.
     */
    private static boolean batchMajor(Graph graph, Map<String, int[]> shapes, int maxBatch) {
        Map<String, int[]> other = ShapeInference.infer(graph, maxBatch + 1);
        List<String> names = new ArrayList<>();
        names.add(graph.inputName());
        for (Node n : graph.nodes()) names.addAll(n.outputs());
        for (String v : names) {
            int[] a = shapes.get(v), b = other.get(v);
            if (a.length == 0 || a[0] != maxBatch || b[0] != maxBatch + 1
                    || !Arrays.equals(a, 1, a.length, b, 1, b.length)) {
                return false;
            }
        }
        return true;
    }

    private void planAll() {
        plan.value(graph.inputName());
        for (Node n : graph.nodes()) {
            int before = plan.pending.size();
            plan.forward(n);
            pendingByNode.add(List.copyOf(plan.pending.subList(before, plan.pending.size())));
        }
        // Scratch of the site and KL reductions, and room for the reference logits of the sensitivity passes.
        reductionScratch = plan.region(DeviceReductions.scratchBytes(maxRows()));
        reference = plan.floats(Shapes.size(shapes.get(graph.outputName())));
        swapScratch = plan.floats(plan.reorderedOnlyFloats());
    }

    /** How a replacement of parameter {@code name} is written (planned on first use; empty when no launch reads it). */
    private Swap swap(String name) {
        return swaps.computeIfAbsent(name, k -> {
            List<DevicePlan.ParamUse> uses = plan.paramUses(k);
            Region into = uses.stream().filter(u -> u.reorder() == null).map(DevicePlan.ParamUse::region).findFirst()
                    .orElse(swapScratch);
            List<DevicePlan.Pending> copies = new ArrayList<>();
            for (DevicePlan.ParamUse u : uses) {
                DevicePlan.Reorder r = u.reorder();
                if (r == null) continue;
                copies.add(new DevicePlan.Pending(null, "strided_copy", DevicePlan.grid1d(r.count()), DevicePlan.block(),
                        new Object[] {DevicePlan.At.of(into), DevicePlan.At.of(u.region()), r.count(),
                                DevicePlan.pad(r.dims(), 1), DevicePlan.pad(r.srcStrides(), 0),
                                DevicePlan.pad(r.dstStrides(), 0), 0, 0}));
            }
            return new Swap(uses.isEmpty() ? null : into, copies);
        });
    }

    /** Rows of the logits at the planned batch (dimension 0 of the output), the most a KL pass can have. */
    private int maxRows() {
        int[] s = shapes.get(graph.outputName());
        return s.length == 0 ? 1 : Math.max(s[0], 1);
    }

    /**
     * Plans without a device (tests on machines with no GPU): returns "launches L, pool B bytes, regions R"; throws as
     * the constructor would for unsupported graphs.
     */
    static String dryPlan(Graph graph, int maxBatch) {
        CudaForward f = new CudaForward(graph, maxBatch, null);
        long total = f.plan.layout();
        return "launches " + f.plan.pending.size() + ", pool " + total + " bytes, regions " + f.plan.regions.size();
    }

    /**
     * For tests without a GPU: the planned launches run in order through {@code launcher} (a CPU emulation of the
     * kernels) on a host copy of the pool. Returns three outputs for {@code input} (exactly the planned batch): a whole
     * pass; then, with parameter {@code param} replaced by {@code value} (uploaded into every place the plan keeps it,
     * in each place's layout), a repeat of only the nodes from its first reader on, as {@link #klDivergenceAgain} runs
     * them; then a whole pass again.
     */
    static float[][] emulateRepeat(Graph graph, Tensor input, String param, Tensor value, DevicePlan.HostLauncher launcher) {
        CudaForward f = new CudaForward(graph, input.dim(0), null);
        if (!Arrays.equals(input.shape(), f.shapes.get(graph.inputName()))) {
            throw new IllegalArgumentException("input " + Arrays.toString(input.shape()));
        }
        try (Arena arena = Arena.ofConfined()) {
            DevicePlan p = f.plan;
            p.allocateHost(arena);
            MemorySegment.copy(input.data(), 0, p.hostRegion(p.planned(graph.inputName())), ValueLayout.JAVA_FLOAT, 0,
                    input.size());
            float[][] results = new float[3][];
            for (int pass = 0; pass < 3; pass++) {
                if (pass == 1) { // as uploadParam: the values into one place, reordered from there by the planned copies
                    Swap sw = f.swap(param);
                    if (sw.into() != null) {
                        MemorySegment.copy(value.data(), 0, p.hostRegion(sw.into()), ValueLayout.JAVA_FLOAT, 0, value.size());
                    }
                    for (DevicePlan.Pending q : sw.copies()) launcher.launch(q.kernel(), q.grid(), q.block(), p.resolved(q));
                }
                for (int i = pass == 1 ? f.firstStepReading(param) : 0; i < f.pendingByNode.size(); i++) {
                    for (DevicePlan.Pending q : f.pendingByNode.get(i)) launcher.launch(q.kernel(), q.grid(), q.block(), p.resolved(q));
                }
                results[pass] = p.hostRegion(p.planned(graph.outputName())).toArray(ValueLayout.JAVA_FLOAT);
            }
            return results;
        }
    }

    /** The plan of a pass whose convolutions may go to cuDNN ({@code cudnn}), made without a device: for tests. */
    static DevicePlan dryPlan(Graph graph, int maxBatch, CudaDistiller.Cudnn cudnn) {
        return new CudaForward(graph, maxBatch, false, cudnn, null).plan;
    }

    /** Every launch {@link #dryPlan} plans, for tests. */
    static List<DevicePlan.Pending> dryLaunches(Graph graph, int maxBatch) {
        return List.copyOf(new CudaForward(graph, maxBatch, null).plan.pending);
    }

    /**
     * Bytes of the one pool a pass of {@code graph} for {@code maxBatch} images allocates, planned without a device
     * (the constructor checks the same figure against free memory before it allocates).
     */
    public static long plannedPoolBytes(Graph graph, int maxBatch) {
        try {
            return new CudaForward(graph, maxBatch, null).plan.layout();
        } catch (ZeroqException e) {
            if (!(e.getCause() instanceof ArithmeticException)) throw e;
            return extrapolatedPoolBytes(graph, maxBatch); // what a memory check then compares
        }
    }

    /**
     * The pool of a batch too large to plan (32-bit element counts), extrapolated from batches 1 and 2: the pool
     * grows linearly with the batch but for its regions' alignment (saturating at Long.MAX_VALUE).
     */
    private static long extrapolatedPoolBytes(Graph graph, int maxBatch) {
        long one = new CudaForward(graph, 1, null).plan.layout();
        long perImage = new CudaForward(graph, 2, null).plan.layout() - one;
        long rest = Math.multiplyHigh(perImage, maxBatch - 1L) != 0 ? Long.MAX_VALUE : perImage * (maxBatch - 1L);
        return rest > Long.MAX_VALUE - one ? Long.MAX_VALUE : one + rest;
    }

    /** The nodes of {@code graph} this class cannot run, as "Op (node 'name')"; empty when the whole graph runs. */
    public static List<String> unsupported(Graph graph) {
        Map<String, int[]> s;
        try {
            s = ShapeInference.infer(graph, 1);
        } catch (RuntimeException e) {
            return List.of("shape inference (" + e.getMessage() + ")");
        }
        List<String> bad = new ArrayList<>();
        for (Node n : graph.nodes()) {
            boolean ok = n.outputs().size() == 1 && switch (n.op()) {
                case Op.Conv c -> graph.isParam(n.input(1)) && graph.param(n.input(1)).rank() == 4
                        && !graph.isParam(n.input(0));
                case Op.BatchNorm b -> !graph.isParam(n.input(0));
                case Op.Unary u -> !graph.isParam(n.input(0));
                case Op.Binary b -> true;
                case Op.MaxPool p -> true;
                case Op.AveragePool p -> true;
                case Op.GlobalAveragePool g -> true;
                case Op.ReduceMean r -> rank(s, n.input(0)) == 4 && overHeightAndWidth(r.axes());
                case Op.Flatten f -> !graph.isParam(n.input(0));
                case Op.Reshape r -> !graph.isParam(n.input(0));
                case Op.Identity i -> !graph.isParam(n.input(0));
                case Op.Gemm g -> rank(s, n.input(0)) == 2 && rank(s, n.input(1)) == 2;
                case Op.MatMul m -> rank(s, n.input(0)) == 2 && rank(s, n.input(1)) == 2;
                case Op.Concat c -> true;
                default -> false;
            };
            if (!ok) bad.add(n.op().onnxType() + " (node '" + n.name() + "')");
        }
        return bad;
    }

    private static int rank(Map<String, int[]> shapes, String value) {
        int[] s = shapes.get(value);
        return s == null ? -1 : s.length;
    }

    private static boolean overHeightAndWidth(int[] axes) {
        if (axes == null || axes.length != 2) return false;
        int[] a = axes.clone();
        for (int i = 0; i < a.length; i++) a[i] = a[i] < 0 ? a[i] + 4 : a[i];
        Arrays.sort(a);
        return a[0] == 2 && a[1] == 3;
    }

    public int maxBatch() {
        return maxBatch;
    }

    /**
     * Where the convolutions run: "convolutions on zeroq's kernels" (and why not on cuDNN, where it was asked for), or
     * "convolutions on cuDNN (STRICT_FP32): 40 of 53 forward steps, the faster at setup (…)".
     */
    public String convSummary() {
        return convs == null ? "convolutions on zeroq's kernels" : convs.summary();
    }

    /** Bytes of the one device allocation holding parameters, values and scratch. */
    public long poolBytes() {
        return pool.bytes();
    }

    /**
     * Float arrays moved between the Java heap and any device buffer through a native staging copy, so far, in this
     * process (for tests: a run from and to native memory must make none).
     */
    public static long heapStagings() {
        return DeviceBuffer.heapStagings();
    }

    /** cuMemAlloc calls made so far by this process (for tests: runs must make none). */
    public static long deviceAllocations() {
        return DeviceBuffer.allocations();
    }

    // ---- running ----

    /** The graph's output for a batch of at most {@link #maxBatch()} images, as the Executor computes it. */
    public Tensor run(Tensor input) {
        return run(input, v -> null, Set.of());
    }

    /**
     * A forward pass in which every value named in {@code sites} (node outputs, or the graph input), as soon as it is
     * produced and before any node reads it, goes to {@code handler}; a non-null answer fake-quantizes it in place,
     * so every later reader sees the quantized value (as an {@link dev.zeroq.graph.Executor.Hook} replacing it).
     * Names that are no value of the graph are ignored, as the Executor never produces them.
     */
    public Tensor run(Tensor input, SiteHandler handler, Set<String> sites) {
        int n = forward(input, handler, sites);
        return download(graph.outputName(), n);
    }

    /**
     * As {@link #run(Tensor)} for {@code n} images read from native memory {@code input} (NCHW floats in native byte
     * order, at least {@link #inputBytes(int)}) into native memory {@code output} (at least {@link #outputBytes(int)},
     * row-major floats): one copy from {@code input} to the device and one from the device to {@code output}, none
     * through the Java heap. The two may be the same memory (the input is on the device before anything is written).
     */
    public void run(MemorySegment input, int n, MemorySegment output) {
        int[] want = graph.inputShape();
        checkInput(new int[] {n, want[0], want[1], want[2]});
        long in = inputBytes(n), out = outputBytes(n);
        if (!input.isNative() || !output.isNative() || input.byteSize() < in || output.byteSize() < out) {
            throw new IllegalArgumentException("native segments of " + input.byteSize() + " and " + output.byteSize()
                    + " bytes for " + n + " image(s): need " + in + " and " + out);
        }
        context.makeCurrent();
        held(0); // until the pass below has been enqueued whole
        DeviceBuffer.upload(plan.address(plan.planned(graph.inputName())), input.asSlice(0, in));
        // The synchronous copy orders against the legacy stream only; ours is non-blocking, so wait for the device.
        context.synchronize();
        runSteps(0);
        held(n);
        stream.synchronize();
        DeviceBuffer.download(plan.address(plan.planned(graph.outputName())), output.asSlice(0, out));
    }

    /** Enqueues a forward pass (sites handled as {@link #run(Tensor, SiteHandler, Set)}); returns the batch size. */
    private int forward(Tensor input, SiteHandler handler, Set<String> sites) {
        int n = checkInput(input);
        context.makeCurrent();
        held(0); // until the pass below has been enqueued whole
        DeviceBuffer.uploadFloats(plan.address(plan.planned(graph.inputName())), input.data());
        // The synchronous copy orders against the legacy stream only; ours is non-blocking, so wait for the device.
        context.synchronize();
        boolean plain = !(sites.contains(graph.inputName()) && site(graph.inputName(), n, handler));
        for (Step s : steps) {
            for (DeviceStep p : s.launches()) p.run(stream);
            if (sites.contains(s.output()) && site(s.output(), n, handler)) plain = false;
        }
        held(plain ? n : 0);
        return n;
    }

    /** Enqueues the launches of steps {@code first} onwards. */
    private void runSteps(int first) {
        for (int i = first; i < steps.size(); i++) {
            for (DeviceStep p : steps.get(i).launches()) p.run(stream);
        }
    }

    /** Records that a whole pass over {@code n} images has been enqueued (0: a pass that changed values in place). */
    private void held(int n) {
        imagesHeld = n;
        validSteps = n == 0 ? 0 : steps.size();
    }

    /**
     * A forward pass of {@code n} images read from device memory {@code input} (NCHW floats, at least
     * {@link #inputBytes(int)}), writing the graph output for them ({@link #outputShape(int)}, row-major floats) into
     * device memory {@code output} (at least {@link #outputBytes(int)}). Everything is enqueued on this pass's stream
     * and nothing waits, so the work is ordered after what the stream holds and before what is queued on it later:
     * one device-to-device copy of the input into the planned input value (the prepared launches read fixed
     * addresses), the launches, one device-to-device copy of the output. {@code input} and {@code output} may be the
     * same memory. Neither buffer is kept after the call.
     */
    void runOnDevice(DeviceBuffer input, int n, DeviceBuffer output) {
        int[] want = graph.inputShape();
        checkInput(new int[] {n, want[0], want[1], want[2]});
        long in = inputBytes(n), out = outputBytes(n);
        if (input.bytes() < in || output.bytes() < out) {
            throw new IllegalArgumentException("device buffers of " + input.bytes() + " and " + output.bytes()
                    + " bytes for " + n + " image(s): need " + in + " and " + out);
        }
        context.makeCurrent();
        held(0); // until the pass below has been enqueued whole
        DeviceBuffer.copyAsync(plan.address(plan.planned(graph.inputName())), input, in, stream);
        runSteps(0);
        held(n);
        output.copyFromAsync(plan.address(plan.planned(graph.outputName())), out, stream);
    }

    /** Bytes of the input of {@code n} images (n·C·H·W floats). */
    long inputBytes(int n) {
        return Math.multiplyExact(count(graph.inputName(), n), (long) Float.BYTES);
    }

    /** Bytes of the graph output for {@code n} images. */
    long outputBytes(int n) {
        return Math.multiplyExact(count(graph.outputName(), n), (long) Float.BYTES);
    }

    /** The graph output's shape for {@code n} images, e.g. (n, 10) for a classifier. */
    int[] outputShape(int n) {
        int[] shape = shapes.get(graph.outputName()).clone();
        if (batchMajor) shape[0] = n;
        return shape;
    }

    /** Waits for everything queued on this pass's stream. */
    void synchronize() {
        context.makeCurrent();
        stream.synchronize();
    }

    /**
     * Keeps {@code logits} on the device as the reference of {@link #klDivergence} (the FP32 model's output for the
     * images the sensitivity passes run): uploaded here, once, whatever the number of passes.
     */
    public void setReference(Tensor logits) {
        int[] s = logits.shape();
        int[] planned = shapes.get(graph.outputName());
        if (s.length != planned.length || s.length == 0 || logits.size() > Shapes.size(planned)) {
            throw new IllegalArgumentException("reference logits " + Arrays.toString(s) + " do not fit the output "
                    + Arrays.toString(planned));
        }
        context.makeCurrent();
        stream.synchronize(); // no KL of an earlier pass may still read the old reference
        DeviceBuffer.uploadFloats(plan.address(reference), logits.data());
        context.synchronize(); // the synchronous copy orders against the legacy stream only
        referenceShape = s.clone();
    }

    /**
     * A forward pass of {@code input} reduced on the device to the mean over images of KL(softmax(reference) ‖
     * softmax(logits)), as {@link dev.zeroq.quant.Sensitivity#klDivergence} computes it from the downloaded logits:
     * 16 bytes come back instead of the logits. The reference ({@link #setReference}) must have the output's shape
     * for this batch.
     */
    public double klDivergence(Tensor input) {
        if (referenceShape == null) throw new IllegalStateException("no reference logits: call setReference first");
        return kl(forward(input, v -> null, Set.of()));
    }

    /**
     * {@link #klDivergence} of a pass over the images of the previous whole pass ({@link #run}, {@link #klDivergence},
     * the device-to-device run, or this), with the parameters as they are now. The steps before the first one that
     * reads a parameter replaced or restored since then are not run again: their values are still in the pool, and
     * the same kernels give the same bits, so the answer is exactly that of a whole pass. Replacing the parameters of
     * later layers first (the sensitivity passes go backwards) keeps every repeat short.
     *
     * @throws IllegalStateException without a previous whole pass, or when that pass fake-quantized a value
     */
    public double klDivergenceAgain() {
        if (referenceShape == null) throw new IllegalStateException("no reference logits: call setReference first");
        if (imagesHeld == 0) {
            throw new IllegalStateException("no plain pass to repeat: run the images once (run or klDivergence) first");
        }
        context.makeCurrent();
        runSteps(validSteps);
        validSteps = steps.size();
        return kl(imagesHeld);
    }

    /** Steps a {@link #klDivergenceAgain} would run now (for tests; the pool holds a pass when this is below all). */
    int stepsToRepeat() {
        return imagesHeld == 0 ? steps.size() : steps.size() - validSteps;
    }

    /** The mean KL of the logits the enqueued pass over {@code n} images leaves, against the reference. */
    private double kl(int n) {
        int[] out = shapes.get(graph.outputName()).clone();
        if (batchMajor) out[0] = n;
        if (!Arrays.equals(out, referenceShape)) {
            throw new IllegalArgumentException("reference logits " + Arrays.toString(referenceShape) + ", this pass's "
                    + Arrays.toString(out));
        }
        long size = Shapes.size(out);
        int rows = out[0], classes = Math.toIntExact(size / rows);
        return reductions.klDivergence(plan.address(reference), plan.address(plan.planned(graph.outputName())), rows,
                classes);
    }

    /**
     * Times whole forward passes for benchmarks: {@code input} is uploaded once before (host copies are not timed),
     * then each pass's launches are bracketed by CUDA events on this object's stream; the output is not downloaded.
     * The launches are those planned for {@link #maxBatch()} images whatever the input's batch, so time a batch
     * with an instance built for exactly that batch.
     *
     * @return the milliseconds of each timed pass, in order
     */
    public double[] time(Tensor input, int warmup, int iterations) {
        checkInput(input);
        context.makeCurrent();
        held(0); // until the passes below have run
        DeviceBuffer.uploadFloats(plan.address(plan.planned(graph.inputName())), input.data());
        context.synchronize(); // the synchronous copy orders against the legacy stream only (ours is non-blocking)
        try (CudaEvent start = CudaEvent.create(); CudaEvent end = CudaEvent.create()) {
            for (int i = 0; i < warmup; i++) runSteps(0);
            stream.synchronize();
            double[] ms = new double[iterations];
            for (int i = 0; i < iterations; i++) {
                start.record(stream);
                runSteps(0);
                end.record(stream);
                end.synchronize();
                ms[i] = CudaEvent.elapsedMillis(start, end);
            }
            held(warmup + iterations > 0 ? input.dim(0) : 0);
            return ms;
        }
    }

    /** Uses {@code value} instead of the graph's parameter {@code name} from the next run on (same shape). */
    public void replaceParam(String name, Tensor value) {
        Tensor original = graph.param(name);
        if (original == null) throw new IllegalArgumentException("the graph has no parameter '" + name + "'");
        if (!Arrays.equals(original.shape(), value.shape())) {
            throw new IllegalArgumentException("parameter '" + name + "' is " + Arrays.toString(original.shape())
                    + ", the replacement " + Arrays.toString(value.shape()));
        }
        uploadParam(name, value.data());
    }

    /** Back to the graph's own values of parameter {@code name}. */
    public void restoreParam(String name) {
        Tensor original = graph.param(name);
        if (original == null) throw new IllegalArgumentException("the graph has no parameter '" + name + "'");
        uploadParam(name, original.data());
    }

    /**
     * Enqueues on the stream, after every earlier run, the copy of {@code data} through pinned memory into one place of
     * the parameter and the device reorderings into its others: the next run's launches come after them on the stream.
     */
    private void uploadParam(String name, float[] data) {
        validSteps = Math.min(validSteps, firstStepReading(name));
        Swap sw = swap(name);
        if (sw.into() == null) return; // no launch reads it
        context.makeCurrent();
        stream.synchronize(); // the last replacement's copy out of the staging memory has finished
        long bytes = (long) data.length * Float.BYTES;
        MemorySegment from = staging(bytes);
        MemorySegment.copy(data, 0, from, ValueLayout.JAVA_FLOAT, 0, data.length);
        Cuda.check("cuMemcpyHtoDAsync_v2(parameter '" + name + "', " + bytes + " bytes)",
                cuda_h.cuMemcpyHtoDAsync_v2(plan.address(sw.into()), from, bytes, stream.handle()));
        for (DevicePlan.Pending q : sw.copies()) {
            preparedCopies.computeIfAbsent(q, k -> plan.prepare(module, arena, k)).run(stream);
        }
    }

    /** The pinned staging memory, at least {@code bytes} long (the stream is idle: an old one may be freed). */
    private MemorySegment staging(long bytes) {
        if (staging == null || staging.byteSize() < bytes) {
            freeStaging();
            try (Arena a = Arena.ofConfined()) {
                MemorySegment pp = a.allocate(ValueLayout.ADDRESS);
                Cuda.check("cuMemAllocHost_v2(" + bytes + " bytes)", cuda_h.cuMemAllocHost_v2(pp, bytes));
                staging = Cuda.readPointer(pp).reinterpret(bytes);
            }
        }
        return staging;
    }

    private void freeStaging() {
        if (staging != null) {
            MemorySegment p = staging;
            staging = null;
            Cuda.check("cuMemFreeHost", cuda_h.cuMemFreeHost(p));
        }
    }

    /** The first step a change of parameter {@code name} reaches: steps are the graph's nodes in order. */
    private int firstStepReading(String name) {
        return graph.firstReaders().getOrDefault(name, pendingByNode.size());
    }

    private int checkInput(Tensor input) {
        return checkInput(input.shape());
    }

    /**
     * Whether a run of {@code n} images fits this pass: 1 ≤ n ≤ {@link #maxBatch()}, and n = maxBatch for a model that
     * reshapes across the batch (its values are then not batch-major).
     */
    public boolean runs(int n) {
        return n >= 1 && n <= maxBatch && (batchMajor || n == maxBatch);
    }

    /** Throws unless {@code got} is (N, C, H, W) of the graph with an N this pass runs; returns N. */
    int checkInput(int[] got) {
        int[] want = graph.inputShape();
        if (got.length != 4 || got[1] != want[0] || got[2] != want[1] || got[3] != want[2] || got[0] < 1
                || got[0] > maxBatch) {
            throw ZeroqException.badInput("input shape " + Arrays.toString(got) + " does not fit this CUDA forward pass: expected (N, "
                    + want[0] + ", " + want[1] + ", " + want[2] + ") with 1 <= N <= " + maxBatch);
        }
        if (got[0] < maxBatch && !batchMajor) {
            throw ZeroqException.badInput("this model reshapes across the batch, so the CUDA forward pass runs exactly "
                    + maxBatch + " images, got " + got[0]);
        }
        return got[0];
    }

    /** Elements of value {@code name} that belong to the first {@code n} images. */
    private long count(String name, int n) {
        long size = Shapes.size(shapes.get(name));
        return batchMajor ? size / maxBatch * n : size;
    }

    /** Hands value {@code name} to {@code handler}; true when it was fake-quantized in place. */
    private boolean site(String name, int n, SiteHandler handler) {
        long address = plan.address(plan.planned(name));
        long count = count(name, n);
        FakeQuantSpec spec = handler.at(new SiteValue() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public float[] minMax() {
                return reductions.minMax(name, address, count);
            }

            @Override
            public long size() {
                return count;
            }

            @Override
            public Clipping.Range percentileRange(double percentile, boolean symmetric) {
                return reductions.percentileRange(name, address, count, percentile, symmetric);
            }

            @Override
            public Tensor download() {
                return CudaForward.this.download(name, n);
            }
        });
        if (spec == null) return false;
        int[] grid = DevicePlan.grid1d(count), block = DevicePlan.block();
        switch (spec) {
            case FakeQuantSpec.Affine a -> module.launch("fake_quant_affine", grid, block, 0, stream, address, count,
                    a.params().inverseStep(), a.params().zeroPoint(), (float) a.params().qmin(), (float) a.params().qmax());
            case FakeQuantSpec.Deploy d -> module.launch("fake_quant_uint8", grid, block, 0, stream, address, count,
                    d.params().scale(), d.params().zeroPoint(), d.params().qmin(), d.params().qmax());
        }
        return true;
    }

    /** Value {@code name} for the first {@code n} images, shaped as the graph's shape with batch n. */
    private Tensor download(String name, int n) {
        context.makeCurrent();
        stream.synchronize();
        int[] shape = shapes.get(name).clone();
        if (batchMajor) shape[0] = n;
        float[] out = new float[Math.toIntExact(count(name, n))];
        DeviceBuffer.downloadFloats(plan.address(plan.planned(name)), out);
        return new Tensor(out, shape);
    }

    @Override
    public void close() {
        if (context == null) return;
        context.makeCurrent();
        RuntimeException first = null;
        List<Runnable> closers = new ArrayList<>();
        if (convs != null) {
            ConvChoice c = convs;
            closers.add(c::close); // before the stream its cuDNN handle is bound to
        }
        closers.add(() -> { if (stream != null) stream.close(); });
        closers.add(this::freeStaging); // after the stream: no copy out of it is pending
        if (reductions != null) {
            DeviceReductions r = reductions;
            closers.add(r::close);
        }
        // Captured now: the fields are cleared below, before the closers run (the first GPU run of the CUDA
        // reliability tests found the pool read as null here and never freed: one leaked buffer per closed pass).
        DeviceBuffer poolToFree = pool;
        closers.add(() -> { if (poolToFree != null) poolToFree.close(); });
        closers.add(() -> { if (module != null) module.close(); });
        closers.add(arena::close);
        closers.add(context::close);
        reductions = null;
        convs = null;
        pool = null;
        for (Runnable r : closers) {
            try {
                r.run();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }
}
