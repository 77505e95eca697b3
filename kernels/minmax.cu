// minmax_partial / minmax_final: the smallest and largest of n floats in two fixed-shape stages (no atomics), for
// calibration ranges without downloading the value. Stage 1: block b reduces the contiguous chunk
// [b·chunk, min((b+1)·chunk, n)) into partials[2b] (min), partials[2b+1] (max); stage 2: one block reduces the
// blocks' pairs into out[0] (min), out[1] (max). NaN is sticky (the result is NaN if any input is), so the host
// can reject non-finite values as Clipping.minMax does; ±inf pass through min/max unchanged.
// Launch: stage 1 block (256), grid (blocks ≤ 1024) with chunk = ceil(n/blocks); stage 2 block (256), grid (1).
// x: (n)   partials: (2·blocks)   out: (2)
#include "common.cuh"

#define MINMAX_THREADS 256

__device__ __forceinline__ float zq_min_nan(float a, float b) {
    return (a != a) ? a : ((b != b) ? b : fminf(a, b));
}

__device__ __forceinline__ float zq_max_nan(float a, float b) {
    return (a != a) ? a : ((b != b) ? b : fmaxf(a, b));
}

// Tree reduction of (lo, hi) over the block; the result is valid in thread 0.
__device__ __forceinline__ void zq_block_minmax(float& lo, float& hi, float* sLo, float* sHi) {
    sLo[threadIdx.x] = lo;
    sHi[threadIdx.x] = hi;
    __syncthreads();
    for (int off = MINMAX_THREADS / 2; off > 0; off >>= 1) {
        if (threadIdx.x < off) {
            sLo[threadIdx.x] = zq_min_nan(sLo[threadIdx.x], sLo[threadIdx.x + off]);
            sHi[threadIdx.x] = zq_max_nan(sHi[threadIdx.x], sHi[threadIdx.x + off]);
        }
        __syncthreads();
    }
    lo = sLo[0];
    hi = sHi[0];
}

extern "C" __global__ void __launch_bounds__(MINMAX_THREADS)
minmax_partial(const float* __restrict__ x, float* __restrict__ partials, long long n, long long chunk) {
    __shared__ float sLo[MINMAX_THREADS], sHi[MINMAX_THREADS];
    const long long begin = (long long)blockIdx.x * chunk;
    const long long end = min(begin + chunk, n);
    float lo = __int_as_float(0x7f800000), hi = __int_as_float(0xff800000); // +inf, −inf: an empty chunk is neutral
    for (long long i = begin + threadIdx.x; i < end; i += MINMAX_THREADS) {
        lo = zq_min_nan(lo, x[i]);
        hi = zq_max_nan(hi, x[i]);
    }
    zq_block_minmax(lo, hi, sLo, sHi);
    if (threadIdx.x == 0) {
        partials[2 * blockIdx.x] = lo;
        partials[2 * blockIdx.x + 1] = hi;
    }
}

extern "C" __global__ void __launch_bounds__(MINMAX_THREADS)
minmax_final(const float* __restrict__ partials, float* __restrict__ out, int blocks) {
    __shared__ float sLo[MINMAX_THREADS], sHi[MINMAX_THREADS];
    float lo = __int_as_float(0x7f800000), hi = __int_as_float(0xff800000);
    for (int b = threadIdx.x; b < blocks; b += MINMAX_THREADS) {
        lo = zq_min_nan(lo, partials[2 * b]);
        hi = zq_max_nan(hi, partials[2 * b + 1]);
    }
    zq_block_minmax(lo, hi, sLo, sHi);
    if (threadIdx.x == 0) {
        out[0] = lo;
        out[1] = hi;
    }
}
