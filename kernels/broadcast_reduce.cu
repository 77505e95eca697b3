// broadcast_reduce: the gradient of one operand of out = a (op) b (Add/Sub/Mul/Div, numpy broadcasting), summed
// back to that operand's shape. Per element of the broadcast output the contribution is
//   side 0 (a): add g, sub g, mul g·b, div g/b          side 1 (b): add g, sub −g, mul g·a, div −(g/b)·(a/b)
// and each operand element sums the contributions of every output element it was broadcast to. One thread per
// operand element walks the broadcast dimensions in a fixed order (deterministic, no atomics); for the usual
// same-shape residual Add that walk is a single step.
// Launch: block (256), grid (min(ceil(nOperand/256), 65535)), grid-stride.
// g: out's gradient, dims `full` (rank 6, leading 1s)   a, b: the forward operands (read only for mul/div; may be
// null otherwise), element strides sa, sb inside `full` (0 where broadcast)   dx: (operand dims `od`, rank 6)
#include "common.cuh"
#include "binary_ops.cuh"

extern "C" __global__ void broadcast_reduce(const float* __restrict__ g, const float* __restrict__ a,
                                            const float* __restrict__ b, float* __restrict__ dx, int nOperand,
                                            Shape6 full, Shape6 od, Shape6 sa, Shape6 sb, int op, int side,
                                            int accumulate) {
    // Row-major strides of `full`, and the number of output elements each operand element gathers.
    long long fs[ZQ_MAX_RANK];
    long long stride = 1;
    int redCount = 1;
#pragma unroll
    for (int d = ZQ_MAX_RANK - 1; d >= 0; d--) {
        fs[d] = stride;
        stride *= full.d[d];
        if (od.d[d] == 1 && full.d[d] > 1) redCount *= full.d[d];
    }
    ZQ_FOR_EACH(i, nOperand) {
        int coord[ZQ_MAX_RANK];
        long long rest = i;
#pragma unroll
        for (int d = ZQ_MAX_RANK - 1; d >= 0; d--) {
            coord[d] = (int)(rest % od.d[d]);
            rest /= od.d[d];
        }
        float acc = 0.f;
        for (int r = 0; r < redCount; r++) {
            int rr = r;
            long long go = 0, ao = 0, bo = 0;
#pragma unroll
            for (int d = ZQ_MAX_RANK - 1; d >= 0; d--) {
                int c = coord[d];
                if (od.d[d] == 1 && full.d[d] > 1) {
                    c = rr % full.d[d];
                    rr /= full.d[d];
                }
                go += c * fs[d];
                ao += (long long)c * sa.d[d];
                bo += (long long)c * sb.d[d];
            }
            acc += zq_binary_grad(g[go], a, ao, b, bo, op, side);
        }
        dx[i] = accumulate ? dx[i] + acc : acc;
    }
}
