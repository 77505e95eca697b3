// activation: element-wise activation chosen by an op code (activation_ops.cuh; the Java Activation records):
// 0 relu, 1 clip(a=min, b=max), 2 leakyrelu(a=alpha), 3 sigmoid, 4 hardsigmoid(a=alpha, b=beta), 5 hardswish.
// Launch: block (256), grid (min(ceil(n/256), 65535)), grid-stride.
// x, out: (n)
#include "common.cuh"
#include "activation_ops.cuh"

extern "C" __global__ void activation(const float* __restrict__ x, float* __restrict__ out, int n, int op,
                                      float a, float b) {
    ZQ_FOR_EACH(i, n) {
        out[i] = zq_activation(x[i], op, a, b);
    }
}
