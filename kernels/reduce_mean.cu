// reduce_mean: each output element is the mean over the reduced axes. The host splits the input's axes into
// kept ones (the output's iteration shape, with the input's strides) and reduced ones (their dims and strides), both padded to rank 6 with leading 1s.
// One thread per output element, summing serially: the reduced extent is small for the graphs we run.
// Launch: block (256), grid (min(ceil(nOut/256), 65535)), grid-stride.
// x: input (flat)   out: (nOut)
#include "common.cuh"

extern "C" __global__ void reduce_mean(const float* __restrict__ x, float* __restrict__ out, int nOut,
                                       Shape6 keptDims, Shape6 keptStrides, Shape6 redDims, Shape6 redStrides, int redCount) {
    ZQ_FOR_EACH(i, nOut) {
        long long rest = i, base = 0;
#pragma unroll
        for (int d = ZQ_MAX_RANK - 1; d >= 0; d--) { // fully unrolled: the structs stay in registers
            base += (rest % keptDims.d[d]) * keptStrides.d[d];
            rest /= keptDims.d[d];
        }
        float s = 0.f;
        for (int r = 0; r < redCount; r++) {
            long long rr = r, off = base;
#pragma unroll
            for (int d = ZQ_MAX_RANK - 1; d >= 0; d--) {
                off += (rr % redDims.d[d]) * redStrides.d[d];
                rr /= redDims.d[d];
            }
            s += x[off];
        }
        out[i] = s / (float)redCount;
    }
}
