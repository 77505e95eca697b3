// The fast CPU integer kernels: im2col of the uint8 input (padded with the zero point) into K-major panels spanning
// every image's output positions, then a register-blocked uint8×int8 GEMM on the Vector API with int32 lanes;
// threads over column tiles (and channel chunks when the tiles are too few), each calling the sink on its own tile.
package dev.zeroq.int8;

import dev.zeroq.backend.ConvSpec;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

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
 * registers over the whole reduction). int32 multiplies rather than int16 pairs: with the codes offset by −128 to
 * s8, two s8·s8 products (|p| ≤ 128·127) add in int16 without overflow, but the Vector API has no pmaddwd-style
 * widening multiply-add, so every pair still costs a widening (2 converts or 3 shifts) and 2 int32 adds: per
 * multiply-add that is as many vector ops as the int32 multiply + add it replaces, for more code.
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
    /** Columns (output positions) per packed panel: the micro-kernel's two int vectors. */
    private static final int NR = 2 * L;
    /**
     * Bytes of one task's packed im2col tile (K × tile): 256 KiB stays in a 1–2 MiB L2 beside the packed
     * weights while every channel block streams over it.
     */
    private static final int COL_BUDGET = 1 << 18;

    private final int threads;
    private final ForkJoinPool pool;
    /**
     * Pools shared by thread count, as the cpu backend's Parallel does: a pool per instance was never shut down,
     * so a service compiling a model per session kept one idle pool (its threads and their scratch) per session
     * alive until the workers' keep-alive ran out (SessionSoakTest).
     */
    private static final java.util.concurrent.ConcurrentHashMap<Integer, ForkJoinPool> POOLS = new java.util.concurrent.ConcurrentHashMap<>();
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
        int blocks = Math.ceilDiv(geo.coutG, CO_BLOCK);
        int[] wp = packWeights(w, geo, blocks);
        int[] zpw = zeroPointTerms(w, cout, geo.k, zp);
        // The GEMM's N is every output position of every image (column j = image·plane + p), so a 7×7 plane at
        // batch 32 is 1,568 columns of full vectors instead of 49 with a scalar tail of 17 per image.
        int cols = Math.multiplyExact(n, geo.plane);
        int maxTile = Math.max(NR, COL_BUDGET / Math.max(geo.k, 1) / NR * NR);
        // At least two tasks per thread when the columns allow it (load balance on a shared machine) …
        int tiles = Math.max(Math.ceilDiv(cols, maxTile),
                Math.min(Math.ceilDiv(2 * threads, geo.g), Math.ceilDiv(cols, NR)));
        int tile = Math.ceilDiv(Math.ceilDiv(cols, tiles), NR) * NR;
        int nTiles = Math.ceilDiv(cols, tile);
        // … and when they do not (batch 1, small planes), split the channel blocks too; each such task packs its
        // own copy of the tile, which costs K·tile bytes against K·tile·channels multiply-adds.
        int chunks = Math.min(blocks, Math.max(1, Math.ceilDiv(2 * threads, geo.g * nTiles)));
        int perChunk = Math.ceilDiv(blocks, chunks);
        int nChunks = Math.ceilDiv(blocks, perChunk);
        parallel(geo.g * nTiles * nChunks, t -> {
            int grp = t / (nTiles * nChunks), rest = t % (nTiles * nChunks);
            int j0 = (rest / nChunks) * tile, nc = Math.min(tile, cols - j0);
            int b0 = (rest % nChunks) * perChunk, b1 = Math.min(blocks, b0 + perChunk);
            int panels = Math.ceilDiv(nc, NR), stride = panels * NR;
            Buffers buf = BUFFERS.get();
            byte[] col = buf.col(Math.multiplyExact(stride, geo.k));
            im2col(x, grp, zp, geo, j0, nc, col);
            int coFirst = grp * geo.coutG + b0 * CO_BLOCK;
            int coEnd = Math.min((grp + 1) * geo.coutG, grp * geo.coutG + b1 * CO_BLOCK);
            int[] acc = buf.acc(Math.multiplyExact(coEnd - coFirst, stride));
            for (int b = b0; b < b1; b++) {
                int co = grp * geo.coutG + b * CO_BLOCK;
                int nb = Math.min(CO_BLOCK, (grp + 1) * geo.coutG - co);
                int wOff = (grp * blocks + b) * geo.k * CO_BLOCK;
                for (int p = 0; p < panels; p++) {
                    int at = (co - coFirst) * stride + p * NR;
                    if (nb == 1) {
                        kernel1(col, p * NR * geo.k, geo.k, wp, wOff, zpw[co], acc, at);
                    } else {
                        kernel(col, p * NR * geo.k, geo.k, wp, wOff, zpw, co, nb, acc, at, stride);
                    }
                }
            }
            sink.accept(j0, j0 + nc, coFirst, coEnd, acc, 0, stride);
        });
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

    /**
     * Weights as int, K-major per block of CO_BLOCK channels: wp[((grp·blocks + b)·K + k)·CO_BLOCK + r] is the
     * weight of channel grp·coutG + b·CO_BLOCK + r at tap k, 0 past the group's last channel. The micro-kernel
     * then reads its CO_BLOCK broadcasts from one cache line per k instead of from CO_BLOCK rows K apart.
     */
    private static int[] packWeights(byte[] w, Geometry geo, int blocks) {
        int[] wp = new int[Math.multiplyExact(Math.multiplyExact(geo.g * blocks, geo.k), CO_BLOCK)];
        for (int co = 0; co < geo.cout; co++) {
            int grp = co / geo.coutG, b = (co % geo.coutG) / CO_BLOCK, r = (co % geo.coutG) % CO_BLOCK;
            int dst = (grp * blocks + b) * geo.k * CO_BLOCK + r;
            for (int k = 0; k < geo.k; k++, dst += CO_BLOCK) wp[dst] = w[co * geo.k + k];
        }
        return wp;
    }

    /**
     * Packs im2col columns [j0, j0 + nc) of group grp into NR-wide panels: col[(panel·K + k)·NR + c] is the input
     * code under tap k (= (ci, ky, kx)) at column j0 + panel·NR + c, zp in the padding. Each panel is one
     * contiguous K×NR block, so the micro-kernel streams it front to back. Columns past nc (the last panel's
     * tail) are filled with zp too; their sums are computed and never read.
     */
    private static void im2col(byte[] x, int grp, int zp, Geometry geo, int j0, int nc, byte[] col) {
        byte pad = (byte) zp;
        int kk = geo.k;
        int panels = Math.ceilDiv(nc, NR);
        int used = nc - (panels - 1) * NR;
        if (used < NR) {
            for (int k = 0, at = (panels - 1) * kk * NR; k < kk; k++, at += NR) {
                java.util.Arrays.fill(col, at + used, at + NR, pad);
            }
        }
        int hw = geo.h * geo.w;
        // Runs of columns in one output row and one panel: the source of a tap is then one strided row segment.
        for (int j = j0, end = j0 + nc; j < end; ) {
            int img = j / geo.plane, pos = j - img * geo.plane, oy = pos / geo.ow, ox0 = pos - oy * geo.ow;
            int rel = j - j0, panel = rel / NR, lane = rel - panel * NR;
            int len = Math.min(Math.min(geo.ow - ox0, end - j), NR - lane);
            int ox1 = ox0 + len;
            int dst = panel * kk * NR + lane;
            long chan = ((long) img * geo.cin + (long) grp * geo.cinG) * hw;
            for (int ci = 0; ci < geo.cinG; ci++, chan += hw) {
                for (int ky = 0; ky < geo.kh; ky++) {
                    int iy = oy * geo.sh - geo.pt + ky * geo.dh;
                    boolean rowInside = iy >= 0 && iy < geo.h;
                    for (int kx = 0; kx < geo.kw; kx++, dst += NR) {
                        if (!rowInside) {
                            java.util.Arrays.fill(col, dst, dst + len, pad);
                            continue;
                        }
                        // ix = ox·sw + off lies in [0, w) for ox in [lo, hi).
                        int off = kx * geo.dw - geo.pl;
                        int lo = Math.min(Math.max(Math.ceilDiv(-off, geo.sw), ox0), ox1);
                        int hi = Math.min(Math.max(Math.floorDiv(geo.w - 1 - off, geo.sw) + 1, lo), ox1);
                        java.util.Arrays.fill(col, dst, dst + (lo - ox0), pad);
                        int src = (int) (chan + (long) iy * geo.w + (long) lo * geo.sw + off);
                        if (geo.sw == 1) {
                            System.arraycopy(x, src, col, dst + (lo - ox0), hi - lo);
                        } else {
                            for (int ox = lo, d = dst + (lo - ox0); ox < hi; ox++, src += geo.sw) col[d++] = x[src];
                        }
                        java.util.Arrays.fill(col, dst + (hi - ox0), dst + len, pad);
                    }
                }
            }
            j += len;
        }
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
     * Micro-kernel: one packed panel (K × NR codes at ci) against CO_BLOCK channels (packed weights at wi):
     * acc[at + r·stride + c] = Σ_k wp[wi + k·CO_BLOCK + r]·col[ci + k·NR + c] − zpw[co0 + r] for r < nb.
     * 4 channels × 2 vectors = 8 int32 accumulators that stay in registers over the whole reduction; per k, two
     * widening loads of 8 or 16 codes feed 8 multiply-adds. int32 multiplies rather than int16 pairs: see the
     * class comment.
     */
    private static void kernel(byte[] col, int ci, int kk, int[] wp, int wi, int[] zpw, int co0, int nb,
                               int[] acc, int at, int stride) {
        IntVector a0 = IntVector.zero(IS), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (int k = 0; k < kk; k++, ci += NR, wi += CO_BLOCK) {
            IntVector x0 = (IntVector) ByteVector.fromArray(BS, col, ci)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, IS, 0);
            IntVector x1 = (IntVector) ByteVector.fromArray(BS, col, ci + L)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, IS, 0);
            int c0 = wp[wi], c1 = wp[wi + 1], c2 = wp[wi + 2], c3 = wp[wi + 3];
            a0 = a0.add(x0.mul(c0));
            b0 = b0.add(x1.mul(c0));
            a1 = a1.add(x0.mul(c1));
            b1 = b1.add(x1.mul(c1));
            a2 = a2.add(x0.mul(c2));
            b2 = b2.add(x1.mul(c2));
            a3 = a3.add(x0.mul(c3));
            b3 = b3.add(x1.mul(c3));
        }
        store(a0, b0, zpw[co0], acc, at);
        if (nb > 1) store(a1, b1, zpw[co0 + 1], acc, at + stride);
        if (nb > 2) store(a2, b2, zpw[co0 + 2], acc, at + 2 * stride);
        if (nb > 3) store(a3, b3, zpw[co0 + 3], acc, at + 3 * stride);
    }

    /** The micro-kernel for a lone channel (depthwise convs: one channel per group), without 3 wasted rows. */
    private static void kernel1(byte[] col, int ci, int kk, int[] wp, int wi, int zpw, int[] acc, int at) {
        IntVector a = IntVector.zero(IS), b = a;
        for (int k = 0; k < kk; k++, ci += NR, wi += CO_BLOCK) {
            int c = wp[wi];
            a = a.add(((IntVector) ByteVector.fromArray(BS, col, ci)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, IS, 0)).mul(c));
            b = b.add(((IntVector) ByteVector.fromArray(BS, col, ci + L)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, IS, 0)).mul(c));
        }
        store(a, b, zpw, acc, at);
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

    /** Weights widened to int once per call, so the inner loop reads ints without a conversion. */
    private static int[] widen(byte[] w) {
        int[] out = new int[w.length];
        for (int i = 0; i < w.length; i++) out[i] = w[i];
        return out;
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
