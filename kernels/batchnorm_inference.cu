// batchnorm_inference: out = scale[c]·(x − mean[c])/sqrt(var[c] + eps) + bias[c] over axis 1 (ONNX
// BatchNormalization, inference mode). One thread per element, grid-stride.
// Launch: block (256), grid (min(ceil(total/256), 65535)).
// x, out: (N, C, HW...) with total = N·C·hw elements   scale, bias, mean, var: (C)
#include "common.cuh"
#include "batchnorm_ops.cuh"

extern "C" __global__ void batchnorm_inference(const float* __restrict__ x, const float* __restrict__ scale,
                                               const float* __restrict__ bias, const float* __restrict__ mean,
                                               const float* __restrict__ var, float eps, float* __restrict__ out,
                                               int total, int c, int hw) {
    ZQ_FOR_EACH(i, total) {
        const int ch = ((int)i / hw) % c; // total fits in an int: 32-bit division, not the 64-bit one
        // rsqrtf would differ from the Java reference by up to 2 ulp; sqrtf is correctly rounded.
        const float inv = 1.0f / sqrtf(var[ch] + eps);
        out[i] = zq_bn_affine(x[i], scale[ch], mean[ch], inv, bias[ch]);
    }
}
