// Inference-mode BatchNorm's two per-element formulas, spelled out with the rounding intrinsics so that every kernel that
// computes them rounds alike: the compiler contracts a·b + c into one FMA in one kernel and not in another (it did, for
// the same source line, in batchnorm_backward and a fused kernel), and the fused kernels promise the separate ones'
// results bit for bit. Used by batchnorm_inference, batchnorm_backward and the fused BatchNorm kernels.
#pragma once

// y = scale·(x − mean)·inv + bias, the product by inv and the bias in one FMA (as nvcc contracted the plain expression).
__device__ __forceinline__ float zq_bn_affine(float x, float scale, float mean, float inv, float bias) {
    return __fmaf_rn(__fmul_rn(scale, __fsub_rn(x, mean)), inv, bias);
}

// The input gradient k·g of an output gradient g, stored (accumulate 0) or added to dx[i] (1) in one FMA.
__device__ __forceinline__ float zq_bn_grad(float g, float k, const float* dx, long long i, int accumulate) {
    return accumulate ? __fmaf_rn(g, k, dx[i]) : __fmul_rn(g, k);
}
