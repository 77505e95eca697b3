// global_avg_pool: mean of each (n, c) plane. One block per plane: each thread sums a strided part, then the
// block reduces with warp shuffles (no shared-memory bank traffic inside a warp) and one shared slot per warp.
// Launch: block (256), grid (min(NC, 65535)) looping over planes.
// x: (NC, HW)   out: (NC)
#include "common.cuh"

#define GAP_THREADS 256

extern "C" __global__ void __launch_bounds__(GAP_THREADS)
global_avg_pool(const float* __restrict__ x, float* __restrict__ out, int nc, int hw) {
    __shared__ float warpSums[GAP_THREADS / 32];
    for (int plane = blockIdx.x; plane < nc; plane += gridDim.x) {
        const float* xp = x + (long long)plane * hw;
        float s = 0.f;
        for (int i = threadIdx.x; i < hw; i += GAP_THREADS) {
            s += xp[i];
        }
        for (int off = 16; off > 0; off >>= 1) {
            s += __shfl_down_sync(0xffffffffu, s, off);
        }
        if ((threadIdx.x & 31) == 0) {
            warpSums[threadIdx.x >> 5] = s;
        }
        __syncthreads();
        if (threadIdx.x < 32) {
            float t = threadIdx.x < GAP_THREADS / 32 ? warpSums[threadIdx.x] : 0.f;
            for (int off = 16; off > 0; off >>= 1) {
                t += __shfl_down_sync(0xffffffffu, t, off);
            }
            if (threadIdx.x == 0) {
                out[plane] = t / (float)hw;
            }
        }
        __syncthreads(); // warpSums is reused by the next plane
    }
}
