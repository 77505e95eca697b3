// Shared by binary.cu / binary_same.cu (forward) and broadcast_reduce.cu / binary_backward_same.cu (gradients): the
// four elementwise ops and each operand's gradient contribution, one definition for the broadcasting and the
// same-shape kernels; and the same-shape kernels' four-per-thread loop (binary_same, add_activation).
#pragma once
#include "common.cuh"

// u (op) v: 0 add, 1 sub, 2 mul, 3 div (IEEE division, no fast-math, to match Java); NaN for an unknown op.
__device__ __forceinline__ float zq_binary_op(float u, float v, int op) {
    switch (op) {
        case 0: return u + v;
        case 1: return u - v;
        case 2: return u * v;
        case 3: return u / v;
        default: return __int_as_float(0x7fc00000);
    }
}

// One output element's contribution g to the gradient of operand `side` of out = a (op) b, with a's and b's values at
// a[ao], b[bo] (read only for mul and div, so a and b may be null otherwise):
//   side 0 (a): add g, sub g, mul g·b, div g/b          side 1 (b): add g, sub −g, mul g·a, div −(g/b)·(a/b)
__device__ __forceinline__ float zq_binary_grad(float gv, const float* __restrict__ a, long long ao,
                                                const float* __restrict__ b, long long bo, int op, int side) {
    switch (op * 2 + side) {
        case 0: case 1: case 2: return gv;                 // add a, add b, sub a
        case 3: return -gv;                                // sub b
        case 4: return gv * b[bo];                         // mul a
        case 5: return gv * a[ao];                         // mul b
        case 6: return gv / b[bo];                         // div a
        case 7: { const float q = gv / b[bo]; return -(q * (a[ao] / b[bo])); } // div b
        default: return __int_as_float(0x7fc00000);
    }
}

// out[i] = f(a[i], b[i]) for n elements of same-shape operands, four per thread through float4 (a, b, out 16-byte
// aligned) then the last n mod 4 one by one: the loop of binary_same and add_activation. Grid-stride (ZQ_FOR_EACH).
template <class F>
__device__ __forceinline__ void zq_map_same(const float* __restrict__ a, const float* __restrict__ b,
                                            float* __restrict__ out, int n, F f) {
    const int quads = n / 4;
    const float4* a4 = reinterpret_cast<const float4*>(a);
    const float4* b4 = reinterpret_cast<const float4*>(b);
    float4* o4 = reinterpret_cast<float4*>(out);
    ZQ_FOR_EACH(q, quads) {
        const float4 u = a4[q], v = b4[q];
        o4[q] = make_float4(f(u.x, v.x), f(u.y, v.y), f(u.z, v.z), f(u.w, v.w));
    }
    ZQ_FOR_EACH(t, n - 4 * quads) { // the last n mod 4 elements
        const long long i = 4LL * quads + t;
        out[i] = f(a[i], b[i]);
    }
}
