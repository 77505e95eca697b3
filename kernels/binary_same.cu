// binary_same: out = a (op) b for two operands of out's own shape (no broadcasting): 0 add, 1 sub, 2 mul, 3 div.
// binary.cu's most common case (a residual Add) without its rank-6 index arithmetic (six 64-bit divisions per
// element), four elements per thread. Same results as binary.cu element for element (IEEE ops, no fast math).
// Launch: block (256), grid (min(ceil(ceil(n/4)/256), 65535)), grid-stride. a, b, out: n floats, 16-byte aligned
// (every region of a device-resident plan is 256-byte aligned).
#include "common.cuh"
#include "binary_ops.cuh"

extern "C" __global__ void binary_same(const float* __restrict__ a, const float* __restrict__ b,
                                       float* __restrict__ out, int n, int op) {
    zq_map_same(a, b, out, n, [op](float u, float v) { return zq_binary_op(u, v, op); });
}
