// conv2d_backward_data_igemm128_tf32: conv2d_backward_data_igemm128 (dx by output phase) with the inner product on
// TF32 tensor cores (sm_80+; conv2d_igemm128_tf32.cuh), opt-in (--tf32): operands rounded to a 10-bit mantissa, FP32
// accumulation. Same arguments, operands (IgemmLayout.backward's phase table) and launch as the FP32 kernel.
// Launch: block (256), grid (ceil(N·ceil(H/sh)·ceil(W/sw)/128), ceil((Cin/group)/128), group·sh·sw).
// dy: (N, Cout, outH, outW)   wt: (group, K, Cin/group), rows in ktab order; K = (Cout/group)·kh·kw
// ktab: (K) int4 {co·outH·outW, yo, xo, 0}, phase by phase   phases: (sh·sw) int4 {first k, k count, a, b}, z = a·sw + b
// dx: (N, Cin, H, W) written (accumulate 0) or added to (1)
#include "conv2d_igemm128_tf32.cuh"

extern "C" __global__ void __launch_bounds__(IGT_THREADS, 2)
conv2d_backward_data_igemm128_tf32(const float* __restrict__ dy, const float* __restrict__ wt,
                                   const int4* __restrict__ ktab, const int4* __restrict__ phases,
                                   float* __restrict__ dx, int n, int cin, int h, int wd, int cout, int outH, int outW,
                                   int group, int kTotal, int sh, int sw, int accumulate) {
    conv2d_igemm128_tf32<true>(dy, wt, ktab, phases, nullptr, dx, n, cout, outH, outW, cin, h, wd, cin / group, kTotal,
                               cout / group, sh, sw, 0, 0, sh * sw, accumulate);
}
