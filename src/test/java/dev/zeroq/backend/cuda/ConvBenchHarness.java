// Device side of dev.zeroq.bench.ConvLayerBench (test code, in this package for the package-private device types):
// one convolution layer timed on zeroq's kernels (those CudaDistiller's AUTO picks, or a forced ConvAlgorithm; the
// choice, operand layouts and grids come from IgemmLayout, shared with the distiller) and on cuDNN, forward and backward-data, CUDA events around the launch only.
package dev.zeroq.backend.cuda;

import dev.zeroq.backend.ConvSpec;
import dev.zeroq.bindings.cuda.cuda_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Not thread-safe. Inputs are random, uploaded once into buffers sized for the largest layer and reused. */
public final class ConvBenchHarness implements AutoCloseable {
    /** A square-kernel conv of ResNet-50: {@code count} occurrences of this shape in the network. */
    public record Layer(String name, int count, int n, int cin, int h, int w, int cout, int k, int stride, int pad) {
        public ConvSpec spec() {
            return new ConvSpec(new int[] {k, k}, new int[] {stride, stride}, new int[] {pad, pad, pad, pad},
                    new int[] {1, 1}, 1);
        }

        public int outH() { return spec().outH(h); }

        public int outW() { return spec().outW(w); }

        /** 2·N·Cout·outH·outW·Cin·k² (the same for backward-data). */
        public double flops() {
            return 2.0 * n * cout * outH() * outW() * cin * k * k;
        }
    }

    /** Median milliseconds per launch; NaN where not run. maxRelDiff: max |zeroq − cuDNN| / max |cuDNN|. */
    public record Timing(double zeroqFwdMs, double cudnnFwdMs, double zeroqBwdMs, double cudnnBwdMs, String zeroqFwdKernel,
                         String zeroqBwdKernel, String cudnnFwdPlan, String cudnnBwdPlan, double fwdMaxRelDiff,
                         double bwdMaxRelDiff) {}

    private static final int THREADS = 256;

    private final CudaContext context;
    private final CudaModule module;
    private final CudaStream stream;
    private final CudnnConv cudnn; // null when cuDNN is unavailable
    private final String cudnnReason;
    private final DeviceBuffer a, b, c, d; // x or dy in a; outputs in b (zeroq) and c (cuDNN); d spare (dy)
    private final long capacity;
    private final SplittableRandom random;
    private final boolean tf32;

    public ConvBenchHarness(long maxElements, long seed) {
        this(maxElements, seed, false);
    }

    /**
     * With {@code tf32} both sides may use TF32 tensor cores: zeroq's 128×128 layers run on the TF32 kernels (as
     * CudaDistiller with Options.tf32) and cuDNN gets {@link CudnnConv.MathMode#TF32}, so TF32 is compared with TF32.
     */
    public ConvBenchHarness(long maxElements, long seed, boolean tf32) {
        this.tf32 = tf32;
        this.random = new SplittableRandom(seed);
        this.capacity = maxElements;
        context = CudaContext.open(0);
        module = CudaModule.load(CudaModule.bundledKernels());
        stream = CudaStream.create();
        CudnnConv.Availability av = CudnnConv.available();
        cudnn = av.usable() ? CudnnConv.open(stream, tf32 ? CudnnConv.MathMode.TF32 : CudnnConv.MathMode.STRICT_FP32) : null;
        cudnnReason = av.usable() ? "cuDNN " + av.version() + " from " + av.library() : "cuDNN unavailable: " + av.reason();
        a = upload(maxElements, 1f);
        b = DeviceBuffer.allocateFloats(maxElements);
        c = DeviceBuffer.allocateFloats(maxElements);
        d = upload(maxElements, 1f);
    }

    public String device() {
        context.makeCurrent();
        return context.name() + ", sm_" + context.computeCapability() + ", driver " + CudaContext.driverVersion();
    }

    public String cudnnStatus() {
        return cudnnReason;
    }

    private DeviceBuffer upload(long count, float scale) {
        float[] h = new float[Math.toIntExact(count)];
        for (int i = 0; i < h.length; i++) {
            h[i] = (float) ((random.nextDouble() * 2 - 1) * scale);
        }
        return DeviceBuffer.upload(h);
    }

    public Timing measure(Layer l, int warmup, int iters) {
        return measure(l, CudaDistiller.ConvAlgorithm.AUTO, warmup, iters);
    }

    /**
     * Times layer {@code l} on the kernels {@code algo} picks for it, chosen and laid out by IgemmLayout exactly as
     * DevicePlan (forward) and CudaDistiller (backward-data) do, so AUTO times what the distiller runs.
     */
    public Timing measure(Layer l, CudaDistiller.ConvAlgorithm algo, int warmup, int iters) {
        context.makeCurrent();
        int[] xs = {l.n(), l.cin(), l.h(), l.w()}, ws = {l.cout(), l.cin(), l.k(), l.k()};
        int oh = l.outH(), ow = l.outW();
        long xN = (long) l.n() * l.cin() * l.h() * l.w(), yN = (long) l.n() * l.cout() * oh * ow;
        if (xN > capacity || yN > capacity) throw new IllegalArgumentException(l + " exceeds the buffers");
        ConvSpec s = l.spec();
        int[] st = s.strides(), pads = s.pads(), dil = s.dilations();
        int kk = l.cin() * l.k() * l.k();
        // Weights scaled by 1/sqrt(K) keep outputs O(1), so the relative difference below is meaningful.
        float[] wHost = new float[l.cout() * kk];
        for (int i = 0; i < wHost.length; i++) wHost[i] = (float) ((random.nextDouble() * 2 - 1) / Math.sqrt(kk));
        long pixelsF = (long) l.n() * oh * ow;
        IgemmLayout.Kernel knF = IgemmLayout.choose(algo, tf32, l.cout(), kk, pixelsF, 1);
        int kb = l.cout() * l.k() * l.k();
        IgemmLayout.Kernel knB = IgemmLayout.choose(algo, tf32, l.cin(), kb,
                IgemmLayout.backwardSlicePixels(IgemmLayout.Kernel.IGEMM128, l.n(), l.h(), l.w(), st), st[0] * st[1]);
        IgemmLayout.Backward lb = knB == IgemmLayout.Kernel.DIRECT ? null
                : IgemmLayout.backward(knB, wHost, 1, l.cout(), l.cin(), l.k(), l.k(), l.n(), l.h(), l.w(), oh, ow, st, pads, dil);
        try (DeviceBuffer w = DeviceBuffer.upload(wHost);
             DeviceBuffer wtF = DeviceBuffer.upload(IgemmLayout.forwardWeights(wHost, 1, l.cout(), kk));
             DeviceBuffer tabF = uploadInts(IgemmLayout.forwardTable(l.cin(), l.k(), l.k(), l.h(), l.w(), dil));
             DeviceBuffer wtB = DeviceBuffer.upload(lb == null ? new float[1] : lb.weights());
             DeviceBuffer tabB = uploadInts(lb == null ? new int[4] : lb.ktab());
             DeviceBuffer phB = uploadInts(lb == null || lb.phases() == null ? new int[4] : lb.phases())) {
            // forward: x in a; zeroq → b, cuDNN → c
            Runnable zf = knF != IgemmLayout.Kernel.DIRECT
                    ? () -> module.launch(knF.forward, IgemmLayout.forwardGrid(knF, pixelsF, l.cout(), 1), new int[] {THREADS, 1, 1},
                            0, stream, a, wtF, tabF, null, b, l.n(), l.cin(), l.h(), l.w(), l.cout(), oh, ow, 1, kk, l.stride(),
                            l.stride(), l.pad(), l.pad())
                    : () -> module.launch("conv2d_forward", new int[] {Math.ceilDiv(oh * ow, 256), l.cout(), l.n()},
                            new int[] {THREADS, 1, 1}, 0, stream, a, w, null, b, l.cin(), l.h(), l.w(), l.cout(), oh, ow,
                            l.k(), l.k(), l.stride(), l.stride(), l.pad(), l.pad(), 1, 1, 1);
            double zF = time(zf, warmup, iters);
            double cF = Double.NaN, relF = Double.NaN;
            String planF = cudnnReason;
            if (cudnn != null) {
                cF = time(() -> cudnn.forward(a.address(), xs, w.address(), ws, 0L, s, c.address()), warmup, iters);
                planF = cudnn.describePlan(true, xs, ws, s);
                relF = maxRelDiff(b, c, yN);
            }
            // backward-data: dy in d; zeroq → b, cuDNN → c. The grid comes from IgemmLayout: x counts input pixels
            // (per phase for the 128×128 kernel), never N·Cin·H·W elements.
            Runnable zb = switch (knB) {
                case IGEMM128, IGEMM128_TF32 -> () -> module.launch(knB.backward, lb.grid(), new int[] {THREADS, 1, 1}, 0, stream, d, wtB, tabB,
                        phB, b, l.n(), l.cin(), l.h(), l.w(), l.cout(), oh, ow, 1, kb, st[0], st[1], 0);
                case IGEMM64 -> () -> module.launch(knB.backward, lb.grid(), new int[] {THREADS, 1, 1}, 0, stream, d, wtB, tabB,
                        b, l.n(), l.cin(), l.h(), l.w(), l.cout(), oh, ow, 1, kb, st[0], st[1], pads[0], pads[1], 0);
                case DIRECT -> () -> module.launch("conv2d_backward_data", new int[] {(int) Math.clamp(Math.ceilDiv(xN, THREADS), 1,
                        65535), 1, 1}, new int[] {THREADS, 1, 1}, 0, stream, d, w, b, l.n(), l.cin(), l.h(), l.w(), l.cout(), oh,
                        ow, l.k(), l.k(), l.stride(), l.stride(), l.pad(), l.pad(), 1, 1, 1, 0);
            };
            double zB = time(zb, warmup, iters);
            double cB = Double.NaN, relB = Double.NaN;
            String planB = cudnnReason;
            if (cudnn != null) {
                cB = time(() -> cudnn.backwardData(d.address(), w.address(), ws, s, c.address(), xs), warmup, iters);
                planB = cudnn.describePlan(false, xs, ws, s);
                relB = maxRelDiff(b, c, xN);
            }
            return new Timing(zF, cF, zB, cB, name(knF), name(knB), planF, planB, relF, relB);
        }
    }

    private static String name(IgemmLayout.Kernel k) {
        return switch (k) {
            case DIRECT -> "direct";
            case IGEMM64 -> "igemm64";
            case IGEMM128 -> "igemm128";
            case IGEMM128_TF32 -> "igemm128-tf32";
        };
    }

    /** Median of per-launch times between events recorded right before and after the launch on the stream. */
    private double time(Runnable launch, int warmup, int iters) {
        for (int i = 0; i < warmup; i++) launch.run();
        stream.synchronize();
        double[] ms = new double[iters];
        try (CudaEvent start = CudaEvent.create(); CudaEvent end = CudaEvent.create()) {
            for (int i = 0; i < iters; i++) {
                start.record(stream);
                launch.run();
                end.record(stream);
                end.synchronize();
                ms[i] = CudaEvent.elapsedMillis(start, end);
            }
        }
        Arrays.sort(ms);
        return ms[iters / 2];
    }

    private double maxRelDiff(DeviceBuffer ours, DeviceBuffer theirs, long count) {
        stream.synchronize();
        float[] x = new float[Math.toIntExact(count)], y = new float[x.length];
        // Full copies of up to 100 MB: fine once per layer, outside the timed region.
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate((long) x.length * Float.BYTES, Float.BYTES);
            Cuda.check("cuMemcpyDtoH_v2", cuda_h.cuMemcpyDtoH_v2(staging, ours.address(), staging.byteSize()));
            MemorySegment.copy(staging, ValueLayout.JAVA_FLOAT, 0, x, 0, x.length);
            Cuda.check("cuMemcpyDtoH_v2", cuda_h.cuMemcpyDtoH_v2(staging, theirs.address(), staging.byteSize()));
            MemorySegment.copy(staging, ValueLayout.JAVA_FLOAT, 0, y, 0, y.length);
        }
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < x.length; i++) {
            double diff = Math.abs((double) x[i] - y[i]);
            if (Double.isNaN(diff)) return Double.NaN;
            maxDiff = Math.max(maxDiff, diff);
            maxRef = Math.max(maxRef, Math.abs(y[i]));
        }
        return maxRef == 0 ? maxDiff : maxDiff / maxRef;
    }

    private static DeviceBuffer uploadInts(int[] v) {
        DeviceBuffer buf = DeviceBuffer.allocate(Math.multiplyExact((long) Math.max(v.length, 1), Integer.BYTES));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocateFrom(ValueLayout.JAVA_INT, v);
            Cuda.check("cuMemcpyHtoD_v2", cuda_h.cuMemcpyHtoD_v2(buf.address(), staging, staging.byteSize()));
        } catch (RuntimeException e) {
            buf.close();
            throw e;
        }
        return buf;
    }

    @Override
    public void close() {
        context.makeCurrent();
        try {
            if (cudnn != null) cudnn.close();
            for (DeviceBuffer x : new DeviceBuffer[] {a, b, c, d}) x.close();
            stream.close();
            module.close();
        } finally {
            context.close();
        }
    }
}
