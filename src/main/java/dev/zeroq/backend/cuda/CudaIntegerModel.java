// The integer engine of a deploy plan kept on one CUDA device: IntegerModel's decisions (sites, fused chains, int8
// weights, int32 bias, float scales) compiled into a chain of device kernels for up to a maximum batch, with the
// activations staying on the device as uint8 codes in NHWC from one fused tensor-core conv to the next.
package dev.zeroq.backend.cuda;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.Activation;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.PoolSpec;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.graph.Op;
import dev.zeroq.graph.ShapeInference;
import dev.zeroq.int8.IntegerModel;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.quant.SymmetricQuantizer.ActivationParams;
import dev.zeroq.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link QuantPlan.Scheme#DEPLOY} plan run on one CUDA device, as {@link IntegerModel} runs it on the CPU.
 *
 * <p>Layout on the device. Every coded value is held as <i>shifted</i> codes s8 = q ^ 0x80 (= q − 128) in NHWC with
 * the channel stride padded to 16, which is exactly the A operand that conv2d_int8_igemm's main loop reads: a layer
 * writes its codes straight into the next layer's input and nothing runs between two convs. Values the CPU engine
 * holds as float (a layer output that is not a site, e.g. the last conv of a ResNet block whose shortcut conv adds
 * it, or the logits) are float NHWC.
 *
 * <p>Kernels: the graph input is quantized by int8_quantize_nhwc; every integer layer (Conv, and Gemm as a 1×1 conv)
 * is one conv2d_int8_igemm_chain launch (conv2d_int8_igemm_chain64, 128 × 64 tiles, for at most 64 output channels)
 * with bias, scale, residual (codes or float), ReLU/Clip and requantization
 * fused (the chain IntegerModel chose). A layer with codes out, or float out without a residual, runs the same on
 * conv2d_int8_igemm_lean* instead, whose shorter epilogue gives the same codes bit for bit ({@link Lean}). A conv with
 * few input channels (where gathering only the real taps at least halves K: the stem) first has its taps gathered by int8_im2col_nhwc into (N, outH, outW, kh·kw·C
 * rounded up to 16) rows, which the igemm then runs as a 1×1 conv without multiplying channel padding ({@link #im2colPath});
 * MaxPool on codes, GlobalAveragePool, and Add/ReLU/Clip left outside the epilogues (in float, as the CPU engine
 * runs them) have their own small kernels; Flatten/Reshape/Identity of a (N, C, 1, 1) value are aliases. Weights are
 * packed once (int8_pack_weights) when the model is built. Anything else (grouped convs, other float ops,
 * requantizing codes, broadcasting adds) throws a {@link ZeroqException} naming the node at construction.
 *
 * <p>Agreement with the CPU engine: every kernel computes the CPU engine's float expressions with the same
 * roundings (no FMA contraction, IEEE division, the global average pool's double sum in the same order), and the
 * int32 accumulators are exact (the im2col rows copy the codes and hold the shifted zero point in the padding, as the
 * implicit GEMM's own padding does), so the logits are expected to be <b>bit-identical</b> to
 * {@link IntegerModel#apply}; the GPU test checks this with a tolerance only as a guard (see CudaIntegerModelTest).
 *
 * <p>Device memory: one buffer per value, and one for each im2col'd conv's rows, sized for {@code maxBatch}, none
 * reused (simple: a ResNet-50 at batch 128 needs about 1.5 GB of codes, plus 128·112·112·160 bytes = 257 MB of stem
 * rows). The constructor first sizes every buffer without the device ({@link #plannedBytes}) and refuses a batch
 * whose buffers exceed the free memory in one line, before it allocates anything. Launches are prepared once per
 * batch size used. Not thread-safe.
 */
public final class CudaIntegerModel implements AutoCloseable {
    private static final int CHANNEL_ALIGN = 16;
    private static final int THREADS = 256;
    private static final int MAX_BLOCKS = 65535;
    private static final int PACK_THREADS = 128;
    private static final ConvSpec ONE_BY_ONE =
            new ConvSpec(new int[] {1, 1}, new int[] {1, 1}, new int[] {0, 0, 0, 0}, new int[] {1, 1}, 1);

    /**
     * A value on the device: (N, c, h, w) logically; codes (q != null) as shifted NHWC with channel stride cP, or
     * float NHWC (q == null) with channel stride c.
     */
    private record Val(DeviceBuffer buf, int c, int h, int w, int cP, ActivationParams q) {}

    /** One step of a run, prepared for a given batch size. */
    @FunctionalInterface
    private interface Launcher {
        CudaModule.Prepared prepare(int n);
    }

    private final IntegerModel engine;
    private final Graph graph;
    private final int maxBatch;
    private final CudaContext context;
    private final CudaModule module;
    private final CudaStream stream;
    private final Arena arena = Arena.ofShared(); // prepared kernel arguments, alive as long as this object
    private final List<DeviceBuffer> owned = new ArrayList<>();
    private final Map<String, Val> values = new HashMap<>();
    private final List<Launcher> program = new ArrayList<>();
    private final List<String> labels = new ArrayList<>(); // one per program step: "kernel node" (for profile())
    private final Map<Integer, List<CudaModule.Prepared>> prepared = new HashMap<>();
    private final boolean sizing; // true: build() only adds up the buffers' bytes (plannedBytes), touching no device
    private long bufferBytes;
    private long largestTemporary; // the raw weights of one layer, alive only while that layer is packed
    private DeviceBuffer input;
    private long convMacsPerImage;
    private int convLayers;
    private boolean closed;
    /** {@link #EPILOGUE_PROPERTY} as it was when this engine was built. */
    private final boolean chainEpilogue = "chain".equals(System.getProperty(EPILOGUE_PROPERTY));

    /**
     * Compiles {@code plan} for {@code original} as {@link IntegerModel#compile(Graph, QuantPlan)} does, then builds
     * the device program for up to {@code maxBatch} images on device {@code ordinal}.
     */
    public CudaIntegerModel(Graph original, QuantPlan plan, int maxBatch, int ordinal) {
        this(IntegerModel.compile(original, plan), maxBatch, ordinal);
    }

    /** The device program of an already compiled CPU engine (its decisions are reused, its kernels are not). */
    public CudaIntegerModel(IntegerModel engine, int maxBatch, int ordinal) {
        this(engine, maxBatch, ordinal, true);
    }

    /** With {@code device} false: sizes the buffers only (no driver call at all), for {@link #plannedBytes}. */
    private CudaIntegerModel(IntegerModel engine, int maxBatch, int ordinal, boolean device) {
        if (maxBatch < 1) throw ZeroqException.badInput("batch must be at least 1, got " + maxBatch);
        this.engine = engine;
        this.graph = engine.graph();
        this.maxBatch = maxBatch;
        // Unsupported ops are found before any device work, so a caller without a GPU still learns what is missing.
        List<String> bad = unsupported(engine);
        if (!bad.isEmpty()) {
            throw ZeroqException.badInput("the CUDA integer engine does not support " + String.join(", ", bad));
        }
        this.sizing = !device;
        if (!device) {
            this.context = null;
            this.module = null;
            this.stream = null;
            build();
            return;
        }
        long need = plannedBytes(engine, maxBatch);
        // A blocking stream: the synchronous host copies (legacy stream) are then ordered with its launches.
        DeviceHandles h = DeviceHandles.open(ordinal, "the CUDA integer engine", false, 80, "mma.sync m16n8k32 s8");
        this.context = h.context();
        this.module = h.module();
        this.stream = h.stream();
        try {
            DeviceMemory.requireFree(context, need, "the CUDA integer engine of '" + graph.name() + "' for a batch of "
                    + maxBatch + " image(s)");
            build();
            stream.synchronize(); // weight packing done before the raw weights are freed
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * Device memory the engine allocates for {@code maxBatch} images, in bytes, without a device: every value's buffer
     * (codes padded to 16 channels, or float), the im2col rows of the convs that take {@link #im2colPath}, the packed
     * weights, bias and scales, plus the largest layer's raw weights (freed once packed), each rounded up to
     * {@link #ALLOCATION_ALIGN}. A lower bound: the driver may round allocations more coarsely. Its own context and
     * module memory is not included: it is already taken when the free memory is read. Throws as the constructor does
     * for an unsupported engine.
     */
    public static long plannedBytes(IntegerModel engine, int maxBatch) {
        CudaIntegerModel dry = new CudaIntegerModel(engine, maxBatch, 0, false);
        return Math.addExact(dry.bufferBytes, dry.largestTemporary);
    }

    /**
     * The launches one run of {@code engine} would make, as "kernel node …" labels (those of {@link #profile}),
     * planned without a device: which kernel each layer gets (chain or lean, 128- or 64-wide) can be checked anywhere.
     */
    static List<String> plannedLaunches(IntegerModel engine, int maxBatch) {
        return List.copyOf(new CudaIntegerModel(engine, maxBatch, 0, false).labels);
    }

    /** cuMemAlloc aligns every allocation to at least 256 bytes, so each buffer takes at least a multiple of this. */
    static final long ALLOCATION_ALIGN = 256;

    /**
     * The nodes of the compiled engine this class cannot run, as "Op (node 'name'): why"; empty when it runs them
     * all. Needs no device. Covers the op set of torchvision ResNets and of the bundled resnet_fmnist (BN folded).
     */
    public static List<String> unsupported(IntegerModel engine) {
        Graph g = engine.graph();
        List<String> bad = new ArrayList<>();
        if (engine.quantizer(g.inputName()) == null) bad.add("graph input '" + g.inputName() + "': not a site of the plan");
        for (Node n : g.nodes()) {
            if (engine.isFused(n)) continue;
            IntegerModel.QLayer l = engine.integerLayer(n);
            String why = l != null ? layerProblem(l) : switch (n.op()) {
                case Op.MaxPool p -> null;
                case Op.GlobalAveragePool p -> null;
                case Op.Flatten f -> null;
                case Op.Reshape r -> null;
                case Op.Identity i -> null;
                case Op.Conv c -> "not quantized by the plan (float convolutions do not run here)";
                case Op.Gemm gm -> "not quantized by the plan (float layers do not run here)";
                case Op.Binary b -> b.kind() == dev.zeroq.backend.Backend.BinaryOp.ADD ? null
                        : "only Add runs outside a conv epilogue";
                case Op.Unary u -> u.fn() instanceof Activation.Relu || u.fn() instanceof Activation.Clip ? null
                        : "only ReLU and Clip run outside a conv epilogue";
                default -> "no int8 kernel";
            };
            if (why != null) bad.add(n.op().onnxType() + " (node '" + n.name() + "'): " + why);
        }
        return bad;
    }

    private static String layerProblem(IntegerModel.QLayer l) {
        if (l.conv() && l.spec().group() != 1) return "grouped convolution (group " + l.spec().group() + ")";
        if (l.alpha() != 1f || l.beta() != 1f) return "Gemm alpha/beta other than 1";
        if (l.outQ() != null && l.outQ().signed()) return "signed output codes";
        List<IntegerModel.Step> s = l.steps();
        for (int i = 0; i < s.size(); i++) {
            IntegerModel.Step st = s.get(i);
            boolean addFirst = st.addend() != null && i == 0;
            boolean actLast = st.fn() != null && i == s.size() - 1
                    && (st.fn() instanceof Activation.Relu || st.fn() instanceof Activation.Clip);
            if (!addFirst && !actLast) {
                return "fused chain " + s + " (the kernel fuses at most one add, then one ReLU or Clip)";
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- building

    private void build() {
        if (!sizing) context.makeCurrent();
        Map<String, int[]> shapes = ShapeInference.infer(graph, maxBatch);
        int[] xs = shapes.get(graph.inputName());
        if (xs.length != 4) throw ZeroqException.badInput("the CUDA integer engine needs an (N, C, H, W) input, got "
                + Arrays.toString(xs));
        input = allocateFloats((long) maxBatch * xs[1] * xs[2] * xs[3]);
        ActivationParams inQ = engine.quantizer(graph.inputName());
        Val x = codes(xs[1], xs[2], xs[3], inQ);
        values.put(graph.inputName(), x);
        DeviceBuffer in = input;
        step("int8_quantize_nhwc " + graph.inputName(), n -> prepare("int8_quantize_nhwc",
                grid((long) n * x.h() * x.w() * x.cP() / CHANNEL_ALIGN), in, x.buf(), n, x.c(), x.h(), x.w(), x.cP(), 1,
                inQ.scale(), inQ.zeroPoint(), inQ.qmax()));
        for (Node node : graph.nodes()) {
            if (engine.isFused(node)) continue;
            IntegerModel.QLayer l = engine.integerLayer(node);
            if (l != null) {
                layer(l);
            } else {
                other(node, shapes);
            }
        }
        if (!values.containsKey(graph.outputName())) {
            throw ZeroqException.internal("graph output '" + graph.outputName() + "' is not produced on the device");
        }
    }

    private void layer(IntegerModel.QLayer l) {
        String name = l.node().name();
        Val x = values.get(l.node().input(0));
        if (x == null) throw ZeroqException.internal("layer " + name + ": input '" + l.node().input(0) + "' not on the device");
        x = asCodes(x, l.in(), name);
        ConvSpec spec = l.conv() ? l.spec() : ONE_BY_ONE;
        if (!l.conv() && (x.h() != 1 || x.w() != 1)) {
            throw ZeroqException.badInput("layer " + name + ": a Gemm needs a (N, K) input, got spatial " + x.h() + "x" + x.w());
        }
        CudaInt8Kernels.Geometry g = CudaInt8Kernels.Geometry.of(maxBatch, x.c(), x.h(), x.w(), l.cout(), spec);
        if (g.weightBytes() != l.wq().length || g.cinP() != x.cP()) {
            throw ZeroqException.internal("layer " + name + ": " + l.wq().length + " weights for geometry " + g);
        }
        // The igemm's operands: the layer's own input, geometry and weights, or for a few-channel conv (the stem) its
        // im2col rows as the input of a 1×1 conv and the weights rearranged in the rows' k order (see im2colPath).
        Val xin = x;
        ConvSpec igemmSpec = spec;
        CudaInt8Kernels.Geometry gi = g;
        byte[] wq = l.wq();
        boolean im2col = im2colPath(l.conv(), x.c(), spec);
        if (im2col) {
            // (N, outH, outW, kP) shifted codes, every byte written by int8_im2col_nhwc (taps, padding and K tail).
            int kc = Math.multiplyExact(g.kh() * g.kw(), g.cin());
            int kP = Math.multiplyExact(Math.ceilDiv(kc, CHANNEL_ALIGN), CHANNEL_ALIGN);
            Val col = new Val(allocate(Math.multiplyExact(Math.multiplyExact((long) maxBatch * g.outH(), g.outW()), kP)),
                    kc, g.outH(), g.outW(), kP, x.q());
            xin = col;
            igemmSpec = ONE_BY_ONE;
            gi = CudaInt8Kernels.Geometry.of(maxBatch, kc, g.outH(), g.outW(), l.cout(), igemmSpec);
            wq = im2colWeights(l.wq(), g.cout(), g.cin(), g.kh(), g.kw());
            if (gi.weightBytes() != wq.length || gi.cinP() != col.cP()) {
                throw ZeroqException.internal("layer " + name + ": " + wq.length + " rearranged weights for geometry " + gi);
            }
            final Val src = x;
            final int zp = x.q().zeroPoint();
            step("int8_im2col_nhwc " + name, n -> prepare("int8_im2col_nhwc",
                    grid((long) n * col.h() * col.w() * (kP / CHANNEL_ALIGN)), src.buf(), col.buf(), n, src.h(), src.w(),
                    src.c(), src.cP(), col.h(), col.w(), g.kh(), g.kw(), g.sh(), g.sw(), g.padTop(), g.padLeft(), g.dh(),
                    g.dw(), kP, zp));
        }
        // Weights: the int8 codes uploaded once, packed on the device into the igemm's B layout with Σw per channel.
        long rawBytes = Math.max(4, wq.length);
        largestTemporary = Math.max(largestTemporary, aligned(rawBytes));
        DeviceBuffer wp = allocate(gi.packedBytes());
        DeviceBuffer wsum = allocate((long) gi.coutP() * Integer.BYTES);
        DeviceBuffer bias = allocate((long) l.cout() * Integer.BYTES);
        DeviceBuffer scale = allocateFloats(l.cout());
        if (!sizing) {
            DeviceBuffer raw = DeviceBuffer.allocate(rawBytes);
            try {
                raw.copyFrom(wq);
                module.launch("int8_pack_weights", new int[] {gi.coutP(), 1, 1}, new int[] {PACK_THREADS, 1, 1}, 0, stream,
                        raw, wp, wsum, gi.cout(), gi.cin(), gi.kh(), gi.kw(), gi.cinP(), gi.kTotal(), gi.kPadded());
                stream.synchronize();
            } finally {
                raw.close();
            }
            bias.copyFrom(l.bias());
            scale.copyFrom(l.scale());
        }

        // The fused chain: layerProblem() admitted at most one add (first) and one activation (last).
        Val res = null;
        int act = 0;
        float lo = 0f, hi = 0f;
        for (IntegerModel.Step s : l.steps()) {
            if (s.addend() != null) {
                res = values.get(s.addend());
                if (res == null) throw ZeroqException.internal("layer " + name + ": addend '" + s.addend() + "' not on the device");
                if (res.c() != g.cout() || res.h() != g.outH() || res.w() != g.outW()) {
                    throw ZeroqException.internal("layer " + name + ": addend '" + s.addend() + "' does not match the output");
                }
            } else if (s.fn() instanceof Activation.Clip c) {
                act = 2;
                lo = c.min();
                hi = c.max();
            } else {
                act = 1;
            }
        }
        Val out = l.outQ() != null ? codes(g.cout(), g.outH(), g.outW(), l.outQ()) : floats(g.cout(), g.outH(), g.outW());
        values.put(l.out(), out);
        if (l.conv()) {
            convLayers++;
            convMacsPerImage += (long) g.outH() * g.outW() * g.cout() * g.kh() * g.kw() * g.cin();
        }
        final Val r = res, xi = xin;
        final ConvSpec is = igemmSpec;
        final int a = act;
        final float lof = lo, hif = hi;
        final int resMode = r == null ? 0 : r.q() == null ? 1 : 2;
        final int resStride = r == null ? 0 : r.q() == null ? r.c() : r.cP();
        final float resScale = r == null || r.q() == null ? 0f : r.q().scale();
        final int resZp = r == null || r.q() == null ? 0 : r.q().zeroPoint();
        ActivationParams oq = l.outQ();
        // The step's label after the kernel name (profile() prints it): node, geometry, the im2col form, a residual.
        String what = name + " " + g.kh() + "x" + g.kw() + "/" + g.sh() + " " + g.cin() + "->" + g.cout() + " out "
                + g.outH() + "x" + g.outW() + (im2col ? " as 1x1 " + xi.c() + "->" + g.cout() : "")
                + (r == null ? "" : " +res");
        Lean lean = chainEpilogue ? null : Lean.of(wq, l.cout(), gi.coutP(), l.bias(), l.scale(), xin.q().zeroPoint(),
                oq, resMode, act, lo, hi);
        if (lean != null) {
            DeviceBuffer chan = allocate((long) lean.chan().length * Integer.BYTES);
            if (!sizing) chan.copyFrom(lean.chan());
            final String kernel = lean.kernel(l.cout());
            step(kernel + " " + what, n -> {
                CudaInt8Kernels.Geometry gn = CudaInt8Kernels.Geometry.of(n, xi.c(), xi.h(), xi.w(), l.cout(), is);
                return module.prepare(arena, kernel, chainGrid(gn), new int[] {CudaInt8Kernels.Geometry.THREADS, 1, 1},
                        0, xi.buf(), wp, chan, r == null ? null : r.buf(), resStride, resScale, resZp, out.buf(),
                        oq == null ? out.c() : out.cP(), n, gn.h(), gn.w(), gn.cinP(), gn.cout(), gn.outH(), gn.outW(),
                        gn.kw(), gn.sh(), gn.sw(), gn.padTop(), gn.padLeft(), gn.dh(), gn.dw(), gn.kTotal(),
                        gn.kPadded(), xi.q().zeroPoint(), oq == null ? 1f : oq.scale(), lean.inv(), lean.lim(),
                        lean.kLo(), lean.kHi(), lean.zpS(), lean.act(), lean.lo(), lean.hi());
            });
            return;
        }
        final String kernel = chainKernel(l.cout());
        step(kernel + " " + what, n -> {
            CudaInt8Kernels.Geometry gn = CudaInt8Kernels.Geometry.of(n, xi.c(), xi.h(), xi.w(), l.cout(), is);
            return module.prepare(arena, kernel, chainGrid(gn), new int[] {CudaInt8Kernels.Geometry.THREADS, 1, 1},
                    0, xi.buf(), wp, wsum, bias, scale, r == null ? null : r.buf(), resMode, resStride, resScale, resZp,
                    out.buf(), oq == null ? 1 : 0, oq == null ? out.c() : out.cP(), n, gn.h(), gn.w(), gn.cinP(), gn.cout(),
                    gn.outH(), gn.outW(), gn.kw(), gn.sh(), gn.sw(), gn.padTop(), gn.padLeft(), gn.dh(), gn.dw(),
                    gn.kTotal(), gn.kPadded(), xi.q().zeroPoint(), a, lof, hif, oq == null ? 1f : oq.scale(),
                    oq == null ? 0 : oq.zeroPoint(), oq == null ? 255 : oq.qmax());
        });
    }

    /**
     * System property {@value}, read when an engine is built: {@code chain} runs every layer on
     * conv2d_int8_igemm_chain* (the epilogue before the lean kernels), for comparing the two on a device (the codes
     * are the same); unset or anything else picks the lean kernels where {@link Lean#of} admits a layer.
     */
    public static final String EPILOGUE_PROPERTY = "zeroq.int8.epilogue";

    /**
     * A layer's operands for conv2d_int8_igemm_lean* (see its header in conv2d_int8_igemm.cu): the same codes (or
     * floats) as the chain kernel, bit for bit, with a shorter epilogue.
     *
     * @param chan per output channel (coutP of them, zero past cout) the pair {bias − (zp − 128)·Σw, scale's float bits}
     * @param inv  RN(1 / outScale), the reciprocal the exact quotient starts from
     * @param lim  1024·outScale: y is clamped to ±lim (every |y / outScale| ≥ 512 gives the same saturated code)
     * @param kLo  the lowest code the layer's output can take (0, or quantize(0) after ReLU, or quantize(lo) after Clip)
     *             minus the zero point; {@code kHi} likewise the highest
     * @param zpS  outZp − 128: the stored code is q ^ 0x80 = q − 128
     * @param wide whether some |acc + bias| may exceed 2^24 (the kernel then keeps the double-precision product)
     * @param resMode the residual added: 0 none, 1 float, 2 codes (as the chain kernel's resMode)
     * @param floatOut float output (no quantizer; inv, lim, kLo, kHi, zpS unused): the activation {@code act} (0 none,
     *             1 ReLU, 2 Clip to [lo, hi]) runs in float; with codes out it is folded into kLo/kHi
     */
    record Lean(int[] chan, float inv, float lim, int kLo, int kHi, int zpS, boolean wide, int resMode,
                boolean floatOut, int act, float lo, float hi) {
        /** The widest scale range for which the kernel's quotient steps neither overflow nor underflow. */
        private static final float SCALE_MIN = 0x1p-60f, SCALE_MAX = 0x1p60f;

        /**
         * The lean operands of a layer, or null where it needs the chain kernel: float output with a residual or at
         * most 64 channels (no such entry point), an output scale outside [2^−60, 2^60], or a channel where 255·Σ|w| + |bias| (the bound of |Σ (q − zp)·w + bias|)
         * reaches 2^31 − 1, so that the one int32 add could wrap where IntegerModel's long sum does not.
         *
         * @param wq     int8 weights, channel after channel ({@code wq.length / cout} each)
         * @param zp     the input codes' zero point; {@code resMode} 0 none, 1 float, 2 codes; {@code act} 0 none,
         *               1 ReLU, 2 Clip to [lo, hi]
         */
        static Lean of(byte[] wq, int cout, int coutP, int[] bias, float[] scale, int zp, ActivationParams oq,
                       int resMode, int act, float lo, float hi) {
            if (oq == null ? resMode != 0 || cout <= NARROW_TILE : !(oq.scale() >= SCALE_MIN && oq.scale() <= SCALE_MAX)) {
                return null;
            }
            int k = wq.length / cout;
            int[] chan = new int[2 * coutP];
            long bound = 0;
            for (int c = 0; c < cout; c++) {
                int sum = 0;
                long abs = 0;
                for (int i = c * k; i < (c + 1) * k; i++) {
                    sum += wq[i];
                    abs += Math.abs(wq[i]);
                }
                bound = Math.max(bound, 255 * abs + Math.abs((long) bias[c]));
                chan[2 * c] = bias[c] - (zp - 128) * sum; // int arithmetic wraps like the device's
                chan[2 * c + 1] = Float.floatToRawIntBits(scale[c]);
            }
            if (bound >= Integer.MAX_VALUE) return null;
            if (oq == null) return new Lean(chan, 0f, 0f, 0, 0, 0, bound > 1 << 24, 0, true, act, lo, hi);
            int qLo = act == 0 ? 0 : oq.quantize(act == 1 ? 0f : lo);
            int qHi = act == 2 ? oq.quantize(hi) : oq.qmax();
            return new Lean(chan, 1f / oq.scale(), 1024f * oq.scale(), qLo - oq.zeroPoint(), qHi - oq.zeroPoint(),
                    oq.zeroPoint() - 128, bound > 1 << 24, resMode, false, act, lo, hi);
        }

        /**
         * conv2d_int8_igemm_lean[64][_resf|_res][_wide], or conv2d_int8_igemm_lean_f[_wide] for float out: the tile
         * width as for {@link #chainKernel}.
         */
        String kernel(int cout) {
            if (floatOut) return "conv2d_int8_igemm_lean_f" + (wide ? "_wide" : "");
            return "conv2d_int8_igemm_lean" + (cout <= NARROW_TILE ? "64" : "")
                    + (resMode == 1 ? "_resf" : resMode == 2 ? "_res" : "") + (wide ? "_wide" : "");
        }
    }

    /**
     * The chain kernel for a layer of {@code cout} output channels: conv2d_int8_igemm_chain64 (128 × 64 tiles) up to
     * 64 channels, where the 128-wide tile would spend half its work on padded channels; conv2d_int8_igemm_chain
     * otherwise. Both compute the same values (the packed weights are the same, rows padded to 128).
     */
    static String chainKernel(int cout) {
        return cout <= NARROW_TILE ? "conv2d_int8_igemm_chain64" : "conv2d_int8_igemm_chain";
    }

    /** The chain kernel's grid: (⌈M / 128⌉, Cout tiles), the tiles 64 wide for the narrow kernel. */
    static int[] chainGrid(CudaInt8Kernels.Geometry g) {
        int[] grid = g.igemmGrid();
        if (g.cout() <= NARROW_TILE) grid[1] = 1;
        return grid;
    }

    /** conv2d_int8_igemm_chain64's N tile. */
    private static final int NARROW_TILE = 64;

    /**
     * Whether a layer runs as int8_im2col_nhwc followed by a 1×1 igemm: a conv (not a Gemm) with more than one tap
     * whose input channels C are not a multiple of 16 (in practice the stem: C = 1 or 3). The implicit GEMM's K is
     * kh·kw·cP with cP = C rounded up to 16, so there most of its products multiply channel padding (ResNet-50's
     * 7×7 stem: 147 real products of K = 784, 832 with the K tile); its im2col rows hold only the kh·kw·C real taps,
     * rounded up to 16 (160, 192 with the K tile), at the price of one (N, outH, outW, that) buffer and one
     * elementwise pass. Taken only where that at least halves the K the tensor cores run (with the 64-wide K tile):
     * 1×1 convs and convs with 16·k channels gain nothing, and e.g. a 3×3 conv of 17 channels (320 → 192) not
     * enough to pay for a rows buffer nine times its input.
     */
    static boolean im2colPath(boolean conv, int cin, ConvSpec spec) {
        int[] k = spec.kernel();
        if (!conv || spec.group() != 1 || cin % CHANNEL_ALIGN == 0) return false;
        long taps = (long) k[0] * k[1];
        long cP = Math.ceilDiv(cin, CHANNEL_ALIGN) * (long) CHANNEL_ALIGN;
        long direct = Math.ceilDiv(taps * cP, K_TILE) * K_TILE;
        long rows = Math.ceilDiv(Math.ceilDiv(taps * cin, CHANNEL_ALIGN) * CHANNEL_ALIGN, K_TILE) * K_TILE;
        return 2 * rows <= direct;
    }

    /** conv2d_int8_igemm's K tile (I8_BK): kPadded is K rounded up to it. */
    private static final int K_TILE = 64;

    /**
     * Weights (Cout, C, kh, kw) rearranged to (Cout, kh·kw·C, 1, 1) in int8_im2col_nhwc's row order:
     * w'[co][(r·kw + s)·C + c] = w[co][c][r][s].
     */
    static byte[] im2colWeights(byte[] w, int cout, int cin, int kh, int kw) {
        int taps = Math.multiplyExact(kh, kw), kc = Math.multiplyExact(taps, cin);
        if (w.length != Math.multiplyExact(cout, kc)) {
            throw new IllegalArgumentException(w.length + " weights for (" + cout + ", " + cin + ", " + kh + ", " + kw + ")");
        }
        byte[] out = new byte[w.length];
        for (int co = 0; co < cout; co++)
            for (int c = 0; c < cin; c++)
                for (int rs = 0; rs < taps; rs++) out[co * kc + rs * cin + c] = w[(co * cin + c) * taps + rs];
        return out;
    }

    private void other(Node node, Map<String, int[]> shapes) {
        String name = node.name();
        Val x = values.get(node.input(0));
        if (x == null) throw ZeroqException.internal("node " + name + ": input '" + node.input(0) + "' not on the device");
        ActivationParams want = engine.quantizer(node.output());
        switch (node.op()) {
            case Op.MaxPool p -> {
                if (x.q() == null) throw ZeroqException.badInput("MaxPool (node '" + name + "') on float values is not supported");
                requireSame(want, x.q(), name);
                int[] os = shapes.get(node.output());
                PoolSpec s = p.spec();
                int[] k = s.kernel(), st = s.strides(), pd = s.pads(), d = s.dilations();
                Val out = new Val(allocate((long) maxBatch * os[2] * os[3] * x.cP()), x.c(), os[2], os[3], x.cP(), x.q());
                values.put(node.output(), out);
                step("int8_maxpool_nhwc " + name, n -> prepare("int8_maxpool_nhwc", grid((long) n * out.h() * out.w() * out.cP() / CHANNEL_ALIGN), x.buf(), out.buf(),
                        n, x.h(), x.w(), x.cP(), out.h(), out.w(), k[0], k[1], st[0], st[1], pd[0], pd[1], d[0], d[1]));
            }
            case Op.GlobalAveragePool gp -> {
                Val out = want != null ? codes(x.c(), 1, 1, want) : floats(x.c(), 1, 1);
                values.put(node.output(), out);
                ActivationParams iq = x.q();
                step("int8_global_avg_pool_nhwc " + name, n -> prepare("int8_global_avg_pool_nhwc", grid((long) n * (want != null ? out.cP() : out.c())),
                        x.buf(), iq != null ? 1 : 0, n, x.h() * x.w(), x.cP(), x.c(), iq != null ? iq.scale() : 1f,
                        iq != null ? iq.zeroPoint() : 0, want != null ? 1 : 0,
                        want != null ? null : out.buf(), want != null ? out.buf() : null, out.cP(),
                        want != null ? want.scale() : 1f, want != null ? want.zeroPoint() : 0, want != null ? want.qmax() : 255));
            }
            case Op.Binary bin -> {
                // Add outside an epilogue (e.g. a ResNet's last block, whose ReLU output is no site): float, as the
                // CPU engine runs it on the dequantized operands; quantized afterwards when its output is a site.
                Val y = values.get(node.input(1));
                if (y == null || y.c() != x.c() || y.h() != x.h() || y.w() != x.w()) {
                    throw ZeroqException.badInput("Add (node '" + name + "'): operands of different shapes (broadcast) "
                            + "are not supported");
                }
                values.put(node.output(), floatOp(x, y, 0, 0f, 0f, want, name));
            }
            case Op.Unary u -> {
                if (x.q() != null) {
                    throw ZeroqException.badInput(u.fn() + " (node '" + name + "') on codes outside a conv epilogue is not supported");
                }
                boolean clip = u.fn() instanceof Activation.Clip;
                float lo = clip ? ((Activation.Clip) u.fn()).min() : 0f, hi = clip ? ((Activation.Clip) u.fn()).max() : 0f;
                values.put(node.output(), floatOp(x, null, clip ? 2 : 1, lo, hi, want, name));
            }
            case Op.Flatten f -> values.put(node.output(), view(x, want, node, shapes));
            case Op.Reshape r -> values.put(node.output(), view(x, want, node, shapes));
            case Op.Identity i -> {
                if (x.q() != null) requireSame(want, x.q(), name);
                else if (want != null) throw ZeroqException.badInput("Identity (node '" + name + "'): quantizing a float value is not supported");
                values.put(node.output(), x);
            }
            default -> throw ZeroqException.badInput("the CUDA integer engine does not support " + node.op().onnxType()
                    + " (node '" + name + "')");
        }
    }

    /** act(a [+ b]) in float (int8_float_add_act), then quantized to {@code want} when the result is a site. */
    private Val floatOp(Val a, Val b, int act, float lo, float hi, ActivationParams want, String node) {
        Val out = floats(a.c(), a.h(), a.w());
        step("int8_float_add_act " + node, n -> prepare("int8_float_add_act", grid((long) n * a.h() * a.w() * a.c()),
                a.buf(), a.q() == null ? 1 : 2, a.cP(), a.q() == null ? 0f : a.q().scale(), a.q() == null ? 0 : a.q().zeroPoint(),
                b == null ? null : b.buf(), b == null ? 0 : b.q() == null ? 1 : 2, b == null ? 0 : b.cP(),
                b == null || b.q() == null ? 0f : b.q().scale(), b == null || b.q() == null ? 0 : b.q().zeroPoint(),
                out.buf(), (long) n * a.h() * a.w(), a.c(), act, lo, hi));
        return want == null ? out : asCodes(out, want, node);
    }

    /** Flatten/Reshape of (N, C, 1, 1) to (N, C): the same bytes in NHWC, so an alias. */
    private Val view(Val x, ActivationParams want, Node node, Map<String, int[]> shapes) {
        int[] os = shapes.get(node.output());
        if (x.h() != 1 || x.w() != 1 || os.length != 2 || os[0] != maxBatch || os[1] != x.c()) {
            throw ZeroqException.badInput(node.op().onnxType() + " (node '" + node.name() + "') to " + Arrays.toString(os)
                    + " is supported only from (N, C, 1, 1) to (N, C) (NHWC and NCHW differ otherwise)");
        }
        if (x.q() != null) requireSame(want, x.q(), node.name());
        else if (want != null) throw ZeroqException.badInput(node.op().onnxType() + " (node '" + node.name()
                + "'): quantizing a float value is not supported");
        return x;
    }

    private static void requireSame(ActivationParams want, ActivationParams have, String node) {
        if (want != null && !want.equals(have)) {
            throw ZeroqException.badInput("node '" + node + "': requantizing codes between two quantizers is not supported");
        }
    }

    /** x as codes of q: as is, or quantized on the device when it is float. */
    private Val asCodes(Val x, ActivationParams q, String layer) {
        if (x.q() != null) {
            if (!x.q().equals(q)) {
                throw ZeroqException.badInput("layer " + layer + ": its input codes have another quantizer than its own; "
                        + "requantizing is not supported");
            }
            return x;
        }
        Val c = codes(x.c(), x.h(), x.w(), q);
        step("int8_quantize_nhwc " + layer, n -> prepare("int8_quantize_nhwc", grid((long) n * c.h() * c.w() * c.cP() / CHANNEL_ALIGN), x.buf(), c.buf(), n,
                x.c(), x.h(), x.w(), c.cP(), 0, q.scale(), q.zeroPoint(), q.qmax()));
        return c;
    }

    private Val codes(int c, int h, int w, ActivationParams q) {
        int cP = Math.multiplyExact(Math.ceilDiv(c, CHANNEL_ALIGN), CHANNEL_ALIGN);
        DeviceBuffer b = allocate(Math.max(4, Math.multiplyExact((long) maxBatch * h * w, cP)));
        if (cP != c && !sizing) {
            // Channels ≥ c are never written by the conv kernel: they must read as x = 0, the shifted zero point.
            int pad = (q.zeroPoint() ^ 0x80) & 0xFF;
            b.fill32(pad * 0x01010101);
        }
        return new Val(b, c, h, w, cP, q);
    }

    private Val floats(int c, int h, int w) {
        return new Val(allocateFloats((long) maxBatch * h * w * c), c, h, w, c, null);
    }

    /** A buffer this model owns until close(); while sizing, only its bytes are counted (and null is returned). */
    private DeviceBuffer allocate(long bytes) {
        bufferBytes = Math.addExact(bufferBytes, aligned(bytes));
        if (sizing) return null;
        DeviceBuffer b = DeviceBuffer.allocate(bytes);
        owned.add(b);
        return b;
    }

    /** Room for {@code count} floats (at least one: cuMemAlloc rejects 0 bytes). */
    private DeviceBuffer allocateFloats(long count) {
        return allocate(Math.multiplyExact(Math.max(count, 1L), Float.BYTES));
    }

    private static long aligned(long bytes) {
        return Math.multiplyExact(Math.ceilDiv(bytes, ALLOCATION_ALIGN), ALLOCATION_ALIGN);
    }

    private void step(String label, Launcher launcher) {
        program.add(launcher);
        labels.add(label);
    }

    private CudaModule.Prepared prepare(String kernel, int[] grid, Object... args) {
        return module.prepare(arena, kernel, grid, new int[] {THREADS, 1, 1}, 0, args);
    }

    private static int[] grid(long count) {
        return new int[] {(int) Math.max(1, Math.min(MAX_BLOCKS, Math.ceilDiv(count, THREADS))), 1, 1};
    }

    // ---------------------------------------------------------------- running

    public int maxBatch() {
        return maxBatch;
    }

    /** Kernel launches per run. */
    public int launchesPerRun() {
        return program.size();
    }

    /** Number of integer conv layers, and their multiply-accumulates per image (kh·kw·Cin·Cout·outH·outW, unpadded). */
    public int convLayers() {
        return convLayers;
    }

    public long convMacsPerImage() {
        return convMacsPerImage;
    }

    /** Device name, compute capability and driver. */
    public String describe() {
        context.makeCurrent();
        return context.name() + ", sm_" + context.computeCapability() + ", driver " + CudaContext.driverVersion();
    }

    /** The logits (the graph output, as float) of a batch of at most {@link #maxBatch()} images. */
    public Tensor apply(Tensor x) {
        int n = upload(x);
        for (CudaModule.Prepared p : launches(n)) p.run(stream);
        stream.synchronize();
        return download(n);
    }

    /**
     * As {@link #apply(Tensor)} for {@code n} images read from native memory {@code in} (NCHW floats in native byte
     * order) into native memory {@code out} (the logits, n × outputs floats): the input goes straight from {@code in}
     * to the device and logits that are float (N, C) or (N, C, 1, 1) straight back into {@code out}, none through the
     * Java heap; other outputs (codes, or spatial) are converted on the host as {@link #apply(Tensor)} does.
     */
    public void apply(MemorySegment in, int n, MemorySegment out) {
        int[] want = graph.inputShape();
        long inBytes = (long) n * want[0] * want[1] * want[2] * Float.BYTES;
        Val v = values.get(graph.outputName());
        long outFloats = (long) n * v.c() * v.h() * v.w();
        if (n < 1 || n > maxBatch || !in.isNative() || !out.isNative() || in.byteSize() < inBytes
                || out.byteSize() < outFloats * Float.BYTES) {
            throw ZeroqException.badInput("native segments of " + in.byteSize() + " and " + out.byteSize() + " bytes for "
                    + n + " image(s) of this CUDA integer engine (1 <= N <= " + maxBatch + "): need " + inBytes + " and "
                    + outFloats * Float.BYTES);
        }
        context.makeCurrent();
        input.copyFrom(in.asSlice(0, inBytes));
        for (CudaModule.Prepared p : launches(n)) p.run(stream);
        stream.synchronize();
        if (v.q() == null && v.h() * v.w() == 1) {
            v.buf().copyTo(out.asSlice(0, outFloats * Float.BYTES)); // NHWC with H = W = 1 is NCHW
        } else {
            MemorySegment.copy(download(n).data(), 0, out, ValueLayout.JAVA_FLOAT, 0, Math.toIntExact(outFloats));
        }
    }

    /**
     * Times whole runs on the device: {@code x} is uploaded once before (host copies are not timed), then each run's
     * launches (input quantization to logits) are bracketed by CUDA events; the output is not downloaded.
     *
     * @return the milliseconds of each timed run, in order
     */
    public double[] time(Tensor x, int warmup, int iterations) {
        int n = upload(x);
        List<CudaModule.Prepared> ls = launches(n);
        try (CudaEvent start = CudaEvent.create(); CudaEvent end = CudaEvent.create()) {
            for (int i = 0; i < warmup; i++) {
                for (CudaModule.Prepared p : ls) p.run(stream);
            }
            stream.synchronize();
            double[] ms = new double[iterations];
            for (int i = 0; i < iterations; i++) {
                start.record(stream);
                for (CudaModule.Prepared p : ls) p.run(stream);
                end.record(stream);
                end.synchronize();
                ms[i] = CudaEvent.elapsedMillis(start, end);
            }
            return ms;
        }
    }

    /** One step of a run ("kernel node") and its median device time in a {@link #profile}. */
    public record StepTime(String label, double medianMs) {}

    /**
     * Where a run's device time goes: after {@code warmup} whole runs, {@code iterations} runs with a CUDA event
     * between every two launches; per launch, the median of its event intervals. The events themselves cost a little,
     * so the steps add up to somewhat more than {@link #time}'s whole runs.
     */
    public List<StepTime> profile(Tensor x, int warmup, int iterations) {
        if (iterations < 1) throw ZeroqException.badInput("profile needs at least one iteration, got " + iterations);
        int n = upload(x);
        List<CudaModule.Prepared> ls = launches(n);
        List<CudaEvent> events = new ArrayList<>(ls.size() + 1);
        try {
            for (int i = 0; i <= ls.size(); i++) events.add(CudaEvent.create());
            for (int i = 0; i < warmup; i++) {
                for (CudaModule.Prepared p : ls) p.run(stream);
            }
            double[][] ms = new double[ls.size()][iterations];
            for (int it = 0; it < iterations; it++) {
                events.get(0).record(stream);
                for (int i = 0; i < ls.size(); i++) {
                    ls.get(i).run(stream);
                    events.get(i + 1).record(stream);
                }
                events.get(ls.size()).synchronize();
                for (int i = 0; i < ls.size(); i++) ms[i][it] = CudaEvent.elapsedMillis(events.get(i), events.get(i + 1));
            }
            List<StepTime> out = new ArrayList<>(ls.size());
            for (int i = 0; i < ls.size(); i++) {
                double[] s = ms[i].clone();
                Arrays.sort(s);
                out.add(new StepTime(labels.get(i), s[(s.length - 1) / 2]));
            }
            return out;
        } finally {
            for (CudaEvent e : events) e.close();
        }
    }

    private int upload(Tensor x) {
        int[] want = graph.inputShape(), got = x.shape();
        if (got.length != 4 || got[1] != want[0] || got[2] != want[1] || got[3] != want[2] || got[0] < 1 || got[0] > maxBatch) {
            throw ZeroqException.badInput("input shape " + Arrays.toString(got) + " does not fit this CUDA integer engine: "
                    + "expected (N, " + want[0] + ", " + want[1] + ", " + want[2] + ") with 1 <= N <= " + maxBatch);
        }
        context.makeCurrent();
        input.copyFrom(x.data());
        return got[0];
    }

    private List<CudaModule.Prepared> launches(int n) {
        List<CudaModule.Prepared> ls = prepared.get(n);
        if (ls == null) {
            ls = new ArrayList<>(program.size());
            for (Launcher l : program) ls.add(l.prepare(n));
            prepared.put(n, ls);
        }
        return ls;
    }

    /** The graph output for n images in NCHW float: float values are transposed, codes dequantized, on the host. */
    private Tensor download(int n) {
        Val v = values.get(graph.outputName());
        int hw = v.h() * v.w();
        float[] out = new float[Math.multiplyExact(n * hw, v.c())];
        if (v.q() == null) {
            float[] nhwc = new float[out.length];
            v.buf().copyTo(nhwc);
            for (int b = 0; b < n; b++)
                for (int p = 0; p < hw; p++)
                    for (int c = 0; c < v.c(); c++) out[(b * v.c() + c) * hw + p] = nhwc[(b * hw + p) * v.c() + c];
        } else {
            byte[] q = new byte[Math.multiplyExact(n * hw, v.cP())];
            v.buf().copyTo(q);
            for (int b = 0; b < n; b++)
                for (int p = 0; p < hw; p++)
                    for (int c = 0; c < v.c(); c++) {
                        out[(b * v.c() + c) * hw + p] = v.q().dequantize((q[(b * hw + p) * v.cP() + c] ^ 0x80) & 0xFF);
                    }
        }
        int[] shape = ShapeInference.infer(graph, n).get(graph.outputName());
        return new Tensor(out, shape);
    }

    @Override
    public void close() {
        if (context == null || closed) return;
        closed = true;
        context.makeCurrent();
        RuntimeException first = null;
        List<AutoCloseable> closers = new ArrayList<>(owned);
        owned.clear();
        closers.add(stream);
        closers.add(module);
        closers.add(arena);
        for (AutoCloseable c : closers) {
            try {
                if (c != null) c.close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            } catch (Exception e) {
                if (first == null) first = new IllegalStateException(e);
            }
        }
        context.close();
        if (first != null) throw first;
    }
}
