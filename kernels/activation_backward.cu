// activation_backward: dx = dy · f'(x) with the op codes of activation.cu and PyTorch's choice at the kinks
// (Activation.derivative in Java: relu'(0) = 0, clip' = 0 at its bounds).
// Launch: block (256), grid (min(ceil(n/256), 65535)), grid-stride.
// x (the activation's input), dy, dx: (n)   dx written (accumulate 0) or added to (1)
#include "common.cuh"

extern "C" __global__ void activation_backward(const float* __restrict__ x, const float* __restrict__ dy,
                                               float* __restrict__ dx, int n, int op, float a, float b,
                                               int accumulate) {
    ZQ_FOR_EACH(i, n) {
        const float v = x[i];
        float d;
        switch (op) {
            case 0: d = v > 0.f ? 1.f : 0.f; break;
            case 1: d = (v > a && v < b) ? 1.f : 0.f; break;
            case 2: d = v > 0.f ? 1.f : a; break;
            case 3: {
                // The Java reference evaluates the sigmoid in double; so do we (one exp per element).
                const double s = 1.0 / (1.0 + exp(-(double)v));
                d = (float)(s * (1.0 - s));
                break;
            }
            case 4: {
                const float t = a * v + b;
                d = (t > 0.f && t < 1.f) ? a : 0.f;
                break;
            }
            case 5: d = v < -3.f ? 0.f : (v <= 3.f ? v / 3.f + 0.5f : 1.f); break;
            default: d = __int_as_float(0x7fc00000); break;
        }
        const float g = dy[i] * d;
        dx[i] = accumulate ? dx[i] + g : g;
    }
}
