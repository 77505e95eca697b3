// batchnorm_backward: inference-mode BatchNorm is y = k[c]·x + const, so dx = k[c]·dy with
// k[c] = scale[c]/sqrt(var[c] + eps) precomputed on the host exactly as Gradients.batchNormBackward rounds it.
// Added to dx as one fused multiply-add (batchnorm_ops.cuh, as the fused BatchNorm kernels do).
// Launch: block (256), grid (min(ceil(total/256), 65535)), grid-stride.
// dy, dx: (N, C, hw) with total = N·C·hw   k: (C)   dx written (accumulate 0) or added to (1)
// x, coef: null, or the BatchNorm's input and its planes' deferred statistics-loss coefficients (bn_stat.cuh): then each
// value's statistics gradient is added first (zq_bn_grad_stat).
#include "common.cuh"
#include "batchnorm_ops.cuh"
#include "bn_stat.cuh"

extern "C" __global__ void batchnorm_backward(const float* __restrict__ dy, const float* __restrict__ k,
                                              float* __restrict__ dx, int total, int c, int hw, int accumulate,
                                              const float* __restrict__ x, const double* __restrict__ coef) {
    ZQ_FOR_EACH(i, total) {
        const int plane = (int)i / hw; // total fits in an int: 32-bit division
        const float kc = k[plane % c];
        dx[i] = coef == nullptr ? zq_bn_grad(dy[i], kc, dx, i, accumulate)
                                : zq_bn_grad_stat(dy[i], kc, dx, i, accumulate, bn_stat_term(coef, plane, x[i]));
    }
}
