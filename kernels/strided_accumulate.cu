// strided_accumulate: dst[dstBase + Σ c_d·dstStride_d] (+)= src[srcBase + Σ c_d·srcStride_d] over an iteration
// shape padded to rank 6. Concat's backward (a slice of the gradient into an input's gradient) and Slice's
// backward scatter (the gradient into a strided view of a zeroed input gradient) are both this; every destination
// element is hit at most once per launch, so no atomics are needed.
// Launch: block (256), grid (min(ceil(n/256), 65535)), grid-stride.
// src, dst: flat arrays; n = product of dims   accumulate: 0 store, 1 add
#include "common.cuh"

extern "C" __global__ void strided_accumulate(const float* __restrict__ src, float* __restrict__ dst, int n,
                                              Shape6 dims, Shape6 srcStrides, Shape6 dstStrides, int srcBase,
                                              int dstBase, int accumulate) {
    ZQ_FOR_EACH(i, n) {
        long long rest = i;
        long long so = srcBase, dof = dstBase;
#pragma unroll
        for (int d = ZQ_MAX_RANK - 1; d >= 0; d--) {
            const long long c = rest % dims.d[d];
            rest /= dims.d[d];
            so += c * srcStrides.d[d];
            dof += c * dstStrides.d[d];
        }
        dst[dof] = accumulate ? dst[dof] + src[so] : src[so];
    }
}
