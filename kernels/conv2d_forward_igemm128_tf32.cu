// conv2d_forward_igemm128_tf32: conv2d_forward_igemm128 with the inner product on TF32 tensor cores (sm_80+;
// conv2d_igemm128_tf32.cuh), opt-in (--tf32): operands rounded to a 10-bit mantissa, FP32 accumulation.
// Same arguments, operands and launch as conv2d_forward_igemm128.
// Launch: block (256), grid (ceil(N·outH·outW/128), ceil((Cout/group)/128), group).
// x: (N, Cin, H, W)   wt: (group, K, Cout/group) with K = (Cin/group)·kh·kw, k = (ci·kh + r)·kw + s
// ktab: (K) int4 {ci·H·W, r·dh, s·dw, 0}   bias: (Cout) or null   out: (N, Cout, outH, outW)
#include "conv2d_igemm128_tf32.cuh"

extern "C" __global__ void __launch_bounds__(IGT_THREADS, 2)
conv2d_forward_igemm128_tf32(const float* __restrict__ x, const float* __restrict__ wt,
                             const int4* __restrict__ ktab, const float* __restrict__ bias, float* __restrict__ out,
                             int n, int cin, int h, int wd, int cout, int outH, int outW, int group, int kTotal,
                             int sh, int sw, int padTop, int padLeft) {
    conv2d_igemm128_tf32<false>(x, wt, ktab, nullptr, bias, out, n, cin, h, wd, cout, outH, outW, cout / group, kTotal,
                                cin / group, sh, sw, padTop, padLeft, 1, 0);
}
