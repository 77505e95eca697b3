// maxpool2d_argmax: for each max-pool window, where its maximum is: idx = y·W + x of the first maximum in row-major
// window order (strict >, as Gradients.maxPoolBackward; padding never wins), or −1 for a window with no input pixel.
// The first half of maxpool2d_backward_argmax's gradient: computed once per window instead of once per window and
// pixel of it (maxpool2d_backward.cu).
// Launch: block (256), grid (min(ceil(NC·outH·outW/256), 65535)), grid-stride.
// x: (NC, H, W) the pool's input   idx: (NC, outH, outW) ints, written
#include "common.cuh"
#include "maxpool_window.cuh"

extern "C" __global__ void maxpool2d_argmax(const float* __restrict__ x, int* __restrict__ idx, int nc, int h, int w,
                                            int outH, int outW, int kh, int kw, int sh, int sw, int padTop,
                                            int padLeft, int dh, int dw) {
    const int total = nc * outH * outW; // Java array sizes: fits in an int
    ZQ_FOR_EACH(i, total) {
        const int o = (int)i;
        const int ow = o % outW, oh = (o / outW) % outH, plane = o / (outW * outH);
        const float* xp = x + (long long)plane * h * w;
        idx[o] = zq_maxpool_argmax(xp, h, w, oh, ow, kh, kw, sh, sw, padTop, padLeft, dh, dw);
    }
}
