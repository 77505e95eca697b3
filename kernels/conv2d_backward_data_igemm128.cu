// conv2d_backward_data_igemm128: dx of a 2-D convolution as an implicit GEMM with 128×128 block tiles
// (conv2d_igemm128.cuh), decomposed by output phase so that no block iterates over taps that cannot reach its
// pixels: dx[n, ci, a + sh·i, b + sw·j] = Σ over the taps of phase (a, b) of w[co, ci, r, s] · dy[n, co, i + yo, j + xo]
// (in range), yo = (a + pt − r·dh)/sh, xo = (b + pl − s·dw)/sw. Groups, strides, pads, dilations; depthwise uses
// conv2d_backward_data; conv2d_backward_data_igemm (64×128, no phases) stays selectable.
// Launch: block (256), grid (ceil(N·ceil(H/sh)·ceil(W/sw)/128), ceil((Cin/group)/128), group·sh·sw).
// dy: (N, Cout, outH, outW)   wt: (group, K, Cin/group), rows in ktab order; K = (Cout/group)·kh·kw
// ktab: (K) int4 {co·outH·outW, yo, xo, 0}, phase by phase   phases: (sh·sw) int4 {first k, k count, a, b}, z = a·sw + b
// dx: (N, Cin, H, W) written (accumulate 0) or added to (1)
#include "conv2d_igemm128.cuh"

extern "C" __global__ void __launch_bounds__(IG2_THREADS, 2)
conv2d_backward_data_igemm128(const float* __restrict__ dy, const float* __restrict__ wt,
                              const int4* __restrict__ ktab, const int4* __restrict__ phases, float* __restrict__ dx,
                              int n, int cin, int h, int wd, int cout, int outH, int outW, int group, int kTotal,
                              int sh, int sw, int accumulate) {
    conv2d_igemm128<true>(dy, wt, ktab, phases, nullptr, dx, n, cout, outH, outW, cin, h, wd, cin / group, kTotal,
                          cout / group, sh, sw, 0, 0, sh * sw, accumulate);
}
