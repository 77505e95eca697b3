// The element-wise activations by op code, with the Java Activation records' numbering, and their derivatives with
// PyTorch's choice at the kinks (Activation.derivative: relu'(0) = 0, clip' = 0 at its bounds):
// 0 relu, 1 clip(a = min, b = max), 2 leakyrelu(a = alpha), 3 sigmoid, 4 hardsigmoid(a = alpha, b = beta), 5 hardswish.
// An unknown op gives NaN, which the parity tests catch. Used by activation.cu, activation_backward.cu and the fused
// BatchNorm/Add + activation kernels.
#pragma once

__device__ __forceinline__ float zq_activation(float v, int op, float a, float b) {
    switch (op) {
        case 0: return v > 0.f ? v : 0.f;
        case 1: return fminf(fmaxf(v, a), b);
        case 2: return v >= 0.f ? v : a * v;
        case 3: return 1.f / (1.f + expf(-v));
        case 4: return fmaxf(0.f, fminf(1.f, a * v + b));
        case 5: return v * fmaxf(0.f, fminf(1.f, v / 6.f + 0.5f));
        default: return __int_as_float(0x7fc00000);
    }
}

// f'(v) for the activation's input v. For relu and clip (ops 0 and 1) it is also f' read off the output: f(v) > 0
// exactly when v > 0, and a < clip(v) < b exactly when a < v < b (NaN included: both sides give 0), which the fused
// backward kernel relies on.
__device__ __forceinline__ float zq_activation_derivative(float v, int op, float a, float b) {
    switch (op) {
        case 0: return v > 0.f ? 1.f : 0.f;
        case 1: return (v > a && v < b) ? 1.f : 0.f;
        case 2: return v > 0.f ? 1.f : a;
        case 3: {
            // The Java reference evaluates the sigmoid in double; so do we (one exp per element).
            const double s = 1.0 / (1.0 + exp(-(double)v));
            return (float)(s * (1.0 - s));
        }
        case 4: {
            const float t = a * v + b;
            return (t > 0.f && t < 1.f) ? a : 0.f;
        }
        case 5: return v < -3.f ? 0.f : (v <= 3.f ? v / 3.f + 0.5f : 1.f);
        default: return __int_as_float(0x7fc00000);
    }
}

// The gradient each operand of z = f(a + b) receives, for relu and clip (f' read off z): activation_backward's dz·f'(z),
// then binary_backward_same's add term 0 + g (which turns −0 into +0).
__device__ __forceinline__ float zq_act_add_grad(float z, float dz, int op, float lo, float hi) {
    const float d = zq_activation_derivative(z, op, lo, hi);
    const float g = dz * d;
    return 0.f + g;
}
