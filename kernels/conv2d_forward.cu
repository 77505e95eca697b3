// conv2d_forward: direct 2-D convolution, NCHW, grouped (depthwise when group == Cin), strides, pads,
// dilations, optional bias. One block computes 256 output pixels of one (n, co) plane; the weights of that
// output channel are staged in shared memory in chunks, since all 256 threads read every one of them.
// Launch: block (256), grid (ceil(outH*outW/256), Cout, N), no dynamic shared memory.
// x: (N, Cin, H, W)   w: (Cout, Cin/group, kh, kw)   bias: (Cout) or null   out: (N, Cout, outH, outW)
#include "common.cuh"

#define CONV_THREADS 256
#define CONV_WCHUNK 2048 // floats of weights staged at a time (8 KiB)

extern "C" __global__ void __launch_bounds__(CONV_THREADS)
conv2d_forward(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias,
               float* __restrict__ out, int cin, int h, int wd, int cout, int outH, int outW,
               int kh, int kw, int sh, int sw, int padTop, int padLeft, int dh, int dw, int group) {
    __shared__ float ws[CONV_WCHUNK];
    const int n = blockIdx.z;
    const int co = blockIdx.y;
    const int p = blockIdx.x * CONV_THREADS + threadIdx.x;
    const bool active = p < outH * outW; // inactive threads still help stage weights and reach every barrier
    const int oh = active ? p / outW : 0;
    const int ow = active ? p % outW : 0;
    const int cinG = cin / group;
    const int coutG = cout / group;
    const int ci0 = (co / coutG) * cinG; // first input channel of this output channel's group
    const int khw = kh * kw;
    const int kTotal = cinG * khw;
    const float* wco = w + (long long)co * kTotal;
    const float* xn = x + ((long long)n * cin + ci0) * h * wd;
    const int ih0 = oh * sh - padTop;
    const int iw0 = ow * sw - padLeft;

    float acc = 0.f;
    for (int k0 = 0; k0 < kTotal; k0 += CONV_WCHUNK) {
        const int len = min(CONV_WCHUNK, kTotal - k0);
        __syncthreads(); // the previous chunk is fully consumed before it is overwritten
        for (int i = threadIdx.x; i < len; i += CONV_THREADS) {
            ws[i] = wco[k0 + i];
        }
        __syncthreads();
        if (active) {
            for (int i = 0; i < len; i++) {
                const int k = k0 + i;
                const int ci = k / khw;
                const int r = (k - ci * khw) / kw;
                const int s = k - ci * khw - r * kw;
                const int ih = ih0 + r * dh;
                const int iw = iw0 + s * dw;
                if (ih >= 0 && ih < h && iw >= 0 && iw < wd) {
                    acc += ws[i] * xn[((long long)ci * h + ih) * wd + iw];
                }
            }
        }
    }
    if (active) {
        if (bias != nullptr) {
            acc += bias[co];
        }
        out[(((long long)n * cout + co) * outH + oh) * outW + ow] = acc;
    }
}
