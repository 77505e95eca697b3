// binary_backward_same: the gradient of one operand of out = a (op) b when both operands have out's shape (no
// broadcasting): per element, as broadcast_reduce.cu's single-term case,
//   side 0 (a): add g, sub g, mul g·b, div g/b          side 1 (b): add g, sub −g, mul g·a, div −(g/b)·(a/b)
// written to dx (accumulate 0) or added to it (1). broadcast_reduce.cu's most common case (the residual Add's two
// gradients) without its rank-6 index arithmetic, four elements per thread; the same results element for element.
// Launch: block (256), grid (min(ceil(ceil(n/4)/256), 65535)), grid-stride. g, a, b, dx: n floats, 16-byte aligned;
// a and b are read only for mul and div (may be null otherwise).
#include "common.cuh"

__device__ __forceinline__ float zq_binary_grad(float gv, const float* a, const float* b, long long i, int op,
                                                int side) {
    switch (op * 2 + side) {
        case 0: case 1: case 2: return gv;                 // add a, add b, sub a
        case 3: return -gv;                                // sub b
        case 4: return gv * b[i];                          // mul a
        case 5: return gv * a[i];                          // mul b
        case 6: return gv / b[i];                          // div a
        case 7: { const float q = gv / b[i]; return -(q * (a[i] / b[i])); } // div b
        default: return __int_as_float(0x7fc00000);
    }
}

extern "C" __global__ void binary_backward_same(const float* __restrict__ g, const float* __restrict__ a,
                                                const float* __restrict__ b, float* __restrict__ dx, int n, int op,
                                                int side, int accumulate) {
    const int quads = n / 4;
    const float4* g4 = reinterpret_cast<const float4*>(g);
    float4* d4 = reinterpret_cast<float4*>(dx);
    ZQ_FOR_EACH(q, quads) {
        const float4 gv = g4[q];
        const long long i = 4 * q;
        // 0.f + v, as broadcast_reduce's one-term sum (turns −0 into +0 the same way)
        float4 v = make_float4(0.f + zq_binary_grad(gv.x, a, b, i, op, side), 0.f + zq_binary_grad(gv.y, a, b, i + 1, op, side),
                               0.f + zq_binary_grad(gv.z, a, b, i + 2, op, side), 0.f + zq_binary_grad(gv.w, a, b, i + 3, op, side));
        if (accumulate) {
            const float4 old = d4[q];
            v = make_float4(old.x + v.x, old.y + v.y, old.z + v.z, old.w + v.w);
        }
        d4[q] = v;
    }
    ZQ_FOR_EACH(t, n - 4 * quads) { // the last n mod 4 elements
        const long long i = 4LL * quads + t;
        const float v = 0.f + zq_binary_grad(g[i], a, b, i, op, side);
        dx[i] = accumulate ? dx[i] + v : v;
    }
}
