// The vector integer kernels against the reference loops, bit for bit, on small odd shapes (batch 3, C = 7,
// 7×5 images, groups, depthwise, strides, pads, dilations) and every threading mode; and their scratch stays bounded.
package dev.zeroq.int8;

import dev.zeroq.backend.ConvSpec;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class Int8KernelParityTest {
    private static final long SEED = 20260126L;

    /** kh, kw, sh, sw, pads t/l/b/r, dh, dw, group, cout. */
    private static final int[][] CONVS = {
            {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5},
            {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 9},
            {1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 13},
            {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 7, 7},   // depthwise
            {3, 3, 2, 1, 2, 0, 1, 2, 1, 1, 7, 14},  // depthwise multiplier 2, uneven pads
            {2, 3, 1, 2, 0, 1, 1, 0, 2, 1, 1, 6},   // dilation, asymmetric kernel
            {5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1, 3},   // kernel wider than the 5-wide image
            {3, 3, 2, 2, 1, 0, 0, 1, 1, 1, 7, 7},   // depthwise (direct loop), strided, uneven pads
            {3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 7, 7},   // depthwise, dilated
            {5, 5, 1, 2, 2, 2, 2, 2, 1, 1, 7, 7},   // depthwise, kernel wider than the image, stride 2 across
            {1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, 6},   // 1×1 stride 2: a phase row is an output row (runs span rows)
            {3, 1, 2, 1, 1, 0, 1, 0, 1, 1, 1, 4},   // kw 1, stride 2 down, padded rows only
            {3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 5},   // strided and dilated (taps in all four phases)
            {3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 5},   // stride 3
            {2, 2, 2, 2, 0, 0, 1, 1, 1, 1, 1, 3},   // even kernel, stride 2, padding on one side only
    };

    @Test
    void convMatchesReferenceExactly() {
        Random r = new Random(SEED);
        int n = 3, cin = 7, h = 7, w = 5;
        for (int[] c : CONVS) {
            ConvSpec s = new ConvSpec(new int[] {c[0], c[1]}, new int[] {c[2], c[3]}, new int[] {c[4], c[5], c[6], c[7]},
                    new int[] {c[8], c[9]}, c[10]);
            int cout = c[11];
            byte[] x = randomCodes(r, n * cin * h * w);
            byte[] wq = randomWeights(r, cout * (cin / s.group()) * c[0] * c[1]);
            int zp = r.nextInt(256);
            // threads 1: serial; 2: one image per task (n >= threads); 8: threads share an image.
            assertVectorConvExact(x, n, cin, h, w, zp, wq, cout, s, s + " cout " + cout + " zp " + zp, 1, 2, 8);
        }
    }

    @Test
    void preparedWeightsKeepTheirOwnCopyAndServeEveryCallTheSame() {
        Random r = new Random(SEED + 7);
        int n = 2, cin = 6, h = 7, w = 5, cout = 9, zp = 77;
        ConvSpec s = new ConvSpec(new int[] {3, 3}, new int[] {1, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 1);
        byte[] x = randomCodes(r, n * cin * h * w);
        byte[] wq = randomWeights(r, cout * cin * 9);
        int[] want = conv(Int8Kernels.ref(), x, n, cin, h, w, zp, wq, cout, s);
        for (Int8Kernels k : new Int8Kernels[] {Int8Kernels.ref(), Int8Kernels.vector(1), Int8Kernels.vector(3)}) {
            Int8Kernels.Weights prepared = k.prepare(wq, cout, 1);
            byte[] original = wq.clone();
            java.util.Arrays.fill(wq, (byte) 5); // the caller reuses its array: the prepared weights must not see it
            for (int call = 0; call < 2; call++) {
                assertExact(want, conv(k, x, n, cin, h, w, zp, prepared, s), k.name() + " call " + call);
            }
            assertTrue(java.util.Arrays.equals(original, prepared.codes()), k.name() + ": codes() is the prepared copy");
            System.arraycopy(original, 0, wq, 0, wq.length);
        }
        // Weights prepared by one implementation run on another (the vector kernels pack them for the call).
        Int8Kernels.Weights refPrepared = Int8Kernels.ref().prepare(wq, cout, 1);
        int[] got = conv(Int8Kernels.vector(2), x, n, cin, h, w, zp, refPrepared, s);
        assertExact(want, got, "ref-prepared weights on the vector kernels");
    }

    @Test
    void convOnWideImagesUsesTheVectorPathExactly() {
        // 2·8 or more output positions per row block: the vector loop, not just the scalar tail, is exercised.
        Random r = new Random(SEED + 1);
        int n = 2, cin = 5, h = 11, w = 23;
        ConvSpec s = new ConvSpec(new int[] {3, 3}, new int[] {1, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 1);
        byte[] x = randomCodes(r, n * cin * h * w);
        byte[] wq = randomWeights(r, 7 * cin * 9);
        assertVectorConvExact(x, n, cin, h, w, 131, wq, 7, s, "wide,", 1, 3);
    }

    @Test
    void largeConvSplitOverThreadsIsExact() {
        // 2·37·33 columns × 40 channels × K 144 ≈ 14 M multiply-adds: above the size where the kernels stop running
        // small convs on the caller's thread, so tiles and channel chunks are really spread over the pool.
        Random r = new Random(SEED + 5);
        int n = 2, cin = 16, h = 37, w = 33;
        ConvSpec s = new ConvSpec(new int[] {3, 3}, new int[] {1, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 1);
        byte[] x = randomCodes(r, n * cin * h * w);
        byte[] wq = randomWeights(r, 40 * cin * 9);
        assertVectorConvExact(x, n, cin, h, w, 77, wq, 40, s, "large,", 2, 5);
    }

    @Test
    void depthwiseOnWideImagesIsExact() {
        // 37 outputs per row: several vectors per row and a partial last one; then a conv large enough to be
        // spread over the pool (3·80·40 outputs × 64 channels × 9 taps ≈ 5.5 M multiply-adds).
        Random r = new Random(SEED + 6);
        int[][] shapes = {{2, 9, 11, 37, 1}, {2, 9, 11, 37, 2}, {3, 64, 80, 40, 1}};
        for (int[] sh : shapes) {
            int n = sh[0], c = sh[1], h = sh[2], w = sh[3], st = sh[4];
            ConvSpec s = new ConvSpec(new int[] {3, 3}, new int[] {st, st}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, c);
            byte[] x = randomCodes(r, n * c * h * w);
            byte[] wq = randomWeights(r, c * 9);
            int zp = r.nextInt(256);
            assertVectorConvExact(x, n, c, h, w, zp, wq, c, s, "depthwise " + java.util.Arrays.toString(sh), 1, 3);
        }
    }

    @Test
    void scratchStaysBoundedOnLargeLayers() {
        // On the caller's thread (1 thread): a 1×1 conv over 2·128·128 positions × 256 channels (K 8 lets an im2col
        // tile span 32 K columns; its accumulators for every channel would be 32 MiB), a depthwise conv on
        // 600×600 planes and a 4096-row gemm. The per-thread scratch must stay within the kernels' budgets
        // (0.25 MiB of im2col + 0.25 MiB of accumulators + the padded rows, well under 2 MiB), and the results,
        // handed to the sink in several chunks, must still be exact.
        Random r = new Random(SEED + 7);
        Int8Kernels vec = Int8Kernels.vector(1);
        ConvSpec pw = new ConvSpec(new int[] {1, 1}, new int[] {1, 1}, new int[] {0, 0, 0, 0}, new int[] {1, 1}, 1);
        byte[] x = randomCodes(r, 2 * 8 * 128 * 128);
        byte[] wq = randomWeights(r, 256 * 8);
        assertExact(conv(Int8Kernels.ref(), x, 2, 8, 128, 128, 5, wq, 256, pw),
                conv(vec, x, 2, 8, 128, 128, 5, wq, 256, pw), "large 1x1 conv");
        long limit = 2L << 20;
        assertTrue(VectorInt8Kernels.scratchBytes() < limit, "scratch after a large 1x1 conv: "
                + VectorInt8Kernels.scratchBytes() + " bytes");
        ConvSpec dw = new ConvSpec(new int[] {3, 3}, new int[] {1, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 4);
        byte[] xd = randomCodes(r, 4 * 600 * 600);
        byte[] wd = randomWeights(r, 4 * 9);
        assertExact(conv(Int8Kernels.ref(), xd, 1, 4, 600, 600, 200, wd, 4, dw),
                conv(vec, xd, 1, 4, 600, 600, 200, wd, 4, dw), "large depthwise conv");
        assertTrue(VectorInt8Kernels.scratchBytes() < limit, "scratch after a large depthwise conv: "
                + VectorInt8Kernels.scratchBytes() + " bytes");
        byte[] xg = randomCodes(r, 4096 * 64);
        byte[] wg = randomWeights(r, 512 * 64);
        assertExact(gemm(Int8Kernels.ref(), xg, 4096, 64, 9, wg, 512), gemm(vec, xg, 4096, 64, 9, wg, 512), "large gemm");
        assertTrue(VectorInt8Kernels.scratchBytes() < limit, "scratch after a large gemm: "
                + VectorInt8Kernels.scratchBytes() + " bytes");
    }

    @Test
    void gemmMatchesReferenceExactly() {
        Random r = new Random(SEED + 2);
        int[][] shapes = {{3, 37, 5}, {1, 8, 1}, {17, 64, 10}, {2, 5, 3}};
        for (int[] sh : shapes) {
            int m = sh[0], k = sh[1], cout = sh[2];
            byte[] x = randomCodes(r, m * k);
            byte[] wq = randomWeights(r, cout * k);
            int zp = r.nextInt(256);
            int[] want = gemm(Int8Kernels.ref(), x, m, k, zp, wq, cout);
            for (int threads : new int[] {1, 4}) {
                assertExact(want, gemm(Int8Kernels.vector(threads), x, m, k, zp, wq, cout),
                        "gemm " + m + "x" + k + "x" + cout + " threads " + threads);
            }
        }
    }

    @Test
    void referenceFollowsTheDefinition() {
        // 1 image, 1 channel 2×2, 3×3 kernel of ones with pad 1, zp 10: the centre output sums (q − 10) over all 4
        // pixels; padding contributes 0. Codes 11, 12, 13, 14 → 1 + 2 + 3 + 4 = 10 at every output.
        ConvSpec s = new ConvSpec(new int[] {3, 3}, new int[] {1, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 1);
        byte[] w = new byte[9];
        java.util.Arrays.fill(w, (byte) 1);
        int[] acc = conv(Int8Kernels.ref(), new byte[] {11, 12, 13, 14}, 1, 1, 2, 2, 10, w, 1, s);
        assertEquals(java.util.List.of(10, 10, 10, 10), java.util.Arrays.stream(acc).boxed().toList());
    }

    /** The vector kernels on each of {@code threadCounts} against the reference, exactly; "{what} threads {t}". */
    private static void assertVectorConvExact(byte[] x, int n, int cin, int h, int w, int zp, byte[] wq, int cout,
                                              ConvSpec s, String what, int... threadCounts) {
        int[] want = conv(Int8Kernels.ref(), x, n, cin, h, w, zp, wq, cout, s);
        for (int threads : threadCounts) {
            assertExact(want, conv(Int8Kernels.vector(threads), x, n, cin, h, w, zp, wq, cout, s),
                    what + " threads " + threads);
        }
    }

    static int[] conv(Int8Kernels k, byte[] x, int n, int cin, int h, int w, int zp, byte[] wq, int cout, ConvSpec s) {
        return conv(k, x, n, cin, h, w, zp, k.prepare(wq, cout, s.group()), s);
    }

    static int[] conv(Int8Kernels k, byte[] x, int n, int cin, int h, int w, int zp, Int8Kernels.Weights wq, ConvSpec s) {
        int plane = s.outH(h) * s.outW(w), cout = wq.cout();
        int[] out = new int[n * cout * plane];
        k.conv(x, n, cin, h, w, zp, wq, s, (j0, j1, co0, co1, acc, off, stride) -> {
            for (int co = co0; co < co1; co++) {
                for (int j = j0; j < j1; j++) {
                    int img = j / plane, p = j % plane;
                    out[(img * cout + co) * plane + p] = acc[off + (co - co0) * stride + (j - j0)];
                }
            }
        });
        return out;
    }

    static int[] gemm(Int8Kernels k, byte[] x, int m, int kk, int zp, byte[] wq, int cout) {
        int[] out = new int[m * cout];
        k.gemm(x, m, kk, zp, wq, cout, (r0, r1, acc, off) -> System.arraycopy(acc, off, out, r0 * cout, (r1 - r0) * cout));
        return out;
    }

    static byte[] randomCodes(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    /** Narrow-range int8, as the symmetric weight quantizer produces. */
    static byte[] randomWeights(Random r, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (r.nextInt(255) - 127);
        return b;
    }

    static void assertExact(int[] want, int[] got, String what) {
        assertEquals(want.length, got.length, what + ": length");
        for (int i = 0; i < want.length; i++) {
            if (want[i] != got[i]) {
                fail(what + ": first mismatch at index " + i + ": ref " + want[i] + ", got " + got[i]);
            }
        }
    }
}
