// maxpool2d_backward_argmax: maxpool2d_backward.cu's gather (no atomics) with each window's argmax read from idx
// (maxpool2d_argmax.cu) instead of recomputed: each input pixel visits the windows that contain it, in the same order,
// and adds the window's dy when the window's argmax is this pixel. The same sums, in the same order: the same results.
// Launch: block (256), grid (min(ceil(NC·H·W/256), 65535)), grid-stride.
// idx: (NC, outH, outW) from maxpool2d_argmax   dy: (NC, outH, outW)   dx: (NC, H, W) written (accumulate 0) or added
// to (1)
#include "common.cuh"
#include "maxpool_window.cuh"

extern "C" __global__ void maxpool2d_backward_argmax(const int* __restrict__ idx, const float* __restrict__ dy,
                                                     float* __restrict__ dx, int nc, int h, int w, int outH, int outW,
                                                     int kh, int kw, int sh, int sw, int padTop, int padLeft, int dh,
                                                     int dw, int accumulate) {
    const int total = nc * h * w; // Java array sizes: fits in an int
    ZQ_FOR_EACH(i, total) {
        const int p = (int)i;
        const int row = p / w, plane = row / h; // p / (w·h) as (p / w) / h: two divisions, not three
        const int iw = p - row * w, ih = row - plane * h;
        const int* ip = idx + (long long)plane * outH * outW;
        const float* gp = dy + (long long)plane * outH * outW;
        const int self = ih * w + iw;
        float acc = 0.f;
        zq_windows_of(ih, iw, outH, outW, kh, kw, sh, sw, padTop, padLeft, dh, dw, [&](int oh, int ow, int, int) {
            if (ip[oh * outW + ow] == self) acc += gp[oh * outW + ow];
        });
        dx[i] = accumulate ? dx[i] + acc : acc;
    }
}
