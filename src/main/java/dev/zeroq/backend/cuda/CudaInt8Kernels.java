// The int8 engine's kernels on one CUDA device: uploads the codes, runs the NHWC transform, the weight pack and the
// tensor-core implicit GEMM (kernels/conv2d_int8_igemm.cu), downloads the exact int32 accumulators and hands them to
// the sink as RefInt8Kernels does. Grouped and depthwise convolutions run the direct int8 kernel.
package dev.zeroq.backend.cuda;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.Activation;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.int8.Int8Kernels;
import dev.zeroq.quant.SymmetricQuantizer.ActivationParams;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * {@link Int8Kernels} on one CUDA device, equal to the reference kernels bit for bit. Not thread-safe: one instance
 * per thread. Device buffers are kept between calls and grown only when a call needs more, so a model run over and
 * over allocates nothing after its largest layer.
 *
 * <p>Example: a 3×3 conv of 64 → 64 channels becomes a GEMM of M = N·outH·outW pixels, N = 64 channels and
 * K = 3·3·64 = 576 int8 products per output, run as ⌈M/128⌉ × 1 blocks of 128 × 128 outputs.
 */
public final class CudaInt8Kernels implements Int8Kernels, AutoCloseable {
    private static final int ELEMENTWISE_THREADS = 256;
    private static final int MAX_GRID_STRIDE_BLOCKS = 65535;
    private static final int PACK_THREADS = 128;
    private static final int CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE = 38;

    private enum Slot { X, XH, W, WP, WSUM, ACC, BIAS, SCALE, RESIDUAL, OUT }

    private final CudaContext context;
    private final CudaModule module;
    private final CudaStream stream;
    private final DeviceBuffer[] slots = new DeviceBuffer[Slot.values().length];
    private boolean poisonOutputs;
    private int poisonWord = DeviceBuffer.NAN_BITS;

    /**
     * The shapes of one int8 convolution as the kernels see them (group 1 uses the igemm fields).
     *
     * @param cinP    input channels padded to 16, the NHWC channel stride (one 16-byte cp.async chunk)
     * @param kTotal  kh·kw·cinP, the GEMM's K
     * @param kPadded kTotal rounded up to the 64-byte K tile (the packed weights are zero beyond kTotal)
     * @param coutP   Cout rounded up to the 128-wide N tile (packed rows beyond Cout are zero)
     * @param m       N·outH·outW, the GEMM's M
     */
    record Geometry(int n, int cin, int h, int w, int cout, int kh, int kw, int sh, int sw, int padTop, int padLeft,
                    int dh, int dw, int group, int outH, int outW, int cinP, int kTotal, int kPadded, int coutP, long m) {
        static final int BM = 128, BN = 128, BK = 64, CHANNEL_ALIGN = 16, THREADS = 256;

        static Geometry of(int n, int cin, int h, int w, int cout, ConvSpec s) {
            int g = s.group();
            if (n < 0 || cin <= 0 || h <= 0 || w <= 0 || cout <= 0 || cin % g != 0 || cout % g != 0) {
                throw new IllegalArgumentException("int8 conv: input (" + n + ", " + cin + ", " + h + ", " + w + "), Cout "
                        + cout + " and group " + g + " do not fit (channels must divide by the group)");
            }
            int[] k = s.kernel(), st = s.strides(), p = s.pads(), d = s.dilations();
            int oh = s.outH(h), ow = s.outW(w);
            if (oh <= 0 || ow <= 0) {
                throw new IllegalArgumentException("int8 conv: " + s + " on " + h + "x" + w + " has no output");
            }
            int cinP = Math.multiplyExact(Math.ceilDiv(cin, CHANNEL_ALIGN), CHANNEL_ALIGN);
            int kTotal = Math.multiplyExact(Math.multiplyExact(k[0], k[1]), cinP);
            int kPadded = Math.multiplyExact(Math.ceilDiv(kTotal, BK), BK);
            int coutP = Math.multiplyExact(Math.ceilDiv(cout, BN), BN);
            long m = Math.multiplyExact(Math.multiplyExact((long) n, oh), ow);
            return new Geometry(n, cin, h, w, cout, k[0], k[1], st[0], st[1], p[0], p[1], d[0], d[1], g, oh, ow, cinP,
                    kTotal, kPadded, coutP, m);
        }

        int plane() {
            return Math.multiplyExact(outH, outW);
        }

        /** N·Cout·outH·outW, the number of accumulators (an int: they come back in one Java array). */
        int outputs() {
            return Math.toIntExact(Math.multiplyExact(m, cout));
        }

        long inputBytes() {
            return Math.multiplyExact(Math.multiplyExact(Math.multiplyExact((long) n, cin), h), w);
        }

        long nhwcBytes() {
            return Math.multiplyExact(Math.multiplyExact(Math.multiplyExact((long) n, h), w), cinP);
        }

        long weightBytes() {
            return Math.multiplyExact(Math.multiplyExact((long) cout, cin / group), (long) kh * kw);
        }

        long packedBytes() {
            return Math.multiplyExact((long) coutP, kPadded);
        }

        int[] igemmGrid() {
            return new int[] {Math.toIntExact(Math.ceilDiv(m, BM)), coutP / BN, 1};
        }
    }

    /** Opens device {@code ordinal} (after CUDA_VISIBLE_DEVICES) and loads the bundled kernels. */
    public CudaInt8Kernels(int ordinal) {
        CudaAvailability a = CudaAvailability.probe();
        if (!a.usable()) {
            throw ZeroqException.internal("CUDA int8 kernels unavailable: " + a.reason());
        }
        byte[] fatbin = CudaModule.bundledKernels();
        if (fatbin == null) {
            throw ZeroqException.internal("CUDA int8 kernels unavailable: kernel fatbin missing from the jar");
        }
        CudaContext ctx = CudaContext.open(ordinal);
        CudaModule mod = null;
        try {
            if (ctx.computeCapability() < 80) {
                throw ZeroqException.internal("CUDA int8 kernels need compute capability 8.0 or newer (mma.sync "
                        + "m16n8k32 s8), device " + ordinal + " is sm_" + ctx.computeCapability());
            }
            mod = CudaModule.load(fatbin);
            this.stream = CudaStream.create();
        } catch (RuntimeException e) {
            if (mod != null) {
                mod.close();
            }
            ctx.close();
            throw e;
        }
        this.context = ctx;
        this.module = mod;
    }

    @Override
    public String name() {
        return "int8-cuda:" + context.ordinal();
    }

    /** Device name, compute capability and driver, e.g. "NVIDIA H100 80GB HBM3, sm_90, driver 13000". */
    public String describe() {
        context.makeCurrent();
        return context.name() + ", sm_" + context.computeCapability() + ", driver " + CudaContext.driverVersion();
    }

    /** Tests: fill every output with a NaN pattern before its kernel runs, so an element a kernel skips cannot pass. */
    void setPoisonOutputs(boolean poison) {
        this.poisonOutputs = poison;
    }

    /**
     * Tests: the 32-bit pattern written over outputs (NaN bits by default). Every byte is a valid uint8 code, so a
     * test of byte outputs runs twice with two patterns that differ in every byte (e.g. 0xA5A5A5A5, 0x5A5A5A5A).
     */
    void setPoisonWord(int word) {
        this.poisonWord = word;
    }

    @Override
    public void conv(byte[] x, int n, int cin, int h, int wd, int zp, Weights weights, ConvSpec s, ConvSink sink) {
        byte[] w = weights.codes();
        int cout = weights.cout();
        Geometry g = Geometry.of(n, cin, h, wd, cout, s);
        checkOperands(g, x, w, zp);
        int plane = g.plane();
        int[] acc = accumulators(g, x, w, zp);
        int perImage = Math.multiplyExact(cout, plane);
        for (int b = 0; b < n; b++) {
            sink.accept(b * plane, (b + 1) * plane, 0, cout, acc, b * perImage, plane);
        }
    }

    /** A gemm is a 1×1 convolution over an (m, k, 1, 1) image: the NCHW and (m, k) layouts are the same bytes. */
    @Override
    public void gemm(byte[] x, int m, int k, int zp, Weights weights, GemmSink sink) {
        byte[] w = weights.codes();
        int cout = weights.cout();
        if (m == 0) {
            return;
        }
        ConvSpec oneByOne = new ConvSpec(new int[] {1, 1}, new int[] {1, 1}, new int[] {0, 0, 0, 0}, new int[] {1, 1}, 1);
        Geometry g = Geometry.of(m, k, 1, 1, cout, oneByOne);
        checkOperands(g, x, w, zp);
        sink.accept(0, m, accumulators(g, x, w, zp), 0);
    }

    private static void checkOperands(Geometry g, byte[] x, byte[] w, int zp) {
        if (x.length != g.inputBytes() || w.length != g.weightBytes()) {
            throw new IllegalArgumentException("int8 conv: " + x.length + " input codes and " + w.length
                    + " weights for " + g + " (expected " + g.inputBytes() + " and " + g.weightBytes() + ")");
        }
        if (zp < 0 || zp > 255) {
            throw new IllegalArgumentException("int8 conv: zero point " + zp + " is not a uint8 code");
        }
    }

    /** Runs the convolution and downloads acc (N, Cout, outH, outW) = Σ (q_x − zp)·q_w. */
    private int[] accumulators(Geometry g, byte[] x, byte[] w, int zp) {
        context.makeCurrent();
        int[] acc = new int[g.outputs()];
        if (acc.length == 0) {
            return acc;
        }
        DeviceBuffer dx = slot(Slot.X, x.length);
        dx.copyFrom(x);
        DeviceBuffer dw = slot(Slot.W, w.length);
        dw.copyFrom(w);
        DeviceBuffer dacc = slot(Slot.ACC, Math.multiplyExact((long) acc.length, Integer.BYTES));
        if (poisonOutputs) {
            dacc.fill32(poisonWord);
        }
        if (g.group() == 1) {
            prepareOperands(g, zp, dx, dw);
            module.launch("conv2d_int8_igemm", g.igemmGrid(), new int[] {Geometry.THREADS, 1, 1}, 0, stream,
                    slots[Slot.XH.ordinal()], slots[Slot.WP.ordinal()], slots[Slot.WSUM.ordinal()], dacc,
                    g.n(), g.h(), g.w(), g.cinP(), g.cout(), g.outH(), g.outW(), g.kw(), g.sh(), g.sw(), g.padTop(),
                    g.padLeft(), g.dh(), g.dw(), g.kTotal(), g.kPadded(), zp);
        } else {
            // Narrow groups: the igemm's K would be mostly channel padding (depthwise: 1 real channel in 16).
            module.launch("conv2d_int8_direct", gridStride(acc.length), new int[] {ELEMENTWISE_THREADS, 1, 1}, 0,
                    stream, dx, dw, dacc, g.n(), g.cin(), g.h(), g.w(), g.cout(), g.outH(), g.outW(), g.kh(), g.kw(),
                    g.sh(), g.sw(), g.padTop(), g.padLeft(), g.dh(), g.dw(), g.group(), zp);
        }
        stream.synchronize();
        dacc.copyTo(acc);
        return acc;
    }

    /** x (slot X) → NHWC s8 (slot XH); w (slot W) → packed KRSC weights (slot WP) and Σw per channel (slot WSUM). */
    private void prepareOperands(Geometry g, int zp, DeviceBuffer dx, DeviceBuffer dw) {
        long nhwc = g.nhwcBytes();
        DeviceBuffer xh = slot(Slot.XH, nhwc);
        DeviceBuffer wp = slot(Slot.WP, g.packedBytes());
        DeviceBuffer wsum = slot(Slot.WSUM, Math.multiplyExact((long) g.coutP(), Integer.BYTES));
        module.launch("int8_nchw_to_nhwc", gridStride(nhwc), new int[] {ELEMENTWISE_THREADS, 1, 1}, 0, stream,
                dx, xh, g.n(), g.cin(), g.h(), g.w(), g.cinP(), zp);
        module.launch("int8_pack_weights", new int[] {g.coutP(), 1, 1}, new int[] {PACK_THREADS, 1, 1}, 0, stream,
                dw, wp, wsum, g.cout(), g.cin(), g.kh(), g.kw(), g.cinP(), g.kTotal(), g.kPadded());
    }

    /**
     * The fused variant: codes (N, outH, outW, Cout) of y = (acc + bias[c])·scale[c] [+ residual] [activation],
     * quantized with {@code outQ}, computed exactly as IntegerModel's epilogue does. Group 1 only.
     *
     * @param residualNhwc float (N, outH, outW, Cout) added before the activation, or null
     * @param activation   null, {@link Activation.Relu} or {@link Activation.Clip}
     */
    byte[] convFused(byte[] x, int n, int cin, int h, int wd, int zp, byte[] w, int cout, ConvSpec s, int[] bias,
                     float[] scale, float[] residualNhwc, Activation activation, ActivationParams outQ) {
        Geometry g = Geometry.of(n, cin, h, wd, cout, s);
        checkOperands(g, x, w, zp);
        if (g.group() != 1) {
            throw new IllegalArgumentException("int8 fused conv: group " + g.group() + " is not supported (group 1 only)");
        }
        if (bias.length != cout || scale.length != cout
                || residualNhwc != null && residualNhwc.length != g.outputs() || outQ.signed()) {
            throw new IllegalArgumentException("int8 fused conv: bias " + bias.length + ", scale " + scale.length
                    + ", residual " + (residualNhwc == null ? "none" : residualNhwc.length) + " for " + cout
                    + " channels and " + g.outputs() + " outputs; output codes must be unsigned");
        }
        context.makeCurrent();
        byte[] out = new byte[g.outputs()];
        if (out.length == 0) {
            return out;
        }
        DeviceBuffer dx = slot(Slot.X, x.length);
        dx.copyFrom(x);
        DeviceBuffer dw = slot(Slot.W, w.length);
        dw.copyFrom(w);
        prepareOperands(g, zp, dx, dw);
        DeviceBuffer dBias = slot(Slot.BIAS, Math.multiplyExact((long) cout, Integer.BYTES));
        dBias.copyFrom(bias);
        DeviceBuffer dScale = slot(Slot.SCALE, Math.multiplyExact((long) cout, Float.BYTES));
        dScale.copyFrom(scale);
        DeviceBuffer dRes = null;
        if (residualNhwc != null) {
            dRes = slot(Slot.RESIDUAL, Math.multiplyExact((long) residualNhwc.length, Float.BYTES));
            dRes.copyFrom(residualNhwc);
        }
        DeviceBuffer dOut = slot(Slot.OUT, out.length);
        if (poisonOutputs) {
            dOut.fill32(poisonWord);
        }
        Launch l = fusedLaunch(g, zp, dRes, dOut, activation, outQ);
        module.launch(l.name(), g.igemmGrid(), new int[] {Geometry.THREADS, 1, 1}, 0, stream, l.args());
        stream.synchronize();
        dOut.copyTo(out);
        return out;
    }

    private record Launch(String name, Object[] args) {}

    /** The fused igemm's arguments, reading the operands from the XH/WP/WSUM/BIAS/SCALE slots. */
    private Launch fusedLaunch(Geometry g, int zp, DeviceBuffer residual, DeviceBuffer out, Activation act,
                                     ActivationParams outQ) {
        int code;
        float lo = 0f, hi = 0f;
        switch (act) {
            case null -> code = 0;
            case Activation.Relu r -> code = 1;
            case Activation.Clip c -> {
                code = 2;
                lo = c.min();
                hi = c.max();
            }
            default -> throw new IllegalArgumentException("int8 fused conv: activation " + act + " is not fused "
                    + "(ReLU and Clip are)");
        }
        return new Launch("conv2d_int8_igemm_fused", new Object[] {slots[Slot.XH.ordinal()],
                slots[Slot.WP.ordinal()], slots[Slot.WSUM.ordinal()], slots[Slot.BIAS.ordinal()],
                slots[Slot.SCALE.ordinal()], residual, out, g.n(), g.h(), g.w(), g.cinP(), g.cout(), g.outH(),
                g.outW(), g.kw(), g.sh(), g.sw(), g.padTop(), g.padLeft(), g.dh(), g.dw(), g.kTotal(), g.kPadded(), zp,
                code, lo, hi, outQ.scale(), outQ.zeroPoint(), outQ.qmax()});
    }

    /**
     * Times of the fused igemm on one layer, device-resident: random codes, weights, bias and scales are uploaded and
     * transformed once, then only the kernel runs between the CUDA events.
     *
     * @param m           N·outH·outW
     * @param n           Cout
     * @param k           kh·kw·Cin, the real products per output (channel padding is not counted as work)
     * @param inputCopies activation copies rotated through
     */
    public record Timing(long m, int n, long k, int iterations, double medianMs, double minMs, int inputCopies) {
        /** Tera integer operations per second at the median: 2·M·N·K / time. */
        public double tops() {
            return 2.0 * m * n * k / (medianMs * 1e-3) / 1e12;
        }
    }

    /**
     * Times conv2d_int8_igemm_fused (ReLU, no residual) on random operands from {@code seed}. Inputs are rotated over
     * enough copies to exceed twice the L2 cache (at most 8), so that a small layer is not timed from L2 alone.
     */
    public Timing timeFused(int n, int cin, int h, int wd, int cout, ConvSpec s, int warmup, int iterations, long seed) {
        Geometry g = Geometry.of(n, cin, h, wd, cout, s);
        if (g.group() != 1 || iterations < 1 || warmup < 0) {
            throw new IllegalArgumentException("timeFused: group 1 and iterations >= 1 needed, got " + s + ", "
                    + iterations + " iterations");
        }
        context.makeCurrent();
        SplittableRandom r = new SplittableRandom(seed);
        byte[] w = new byte[Math.toIntExact(g.weightBytes())];
        for (int i = 0; i < w.length; i++) w[i] = (byte) (r.nextInt(255) - 127);
        int[] bias = new int[cout];
        float[] scale = new float[cout];
        for (int c = 0; c < cout; c++) {
            bias[c] = r.nextInt(2001) - 1000;
            scale[c] = (float) (1e-4 * (0.5 + r.nextDouble()));
        }
        long l2 = context.attribute(CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE);
        int copies = (int) Math.max(1, Math.min(8, Math.ceilDiv(2 * l2, Math.max(1, g.nhwcBytes()))));
        List<DeviceBuffer> owned = new ArrayList<>();
        try (Arena arena = Arena.ofConfined(); CudaEvent start = CudaEvent.create(); CudaEvent end = CudaEvent.create()) {
            DeviceBuffer dx = slot(Slot.X, g.inputBytes());
            DeviceBuffer dw = slot(Slot.W, w.length);
            dw.copyFrom(w);
            DeviceBuffer dBias = slot(Slot.BIAS, Math.multiplyExact((long) cout, Integer.BYTES));
            dBias.copyFrom(bias);
            DeviceBuffer dScale = slot(Slot.SCALE, Math.multiplyExact((long) cout, Float.BYTES));
            dScale.copyFrom(scale);
            DeviceBuffer dOut = slot(Slot.OUT, g.outputs());
            ActivationParams outQ = new ActivationParams(0.05f, 0, 8, false);
            List<CudaModule.Prepared> runs = new ArrayList<>();
            byte[] x = new byte[Math.toIntExact(g.inputBytes())];
            for (int copy = 0; copy < copies; copy++) {
                for (int i = 0; i < x.length; i++) x[i] = (byte) r.nextInt(256);
                dx.copyFrom(x);
                prepareOperands(g, 128, dx, dw); // NHWC into slot XH, then moved to a buffer of its own
                DeviceBuffer xh = slots[Slot.XH.ordinal()];
                slots[Slot.XH.ordinal()] = null;
                owned.add(xh);
                Launch l = fusedLaunch(g, 128, null, dOut, new Activation.Relu(), outQ);
                l.args()[0] = xh;
                runs.add(module.prepare(arena, l.name(), g.igemmGrid(), new int[] {Geometry.THREADS, 1, 1}, 0, l.args()));
            }
            stream.synchronize();
            for (int i = 0; i < warmup; i++) {
                runs.get(i % copies).run(stream);
            }
            double[] ms = new double[iterations];
            for (int i = 0; i < iterations; i++) {
                start.record(stream);
                runs.get(i % copies).run(stream);
                end.record(stream);
                end.synchronize();
                ms[i] = CudaEvent.elapsedMillis(start, end);
            }
            Arrays.sort(ms);
            long k = Math.multiplyExact((long) g.kh() * g.kw(), cin);
            return new Timing(g.m(), cout, k, iterations, ms[iterations / 2], ms[0], copies);
        } finally {
            for (DeviceBuffer b : owned) b.close();
        }
    }

    /** The buffer of {@code slot}, reallocated only when it is smaller than {@code bytes} (rounded up to words). */
    private DeviceBuffer slot(Slot slot, long bytes) {
        long need = Math.max(4, Math.multiplyExact(Math.ceilDiv(bytes, 4L), 4L)); // fill32 poisons whole words
        DeviceBuffer b = slots[slot.ordinal()];
        if (b == null || b.bytes() < need) {
            slots[slot.ordinal()] = null;
            if (b != null) {
                b.close();
            }
            b = DeviceBuffer.allocate(need);
            slots[slot.ordinal()] = b;
        }
        return b;
    }

    private static int[] gridStride(long count) {
        return new int[] {(int) Math.max(1, Math.min(MAX_GRID_STRIDE_BLOCKS, Math.ceilDiv(count, ELEMENTWISE_THREADS))), 1, 1};
    }

    @Override
    public void close() {
        context.makeCurrent();
        RuntimeException first = null;
        for (int i = 0; i < slots.length; i++) {
            if (slots[i] != null) {
                try {
                    slots[i].close();
                } catch (RuntimeException e) {
                    if (first == null) first = e;
                }
                slots[i] = null;
            }
        }
        try {
            stream.close();
            module.close();
        } finally {
            context.close();
        }
        if (first != null) {
            throw first;
        }
    }
}
