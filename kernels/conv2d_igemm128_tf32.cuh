// Implicit-GEMM 2-D convolution on TF32 tensor cores (sm_80+), 128×128 block tile, shared by
// conv2d_forward_igemm128_tf32 and conv2d_backward_data_igemm128_tf32. The opt-in fast twin of conv2d_igemm128.cuh:
// the same product out[n, g·M + m, pixel] = Σ_k A[g][k][m] · B[k][pixel], the same operands (A rearranged on the host,
// k-major with m contiguous; B gathered through ktab[k] = {channel offset, y offset, x offset, 0}; backward-data by
// output phase with phases[z] = {first k, number of k, a, b}), the same grid, the same epilogue semantics (bias,
// store or accumulate, phase-strided pixels). Only the inner product differs: operands are rounded to TF32 (8-bit
// exponent, 10-bit mantissa, cvt.rna: to nearest, ties away from zero) and multiplied on the tensor cores with
// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32, accumulating in FP32. Each product then carries a relative
// error of at most 2·2^-11 (+2^-22): |got − exact| ≤ ~2^-10 · Σ_k |A||B| per output, far above strict FP32's
// rounding, which is why this path is opt-in (--tf32) and strict FP32 stays the default and the reference.
//
// Warp tiling: 256 threads = 8 warps as 2 (m) × 4 (pixels); warp w owns rows 64·(w/4) .. +63 and pixel columns
// 32·(w%4) .. +31 of the block tile, i.e. 4 × 4 mma tiles of 16 × 8, so 4 × 4 × 4 = 64 FP32 accumulators per thread
// (the FP32 kernel's 8 × 8). Per k8 step a warp issues 16 mma (64·32·8 = 16384 multiply-adds) for 24 scalar shared
// loads per thread (16 A and 8 B fragment words; each A fragment feeds 4 mma, each B fragment 4).
//
// Fragment layouts (PTX ISA, section "Matrix Fragments for mma.m16n8k8", .tf32 A and B, .f32 C/D), with
// groupID g = lane >> 2 and threadID_in_group t = lane & 3:
//   A (16 × 8, row):  a0 = A[g][t], a1 = A[g + 8][t], a2 = A[g][t + 4], a3 = A[g + 8][t + 4]
//   B (8 × 8, col):   b0 = B[t][g], b1 = B[t + 4][g]
//   C/D (16 × 8):     c0 = C[g][2t], c1 = C[g][2t + 1], c2 = C[g + 8][2t], c3 = C[g + 8][2t + 1]
// Here A[row][col] = As[k = col][m = row] and B[row][col] = Bs[k = row][pixel = col]: both shared tiles are k-major.
//
// Shared-memory banks (32 banks of 4 bytes, word address mod 32). A fragment load reads As[k0 + t (+4)][mBase + g]
// (+8): word (k0 + t)·LD + mBase + g. With LD = 128 the bank would be (mBase + g) mod 32 for all four t: a 4-way
// conflict. Padding each k-row to LD = 136 ≡ 8 (mod 32) makes the bank (8t + g + const) mod 32, and 8t + g runs
// over 0..31 exactly once across the warp: conflict-free. B fragment loads (Bs[k0 + t][nBase + g]) are the same
// pattern. Tile stores (As[kl + 2i][col], col = tid % 128) write 32 consecutive words of one row per warp:
// conflict-free with any LD. Operands are rounded when stored, so fragment loads need no conversion (each element
// is rounded once, not once per use).
//
// Tiles: K in steps of 16 (two k8 mma steps per barrier; the FP32 kernel's 8 would give 16 mma between barriers),
// double-buffered through registers as the FP32 kernel: each thread fetches 8 A and 8 B values of the next K-tile
// before multiplying the current one and stores them (rounded) to the other buffer after it, one barrier per tile.
// Static shared memory 2 × 2 × 16 × 136 × 4 = 34816 bytes; __launch_bounds__(256, 2) for two blocks per SM.
// Epilogue: where 2 consecutive pixels are 2 consecutive floats (stride-1 slice, plane size even, 8-byte aligned
// output) a thread stores float2 pairs (c0, c1) and (c2, c3), else scalars.
#pragma once
#include "conv2d_igemm128_tile.cuh"

#define IGT_BM 128
#define IGT_BN 128
#define IGT_BK 16
#define IGT_LD (IGT_BM + 8) // padded k-row: 136 words ≡ 8 (mod 32 banks), see above
#define IGT_THREADS 256

#ifndef ZEROQ_HOST_EMU // native/igemm-emu/cuda_emu.h supplies host emulations of these two
// x rounded to TF32 (round to nearest, ties away from zero), as the bit pattern the mma instruction takes.
__device__ __forceinline__ unsigned tf32_rna(float x) {
    unsigned u;
    asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(u) : "f"(x));
    return u;
}

// d (16 × 8, the C/D fragment) += A (16 × 8) · B (8 × 8) for one warp; all 32 lanes must execute it together.
__device__ __forceinline__ void mma_m16n8k8_tf32(float* d, unsigned a0, unsigned a1, unsigned a2, unsigned a3,
                                                 unsigned b0, unsigned b1) {
    asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}
#endif

template <bool BACKWARD>
__device__ __forceinline__ void conv2d_igemm128_tf32(
        const float* __restrict__ src, const float* __restrict__ a, const int4* __restrict__ ktab,
        const int4* __restrict__ phases, const float* __restrict__ bias, float* __restrict__ out,
        int nImg, int srcC, int srcH, int srcW, int outC, int outH, int outW, int M, int K, int kc,
        int sh, int sw, int padTop, int padLeft, int nPhases, int accumulate) {
    __shared__ __align__(16) unsigned As[2][IGT_BK][IGT_LD];
    __shared__ __align__(16) unsigned Bs[2][IGT_BK][IGT_LD];

    const int tid = threadIdx.x;
    Igemm128Block blk = igemm128_block<BACKWARD>(phases, nImg, outH, outW, K, sh, sw, nPhases);
    const int g = blk.g, phase = blk.phase, kStart = blk.kStart, kCount = blk.kCount;
    int phA = blk.phA, phB = blk.phB, qH = blk.qH, qW = blk.qW;
    const int stepH = blk.stepH, stepW = blk.stepW, qHW = blk.qHW, m0 = blk.m0;
    const long long pTotal = blk.pTotal, p0 = blk.p0;
    // The grid covers the largest phase; blocks past a smaller one leave as a whole (uniform, before any barrier).
    if (p0 >= pTotal) return;
    const float* ag = a + ((long long)g * K + kStart) * M;
    const int4* kt = ktab + kStart;

    // Loads as in conv2d_igemm128.cuh (conv2d_igemm128_tile.cuh), tile rows k = tid/128 + 2i, i < 8.
    Igemm128Loader<IGT_BK / 2> ld;
    ld.template init<BACKWARD>(blk, tid, srcC, srcH, srcW, M, kc, sh, sw, padTop, padLeft);
    float ra[IGT_BK / 2], rb[IGT_BK / 2];
    auto loadTile = [&](int k0) { ld.load(ag, kt, src, k0, ra, rb); };
    auto storeTile = [&](int buf) {
#pragma unroll
        for (int i = 0; i < IGT_BK / 2; i++) {
            As[buf][ld.kl + 2 * i][ld.col] = tf32_rna(ra[i]);
            Bs[buf][ld.kl + 2 * i][ld.col] = tf32_rna(rb[i]);
        }
    };

    const int lane = tid & 31, warp = tid >> 5;
    const int gid = lane >> 2, tig = lane & 3; // groupID and threadID_in_group of the fragment layouts
    const int wm = (warp >> 2) * 64, wn = (warp & 3) * 32; // this warp's 64 × 32 corner of the block tile
    float acc[4][4][4]; // [m tile][pixel tile][c0..c3]
#pragma unroll
    for (int i = 0; i < 4; i++) {
#pragma unroll
        for (int j = 0; j < 4; j++) {
#pragma unroll
            for (int c = 0; c < 4; c++) acc[i][j][c] = 0.f;
        }
    }

    // kCount is the same for the whole block, so every thread takes the same number of barriers and every lane of a
    // warp reaches each mma together (mma.sync needs the whole warp).
    const int tiles = (kCount + IGT_BK - 1) / IGT_BK;
    if (tiles > 0) {
        loadTile(0);
        storeTile(0);
        __syncthreads(); // tile 0 visible to every thread
        for (int t = 0; t < tiles; t++) {
            const int cur = t & 1;
            if (t + 1 < tiles) {
                loadTile((t + 1) * IGT_BK); // global loads in flight while this tile is multiplied
            }
#pragma unroll
            for (int ks = 0; ks < IGT_BK; ks += 8) {
                unsigned bf[4][2];
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    bf[j][0] = Bs[cur][ks + tig][wn + 8 * j + gid];
                    bf[j][1] = Bs[cur][ks + tig + 4][wn + 8 * j + gid];
                }
#pragma unroll
                for (int i = 0; i < 4; i++) {
                    const int mr = wm + 16 * i + gid;
                    const unsigned a0 = As[cur][ks + tig][mr];
                    const unsigned a1 = As[cur][ks + tig][mr + 8];
                    const unsigned a2 = As[cur][ks + tig + 4][mr];
                    const unsigned a3 = As[cur][ks + tig + 4][mr + 8];
#pragma unroll
                    for (int j = 0; j < 4; j++) mma_m16n8k8_tf32(acc[i][j], a0, a1, a2, a3, bf[j][0], bf[j][1]);
                }
            }
            if (t + 1 < tiles) {
                // The other buffer was last read in iteration t − 1, which every thread finished before the barrier
                // that ended it: safe to overwrite without a second barrier.
                storeTile(cur ^ 1);
            }
            __syncthreads(); // the stores above are visible before iteration t + 1 reads them
        }
    }

    if (BACKWARD) igemm128_reload_phase(phases, phase, outH, outW, sh, sw, phA, phB, qH, qW);
    const int outHW = outH * outW;
    // Thread's outputs: rows m0 + wm + 16i + gid (+8 for c2, c3), pixels p0 + wn + 8j + 2·tig (+1 for c1, c3).
    const bool vec = stepH == 1 && stepW == 1 && (qHW & 1) == 0 && (reinterpret_cast<unsigned long long>(out) & 7) == 0;
#pragma unroll
    for (int j = 0; j < 4; j++) {
        const long long pq0 = p0 + wn + 8 * j + 2 * tig; // even
        if (pq0 >= pTotal) continue;
        if (vec) {
            // qHW even: pq0 and pq0 + 1 lie in one image, pTotal is even so both exist, q is even: 8-byte aligned.
            const int n = (int)(pq0 / qHW);
            const int q = (int)(pq0 - (long long)n * qHW);
#pragma unroll
            for (int i = 0; i < 4; i++) {
#pragma unroll
                for (int h = 0; h < 2; h++) {
                    const int m = m0 + wm + 16 * i + gid + 8 * h;
                    if (m >= M) continue;
                    const int co = g * M + m;
                    float2 v = make_float2(acc[i][j][2 * h], acc[i][j][2 * h + 1]);
                    if (bias != nullptr) {
                        const float bv = bias[co];
                        v.x += bv;
                        v.y += bv;
                    }
                    float2* o = reinterpret_cast<float2*>(out + ((long long)n * outC + co) * outHW + q);
                    if (accumulate) {
                        const float2 old = *o;
                        v.x += old.x;
                        v.y += old.y;
                    }
                    *o = v;
                }
            }
        } else {
#pragma unroll
            for (int jj = 0; jj < 2; jj++) {
                const long long p = pq0 + jj;
                if (p >= pTotal) continue;
                const int n = (int)(p / qHW);
                const int q = (int)(p - (long long)n * qHW);
                const int i0 = q / qW, j0 = q - (q / qW) * qW;
                const int pix = (phA + stepH * i0) * outW + phB + stepW * j0;
#pragma unroll
                for (int i = 0; i < 4; i++) {
#pragma unroll
                    for (int h = 0; h < 2; h++) {
                        const int m = m0 + wm + 16 * i + gid + 8 * h;
                        if (m >= M) continue;
                        const int co = g * M + m;
                        float v = acc[i][j][2 * h + jj];
                        if (bias != nullptr) v += bias[co];
                        const long long o = ((long long)n * outC + co) * outHW + pix;
                        out[o] = accumulate ? out[o] + v : v;
                    }
                }
            }
        }
    }
}
