// Shared by the max-pool gradient kernels (maxpool2d_backward.cu, maxpool2d_argmax.cu, maxpool2d_backward_argmax.cu):
// a window's argmax with the CPU reference's tie rule (the windows of a pixel: common.cuh's zq_windows_of).
#pragma once
#include "common.cuh"

// Where window (oh, ow) of plane xp (h × w) has its maximum: y·w + x of the first maximum in row-major window order
// (strict >, as Gradients.maxPoolBackward; padding never wins), or −1 when the window holds no input pixel.
__device__ __forceinline__ int zq_maxpool_argmax(const float* __restrict__ xp, int h, int w, int oh, int ow, int kh,
                                                 int kw, int sh, int sw, int padTop, int padLeft, int dh, int dw) {
    int best = -1;
    float bv = -INFINITY;
    zq_window_taps(oh, ow, h, w, kh, kw, sh, sw, padTop, padLeft, dh, dw, [&](int y, int xx, int, int) {
        const float v = xp[y * w + xx];
        if (best < 0 || v > bv) {
            bv = v;
            best = y * w + xx;
        }
    });
    return best;
}
