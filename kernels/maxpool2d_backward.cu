// maxpool2d_backward: gather form (no atomics). Each input pixel visits every window that contains it,
// recomputes that window's argmax with the tie rule of Gradients.maxPoolBackward (the first maximum in row-major
// window order; padding never wins) and collects the window's dy when the argmax is this pixel.
// Launch: block (256), grid (min(ceil(NC·H·W/256), 65535)), grid-stride.
// x: (NC, H, W) the pool's input   dy: (NC, outH, outW)   dx: (NC, H, W) written (accumulate 0) or added to (1)
#include "common.cuh"

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
        for (int r = 0; r < kh; r++) {
            const int th = ih + padTop - r * dh;
            if (th < 0 || th % sh != 0) continue;
            const int oh = th / sh;
            if (oh >= outH) continue;
            for (int s = 0; s < kw; s++) {
                const int tw = iw + padLeft - s * dw;
                if (tw < 0 || tw % sw != 0) continue;
                const int ow = tw / sw;
                if (ow >= outW) continue;
                // Argmax of window (oh, ow), first maximum wins (strict >), as the CPU reference.
                int best = -1;
                float bv = -INFINITY;
                for (int rr = 0; rr < kh; rr++) {
                    const int y = oh * sh - padTop + rr * dh;
                    if (y < 0 || y >= h) continue;
                    for (int ss = 0; ss < kw; ss++) {
                        const int xx = ow * sw - padLeft + ss * dw;
                        if (xx < 0 || xx >= w) continue;
                        const float v = xp[y * w + xx];
                        if (best < 0 || v > bv) {
                            bv = v;
                            best = y * w + xx;
                        }
                    }
                }
                if (best == ih * w + iw) {
                    acc += gp[oh * outW + ow];
                }
            }
        }
        dx[i] = accumulate ? dx[i] + acc : acc;
    }
}
