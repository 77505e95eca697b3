// The host side of CudaIntegerModel's im2col path for few-channel convs (the stem), without a GPU: which layers take
// it, and that the rearranged weights over int8_im2col_nhwc's rows (the kernel's contract, written out here in Java)
// give the direct conv's int32 accumulators exactly, zero-point correction and padding included. The kernel itself is
// checked against the same contract by native/igemm-emu (run.sh im2col), and on a GPU by CudaIntegerModelTest.
package dev.zeroq.backend.cuda;

import dev.zeroq.backend.ConvSpec;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.int8.IntegerModel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CudaIntegerModelIm2colTest {
    private static ConvSpec spec(int kh, int kw, int sh, int sw, int[] pads, int dh, int dw, int group) {
        return new ConvSpec(new int[] {kh, kw}, new int[] {sh, sw}, pads, new int[] {dh, dw}, group);
    }

    private static ConvSpec square(int k, int s, int p) {
        return spec(k, k, s, s, new int[] {p, p, p, p}, 1, 1, 1);
    }

    @Test
    void onlyFewChannelConvsWithSeveralTapsTakeThePath() {
        assertTrue(CudaIntegerModel.im2colPath(true, 3, square(7, 2, 3)));  // ResNet-50's stem
        assertTrue(CudaIntegerModel.im2colPath(true, 1, square(3, 1, 1)));
        assertTrue(CudaIntegerModel.im2colPath(true, 3, spec(3, 5, 1, 1, new int[] {0, 1, 0, 1}, 1, 1, 1))); // 240 → 64
        assertFalse(CudaIntegerModel.im2colPath(true, 3, spec(1, 3, 1, 1, new int[] {0, 1, 0, 1}, 1, 1, 1))); // 64 → 64
        assertFalse(CudaIntegerModel.im2colPath(true, 17, square(3, 1, 1))); // K 320 → 192: less than half saved
        assertFalse(CudaIntegerModel.im2colPath(true, 3, square(1, 1, 0)));  // one tap: nothing to gain
        assertFalse(CudaIntegerModel.im2colPath(true, 64, square(3, 1, 1))); // no channel padding
        assertFalse(CudaIntegerModel.im2colPath(true, 16, square(7, 2, 3)));
        assertFalse(CudaIntegerModel.im2colPath(false, 3, square(1, 1, 0))); // a Gemm
        assertFalse(CudaIntegerModel.im2colPath(true, 6, spec(3, 3, 1, 1, new int[] {1, 1, 1, 1}, 1, 1, 3))); // grouped
    }

    @Test
    void onlyTheStemOfTheBundledResnetTakesThePath() {
        Graph g = CudaIntegerModelTest.model("resnet_fmnist");
        IntegerModel engine = IntegerModel.compile(g, CudaIntegerModelTest.deployPlan(g, "resnet_fmnist"));
        List<String> taking = new ArrayList<>();
        int convs = 0;
        for (Node n : engine.graph().nodes()) { // the working graph (BN folded), whose nodes the engine compiled
            IntegerModel.QLayer l = engine.integerLayer(n);
            if (l == null || engine.isFused(n)) continue;
            int cin = l.conv() ? l.k() / (l.spec().kernel()[0] * l.spec().kernel()[1]) : l.k();
            if (l.conv()) convs++;
            if (CudaIntegerModel.im2colPath(l.conv(), cin, l.conv() ? l.spec() : square(1, 1, 0))) {
                taking.add(n.name() + " cin " + cin);
            }
        }
        assertTrue(convs > 1, "convs: " + convs);
        // The graph input is (1, 28, 28): its first conv is the only one reading fewer than 16 channels.
        assertEquals(1, taking.size(), taking.toString());
        assertTrue(taking.get(0).endsWith(" cin 1"), taking.toString());
    }

    @Test
    void weightsAreRearrangedInTheRowOrder() {
        int cout = 2, cin = 3, kh = 2, kw = 3;
        byte[] w = new byte[cout * cin * kh * kw];
        for (int i = 0; i < w.length; i++) w[i] = (byte) i; // w[co][c][r][s] = ((co·cin + c)·kh + r)·kw + s
        byte[] wr = CudaIntegerModel.im2colWeights(w, cout, cin, kh, kw);
        for (int co = 0; co < cout; co++)
            for (int c = 0; c < cin; c++)
                for (int r = 0; r < kh; r++)
                    for (int s = 0; s < kw; s++) {
                        assertEquals(w[((co * cin + c) * kh + r) * kw + s], wr[co * cin * kh * kw + (r * kw + s) * cin + c]);
                    }
        assertArrayEquals(new byte[] {0, 6, 12, 1, 7, 13}, java.util.Arrays.copyOf(wr, 6));
        assertThrows(IllegalArgumentException.class, () -> CudaIntegerModel.im2colWeights(w, cout, cin, kh, 2));
    }

    /**
     * The decomposition is exact: Σ (q − zp)·w of the direct conv (padding contributing nothing) equals, per output,
     * Σ_k (row[k] − 128)·w'[k] − (zp − 128)·Σw' over rows of shifted codes as int8_im2col_nhwc writes them (taps, the
     * shifted zero point in the spatial padding and the K tail, whose packed weights are 0) — the igemm's arithmetic.
     */
    @Test
    void im2colRowsTimesRearrangedWeightsGiveTheDirectAccumulators() {
        SplittableRandom rnd = new SplittableRandom(11);
        record Shape(int n, int c, int h, int w, int cout, ConvSpec s) {}
        List<Shape> shapes = List.of(
                new Shape(2, 3, 11, 9, 5, square(7, 2, 3)),
                new Shape(2, 1, 7, 8, 3, spec(3, 3, 1, 2, new int[] {2, 0, 1, 3}, 2, 1, 1)),
                new Shape(1, 3, 6, 5, 4, spec(2, 3, 2, 1, new int[] {0, 1, 2, 0}, 1, 2, 1)));
        for (Shape sh : shapes) {
            int[] k = sh.s().kernel(), st = sh.s().strides(), p = sh.s().pads(), d = sh.s().dilations();
            int oh = sh.s().outH(sh.h()), ow = sh.s().outW(sh.w()), taps = k[0] * k[1], kc = taps * sh.c();
            int kP = Math.ceilDiv(kc, 16) * 16;
            int zp = rnd.nextInt(256);
            int[] q = new int[sh.n() * sh.c() * sh.h() * sh.w()];
            for (int i = 0; i < q.length; i++) q[i] = rnd.nextInt(256);
            byte[] w = new byte[sh.cout() * kc];
            for (int i = 0; i < w.length; i++) w[i] = (byte) (rnd.nextInt(255) - 127);
            byte[] wr = CudaIntegerModel.im2colWeights(w, sh.cout(), sh.c(), k[0], k[1]);
            for (int b = 0; b < sh.n(); b++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        int[] row = new int[kP]; // shifted codes, as signed bytes
                        for (int kk = 0; kk < kP; kk++) {
                            int code = zp;
                            if (kk < kc) {
                                int c = kk % sh.c(), rs = kk / sh.c(), r = rs / k[1], s = rs % k[1];
                                int iy = oy * st[0] - p[0] + r * d[0], ix = ox * st[1] - p[1] + s * d[1];
                                if (iy >= 0 && iy < sh.h() && ix >= 0 && ix < sh.w()) {
                                    code = q[((b * sh.c() + c) * sh.h() + iy) * sh.w() + ix];
                                }
                            }
                            row[kk] = (byte) (code ^ 0x80);
                        }
                        for (int co = 0; co < sh.cout(); co++) {
                            int direct = 0;
                            for (int c = 0; c < sh.c(); c++)
                                for (int r = 0; r < k[0]; r++)
                                    for (int s = 0; s < k[1]; s++) {
                                        int iy = oy * st[0] - p[0] + r * d[0], ix = ox * st[1] - p[1] + s * d[1];
                                        if (iy < 0 || iy >= sh.h() || ix < 0 || ix >= sh.w()) continue;
                                        direct += (q[((b * sh.c() + c) * sh.h() + iy) * sh.w() + ix] - zp)
                                                * w[((co * sh.c() + c) * k[0] + r) * k[1] + s];
                                    }
                            int acc = 0, wsum = 0;
                            for (int kk = 0; kk < kP; kk++) {
                                int wv = kk < kc ? wr[co * kc + kk] : 0;
                                acc += row[kk] * wv;
                                wsum += wv;
                            }
                            acc -= (zp - 128) * wsum;
                            assertEquals(direct, acc, sh + " at (" + b + ", " + co + ", " + oy + ", " + ox + ")");
                        }
                    }
        }
    }
}
