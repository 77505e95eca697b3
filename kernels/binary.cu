// binary: out = a (op) b with numpy broadcasting: 0 add, 1 sub, 2 mul, 3 div. The host right-aligns both
// shapes to rank 6 (leading 1s) and passes per-dimension element strides, 0 where an operand is broadcast.
// Launch: block (256), grid (min(ceil(n/256), 65535)), grid-stride.
// a, b: any shapes broadcastable to out   out: dims (rank 6, leading 1s) with n elements (row-major)
#include "common.cuh"
#include "binary_ops.cuh"

extern "C" __global__ void binary(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ out,
                                  int n, Shape6 dims, Shape6 sa, Shape6 sb, int op) {
    ZQ_FOR_EACH(i, n) {
        long long rest = i;
        long long oa = 0, ob = 0;
#pragma unroll
        for (int d = ZQ_MAX_RANK - 1; d >= 0; d--) { // fully unrolled: the structs stay in registers
            const long long c = rest % dims.d[d];
            rest /= dims.d[d];
            oa += c * sa.d[d];
            ob += c * sb.d[d];
        }
        out[i] = zq_binary_op(a[oa], b[ob], op);
    }
}
