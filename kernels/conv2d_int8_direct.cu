// conv2d_int8_direct: exact int32 accumulators acc = Σ (q_x − zp)·q_w of a grouped or depthwise convolution,
// read straight from NCHW uint8 codes and OIHW int8 weights, the loops of RefInt8Kernels one output per thread
// (padding skipped: it holds x = 0, code zp, and contributes nothing). For groups too narrow for the tensor-core
// igemm, whose K would be mostly channel padding (depthwise: 1 real channel in 16).
// Launch: block (256), grid (min(ceil(total/256), 65535)), grid-stride; total = N·Cout·outH·outW.
// x: (N, Cin, H, W) uint8   w: (Cout, Cin/group, kh, kw) int8   acc: (N, Cout, outH, outW) int32
#include "common.cuh"

extern "C" __global__ void conv2d_int8_direct(const unsigned char* __restrict__ x, const signed char* __restrict__ w,
                                              int* __restrict__ acc, int n, int cin, int h, int wd, int cout,
                                              int outH, int outW, int kh, int kw, int sh, int sw, int padTop,
                                              int padLeft, int dh, int dw, int group, int zp) {
    const int cinG = cin / group, coutG = cout / group;
    const long long total = (long long)n * cout * outH * outW;
    ZQ_FOR_EACH(i, total) {
        const int ox = (int)(i % outW);
        long long t = i / outW;
        const int oy = (int)(t % outH);
        t /= outH;
        const int co = (int)(t % cout);
        const long long b = t / cout;
        const int grp = co / coutG;
        // unsigned: wraps like Java's int instead of being undefined on overflow (IntegerModel rules overflow out)
        unsigned sum = 0;
        for (int ci = 0; ci < cinG; ci++) {
            const long long plane = (b * cin + (long long)grp * cinG + ci) * h;
            const signed char* wr = w + ((long long)co * cinG + ci) * kh * kw;
            zq_window_taps(oy, ox, h, wd, kh, kw, sh, sw, padTop, padLeft, dh, dw, [&](int iy, int ix, int ky, int kx) {
                sum += (unsigned)(((int)x[(plane + iy) * wd + ix] - zp) * (int)wr[ky * kw + kx]);
            });
        }
        acc[i] = (int)sum;
    }
}
