// activation_backward: dx = dy · f'(x) with the op codes of activation.cu and PyTorch's choice at the kinks
// (activation_ops.cuh; Activation.derivative in Java: relu'(0) = 0, clip' = 0 at its bounds).
// Launch: block (256), grid (min(ceil(n/256), 65535)), grid-stride.
// x (the activation's input), dy, dx: (n)   dx written (accumulate 0) or added to (1)
#include "common.cuh"
#include "activation_ops.cuh"

extern "C" __global__ void activation_backward(const float* __restrict__ x, const float* __restrict__ dy,
                                               float* __restrict__ dx, int n, int op, float a, float b,
                                               int accumulate) {
    ZQ_FOR_EACH(i, n) {
        const float d = zq_activation_derivative(x[i], op, a, b);
        const float g = dy[i] * d;
        dx[i] = accumulate ? dx[i] + g : g;
    }
}
