// The fast CPU integer kernels: im2col of the uint8 input (padded with the zero point and split into stride phases)
// into K-major panels spanning every image's output positions, then a register-blocked uint8×int8 GEMM on the
// Vector API with int32 lanes; depthwise convs by a direct loop instead. Small convs run on the caller's thread,
// larger ones over a pool.
package dev.zeroq.int8;

import dev.zeroq.backend.ConvSpec;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorMask;
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
 *
 * <p>Allocation: C2 keeps the vectors of these loops in registers, but before it has compiled them (the first few
 * forward passes of a process, or after a deoptimization) every vector op allocates its result as an object, on the
 * order of 30 bytes per multiply-add: hundreds of MB of short-lived garbage for the first pass of a small CNN. That
 * is JIT warm-up, not retained memory; what the kernels do keep per thread is bounded by COL_BUDGET and ACC_BUDGET.
 */
final class VectorInt8Kernels implements Int8Kernels {
    /** Int lanes: the preferred shape, at least 8 lanes so that the byte vector is at least 64 bits. */
    private static final VectorSpecies<Integer> IS = IntVector.SPECIES_PREFERRED.length() >= 8
            ? IntVector.SPECIES_PREFERRED : IntVector.SPECIES_256;
    private static final int L = IS.length();
    /** Bytes with as many lanes as IS, so a convertShape widens lane i to lane i. */
    private static final VectorSpecies<Byte> BS = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));
    /** One panel row of codes (NR lanes): the unit of im2col's stride-1 copies. */
    private static final VectorSpecies<Byte> RUN = VectorSpecies.of(byte.class, VectorShape.forBitSize(2 * L * 8));
    /** Output channels per micro-kernel. */
    private static final int CO_BLOCK = 4;
    /** Columns (output positions) per packed panel: the micro-kernel's two int vectors. */
    private static final int NR = 2 * L;
    /**
     * Below this many multiply-adds (tens of µs of one core) a conv runs on the caller's thread: handing a batch-1
     * layer of a small CNN to other threads and waiting for them costs more than it saves (as in the cpu backend).
     */
    static final long SERIAL_MAX_MACS = 1L << 22;
    /**
     * Bytes of one task's packed im2col tile (K × tile): 256 KiB stays in a 1–2 MiB L2 beside the packed
     * weights while every channel block streams over it.
     */
    private static final int COL_BUDGET = 1 << 18;
    /**
     * Bytes of one task's int32 accumulators: a task whose channels × columns would need more hands them to the sink
     * in several chunks, so the scratch a thread keeps is bounded by COL_BUDGET + ACC_BUDGET whatever the layer (or
     * K·NR bytes of im2col when K is too large for one panel to fit COL_BUDGET).
     */
    static final int ACC_BUDGET = 1 << 18;

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

    /** Per-thread scratch arrays, grown on demand up to the budgets above and reused. */
    private static final class Buffers {
        byte[] col = new byte[0];
        int[] acc = new int[0];
        int[] pad = new int[0];
        /** im2col's runs of one panel (at most NR): source offset, first lane, length. */
        final int[] runSrc = new int[NR], runLane = new int[NR], runLen = new int[NR];

        byte[] col(int n) {
            if (col.length < n) col = new byte[n];
            return col;
        }

        int[] acc(int n) {
            if (acc.length < n) acc = new int[n];
            return acc;
        }

        int[] pad(int n) {
            if (pad.length < n) pad = new int[n];
            return pad;
        }
    }

    /** Bytes of kernel scratch the calling thread holds. */
    static long scratchBytes() {
        Buffers b = BUFFERS.get();
        return b.col.length + 4L * b.acc.length + 4L * b.pad.length + 3L * 4 * NR;
    }

    /** Runs {@code body(0 … tasks−1)}: on the caller's thread when {@code serial} (or there is no pool), else spread. */
    private void parallel(boolean serial, int tasks, IntConsumer body) {
        if (serial || pool == null || tasks == 1) {
            for (int t = 0; t < tasks; t++) body.accept(t);
        } else {
            pool.submit(() -> IntStream.range(0, tasks).parallel().forEach(body)).join();
        }
    }

    /**
     * A weight array in the forms the kernels read. {@code wp}: as int, K-major per block of CO_BLOCK channels,
     * wp[((grp·blocks + b)·K + k)·CO_BLOCK + r] is the weight of channel grp·coutG + b·CO_BLOCK + r at tap k (0 past
     * the group's last channel), so the micro-kernel reads its CO_BLOCK broadcasts from one cache line per k instead
     * of from CO_BLOCK rows K apart. {@code wide}: as int in the original (cout, K) order. {@code sum}: Σ_k w[co][k],
     * whose zp multiple turns Σ q·w into Σ (q − zp)·w.
     */
    private record Packed(int cout, int k, int coutG, int[] wp, int[] wide, int[] sum) {}

    /** Prepared weights that pack themselves on first use (a model compiled only for the CUDA engine never does). */
    private static final class VectorWeights extends PreparedWeights {
        private volatile Packed packed;

        VectorWeights(byte[] w, int cout, int groups) {
            super(w, cout, groups);
        }

        Packed packed() {
            Packed p = packed;
            if (p == null) {
                synchronized (this) {
                    p = packed;
                    if (p == null) packed = p = pack(own(), cout(), groups());
                }
            }
            return p;
        }
    }

    @Override
    public Weights prepare(byte[] w, int cout, int groups) {
        return new VectorWeights(w, cout, groups);
    }

    /** The packed form of {@code w}: kept by weights prepared here, made for this call for any others. */
    private static Packed packed(Weights w, int k) {
        Packed p = w instanceof VectorWeights v ? v.packed() : pack(w.codes(), w.cout(), w.groups());
        if (p.k != k) {
            throw new IllegalArgumentException("weights of " + p.k + " taps per channel for a layer of " + k);
        }
        return p;
    }

    private static Packed pack(byte[] w, int cout, int g) {
        int k = cout == 0 ? 0 : w.length / cout;
        int coutG = cout / g, blocks = Math.ceilDiv(coutG, CO_BLOCK);
        int[] wp = new int[Math.multiplyExact(Math.multiplyExact(g * blocks, k), CO_BLOCK)];
        int[] wide = new int[w.length];
        int[] sum = new int[cout];
        for (int co = 0; co < cout; co++) {
            int grp = co / coutG, b = (co % coutG) / CO_BLOCK, r = (co % coutG) % CO_BLOCK;
            int dst = (grp * blocks + b) * k * CO_BLOCK + r;
            int s = 0;
            for (int i = 0, src = co * k; i < k; i++, src++, dst += CO_BLOCK) {
                wp[dst] = w[src];
                wide[src] = w[src];
                s += w[src];
            }
            sum[co] = s;
        }
        return new Packed(cout, k, coutG, wp, wide, sum);
    }

    // ---------------------------------------------------------------- conv

    @Override
    public void conv(byte[] x, int n, int cin, int h, int wd, int zp, Weights w, ConvSpec s, ConvSink sink) {
        int cout = w.cout();
        Geometry geo = new Geometry(cin, h, wd, cout, s);
        if (n == 0 || geo.plane == 0 || cout == 0) return;
        if (w.groups() != geo.g) throw new IllegalArgumentException("weights of " + w.groups() + " groups for a conv of " + geo.g);
        Packed pk = packed(w, geo.k);
        boolean serial = (long) n * geo.plane * cout * geo.k < SERIAL_MAX_MACS;
        if (geo.cinG == 1 && geo.coutG == 1) {
            depthwise(x, n, zp, pk.wide, geo, serial, sink);
            return;
        }
        int blocks = Math.ceilDiv(geo.coutG, CO_BLOCK);
        int workers = serial ? 1 : threads;
        // The GEMM's N is every output position of every image (column j = image·plane + p), so a 7×7 plane at
        // batch 32 is 1,568 columns of full vectors instead of 49 with a scalar tail of 17 per image.
        int cols = Math.multiplyExact(n, geo.plane);
        int maxTile = Math.max(NR, Math.min(COL_BUDGET / Math.max(geo.k, 1), ACC_BUDGET / 4 / CO_BLOCK) / NR * NR);
        // At least two tasks per thread when the columns allow it (load balance on a shared machine) …
        int tiles = Math.max(Math.ceilDiv(cols, maxTile),
                Math.min(Math.ceilDiv(2 * workers, geo.g), Math.ceilDiv(cols, NR)));
        int tile = Math.ceilDiv(Math.ceilDiv(cols, tiles), NR) * NR;
        int nTiles = Math.ceilDiv(cols, tile);
        // … and when they do not (batch 1, small planes), split the channel blocks too; each such task packs its
        // own copy of the tile, which costs K·tile bytes against K·tile·channels multiply-adds.
        int chunks = Math.min(blocks, Math.max(1, Math.ceilDiv(2 * workers, geo.g * nTiles)));
        int perChunk = Math.ceilDiv(blocks, chunks);
        int nChunks = Math.ceilDiv(blocks, perChunk);
        // Channel blocks whose accumulators fit ACC_BUDGET: the sink is called once per such group.
        int blocksPerSink = Math.max(1, ACC_BUDGET / 4 / (CO_BLOCK * tile));
        Phases ph = new Phases(geo);
        byte[] xs = ph.of(x, n, zp);
        parallel(serial, geo.g * nTiles * nChunks, t -> {
            int grp = t / (nTiles * nChunks), rest = t % (nTiles * nChunks);
            int j0 = (rest / nChunks) * tile, nc = Math.min(tile, cols - j0);
            int c0 = (rest % nChunks) * perChunk, c1 = Math.min(blocks, c0 + perChunk);
            int panels = Math.ceilDiv(nc, NR), stride = panels * NR;
            Buffers buf = BUFFERS.get();
            // + NR: im2col's whole-panel-row stores run up to NR − 1 bytes past the last panel.
            byte[] col = buf.col(Math.addExact(Math.multiplyExact(stride, geo.k), NR));
            im2col(xs, ph, grp, geo, j0, nc, col, buf);
            int groupEnd = (grp + 1) * geo.coutG;
            for (int b0 = c0; b0 < c1; b0 += blocksPerSink) {
                int b1 = Math.min(c1, b0 + blocksPerSink);
                int coFirst = grp * geo.coutG + b0 * CO_BLOCK;
                int coEnd = Math.min(groupEnd, grp * geo.coutG + b1 * CO_BLOCK);
                int[] acc = buf.acc(Math.multiplyExact(coEnd - coFirst, stride));
                for (int b = b0; b < b1; b++) {
                    int co = grp * geo.coutG + b * CO_BLOCK;
                    int nb = Math.min(CO_BLOCK, groupEnd - co);
                    int wOff = (grp * blocks + b) * geo.k * CO_BLOCK;
                    for (int p = 0; p < panels; p++) {
                        int at = (co - coFirst) * stride + p * NR;
                        if (nb == 1) {
                            kernel1(col, p * NR * geo.k, geo.k, pk.wp, wOff, zp * pk.sum[co], acc, at);
                        } else {
                            kernel(col, p * NR * geo.k, geo.k, pk.wp, wOff, zp, pk.sum, co, nb, acc, at, stride);
                        }
                    }
                }
                sink.accept(j0, j0 + nc, coFirst, coEnd, acc, 0, stride);
            }
        });
    }

    /** Shapes of one conv, resolved once. k = cinG·kh·kw (the im2col rows per group). */
    private record Geometry(int cin, int h, int w, int cout, int g, int cinG, int coutG, int kh, int kw,
                            int sh, int sw, int pt, int pl, int pb, int pr, int dh, int dw, int oh, int ow, int plane,
                            int k) {
        Geometry(int cin, int h, int w, int cout, ConvSpec s) {
            this(cin, h, w, cout, s.group(), cin / s.group(), cout / s.group(), s.kernel()[0], s.kernel()[1],
                    s.strides()[0], s.strides()[1], s.pads()[0], s.pads()[1], s.pads()[2], s.pads()[3],
                    s.dilations()[0], s.dilations()[1],
                    s.outH(h), s.outW(w), Math.multiplyExact(s.outH(h), s.outW(w)),
                    Math.multiplyExact(cin / s.group(), Math.multiplyExact(s.kernel()[0], s.kernel()[1])));
        }
    }


    /**
     * Depthwise conv (one input and one output channel per group) without im2col, whose K·tile panel would hold
     * only kh·kw rows: per image, channel and block of output rows, the input rows the block reads are copied
     * once as int (q − zp, 0 in the padding), then each tap adds w·(a run of L inputs) to L outputs at a time. The
     * sums are the definition's Σ (q − zp)·w directly. A strided conv computes each output row at stride 1 and
     * keeps every sw-th sum.
     */
    private void depthwise(byte[] x, int n, int zp, int[] w, Geometry geo, boolean serial, ConvSink sink) {
        int ch = geo.cout, oh = geo.oh, ow = geo.ow, taps = geo.kh * geo.kw;
        int span = Math.ceilDiv((ow - 1) * geo.sw + 1, L) * L; // stride-1 positions of an output row, whole vectors
        int padW = span + (geo.kw - 1) * geo.dw;
        int extra = (geo.kh - 1) * geo.dh + 1;                  // padded rows of a one-row block
        // Output rows per task: their padded input rows and one channel's accumulators within ACC_BUDGET.
        int rb = Math.max(1, Math.min(oh, Math.min((ACC_BUDGET / 4 / padW - extra) / geo.sh + 1, ACC_BUDGET / 4 / ow)));
        int rowBlocks = Math.ceilDiv(oh, rb);
        // Channels per task: their accumulators within ACC_BUDGET, and few enough to give every thread two tasks.
        int fit = Math.max(1, Math.min(ch, (ACC_BUDGET / 4 - L) / (rb * ow)));
        int cc = serial ? fit : Math.min(fit, Math.max(1, Math.ceilDiv(ch, Math.ceilDiv(2 * threads, n * rowBlocks))));
        int chunks = Math.ceilDiv(ch, cc);
        int hw = geo.h * geo.w;
        parallel(serial, n * rowBlocks * chunks, t -> {
            int img = t / (rowBlocks * chunks), oy0 = ((t / chunks) % rowBlocks) * rb, oy1 = Math.min(oh, oy0 + rb);
            int c0 = (t % chunks) * cc, c1 = Math.min(ch, c0 + cc);
            int rows = (oy1 - oy0 - 1) * geo.sh + extra, stride = (oy1 - oy0) * ow;
            Buffers buf = BUFFERS.get();
            // + L: a row's last vector store may run up to L − 1 lanes past the block's last output.
            int[] acc = buf.acc((c1 - c0) * stride + L);
            int[] pad = buf.pad(rows * padW + span);
            int tmp = rows * padW;
            for (int c = c0; c < c1; c++) {
                padRows(x, (long) (img * geo.cin + c) * hw, zp, geo, oy0 * geo.sh - geo.pt, rows, padW, pad);
                int wo = c * taps;
                for (int oy = oy0; oy < oy1; oy++) {
                    int out = (c - c0) * stride + (oy - oy0) * ow;
                    int rowAt = (oy - oy0) * geo.sh * padW;
                    for (int v = 0; v < span; v += L) {
                        IntVector sum = IntVector.zero(IS);
                        for (int ky = 0, t2 = wo; ky < geo.kh; ky++) {
                            int at = rowAt + ky * geo.dh * padW + v;
                            for (int kx = 0; kx < geo.kw; kx++, t2++) {
                                sum = sum.add(IntVector.fromArray(IS, pad, at + kx * geo.dw).mul(w[t2]));
                            }
                        }
                        // Stride 1: lanes past ow land on the next row's outputs, which are written after.
                        sum.intoArray(geo.sw == 1 ? acc : pad, geo.sw == 1 ? out + v : tmp + v);
                    }
                    if (geo.sw != 1) {
                        for (int ox = 0; ox < ow; ox++) acc[out + ox] = pad[tmp + ox * geo.sw];
                    }
                }
            }
            int j0 = img * geo.plane + oy0 * ow;
            sink.accept(j0, j0 + stride, c0, c1, acc, 0, stride);
        });
    }

    /**
     * pad[r·padW + i] = q − zp of input row iy0 + r, column i − pl (of the plane at chan), or 0 where that lies in
     * the padding or past the image.
     */
    private static void padRows(byte[] x, long chan, int zp, Geometry geo, int iy0, int rows, int padW, int[] pad) {
        int lo = Math.min(geo.pl, padW), hi = Math.min(geo.pl + geo.w, padW);
        for (int r = 0, d = 0; r < rows; r++, d += padW) {
            int iy = iy0 + r;
            if (iy < 0 || iy >= geo.h) {
                java.util.Arrays.fill(pad, d, d + padW, 0);
                continue;
            }
            java.util.Arrays.fill(pad, d, d + lo, 0);
            int src = (int) (chan + (long) iy * geo.w) - geo.pl;
            for (int i = lo; i < hi; i++) pad[d + i] = (x[src + i] & 0xFF) - zp;
            java.util.Arrays.fill(pad, d + Math.max(hi, lo), d + padW, 0);
        }
    }

    /**
     * The input as the GEMM path reads it: per plane (image, channel), its padding made real (the code zp) and split
     * into sh·sw stride phases of hp × wp codes, phase (py, px) holding padded rows py, py + sh, … and columns px,
     * px + sw, …. Tap (ky, kx) of output (oy, ox) is then code (oy + qy, ox + qx) of phase (ky·dh mod sh, kx·dw mod
     * sw), with (qy, qx) = (ky·dh div sh, kx·dw div sw): for consecutive ox, consecutive codes, whatever the stride.
     */
    private static final class Phases {
        final Geometry geo;
        final int hs, ws, hp, wp, plane;
        /** Per tap k = (ci, ky, kx) of a group: its codes' offset from the run's source (channel, phase, row, column). */
        final int[] taps;

        Phases(Geometry geo) {
            this.geo = geo;
            hs = geo.h + geo.pt + geo.pb;
            ws = geo.w + geo.pl + geo.pr;
            hp = Math.ceilDiv(hs, geo.sh);
            wp = Math.ceilDiv(ws, geo.sw);
            plane = Math.multiplyExact(geo.sh * geo.sw, Math.multiplyExact(hp, wp));
            taps = new int[geo.k];
            for (int ci = 0, t = 0; ci < geo.cinG; ci++) {
                for (int ky = 0; ky < geo.kh; ky++) {
                    for (int kx = 0; kx < geo.kw; kx++) {
                        int ry = ky * geo.dh, rx = kx * geo.dw;
                        taps[t++] = ci * plane + ((ry % geo.sh) * geo.sw + rx % geo.sw) * hp * wp + (ry / geo.sh) * wp
                                + rx / geo.sw;
                    }
                }
            }
        }

        /** Offset of output (oy, ox)'s codes in the plane of channel 0 of image img's group grp, before the tap's. */
        long source(int img, int grp, int oy, int ox) {
            return ((long) img * geo.cin + (long) grp * geo.cinG) * plane + (long) oy * wp + ox;
        }

        /**
         * The phased input: x itself when the conv has neither padding nor stride. Allocated per call (the size of
         * the input), not kept as scratch.
         */
        byte[] of(byte[] x, int n, int zp) {
            if (hs == geo.h && ws == geo.w && geo.sh == 1 && geo.sw == 1) return x;
            int planes = Math.multiplyExact(n, geo.cin), sh = geo.sh, sw = geo.sw;
            byte[] xp = new byte[Math.multiplyExact(planes, plane)];
            java.util.Arrays.fill(xp, (byte) zp);
            for (int pl = 0; pl < planes; pl++) {
                for (int y = 0; y < geo.h; y++) {
                    int py = y + geo.pt, src = (pl * geo.h + y) * geo.w;
                    int row = pl * plane + ((py % sh) * sw) * hp * wp + (py / sh) * wp;
                    if (sw == 1) {
                        System.arraycopy(x, src, xp, row + geo.pl, geo.w);
                        continue;
                    }
                    for (int xx = 0; xx < geo.w; xx++) {
                        int px = xx + geo.pl;
                        xp[row + (px % sw) * hp * wp + px / sw] = x[src + xx];
                    }
                }
            }
            return xp;
        }
    }

    /**
     * Packs im2col columns [j0, j0 + nc) of group grp into NR-wide panels: col[(panel·K + k)·NR + c] is the input
     * code under tap k (= (ci, ky, kx)) at column j0 + panel·NR + c, read from the phased input xs (see Phases).
     * Each panel is one contiguous K×NR block, so the micro-kernel streams it front to back; what its lanes past nc
     * hold (the last panel's tail) is summed and never read.
     *
     * <p>Each copy is one unmasked NR-byte vector. Per panel, first its runs: columns whose codes are consecutive
     * (one output row; the whole image plane when a phase row is exactly an output row, wp = ow). Then per tap, each
     * run's NR source bytes are stored at the run's lane: lanes past the run (and, for a run at lane ℓ, lanes [0, ℓ)
     * of the next tap's row) receive other bytes, which the run to its right, the next tap's runs or the next panel
     * then overwrite; the stores past the last panel land in the NR bytes of slack the caller adds to col. The loop
     * order (panel, tap, run) is what makes every overwrite come later. Where an NR-byte load would read past xs, the
     * copy is masked. (Runs are 7–28 codes in small CNNs, where a byte loop took more time than the micro-kernel.)
     */
    private static void im2col(byte[] xs, Phases ph, int grp, Geometry geo, int j0, int nc, byte[] col, Buffers buf) {
        int kk = geo.k;
        boolean planeRuns = ph.wp == geo.ow;
        int[] taps = ph.taps;
        int[] runSrc = buf.runSrc, runLane = buf.runLane, runLen = buf.runLen;
        for (int p = 0, panels = Math.ceilDiv(nc, NR); p < panels; p++) {
            int runs = 0;
            for (int j = j0 + p * NR, end = Math.min(j0 + nc, j0 + (p + 1) * NR); j < end; runs++) {
                int img = j / geo.plane, pos = j - img * geo.plane, oy = pos / geo.ow, ox0 = pos - oy * geo.ow;
                int len = Math.min(planeRuns ? geo.plane - pos : geo.ow - ox0, end - j);
                runSrc[runs] = Math.toIntExact(ph.source(img, grp, oy, ox0));
                runLane[runs] = j - (j0 + p * NR);
                runLen[runs] = len;
                j += len;
            }
            for (int k = 0, dst = p * kk * NR; k < kk; k++, dst += NR) {
                int tap = taps[k];
                for (int r = 0; r < runs; r++) {
                    int src = runSrc[r] + tap;
                    if (src <= xs.length - NR) {
                        ByteVector.fromArray(RUN, xs, src).intoArray(col, dst + runLane[r]);
                    } else {
                        VectorMask<Byte> m = RUN.indexInRange(0, runLen[r]);
                        ByteVector.fromArray(RUN, xs, src, m).intoArray(col, dst + runLane[r], m);
                    }
                }
            }
        }
    }

    /**
     * Micro-kernel: one packed panel (K × NR codes at ci) against CO_BLOCK channels (packed weights at wi):
     * acc[at + r·stride + c] = Σ_k wp[wi + k·CO_BLOCK + r]·col[ci + k·NR + c] − zp·wsum[co0 + r] for r < nb (the
     * zero-point correction: see the class comment).
     * 4 channels × 2 vectors = 8 int32 accumulators that stay in registers over the whole reduction; per k, two
     * widening loads of 8 or 16 codes feed 8 multiply-adds. int32 multiplies rather than int16 pairs: see the
     * class comment.
     */
    private static void kernel(byte[] col, int ci, int kk, int[] wp, int wi, int zp, int[] wsum, int co0, int nb,
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
        // Stored here rather than through a helper taking the vectors: a vector that crosses a call the JIT does not
        // inline is boxed (an allocation per call), and whether it inlines depends on the run's profiles.
        int z0 = zp * wsum[co0];
        a0.sub(z0).intoArray(acc, at);
        b0.sub(z0).intoArray(acc, at + L);
        if (nb > 1) {
            int z = zp * wsum[co0 + 1];
            a1.sub(z).intoArray(acc, at + stride);
            b1.sub(z).intoArray(acc, at + stride + L);
        }
        if (nb > 2) {
            int z = zp * wsum[co0 + 2];
            a2.sub(z).intoArray(acc, at + 2 * stride);
            b2.sub(z).intoArray(acc, at + 2 * stride + L);
        }
        if (nb > 3) {
            int z = zp * wsum[co0 + 3];
            a3.sub(z).intoArray(acc, at + 3 * stride);
            b3.sub(z).intoArray(acc, at + 3 * stride + L);
        }
    }

    /** The micro-kernel for a lone channel (a group's last channel, or one output per group), without 3 wasted rows. */
    private static void kernel1(byte[] col, int ci, int kk, int[] wp, int wi, int zpw, int[] acc, int at) {
        IntVector a = IntVector.zero(IS), b = a;
        for (int k = 0; k < kk; k++, ci += NR, wi += CO_BLOCK) {
            int c = wp[wi];
            a = a.add(((IntVector) ByteVector.fromArray(BS, col, ci)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, IS, 0)).mul(c));
            b = b.add(((IntVector) ByteVector.fromArray(BS, col, ci + L)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, IS, 0)).mul(c));
        }
        a.sub(zpw).intoArray(acc, at); // stored in place, as in kernel()
        b.sub(zpw).intoArray(acc, at + L);
    }

    // ---------------------------------------------------------------- gemm

    @Override
    public void gemm(byte[] x, int m, int k, int zp, Weights w, GemmSink sink) {
        int cout = w.cout();
        if (m == 0 || cout == 0) return;
        Packed pk = packed(w, k);
        boolean serial = (long) m * k * cout < SERIAL_MAX_MACS;
        // Rows per task: a quarter of each thread's share (load balance), and their accumulators within ACC_BUDGET.
        int rowsPerTask = Math.max(1, Math.min(serial ? m : Math.ceilDiv(m, 4 * threads), ACC_BUDGET / 4 / cout));
        int tasks = Math.ceilDiv(m, rowsPerTask);
        parallel(serial, tasks, t -> {
            int r0 = t * rowsPerTask, r1 = Math.min(m, r0 + rowsPerTask);
            int[] acc = BUFFERS.get().acc(Math.multiplyExact(r1 - r0, cout));
            for (int r = r0; r < r1; r++) {
                int xo = Math.multiplyExact(r, k);
                for (int co = 0; co < cout; co++) {
                    acc[(r - r0) * cout + co] = dot(x, xo, pk.wide, co * k, k) - zp * pk.sum[co];
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
