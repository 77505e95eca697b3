// activation_add_batchnorm_backward: the gradients of z = f(BN(x) + other) (batchnorm_add_activation's triple):
// g = dz·f'(z) with f' read off z (relu and clip only, activation_ops.cuh); other's gradient 0 + g, as
// activation_add_backward; x's gradient k[c]·(0 + g), as batchnorm_backward of that. Each written (accumulate 0) or
// added to (1). Replaces activation_add_backward followed by batchnorm_backward, the same results element for element.
// dOther and dx must be different buffers.
// Launch: block (256), grid (min(ceil(total/256), 65535)), grid-stride.
// z, dz, dOther, dx: (N, C, hw) with total = N·C·hw   k: (C) = scale/sqrt(var + eps) as batchnorm_backward takes it
// x, coef: null, or the BatchNorm's input and its planes' deferred statistics-loss coefficients (bn_stat.cuh): then each
// value's statistics gradient is added first (zq_bn_grad_stat).
#include "common.cuh"
#include "activation_ops.cuh"
#include "batchnorm_ops.cuh"
#include "bn_stat.cuh"

extern "C" __global__ void activation_add_batchnorm_backward(const float* __restrict__ z, const float* __restrict__ dz,
                                                             const float* __restrict__ k, float* __restrict__ dOther,
                                                             float* __restrict__ dx, int total, int c, int hw, int op,
                                                             float lo, float hi, int accumulateOther,
                                                             int accumulateX, const float* __restrict__ x,
                                                             const double* __restrict__ coef) {
    ZQ_FOR_EACH(i, total) {
        const float v = zq_act_add_grad(z[i], dz[i], op, lo, hi); // the Add's, each side
        dOther[i] = accumulateOther ? dOther[i] + v : v;
        const int plane = (int)i / hw;
        dx[i] = coef == nullptr ? zq_bn_grad(v, k[plane % c], dx, i, accumulateX) // batchnorm_backward's
                                : zq_bn_grad_stat(v, k[plane % c], dx, i, accumulateX, bn_stat_term(coef, plane, x[i]));
    }
}
