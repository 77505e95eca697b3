// add_activation: out = f(a + b) for two operands of out's own shape, binary_same's add followed by activation in one
// pass (the device-resident distillation's residual Add whose only reader is a ReLU or Clip: the sum is never stored).
// Four elements per thread; the same results as that kernel pair element for element (IEEE ops, no fast math).
// Launch: block (256), grid (min(ceil(ceil(n/4)/256), 65535)), grid-stride. a, b, out: n floats, 16-byte aligned.
// op, lo, hi: activation_ops.cuh's op code and its two parameters.
#include "common.cuh"
#include "activation_ops.cuh"
#include "binary_ops.cuh"

extern "C" __global__ void add_activation(const float* __restrict__ a, const float* __restrict__ b,
                                          float* __restrict__ out, int n, int op, float lo, float hi) {
    zq_map_same(a, b, out, n, [op, lo, hi](float u, float v) { return zq_activation(u + v, op, lo, hi); });
}
