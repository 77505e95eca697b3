// maxpool2d_backward: gather form (no atomics). Each input pixel visits every window that contains it,
// recomputes that window's argmax with the tie rule of Gradients.maxPoolBackward (the first maximum in row-major
// window order; padding never wins) and collects the window's dy when the argmax is this pixel.
// Launch: block (256), grid (min(ceil(NC·H·W/256), 65535)), grid-stride.
// x: (NC, H, W) the pool's input   dy: (NC, outH, outW)   dx: (NC, H, W) written (accumulate 0) or added to (1)
#include "common.cuh"
#include "maxpool_window.cuh"

extern "C" __global__ void maxpool2d_backward(const float* __restrict__ x, const float* __restrict__ dy,
                                              float* __restrict__ dx, int nc, int h, int w, int outH, int outW,
                                              int kh, int kw, int sh, int sw, int padTop, int padLeft, int dh,
                                              int dw, int accumulate) {
    const long long total = (long long)nc * h * w;
    ZQ_FOR_EACH(i, total) {
        const int iw = (int)(i % w);
        const int ih = (int)((i / w) % h);
        const long long plane = i / ((long long)w * h);
        const float* xp = x + plane * h * w;
        const float* gp = dy + plane * outH * outW;
        float acc = 0.f;
        zq_windows_of(ih, iw, outH, outW, kh, kw, sh, sw, padTop, padLeft, dh, dw, [&](int oh, int ow, int, int) {
            if (zq_maxpool_argmax(xp, h, w, oh, ow, kh, kw, sh, sw, padTop, padLeft, dh, dw) == ih * w + iw) {
                acc += gp[oh * outW + ow];
            }
        });
        dx[i] = accumulate ? dx[i] + acc : acc;
    }
}
