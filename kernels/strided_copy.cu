// strided_copy: dst[dstBase + Σ c_d·dstStride_d] = src[srcBase + Σ c_d·srcStride_d] for every coordinate c of
// an iteration shape padded to rank 6 with leading 1s. Transpose (permuted source strides), slice (start offset, stride·step,
// negative steps included) and concat (one launch per input, into an offset of the output) are all this copy.
// Launch: block (256), grid (min(ceil(n/256), 65535)), grid-stride.
// src, dst: flat arrays; n = product of dims
#include "common.cuh"

extern "C" __global__ void strided_copy(const float* __restrict__ src, float* __restrict__ dst, int n, Shape6 dims, Shape6 srcStrides, Shape6 dstStrides, int srcBase,
                                        int dstBase) {
    ZQ_FOR_EACH(i, n) {
        long long rest = i;
        long long so = srcBase, dof = dstBase;
#pragma unroll
        for (int d = ZQ_MAX_RANK - 1; d >= 0; d--) { // fully unrolled: the structs stay in registers
            const long long c = rest % dims.d[d];
            rest /= dims.d[d];
            so += c * srcStrides.d[d];
            dof += c * dstStrides.d[d];
        }
        dst[dof] = src[so];
    }
}
