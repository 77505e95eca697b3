// Host check of two elementwise kernels of kernels/int8_engine_ops.cu without a GPU: int8_quantize_nhwc and
// int8_maxpool_nhwc (one thread per 16-channel chunk) against straightforward per-element references, bit for bit,
// on odd shapes, with the host intrinsics of int8_emu.h. Grid-stride kernels need no barriers, so the "threads" run one
// after another on one OS thread (launchSerial sets cuda_emu.h's threadIdx/blockIdx itself).
// Usage: native/igemm-emu/run.sh ops
#include "int8_emu.h"
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <cmath>
#include <random>
#include <vector>
#include <algorithm>

#include "int8_engine_ops.cu"

static std::mt19937_64 rng(11);
static int failures = 0;

static signed char refQuantize(float x, float scale, int zp, int qmax) {
    float r = rintf(x / scale) + (float)zp;
    r = std::fmin(std::fmax(r, 0.f), (float)qmax);
    return (signed char)(unsigned char)((unsigned)(int)r ^ 0x80u);
}

static void quantizeCase(int n, int c, int h, int w, int nchw) {
    const int cP = (c + 15) / 16 * 16;
    std::uniform_real_distribution<float> u(-3, 3);
    std::vector<float> x((size_t)n * c * h * w);
    for (auto& v : x) v = u(rng);
    x[0] = NAN; // (int) NaN = 0 in Java: fmaxf(NaN, 0) = 0 on the device
    const float scale = 0.0213f; const int zp = 117, qmax = 255;
    std::vector<signed char> got((size_t)n * h * w * cP, 0x55), want(got.size());
    for (int b = 0; b < n; b++) for (int p = 0; p < h * w; p++) for (int ch = 0; ch < cP; ch++) {
        size_t o = ((size_t)b * h * w + p) * cP + ch;
        if (ch >= c) { want[o] = (signed char)(unsigned char)((unsigned)zp ^ 0x80u); continue; }
        float v = nchw ? x[((size_t)b * c + ch) * h * w + p] : x[((size_t)b * h * w + p) * c + ch];
        want[o] = refQuantize(v, scale, zp, qmax);
    }
    launchSerial((long long)n * h * w * cP / 16, [&] { int8_quantize_nhwc(x.data(), got.data(), n, c, h, w, cP, nchw, scale, zp, qmax); });
    size_t bad = 0;
    for (size_t i = 0; i < got.size(); i++) bad += got[i] != want[i];
    printf("%s quantize n=%d c=%d %dx%d %s: %zu of %zu bytes differ\n", bad ? "FAIL" : "ok  ", n, c, h, w,
           nchw ? "nchw" : "nhwc", bad, got.size());
    failures += bad != 0;
}

static void maxpoolCase(int n, int c, int h, int w, int k, int s, int pad, int d) {
    const int cP = (c + 15) / 16 * 16;
    const int outH = (h + 2 * pad - d * (k - 1) - 1) / s + 1, outW = (w + 2 * pad - d * (k - 1) - 1) / s + 1;
    std::uniform_int_distribution<int> u(-128, 127);
    std::vector<signed char> x((size_t)n * h * w * cP);
    for (auto& v : x) v = (signed char)u(rng);
    std::vector<signed char> got((size_t)n * outH * outW * cP, 0x55), want(got.size());
    for (int b = 0; b < n; b++) for (int oy = 0; oy < outH; oy++) for (int ox = 0; ox < outW; ox++)
        for (int ch = 0; ch < cP; ch++) {
            int m = -128;
            for (int ky = 0; ky < k; ky++) for (int kx = 0; kx < k; kx++) {
                int iy = oy * s - pad + ky * d, ix = ox * s - pad + kx * d;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                m = std::max(m, (int)x[(((size_t)b * h + iy) * w + ix) * cP + ch]);
            }
            want[(((size_t)b * outH + oy) * outW + ox) * cP + ch] = (signed char)m;
        }
    launchSerial((long long)n * outH * outW * cP / 16, [&] {
        int8_maxpool_nhwc(x.data(), got.data(), n, h, w, cP, outH, outW, k, k, s, s, pad, pad, d, d);
    });
    size_t bad = 0;
    for (size_t i = 0; i < got.size(); i++) bad += got[i] != want[i];
    printf("%s maxpool n=%d c=%d %dx%d k%d s%d p%d d%d: %zu of %zu bytes differ\n", bad ? "FAIL" : "ok  ", n, c, h, w, k,
           s, pad, d, bad, got.size());
    failures += bad != 0;
}

int main() {
    quantizeCase(2, 3, 7, 5, 1);
    quantizeCase(1, 1, 9, 9, 1);
    quantizeCase(3, 40, 3, 4, 1);
    quantizeCase(2, 33, 5, 3, 0);
    quantizeCase(1, 16, 2, 2, 0);
    maxpoolCase(2, 64, 12, 11, 3, 2, 1, 1);
    maxpoolCase(1, 3, 7, 9, 3, 2, 1, 1);
    maxpoolCase(3, 40, 6, 6, 2, 2, 0, 1);
    maxpoolCase(1, 17, 9, 8, 3, 1, 2, 2);
    printf(failures ? "int8 ops emulator: %d case(s) FAILED\n" : "int8 ops emulator: all cases OK\n", failures);
    return failures ? 1 : 0;
}
