// loss_reduce_partial / loss_reduce_final: the sum of n doubles in two stages with a fixed shape, so the total
// loss is identical run to run (no atomics). Stage 1: block b sums the contiguous chunk [b·chunk, (b+1)·chunk)
// into blockSums[b]; stage 2: one block sums blockSums[0..blocks) into out[0].
// Launch: stage 1 block (256), grid (blocks) with chunk = ceil(n/blocks); stage 2 block (256), grid (1).
// in: (n) doubles   blockSums: (blocks) doubles   out: (1) double
#include "common.cuh"

#define REDUCE_THREADS 256

__device__ __forceinline__ double zq_block_sum(double v, double* shared) {
    shared[threadIdx.x] = v;
    __syncthreads();
    for (int off = REDUCE_THREADS / 2; off > 0; off >>= 1) {
        if (threadIdx.x < off) {
            shared[threadIdx.x] += shared[threadIdx.x + off];
        }
        __syncthreads();
    }
    return shared[0];
}

extern "C" __global__ void __launch_bounds__(REDUCE_THREADS)
loss_reduce_partial(const double* __restrict__ in, double* __restrict__ blockSums, long long n, long long chunk) {
    __shared__ double shared[REDUCE_THREADS];
    const long long lo = (long long)blockIdx.x * chunk;
    const long long hi = min(lo + chunk, n);
    double s = 0.0;
    for (long long i = lo + threadIdx.x; i < hi; i += REDUCE_THREADS) {
        s += in[i];
    }
    const double t = zq_block_sum(s, shared);
    if (threadIdx.x == 0) {
        blockSums[blockIdx.x] = t;
    }
}

extern "C" __global__ void __launch_bounds__(REDUCE_THREADS)
loss_reduce_final(const double* __restrict__ blockSums, double* __restrict__ out, int blocks) {
    __shared__ double shared[REDUCE_THREADS];
    double s = 0.0;
    for (int i = threadIdx.x; i < blocks; i += REDUCE_THREADS) {
        s += blockSums[i];
    }
    const double t = zq_block_sum(s, shared);
    if (threadIdx.x == 0) {
        out[0] = t;
    }
}
