// conv2d_forward_igemm: 2-D convolution as an implicit GEMM (conv2d_igemm.cuh): NCHW, groups, strides, pads,
// dilations, optional bias. For convolutions with at least a few channels per group; depthwise uses conv2d_forward.
// Launch: block (256), grid (ceil(N·outH·outW/128), ceil((Cout/group)/64), group).
// x: (N, Cin, H, W)   wt: (group, K, Cout/group) with K = (Cin/group)·kh·kw, k = (ci·kh + r)·kw + s
// ktab: (K) int4 {ci·H·W, r·dh, s·dw, 0}   bias: (Cout) or null   out: (N, Cout, outH, outW)
#include "conv2d_igemm.cuh"

extern "C" __global__ void __launch_bounds__(IG_THREADS, 2)
conv2d_forward_igemm(const float* __restrict__ x, const float* __restrict__ wt, const int4* __restrict__ ktab,
                     const float* __restrict__ bias, float* __restrict__ out, int n, int cin, int h, int wd,
                     int cout, int outH, int outW, int group, int kTotal, int sh, int sw, int padTop, int padLeft) {
    conv2d_igemm<false>(x, wt, ktab, bias, out, n, cin, h, wd, cout, outH, outW, cout / group, kTotal, cin / group,
                        sh, sw, padTop, padLeft, 0);
}
