// Inference-mode BatchNorm's two per-element formulas, spelled out with the rounding intrinsics so that every kernel that
// computes them rounds alike: the compiler contracts a·b + c into one FMA in one kernel and not in another (it did, for
// the same source line, in batchnorm_backward and a fused kernel), and the fused kernels promise the separate ones'
// results bit for bit. Used by batchnorm_inference, batchnorm_backward and the fused BatchNorm kernels.
#pragma once
#include "activation_ops.cuh"

// y = scale·(x − mean)·inv + bias, the product by inv and the bias in one FMA (as nvcc contracted the plain expression).
__device__ __forceinline__ float zq_bn_affine(float x, float scale, float mean, float inv, float bias) {
    return __fmaf_rn(__fmul_rn(scale, __fsub_rn(x, mean)), inv, bias);
}

// The input gradient k·g of an output gradient g, stored (accumulate 0) or added to dx[i] (1) in one FMA.
__device__ __forceinline__ float zq_bn_grad(float g, float k, const float* dx, long long i, int accumulate) {
    return accumulate ? __fmaf_rn(g, k, dx[i]) : __fmul_rn(g, k);
}

// As zq_bn_grad, with the BatchNorm-statistics gradient of the input value, st (bn_stat.cuh's deferred gradients), in
// the place the forward pass would have stored it: first, so k·g is added to st (or to what dx[i] holds plus st). With
// nothing else written to dx, the same float as storing st then adding k·g.
__device__ __forceinline__ float zq_bn_grad_stat(float g, float k, const float* dx, long long i, int accumulate, float st) {
    return __fmaf_rn(g, k, accumulate ? __fadd_rn(dx[i], st) : st);
}

// The fused BatchNorm forward: f(BN(x)), or f(BN(x) + other[i]) with a residual (other not null). One formula for every
// kernel that computes it (batchnorm_activation, batchnorm_add_activation and the statistics kernels that compute it
// in their pass over x), so that they round alike.
__device__ __forceinline__ float zq_bn_activation(float x, float scale, float mean, float inv, float bias,
                                                  const float* other, long long i, int op, float lo, float hi) {
    const float y = zq_bn_affine(x, scale, mean, inv, bias);
    return zq_activation(other == nullptr ? y : y + other[i], op, lo, hi);
}
