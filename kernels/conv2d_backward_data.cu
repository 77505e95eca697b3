// conv2d_backward_data: dx = dConv/dx · dy in direct gather form (no atomics): each input pixel sums, over the
// output channels of its group and the kernel taps, the dy values whose window touched it. Grouped, depthwise,
// strides, pads, dilations. The fallback (and the depthwise path) beside the implicit-GEMM version.
// Launch: block (256), grid (min(ceil(N·Cin·H·W/256), 65535)), grid-stride.
// dy: (N, Cout, outH, outW)   w: (Cout, Cin/group, kh, kw)   dx: (N, Cin, H, W), written (accumulate 0) or added to (1)
#include "common.cuh"

extern "C" __global__ void conv2d_backward_data(const float* __restrict__ dy, const float* __restrict__ w,
                                                float* __restrict__ dx, int n, int cin, int h, int wd, int cout,
                                                int outH, int outW, int kh, int kw, int sh, int sw, int padTop,
                                                int padLeft, int dh, int dw, int group, int accumulate) {
    const long long total = (long long)n * cin * h * wd;
    const int cinG = cin / group;
    const int coutG = cout / group;
    ZQ_FOR_EACH(i, total) {
        const int iw = (int)(i % wd);
        const int ih = (int)((i / wd) % h);
        const int ci = (int)((i / ((long long)wd * h)) % cin);
        const int b = (int)(i / ((long long)wd * h * cin));
        const int grp = ci / cinG;
        const int cil = ci - grp * cinG;
        float acc = 0.f;
        zq_windows_of(ih, iw, outH, outW, kh, kw, sh, sw, padTop, padLeft, dh, dw, [&](int oh, int ow, int r, int s) {
            for (int col = 0; col < coutG; col++) {
                const int co = grp * coutG + col;
                acc += dy[(((long long)b * cout + co) * outH + oh) * outW + ow]
                     * w[(((long long)co * cinG + cil) * kh + r) * kw + s];
            }
        });
        dx[i] = accumulate ? dx[i] + acc : acc;
    }
}
