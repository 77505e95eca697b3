// activation_batchnorm_backward: dx = k[c]·(dz·f'(z)), activation_backward followed by batchnorm_backward in one pass,
// for the pairs batchnorm_activation computes: f' is read off the activation's output z, which for relu and clip
// (ops 0 and 1 only) is f' of its input (activation_ops.cuh), so the BatchNorm's output is never needed.
// k[c] = scale[c]/sqrt(var[c] + eps) from the host, as batchnorm_backward takes it; the same products in the same order
// as that kernel pair.
// Launch: block (256), grid (min(ceil(total/256), 65535)), grid-stride.
// z, dz, dx: (N, C, hw) with total = N·C·hw   k: (C)   dx written (accumulate 0) or added to (1)
// x, coef: null, or the BatchNorm's input and its planes' deferred statistics-loss coefficients (bn_stat.cuh): then each
// value's statistics gradient is added first (zq_bn_grad_stat).
// scale, bias, mean, inv: null, or (with x) the BatchNorm's parameters as batchnorm_activation takes them: then f' is
// taken of the activation's input recomputed from x, which this kernel reads anyway, and z is not read (may be null).
// Given scale, bias, mean and inv, x must be given too.
// The same derivative for relu and clip (f'(BN(x)) = f'(z) with z = f(BN(x)), NaN included), so the same floats.
#include "common.cuh"
#include "activation_ops.cuh"
#include "batchnorm_ops.cuh"
#include "bn_stat.cuh"

extern "C" __global__ void activation_batchnorm_backward(const float* __restrict__ z, const float* __restrict__ dz,
                                                         const float* __restrict__ k, float* __restrict__ dx, int total,
                                                         int c, int hw, int op, float a, float b, int accumulate,
                                                         const float* __restrict__ x, const double* __restrict__ coef,
                                                         const float* __restrict__ scale, const float* __restrict__ bias,
                                                         const float* __restrict__ mean, const float* __restrict__ inv) {
    ZQ_FOR_EACH(i, total) {
        const int plane = (int)i / hw, ch = plane % c;
        const float v = inv == nullptr ? z[i] : zq_bn_affine(x[i], scale[ch], mean[ch], inv[ch], bias[ch]);
        const float d = zq_activation_derivative(v, op, a, b);
        const float g = dz[i] * d;                  // activation_backward's dy
        dx[i] = coef == nullptr ? zq_bn_grad(g, k[ch], dx, i, accumulate) // batchnorm_backward's
                                : zq_bn_grad_stat(g, k[ch], dx, i, accumulate, bn_stat_term(coef, plane, x[i]));
    }
}
