// maxpool2d: max over each (dilated) window; padding never wins (it is skipped, as in ONNX). Output sizes,
// including ceil_mode, are computed on the host (PoolSpec) and passed in.
// Launch: block (256), grid (min(ceil(NC·outH·outW/256), 65535)), grid-stride.
// x: (N, C, H, W) viewed as (NC, H, W)   out: (NC, outH, outW)
#include "common.cuh"

extern "C" __global__ void maxpool2d(const float* __restrict__ x, float* __restrict__ out, int nc, int h, int w,
                                     int outH, int outW, int kh, int kw, int sh, int sw, int padTop, int padLeft,
                                     int dh, int dw) {
    const long long total = (long long)nc * outH * outW;
    ZQ_FOR_EACH(i, total) {
        const int ow = (int)(i % outW);
        const int oh = (int)((i / outW) % outH);
        const long long plane = i / ((long long)outW * outH);
        const float* xp = x + plane * h * w;
        float m = -INFINITY;
        zq_window_taps(oh, ow, h, w, kh, kw, sh, sw, padTop, padLeft, dh, dw, [&](int ih, int iw, int, int) {
            const float v = xp[(long long)ih * w + iw];
            // NaN propagates, as Math.max does in the Java reference.
            m = (v > m || v != v) ? v : m;
        });
        out[i] = m;
    }
}
