// The device-resident forward pass and its site kernels: fake_quant_affine / fake_quant_uint8 bit for bit against the
// Java quantizers (ties at exactly .5, out-of-range, ±inf, NaN, −0), minmax exactly against a Java loop, the
// percentile histogram count for count and its range exactly as Clipping's histogram path, the softmax KL against
// Sensitivity.klDivergence, and CudaForward.run against the Executor on the CPU backend on the bundled models (full and
// partial batches, replaced and restored weights, fake-quantized sites), with no device allocation inside a run.
package dev.zeroq.backend.cuda;

import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.graph.Executor;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.graph.Op;
import dev.zeroq.graph.ShapeInference;
import dev.zeroq.graph.Transforms;
import dev.zeroq.io.Bundled;
import dev.zeroq.onnx.OnnxImporter;
import dev.zeroq.quant.AffineParams;
import dev.zeroq.quant.AffineQuantizer;
import dev.zeroq.quant.Clipping;
import dev.zeroq.quant.Sensitivity;
import dev.zeroq.quant.SymmetricQuantizer;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

@Tag("gpu")
class CudaForwardTest {
    private static final long SEED = 20250612L;
    // Logits: float sums in another order (implicit-GEMM tiles vs the CPU's vector loops) over a few thousand terms.
    private static final float ATOL = 2e-3f, RTOL = 2e-3f;

    private static KernelHarness gpu;

    @BeforeAll
    static void open() {
        gpu = KernelHarness.open("CudaForwardTest", SEED);
    }

    @AfterAll
    static void close() {
        if (gpu != null) gpu.close();
    }

    // ---- fake-quant kernels, bit for bit ----

    /** Random values, special values, and ties: inputs whose scaled value is exactly k + 0.5. */
    private static float[] values(SplittableRandom r, int n, float lo, float hi) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float) r.nextDouble(-0.5, 1.5); // a quarter out of range each side
        float[] special = {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, Float.MAX_VALUE,
                -Float.MAX_VALUE, Float.MIN_VALUE, 1e30f, -1e30f};
        System.arraycopy(special, 0, x, 0, special.length);
        return x;
    }

    private float[] runFakeQuant(float[] x, CudaForward.FakeQuantSpec spec) {
        gpu.ctx.makeCurrent();
        try (DeviceBuffer b = DeviceBuffer.upload(x)) {
            int[] grid = DevicePlan.grid1d(x.length), block = DevicePlan.block();
            switch (spec) {
                case CudaForward.FakeQuantSpec.Affine a -> gpu.mod.launch("fake_quant_affine", grid, block, 0,
                        gpu.stream, b, (long) x.length, a.params().inverseStep(), a.params().zeroPoint(),
                        (float) a.params().qmin(), (float) a.params().qmax());
                case CudaForward.FakeQuantSpec.Deploy d -> gpu.mod.launch("fake_quant_uint8", grid, block, 0,
                        gpu.stream, b, (long) x.length, d.params().scale(), d.params().zeroPoint(), d.params().qmin(),
                        d.params().qmax());
            }
            gpu.stream.synchronize();
            float[] out = new float[x.length];
            b.copyTo(out);
            return out;
        }
    }

    private void assertBitExact(float[] x, CudaForward.FakeQuantSpec spec, String what) {
        float[] got = runFakeQuant(x, spec);
        for (int i = 0; i < x.length; i++) {
            float want = spec.apply(x[i]);
            if (Float.floatToRawIntBits(want) != Float.floatToRawIntBits(got[i])) {
                fail(what + " " + spec + ": first mismatch at " + i + ": x = " + x[i] + " (bits 0x"
                        + Integer.toHexString(Float.floatToRawIntBits(x[i])) + "), java " + want + ", cuda " + got[i]);
            }
        }
    }

    @Test
    void fakeQuantAffineIsBitExact() {
        SplittableRandom r = new SplittableRandom(SEED);
        // The worked example of AffineParams: [0, 6] at 8 bits, 1.0 is a tie (−85.5 → −86).
        AffineParams ex = AffineQuantizer.params(0f, 6f, 8);
        assertBitExact(new float[] {1f, 7f, -1f, 0f, 3f}, new CudaForward.FakeQuantSpec.Affine(ex), "worked example");
        int ties = 0;
        for (int bits : new int[] {2, 3, 4, 6, 8}) {
            for (int t = 0; t < 20; t++) {
                float lo = t % 3 == 0 ? 0f : (float) r.nextDouble(-5, 0), hi = (float) r.nextDouble(0.01, 10);
                AffineParams p = AffineQuantizer.params(lo, hi, bits);
                float[] x = values(r, 70_001, lo, hi);
                assertBitExact(x, new CudaForward.FakeQuantSpec.Affine(p), "affine bits " + bits);
            }
            // Ties: s a power of two and zp an integer, so s·(k + zp + 0.5)/s − zp is exactly k + 0.5 in float.
            float s = 4f;
            float zp = (float) (1 << (bits - 1)) - 3f;
            AffineParams p = new AffineParams(s, zp, bits);
            float[] x = new float[4 * (1 << bits)];
            for (int i = 0; i < x.length; i++) {
                float k = i - x.length / 2;
                x[i] = (k + zp + 0.5f) / s;
                if (s * x[i] - zp == k + 0.5f) ties++;
            }
            assertBitExact(x, new CudaForward.FakeQuantSpec.Affine(p), "affine ties bits " + bits);
        }
        assertTrue(ties > 100, "the tie inputs must really be ties: " + ties);
    }

    @Test
    void fakeQuantUint8IsBitExact() {
        SplittableRandom r = new SplittableRandom(SEED + 1);
        for (int bits : new int[] {2, 4, 6, 8}) {
            for (int t = 0; t < 20; t++) {
                float lo = t % 3 == 0 ? 0f : (float) r.nextDouble(-5, 0), hi = (float) r.nextDouble(0.01, 10);
                SymmetricQuantizer.ActivationParams p = SymmetricQuantizer.activation(lo, hi, bits);
                assertBitExact(values(r, 70_001, lo, hi), new CudaForward.FakeQuantSpec.Deploy(p), "uint8 bits " + bits);
                SymmetricQuantizer.ActivationParams sym = SymmetricQuantizer.symmetricActivation(hi, bits);
                assertBitExact(values(r, 10_001, -hi, hi), new CudaForward.FakeQuantSpec.Deploy(sym), "signed bits " + bits);
            }
            // Ties: scale 0.5 makes x/scale exactly k + 0.5.
            SymmetricQuantizer.ActivationParams p = new SymmetricQuantizer.ActivationParams(0.5f, 3, bits, false);
            float[] x = new float[4 * (1 << bits)];
            for (int i = 0; i < x.length; i++) x[i] = (i - x.length / 2 + 0.5f) * 0.5f;
            assertBitExact(x, new CudaForward.FakeQuantSpec.Deploy(p), "uint8 ties bits " + bits);
        }
    }

    // ---- min/max ----

    private float[] runMinMax(float[] x) {
        gpu.ctx.makeCurrent();
        int blocks = Math.clamp(Math.ceilDiv(x.length, 8192), 1, 1024);
        long chunk = Math.ceilDiv((long) x.length, blocks);
        try (DeviceBuffer b = DeviceBuffer.upload(x); DeviceBuffer partials = DeviceBuffer.allocateFloats(2L * blocks);
             DeviceBuffer out = DeviceBuffer.allocateFloats(2)) {
            gpu.mod.launch("minmax_partial", new int[] {blocks, 1, 1}, DevicePlan.block(), 0, gpu.stream, b, partials,
                    (long) x.length, chunk);
            gpu.mod.launch("minmax_final", new int[] {1, 1, 1}, DevicePlan.block(), 0, gpu.stream, partials, out, blocks);
            gpu.stream.synchronize();
            float[] r = new float[2];
            out.copyTo(r);
            return r;
        }
    }

    @Test
    void minMaxMatchesJavaExactly() {
        SplittableRandom r = new SplittableRandom(SEED + 2);
        for (int n : new int[] {1, 255, 256, 257, 8191, 8193, 100_003, 3_000_017}) {
            float[] x = new float[n];
            float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                x[i] = (float) (r.nextGaussian() * 3 + 0.5);
                lo = Math.min(lo, x[i]);
                hi = Math.max(hi, x[i]);
            }
            float[] got = runMinMax(x);
            assertEquals(lo, got[0], 0f, "min of " + n + " values");
            assertEquals(hi, got[1], 0f, "max of " + n + " values");
            if (n > 1) {
                x[r.nextInt(n)] = Float.NaN; // sticky: the host then rejects the value as Clipping.minMax does
                float[] nan = runMinMax(x);
                assertTrue(Float.isNaN(nan[0]) && Float.isNaN(nan[1]), "NaN among " + n + " values gave " + nan[0] + ", " + nan[1]);
            }
        }
    }

    // ---- histogram and percentile ----

    /** Runs {@code body} with a DeviceReductions on fresh scratch for up to {@code maxRows} KL rows. */
    private static <T> T withReductions(int maxRows, Function<DeviceReductions, T> body) {
        gpu.ctx.makeCurrent();
        try (DeviceBuffer scratch = DeviceBuffer.allocate(DeviceReductions.scratchBytes(maxRows));
             DeviceReductions red = new DeviceReductions(gpu.mod, gpu.stream, scratch.address(), maxRows)) {
            return body.apply(red);
        }
    }

    /** Clipping.percentileByHistogram's counting loop, as a separate Java reference of the kernel's bins. */
    private static long[] javaHistogram(float[] x, double lo, double width, boolean absolute) {
        long[] c = new long[Clipping.HISTOGRAM_BINS];
        for (float f : x) {
            double v = absolute ? Math.abs(f) : f;
            c[Math.min((int) ((v - lo) / width), Clipping.HISTOGRAM_BINS - 1)]++;
        }
        return c;
    }

    /**
     * Test data: Gaussian; heavy-tailed (Cauchy: almost all values in the first bins, a few far out); ties (integers,
     * every one exactly on a bin edge, since the widths come out as 1 or 2); ReLU-like (a third exact zeros, ±0);
     * all negative (lo &lt; hi &lt; 0); and constant (width 0).
     */
    private static float[] dataset(String kind, int n, SplittableRandom r) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = switch (kind) {
                case "gaussian" -> (float) (r.nextGaussian() * 3 + 0.5);
                case "heavy" -> (float) (0.1 * Math.tan(Math.PI * (r.nextDouble() - 0.5)));
                case "ties" -> (float) r.nextInt(-2048, 2049);
                case "relu" -> r.nextInt(3) == 0 ? (r.nextBoolean() ? 0f : -0f) : (float) Math.abs(r.nextGaussian());
                case "negative" -> (float) (-1 - Math.abs(r.nextGaussian()));
                case "constant" -> 1.25f;
                default -> throw new IllegalArgumentException(kind);
            };
        }
        if (kind.equals("ties") && n > 2) { // make both ends present so that the widths are exactly 2 and 1
            x[0] = -2048f;
            x[1] = 2048f;
        }
        return x;
    }

    private static final String[] DATASETS = {"gaussian", "heavy", "ties", "relu", "negative", "constant"};

    @Test
    void histogramCountsMatchJavaExactly() {
        SplittableRandom r = new SplittableRandom(SEED + 4);
        for (String kind : DATASETS) {
            if (kind.equals("constant")) continue; // width 0: no histogram is taken
            for (int n : new int[] {3, 1000, 70_001, 1_048_583}) {
                float[] x = dataset(kind, n, r);
                for (boolean symmetric : new boolean[] {false, true}) {
                    Clipping.Range full = Clipping.minMax(x, 0, n, symmetric);
                    double lo = Clipping.histogramLow(full, symmetric), width = Clipping.histogramWidth(full, symmetric);
                    if (width == 0) continue;
                    long[] want = javaHistogram(x, lo, width, symmetric);
                    long[] got;
                    try (DeviceBuffer b = DeviceBuffer.upload(x)) {
                        got = withReductions(1, red -> red.histogram(b.address(), n, lo, width, symmetric));
                    }
                    assertArrayEquals(want, got, kind + " n " + n + (symmetric ? " |x|" : " x") + ": counts per bin");
                }
            }
        }
    }

    @Test
    void percentileRangeMatchesClippingsHistogramPathExactly() {
        SplittableRandom r = new SplittableRandom(SEED + 5);
        int big = Clipping.EXACT_PERCENTILE_LIMIT + 48_577; // above the limit: Clipping.percentile takes the histogram
        int checked = 0;
        for (String kind : DATASETS) {
            for (int n : new int[] {1, 4097, big}) {
                float[] x = dataset(kind, n, r);
                try (DeviceBuffer b = DeviceBuffer.upload(x)) {
                    for (boolean symmetric : new boolean[] {false, true}) {
                        for (double p : new double[] {Clipping.DEFAULT_PERCENTILE, 99.9, 99.0, 100.0, 50.001}) {
                            Clipping.Range want = n > Clipping.EXACT_PERCENTILE_LIMIT
                                    ? Clipping.percentile(x, 0, n, p, symmetric)
                                    : Clipping.percentileByHistogram(x, 0, n, p, symmetric);
                            Clipping.Range got = withReductions(1,
                                    red -> red.percentileRange("test", b.address(), n, p, symmetric));
                            assertEquals(want, got, kind + " n " + n + " p " + p + (symmetric ? " symmetric" : ""));
                            checked++;
                        }
                    }
                }
            }
        }
        assertTrue(checked >= 150, "cases checked: " + checked);
        // Non-finite values are rejected as Clipping rejects them.
        float[] x = dataset("gaussian", 5000, r);
        x[1234] = Float.POSITIVE_INFINITY;
        try (DeviceBuffer b = DeviceBuffer.upload(x)) {
            assertThrows(IllegalArgumentException.class, () -> Clipping.percentileByHistogram(x, 0, x.length, 99.99, false));
            assertThrows(IllegalArgumentException.class,
                    () -> withReductions(1, red -> red.percentileRange("test", b.address(), x.length, 99.99, false)));
        }
    }

    @Test
    void sitePercentileRangeOfALargeValueMatchesClipping() {
        Graph g = bundledModels().getFirst();
        // A batch that gives the largest activation more than Clipping's exact limit, so the runner would use the device.
        Map<String, int[]> one = ShapeInference.infer(g, 1);
        long largest = 0;
        for (Node n : g.nodes()) {
            if (n.op() instanceof Op.Unary) largest = Math.max(largest, dev.zeroq.tensor.Shapes.size(one.get(n.output())));
        }
        int batch = (int) Math.min(512, Clipping.EXACT_PERCENTILE_LIMIT / largest + 1);
        Set<String> sites = new HashSet<>();
        for (Node n : g.nodes()) if (n.op() instanceof Op.Unary) sites.add(n.output());
        int[] large = new int[1];
        try (CudaForward f = new CudaForward(g, batch, 0)) {
            f.run(gaussian(g.inputShape(), batch, SEED + 6), v -> {
                if (v.size() > Clipping.EXACT_PERCENTILE_LIMIT) {
                    float[] all = v.download().data();
                    assertEquals(v.size(), all.length, v.name());
                    for (boolean symmetric : new boolean[] {false, true}) {
                        assertEquals(Clipping.percentile(all, 0, all.length, Clipping.DEFAULT_PERCENTILE, symmetric),
                                v.percentileRange(Clipping.DEFAULT_PERCENTILE, symmetric), g.name() + " site " + v.name());
                    }
                    large[0]++;
                }
                return null;
            }, sites);
        }
        assertTrue(large[0] > 0, g.name() + " at batch " + batch + ": no site above " + Clipping.EXACT_PERCENTILE_LIMIT);
    }

    // ---- softmax KL ----

    private static double deviceKl(float[] p, float[] q, int classes) {
        int rows = p.length / classes;
        gpu.ctx.makeCurrent();
        try (DeviceBuffer bp = DeviceBuffer.upload(p); DeviceBuffer bq = DeviceBuffer.upload(q)) {
            return withReductions(rows, red -> red.klDivergence(bp.address(), bq.address(), rows, classes));
        }
    }

    /**
     * 1e-9 relative: both sides work in double from the same float logits, but the kernel sums in a tree where Java
     * loops in order, and CUDA's exp/log may round to the other neighbour of Java's (≤ 1 ulp each). A row's KL then
     * moves by a few ulp of its log-sum-exp, |lse|·1e-16 absolute: for these inputs (KL ≥ ~1e-3, |lse| ≤ ~1e4)
     * below 1e-12 relative, so 1e-9 leaves a wide margin and still catches any formula difference. Zero must be zero.
     */
    private static void assertKl(double want, double got, String what) {
        if (Double.isNaN(want)) {
            assertTrue(Double.isNaN(got), what + ": java NaN, cuda " + got);
            return;
        }
        assertTrue(Math.abs(got - want) <= 1e-9 * Math.abs(want), what + ": java " + want + ", cuda " + got
                + " (relative " + Math.abs(got - want) / Math.abs(want) + ")");
    }

    @Test
    void softmaxKlMatchesSensitivity() {
        SplittableRandom r = new SplittableRandom(SEED + 7);
        for (int classes : new int[] {1, 2, 10, 257, 1000}) {
            for (int rows : new int[] {1, 7, 300}) {
                int n = rows * classes;
                float[] p = new float[n], q = new float[n], big = new float[n], bigQ = new float[n], near = new float[n];
                for (int i = 0; i < n; i++) {
                    p[i] = (float) (r.nextGaussian() * 3);
                    q[i] = (float) (r.nextGaussian() * 3);
                    big[i] = (float) r.nextDouble(-3000, 3000);
                    bigQ[i] = (float) r.nextDouble(-3000, 3000);
                    near[i] = p[i] + (float) (0.05 * r.nextGaussian());
                }
                String at = rows + " rows of " + classes + ": ";
                assertKl(Sensitivity.klDivergence(p, q, classes), deviceKl(p, q, classes), at + "random");
                assertKl(Sensitivity.klDivergence(big, bigQ, classes), deviceKl(big, bigQ, classes), at + "logits in ±3000");
                assertKl(Sensitivity.klDivergence(p, near, classes), deviceKl(p, near, classes), at + "near");
                assertEquals(0.0, Sensitivity.klDivergence(p, p.clone(), classes), 0.0, at + "java, identical");
                assertEquals(0.0, deviceKl(p, p.clone(), classes), 0.0, at + "cuda, identical");
                assertEquals(0.0, deviceKl(big, big.clone(), classes), 0.0, at + "cuda, identical large");
                // Half the rows identical: those contribute exactly 0 on both sides.
                float[] half = q.clone();
                for (int row = 0; row < rows; row += 2) System.arraycopy(p, row * classes, half, row * classes, classes);
                assertKl(Sensitivity.klDivergence(p, half, classes), deviceKl(p, half, classes), at + "half identical");
            }
        }
        // Non-finite maxima throw on both sides; a −∞ logit under a finite max gives the same ∞ or NaN as Java.
        float[] p = {1f, 2f, 3f, 0.5f, -1f, 4f}, q = {0f, 1f, 2f, 3f, 2f, 1f};
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
            float[] pb = p.clone();
            pb[4] = bad;
            assertThrows(IllegalArgumentException.class, () -> Sensitivity.klDivergence(pb, q, 3));
            assertThrows(IllegalArgumentException.class, () -> deviceKl(pb, q, 3));
            assertThrows(IllegalArgumentException.class, () -> deviceKl(q, pb, 3));
        }
        float[] qInf = q.clone();
        qInf[1] = Float.NEGATIVE_INFINITY;
        assertEquals(Sensitivity.klDivergence(p, qInf, 3), deviceKl(p, qInf, 3), 0.0, "−∞ in q");
        assertKl(Sensitivity.klDivergence(qInf, p, 3), deviceKl(qInf, p, 3), "−∞ in p");
    }

    // ---- the forward pass ----

    private static List<Graph> bundledModels() {
        List<Graph> out = new ArrayList<>();
        for (String name : Bundled.MODEL_NAMES) {
            try {
                out.add(OnnxImporter.parse(Bundled.model(name), name + ".onnx").graph());
            } catch (RuntimeException e) {
                System.out.println("skipped bundled model " + name + ": " + e.getMessage());
            }
        }
        assertTrue(!out.isEmpty(), "no bundled model could be loaded");
        return out;
    }

    private static Tensor gaussian(int[] chw, int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n * chw[0] * chw[1] * chw[2]];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        return new Tensor(x, n, chw[0], chw[1], chw[2]);
    }

    private static void assertClose(Tensor want, Tensor got, String what) {
        assertArrayEquals(want.shape(), got.shape(), what + ": shape");
        float[] w = want.data(), g = got.data();
        for (int i = 0; i < w.length; i++) {
            if (!(Math.abs(w[i] - g[i]) <= ATOL + RTOL * Math.abs(w[i]))) {
                fail(what + ": first mismatch at " + i + ": cpu " + w[i] + ", cuda " + g[i] + " (|ref−got| ≤ "
                        + ATOL + " + |ref|·" + RTOL + ")");
            }
        }
    }

    @Test
    void runMatchesTheExecutorOnTheBundledModels() {
        CpuBackend cpu = new CpuBackend();
        for (Graph g : bundledModels()) {
            assertEquals(List.of(), CudaForward.unsupported(g), g.name());
            int max = 9;
            try (CudaForward f = new CudaForward(g, max, 0)) {
                Executor exec = new Executor(g, cpu);
                Tensor x = gaussian(g.inputShape(), max, SEED);
                Tensor want = exec.run(x);
                long allocs = CudaForward.deviceAllocations();
                Tensor got = f.run(x);
                assertClose(want, got, g.name() + " full batch");
                // A smaller batch is a prefix of the planned one.
                Tensor x5 = gaussian(g.inputShape(), 5, SEED + 1);
                assertClose(exec.run(x5), f.run(x5), g.name() + " batch 5 of 9");
                // Replace a conv's weights, then restore them: the same outputs as before, bit for bit. The first conv
                // (one input channel) runs the direct kernel on the weights as stored; the last one the implicit GEMM
                // on a reordered copy, which replacing must reorder too.
                List<Node> convs = g.nodesOf(Op.Conv.class);
                for (Node conv : List.of(convs.getFirst(), convs.getLast())) {
                    Tensor w = g.param(conv.input(1));
                    float[] q = w.data().clone();
                    for (int i = 0; i < q.length; i++) q[i] = Math.round(q[i] * 8) / 8f;
                    Tensor wq = new Tensor(q, w.shape());
                    f.replaceParam(conv.input(1), wq);
                    assertClose(new Executor(Transforms.withParams(g, Map.of(conv.input(1), wq)), cpu).run(x), f.run(x),
                            g.name() + " with conv '" + conv.name() + "' weights replaced");
                    f.restoreParam(conv.input(1));
                    assertArrayEquals(got.data(), f.run(x).data(), g.name() + " after restoring conv '" + conv.name() + "'");
                }
                assertEquals(allocs, CudaForward.deviceAllocations(), "device allocations during runs");
                assertThrows(dev.zeroq.ZeroqException.class, () -> f.run(gaussian(g.inputShape(), max + 1, 1)));
                System.out.printf("CudaForward %s: pool %.1f MB, batch %d%n", g.name(), f.poolBytes() / 1e6, max);
            }
        }
    }

    /**
     * Forward convolutions on cuDNN, every one (ALWAYS) and each where it was the faster at setup (FASTEST): the
     * Executor's outputs, repeats bit for bit as whole passes, no device allocation in a run; and a second FASTEST pass
     * over the same shapes neither times a step nor calls cudnnFind again (the choices are kept for the process).
     */
    @Test
    void convolutionsOnCudnnMatchTheExecutorAndRepeatBitForBit() {
        CudnnConv.Availability a = CudnnConv.available();
        org.junit.jupiter.api.Assumptions.assumeTrue(a.usable(), "cuDNN not usable: " + a.reason());
        CpuBackend cpu = new CpuBackend();
        CudaDistiller.Cudnn[] uses = {CudaDistiller.Cudnn.ALWAYS, CudaDistiller.Cudnn.FASTEST, CudaDistiller.Cudnn.FASTEST};
        for (Graph g : bundledModels()) {
            for (int k = 0; k < uses.length; k++) {
                long timings = ConvChoice.timings(), finds = CudnnConv.finds();
                try (CudaForward f = new CudaForward(g, 6, 0, false, uses[k])) {
                    String s = f.convSummary(), what = g.name() + " " + uses[k] + " #" + k;
                    if (k == 0) {
                        assertTrue(s.matches("convolutions on cuDNN \\(STRICT_FP32\\): (\\d+) of \\1 forward steps "
                                + "\\(every one cuDNN can run\\)") && !s.contains(": 0 of"), what + ": " + s);
                    } else {
                        assertTrue(s.startsWith("convolutions on cuDNN (STRICT_FP32): ") && s.contains("the faster at setup"),
                                what + ": " + s);
                    }
                    if (k == 2) {
                        assertEquals(timings, ConvChoice.timings(), what + ": steps timed again");
                        assertEquals(finds, CudnnConv.finds(), what + ": cudnnFind called again");
                        assertTrue(s.contains("timed earlier in this process"), what + ": " + s);
                    }
                    Tensor x = gaussian(g.inputShape(), 6, SEED + 7);
                    long allocs = CudaForward.deviceAllocations();
                    Tensor logits = f.run(x);
                    assertClose(new Executor(g, cpu).run(x), logits, what);
                    f.setReference(logits);
                    Node last = g.nodesOf(Op.Conv.class).getLast();
                    Tensor w = g.param(last.input(1));
                    float[] q = w.data().clone();
                    for (int i = 0; i < q.length; i++) q[i] = Math.round(q[i] * 4) / 4f;
                    f.replaceParam(last.input(1), new Tensor(q, w.shape()));
                    double again = f.klDivergenceAgain();
                    assertEquals(f.klDivergence(x), again, 0.0, what + ": repeat vs whole pass");
                    assertTrue(again > 0, what + ": the rounded weights change the logits");
                    assertEquals(allocs, CudaForward.deviceAllocations(), what + ": device allocations during runs");
                    System.out.println("CudaForward " + what + ": " + s);
                }
            }
        }
    }

    @Test
    void klDivergenceAgainRerunsFromTheFirstChangedStep() {
        for (Graph g : bundledModels()) {
            try (CudaForward f = new CudaForward(g, 4, 0)) {
                Tensor x = gaussian(g.inputShape(), 3, SEED + 5);
                Tensor logits = f.run(x);
                f.setReference(logits);
                int steps = g.nodes().size();
                assertEquals(0, f.stepsToRepeat(), g.name() + ": a whole pass is held");
                assertEquals(0.0, f.klDivergenceAgain(), 0.0, g.name() + ": unchanged");
                List<Node> convs = g.nodesOf(Op.Conv.class);
                Node last = convs.getLast(), first = convs.getFirst();
                Tensor w = g.param(last.input(1));
                float[] q = w.data().clone();
                for (int i = 0; i < q.length; i++) q[i] = Math.round(q[i] * 4) / 4f;
                f.replaceParam(last.input(1), new Tensor(q, w.shape()));
                f.replaceParam(first.input(1), g.param(first.input(1))); // same values, still a change: rerun from it
                assertEquals(steps - g.nodes().indexOf(first), f.stepsToRepeat(), g.name());
                double again = f.klDivergenceAgain();
                assertEquals(0, f.stepsToRepeat(), g.name());
                assertEquals(f.klDivergence(x), again, 0.0, g.name() + ": repeat vs whole pass");
                f.restoreParam(last.input(1));
                assertEquals(steps - g.nodes().indexOf(last), f.stepsToRepeat(), g.name());
                assertEquals(0.0, f.klDivergenceAgain(), 0.0, g.name() + ": restored");
                // A pass that fake-quantizes a value in place leaves nothing to repeat.
                f.run(x, v -> new CudaForward.FakeQuantSpec.Affine(AffineQuantizer.params(-1f, 1f, 4)), Set.of(g.inputName()));
                IllegalStateException e = assertThrows(IllegalStateException.class, f::klDivergenceAgain);
                assertTrue(e.getMessage().contains("run the images once"), e.getMessage());
                assertEquals(0.0, f.klDivergence(x), 0.0, g.name() + ": a whole pass again");
                assertEquals(0.0, f.klDivergenceAgain(), 0.0, g.name() + ": and its repeat");
            }
        }
    }

    @Test
    void sitesSeeEveryProducedValueAndAreQuantizedInPlace() {
        CpuBackend cpu = new CpuBackend();
        for (Graph g : bundledModels()) {
            Set<String> sites = new HashSet<>();
            sites.add(g.inputName());
            for (Node n : g.nodes()) if (n.op() instanceof Op.Unary) sites.add(n.output());
            Tensor x = gaussian(g.inputShape(), 6, SEED + 3);
            // Host reference: min/max of each site value, then 8-bit affine fake quantization of it.
            List<String> order = new ArrayList<>();
            List<float[]> ranges = new ArrayList<>();
            Tensor xin = quantizeHost(x, ranges);
            order.add(g.inputName());
            Tensor want = new Executor(g, cpu).run(xin, (node, i, v) -> {
                if (!sites.contains(node.outputs().get(i))) return v;
                order.add(node.outputs().get(i));
                return quantizeHost(v, ranges);
            });
            List<String> seen = new ArrayList<>();
            List<float[]> got = new ArrayList<>();
            try (CudaForward f = new CudaForward(g, 6, 0)) {
                Tensor out = f.run(x, v -> {
                    seen.add(v.name());
                    float[] mm = v.minMax();
                    got.add(mm);
                    Tensor all = v.download();
                    float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
                    for (float e : all.data()) { lo = Math.min(lo, e); hi = Math.max(hi, e); }
                    assertEquals(lo, mm[0], 0f, v.name() + ": device min vs its own download");
                    assertEquals(hi, mm[1], 0f, v.name() + ": device max vs its own download");
                    return new CudaForward.FakeQuantSpec.Affine(AffineQuantizer.params(Math.min(0f, mm[0]), Math.max(0f, mm[1]), 8));
                }, sites);
                assertEquals(order, seen, g.name() + ": sites in production order");
                for (int i = 0; i < ranges.size(); i++) {
                    float[] a = ranges.get(i), b = got.get(i);
                    // Upstream values differ by float summation order; a value within that of a rounding boundary
                    // can take the neighbouring code, which moves downstream ranges by a fraction of one step.
                    float tol = (Math.max(0f, a[1]) - Math.min(0f, a[0])) / 255f + 1e-5f;
                    assertTrue(Math.abs(a[0] - b[0]) <= tol && Math.abs(a[1] - b[1]) <= tol, g.name() + " site "
                            + order.get(i) + ": cpu range " + a[0] + ".." + a[1] + ", cuda " + b[0] + ".." + b[1]);
                }
                float[] w = want.data(), o = out.data();
                double worst = 0;
                for (int i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(w[i] - o[i]));
                float scale = 0;
                for (float v : w) scale = Math.max(scale, Math.abs(v));
                assertTrue(worst <= 0.02 * scale + 1e-3, g.name() + ": fake-quantized logits differ by " + worst
                        + " (largest logit " + scale + ")");
            }
        }
    }

    private static Tensor quantizeHost(Tensor v, List<float[]> ranges) {
        float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
        for (float e : v.data()) { lo = Math.min(lo, e); hi = Math.max(hi, e); }
        ranges.add(new float[] {lo, hi});
        AffineParams p = AffineQuantizer.params(Math.min(0f, lo), Math.max(0f, hi), 8);
        float[] out = new float[v.size()];
        p.fakeQuant(v.data(), 0, v.size(), out);
        return new Tensor(out, v.shape());
    }
}
