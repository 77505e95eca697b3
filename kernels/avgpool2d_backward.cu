// avgpool2d_backward: gather form of Gradients.avgPoolBackward. Each input pixel sums dy/count over the windows
// that contain it, with count as the forward (count_include_pad: window clipped to the padded input, which a
// ceil_mode window may overhang; otherwise the real pixels only). Also GlobalAveragePool's backward (k = H×W).
// Launch: block (256), grid (min(ceil(NC·H·W/256), 65535)), grid-stride.
// dy: (NC, outH, outW)   dx: (NC, H, W) written (accumulate 0) or added to (1)
#include "common.cuh"

extern "C" __global__ void avgpool2d_backward(const float* __restrict__ dy, float* __restrict__ dx, int nc, int h,
                                              int w, int outH, int outW, int kh, int kw, int sh, int sw, int padTop,
                                              int padLeft, int padBottom, int padRight, int countIncludePad,
                                              int accumulate) {
    const long long total = (long long)nc * h * w;
    ZQ_FOR_EACH(i, total) {
        const int iw = (int)(i % w);
        const int ih = (int)((i / w) % h);
        const long long plane = i / ((long long)w * h);
        const float* gp = dy + plane * outH * outW;
        // Windows containing ih: oh·sh − padTop ≤ ih < oh·sh − padTop + kh.
        const int ohLo = max(0, (ih + padTop - kh + sh) / sh - ((ih + padTop - kh + sh) < 0 ? 1 : 0));
        const int ohHi = min(outH - 1, (ih + padTop) / sh);
        const int owLo = max(0, (iw + padLeft - kw + sw) / sw - ((iw + padLeft - kw + sw) < 0 ? 1 : 0));
        const int owHi = min(outW - 1, (iw + padLeft) / sw);
        float acc = 0.f;
        for (int oh = ohLo; oh <= ohHi; oh++) {
            const int y0 = oh * sh - padTop;
            if (ih < y0 || ih >= y0 + kh) continue;
            for (int ow = owLo; ow <= owHi; ow++) {
                const int x0 = ow * sw - padLeft;
                if (iw < x0 || iw >= x0 + kw) continue;
                int count;
                if (countIncludePad) {
                    count = (min(y0 + kh, h + padBottom) - y0) * (min(x0 + kw, w + padRight) - x0);
                } else {
                    count = (min(y0 + kh, h) - max(y0, 0)) * (min(x0 + kw, w) - max(x0, 0));
                }
                acc += gp[oh * outW + ow] / (float)count;
            }
        }
        dx[i] = accumulate ? dx[i] + acc : acc;
    }
}
