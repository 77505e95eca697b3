// conv2d_forward_igemm128: 2-D convolution as an implicit GEMM with 128×128 block tiles (conv2d_igemm128.cuh): NCHW,
// groups, strides, pads, dilations, optional bias; same arguments as conv2d_forward_igemm (64×128 tiles), which
// stays selectable. For layers with more than 64 output channels per group and enough pixels to fill the chip.
// Launch: block (256), grid (ceil(N·outH·outW/128), ceil((Cout/group)/128), group).
// x: (N, Cin, H, W)   wt: (group, K, Cout/group) with K = (Cin/group)·kh·kw, k = (ci·kh + r)·kw + s
// ktab: (K) int4 {ci·H·W, r·dh, s·dw, 0}   bias: (Cout) or null   out: (N, Cout, outH, outW)
#include "conv2d_igemm128.cuh"

extern "C" __global__ void __launch_bounds__(IG2_THREADS, 2)
conv2d_forward_igemm128(const float* __restrict__ x, const float* __restrict__ wt, const int4* __restrict__ ktab,
                        const float* __restrict__ bias, float* __restrict__ out, int n, int cin, int h, int wd,
                        int cout, int outH, int outW, int group, int kTotal, int sh, int sw, int padTop, int padLeft) {
    conv2d_igemm128<false>(x, wt, ktab, nullptr, bias, out, n, cin, h, wd, cout, outH, outW, cout / group, kTotal,
                           cin / group, sh, sw, padTop, padLeft, 1, 0);
}
