// Host check of maxpool2d_argmax.cu + maxpool2d_backward_argmax.cu without a GPU: the two-kernel max-pool gradient
// against maxpool2d_backward.cu (which recomputes each window's argmax per pixel), bit for bit, over window sizes,
// strides, pads, dilations, windows that fall wholly in the padding, many ties, and both accumulate modes.
// Grid-stride kernels need no barriers: the "threads" run one after another on one OS thread.
// Usage: native/igemm-emu/run.sh pool
#include "int8_emu.h"
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <cmath>
#include <random>
#include <vector>
#include <algorithm>

#include "maxpool2d_backward.cu"
#include "maxpool2d_argmax.cu"
#include "maxpool2d_backward_argmax.cu"

int main() {
    std::mt19937_64 rng(31);
    // nc, h, w, kh, kw, sh, sw, pad (all four sides), dh, dw
    const int cfgs[][10] = {
        {3, 8, 8, 3, 3, 2, 2, 1, 1, 1},    // ResNet's stem pool
        {2, 7, 5, 2, 2, 2, 2, 0, 1, 1},    // 2×2/2, odd sizes
        {4, 9, 11, 3, 3, 1, 1, 1, 1, 1},   // stride 1: windows overlap in both directions
        {2, 6, 7, 2, 2, 2, 3, 2, 1, 1},    // big pads: windows wholly in the padding (argmax −1)
        {3, 10, 9, 3, 3, 2, 1, 2, 2, 2},   // dilated
        {1, 1, 1, 1, 1, 1, 1, 0, 1, 1},    // one pixel
        {5, 13, 6, 5, 3, 3, 2, 1, 1, 1},   // windows wider than the stride, uneven sizes
    };
    int failures = 0, cases = 0;
    for (auto& c : cfgs) {
        const int nc = c[0], h = c[1], w = c[2], kh = c[3], kw = c[4], sh = c[5], sw = c[6], pad = c[7], dh = c[8], dw = c[9];
        const int outH = (h + 2 * pad - dh * (kh - 1) - 1) / sh + 1, outW = (w + 2 * pad - dw * (kw - 1) - 1) / sw + 1;
        std::uniform_int_distribution<int> small(-3, 3); // many equal values: the tie rule matters
        std::uniform_real_distribution<float> u(-2, 2);
        std::vector<float> x((size_t)nc * h * w), dy((size_t)nc * outH * outW), old((size_t)nc * h * w);
        for (auto& v : x) v = (float)small(rng);
        for (auto& v : dy) v = u(rng);
        for (auto& v : old) v = u(rng);
        std::vector<int> idx((size_t)nc * outH * outW, 12345);
        launchSerial((long long)idx.size(), [&] { maxpool2d_argmax(x.data(), idx.data(), nc, h, w, outH, outW, kh, kw, sh, sw, pad, pad, dh, dw); });
        for (int acc = 0; acc < 2; acc++) {
            std::vector<float> want = old, got = old;
            launchSerial((long long)x.size(), [&] { maxpool2d_backward(x.data(), dy.data(), want.data(), nc, h, w, outH, outW, kh, kw, sh, sw, pad, pad, dh, dw, acc); });
            launchSerial((long long)x.size(), [&] { maxpool2d_backward_argmax(idx.data(), dy.data(), got.data(), nc, h, w, outH, outW, kh, kw, sh, sw, pad, pad, dh, dw, acc); });
            size_t bad = 0;
            for (size_t i = 0; i < got.size(); i++) bad += std::memcmp(&got[i], &want[i], 4) != 0;
            cases++;
            if (bad) failures++;
            printf("%s maxpool backward nc=%d %dx%d k%dx%d s%dx%d p%d d%dx%d out %dx%d accumulate=%d: %zu of %zu floats differ\n",
                   bad ? "FAIL" : "ok  ", nc, h, w, kh, kw, sh, sw, pad, dh, dw, outH, outW, acc, bad, got.size());
        }
    }
    printf("maxpool emulator: %d cases, %d failing\n", cases, failures);
    return failures ? 1 : 0;
}
