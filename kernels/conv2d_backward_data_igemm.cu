// conv2d_backward_data_igemm: dx of a 2-D convolution as an implicit GEMM (conv2d_igemm.cuh): per group,
// dx[n, ci, ih, iw] = Σ_(co, r, s) w[co, ci, r, s] · dy[n, co, (ih + pt − r·dh)/sh, (iw + pl − s·dw)/sw] over the
// exact, in-range quotients. Groups, strides, pads, dilations; depthwise uses conv2d_backward_data.
// Launch: block (256), grid (ceil(N·H·W/128), ceil((Cin/group)/64), group).
// dy: (N, Cout, outH, outW)   wt: (group, K, Cin/group) with K = (Cout/group)·kh·kw, k = (co·kh + r)·kw + s
// ktab: (K) int4 {co·outH·outW, r·dh, s·dw, 0}   dx: (N, Cin, H, W) written (accumulate 0) or added to (1)
#include "conv2d_igemm.cuh"

extern "C" __global__ void __launch_bounds__(IG_THREADS, 2)
conv2d_backward_data_igemm(const float* __restrict__ dy, const float* __restrict__ wt, const int4* __restrict__ ktab,
                           float* __restrict__ dx, int n, int cin, int h, int wd, int cout, int outH, int outW,
                           int group, int kTotal, int sh, int sw, int padTop, int padLeft, int accumulate) {
    conv2d_igemm<true>(dy, wt, ktab, nullptr, dx, n, cout, outH, outW, cin, h, wd, cin / group, kTotal,
                       cout / group, sh, sw, padTop, padLeft, accumulate);
}
