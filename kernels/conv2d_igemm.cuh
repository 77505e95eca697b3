// Implicit-GEMM 2-D convolution shared by conv2d_forward_igemm and conv2d_backward_data_igemm (included by both).
// Per group g: out[n, g·M + m, p] = Σ_k A[g][k][m] · B[k][(n, p)], where A is a weight matrix rearranged once on
// the host (k-major, m contiguous) and B is gathered on the fly from the source image (im2col never stored):
//   forward:       M = Cout/g, k = (ci, r, s), source x (N, Cin, H, W), B = x[n, ci, oh·sh − pt + r·dh, ow·sw − pl + s·dw]
//   backward-data: M = Cin/g,  k = (co, r, s), source dy (N, Cout, OH, OW), B = dy[n, co, (ih + pt − r·dh)/sh, ...]
//                  where that division is exact and in range, else 0 (the transposed convolution as a gather).
// A per-layer table ktab[k] = {channel offset, r·dh, s·dw, 0} (host-built) replaces three integer divisions per
// gathered element. Tiling: 64 (m) × 128 (pixels) outputs per block of 256 threads, K in steps of 16, each
// thread 4 × 8 outputs in registers (two 4-wide pixel groups 64 apart, so the float4 shared reads of a warp cover
// 256 contiguous bytes without bank conflicts). The next K-tile's global loads are issued into registers before
// the current tile is multiplied and stored to the other of two shared buffers afterwards (double buffering, one
// barrier per K-tile). 24 KiB of static shared memory.
#pragma once
#include "common.cuh"

#define IG_BM 64
#define IG_BN 128
#define IG_BK 16
#define IG_THREADS 256

template <bool BACKWARD>
__device__ __forceinline__ void conv2d_igemm(
        const float* __restrict__ src, const float* __restrict__ a, const int4* __restrict__ ktab,
        const float* __restrict__ bias, float* __restrict__ out,
        int nImg, int srcC, int srcH, int srcW, int outC, int outH, int outW, int M, int K, int kc,
        int sh, int sw, int padTop, int padLeft, int accumulate) {
    __shared__ __align__(16) float As[2][IG_BK][IG_BM];
    __shared__ __align__(16) float Bs[2][IG_BK][IG_BN];

    const int tid = threadIdx.x;
    const int g = blockIdx.z;
    const int m0 = blockIdx.y * IG_BM;
    const long long p0 = (long long)blockIdx.x * IG_BN;
    const int outHW = outH * outW;
    const long long pTotal = (long long)nImg * outHW;
    const float* ag = a + (long long)g * K * M;

    // This thread always gathers the same pixel column of B (tid % 128) for rows k = tid/128 + 2i.
    const int pl = tid % IG_BN;
    const int klB = tid / IG_BN;
    const long long pB = p0 + pl;
    const bool pValid = pB < pTotal;
    int oy0 = 0, ox0 = 0;
    long long srcBase = 0;
    if (pValid) {
        const int n = (int)(pB / outHW);
        const int pq = (int)(pB - (long long)n * outHW);
        const int oh = pq / outW, ow = pq - (pq / outW) * outW;
        if (BACKWARD) {
            oy0 = oh + padTop;   // ty = ih + pt − r·dh
            ox0 = ow + padLeft;
        } else {
            oy0 = oh * sh - padTop;
            ox0 = ow * sw - padLeft;
        }
        srcBase = ((long long)n * srcC + (long long)g * kc) * srcH * srcW;
    }
    // A loads: rows k = tid/64 + 4i, column m = tid % 64 (coalesced along m, conflict-free shared stores).
    const int mlA = tid % IG_BM;
    const int klA = tid / IG_BM;
    const bool mValidA = m0 + mlA < M;

    float ra[4], rb[8];
    auto loadTile = [&](int k0) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int k = k0 + klA + 4 * i;
            ra[i] = (mValidA && k < K) ? ag[(long long)k * M + m0 + mlA] : 0.f;
        }
#pragma unroll
        for (int i = 0; i < 8; i++) {
            const int k = k0 + klB + 2 * i;
            float v = 0.f;
            if (pValid && k < K) {
                const int4 t = ktab[k];
                int y, x;
                bool ok;
                if (BACKWARD) {
                    const int ty = oy0 - t.y, tx = ox0 - t.z;
                    if (sh == 1 && sw == 1) {
                        y = ty;
                        x = tx;
                        ok = true;
                    } else {
                        ok = ty >= 0 && tx >= 0 && ty % sh == 0 && tx % sw == 0;
                        y = ty / sh;
                        x = tx / sw;
                    }
                    ok = ok && y >= 0 && y < srcH && x >= 0 && x < srcW;
                } else {
                    y = oy0 + t.y;
                    x = ox0 + t.z;
                    ok = y >= 0 && y < srcH && x >= 0 && x < srcW;
                }
                if (ok) {
                    v = src[srcBase + t.x + (long long)y * srcW + x];
                }
            }
            rb[i] = v;
        }
    };
    auto storeTile = [&](int buf) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            As[buf][klA + 4 * i][mlA] = ra[i];
        }
#pragma unroll
        for (int i = 0; i < 8; i++) {
            Bs[buf][klB + 2 * i][pl] = rb[i];
        }
    };

    const int ty = tid / 16, tx = tid % 16;
    float acc[4][8];
#pragma unroll
    for (int i = 0; i < 4; i++) {
#pragma unroll
        for (int j = 0; j < 8; j++) acc[i][j] = 0.f;
    }

    const int tiles = (K + IG_BK - 1) / IG_BK;
    loadTile(0);
    storeTile(0);
    __syncthreads(); // tile 0 visible to every thread
    for (int kt = 0; kt < tiles; kt++) {
        const int cur = kt & 1;
        if (kt + 1 < tiles) {
            loadTile((kt + 1) * IG_BK); // global loads in flight while this tile is multiplied
        }
#pragma unroll
        for (int kk = 0; kk < IG_BK; kk++) {
            const float4 av = *reinterpret_cast<const float4*>(&As[cur][kk][ty * 4]);
            const float4 b0 = *reinterpret_cast<const float4*>(&Bs[cur][kk][tx * 4]);
            const float4 b1 = *reinterpret_cast<const float4*>(&Bs[cur][kk][64 + tx * 4]);
            const float am[4] = {av.x, av.y, av.z, av.w};
            const float bn[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
            for (int i = 0; i < 4; i++) {
#pragma unroll
                for (int j = 0; j < 8; j++) acc[i][j] = fmaf(am[i], bn[j], acc[i][j]);
            }
        }
        if (kt + 1 < tiles) {
            // The other buffer was last read in iteration kt − 1, which every thread finished before the barrier
            // that ended it: safe to overwrite without a second barrier.
            storeTile(cur ^ 1);
        }
        __syncthreads(); // the stores above are visible before iteration kt + 1 reads them
    }

#pragma unroll
    for (int j = 0; j < 8; j++) {
        const long long p = p0 + (j < 4 ? tx * 4 + j : 64 + tx * 4 + (j - 4));
        if (p >= pTotal) continue;
        const int n = (int)(p / outHW);
        const int pq = (int)(p - (long long)n * outHW);
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int m = m0 + ty * 4 + i;
            if (m >= M) continue;
            const int co = g * M + m;
            float v = acc[i][j];
            if (bias != nullptr) v += bias[co];
            const long long o = ((long long)n * outC + co) * outHW + pq;
            out[o] = accumulate ? out[o] + v : v;
        }
    }
}
