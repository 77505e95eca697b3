// binary_same: out = a (op) b for two operands of out's own shape (no broadcasting): 0 add, 1 sub, 2 mul, 3 div.
// binary.cu's most common case (a residual Add) without its rank-6 index arithmetic (six 64-bit divisions per
// element), four elements per thread. Same results as binary.cu element for element (IEEE ops, no fast math).
// Launch: block (256), grid (min(ceil(ceil(n/4)/256), 65535)), grid-stride. a, b, out: n floats, 16-byte aligned
// (every region of a device-resident plan is 256-byte aligned).
#include "common.cuh"
#include "binary_ops.cuh"

extern "C" __global__ void binary_same(const float* __restrict__ a, const float* __restrict__ b,
                                       float* __restrict__ out, int n, int op) {
    const int quads = n / 4;
    const float4* a4 = reinterpret_cast<const float4*>(a);
    const float4* b4 = reinterpret_cast<const float4*>(b);
    float4* o4 = reinterpret_cast<float4*>(out);
    ZQ_FOR_EACH(q, quads) {
        const float4 u = a4[q], v = b4[q];
        o4[q] = make_float4(zq_binary_op(u.x, v.x, op), zq_binary_op(u.y, v.y, op),
                            zq_binary_op(u.z, v.z, op), zq_binary_op(u.w, v.w, op));
    }
    ZQ_FOR_EACH(t, n - 4 * quads) { // the last n mod 4 elements
        const long long i = 4LL * quads + t;
        out[i] = zq_binary_op(a[i], b[i], op);
    }
}
