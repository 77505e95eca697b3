// FP32 convolution forward and backward-data through cuDNN 9's legacy API: the one class that touches cuDNN
// (STYLE.md 13). Optional: available() says why it cannot run; nothing else in zeroq needs it. One handle, a
// plan (descriptors + algorithm) per distinct shape found once with cudnnFind*, one growing workspace.
package dev.zeroq.backend.cuda;

import dev.zeroq.backend.ConvSpec;
import dev.zeroq.bindings.cudnn.cudnn_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Convolutions on cuDNN, on device memory, on a stream the caller owns. Not thread-safe; one per backend.
 *
 * <p>Math: {@link MathMode#STRICT_FP32} (the default) sets {@code CUDNN_FMA_MATH}, which restricts cuDNN to kernels
 * built from FP32 FMA instructions: results then agree with the reference to float rounding. {@link MathMode#TF32}
 * sets {@code CUDNN_DEFAULT_MATH}, which on sm_80+ lets cuDNN use TF32 tensor cores for FP32 data (10-bit mantissa
 * products: expect ~1e-3 relative error) unless NVIDIA_TF32_OVERRIDE=0. CUDNN_FMA_MATH exists since cuDNN 8, and
 * {@link #available()} requires cuDNN 9, so strict mode is always expressible.
 *
 * <p>Padding: cuDNN takes one pad per spatial axis, so convolutions with different top/bottom or left/right pads are
 * refused ({@link #unsupported(ConvSpec)}); callers run those on zeroq's kernels.
 */
public final class CudnnConv implements AutoCloseable {
    /** FP32 math on the convolution descriptor: strict FMA, or TF32 tensor cores allowed. */
    public enum MathMode { STRICT_FP32, TF32 }

    /**
     * Whether cuDNN can be used here.
     *
     * @param usable  libcudnn.so.9 loaded and reports a 9.x version
     * @param reason  why not (empty when usable)
     * @param version cudnnGetVersion(), e.g. 91300 for 9.13.0; 0 when unknown
     * @param library where it was loaded from (empty when not)
     */
    public record Availability(boolean usable, String reason, long version, String library) {}

    /** An unchecked failure of a cuDNN call: the call, the status name from cudnnGetErrorString and its number. */
    public static final class CudnnException extends RuntimeException {
        private final int status;

        CudnnException(String message, int status) {
            super(message);
            this.status = status;
        }

        /** The raw cudnnStatus_t. */
        public int status() {
            return status;
        }
    }

    // Values from cudnn_graph.h / cudnn_cnn.h (cuDNN 9; unchanged since cuDNN 7 for these enums).
    static final int CUDNN_STATUS_SUCCESS = 0;
    static final int CUDNN_TENSOR_NCHW = 0;
    static final int CUDNN_DATA_FLOAT = 0;
    static final int CUDNN_CROSS_CORRELATION = 1; // ONNX Conv does not flip the kernel
    static final int CUDNN_DEFAULT_MATH = 0, CUDNN_TENSOR_OP_MATH = 1, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION = 2,
            CUDNN_FMA_MATH = 3;

    // cudnnConvolutionFwdAlgoPerf_t and cudnnConvolutionBwdDataAlgoPerf_t share one layout (x86-64):
    // {int algo; int status; float time; size_t memory (8-aligned, at 16); int determinism; int mathType; int reserved[3]}
    static final long PERF_BYTES = 48, PERF_ALGO = 0, PERF_STATUS = 4, PERF_TIME = 8, PERF_MEMORY = 16,
            PERF_MATH = 28;
    private static final int FIND_COUNT = 8; // more than cuDNN has algorithms of either kind
    /**
     * How many of cudnnFind's fastest usable algorithms a shape keeps for a caller to time again ({@link Call#settle}).
     * cudnnFind times each algorithm once, and the first run of a cuDNN kernel in a process loads its module: on an
     * H100 (GPU run 15) the same ResNet-50 found choices worth 7.46, 7.85 and 10.62 ms per iteration in three processes.
     */
    static final int CANDIDATES = 3;
    /** -Dzeroq.cudnn.candidates=K keeps K (1 to 8) instead: 1 runs cudnnFind's fastest, as before GPU run 16. */
    public static final String CANDIDATES_PROPERTY = "zeroq.cudnn.candidates";
    /** A runner-up needing more workspace than this (and more than the fastest) is not kept. */
    private static final long CANDIDATE_WORKSPACE = 256L << 20;

    /** One algorithm cudnnFind* returned for a shape: the algorithm, the math type it was timed with, its workspace. */
    private record Found(int algo, int mathType, long workspaceBytes) {}

    /**
     * Choices of handles opened with a device name, kept for the process by device, math mode and shape: the next
     * handle on the same device (the sensitivity passes after the distillation, a second distiller) finds nothing again.
     * Each entry is cudnnFind's order of the shape's candidates until one is settled on, then that one alone.
     */
    private static final Map<String, List<Found>> FOUND = new ConcurrentHashMap<>();
    private static final AtomicLong finds = new AtomicLong();

    private final CudaStream stream; // the caller's; not destroyed here
    private final MathMode mode;
    private final String device; // the key of this handle's choices in FOUND; null: not shared
    private final Map<Key, Plan> plans = new HashMap<>();
    private final Arena constants = Arena.ofShared(); // alpha/beta scalars, read by cuDNN on the host at each call
    private final MemorySegment one = constants.allocateFrom(ValueLayout.JAVA_FLOAT, 1f);
    private final MemorySegment zero = constants.allocateFrom(ValueLayout.JAVA_FLOAT, 0f);
    private MemorySegment handle;
    private DeviceBuffer workspace;

    private CudnnConv(MemorySegment handle, CudaStream stream, MathMode mode, String device) {
        this.handle = handle;
        this.stream = stream;
        this.mode = mode;
        this.device = device;
    }

    /** Checks the library and its version; never throws. Does not need a GPU. */
    public static Availability available() {
        try {
            var error = cudnn_h.libraryLoadError();
            if (error.isPresent()) {
                return new Availability(false, error.get(), 0, "");
            }
            String from = cudnn_h.loadedFrom().orElse("");
            long v = cudnn_h.cudnnGetVersion();
            if (v < 90000 || v >= 100000) {
                return new Availability(false, "cuDNN version " + v + " at " + from
                        + ": CudnnConv is written against cuDNN 9 (its status codes and perf struct)", v, from);
            }
            return new Availability(true, "", v, from);
        } catch (RuntimeException | LinkageError e) {
            return new Availability(false, "cuDNN probe failed: " + e, 0, "");
        }
    }

    /** Why cuDNN cannot run this convolution, or null when it can. */
    public static String unsupported(ConvSpec s) {
        int[] p = s.pads();
        if (p[0] != p[2] || p[1] != p[3]) {
            return "cuDNN needs symmetric pads, got " + Arrays.toString(p) + " (top, left, bottom, right)";
        }
        return null;
    }

    /** cudnnCreate on the current context's device, bound to {@code stream}; destroyed by {@link #close()}. */
    static CudnnConv open(CudaStream stream, MathMode mode) {
        return open(stream, mode, null);
    }

    /**
     * As {@link #open(CudaStream, MathMode)}, sharing the algorithm choices with every handle opened in this process
     * with the same {@code device} (a name that identifies the current context's device, e.g. "0 NVIDIA H100").
     */
    static CudnnConv open(CudaStream stream, MathMode mode, String device) {
        Availability a = available();
        if (!a.usable()) {
            throw new IllegalStateException("cuDNN unavailable: " + a.reason());
        }
        MemorySegment h;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check("cudnnCreate", cudnn_h.cudnnCreate(out));
            h = out.get(ValueLayout.ADDRESS, 0);
        }
        CudnnConv c = new CudnnConv(h, stream, mode, device);
        try {
            check("cudnnSetStream", cudnn_h.cudnnSetStream(h, stream.handle()));
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    /** The one checker for cudnnStatus_t: throws {@link CudnnException} naming the call unless it succeeded. */
    static void check(String call, int status) {
        if (status != CUDNN_STATUS_SUCCESS) {
            throw new CudnnException(call + " failed: " + errorString(status) + " (" + status + ")", status);
        }
    }

    // cudnnGetErrorString returns a pointer to a static string owned by cuDNN (never null; "CUDNN_UNKNOWN_STATUS"
    // for codes it does not know); it has no status of its own to check.
    static String errorString(int status) {
        try {
            MemorySegment p = cudnn_h.cudnnGetErrorString(status);
            return p.equals(MemorySegment.NULL) ? "cudnnStatus_t" : p.reinterpret(256).getString(0);
        } catch (UnsatisfiedLinkError e) {
            return "cudnnStatus_t";
        }
    }

    public MathMode mathMode() {
        return mode;
    }

    /**
     * y = conv(x, w) (+ bias): x (N, Cin, H, W), w (Cout, Cin/group, kh, kw), bias (Cout) or 0, y (N, Cout, outH, outW).
     * Device addresses; y is overwritten (beta 0, so it is never read). Enqueued on the stream, not waited for.
     */
    void forward(long x, int[] xs, long w, int[] ws, long bias, ConvSpec s, long y) {
        Plan p = planWithWorkspace(true, xs, ws, s);
        MemorySegment wsPtr = ensureWorkspace(p.workspaceBytes);
        check("cudnnConvolutionForward(" + p.key + ")", cudnn_h.cudnnConvolutionForward(live(), one, p.x, ptr(x), p.w,
                ptr(w), p.conv, p.algo, wsPtr, p.workspaceBytes, zero, p.y, ptr(y)));
        if (bias != 0) {
            // y = 1·bias (broadcast over N, H, W) + 1·y
            check("cudnnAddTensor(bias)", cudnn_h.cudnnAddTensor(live(), one, p.bias, ptr(bias), one, p.y, ptr(y)));
        }
    }

    /**
     * dx = the gradient of conv(x, w) with respect to x, given dy: dy (N, Cout, outH, outW), w as in
     * {@link #forward}, dx (N, Cin, H, W) overwritten. Device addresses; enqueued on the stream.
     */
    void backwardData(long dy, long w, int[] ws, ConvSpec s, long dx, int[] dxs) {
        backwardData(dy, w, ws, s, dx, dxs, false);
    }

    /** As {@link #backwardData(long, long, int[], ConvSpec, long, int[])}; {@code accumulate}: dx += the gradient (beta 1). */
    void backwardData(long dy, long w, int[] ws, ConvSpec s, long dx, int[] dxs, boolean accumulate) {
        Plan p = planWithWorkspace(false, dxs, ws, s);
        MemorySegment wsPtr = ensureWorkspace(p.workspaceBytes);
        check("cudnnConvolutionBackwardData(" + p.key + ")", cudnn_h.cudnnConvolutionBackwardData(live(), one, p.w,
                ptr(w), p.y, ptr(dy), p.conv, p.algo, wsPtr, p.workspaceBytes, accumulate ? one : zero, p.x, ptr(dx)));
    }

    /**
     * A convolution with its device addresses fixed, as a step of a planned pass (CudaDistiller): forward (x → y,
     * plus bias when not 0) or backward-data (dy at {@code y} → dx at {@code x}, added to dx when {@code accumulate}).
     * Its first run finds the algorithm (cudnnFind*, once per shape) and grows the workspace, so run every call once
     * before a loop that must not allocate or a CUDA graph capture.
     */
    record Call(CudnnConv cudnn, boolean forward, long x, int[] xs, long w, int[] ws, long bias, ConvSpec spec, long y,
                boolean accumulate) implements DeviceStep {
        @Override
        public String label() {
            return forward ? "cuDNN convolution forward" : "cuDNN convolution backward-data";
        }

        @Override
        public void run(CudaStream stream) {
            if (stream != cudnn.stream) {
                throw new IllegalArgumentException("a cuDNN call runs on the stream its handle is bound to");
            }
            if (forward) {
                cudnn.forward(x, xs, w, ws, bias, spec, y);
            } else {
                cudnn.backwardData(y, w, ws, spec, x, xs, accumulate);
            }
        }

        /** The algorithms cudnnFind kept for this call's shape (1 once settled, or when only one was usable). */
        int candidates() {
            return cudnn.plan(this).candidates.size();
        }

        /** Runs this call's shape (every call of it on this handle) with candidate {@code i} until told otherwise. */
        void tryCandidate(int i) {
            Plan p = cudnn.plan(this);
            p.use(p.candidates.get(i), cudnn.mode);
        }

        /**
         * Keeps candidate {@code i} for this call's shape: on this handle and, for handles that share their device's
         * choices, for the process.
         */
        void settle(int i) {
            cudnn.settle(cudnn.plan(this), i);
        }

        /** The plan this call runs (calls of one shape share it), as an identity for callers grouping calls. */
        Object shape() {
            return cudnn.plan(this);
        }
    }

    /**
     * Runs cudnnFind for a shape now, unless this process already has its choice (see FOUND): a search done ahead, on
     * another thread, of the calls that will need it.
     */
    void search(boolean forward, int[] xs, int[] ws, ConvSpec s) {
        plan(forward, xs, ws, s);
    }

    private Plan plan(Call c) {
        return plan(c.forward(), c.xs(), c.ws(), c.spec());
    }

    private void settle(Plan p, int i) {
        Found f = p.candidates.get(i);
        p.use(f, mode);
        p.candidates = List.of(f);
        if (device != null) FOUND.put(shared(p.key), p.candidates);
    }

    private String shared(Key key) {
        return device + " " + mode + " " + key;
    }

    /** "algo 1 (FMA), workspace 0 B": the cached choice for a shape, finding it first if needed (benchmarks). */
    String describePlan(boolean forward, int[] xs, int[] ws, ConvSpec s) {
        Plan p = plan(forward, xs, ws, s);
        return "algo " + p.algo + " (" + mathName(p.mathType) + "), workspace " + p.workspaceBytes + " B";
    }

    private static String mathName(int m) {
        return switch (m) {
            case CUDNN_DEFAULT_MATH -> "default math";
            case CUDNN_TENSOR_OP_MATH -> "tensor op";
            case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION -> "tensor op, conversion";
            case CUDNN_FMA_MATH -> "FMA";
            default -> "math " + m;
        };
    }

    // ---- plans: descriptors and the algorithm of one shape ----

    /** A convolution's identity for the plan cache: direction, input and filter shapes, geometry. */
    private record Key(boolean forward, List<Integer> x, List<Integer> w, List<Integer> geometry) {
        @Override
        public String toString() {
            return (forward ? "forward" : "backward-data") + " x" + x + " w" + w + " s,p,d,g" + geometry;
        }
    }

    /** Descriptors of one shape, each created next to its destroy in {@link #close()}. */
    private static final class Plan implements AutoCloseable {
        final Key key;
        MemorySegment x, w, conv, y, bias; // null until created
        int algo, mathType;
        long workspaceBytes;
        String reused; // the FOUND key when the algorithm came from another handle's cudnnFind, else null
        List<Found> candidates; // cudnnFind's order; the one kept, once settled
        int descriptorMath; // the math type set on conv now

        Plan(Key key) {
            this.key = key;
        }

        /**
         * Runs {@code f}: its algorithm, workspace and, in TF32 mode, as cuDNN's contract asks, the math type it was
         * timed with (strict mode keeps FMA math on the descriptor whatever cudnnFind reported).
         */
        void use(Found f, MathMode mode) {
            algo = f.algo();
            mathType = f.mathType();
            workspaceBytes = f.workspaceBytes();
            if (mode == MathMode.TF32 && f.mathType() != descriptorMath) {
                check("cudnnSetConvolutionMathType", cudnn_h.cudnnSetConvolutionMathType(conv, f.mathType()));
                descriptorMath = f.mathType();
            }
        }

        @Override
        public void close() {
            // Destroy in reverse order of creation; each status still goes through the checker.
            if (bias != null) check("cudnnDestroyTensorDescriptor(bias)", cudnn_h.cudnnDestroyTensorDescriptor(bias));
            if (y != null) check("cudnnDestroyTensorDescriptor(y)", cudnn_h.cudnnDestroyTensorDescriptor(y));
            if (conv != null) check("cudnnDestroyConvolutionDescriptor", cudnn_h.cudnnDestroyConvolutionDescriptor(conv));
            if (w != null) check("cudnnDestroyFilterDescriptor", cudnn_h.cudnnDestroyFilterDescriptor(w));
            if (x != null) check("cudnnDestroyTensorDescriptor(x)", cudnn_h.cudnnDestroyTensorDescriptor(x));
            bias = y = conv = w = x = null;
        }
    }

    private Plan plan(boolean forward, int[] xs, int[] ws, ConvSpec s) {
        int[] st = s.strides(), pd = s.pads(), dl = s.dilations();
        Key key = new Key(forward, list(xs), list(ws), List.of(st[0], st[1], pd[0], pd[1], dl[0], dl[1], s.group()));
        Plan cached = plans.get(key);
        if (cached != null) {
            return cached;
        }
        String why = unsupported(s);
        if (why != null) {
            throw new IllegalArgumentException("cuDNN conv " + key + ": " + why);
        }
        int n = xs[0], cin = xs[1], h = xs[2], wd = xs[3];
        int cout = ws[0], cinG = ws[1], kh = ws[2], kw = ws[3], g = s.group();
        if (cin != cinG * g || cout % g != 0) {
            throw new IllegalArgumentException("cuDNN conv " + key + ": channels do not fit the group count");
        }
        int oh = s.outH(h), ow = s.outW(wd);
        Plan p = new Plan(key);
        try (Arena arena = Arena.ofConfined()) {
            // Each descriptor goes into the plan as soon as it exists, so p.close() destroys it if a later step fails.
            p.x = createTensor(arena, "x");
            set4d(p.x, "x", n, cin, h, wd);
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check("cudnnCreateFilterDescriptor", cudnn_h.cudnnCreateFilterDescriptor(out));
            p.w = out.get(ValueLayout.ADDRESS, 0);
            check("cudnnSetFilter4dDescriptor", cudnn_h.cudnnSetFilter4dDescriptor(p.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW,
                    cout, cinG, kh, kw));
            check("cudnnCreateConvolutionDescriptor", cudnn_h.cudnnCreateConvolutionDescriptor(out));
            p.conv = out.get(ValueLayout.ADDRESS, 0);
            check("cudnnSetConvolution2dDescriptor", cudnn_h.cudnnSetConvolution2dDescriptor(p.conv, pd[0], pd[1], st[0],
                    st[1], dl[0], dl[1], CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
            check("cudnnSetConvolutionGroupCount", cudnn_h.cudnnSetConvolutionGroupCount(p.conv, g));
            int requested = mode == MathMode.STRICT_FP32 ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;
            check("cudnnSetConvolutionMathType", cudnn_h.cudnnSetConvolutionMathType(p.conv, requested));
            p.descriptorMath = requested;
            // Our output shape and cuDNN's must agree, or the descriptors describe a different convolution.
            MemorySegment dims = arena.allocate(ValueLayout.JAVA_INT, 4);
            check("cudnnGetConvolution2dForwardOutputDim", cudnn_h.cudnnGetConvolution2dForwardOutputDim(p.conv, p.x, p.w,
                    dims, dims.asSlice(4), dims.asSlice(8), dims.asSlice(12)));
            int[] got = dims.toArray(ValueLayout.JAVA_INT);
            if (!Arrays.equals(got, new int[] {n, cout, oh, ow})) {
                throw new IllegalStateException("cuDNN conv " + key + ": cuDNN's output " + Arrays.toString(got)
                        + " differs from zeroq's " + Arrays.toString(new int[] {n, cout, oh, ow}));
            }
            p.y = createTensor(arena, "y");
            set4d(p.y, "y", n, cout, oh, ow);
            if (forward) { // cheap, and one plan then serves a shape with or without bias
                p.bias = createTensor(arena, "bias");
                set4d(p.bias, "bias", 1, cout, 1, 1);
            }
            choose(arena, p, forward);
            plans.put(key, p);
            return p;
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
    }

    /** Creates a 4-D NCHW float tensor descriptor; the caller stores it in the plan before {@link #set4d}. */
    private static MemorySegment createTensor(Arena arena, String what) {
        MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
        check("cudnnCreateTensorDescriptor(" + what + ")", cudnn_h.cudnnCreateTensorDescriptor(out));
        return out.get(ValueLayout.ADDRESS, 0);
    }

    private static void set4d(MemorySegment d, String what, int n, int c, int h, int w) {
        check("cudnnSetTensor4dDescriptor(" + what + " " + n + "x" + c + "x" + h + "x" + w + ")",
                cudnn_h.cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w));
    }

    /**
     * The algorithm of a new plan: found once per shape by this handle, or once per process for handles that share
     * their device's choices ({@link #open(CudaStream, MathMode, String)}).
     */
    private void choose(Arena arena, Plan p, boolean forward) {
        String shared = device == null ? null : shared(p.key);
        List<Found> known = shared == null ? null : FOUND.get(shared);
        if (known == null) {
            known = find(arena, p, forward);
            if (shared != null) FOUND.put(shared, known);
        } else {
            p.reused = shared;
        }
        p.candidates = known;
        p.use(known.getFirst(), mode); // cudnnFind's fastest until a caller times them again
    }

    /** cudnnFind* calls made so far by this process (for tests: a second handle on the same device makes none). */
    static long finds() {
        return finds.get();
    }

    /**
     * cudnnFind* times every algorithm on the device (it allocates its own scratch) and returns them fastest first;
     * we keep up to {@link #CANDIDATES} ({@link #CANDIDATES_PROPERTY}) that succeeded and, in strict mode, do not use
     * tensor-op math, fastest first.
     */
    private List<Found> find(Arena arena, Plan p, boolean forward) {
        finds.incrementAndGet();
        MemorySegment perf = arena.allocate(PERF_BYTES * FIND_COUNT, 8);
        MemorySegment count = arena.allocate(ValueLayout.JAVA_INT);
        if (forward) {
            check("cudnnFindConvolutionForwardAlgorithm(" + p.key + ")", cudnn_h.cudnnFindConvolutionForwardAlgorithm(
                    live(), p.x, p.w, p.conv, p.y, FIND_COUNT, count, perf));
        } else {
            check("cudnnFindConvolutionBackwardDataAlgorithm(" + p.key + ")",
                    cudnn_h.cudnnFindConvolutionBackwardDataAlgorithm(live(), p.w, p.y, p.conv, p.x, FIND_COUNT, count, perf));
        }
        int returned = count.get(ValueLayout.JAVA_INT, 0);
        StringBuilder seen = new StringBuilder();
        List<Found> kept = new ArrayList<>();
        int keep = Math.clamp(Integer.getInteger(CANDIDATES_PROPERTY, CANDIDATES), 1, FIND_COUNT);
        for (int i = 0; i < returned && kept.size() < keep; i++) {
            long o = i * PERF_BYTES;
            int algo = perf.get(ValueLayout.JAVA_INT, o + PERF_ALGO);
            int status = perf.get(ValueLayout.JAVA_INT, o + PERF_STATUS);
            int math = perf.get(ValueLayout.JAVA_INT, o + PERF_MATH);
            seen.append(" algo ").append(algo).append(':').append(status).append('/').append(mathName(math));
            boolean tensorOps = math == CUDNN_TENSOR_OP_MATH || math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
            if (status != CUDNN_STATUS_SUCCESS || (mode == MathMode.STRICT_FP32 && tensorOps)) {
                continue;
            }
            if (mode == MathMode.TF32 && math != p.descriptorMath) {
                // The workspace size below depends on the math type the algorithm runs with.
                check("cudnnSetConvolutionMathType", cudnn_h.cudnnSetConvolutionMathType(p.conv, math));
                p.descriptorMath = math;
            }
            MemorySegment size = arena.allocate(ValueLayout.JAVA_LONG);
            if (forward) {
                check("cudnnGetConvolutionForwardWorkspaceSize", cudnn_h.cudnnGetConvolutionForwardWorkspaceSize(live(),
                        p.x, p.w, p.conv, p.y, algo, size));
            } else {
                check("cudnnGetConvolutionBackwardDataWorkspaceSize", cudnn_h.cudnnGetConvolutionBackwardDataWorkspaceSize(
                        live(), p.w, p.y, p.conv, p.x, algo, size));
            }
            long bytes = size.get(ValueLayout.JAVA_LONG, 0);
            if (kept.isEmpty() || bytes <= Math.max(CANDIDATE_WORKSPACE, kept.getFirst().workspaceBytes())) {
                kept.add(new Found(algo, math, bytes));
            }
        }
        if (!kept.isEmpty()) return List.copyOf(kept);
        throw new IllegalStateException("cuDNN conv " + p.key + ": no usable " + mode + " algorithm among " + returned
                + " found (algo:status/math):" + seen);
    }

    /**
     * The plan of a shape with the workspace grown for it. An algorithm another handle found may need more workspace
     * than is free now (cudnnFind only considers what it can allocate): then it is forgotten and found again here.
     */
    private Plan planWithWorkspace(boolean forward, int[] xs, int[] ws, ConvSpec s) {
        Plan p = plan(forward, xs, ws, s);
        try {
            ensureWorkspace(p.workspaceBytes);
            return p;
        } catch (CudaException e) {
            if (p.reused == null || !e.outOfMemory()) throw e;
            FOUND.remove(p.reused);
            plans.remove(p.key);
            p.close();
            Plan again = plan(forward, xs, ws, s);
            ensureWorkspace(again.workspaceBytes);
            return again;
        }
    }

    /** The workspace, grown (never shrunk) to at least {@code bytes}; NULL when none is needed. */
    private MemorySegment ensureWorkspace(long bytes) {
        if (bytes == 0) {
            return MemorySegment.NULL;
        }
        if (workspace == null || workspace.bytes() < bytes) {
            if (workspace != null) {
                stream.synchronize(); // work already queued may still use the old workspace
            }
            // The larger one first: when it cannot be had, the old workspace stays for the calls already planned on it.
            DeviceBuffer grown = DeviceBuffer.allocate(bytes);
            if (workspace != null) {
                workspace.close();
            }
            workspace = grown;
        }
        return ptr(workspace.address());
    }

    private static MemorySegment ptr(long deviceAddress) {
        return MemorySegment.ofAddress(deviceAddress); // a CUdeviceptr as cuDNN's void*: never dereferenced on the host
    }

    private static List<Integer> list(int[] a) {
        return Arrays.stream(a).boxed().toList();
    }

    private MemorySegment live() {
        if (handle == null) {
            throw new IllegalStateException("cuDNN handle is destroyed");
        }
        return handle;
    }

    /** Destroys the plans' descriptors, frees the workspace, then cudnnDestroy; the stream stays the caller's. */
    @Override
    public void close() {
        if (handle == null) {
            return;
        }
        RuntimeException first = null;
        for (Plan p : plans.values()) {
            try {
                p.close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        plans.clear();
        try {
            if (workspace != null) {
                stream.synchronize();
                workspace.close();
                workspace = null;
            }
        } catch (RuntimeException e) {
            if (first == null) first = e;
        }
        MemorySegment h = handle;
        handle = null;
        try {
            check("cudnnDestroy", cudnn_h.cudnnDestroy(h));
        } catch (RuntimeException e) {
            if (first == null) first = e;
        }
        constants.close();
        if (first != null) {
            throw first;
        }
    }
}
