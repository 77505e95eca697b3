// batchnorm_add_activation: out = f(BN(x) + other), batchnorm_inference on one operand of a residual Add followed by
// add_activation in one pass (the device-resident distillation's bottleneck end: the BatchNorm's output and the sum are
// never stored). inv[c] = 1/sqrt(var[c] + eps) from the host, as batchnorm_activation takes it; the same results as the
// kernels it replaces, element for element (IEEE ops, no fast math).
// Launch: block (256), grid (min(ceil(total/256), 65535)), grid-stride.
// x, other, out: (N, C, hw) with total = N·C·hw   scale, bias, mean, inv: (C)   op, lo, hi: activation_ops.cuh
#include "common.cuh"
#include "activation_ops.cuh"
#include "batchnorm_ops.cuh"

extern "C" __global__ void batchnorm_add_activation(const float* __restrict__ x, const float* __restrict__ scale,
                                                    const float* __restrict__ bias, const float* __restrict__ mean,
                                                    const float* __restrict__ inv, const float* __restrict__ other,
                                                    float* __restrict__ out, int total, int c, int hw, int op, float lo,
                                                    float hi) {
    ZQ_FOR_EACH(i, total) {
        const int ch = ((int)i / hw) % c; // total fits in an int: 32-bit division
        out[i] = zq_bn_activation(x[i], scale[ch], mean[ch], inv[ch], bias[ch], other, i, op, lo, hi);
    }
}
