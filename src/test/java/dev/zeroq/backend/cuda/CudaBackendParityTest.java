// Every CUDA kernel against the reference backend on seeded random inputs with odd shapes (batch 3, C=7,
// 7x5 images, groups, depthwise, strides, pads, dilations, ceil_mode). Outputs are NaN-poisoned on the device
// before each kernel, so an element a kernel fails to write fails the comparison.
package dev.zeroq.backend.cuda;

import dev.zeroq.backend.Activation;
import dev.zeroq.backend.Backend.BinaryOp;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.PoolSpec;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

@Tag("gpu")
class CudaBackendParityTest {
    private static final long SEED = 20240531L;
    // Float kernels accumulate in float in a different order than the double-accumulating reference; for sums of
    // at most a few hundred products of O(1) values the gap stays well under 1e-4 absolute plus 1e-4 relative.
    private static final float ATOL = 1e-4f, RTOL = 1e-4f;

    private static CudaBackend cuda;
    private static final RefBackend REF = new RefBackend();
    private final SplittableRandom random = new SplittableRandom(SEED);

    @BeforeAll
    static void open() {
        GpuTests.requireCuda();
        cuda = new CudaBackend(0);
        cuda.setPoisonOutputs(true);
        System.out.println("CUDA parity on " + cuda.describe() + " (seed " + SEED + ")");
    }

    @AfterAll
    static void close() {
        if (cuda != null) {
            cuda.close();
        }
    }

    /** A conv2d parity case: a name for the report, the shape, with or without bias. */
    record ConvParity(String name, ConvCase c, boolean bias) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** The conv2d cases of this test and, forward and backward-data, of CudaBackendCudnnParityTest. */
    static final List<ConvParity> CONV_CASES = List.of(
            new ConvParity("plain", new ConvCase(3, 7, 7, 5, 4, 3, 3, new int[] {1, 1}, new int[] {1, 1, 1, 1},
                    new int[] {1, 1}, 1), true),
            // Asymmetric pads: CudaBackendCudnnParityTest checks that they fall back to zeroq's kernels (cuDNN cannot
            // express them).
            new ConvParity("strided, padded asymmetric", new ConvCase(3, 7, 7, 5, 5, 3, 2, new int[] {2, 2},
                    new int[] {1, 0, 2, 1}, new int[] {1, 1}, 1), false),
            new ConvParity("dilated", new ConvCase(3, 7, 7, 5, 6, 3, 3, new int[] {1, 2}, new int[] {2, 2, 2, 2},
                    new int[] {2, 2}, 1), true),
            new ConvParity("grouped", new ConvCase(3, 6, 7, 5, 9, 3, 3, new int[] {1, 1}, new int[] {1, 1, 1, 1},
                    new int[] {1, 1}, 3), true),
            new ConvParity("depthwise", new ConvCase(3, 7, 7, 5, 7, 3, 3, new int[] {2, 1}, new int[] {1, 1, 1, 1},
                    new int[] {1, 1}, 7), true),
            // Cin·kh·kw = 2304 > 2048 exercises more than one shared-memory weight chunk.
            new ConvParity("many input channels", new ConvCase(2, 256, 5, 3, 11, 3, 3, new int[] {1, 1},
                    new int[] {1, 1, 1, 1}, new int[] {1, 1}, 1), true));

    @ParameterizedTest
    @FieldSource("CONV_CASES")
    void conv2d(ConvParity p) {
        ConvCase c = p.c();
        conv(c.n, c.cin, c.h, c.w, c.cout, c.kh, c.kw, c.s, c.p, c.d, c.g, p.bias());
    }

    private void conv(int n, int cin, int h, int w, int cout, int kh, int kw, int[] s, int[] p, int[] d, int g,
                      boolean bias) {
        Tensor x = rand(n, cin, h, w);
        Tensor wt = rand(cout, cin / g, kh, kw);
        Tensor b = bias ? rand(cout) : null;
        ConvSpec spec = new ConvSpec(new int[] {kh, kw}, s, p, d, g);
        check(spec.toString(), REF.conv2d(x, wt, b, spec), cuda.conv2d(x, wt, b, spec));
    }

    @Test
    void batchNorm() {
        Tensor x = rand(3, 7, 7, 5);
        Tensor var = rand(7);
        for (int i = 0; i < 7; i++) {
            var.data()[i] = Math.abs(var.data()[i]) + 0.1f;
        }
        Tensor scale = rand(7), bias = rand(7), mean = rand(7);
        check("batchNorm", REF.batchNorm(x, scale, bias, mean, var, 1e-5f), cuda.batchNorm(x, scale, bias, mean, var, 1e-5f));
    }

    @Test
    void activations() {
        Tensor x = rand(3, 7, 7, 5);
        for (int i = 0; i < x.size(); i++) {
            x.data()[i] *= 8f; // reach the flat parts of clip, hardsigmoid and hardswish
        }
        for (Activation f : List.of(new Activation.Relu(), new Activation.Clip(0f, 6f), new Activation.LeakyRelu(0.1f),
                new Activation.Sigmoid(), new Activation.HardSigmoid(0.2f, 0.5f), new Activation.HardSwish())) {
            check(f.toString(), REF.activation(x, f), cuda.activation(x, f));
        }
    }

    @Test
    void binaryBroadcasting() {
        int[][][] cases = {
                {{3, 7, 7, 5}, {3, 7, 7, 5}},
                {{3, 7, 7, 5}, {1, 7, 1, 1}},
                {{7, 1, 5}, {3, 1, 7, 1}},
                {{3, 7, 7, 5}, {}},
                {{5}, {3, 7, 1, 1}},
        };
        for (int[][] c : cases) {
            Tensor a = rand(c[0]), b = rand(c[1]);
            for (int i = 0; i < b.size(); i++) {
                b.data()[i] += Math.copySign(0.5f, b.data()[i]); // keep divisors away from 0
            }
            for (BinaryOp op : BinaryOp.values()) {
                check(op + " " + Arrays.toString(c[0]) + " " + Arrays.toString(c[1]), REF.binary(a, b, op), cuda.binary(a, b, op));
            }
        }
    }

    @Test
    void maxPool() {
        Tensor x = rand(3, 7, 7, 5);
        for (boolean ceil : new boolean[] {false, true}) {
            PoolSpec s = new PoolSpec(new int[] {2, 2}, new int[] {2, 2}, new int[] {0, 0, 0, 0}, new int[] {1, 1}, ceil, false);
            check("maxPool 2x2/2 ceil=" + ceil, REF.maxPool(x, s), cuda.maxPool(x, s));
            PoolSpec t = new PoolSpec(new int[] {3, 3}, new int[] {2, 1}, new int[] {1, 1, 1, 0}, new int[] {1, 2}, ceil, false);
            check("maxPool 3x3/(2,1) pads dil ceil=" + ceil, REF.maxPool(x, t), cuda.maxPool(x, t));
        }
    }

    @Test
    void avgPool() {
        Tensor x = rand(3, 7, 7, 5);
        for (boolean ceil : new boolean[] {false, true}) {
            for (boolean include : new boolean[] {false, true}) {
                PoolSpec s = new PoolSpec(new int[] {3, 3}, new int[] {2, 2}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, ceil, include);
                check("avgPool 3x3/2 p1 ceil=" + ceil + " includePad=" + include, REF.avgPool(x, s), cuda.avgPool(x, s));
                PoolSpec t = new PoolSpec(new int[] {2, 2}, new int[] {2, 2}, new int[] {0, 0, 0, 0}, new int[] {1, 1}, ceil, include);
                check("avgPool 2x2/2 ceil=" + ceil + " includePad=" + include, REF.avgPool(x, t), cuda.avgPool(x, t));
            }
        }
    }

    @Test
    void globalAvgPool() {
        Tensor x = rand(3, 7, 7, 5);
        check("globalAvgPool", REF.globalAvgPool(x), cuda.globalAvgPool(x));
        Tensor big = rand(2, 3, 37, 29); // planes larger than one block
        check("globalAvgPool large plane", REF.globalAvgPool(big), cuda.globalAvgPool(big));
    }

    @Test
    void reduceMean() {
        Tensor x = rand(3, 7, 7, 5);
        for (int[] axes : new int[][] {{2, 3}, {1}, {0, 2}, {3}, {0, 1, 2, 3}}) {
            for (boolean keep : new boolean[] {true, false}) {
                check("reduceMean " + Arrays.toString(axes) + " keep=" + keep, REF.reduceMean(x, axes, keep),
                        cuda.reduceMean(x, axes, keep));
            }
        }
    }

    @Test
    void gemm() {
        int m = 19, k = 23, n = 17;
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                Tensor a = ta ? rand(k, m) : rand(m, k);
                Tensor b = tb ? rand(n, k) : rand(k, n);
                for (Tensor c : new Tensor[] {null, rand(n), rand(m, 1), rand(m, n), rand(1)}) {
                    String what = "gemm transA=" + ta + " transB=" + tb + " C=" + (c == null ? "none" : Arrays.toString(c.shape()));
                    check(what, REF.gemm(a, b, c, 0.7f, 1.3f, ta, tb), cuda.gemm(a, b, c, 0.7f, 1.3f, ta, tb));
                }
            }
        }
    }

    @Test
    void matmul() {
        Tensor a = rand(3, 1, 5, 7), b = rand(2, 7, 4);
        check("matmul broadcast batch", REF.matmul(a, b), cuda.matmul(a, b));
        Tensor c = rand(9, 13), d = rand(13, 6);
        check("matmul 2-D", REF.matmul(c, d), cuda.matmul(c, d));
    }

    @Test
    void concatTransposeSlice() {
        Tensor a = rand(3, 7, 7, 5), b = rand(3, 2, 7, 5), c = rand(3, 4, 7, 5);
        check("concat axis 1", REF.concat(List.of(a, b, c), 1), cuda.concat(List.of(a, b, c), 1));
        Tensor e = rand(3, 7, 7, 2);
        check("concat axis 3", REF.concat(List.of(a, e), 3), cuda.concat(List.of(a, e), 3));
        check("transpose 0231", REF.transpose(a, new int[] {0, 2, 3, 1}), cuda.transpose(a, new int[] {0, 2, 3, 1}));
        check("transpose 3102", REF.transpose(a, new int[] {3, 1, 0, 2}), cuda.transpose(a, new int[] {3, 1, 0, 2}));
        int[] starts = {1, 6, 0}, ends = {7, -1, 5}, axes = {1, 2, 3}, steps = {2, -2, 3};
        check("slice with negative step", REF.slice(a, starts, ends, axes, steps), cuda.slice(a, starts, ends, axes, steps));
    }

    // ---- helpers ----

    private Tensor rand(int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return t;
    }

    /** |ref − got| ≤ ATOL + |ref|·RTOL everywhere (NaN never passes), reporting the first mismatch. */
    static void check(String what, Tensor ref, Tensor got) {
        assertArrayEquals(ref.shape(), got.shape(), what + ": shape");
        float[] r = ref.data(), g = got.data();
        for (int i = 0; i < r.length; i++) {
            float tol = ATOL + Math.abs(r[i]) * RTOL;
            boolean ok = (Float.isNaN(r[i]) && Float.isNaN(g[i])) || Math.abs(r[i] - g[i]) <= tol
                    || (Float.isInfinite(r[i]) && r[i] == g[i]);
            if (!ok) {
                int mismatches = 0;
                for (int j = i; j < r.length; j++) {
                    if (!(Math.abs(r[j] - g[j]) <= ATOL + Math.abs(r[j]) * RTOL)) {
                        mismatches++;
                    }
                }
                fail(what + ": first mismatch at flat index " + i + " of shape " + Arrays.toString(ref.shape())
                        + ": ref " + r[i] + ", cuda " + g[i] + " (tolerance " + tol + "); " + mismatches
                        + " mismatching elements of " + r.length);
            }
        }
    }
}
