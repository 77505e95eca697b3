// The fast CPU integer kernels: im2col of the uint8 input (padded with the zero point), then a register-
// blocked uint8×int8 GEMM on the Vector API with int32 lanes, threads over images or output channels.
package dev.zeroq.int8;

import dev.zeroq.backend.ConvSpec;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * Same results as {@link RefInt8Kernels}, bit for bit. Why the zero-point trick is exact: im2col fills padding
 * with the code zp (the code of 0.0), so Σ_k q_col·q_w − zp·Σ_k q_w = Σ_k (q_col − zp)·q_w, and padded taps
 * give (zp − zp)·q_w = 0 as in the definition. Integer addition is associative, so any summation order and any
 * split across threads gives the same int32.
 *
 * <p>Inner loop: 8 uint8 codes of one im2col row are loaded as a 64-bit ByteVector and zero-extended to eight
 * int32 lanes (one load feeds 4 output channels × 2 vectors of output positions = 8 accumulators, which stay in
 * registers over the whole reduction). int32 multiplies rather than int16 pairs: a uint8·int8 product fits int16,
 * but the Vector API has no pmaddubsw-style widening multiply-add, and the int32 path needs no extra shuffles.
 */
final class VectorInt8Kernels implements Int8Kernels {
    /** Int lanes: the preferred shape, at least 8 lanes so that the byte vector is at least 64 bits. */
    private static final VectorSpecies<Integer> IS = IntVector.SPECIES_PREFERRED.length() >= 8
            ? IntVector.SPECIES_PREFERRED : IntVector.SPECIES_256;
    private static final int L = IS.length();
    /** Bytes with as many lanes as IS, so a convertShape widens lane i to lane i. */
    private static final VectorSpecies<Byte> BS = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));
    /** Output channels per micro-kernel. */
    private static final int CO_BLOCK = 4;

    private final int threads;
    private final ForkJoinPool pool;
    /**
     * Pools shared by thread count, as the cpu backend's Parallel does: a pool per instance was never shut down,
     * so a service compiling a model per session kept one idle pool (its threads and their scratch) per session
     * alive until the workers' keep-alive ran out (SessionSoakTest).
     */
    private static final ConcurrentHashMap<Integer, ForkJoinPool> POOLS = new ConcurrentHashMap<>();
    /** Static for the same reason: one scratch set per thread, not per thread and instance. */
    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    VectorInt8Kernels(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
        // Not the common pool, so that the thread count is what was asked, not the common pool's size.
        this.pool = threads > 1 ? POOLS.computeIfAbsent(threads, ForkJoinPool::new) : null;
    }

    @Override
    public String name() {
        return "int8-vector(" + threads + " threads, " + L + " int lanes)";
    }

    /** Per-thread scratch arrays, grown on demand and reused, so steady-state runs allocate nothing big. */
    private static final class Buffers {
        byte[] col = new byte[0];
        int[] acc = new int[0];

        byte[] col(int n) {
            if (col.length < n) col = new byte[n];
            return col;
        }

        int[] acc(int n) {
            if (acc.length < n) acc = new int[n];
            return acc;
        }
    }

    private void parallel(int tasks, IntConsumer body) {
        if (pool == null || tasks == 1) {
            for (int t = 0; t < tasks; t++) body.accept(t);
        } else {
            pool.submit(() -> IntStream.range(0, tasks).parallel().forEach(body)).join();
        }
    }

    // ---------------------------------------------------------------- conv

    @Override
    public void conv(byte[] x, int n, int cin, int h, int wd, int zp, byte[] w, int cout, ConvSpec s, ConvSink sink) {
        Geometry geo = new Geometry(cin, h, wd, cout, s);
        int[] wi = widen(w);
        int[] zpw = zeroPointTerms(w, cout, geo.k, zp);
        if (pool == null || n >= threads) {
            // Enough images to keep every thread busy: one image per task, everything inside it serial.
            parallel(n, b -> {
                Buffers buf = BUFFERS.get();
                byte[] col = buf.col(Math.multiplyExact(geo.k, geo.plane));
                int[] acc = buf.acc(Math.multiplyExact(cout, geo.plane));
                for (int grp = 0; grp < geo.g; grp++) {
                    im2col(x, b, grp, zp, geo, col, 0);
                    for (int co = grp * geo.coutG; co < (grp + 1) * geo.coutG; co += CO_BLOCK) {
                        int nb = Math.min(CO_BLOCK, (grp + 1) * geo.coutG - co);
                        block(col, 0, geo.k, geo.plane, wi, co, nb, zpw, acc, co * geo.plane);
                    }
                }
                sink.accept(b, 0, cout, acc, 0);
            });
            return;
        }
        // Few images: threads share one image, first building its im2col rows, then over channel blocks.
        byte[] col = new byte[Math.multiplyExact(Math.multiplyExact(geo.g, geo.k), geo.plane)];
        int blocksPerGroup = (geo.coutG + CO_BLOCK - 1) / CO_BLOCK;
        for (int b = 0; b < n; b++) {
            int img = b;
            parallel(geo.g, grp -> im2col(x, img, grp, zp, geo, col, (long) grp * geo.k * geo.plane));
            parallel(geo.g * blocksPerGroup, t -> {
                int grp = t / blocksPerGroup;
                int co = grp * geo.coutG + (t % blocksPerGroup) * CO_BLOCK;
                int nb = Math.min(CO_BLOCK, (grp + 1) * geo.coutG - co);
                int[] acc = BUFFERS.get().acc(Math.multiplyExact(nb, geo.plane));
                block(col, grp * geo.k * geo.plane, geo.k, geo.plane, wi, co, nb, zpw, acc, 0);
                sink.accept(img, co, co + nb, acc, 0);
            });
        }
    }

    /** Shapes of one conv, resolved once. k = cinG·kh·kw (the im2col rows per group). */
    private record Geometry(int cin, int h, int w, int cout, int g, int cinG, int coutG, int kh, int kw,
                            int sh, int sw, int pt, int pl, int dh, int dw, int oh, int ow, int plane, int k) {
        Geometry(int cin, int h, int w, int cout, ConvSpec s) {
            this(cin, h, w, cout, s.group(), cin / s.group(), cout / s.group(), s.kernel()[0], s.kernel()[1],
                    s.strides()[0], s.strides()[1], s.pads()[0], s.pads()[1], s.dilations()[0], s.dilations()[1],
                    s.outH(h), s.outW(w), Math.multiplyExact(s.outH(h), s.outW(w)),
                    Math.multiplyExact(cin / s.group(), Math.multiplyExact(s.kernel()[0], s.kernel()[1])));
        }
    }

    /** col[k][p] for one image and group: the input code under tap k at output position p, zp in the padding. */
    private static void im2col(byte[] x, int b, int grp, int zp, Geometry geo, byte[] col, long colOff) {
        byte pad = (byte) zp;
        int row = 0;
        for (int ci = 0; ci < geo.cinG; ci++) {
            long chan = ((long) b * geo.cin + grp * geo.cinG + ci) * geo.h * geo.w;
            for (int ky = 0; ky < geo.kh; ky++) {
                for (int kx = 0; kx < geo.kw; kx++, row++) {
                    int dst = (int) (colOff + (long) row * geo.plane);
                    // Output columns whose tap lands inside the input: xo in [x0, x1).
                    int off = kx * geo.dw - geo.pl;
                    int x0 = off >= 0 ? 0 : Math.min(geo.ow, (-off + geo.sw - 1) / geo.sw);
                    int x1 = Math.max(x0, Math.min(geo.ow, (geo.w - 1 - off) / geo.sw + 1));
                    if (geo.w - 1 - off < 0) x1 = x0;
                    for (int y = 0; y < geo.oh; y++, dst += geo.ow) {
                        int iy = y * geo.sh - geo.pt + ky * geo.dh;
                        if (iy < 0 || iy >= geo.h) {
                            java.util.Arrays.fill(col, dst, dst + geo.ow, pad);
                            continue;
                        }
                        int src = (int) (chan + (long) iy * geo.w + off);
                        java.util.Arrays.fill(col, dst, dst + x0, pad);
                        if (geo.sw == 1) {
                            System.arraycopy(x, src + x0, col, dst + x0, x1 - x0);
                        } else {
                            for (int xo = x0; xo < x1; xo++) col[dst + xo] = x[src + xo * geo.sw];
                        }
                        java.util.Arrays.fill(col, dst + x1, dst + geo.ow, pad);
                    }
                }
            }
        }
    }

    /** Weights widened to int once per call, so the inner loop broadcasts an int without a conversion. */
    private static int[] widen(byte[] w) {
        int[] out = new int[w.length];
        for (int i = 0; i < w.length; i++) out[i] = w[i];
        return out;
    }

    /** zp·Σ_k w[co][k] per output channel: the correction that turns Σ q·w into Σ (q − zp)·w. */
    private static int[] zeroPointTerms(byte[] w, int cout, int k, int zp) {
        int[] t = new int[cout];
        for (int co = 0; co < cout; co++) {
            int s = 0;
            for (int i = 0; i < k; i++) s += w[co * k + i];
            t[co] = zp * s;
        }
        return t;
    }

    /**
     * acc[accOff + r·P + p] = Σ_k wi[(co0+r)·K + k]·col[colOff + k·P + p] − zpw[co0+r] for r < nb (≤ 4).
     * Four channels × two vectors of positions per step; channels past nb reuse channel co0 and are discarded.
     */
    private static void block(byte[] col, int colOff, int kk, int pp, int[] wi, int co0, int nb, int[] zpw,
                              int[] acc, int accOff) {
        int w0 = co0 * kk;
        int w1 = (co0 + Math.min(1, nb - 1)) * kk;
        int w2 = (co0 + Math.min(2, nb - 1)) * kk;
        int w3 = (co0 + Math.min(3, nb - 1)) * kk;
        int p = 0;
        for (; p + 2 * L <= pp; p += 2 * L) {
            IntVector a0 = IntVector.zero(IS), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            int src = colOff + p;
            for (int k = 0; k < kk; k++, src += pp) {
                IntVector x0 = (IntVector) ByteVector.fromArray(BS, col, src)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, IS, 0);
                IntVector x1 = (IntVector) ByteVector.fromArray(BS, col, src + L)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, IS, 0);
                int c0 = wi[w0 + k], c1 = wi[w1 + k], c2 = wi[w2 + k], c3 = wi[w3 + k];
                a0 = a0.add(x0.mul(c0));
                b0 = b0.add(x1.mul(c0));
                a1 = a1.add(x0.mul(c1));
                b1 = b1.add(x1.mul(c1));
                a2 = a2.add(x0.mul(c2));
                b2 = b2.add(x1.mul(c2));
                a3 = a3.add(x0.mul(c3));
                b3 = b3.add(x1.mul(c3));
            }
            store(a0, b0, zpw[co0], acc, accOff + p);
            if (nb > 1) store(a1, b1, zpw[co0 + 1], acc, accOff + pp + p);
            if (nb > 2) store(a2, b2, zpw[co0 + 2], acc, accOff + 2 * pp + p);
            if (nb > 3) store(a3, b3, zpw[co0 + 3], acc, accOff + 3 * pp + p);
        }
        // Tail positions (fewer than 2·L): scalar, same sums.
        for (int r = 0; r < nb; r++) {
            int wr = (co0 + r) * kk;
            for (int q = p; q < pp; q++) {
                int sum = 0;
                for (int k = 0, src = colOff + q; k < kk; k++, src += pp) {
                    sum += (col[src] & 0xFF) * wi[wr + k];
                }
                acc[accOff + r * pp + q] = sum - zpw[co0 + r];
            }
        }
    }

    private static void store(IntVector a, IntVector b, int zpw, int[] acc, int at) {
        a.sub(zpw).intoArray(acc, at);
        b.sub(zpw).intoArray(acc, at + L);
    }

    // ---------------------------------------------------------------- gemm

    @Override
    public void gemm(byte[] x, int m, int k, int zp, byte[] w, int cout, GemmSink sink) {
        int[] wi = widen(w);
        int[] zpw = zeroPointTerms(w, cout, k, zp);
        int rowsPerTask = Math.max(1, (m + 4 * threads - 1) / (4 * threads));
        int tasks = (m + rowsPerTask - 1) / rowsPerTask;
        parallel(tasks, t -> {
            int r0 = t * rowsPerTask, r1 = Math.min(m, r0 + rowsPerTask);
            int[] acc = BUFFERS.get().acc(Math.multiplyExact(r1 - r0, cout));
            for (int r = r0; r < r1; r++) {
                int xo = Math.multiplyExact(r, k);
                for (int co = 0; co < cout; co++) {
                    acc[(r - r0) * cout + co] = dot(x, xo, wi, co * k, k) - zpw[co];
                }
            }
            sink.accept(r0, r1, acc, 0);
        });
    }

    /** Σ_i x[xo+i]·wi[wo+i], x unsigned codes. */
    private static int dot(byte[] x, int xo, int[] wi, int wo, int k) {
        IntVector a = IntVector.zero(IS);
        int i = 0;
        for (; i + L <= k; i += L) {
            IntVector xv = (IntVector) ByteVector.fromArray(BS, x, xo + i).convertShape(VectorOperators.ZERO_EXTEND_B2I, IS, 0);
            a = a.add(xv.mul(IntVector.fromArray(IS, wi, wo + i)));
        }
        int sum = a.reduceLanes(VectorOperators.ADD);
        for (; i < k; i++) sum += (x[xo + i] & 0xFF) * wi[wo + i];
        return sum;
    }
}
