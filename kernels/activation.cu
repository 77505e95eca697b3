// activation: element-wise activation chosen by an op code (the Java Activation records):
// 0 relu, 1 clip(a=min, b=max), 2 leakyrelu(a=alpha), 3 sigmoid, 4 hardsigmoid(a=alpha, b=beta), 5 hardswish.
// Launch: block (256), grid (min(ceil(n/256), 65535)), grid-stride.
// x, out: (n)
#include "common.cuh"

extern "C" __global__ void activation(const float* __restrict__ x, float* __restrict__ out, int n, int op,
                                      float a, float b) {
    ZQ_FOR_EACH(i, n) {
        const float v = x[i];
        float r;
        switch (op) {
            case 0: r = v > 0.f ? v : 0.f; break;
            case 1: r = fminf(fmaxf(v, a), b); break;
            case 2: r = v >= 0.f ? v : a * v; break;
            case 3: r = 1.f / (1.f + expf(-v)); break;
            case 4: r = fmaxf(0.f, fminf(1.f, a * v + b)); break;
            case 5: r = v * fmaxf(0.f, fminf(1.f, v / 6.f + 0.5f)); break;
            default: r = __int_as_float(0x7fc00000); break; // unknown op: NaN, caught by the parity tests
        }
        out[i] = r;
    }
}
