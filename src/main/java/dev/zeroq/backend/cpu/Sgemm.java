package dev.zeroq.backend.cpu;

/*
 * Single-precision GEMM core, C = alpha·op(A)·op(B) + beta·C on row-major float arrays with leading
 * dimensions, used by conv (weights × im2col tile), Gemm and MatMul. GotoBLAS/BLIS-style blocking with a
 * register-blocked Vector API micro-kernel.
 */

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Blocking, outer to inner:
 * <pre>
 *   jc: NC columns of B/C   — the packed B block (KC × NC) is reused by every row block below it
 *   pc: KC of the k range   — pack B(pc, jc) into NR-wide column strips
 *   ic: MC rows of A/C      — pack A(ic, pc) into MR-tall row strips (stays in L2)
 *   jr: one NR strip of B   — KC × NR floats, sized to stay in L1 while all MR strips of A stream past
 *   ir: one MR strip of A   — micro-kernel: MR × NR block of C in registers, KC rank-1 updates
 * </pre>
 * Packing makes both micro-kernel operands unit-stride and zero-pads the ragged edges, so the kernel never
 * branches on shape; only its final store is masked for partial tiles.
 *
 * <p>Example: with AVX-512 (16 lanes) the micro-tile is 6 × 32, KC = 128, so one B strip is 16 KiB.
 */
final class Sgemm {
    private Sgemm() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int V = S.length();

    /**
     * Micro-tile: MR rows × NR = 2 vectors. 12 accumulators + 2 B vectors + 1 broadcast = 15 registers,
     * which fits the 16 vector registers of AVX2 (and leaves AVX-512's 32 roomy); 6 broadcasts per 2 loads
     * keeps the FMA units busier than the load ports.
     */
    static final int MR = 6;
    static final int NR = 2 * V;
    /** KC·NR·4 bytes = 16 KiB: a B strip plus streaming A strips fit a 32 KiB L1 data cache. */
    static final int KC = Math.max(64, 16384 / (NR * Float.BYTES));
    /** MC·KC floats of packed A (48 KiB at 16 lanes, 96 KiB at 8) sit comfortably in a ≥256 KiB L2. */
    static final int MC = 16 * MR;
    /** KC·NC floats of packed B (512 KiB at 16 lanes) is an L3-sized slice; a multiple of NR. */
    static final int NC = Math.ceilDiv(1024, NR) * NR;

    /** Below this many multiply-adds a parallel split costs more than it saves. */
    private static final long PARALLEL_MIN_FMAS = 1L << 18;

    /**
     * Serial C[m×n] = alpha·op(A)·op(B) + beta·C, where op(A) is m×k and op(B) is k×n. With beta == 0, C is
     * written without being read (it may hold garbage). Element (i, p) of op(A) is
     * {@code a[aOff + i·lda + p]}, or {@code a[aOff + p·lda + i]} when transA; likewise for B.
     */
    static void gemm(int m, int n, int k, float alpha,
                     float[] a, int aOff, int lda, boolean transA,
                     float[] b, int bOff, int ldb, boolean transB,
                     float beta, float[] c, int cOff, int ldc) {
        if (m <= 0 || n <= 0) {
            return;
        }
        if (k <= 0) {
            scale(m, n, beta, c, cOff, ldc);
            return;
        }
        float[] ap = Scratch.get(Scratch.PACK_A, MC * KC);
        float[] bp = Scratch.get(Scratch.PACK_B, KC * NC);
        float[] tile = new float[MR * NR];
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                // The first k block applies beta; later ones accumulate onto what it wrote.
                float betaBlock = pc == 0 ? beta : 1f;
                packB(b, bOff, ldb, transB, pc, kc, jc, nc, bp);
                for (int ic = 0; ic < m; ic += MC) {
                    int mc = Math.min(MC, m - ic);
                    packA(a, aOff, lda, transA, ic, mc, pc, kc, ap);
                    for (int jr = 0; jr < nc; jr += NR) {
                        int nr = Math.min(NR, nc - jr);
                        for (int ir = 0; ir < mc; ir += MR) {
                            int mr = Math.min(MR, mc - ir);
                            kernel(kc, ap, ir * kc, bp, jr * kc, tile);
                            merge(tile, c, cOff + (ic + ir) * ldc + jc + jr, ldc, mr, nr, alpha, betaBlock);
                        }
                    }
                }
            }
        }
    }

    /**
     * The same product split into 2-D tiles of C run on the pool. Each tile packs its own panels, so the
     * extra packing is O(tile·k) against O(tile·k·tileSide) arithmetic.
     */
    static void gemm(Parallel par, int m, int n, int k, float alpha,
                     float[] a, int aOff, int lda, boolean transA,
                     float[] b, int bOff, int ldb, boolean transB,
                     float beta, float[] c, int cOff, int ldc) {
        long fmas = (long) m * n * Math.max(k, 1);
        if (par.threads() == 1 || fmas < PARALLEL_MIN_FMAS) {
            gemm(m, n, k, alpha, a, aOff, lda, transA, b, bOff, ldb, transB, beta, c, cOff, ldc);
            return;
        }
        // Halve the longer tile side until there are ~4 tiles per thread (load balance on a shared machine),
        // but keep tiles at least 4 micro-tiles tall and 2 wide so the micro-kernel still amortizes packing.
        int mt = roundUp(m, MR), nt = roundUp(n, NR);
        int target = 4 * par.threads();
        while ((long) Math.ceilDiv(m, mt) * Math.ceilDiv(n, nt) < target) {
            if (nt >= mt && nt > 2 * NR) {
                nt = roundUp(nt / 2, NR);
            } else if (mt > 4 * MR) {
                mt = roundUp(mt / 2, MR);
            } else if (nt > 2 * NR) {
                nt = roundUp(nt / 2, NR);
            } else {
                break;
            }
        }
        int tileM = mt, tileN = nt;
        int tilesN = Math.ceilDiv(n, tileN);
        par.forEach(Math.ceilDiv(m, tileM) * tilesN, t -> {
            int i0 = (t / tilesN) * tileM, j0 = (t % tilesN) * tileN;
            int mi = Math.min(tileM, m - i0), nj = Math.min(tileN, n - j0);
            gemm(mi, nj, k, alpha,
                    a, aOff + (transA ? i0 : i0 * lda), lda, transA,
                    b, bOff + (transB ? j0 * ldb : j0), ldb, transB,
                    beta, c, cOff + i0 * ldc + j0, ldc);
        });
    }

    static int roundUp(int x, int multiple) {
        return Math.max(multiple, Math.ceilDiv(x, multiple) * multiple);
    }

    /** C = beta·C (k == 0: the product is empty). */
    private static void scale(int m, int n, float beta, float[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                int o = cOff + i * ldc + j;
                c[o] = beta == 0f ? 0f : beta * c[o];
            }
        }
    }

    /**
     * Packs op(A)[ic:ic+mc, pc:pc+kc] into MR-row strips: strip s holds, for each p, the MR values
     * A[ic+s·MR .. +MR, pc+p] contiguously, rows past mc zero-filled.
     */
    private static void packA(float[] a, int aOff, int lda, boolean transA, int ic, int mc, int pc, int kc,
                              float[] ap) {
        int dst = 0;
        for (int ir = 0; ir < mc; ir += MR) {
            int mr = Math.min(MR, mc - ir);
            for (int p = 0; p < kc; p++) {
                for (int i = 0; i < mr; i++) {
                    int row = ic + ir + i, col = pc + p;
                    ap[dst + i] = transA ? a[aOff + col * lda + row] : a[aOff + row * lda + col];
                }
                for (int i = mr; i < MR; i++) {
                    ap[dst + i] = 0f;
                }
                dst += MR;
            }
        }
    }

    /**
     * Packs op(B)[pc:pc+kc, jc:jc+nc] into NR-column strips: strip s holds, for each p, the NR values
     * B[pc+p, jc+s·NR .. +NR] contiguously, columns past nc zero-filled.
     */
    private static void packB(float[] b, int bOff, int ldb, boolean transB, int pc, int kc, int jc, int nc,
                              float[] bp) {
        int dst = 0;
        for (int jr = 0; jr < nc; jr += NR) {
            int nr = Math.min(NR, nc - jr);
            for (int p = 0; p < kc; p++) {
                if (!transB && nr == NR) {
                    // The common case: one row segment, copied with two vector moves.
                    int src = bOff + (pc + p) * ldb + jc + jr;
                    FloatVector.fromArray(S, b, src).intoArray(bp, dst);
                    FloatVector.fromArray(S, b, src + V).intoArray(bp, dst + V);
                } else {
                    for (int j = 0; j < nr; j++) {
                        int row = pc + p, col = jc + jr + j;
                        bp[dst + j] = transB ? b[bOff + col * ldb + row] : b[bOff + row * ldb + col];
                    }
                    for (int j = nr; j < NR; j++) {
                        bp[dst + j] = 0f;
                    }
                }
                dst += NR;
            }
        }
    }

    /**
     * MR × NR block of C from one packed A strip (at ai) and one packed B strip (at bi): kc rank-1 updates
     * with every accumulator in a register, written to {@code tile} (MR × NR, row-major).
     */
    static void kernel(int kc, float[] ap, int ai, float[] bp, int bi, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + V);
            FloatVector a;
            a = FloatVector.broadcast(S, ap[ai]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
            ai += MR;
            bi += NR;
        }
        // Park the tile in a small buffer; merging it into C is a separate, branchy step kept out of this
        // method so that C2 compiles the loop above with all twelve accumulators in registers.
        c00.intoArray(tile, 0);
        c01.intoArray(tile, V);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + V);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + V);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + V);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + V);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + V);
    }

    /** C[mr×nr] = alpha·tile + beta·C; with beta == 0, C is not read. */
    private static void merge(float[] tile, float[] c, int cOff, int ldc, int mr, int nr, float alpha,
                              float beta) {
        FloatVector av = FloatVector.broadcast(S, alpha), bv = FloatVector.broadcast(S, beta);
        for (int i = 0; i < mr; i++) {
            int o = cOff + i * ldc, t = i * NR;
            for (int j = 0; j < nr; j += V) {
                VectorMask<Float> m = S.indexInRange(j, nr);
                FloatVector r = FloatVector.fromArray(S, tile, t + j).mul(av);
                if (m.allTrue()) {
                    if (beta != 0f) {
                        r = FloatVector.fromArray(S, c, o + j).fma(bv, r);
                    }
                    r.intoArray(c, o + j);
                } else {
                    if (beta != 0f) {
                        r = FloatVector.fromArray(S, c, o + j, m).fma(bv, r);
                    }
                    r.intoArray(c, o + j, m);
                }
            }
        }
    }
}
