// Implicit-GEMM 2-D convolution, 128×128 block tile, shared by conv2d_forward_igemm128 and
// conv2d_backward_data_igemm128 (included by both). The same product as conv2d_igemm.cuh, which stays selectable:
//   out[n, g·M + m, pixel] = Σ_k A[g][k][m] · B[k][pixel], A rearranged on the host (k-major, m contiguous), B gathered
//   from the source image through a per-layer table ktab[k] = {channel offset, y offset, x offset, 0}:
//   source row = by + ktab.y, column = bx + ktab.z, where (by, bx) depends on the output pixel only.
// Forward: pixel (n, oh, ow), (by, bx) = (oh·sh − pt, ow·sw − pl), ktab.y = r·dh.
// Backward-data, decomposed by output phase: for strides (sh, sw), the input pixels with ih ≡ a (mod sh) and
// iw ≡ b (mod sw) receive gradient only from the taps r with (a + pt − r·dh) ≡ 0 (mod sh) (and likewise s), every
// other tap of the k loop contributes exactly zero. blockIdx.z = group·sh·sw + phase; the host lists each phase's
// taps contiguously (phases[z] = {first k, number of k, a, b}, A rows in the same order), with
// ktab.y = (a + pt − r·dh)/sh exact, so for ih = a + sh·i the dy row is i + ktab.y: no division and no wasted tap
// (a 3×3 stride-2 layer does 9/4 of a tap per channel per pixel on average instead of 9; 1×1 stride 2: 1/4).
// Tiling: 128 (m) × 128 (pixels) outputs per block of 256 threads, 8 × 8 per thread (64 FMAs per 4 float4 shared
// reads: 16 per read, the 64×128 kernel's 4 × 8 does 32 per 3, under 11), K in steps of 8. A thread's outputs are
// the rows {4ty..4ty+3, 64+4ty..} and pixel columns {4tx..4tx+3, 64+4tx..}: a warp (two ty, sixteen tx) reads 2 distinct A
// float4s (broadcast) and 32 distinct B float4s covering 2 × 256 contiguous bytes, so no bank conflicts. Tile loads:
// each thread fetches 4 A and 4 B values of the next K-tile into registers before the current tile is multiplied
// and stores them to the other of two shared buffers after it (double buffering, one barrier per K-tile); at 8 k
// per tile that is 8 loads against 512 FMAs per thread, so the ktab gather costs little and a separate 1×1 path is
// not needed. 16 KiB static shared memory; __launch_bounds__(256, 2) keeps two blocks (16 warps) per SM.
// Epilogue: where 4 consecutive pixels are 4 consecutive floats (stride-1 slice, plane size a multiple of 4, 16-byte
// aligned output) a thread stores float4s, else scalars.
#pragma once
#include "conv2d_igemm128_tile.cuh"

#define IG2_BM 128
#define IG2_BN 128
#define IG2_BK 8
#define IG2_THREADS 256

template <bool BACKWARD>
__device__ __forceinline__ void conv2d_igemm128(
        const float* __restrict__ src, const float* __restrict__ a, const int4* __restrict__ ktab,
        const int4* __restrict__ phases, const float* __restrict__ bias, float* __restrict__ out,
        int nImg, int srcC, int srcH, int srcW, int outC, int outH, int outW, int M, int K, int kc,
        int sh, int sw, int padTop, int padLeft, int nPhases, int accumulate) {
    __shared__ __align__(16) float As[2][IG2_BK][IG2_BM];
    __shared__ __align__(16) float Bs[2][IG2_BK][IG2_BN];

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

    // Loads: thread tid fetches A column m0 + tid%128 and B pixel column tid%128 (both coalesced along the
    // contiguous index), for the tile rows k = tid/128 + 2i, i < 4; shared stores are consecutive words.
    Igemm128Loader<IG2_BK / 2> ld;
    ld.template init<BACKWARD>(blk, tid, srcC, srcH, srcW, M, kc, sh, sw, padTop, padLeft);
    float ra[IG2_BK / 2], rb[IG2_BK / 2];
    auto loadTile = [&](int k0) { ld.load(ag, kt, src, k0, ra, rb); };
    auto storeTile = [&](int buf) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            As[buf][ld.kl + 2 * i][ld.col] = ra[i];
            Bs[buf][ld.kl + 2 * i][ld.col] = rb[i];
        }
    };

    const int ty = tid / 16, tx = tid % 16;
    float acc[8][8];
#pragma unroll
    for (int i = 0; i < 8; i++) {
#pragma unroll
        for (int j = 0; j < 8; j++) acc[i][j] = 0.f;
    }

    // kCount is the same for the whole block, so every thread takes the same number of barriers; a phase with no
    // contributing tap (1×1 stride 2: three of four) skips the loop and writes zeros (or leaves dx as it was).
    const int tiles = (kCount + IG2_BK - 1) / IG2_BK;
    if (tiles > 0) {
        loadTile(0);
        storeTile(0);
        __syncthreads(); // tile 0 visible to every thread
        for (int t = 0; t < tiles; t++) {
            const int cur = t & 1;
            if (t + 1 < tiles) {
                loadTile((t + 1) * IG2_BK); // global loads in flight while this tile is multiplied
            }
#pragma unroll
            for (int kk = 0; kk < IG2_BK; kk++) {
                const float4 a0 = *reinterpret_cast<const float4*>(&As[cur][kk][ty * 4]);
                const float4 a1 = *reinterpret_cast<const float4*>(&As[cur][kk][64 + ty * 4]);
                const float4 b0 = *reinterpret_cast<const float4*>(&Bs[cur][kk][tx * 4]);
                const float4 b1 = *reinterpret_cast<const float4*>(&Bs[cur][kk][64 + tx * 4]);
                const float am[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
                const float bn[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
                for (int i = 0; i < 8; i++) {
#pragma unroll
                    for (int j = 0; j < 8; j++) acc[i][j] = fmaf(am[i], bn[j], acc[i][j]);
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
    const bool vec = stepH == 1 && stepW == 1 && (qHW & 3) == 0 && (reinterpret_cast<unsigned long long>(out) & 15) == 0;
#pragma unroll
    for (int h = 0; h < 2; h++) {
        // Pixels p0 + 64h + 4tx + {0..3}: with vec, one image and 4 consecutive, 16-byte aligned floats of its plane.
        const long long pq0 = p0 + 64 * h + tx * 4;
        if (vec) {
            if (pq0 >= pTotal) continue; // pTotal is a multiple of 4: all four pixels exist
            const int n = (int)(pq0 / qHW);
            const int q = (int)(pq0 - (long long)n * qHW);
#pragma unroll
            for (int i = 0; i < 8; i++) {
                const int m = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + (i - 4));
                if (m >= M) continue;
                const int co = g * M + m;
                float4 v = make_float4(acc[i][4 * h], acc[i][4 * h + 1], acc[i][4 * h + 2], acc[i][4 * h + 3]);
                if (bias != nullptr) {
                    const float bv = bias[co];
                    v.x += bv;
                    v.y += bv;
                    v.z += bv;
                    v.w += bv;
                }
                float4* o = reinterpret_cast<float4*>(out + ((long long)n * outC + co) * outHW + q);
                if (accumulate) {
                    const float4 old = *o;
                    v.x += old.x;
                    v.y += old.y;
                    v.z += old.z;
                    v.w += old.w;
                }
                *o = v;
            }
        } else {
#pragma unroll
            for (int jj = 0; jj < 4; jj++) {
                const long long p = pq0 + jj;
                if (p >= pTotal) continue;
                const int n = (int)(p / qHW);
                const int q = (int)(p - (long long)n * qHW);
                const int i0 = q / qW, j0 = q - (q / qW) * qW;
                const int pix = (phA + stepH * i0) * outW + phB + stepW * j0;
#pragma unroll
                for (int i = 0; i < 8; i++) {
                    const int m = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + (i - 4));
                    if (m >= M) continue;
                    const int co = g * M + m;
                    float v = acc[i][4 * h + jj];
                    if (bias != nullptr) v += bias[co];
                    const long long o = ((long long)n * outC + co) * outHW + pix;
                    out[o] = accumulate ? out[o] + v : v;
                }
            }
        }
    }
}
