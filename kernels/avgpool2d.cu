// avgpool2d: mean over each window. count_include_pad divides by the window clipped to the padded input
// (so a ceil_mode window hanging past the end padding counts only up to it); otherwise by the number of real
// input elements in the window. Output sizes come from the host (PoolSpec).
// Launch: block (256), grid (min(ceil(NC·outH·outW/256), 65535)), grid-stride.
// x: (NC, H, W)   out: (NC, outH, outW)
#include "common.cuh"

extern "C" __global__ void avgpool2d(const float* __restrict__ x, float* __restrict__ out, int nc, int h, int w,
                                     int outH, int outW, int kh, int kw, int sh, int sw, int padTop, int padLeft,
                                     int padBottom, int padRight, int countIncludePad) {
    const long long total = (long long)nc * outH * outW;
    ZQ_FOR_EACH(i, total) {
        const int ow = (int)(i % outW);
        const int oh = (int)((i / outW) % outH);
        const long long plane = i / ((long long)outW * outH);
        const float* xp = x + plane * h * w;
        int h0 = oh * sh - padTop, w0 = ow * sw - padLeft;
        int h1 = min(h0 + kh, h + padBottom), w1 = min(w0 + kw, w + padRight);
        const int padded = (h1 - h0) * (w1 - w0);
        h0 = max(h0, 0);
        w0 = max(w0, 0);
        h1 = min(h1, h);
        w1 = min(w1, w);
        float sum = 0.f;
        for (int ih = h0; ih < h1; ih++) {
            for (int iw = w0; iw < w1; iw++) {
                sum += xp[(long long)ih * w + iw];
            }
        }
        const int count = countIncludePad ? padded : (h1 - h0) * (w1 - w0);
        out[i] = sum / (float)count;
    }
}
