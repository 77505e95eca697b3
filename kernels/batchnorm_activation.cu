// batchnorm_activation: out = f(scale[c]·(x − mean[c])·inv[c] + bias[c]), batchnorm_inference followed by activation
// in one pass (the device-resident distillation's BatchNorm whose only reader is a ReLU or Clip: the BatchNorm's own
// output is never stored). inv[c] = 1/sqrt(var[c] + eps) comes from the host, rounded as batchnorm_inference rounds
// it per element (float add, correctly rounded sqrt, IEEE division), so out is that kernel pair's, bit for bit.
// Launch: block (256), grid (min(ceil(total/256), 65535)), grid-stride.
// x, out: (N, C, hw) with total = N·C·hw   scale, bias, mean, inv: (C)   op, a, b: activation_ops.cuh
#include "common.cuh"
#include "activation_ops.cuh"
#include "batchnorm_ops.cuh"

extern "C" __global__ void batchnorm_activation(const float* __restrict__ x, const float* __restrict__ scale,
                                                const float* __restrict__ bias, const float* __restrict__ mean,
                                                const float* __restrict__ inv, float* __restrict__ out, int total, int c,
                                                int hw, int op, float a, float b) {
    ZQ_FOR_EACH(i, total) {
        const int ch = ((int)i / hw) % c; // total fits in an int: 32-bit division
        out[i] = zq_bn_activation(x[i], scale[ch], mean[ch], inv[ch], bias[ch], nullptr, i, op, a, b);
    }
}
