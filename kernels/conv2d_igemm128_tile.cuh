// What the two 128×128 implicit-GEMM families share, strict FP32 (conv2d_igemm128.cuh) and TF32
// (conv2d_igemm128_tf32.cuh): a block's share of the product (group, phase, K range, pixel slice), the gather of
// one thread's A and B tile values into registers, and the re-read of the phase before the epilogue. Both: 256
// threads, 128 × 128 block tile, operands as conv2d_igemm128.cuh describes (A k-major with m contiguous, B through
// ktab, backward-data by output phase). Register use is the tight constraint (8 × 8 or 4 × 4 × 4 accumulators under
// __launch_bounds__(256, 2)), and ptxas is sensitive to the shape of the code, so (checked with -Xptxas -v):
// - kernels copy the Igemm128Block fields into locals at once; using blk.field through the kernel spilled;
// - the loader keeps no pointer: one kept in a struct loses __restrict__ (spills in the TF32 kernels);
// - each family keeps its own K loop: a shared one taking the inner product as a lambda cost a register.
#pragma once
#include "common.cuh"

// Block (blockIdx.x, .y, .z)'s share: group g and phase from z = g·nPhases + phase, the phase's K range
// [kStart, kStart + kCount), and its output pixels (n, i, j) ↦ output (n, phA + stepH·i, phB + stepW·j),
// i < qH, j < qW; pixels p0 .. p0 + 127 of pTotal = n·qH·qW, rows m0 .. m0 + 127 of M.
struct Igemm128Block {
    int g, phase, kStart, kCount, phA, phB, qH, qW, stepH, stepW, qHW, m0;
    long long pTotal, p0;
};

template <bool BACKWARD>
__device__ __forceinline__ Igemm128Block igemm128_block(const int4* __restrict__ phases, int nImg, int outH, int outW,
                                                        int K, int sh, int sw, int nPhases) {
    Igemm128Block b;
    b.g = blockIdx.z / nPhases;
    b.phase = blockIdx.z - b.g * nPhases;
    b.kStart = 0, b.kCount = K, b.phA = 0, b.phB = 0, b.qH = outH, b.qW = outW, b.stepH = 1, b.stepW = 1;
    if (BACKWARD) {
        const int4 z = phases[b.phase];
        b.kStart = z.x;
        b.kCount = z.y;
        b.phA = z.z;
        b.phB = z.w;
        b.qH = (outH - b.phA + sh - 1) / sh; // numerator ≥ 1 since phA < sh and outH ≥ 1; 0 rows when phA ≥ outH
        b.qW = (outW - b.phB + sw - 1) / sw;
        b.stepH = sh;
        b.stepW = sw;
    }
    b.qHW = b.qH * b.qW;
    b.pTotal = (long long)nImg * b.qHW;
    b.p0 = (long long)blockIdx.x * 128;
    b.m0 = blockIdx.y * 128;
    return b;
}

// Backward only: the block's phase read again (a volatile load is not merged with the first one) instead of kept in
// registers through the K loop: those few registers are what the accumulators need to stay unspilled.
__device__ __forceinline__ void igemm128_reload_phase(const int4* phases, int phase, int outH, int outW, int sh, int sw,
                                                      int& phA, int& phB, int& qH, int& qW) {
    const volatile int* z = reinterpret_cast<const volatile int*>(phases + phase);
    phA = z[2];
    phB = z[3];
    qH = (outH - phA + sh - 1) / sh;
    qW = (outW - phB + sw - 1) / sw;
}

// One thread's part of each tile load: A column m0 + tid%128 and B pixel column tid%128 (both coalesced along the
// contiguous index) for the tile rows k = tid/128 + 2i, i < ROWS (a K-tile of 2·ROWS rows), into ra and rb; zero
// outside the K range, past M or pTotal, and in the padding. The family stores them to its shared tile.
template <int ROWS>
struct Igemm128Loader {
    long long srcBase; // image n, first channel of group g
    int col, kl, by, bx, M, m0, kCount, srcH, srcW;
    bool pValid, mValid;

    template <bool BACKWARD>
    __device__ __forceinline__ void init(const Igemm128Block b, int tid, int srcC, int srcH_, int srcW_, int M_,
                                         int kc, int sh, int sw, int padTop, int padLeft) {
        col = tid % 128;
        kl = tid / 128;
        M = M_;
        m0 = b.m0;
        kCount = b.kCount;
        srcH = srcH_;
        srcW = srcW_;
        const long long pB = b.p0 + col;
        pValid = pB < b.pTotal;
        mValid = m0 + col < M;
        by = 0, bx = 0;
        srcBase = 0;
        if (pValid) {
            const int n = (int)(pB / b.qHW);
            const int q = (int)(pB - (long long)n * b.qHW);
            const int i = q / b.qW, j = q - (q / b.qW) * b.qW;
            if (BACKWARD) {
                by = i; // dy row = i + ktab.y (the phase and pad are in the table)
                bx = j;
            } else {
                by = i * sh - padTop;
                bx = j * sw - padLeft;
            }
            srcBase = ((long long)n * srcC + (long long)b.g * kc) * srcH * srcW;
        }
    }

    // ag: A of this group and phase (ag[k·M + m]), kt: ktab of this phase. The pointers stay with the caller, which
    // has them as __restrict__ parameters (a pointer kept in a struct loses that).
    __device__ __forceinline__ void load(const float* __restrict__ ag, const int4* __restrict__ kt,
                                         const float* __restrict__ src, int k0, float (&ra)[ROWS],
                                         float (&rb)[ROWS]) const {
#pragma unroll
        for (int i = 0; i < ROWS; i++) {
            const int k = k0 + kl + 2 * i;
            ra[i] = (mValid && k < kCount) ? ag[(long long)k * M + m0 + col] : 0.f;
        }
#pragma unroll
        for (int i = 0; i < ROWS; i++) {
            const int k = k0 + kl + 2 * i;
            float v = 0.f;
            if (pValid && k < kCount) {
                const int4 t = kt[k];
                const int y = by + t.y, x = bx + t.z;
                if (y >= 0 && y < srcH && x >= 0 && x < srcW) {
                    v = src[srcBase + t.x + (long long)y * srcW + x];
                }
            }
            rb[i] = v;
        }
    }
};
