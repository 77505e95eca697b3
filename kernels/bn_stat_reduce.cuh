// The two ways the BatchNorm-statistics kernels combine their threads' partial sums of a plane (bn_stat.cuh's
// bn_stat_partial_sums): a block's fixed-shape shared-memory tree, or a warp's xor butterfly. Apart from bn_stat.cuh
// because only the kernels that reduce a plane use barriers or warp shuffles (the host emulation runs such kernels one
// OS thread per CUDA thread, and every kernel that includes them with it).
#pragma once
#include "bn_stat.cuh"

#define BNSTAT_THREADS 256       // a block per plane
#define BNSTAT_WARP_THREADS 256  // a warp per plane, 8 to a block
#define BNSTAT_WARP_MAX_HW 1024  // the largest plane a warp takes (CudaDistiller.BN_STAT_WARP_MAX_HW)

// The plane's sums from the partial sums of a block's THREADS threads: a fixed-shape tree in shared memory (s1, s2 of
// THREADS doubles each), the same order every run, so the loss is bit-reproducible. Every thread gets the totals.
template <int THREADS>
__device__ __forceinline__ void bn_stat_block_sums(double& a, double& q, double* s1, double* s2) {
    s1[threadIdx.x] = a;
    s2[threadIdx.x] = q;
    __syncthreads();
    for (int off = THREADS / 2; off > 0; off >>= 1) {
        if (threadIdx.x < off) {
            s1[threadIdx.x] += s1[threadIdx.x + off];
            s2[threadIdx.x] += s2[threadIdx.x + off];
        }
        __syncthreads();
    }
    a = s1[0];
    q = s2[0];
}

// The plane's sums from the partial sums of a warp's 32 lanes: an xor butterfly, after which every lane holds the same
// totals (each step adds the same two values in either order), the same every run (no atomics).
__device__ __forceinline__ void bn_stat_warp_sums(double& a, double& q) {
    for (int off = 16; off > 0; off >>= 1) {
        a += __shfl_xor_sync(0xffffffffu, a, off);
        q += __shfl_xor_sync(0xffffffffu, q, off);
    }
}
