// binary_backward_same: the gradient of one operand of out = a (op) b when both operands have out's shape (no
// broadcasting): per element, as broadcast_reduce.cu's single-term case,
//   side 0 (a): add g, sub g, mul g·b, div g/b          side 1 (b): add g, sub −g, mul g·a, div −(g/b)·(a/b)
// written to dx (accumulate 0) or added to it (1). broadcast_reduce.cu's most common case (the residual Add's two
// gradients) without its rank-6 index arithmetic, four elements per thread; the same results element for element.
// Launch: block (256), grid (min(ceil(ceil(n/4)/256), 65535)), grid-stride. g, a, b, dx: n floats, 16-byte aligned;
// a and b are read only for mul and div (may be null otherwise).
#include "common.cuh"
#include "binary_ops.cuh"

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
        float4 v = make_float4(0.f + zq_binary_grad(gv.x, a, i, b, i, op, side),
                               0.f + zq_binary_grad(gv.y, a, i + 1, b, i + 1, op, side),
                               0.f + zq_binary_grad(gv.z, a, i + 2, b, i + 2, op, side),
                               0.f + zq_binary_grad(gv.w, a, i + 3, b, i + 3, op, side));
        if (accumulate) {
            const float4 old = d4[q];
            v = make_float4(old.x + v.x, old.y + v.y, old.z + v.z, old.w + v.w);
        }
        d4[q] = v;
    }
    ZQ_FOR_EACH(t, n - 4 * quads) { // the last n mod 4 elements
        const long long i = 4LL * quads + t;
        const float v = 0.f + zq_binary_grad(g[i], a, i, b, i, op, side);
        dx[i] = accumulate ? dx[i] + v : v;
    }
}
