// The host side of the implicit-GEMM convolutions without a device: the operands IgemmLayout builds (rearranged
// weights, k-tables, backward-data output phases) evaluated on the CPU exactly as the kernels index them must give
// the reference convolution and its input gradient; and AUTO's kernel choice on ResNet-50 shapes. Runs anywhere.
package dev.zeroq.backend.cuda;

import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.Gradients;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IgemmLayoutTest {
    private static final RefBackend REF = new RefBackend();
    private final SplittableRandom random = new SplittableRandom(5);

    // {n, cin, h, w, cout, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, g}
    private static final int[][] CASES = {
            {2, 37, 17, 19, 45, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
            {2, 37, 17, 19, 45, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
            {2, 37, 17, 19, 45, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1},
            {2, 37, 17, 19, 45, 3, 3, 2, 2, 2, 1, 1, 2, 2, 2, 1},
            {2, 37, 17, 19, 45, 3, 2, 2, 2, 1, 0, 2, 1, 1, 1, 1},
            {1, 16, 12, 12, 20, 7, 7, 3, 2, 3, 3, 3, 3, 1, 1, 1},
            {3, 6, 7, 5, 9, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 3},
            {3, 7, 7, 5, 14, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 7}};

    /** The device's reordering of replaced weights (strided_copy with these strides) is the host's, float for float. */
    @Test
    void forwardWeightsReorderIsTheHostReordering() {
        java.util.Random r = new java.util.Random(5);
        for (int[] c : new int[][] {{1, 7, 27}, {3, 5, 9}, {2, 1, 1}, {4, 6, 13}, {1, 64, 576}}) {
            int g = c[0], coutG = c[1], k = c[2];
            float[] w = new float[g * coutG * k];
            for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
            DevicePlan.Reorder reorder = IgemmLayout.forwardWeightsReorder(g, coutG, k);
            assertEquals(w.length, reorder.count());
            assertArrayEquals(IgemmLayout.forwardWeights(w, g, coutG, k), reorder.apply(w), java.util.Arrays.toString(c));
        }
    }

    @Test
    void forwardOperandsComputeTheConvolution() {
        for (int[] c : CASES) {
            ConvSpec s = spec(c);
            int n = c[0], cin = c[1], h = c[2], w = c[3], cout = c[4], g = c[15], cinG = cin / g, coutG = cout / g;
            Tensor x = rand(n, cin, h, w), wt = rand(cout, cinG, c[5], c[6]);
            Tensor ref = REF.conv2d(x, wt, null, s);
            int oh = ref.dim(2), ow = ref.dim(3), k = cinG * c[5] * c[6];
            float[] a = IgemmLayout.forwardWeights(wt.data(), g, coutG, k);
            int[] tab = IgemmLayout.forwardTable(cinG, c[5], c[6], h, w, s.dilations());
            float[] got = new float[ref.size()];
            for (int b = 0; b < n; b++)
                for (int grp = 0; grp < g; grp++)
                    for (int m = 0; m < coutG; m++)
                        for (int i = 0; i < oh; i++)
                            for (int j = 0; j < ow; j++) {
                                double acc = 0;
                                for (int kk = 0; kk < k; kk++) {
                                    int y = i * c[7] - c[9] + tab[4 * kk + 1], xx = j * c[8] - c[10] + tab[4 * kk + 2];
                                    if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
                                    acc += a[(grp * k + kk) * coutG + m]
                                            * x.data()[(b * cin + grp * cinG) * h * w + tab[4 * kk] + y * w + xx];
                                }
                                got[((b * cout + grp * coutG + m) * oh + i) * ow + j] = (float) acc;
                            }
            CudaDistillKernelsTest.check("forward layout " + s, ref.data(), got);
        }
    }

    @Test
    void backwardPhasesComputeTheInputGradientOnce() {
        for (int[] c : CASES) {
            for (IgemmLayout.Kernel kn : new IgemmLayout.Kernel[] {IgemmLayout.Kernel.IGEMM64, IgemmLayout.Kernel.IGEMM128}) {
                ConvSpec s = spec(c);
                int n = c[0], cin = c[1], h = c[2], w = c[3], cout = c[4], kh = c[5], kw = c[6], g = c[15];
                int cinG = cin / g, coutG = cout / g, oh = s.outH(h), ow = s.outW(w), k = coutG * kh * kw;
                Tensor dy = rand(n, cout, oh, ow), wt = rand(cout, cinG, kh, kw);
                Tensor ref = Gradients.scatterConvBackward(dy, wt, s, new int[] {n, cin, h, w});
                IgemmLayout.Backward lb = IgemmLayout.backward(kn, wt.data(), g, coutG, cinG, kh, kw, n, h, w, oh, ow, s.strides(),
                        s.pads(), s.dilations());
                float[] got = new float[ref.size()];
                int[] writes = new int[ref.size()];
                int[] tab = lb.ktab();
                float[] a = lb.weights();
                int sh = s.strides()[0], sw = s.strides()[1];
                // IGEMM64: one phase over all pixels, the kernel's divisibility test; IGEMM128: the phase table.
                int[] phases = kn == IgemmLayout.Kernel.IGEMM128 ? lb.phases() : new int[] {0, k, 0, 0};
                int stepH = kn == IgemmLayout.Kernel.IGEMM128 ? sh : 1, stepW = kn == IgemmLayout.Kernel.IGEMM128 ? sw : 1;
                assertEquals(kn == IgemmLayout.Kernel.IGEMM128 ? g * sh * sw : g, lb.grid()[2], "grid z");
                for (int z = 0; z < phases.length / 4; z++) {
                    int k0 = phases[4 * z], kc = phases[4 * z + 1], pa = phases[4 * z + 2], pb = phases[4 * z + 3];
                    int qh = Math.ceilDiv(h - pa, stepH), qw = Math.ceilDiv(w - pb, stepW);
                    assertTrue((long) n * Math.max(qh, 0) * Math.max(qw, 0) <= (long) lb.grid()[0] * 128, "grid x covers phase " + z);
                    for (int b = 0; b < n; b++)
                        for (int grp = 0; grp < g; grp++)
                            for (int m = 0; m < cinG; m++)
                                for (int i = 0; i < qh; i++)
                                    for (int j = 0; j < qw; j++) {
                                        double acc = 0;
                                        for (int kk = k0; kk < k0 + kc; kk++) {
                                            int y, x;
                                            if (kn == IgemmLayout.Kernel.IGEMM128) {
                                                y = i + tab[4 * kk + 1];
                                                x = j + tab[4 * kk + 2];
                                            } else {
                                                int ty = i + s.pads()[0] - tab[4 * kk + 1], tx = j + s.pads()[1] - tab[4 * kk + 2];
                                                if (ty < 0 || tx < 0 || ty % sh != 0 || tx % sw != 0) continue;
                                                y = ty / sh;
                                                x = tx / sw;
                                            }
                                            if (y < 0 || y >= oh || x < 0 || x >= ow) continue;
                                            acc += a[(grp * k + kk) * cinG + m]
                                                    * dy.data()[(b * cout + grp * coutG) * oh * ow + tab[4 * kk] + y * ow + x];
                                        }
                                        int o = ((b * cin + grp * cinG + m) * h + pa + stepH * i) * w + pb + stepW * j;
                                        got[o] = (float) acc;
                                        writes[o]++;
                                    }
                }
                for (int i = 0; i < writes.length; i++) assertEquals(1, writes[i], kn + " " + s + ": dx element " + i + " written");
                CudaDistillKernelsTest.check("backward layout " + kn + " " + s, ref.data(), got);
            }
        }
    }

    @Test
    void autoPicksByChannelsAndGridOnResNet50Shapes() {
        var auto = CudaDistiller.ConvAlgorithm.AUTO;
        // Forward at batch 32: layer1 (64 channels out) keeps the 64-row tile; wide layers take 128×128.
        assertEquals(IgemmLayout.Kernel.IGEMM64, IgemmLayout.choose(auto, 64, 576, 32L * 56 * 56, 1));
        assertEquals(IgemmLayout.Kernel.IGEMM128, IgemmLayout.choose(auto, 256, 64, 32L * 56 * 56, 1));
        assertEquals(IgemmLayout.Kernel.IGEMM128, IgemmLayout.choose(auto, 128, 1152, 32L * 28 * 28, 1));
        // layer4's 7×7 with 512 channels out: 13 × 4 = 52 blocks of 128×128, under half a wave: the 64×128 kernel;
        // layer3's 14×14 with 256 out: 49 × 2 = 98 blocks: 128×128.
        assertEquals(IgemmLayout.Kernel.IGEMM64, IgemmLayout.choose(auto, 512, 4608, 32L * 7 * 7, 1));
        assertEquals(IgemmLayout.Kernel.IGEMM128, IgemmLayout.choose(auto, 256, 2304, 32L * 14 * 14, 1));
        // Backward-data of layer4's 3×3/2 (Cin 512 at 14×14): 4 phases of 7×7 → 13 × 4 × 4 = 208 blocks.
        assertEquals(IgemmLayout.Kernel.IGEMM128, IgemmLayout.choose(auto, 512, 4608,
                IgemmLayout.backwardSlicePixels(IgemmLayout.Kernel.IGEMM128, 32, 14, 14, new int[] {2, 2}), 4));
        // The stem's backward (3 input channels) and depthwise stay direct.
        assertEquals(IgemmLayout.Kernel.DIRECT, IgemmLayout.choose(auto, 3, 64 * 49, 32L * 112 * 112, 4));
        assertEquals(IgemmLayout.Kernel.DIRECT, IgemmLayout.choose(auto, 1, 9, 32L * 56 * 56, 32));
        assertEquals(IgemmLayout.Kernel.IGEMM128, IgemmLayout.choose(CudaDistiller.ConvAlgorithm.IMPLICIT_GEMM_128, 1, 9, 10, 1));
        assertEquals(IgemmLayout.Kernel.IGEMM64, IgemmLayout.choose(CudaDistiller.ConvAlgorithm.IMPLICIT_GEMM, 512, 9, 10, 1));
    }

    @Test
    void tf32SwapsOnlyThe128x128Kernel() {
        var auto = CudaDistiller.ConvAlgorithm.AUTO;
        // Off: the strict kernels (the default and the reference).
        assertEquals(IgemmLayout.Kernel.IGEMM128, IgemmLayout.choose(auto, false, 256, 64, 32L * 56 * 56, 1));
        // On: the layers AUTO gives the 128×128 tile take its TF32 twin; the 64×128 and direct choices stay.
        assertEquals(IgemmLayout.Kernel.IGEMM128_TF32, IgemmLayout.choose(auto, true, 256, 64, 32L * 56 * 56, 1));
        assertEquals(IgemmLayout.Kernel.IGEMM64, IgemmLayout.choose(auto, true, 64, 576, 32L * 56 * 56, 1));
        assertEquals(IgemmLayout.Kernel.DIRECT, IgemmLayout.choose(auto, true, 3, 64 * 49, 32L * 112 * 112, 4));
        assertEquals(IgemmLayout.Kernel.IGEMM128_TF32,
                IgemmLayout.choose(CudaDistiller.ConvAlgorithm.IMPLICIT_GEMM_128, true, 1, 9, 10, 1));
        // Same operands, phases and grid as the strict kernel.
        int[] st = {2, 2}, p = {1, 1, 1, 1}, d = {1, 1};
        float[] w = new float[45 * 37 * 9];
        for (int i = 0; i < w.length; i++) w[i] = i;
        var a = IgemmLayout.backward(IgemmLayout.Kernel.IGEMM128, w, 1, 45, 37, 3, 3, 2, 17, 19, 9, 10, st, p, d);
        var b = IgemmLayout.backward(IgemmLayout.Kernel.IGEMM128_TF32, w, 1, 45, 37, 3, 3, 2, 17, 19, 9, 10, st, p, d);
        assertArrayEquals(a.weights(), b.weights());
        assertArrayEquals(a.ktab(), b.ktab());
        assertArrayEquals(a.phases(), b.phases());
        assertArrayEquals(a.grid(), b.grid());
        assertEquals(IgemmLayout.backwardSlicePixels(IgemmLayout.Kernel.IGEMM128, 2, 17, 19, st),
                IgemmLayout.backwardSlicePixels(IgemmLayout.Kernel.IGEMM128_TF32, 2, 17, 19, st));
    }

    private static ConvSpec spec(int[] c) {
        return new ConvSpec(new int[] {c[5], c[6]}, new int[] {c[7], c[8]}, new int[] {c[9], c[10], c[11], c[12]},
                new int[] {c[13], c[14]}, c[15]);
    }

    private Tensor rand(int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.size(); i++) t.data()[i] = (float) (random.nextDouble() * 2 - 1);
        return t;
    }
}
