// The CUDA backend, first slice: host tensors in and out. Each op uploads its inputs, launches one of the
// kernels in kernels/ on one stream, synchronizes and downloads the result. Correctness first; a
// device-resident path that keeps activations on the GPU between ops comes later.
package dev.zeroq.backend.cuda;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.Activation;
import dev.zeroq.backend.Backend;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.GemmShape;
import dev.zeroq.backend.PoolSpec;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.graph.ShapeInference;
import dev.zeroq.tensor.Shapes;
import dev.zeroq.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link Backend} on one CUDA device. Not thread-safe: use one instance per thread.
 *
 * <p>Weights (conv weights and bias, BatchNorm parameters, the B and C operands of gemm) are uploaded once and
 * cached by the identity of their {@code float[]}: do not modify such an array in place while this backend is
 * open, or call {@link #clearWeightCache()} after doing so.
 *
 * <p>Convolutions (forward and backward-data) run on zeroq's kernels by default; {@link ConvKernels#CUDNN} runs
 * them through {@link CudnnConv} (strict FP32, or TF32 with {@link #tf32()}) instead, except convolutions cuDNN
 * cannot express (asymmetric pads), which stay on zeroq's kernels.
 */
public final class CudaBackend implements Backend, AutoCloseable {
    private static final int THREADS = 256;
    private static final int MAX_GRID_STRIDE_BLOCKS = 1 << 16;
    private static final int RANK = 6; // kernels index shapes padded to rank 6 (Shape6)

    private final CudaContext context;
    private final CudaModule module;
    private final CudaStream stream;
    private final CudnnConv cudnn; // null unless ConvKernels.CUDNN
    private final ConvKernels conv;
    private final boolean tf32; // --tf32: TF32 tensor cores allowed for convolutions (see the constructor)
    private final Map<float[], DeviceBuffer> weights = new IdentityHashMap<>();
    private boolean poisonOutputs;
    // The last batch's planned activation peak, reused while callers repeat the batch size (shape inference per run
    // would cost more than the check itself).
    private Graph plannedGraph;
    private int plannedBatch;
    private long plannedPeak;

    /**
     * Which kernels run convolutions ({@code --conv auto|zeroq|cudnn}). ZEROQ: zeroq's everywhere. CUDNN: cuDNN's
     * wherever it can (symmetric pads), op by op and in the device-resident distillation. AUTO: in the device-resident
     * distillation each convolution step on whichever of the two the device timed faster at setup (zeroq's alone when
     * cuDNN is not installed); everywhere else zeroq's.
     */
    public enum ConvKernels { ZEROQ, CUDNN, AUTO }

    /** Opens device {@code ordinal} (after CUDA_VISIBLE_DEVICES) and loads the bundled kernels. */
    public CudaBackend(int ordinal) {
        this(ordinal, ConvKernels.ZEROQ);
    }

    /**
     * As {@link #CudaBackend(int)}, with convolutions on {@code conv}'s kernels. CUDNN throws, with
     * {@link CudnnConv#available()}'s reason, when cuDNN cannot be loaded.
     */
    public CudaBackend(int ordinal, ConvKernels conv) {
        this(ordinal, conv, false);
    }

    /**
     * As {@link #CudaBackend(int, ConvKernels)}; {@code tf32} (opt-in, {@code --tf32}) allows TF32 tensor cores
     * (sm_80+; operands rounded to a 10-bit mantissa, FP32 accumulation) for convolutions: with CUDNN, cuDNN's
     * {@link CudnnConv.MathMode#TF32}; with ZEROQ, the device-resident distillation and forward passes (CudaDistiller,
     * CudaForward, which callers open with {@link #tf32()}) run their 128×128 implicit-GEMM layers on the TF32 kernels.
     * Op-by-op convolutions on zeroq's kernels (the direct kernel) stay strict FP32. Default false: strict FP32.
     */
    public CudaBackend(int ordinal, ConvKernels conv, boolean tf32) {
        this.tf32 = tf32;
        this.conv = conv;
        if (conv == ConvKernels.CUDNN) {
            CudnnConv.Availability c = CudnnConv.available();
            if (!c.usable()) {
                throw ZeroqException.badInput("cuDNN convolutions unavailable: " + c.reason());
            }
        }
        CudaAvailability a = CudaAvailability.probe();
        if (!a.usable()) {
            throw ZeroqException.internal("CUDA backend unavailable: " + a.reason());
        }
        byte[] fatbin = CudaModule.bundledKernels();
        if (fatbin == null) {
            throw ZeroqException.internal("CUDA backend unavailable: kernel fatbin missing from the jar");
        }
        CudaContext ctx = CudaContext.open(ordinal);
        CudaModule mod = null;
        CudaStream str = null;
        try {
            mod = CudaModule.load(fatbin);
            str = CudaStream.create();
            this.cudnn = conv == ConvKernels.CUDNN
                    ? CudnnConv.open(str, tf32 ? CudnnConv.MathMode.TF32 : CudnnConv.MathMode.STRICT_FP32) : null;
        } catch (RuntimeException e) {
            if (str != null) {
                str.close();
            }
            if (mod != null) {
                mod.close();
            }
            ctx.close();
            throw e;
        }
        this.stream = str;
        this.context = ctx;
        this.module = mod;
    }

    /**
     * On a caller's context and stream (JCudaInterop): both borrowed, so {@link #close()} unloads our module and
     * frees our buffers but leaves them alone. The context must be current on the calling thread.
     */
    CudaBackend(CudaContext borrowedContext, CudaStream borrowedStream) {
        byte[] fatbin = CudaModule.bundledKernels();
        if (fatbin == null) {
            throw ZeroqException.internal("CUDA backend unavailable: kernel fatbin missing from the jar");
        }
        this.context = borrowedContext;
        this.stream = borrowedStream;
        this.cudnn = null;
        this.conv = ConvKernels.ZEROQ;
        this.tf32 = false;
        this.module = CudaModule.load(fatbin);
    }

    /** Whether TF32 tensor cores are allowed for convolutions ({@code --tf32}); false: strict FP32. */
    public boolean tf32() {
        return tf32;
    }

    /** The kernels convolutions run on, as asked for ({@link ConvKernels}). */
    public ConvKernels convKernels() {
        return conv;
    }

    /**
     * What the device-resident passes (CudaDistiller, CudaForward) make of {@link #convKernels()}: ZEROQ none on
     * cuDNN, CUDNN every step it can run, AUTO each where it is the faster at setup.
     */
    public CudaDistiller.Cudnn cudnnUse() {
        return switch (conv) {
            case ZEROQ -> CudaDistiller.Cudnn.OFF;
            case CUDNN -> CudaDistiller.Cudnn.ALWAYS;
            case AUTO -> CudaDistiller.Cudnn.FASTEST;
        };
    }

    @Override
    public String name() {
        return "cuda:" + context.ordinal();
    }

    /** The device ordinal (after CUDA_VISIBLE_DEVICES). */
    public int ordinal() {
        return context.ordinal();
    }

    /** Device name, compute capability and driver, e.g. "NVIDIA H100 80GB HBM3, sm_90, driver 13000". */
    public String describe() {
        context.makeCurrent();
        return context.name() + ", sm_" + context.computeCapability() + ", driver " + CudaContext.driverVersion()
                + (cudnn != null ? ", conv on cuDNN " + CudnnConv.available().version() : "")
                + (tf32 ? ", TF32 convolutions" : "");
    }

    /** Tests: fill every output with NaN before its kernel runs, so an element a kernel skips cannot pass. */
    void setPoisonOutputs(boolean poison) {
        this.poisonOutputs = poison;
    }

    public void clearWeightCache() {
        for (DeviceBuffer b : weights.values()) {
            b.close();
        }
        weights.clear();
    }

    // ---- device memory ----

    /**
     * Call before an {@link dev.zeroq.graph.Executor} pass of {@code graph} over {@code batch} images on this backend:
     * throws a {@link ZeroqException} naming the device memory the pass needs and what is free (in GiB), and saying to
     * use a smaller batch, when {@link #plannedBytes} exceeds the device's free memory. Nothing is allocated before the
     * check, so after it the backend is as it was and a smaller batch runs.
     */
    public void requireMemoryFor(Graph graph, int batch) {
        DeviceMemory.requireFree(context, plannedBytes(graph, batch),
                "a batch of " + batch + " image(s) of '" + graph.name() + "'");
    }

    /**
     * Device memory an Executor pass of {@code graph} over {@code batch} images needs at its peak here: the graph's
     * parameters not yet in the weight cache (once uploaded they stay) plus the largest single op's buffers (each op
     * uploads its value inputs and allocates its outputs, and frees both when it returns, so ops never overlap).
     */
    long plannedBytes(Graph graph, int batch) {
        if (graph != plannedGraph || batch != plannedBatch) {
            plannedPeak = peakOpBytes(graph, batch);
            plannedGraph = graph;
            plannedBatch = batch;
        }
        long params = 0;
        for (Tensor p : graph.params().values()) {
            if (!weights.containsKey(p.data())) {
                params = Math.addExact(params, Math.multiplyExact((long) p.size(), Float.BYTES));
            }
        }
        return Math.addExact(params, plannedPeak);
    }

    /**
     * The largest single op's value inputs plus outputs, in bytes, at {@code batch}. An upper bound: reshapes, which
     * stay on the host, count as if they ran on the device. Example: a Conv from (N, 1, 28, 28) to (N, 16, 28, 28)
     * takes N · (784 + 12544) · 4 bytes.
     */
    static long peakOpBytes(Graph graph, int batch) {
        Map<String, int[]> shapes = ShapeInference.infer(graph, batch);
        long peak = 0;
        for (Node n : graph.nodes()) {
            long op = 0;
            for (String in : n.inputs()) {
                if (!in.isEmpty() && !graph.isParam(in)) {
                    op = Math.addExact(op, floatBytes(shapes.get(in)));
                }
            }
            for (String out : n.outputs()) {
                op = Math.addExact(op, floatBytes(shapes.get(out)));
            }
            peak = Math.max(peak, op);
        }
        return peak;
    }

    private static long floatBytes(int[] shape) {
        return shape == null ? 0 : Math.multiplyExact(sizeOf(shape), Float.BYTES);
    }

    // ---- ops ----

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, ConvSpec s) {
        int n = x.dim(0), cin = x.dim(1), h = x.dim(2), wd = x.dim(3);
        int cout = w.dim(0), cinG = w.dim(1), kh = w.dim(2), kw = w.dim(3);
        int g = s.group();
        s.checkChannels(cin, w.shape());
        if (bias != null && bias.size() != cout) {
            throw new IllegalArgumentException("conv: bias has " + bias.size() + " values for " + cout + " channels");
        }
        boolean onCudnn = cudnn != null && CudnnConv.unsupported(s) == null;
        if (!onCudnn && (cout > 65535 || n > 65535)) {
            throw new IllegalArgumentException("conv: Cout " + cout + " and N " + n + " must be <= 65535 (grid y, z)");
        }
        int oh = s.outH(h), ow = s.outW(wd);
        int[] st = s.strides(), p = s.pads(), d = s.dilations();
        int[] outShape = {n, cout, oh, ow};
        try (Scope sc = new Scope()) {
            DeviceBuffer out = sc.output(outShape);
            if (onCudnn && sizeOf(outShape) > 0 && x.size() > 0) {
                cudnn.forward(sc.input(x).address(), x.shape(), weight(w).address(), w.shape(),
                        bias == null ? 0L : weight(bias).address(), s, out.address());
            } else if (sizeOf(outShape) > 0) {
                module.launch("conv2d_forward", new int[] {Math.ceilDiv(oh * ow, 256), cout, n}, new int[] {256, 1, 1}, 0,
                        stream, sc.input(x), weight(w), bias == null ? null : weight(bias), out,
                        cin, h, wd, cout, oh, ow, kh, kw, st[0], st[1], p[0], p[1], d[0], d[1], g);
            }
            return sc.download(out, outShape);
        }
    }

    /** On cuDNN when chosen (and the pads are symmetric); otherwise the default composition of {@link Backend}. */
    @Override
    public Tensor conv2dBackwardData(Tensor gradOut, Tensor w, ConvSpec s, int[] inputShape) {
        if (cudnn == null || CudnnConv.unsupported(s) != null) {
            return Backend.super.conv2dBackwardData(gradOut, w, s, inputShape);
        }
        int[] outShape = inputShape.clone();
        try (Scope sc = new Scope()) {
            DeviceBuffer dx = sc.output(outShape);
            if (sizeOf(outShape) > 0 && gradOut.size() > 0) {
                cudnn.backwardData(sc.input(gradOut).address(), weight(w).address(), w.shape(), s, dx.address(), outShape);
            }
            return sc.download(dx, outShape);
        }
    }

    @Override
    public Tensor batchNorm(Tensor x, Tensor scale, Tensor bias, Tensor mean, Tensor var, float eps) {
        int n = x.dim(0), c = x.dim(1);
        int hw = n * c == 0 ? 1 : x.size() / (n * c);
        try (Scope sc = new Scope()) {
            DeviceBuffer out = sc.output(x.shape());
            if (x.size() > 0) {
                module.launch("batchnorm_inference", gridFor(x.size()), block1d(), 0, stream, sc.input(x),
                        weight(scale), weight(bias), weight(mean), weight(var), eps, out, x.size(), c, hw);
            }
            return sc.download(out, x.shape());
        }
    }

    @Override
    public Tensor activation(Tensor x, Activation f) {
        int op;
        float a = 0f, b = 0f;
        switch (f) {
            case Activation.Relu r -> op = 0;
            case Activation.Clip c -> { op = 1; a = c.min(); b = c.max(); }
            case Activation.LeakyRelu l -> { op = 2; a = l.alpha(); }
            case Activation.Sigmoid sg -> op = 3;
            case Activation.HardSigmoid hs -> { op = 4; a = hs.alpha(); b = hs.beta(); }
            case Activation.HardSwish hw -> op = 5;
        }
        try (Scope sc = new Scope()) {
            DeviceBuffer out = sc.output(x.shape());
            if (x.size() > 0) {
                module.launch("activation", gridFor(x.size()), block1d(), 0, stream, sc.input(x), out, x.size(), op, a, b);
            }
            return sc.download(out, x.shape());
        }
    }

    @Override
    public Tensor binary(Tensor a, Tensor b, BinaryOp op) {
        int[] shape = Shapes.broadcast(a.shape(), b.shape());
        checkRank(shape, "binary");
        try (Scope sc = new Scope()) {
            DeviceBuffer out = sc.output(shape);
            int n = Math.toIntExact(sizeOf(shape));
            if (n > 0) {
                module.launch("binary", gridFor(n), block1d(), 0, stream, sc.input(a), sc.input(b), out, n,
                        pad(shape, 1), pad(broadcastStrides(a.shape(), shape), 0), pad(broadcastStrides(b.shape(), shape), 0),
                        op.ordinal());
            }
            return sc.download(out, shape);
        }
    }

    @Override
    public Tensor maxPool(Tensor x, PoolSpec s) {
        return pool(x, s, true);
    }

    @Override
    public Tensor avgPool(Tensor x, PoolSpec s) {
        return pool(x, s, false);
    }

    private Tensor pool(Tensor x, PoolSpec s, boolean max) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        int oh = s.outH(h), ow = s.outW(w);
        int[] k = s.kernel(), st = s.strides(), p = s.pads(), d = s.dilations();
        int[] outShape = {n, c, oh, ow};
        try (Scope sc = new Scope()) {
            DeviceBuffer out = sc.output(outShape);
            int total = Math.toIntExact(sizeOf(outShape));
            if (total > 0) {
                if (max) {
                    module.launch("maxpool2d", gridFor(total), block1d(), 0, stream, sc.input(x), out, n * c, h, w, oh, ow,
                            k[0], k[1], st[0], st[1], p[0], p[1], d[0], d[1]);
                } else {
                    module.launch("avgpool2d", gridFor(total), block1d(), 0, stream, sc.input(x), out, n * c, h, w, oh, ow,
                            k[0], k[1], st[0], st[1], p[0], p[1], p[2], p[3], s.countIncludePad() ? 1 : 0);
                }
            }
            return sc.download(out, outShape);
        }
    }

    @Override
    public Tensor globalAvgPool(Tensor x) {
        int n = x.dim(0), c = x.dim(1);
        int nc = Math.multiplyExact(n, c);
        int hw = nc == 0 ? 0 : x.size() / nc;
        int[] outShape = {n, c, 1, 1};
        try (Scope sc = new Scope()) {
            DeviceBuffer out = sc.output(outShape);
            if (nc > 0) {
                module.launch("global_avg_pool", new int[] {Math.min(nc, 65535), 1, 1}, block1d(), 0, stream,
                        sc.input(x), out, nc, hw);
            }
            return sc.download(out, outShape);
        }
    }

    @Override
    public Tensor reduceMean(Tensor x, int[] axes, boolean keepDims) {
        int[] shape = x.shape();
        checkRank(shape, "reduceMean");
        int[] strides = Shapes.strides(shape);
        boolean[] reduced = new boolean[shape.length];
        for (int a : axes) {
            reduced[a] = true;
        }
        List<Integer> keptDims = new ArrayList<>(), keptStrides = new ArrayList<>();
        List<Integer> redDims = new ArrayList<>(), redStrides = new ArrayList<>();
        int[] kept = shape.clone();
        for (int i = 0; i < shape.length; i++) {
            if (reduced[i]) {
                redDims.add(shape[i]);
                redStrides.add(strides[i]);
                kept[i] = 1;
            } else {
                keptDims.add(shape[i]);
                keptStrides.add(strides[i]);
            }
        }
        int[] squeezed = keptDims.stream().mapToInt(Integer::intValue).toArray();
        int[] outShape = keepDims ? kept : squeezed;
        int redCount = Math.toIntExact(sizeOf(redDims.stream().mapToInt(Integer::intValue).toArray()));
        try (Scope sc = new Scope()) {
            DeviceBuffer out = sc.output(outShape);
            int nOut = Math.toIntExact(sizeOf(outShape));
            if (nOut > 0) {
                module.launch("reduce_mean", gridFor(nOut), block1d(), 0, stream, sc.input(x), out, nOut,
                        pad(squeezed, 1), pad(toArray(keptStrides), 0),
                        pad(redDims.stream().mapToInt(Integer::intValue).toArray(), 1), pad(toArray(redStrides), 0), redCount);
            }
            return sc.download(out, outShape);
        }
    }

    @Override
    public Tensor gemm(Tensor a, Tensor b, Tensor c, float alpha, float beta, boolean transA, boolean transB) {
        GemmShape shape = GemmShape.of(a, b, transA, transB);
        int m = shape.m(), k = shape.k(), n = shape.n();
        int[] cs = c == null ? new int[] {0, 0} : broadcastStrides(c.shape(), new int[] {m, n});
        int[] outShape = {m, n};
        try (Scope sc = new Scope()) {
            DeviceBuffer out = sc.output(outShape);
            if (m > 0 && n > 0) {
                launchGemm(sc.input(a).address(), weight(b).address(), c == null ? 0L : weight(c).address(),
                        out.address(), m, n, k, transA ? 1 : k, transA ? m : 1, transB ? 1 : n, transB ? k : 1,
                        cs[0], cs[1], alpha, beta);
            }
            return sc.download(out, outShape);
        }
    }

    private void launchGemm(long a, long b, long c, long out, int m, int n, int k, int sAi, int sAk, int sBk, int sBj,
                            int sCi, int sCj, float alpha, float beta) {
        if (Math.ceilDiv(m, 16) > 65535) {
            throw new IllegalArgumentException("gemm: M = " + m + " exceeds the grid's y limit");
        }
        // A raw address 0 is the null pointer the kernel tests for; pass it as a pointer-sized argument.
        module.launch("gemm", new int[] {Math.ceilDiv(n, 16), Math.ceilDiv(m, 16), 1}, new int[] {16, 16, 1}, 0, stream,
                a, b, c, out, m, n, k, sAi, sAk, sBk, sBj, sCi, sCj, alpha, beta);
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        dev.zeroq.backend.MatMulShape g = dev.zeroq.backend.MatMulShape.of(a.shape(), b.shape());
        int m = g.m(), k = g.k(), n = g.n();
        int[] outShape = g.out();
        try (Scope sc = new Scope()) {
            DeviceBuffer out = sc.output(outShape);
            if (m > 0 && n > 0) {
                DeviceBuffer da = sc.input(a), db = sc.input(b);
                // One gemm launch per batch entry, at element offsets into A, B and the output (offsets in bytes, long).
                for (int bt = 0; bt < g.batches(); bt++) {
                    long oa = g.aOffset()[bt], ob = g.bOffset()[bt];
                    long aOff = Math.multiplyExact(oa * m * k, Float.BYTES);
                    long bOff = Math.multiplyExact(ob * k * n, Float.BYTES);
                    long oOff = Math.multiplyExact((long) bt * m * n, Float.BYTES);
                    launchGemm(da.address() + aOff, db.address() + bOff, 0L, out.address() + oOff, m, n, k, k, 1, n, 1,
                            0, 0, 1f, 0f);
                }
            }
            return sc.download(out, outShape);
        }
    }

    @Override
    public Tensor concat(List<Tensor> xs, int axis) {
        int[] shape = xs.getFirst().shape();
        checkRank(shape, "concat");
        int total = 0;
        for (Tensor t : xs) {
            total = Math.addExact(total, t.dim(axis));
        }
        shape[axis] = total;
        int[] outStrides = Shapes.strides(shape);
        try (Scope sc = new Scope()) {
            DeviceBuffer out = sc.output(shape);
            int offset = 0;
            for (Tensor t : xs) {
                if (t.size() > 0) {
                    copy(sc.input(t), out, t.shape(), Shapes.strides(t.shape()), outStrides, 0,
                            Math.multiplyExact(offset, outStrides[axis]));
                }
                offset += t.dim(axis);
            }
            return sc.download(out, shape);
        }
    }

    @Override
    public Tensor transpose(Tensor x, int[] perm) {
        int[] in = x.shape();
        checkRank(in, "transpose");
        int[] inStrides = Shapes.strides(in);
        int[] outShape = new int[in.length];
        int[] srcStrides = new int[in.length];
        for (int i = 0; i < in.length; i++) {
            outShape[i] = in[perm[i]];
            srcStrides[i] = inStrides[perm[i]];
        }
        try (Scope sc = new Scope()) {
            DeviceBuffer out = sc.output(outShape);
            if (x.size() > 0) {
                copy(sc.input(x), out, outShape, srcStrides, Shapes.strides(outShape), 0, 0);
            }
            return sc.download(out, outShape);
        }
    }

    @Override
    public Tensor slice(Tensor x, int[] starts, int[] ends, int[] axes, int[] steps) {
        int[] in = x.shape();
        checkRank(in, "slice");
        int rank = in.length;
        int[] inStrides = Shapes.strides(in);
        int[] srcStrides = inStrides.clone();
        int[] outShape = in.clone();
        long base = 0;
        for (int i = 0; i < axes.length; i++) {
            int a = axes[i];
            int len = steps[i] > 0 ? Math.ceilDiv(ends[i] - starts[i], steps[i]) : Math.ceilDiv(starts[i] - ends[i], -steps[i]);
            outShape[a] = Math.max(0, len);
            srcStrides[a] = Math.multiplyExact(inStrides[a], steps[i]);
            base += (long) starts[i] * inStrides[a];
        }
        try (Scope sc = new Scope()) {
            DeviceBuffer out = sc.output(outShape);
            if (sizeOf(outShape) > 0) {
                copy(sc.input(x), out, outShape, srcStrides, Shapes.strides(outShape), Math.toIntExact(base), 0);
            }
            return sc.download(out, outShape);
        }
    }

    private void copy(DeviceBuffer src, DeviceBuffer dst, int[] dims, int[] srcStrides, int[] dstStrides, int srcBase,
                      int dstBase) {
        int n = Math.toIntExact(sizeOf(dims));
        module.launch("strided_copy", gridFor(n), block1d(), 0, stream, src, dst, n, pad(dims, 1), pad(srcStrides, 0),
                pad(dstStrides, 0), srcBase, dstBase);
    }

    // ---- helpers ----

    private DeviceBuffer weight(Tensor t) {
        DeviceBuffer b = weights.get(t.data());
        if (b == null) {
            b = DeviceBuffer.upload(t.data());
            weights.put(t.data(), b);
        }
        return b;
    }

    /** Device buffers of one op: inputs uploaded and outputs allocated here are freed when the op returns. */
    private final class Scope implements AutoCloseable {
        private final List<DeviceBuffer> buffers = new ArrayList<>();

        Scope() {
            context.makeCurrent(); // the driver's current context is per thread
        }

        DeviceBuffer input(Tensor t) {
            DeviceBuffer b = weights.get(t.data());
            if (b != null) {
                return b; // already on the device as a cached weight
            }
            return track(DeviceBuffer.upload(t.data()));
        }

        DeviceBuffer output(int[] shape) {
            DeviceBuffer b = track(DeviceBuffer.allocateFloats(sizeOf(shape)));
            if (poisonOutputs) {
                b.fill32(DeviceBuffer.NAN_BITS);
            }
            return b;
        }

        Tensor download(DeviceBuffer b, int[] shape) {
            // Kernel faults surface at the next synchronizing call: this one names the stream.
            stream.synchronize();
            float[] data = new float[Math.toIntExact(sizeOf(shape))];
            b.copyTo(data);
            return new Tensor(data, shape);
        }

        private DeviceBuffer track(DeviceBuffer b) {
            buffers.add(b);
            return b;
        }

        @Override
        public void close() {
            RuntimeException first = null;
            for (DeviceBuffer b : buffers) {
                try {
                    b.close();
                } catch (RuntimeException e) {
                    if (first == null) {
                        first = e;
                    }
                }
            }
            if (first != null) {
                throw first;
            }
        }
    }

    private static int[] gridFor(long n) {
        return new int[] {(int) Math.min(Math.ceilDiv(n, THREADS), MAX_GRID_STRIDE_BLOCKS), 1, 1};
    }

    private static int[] block1d() {
        return new int[] {THREADS, 1, 1};
    }

    private static long sizeOf(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    private static void checkRank(int[] shape, String op) {
        if (shape.length > RANK) {
            throw new IllegalArgumentException(op + ": rank " + shape.length + " exceeds the CUDA kernels' " + RANK);
        }
    }

    /** Right-aligns {@code v} into 6 entries, filling the leading ones with {@code fill}. */
    private static int[] pad(int[] v, int fill) {
        if (v.length > RANK) {
            throw new IllegalArgumentException("rank " + v.length + " exceeds " + RANK);
        }
        int[] out = new int[RANK];
        Arrays.fill(out, 0, RANK - v.length, fill);
        System.arraycopy(v, 0, out, RANK - v.length, v.length);
        return out;
    }

    private static int[] toArray(List<Integer> xs) {
        return xs.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Strides of {@code in} viewed in the broadcast {@code out} shape: 0 along broadcast dimensions. */
    static int[] broadcastStrides(int[] in, int[] out) {
        int[] s = new int[out.length];
        int[] own = Shapes.strides(in);
        int off = out.length - in.length;
        for (int i = 0; i < in.length; i++) {
            s[i + off] = in[i] == 1 ? 0 : own[i];
        }
        return s;
    }

    @Override
    public void close() {
        context.makeCurrent();
        try {
            if (cudnn != null) {
                cudnn.close(); // before the stream it is bound to
            }
            clearWeightCache();
            stream.close();
            module.close();
        } finally {
            context.close();
        }
    }
}
