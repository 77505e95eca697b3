// CudaInt8Kernels against the reference int8 kernels: int32 accumulators bit for bit on odd shapes (the tensor-core
// igemm for group 1, the direct kernel for groups), the fused epilogue against IntegerModel's epilogue computed in
// Java on the reference accumulators, and a whole IntegerModel run with either kernels. Outputs are poisoned first.
package dev.zeroq.backend.cuda;

import dev.zeroq.backend.Activation;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.graph.Graph;
import dev.zeroq.int8.Int8Kernels;
import dev.zeroq.int8.IntegerModel;
import dev.zeroq.int8.TestCnn;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.quant.SymmetricQuantizer.ActivationParams;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

@Tag("gpu")
class CudaInt8KernelsTest {
    private static final long SEED = 20260301L;

    private static CudaInt8Kernels kernels;

    @BeforeAll
    static void open() {
        GpuTests.requireCuda();
        kernels = new CudaInt8Kernels(0);
        kernels.setPoisonOutputs(true);
        System.out.println("int8 kernels on " + kernels.describe() + " (seed " + SEED + ")");
    }

    @AfterAll
    static void close() {
        if (kernels != null) {
            kernels.close();
        }
    }

    /** One convolution case; zp is the input zero point. */
    private record Case(int cin, int h, int w, int cout, int kh, int kw, int[] s, int[] p, int[] d, int g, int zp) {
        static final int N = 3;

        ConvSpec spec() {
            return new ConvSpec(new int[] {kh, kw}, s, p, d, g);
        }

        @Override
        public String toString() {
            return "N" + N + " Cin" + cin + " " + h + "x" + w + " Cout" + cout + " " + spec() + " zp " + zp;
        }
    }

    private static final int[] S1 = {1, 1}, S2 = {2, 2}, D1 = {1, 1};
    private static final int[] P0 = {0, 0, 0, 0}, P1 = {1, 1, 1, 1};

    private static final List<Case> CASES = List.of(
            new Case(7, 7, 5, 5, 3, 3, S1, P1, D1, 1, 0),
            new Case(13, 17, 19, 40, 3, 3, S2, P1, D1, 1, 128),
            new Case(64, 17, 19, 130, 3, 3, S1, P1, D1, 1, 200),   // K = 576: nine K tiles; two N tiles
            new Case(13, 7, 5, 130, 1, 1, S1, P0, D1, 1, 200),
            new Case(64, 17, 19, 40, 1, 1, S2, P0, D1, 1, 0),
            new Case(7, 17, 19, 40, 5, 5, S1, new int[] {2, 1, 0, 2}, D1, 1, 128), // asymmetric pads
            new Case(13, 17, 19, 5, 3, 3, S1, new int[] {2, 2, 2, 2}, new int[] {2, 2}, 1, 200), // dilation 2
            new Case(7, 7, 5, 5, 5, 5, S1, new int[] {2, 2, 2, 2}, D1, 1, 128), // kernel wider than the image
            new Case(64, 7, 5, 130, 3, 2, new int[] {2, 1}, new int[] {1, 0, 2, 1}, new int[] {2, 1}, 1, 0),
            new Case(64, 17, 19, 5, 5, 5, S2, new int[] {1, 2, 2, 1}, D1, 1, 200), // K = 1600
            new Case(64, 17, 19, 40, 3, 3, S1, P1, D1, 4, 128),      // groups: the direct kernel
            new Case(13, 17, 19, 13, 3, 3, S2, P1, D1, 13, 200),     // depthwise
            new Case(7, 7, 5, 14, 3, 3, S1, P1, D1, 7, 0));          // depthwise, multiplier 2

    private static byte[] codes(SplittableRandom r, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) r.nextInt(256);
        return b;
    }

    /** The full int8 range, −128 included (more than the symmetric quantizer emits, to stress the s8 products). */
    private static byte[] weights(SplittableRandom r, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (r.nextInt(256) - 128);
        return b;
    }

    /** Runs a conv and gathers the sink's callbacks into (N, Cout, outH, outW). */
    private static int[] conv(Int8Kernels k, byte[] x, Case c, byte[] w) {
        ConvSpec s = c.spec();
        int plane = s.outH(c.h()) * s.outW(c.w());
        int[] out = new int[Case.N * c.cout() * plane];
        Arrays.fill(out, 0x7fc00000);
        // Columns j = image·plane + p; channel co's run of columns sits at acc[off + (co − co0)·stride + (j − col0)].
        k.conv(x, Case.N, c.cin(), c.h(), c.w(), c.zp(), w, c.cout(), s, (col0, col1, co0, co1, acc, off, stride) -> {
            for (int co = co0; co < co1; co++) {
                for (int j = col0; j < col1; j++) {
                    int img = j / plane, p = j % plane;
                    out[(img * c.cout() + co) * plane + p] = acc[off + (co - co0) * stride + (j - col0)];
                }
            }
        });
        return out;
    }

    private static void assertExact(int[] want, int[] got, int cout, int plane, String what) {
        assertEquals(want.length, got.length, what + ": length");
        for (int i = 0; i < want.length; i++) {
            if (want[i] != got[i]) {
                int img = i / (cout * plane), co = i / plane % cout, p = i % plane;
                fail(what + ": first mismatch at index " + i + " (image " + img + ", channel " + co + ", pixel " + p
                        + "): reference " + want[i] + ", CUDA " + got[i]);
            }
        }
    }

    @Test
    void convAccumulatorsEqualReference() {
        SplittableRandom r = new SplittableRandom(SEED);
        for (Case c : CASES) {
            byte[] x = codes(r, Case.N * c.cin() * c.h() * c.w());
            byte[] w = weights(r, c.cout() * (c.cin() / c.g()) * c.kh() * c.kw());
            int[] want = conv(Int8Kernels.ref(), x, c, w);
            int[] got = conv(kernels, x, c, w);
            ConvSpec s = c.spec();
            assertExact(want, got, c.cout(), s.outH(c.h()) * s.outW(c.w()), c.toString());
        }
    }

    @Test
    void gemmAccumulatorsEqualReference() {
        SplittableRandom r = new SplittableRandom(SEED + 1);
        int[][] shapes = {{3, 7, 5, 0}, {37, 75, 130, 200}, {300, 64, 40, 128}, {1, 1000, 5, 17}}; // m, k, cout, zp
        for (int[] sh : shapes) {
            int m = sh[0], k = sh[1], cout = sh[2], zp = sh[3];
            byte[] x = codes(r, m * k);
            byte[] w = weights(r, cout * k);
            int[][] res = new int[2][m * cout];
            Int8Kernels[] ks = {Int8Kernels.ref(), kernels};
            for (int j = 0; j < 2; j++) {
                int[] out = res[j];
                Arrays.fill(out, 0x7fc00000);
                ks[j].gemm(x, m, k, zp, w, cout, (r0, r1, acc, off) ->
                        System.arraycopy(acc, off, out, r0 * cout, (r1 - r0) * cout));
            }
            assertExact(res[0], res[1], cout, 1, "gemm m " + m + " k " + k + " cout " + cout + " zp " + zp);
        }
    }

    /**
     * The fused kernel's codes equal IntegerModel's epilogue run in Java on the reference accumulators, exactly. Why
     * no off-by-one allowance is needed: every step is one IEEE-754 operation in the same order on both sides —
     * (acc + bias)·scale rounded once to float (the kernel multiplies in float when |acc + bias| ≤ 2^24, where that is
     * the same correctly rounded product as Java's double product rounded to float, and in double above), the residual
     * add, the activation, the division by the output scale and round-half-even — and the kernel uses the __f*_rn
     * intrinsics so that nvcc cannot contract the multiply and add into one FMA rounding. Biases up to ±3·2^24 on some
     * channels exercise the double path.
     */
    @Test
    void fusedEpilogueEqualsJavaEpilogue() {
        SplittableRandom r = new SplittableRandom(SEED + 2);
        Activation[] acts = {null, new Activation.Relu(), new Activation.Clip(-1f, 2f), new Activation.Clip(0f, 6f)};
        int caseIndex = 0;
        for (Case c : CASES) {
            if (c.g() != 1) continue;
            ConvSpec s = c.spec();
            int oh = s.outH(c.h()), ow = s.outW(c.w()), plane = oh * ow, cout = c.cout();
            byte[] x = codes(r, Case.N * c.cin() * c.h() * c.w());
            byte[] w = weights(r, cout * c.cin() * c.kh() * c.kw());
            int[] acc = conv(Int8Kernels.ref(), x, c, w);
            double k = (double) c.cin() * c.kh() * c.kw();
            int[] bias = new int[cout];
            float[] scale = new float[cout];
            for (int co = 0; co < cout; co++) {
                bias[co] = co % 3 == 0 ? r.nextInt(6 << 24) - (3 << 24) : r.nextInt(20001) - 10000;
                // y ≈ N(0, ~1) before the residual: |acc| has a standard deviation of about √K·74·74
                scale[co] = (float) ((0.5 + r.nextDouble()) / (Math.sqrt(k) * 5476.0));
            }
            boolean residual = caseIndex % 2 == 1;
            float[] res = null;
            if (residual) {
                res = new float[Case.N * plane * cout];
                for (int i = 0; i < res.length; i++) res[i] = (float) r.nextGaussian();
            }
            Activation act = acts[caseIndex % acts.length];
            ActivationParams outQ = new ActivationParams(0.02f + 0.01f * caseIndex, caseIndex % 2 == 0 ? 100 : 0, 8, false);
            caseIndex++;

            byte[] want = new byte[Case.N * plane * cout];
            for (int img = 0; img < Case.N; img++) {
                for (int co = 0; co < cout; co++) {
                    for (int p = 0; p < plane; p++) {
                        int o = (img * plane + p) * cout + co; // NHWC
                        // IntegerModel.Epilogue.run with alpha = beta = 1
                        float y = (float) ((1.0 * acc[(img * cout + co) * plane + p] + 1.0 * bias[co]) * scale[co]);
                        if (res != null) y = y + res[o];
                        if (act != null) y = act.apply(y);
                        want[o] = (byte) outQ.quantize(y);
                    }
                }
            }
            // Two poison patterns differing in every byte: any byte value is a valid code, so one alone could match.
            for (int poison : new int[] {0xA5A5A5A5, 0x5A5A5A5A}) {
                kernels.setPoisonWord(poison);
                byte[] got;
                try {
                    got = kernels.convFused(x, Case.N, c.cin(), c.h(), c.w(), c.zp(), w, cout, s, bias, scale, res, act,
                            outQ);
                } finally {
                    kernels.setPoisonWord(DeviceBuffer.NAN_BITS);
                }
                String what = c + " act " + act + " residual " + residual + " out " + outQ + " poison "
                        + Integer.toHexString(poison);
                for (int i = 0; i < want.length; i++) {
                    if (want[i] != got[i]) {
                        int co = i % cout, pix = i / cout;
                        fail(what + ": first mismatch at NHWC index " + i + " (image " + pix / plane + ", pixel "
                                + pix % plane + ", channel " + co + "): Java " + (want[i] & 0xFF) + ", CUDA "
                                + (got[i] & 0xFF));
                    }
                }
            }
        }
    }

    /** Equal accumulators make the whole integer engine deterministic, so the logits are equal as floats. */
    @Test
    void integerModelGivesTheSameLogits() {
        Graph g = TestCnn.build(SEED);
        QuantPlan plan = TestCnn.deployPlan(g, 8, SEED);
        Tensor x = TestCnn.images(5, SEED + 3);
        IntegerModel ref = IntegerModel.compile(g, plan, new RefBackend(), Int8Kernels.ref());
        IntegerModel cuda = IntegerModel.compile(g, plan, new RefBackend(), kernels);
        assertEquals(6, cuda.integerLayers(), "every conv and the gemm run in integers");
        Tensor want = ref.apply(x);
        Tensor got = cuda.apply(x);
        assertArrayEquals(want.shape(), got.shape());
        assertArrayEquals(want.data(), got.data(), "logits with CUDA int8 kernels vs reference int8 kernels");
    }
}
