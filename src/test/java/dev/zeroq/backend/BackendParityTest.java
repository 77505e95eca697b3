package dev.zeroq.backend;

/*
 * One parity suite for every backend: each op on seeded random inputs with small odd shapes (batch 3, C=7,
 * 5×5 and 7×5 planes, sizes that are no multiple of the vector length) compared with RefBackend.
 */

import dev.zeroq.backend.Activation.Clip;
import dev.zeroq.backend.Activation.HardSigmoid;
import dev.zeroq.backend.Activation.HardSwish;
import dev.zeroq.backend.Activation.LeakyRelu;
import dev.zeroq.backend.Activation.Relu;
import dev.zeroq.backend.Activation.Sigmoid;
import dev.zeroq.backend.Backend.BinaryOp;
import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

class BackendParityTest {
    /*
     * |ref − got| ≤ ATOL + |ref|·RTOL. The reference accumulates in double; backends accumulate in float32 in
     * another order (blocked GEMM, FMA, SIMD lanes), which costs up to ~K·2^−24 relative to the sum of |terms|
     * (K ≤ 300 here: ~2e−5), so RTOL 1e−4 covers it with margin; ATOL 1e−5 covers outputs that cancel to
     * near zero, where a relative bound means nothing. Inputs are O(1), so 1e−5 is still far below any bug.
     */
    static final double ATOL = 1e-5, RTOL = 1e-4;
    static final long SEED = 0x2E40_0001L;
    private static final Backend REF = new RefBackend();

    /** Every backend checked against ref. A CUDA backend joins here when it can load. */
    static List<Backend> backends() {
        return List.of(new CpuBackend(1), new CpuBackend(3));
    }

    /** Backend × case, both named so the report reads "cpu[threads=3…], depthwise 3x3 s2". */
    private static Stream<Arguments> cross(List<? extends Named<?>> cases) {
        List<Arguments> out = new ArrayList<>();
        for (Backend b : backends()) {
            for (Named<?> c : cases) {
                out.add(Arguments.of(Named.of(b.toString(), b), c));
            }
        }
        return out.stream();
    }

    // ---------------------------------------------------------------- conv

    record ConvCase(int[] xShape, int cout, int[] k, int[] s, int[] p, int[] d, int group, boolean bias) {
        ConvSpec spec() {
            return new ConvSpec(k, s, p, d, group);
        }
    }

    private static Named<ConvCase> conv(String label, int[] x, int cout, int k, int s, int[] p, int d, int g,
                                        boolean bias) {
        return Named.of(label, new ConvCase(x, cout, new int[] {k, k}, new int[] {s, s}, p, new int[] {d, d}, g, bias));
    }

    private static int[] pads(int p) {
        return new int[] {p, p, p, p};
    }

    static Stream<Arguments> convCases() {
        int[] x55 = {3, 7, 5, 5}, x75 = {3, 7, 7, 5};
        int[] asym = {0, 1, 1, 0};
        return cross(List.of(
                conv("3x3 s1 p1 5x5", x55, 5, 3, 1, pads(1), 1, 1, true),
                conv("3x3 s2 p1 7x5", x75, 6, 3, 2, pads(1), 1, 1, true),
                conv("3x3 s2 asym pads", x75, 6, 3, 2, asym, 1, 1, false),
                conv("1x1 s1 pointwise", x75, 9, 1, 1, pads(0), 1, 1, true),
                conv("1x1 s2", x75, 9, 1, 2, pads(0), 1, 1, false),
                conv("1x1 s1 p1 (not pointwise)", x55, 4, 1, 1, pads(1), 1, 1, true),
                conv("5x5 s1 p2", x55, 4, 5, 1, pads(2), 1, 1, true),
                conv("3x3 dilation 2 p2", x75, 5, 3, 1, pads(2), 2, 1, true),
                conv("depthwise 3x3 s1 p1", x55, 7, 3, 1, pads(1), 1, 7, true),
                conv("depthwise 3x3 s2 p1 7x5", x75, 7, 3, 2, pads(1), 1, 7, true),
                conv("depthwise 3x3 s2 asym pads", x75, 7, 3, 2, asym, 1, 7, false),
                conv("depthwise 3x3 dilation 2 p2", x75, 7, 3, 1, pads(2), 2, 7, true),
                conv("depthwise 5x5 s2 p2", x75, 7, 5, 2, pads(2), 1, 7, true),
                conv("grouped g7 multiplier 2", x55, 14, 3, 1, pads(1), 1, 7, true),
                conv("grouped cin6 g3 s2", new int[] {3, 6, 7, 5}, 9, 3, 2, new int[] {1, 0, 0, 1}, 1, 3, true),
                // Larger cases cross the blocking edges: K = 288 > KC, 17·19 = 323 pixels in ragged NR tiles,
                // 130 output channels > MC, pointwise K = 150.
                conv("large 2x32x17x19 3x3 -> 48", new int[] {2, 32, 17, 19}, 48, 3, 1, pads(1), 1, 1, true),
                conv("large 2x16x17x19 3x3 s2 -> 130", new int[] {2, 16, 17, 19}, 130, 3, 2, pads(1), 1, 1, true),
                conv("large pointwise 2x150x17x19 -> 70", new int[] {2, 150, 17, 19}, 70, 1, 1, pads(0), 1, 1, false),
                conv("large depthwise 2x32x17x19 s1", new int[] {2, 32, 17, 19}, 32, 3, 1, pads(1), 1, 32, true),
                // Above the size where the cpu backend splits depthwise planes over threads (small ones run serially).
                conv("large depthwise 2x64x31x29 s1", new int[] {2, 64, 31, 29}, 64, 3, 1, pads(1), 1, 64, true)));
    }

    @ParameterizedTest(name = "{0}: conv {1}")
    @MethodSource("convCases")
    void conv2d(Backend backend, ConvCase c) {
        Random r = new Random(SEED);
        int cinG = c.xShape()[1] / c.group();
        Tensor x = random(r, c.xShape());
        Tensor w = random(r, c.cout(), cinG, c.k()[0], c.k()[1]);
        Tensor b = c.bias() ? random(r, c.cout()) : null;
        assertClose(REF.conv2d(x, w, b, c.spec()), backend.conv2d(x, w, b, c.spec()));
    }

    @ParameterizedTest(name = "{0}: conv backward-data {1}")
    @MethodSource("convCases")
    void conv2dBackwardData(Backend backend, ConvCase c) {
        Random r = new Random(SEED + 1);
        ConvSpec s = c.spec();
        Tensor w = random(r, c.cout(), c.xShape()[1] / c.group(), c.k()[0], c.k()[1]);
        Tensor gradOut = random(r, c.xShape()[0], c.cout(), s.outH(c.xShape()[2]), s.outW(c.xShape()[3]));
        assertClose(REF.conv2dBackwardData(gradOut, w, s, c.xShape()), backend.conv2dBackwardData(gradOut, w, s, c.xShape()));
    }

    // ---------------------------------------------------------------- pooling

    static Stream<Arguments> poolCases() {
        return cross(List.of(
                pool("max 3x3 s2 p1", true, 3, 2, pads(1), 1, false, false),
                pool("max 2x2 s2 ceil", true, 2, 2, pads(0), 1, true, false),
                pool("max 3x3 s1 dilation 2 p1", true, 3, 1, pads(1), 2, false, false),
                pool("max 3x3 s2 asym pads ceil", true, 3, 2, new int[] {0, 1, 1, 0}, 1, true, false),
                pool("avg 3x3 s2 p1 count_include_pad", false, 3, 2, pads(1), 1, false, true),
                pool("avg 3x3 s2 p1 exclude pad", false, 3, 2, pads(1), 1, false, false),
                pool("avg 2x2 s2 ceil count_include_pad", false, 2, 2, pads(0), 1, true, true),
                pool("avg 3x3 s2 asym pads ceil exclude pad", false, 3, 2, new int[] {1, 0, 1, 1}, 1, true, false),
                pool("avg 3x3 s1 asym pads count_include_pad", false, 3, 1, new int[] {0, 1, 1, 0}, 1, false, true)));
    }

    record PoolCase(boolean max, PoolSpec spec) {}

    private static Named<PoolCase> pool(String label, boolean max, int k, int s, int[] p, int d, boolean ceil,
                                        boolean includePad) {
        return Named.of(label, new PoolCase(max, new PoolSpec(new int[] {k, k}, new int[] {s, s}, p,
                new int[] {d, d}, ceil, includePad)));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("poolCases")
    void pool(Backend backend, PoolCase c) {
        // 40 columns: full vectors plus a ragged tail, besides the small planes that fit in one vector.
        // 3×7×70×50 is above the size where the cpu backend goes multi-threaded; the others run serially.
        for (int[] shape : List.of(new int[] {3, 7, 5, 5}, new int[] {3, 7, 7, 5}, new int[] {2, 5, 17, 40},
                new int[] {3, 7, 70, 50})) {
            Tensor x = random(new Random(SEED), shape);
            Tensor want = c.max() ? REF.maxPool(x, c.spec()) : REF.avgPool(x, c.spec());
            Tensor got = c.max() ? backend.maxPool(x, c.spec()) : backend.avgPool(x, c.spec());
            assertClose(want, got);
        }
    }

    @ParameterizedTest(name = "{0}: backward {1}")
    @MethodSource("poolCases")
    void poolBackward(Backend backend, PoolCase c) {
        Random r = new Random(SEED + 2);
        int[] shape = {3, 7, 7, 5};
        Tensor x = random(r, shape);
        Tensor g = random(r, 3, 7, c.spec().outH(7), c.spec().outW(5));
        Tensor want = c.max() ? REF.maxPoolBackward(x, g, c.spec()) : REF.avgPoolBackward(g, c.spec(), shape);
        Tensor got = c.max() ? backend.maxPoolBackward(x, g, c.spec()) : backend.avgPoolBackward(g, c.spec(), shape);
        assertClose(want, got);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backendsOnly")
    void bnStatisticLoss(Backend backend) {
        Random r = new Random(SEED + 3);
        Tensor x = random(r, 3, 7, 7, 5);
        float[] mean = random(r, 7).data();
        float[] std = random(r, 7).data();
        for (int i = 0; i < 7; i++) std[i] = Math.abs(std[i]) + 0.5f;
        Backend.BnStatLoss want = REF.bnStatisticLoss(x, mean, std, 1e-6f);
        Backend.BnStatLoss got = backend.bnStatisticLoss(x, mean, std, 1e-6f);
        assertClose(want.grad(), got.grad());
        org.junit.jupiter.api.Assertions.assertEquals(want.loss(), got.loss(), 1e-5 * Math.abs(want.loss()));
    }

    static Stream<Arguments> backendsOnly() {
        return backends().stream().map(b -> Arguments.of(Named.of(b.toString(), b)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backendsOnly")
    void globalAvgPool(Backend backend) {
        for (int[] shape : List.of(new int[] {3, 7, 5, 5}, new int[] {3, 7, 7, 5}, new int[] {2, 16, 17, 19},
                new int[] {3, 7, 70, 50})) {
            Tensor x = random(new Random(SEED), shape);
            assertClose(REF.globalAvgPool(x), backend.globalAvgPool(x));
        }
    }

    // ---------------------------------------------------------------- element-wise

    @ParameterizedTest(name = "{0}")
    @MethodSource("backendsOnly")
    void batchNorm(Backend backend) {
        // The 3×7×70×50 case (73,500 values) is above the size where the cpu backend goes multi-threaded.
        for (int[] shape : List.of(new int[] {3, 7, 5, 5}, new int[] {3, 7, 7, 5}, new int[] {2, 7}, new int[] {3, 7, 70, 50})) {
            Random r = new Random(SEED);
            Tensor x = random(r, shape);
            Tensor scale = random(r, 7), bias = random(r, 7), mean = random(r, 7);
            Tensor var = new Tensor(uniform(r, 7, 0.1f, 2f), 7);
            assertClose(REF.batchNorm(x, scale, bias, mean, var, 1e-5f),
                    backend.batchNorm(x, scale, bias, mean, var, 1e-5f));
        }
    }

    static Stream<Arguments> activationCases() {
        List<Named<Activation>> fs = List.of(
                Named.of("Relu", new Relu()), Named.of("Clip(0,6)", new Clip(0f, 6f)),
                Named.of("LeakyRelu(0.1)", new LeakyRelu(0.1f)), Named.of("Sigmoid", new Sigmoid()),
                Named.of("HardSigmoid(0.2,0.5)", new HardSigmoid(0.2f, 0.5f)), Named.of("HardSwish", new HardSwish()));
        return cross(fs);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("activationCases")
    void activation(Backend backend, Activation f) {
        // 7×5 planes (735 values, a ragged vector tail) and a tensor big enough to be split across threads.
        for (int[] shape : List.of(new int[] {3, 7, 7, 5}, new int[] {3, 7, 41, 40})) {
            Random r = new Random(SEED);
            Tensor x = new Tensor(uniform(r, Math.multiplyExact(Math.multiplyExact(shape[0], shape[1]),
                    shape[2] * shape[3]), -8f, 8f), shape);
            assertClose(REF.activation(x, f), backend.activation(x, f));
        }
    }

    static Stream<Arguments> binaryCases() {
        int[][][] pairs = {
                {{3, 7, 5, 5}, {3, 7, 5, 5}},
                {{3, 7, 41, 40}, {3, 7, 41, 40}},
                {{3, 7, 5, 5}, {1, 7, 1, 1}},
                {{3, 7, 7, 5}, {7, 1, 1}},
                {{1, 7, 1, 1}, {3, 7, 5, 5}},
                {{3, 7, 5, 5}, {1}},
                {{}, {3, 7, 41, 40}},
                {{2, 7}, {7}},
                {{3, 1, 5, 1}, {1, 7, 1, 5}},
        };
        List<Arguments> out = new ArrayList<>();
        for (Backend b : backends()) {
            for (BinaryOp op : BinaryOp.values()) {
                for (int[][] p : pairs) {
                    out.add(Arguments.of(Named.of(b.toString(), b), op,
                            Named.of(Arrays.toString(p[0]) + " " + Arrays.toString(p[1]), p)));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}: {1} {2}")
    @MethodSource("binaryCases")
    void binary(Backend backend, BinaryOp op, int[][] shapes) {
        Random r = new Random(SEED);
        Tensor a = random(r, shapes[0]);
        // Divisors kept away from zero: |b| in [0.5, 1.5] with a random sign.
        float[] bd = uniform(r, Math.toIntExact(dev.zeroq.tensor.Shapes.size(shapes[1])), 0.5f, 1.5f);
        for (int i = 0; i < bd.length; i++) {
            if (r.nextBoolean()) bd[i] = -bd[i];
        }
        Tensor b = new Tensor(bd, shapes[1]);
        assertClose(REF.binary(a, b, op), backend.binary(a, b, op));
    }

    // ---------------------------------------------------------------- gemm, matmul

    record GemmCase(int m, int n, int k, boolean transA, boolean transB, int[] cShape) {}

    static Stream<Arguments> gemmCases() {
        List<Named<GemmCase>> cases = new ArrayList<>();
        int[][] cShapes = {null, {17}, {13, 1}, {13, 17}, {1}, {}};
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                for (int[] cs : cShapes) {
                    cases.add(Named.of("13x17x19 tA=" + ta + " tB=" + tb + " C=" + (cs == null ? "none" : Arrays.toString(cs)),
                            new GemmCase(13, 17, 19, ta, tb, cs)));
                }
            }
        }
        // Past the blocking edges: N > NC with K > KC; M > MC with transposed A; a threaded split.
        cases.add(Named.of("37x1100x150 tB", new GemmCase(37, 1100, 150, false, true, new int[] {1100})));
        cases.add(Named.of("130x97x300 tA", new GemmCase(130, 97, 300, true, false, null)));
        cases.add(Named.of("200x300x129", new GemmCase(200, 300, 129, false, false, new int[] {200, 300})));
        return cross(cases);
    }

    @ParameterizedTest(name = "{0}: gemm {1}")
    @MethodSource("gemmCases")
    void gemm(Backend backend, GemmCase c) {
        Random r = new Random(SEED);
        Tensor a = c.transA() ? random(r, c.k(), c.m()) : random(r, c.m(), c.k());
        Tensor b = c.transB() ? random(r, c.n(), c.k()) : random(r, c.k(), c.n());
        Tensor cc = c.cShape() == null ? null : random(r, c.cShape());
        assertClose(REF.gemm(a, b, cc, 0.7f, 1.3f, c.transA(), c.transB()),
                backend.gemm(a, b, cc, 0.7f, 1.3f, c.transA(), c.transB()));
    }

    static Stream<Arguments> matmulCases() {
        return cross(List.of(
                Named.of("(13,19)@(19,17)", new int[][] {{13, 19}, {19, 17}}),
                Named.of("(3,13,19)@(19,17)", new int[][] {{3, 13, 19}, {19, 17}}),
                Named.of("(3,13,19)@(3,19,17)", new int[][] {{3, 13, 19}, {3, 19, 17}}),
                Named.of("(2,1,5,7)@(3,7,6)", new int[][] {{2, 1, 5, 7}, {3, 7, 6}}),
                Named.of("(2,64,130)@(130,70)", new int[][] {{2, 64, 130}, {130, 70}}),
                Named.of("(97,130)@(130,70)", new int[][] {{97, 130}, {130, 70}})));
    }

    @ParameterizedTest(name = "{0}: matmul {1}")
    @MethodSource("matmulCases")
    void matmul(Backend backend, int[][] shapes) {
        Random r = new Random(SEED);
        Tensor a = random(r, shapes[0]), b = random(r, shapes[1]);
        assertClose(REF.matmul(a, b), backend.matmul(a, b));
    }

    // ---------------------------------------------------------------- data movement, reductions

    @ParameterizedTest(name = "{0}")
    @MethodSource("backendsOnly")
    void reduceMean(Backend backend) {
        Tensor x = random(new Random(SEED), 3, 7, 7, 5);
        assertClose(REF.reduceMean(x, new int[] {2, 3}, true), backend.reduceMean(x, new int[] {2, 3}, true));
        assertClose(REF.reduceMean(x, new int[] {1}, false), backend.reduceMean(x, new int[] {1}, false));
        assertClose(REF.reduceMean(x, new int[] {0, 2}, false), backend.reduceMean(x, new int[] {0, 2}, false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backendsOnly")
    void concatTransposeSlice(Backend backend) {
        Random r = new Random(SEED);
        Tensor a = random(r, 3, 7, 5, 5), b = random(r, 3, 2, 5, 5), x = random(r, 3, 7, 7, 5);
        assertClose(REF.concat(List.of(a, b), 1), backend.concat(List.of(a, b), 1));
        assertClose(REF.transpose(x, new int[] {0, 2, 3, 1}), backend.transpose(x, new int[] {0, 2, 3, 1}));
        int[] starts = {1, 6, 0}, ends = {7, -1, 5}, axes = {1, 2, 3}, steps = {2, -2, 3};
        assertClose(REF.slice(x, starts, ends, axes, steps), backend.slice(x, starts, ends, axes, steps));
    }

    // ---------------------------------------------------------------- helpers

    private static float[] uniform(Random r, int n, float lo, float hi) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = lo + (hi - lo) * r.nextFloat();
        }
        return v;
    }

    /** Uniform in [−1, 1): O(1) values, so ATOL is small against them. */
    private static Tensor random(Random r, int... shape) {
        return new Tensor(uniform(r, Math.toIntExact(dev.zeroq.tensor.Shapes.size(shape)), -1f, 1f), shape);
    }

    /** Same shape, then every element within ATOL + |ref|·RTOL; reports the first offender and the seed. */
    static void assertClose(Tensor want, Tensor got) {
        assertArrayEquals(want.shape(), got.shape(), "shape");
        float[] w = want.data(), g = got.data();
        for (int i = 0; i < w.length; i++) {
            double diff = Math.abs((double) w[i] - g[i]);
            boolean ok = diff <= ATOL + Math.abs(w[i]) * RTOL
                    || (Float.isNaN(w[i]) && Float.isNaN(g[i])) || w[i] == g[i];
            if (!ok) {
                fail("first mismatch at index " + Arrays.toString(unravel(i, want.shape())) + " (flat " + i
                        + ") of " + Arrays.toString(want.shape()) + ": ref " + w[i] + ", got " + g[i]
                        + ", |diff| " + diff + " > " + (ATOL + Math.abs(w[i]) * RTOL) + " (seed " + SEED + ")");
            }
        }
    }

    private static int[] unravel(int flat, int[] shape) {
        int[] idx = new int[shape.length];
        for (int k = shape.length - 1; k >= 0; k--) {
            idx[k] = flat % shape[k];
            flat /= shape[k];
        }
        return idx;
    }
}
