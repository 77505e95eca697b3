// Host check of kernels/int8_im2col_nhwc.cu without a GPU: the real kernel source, built for the CPU through
// cuda_emu.h, against a straightforward reference of its contract (CudaIntegerModel's im2col path for few-channel
// convs): for every output pixel (b, oy, ox) of the conv, row[k] for k = (r·kw + s)·C + c is the shifted code
// (q ^ 0x80) of x[b, c, oy·sh − padTop + r·dh, ox·sw − padLeft + s·dw], the shifted zero point where that falls in
// the padding and for k in [kh·kw·C, k2P), k2P = kh·kw·C rounded up to 16.
// The kernel is elementwise with a grid-stride loop, so one OS thread runs every (block, thread) in turn; each case
// runs under three launch shapes (one thread; 3 blocks of 32, so each thread takes many chunks; the host's grid of
// CudaIntegerModel, blocks of 256). The output is poisoned first (every byte must be written), and the input's padded
// channels c in [C, cP) hold a byte the zero point never shifts to (they must never be read).
// Usage: native/igemm-emu/run.sh im2col
#include "cuda_emu.h"
#include "int8_im2col_nhwc.cu"
#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

struct Case { int n, c, h, w, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw; };

static int runCase(const Case& k, int zp, std::mt19937_64& rng) {
    const int outH = (k.h + k.pt + k.pb - k.dh * (k.kh - 1) - 1) / k.sh + 1;
    const int outW = (k.w + k.pl + k.pr - k.dw * (k.kw - 1) - 1) / k.sw + 1;
    const int cP = (k.c + 15) / 16 * 16, kc = k.kh * k.kw * k.c, k2P = (kc + 15) / 16 * 16;
    const unsigned char padCode = (unsigned char)(zp ^ 0x80);
    const unsigned char garbage = (unsigned char)(padCode ^ 0x5A); // padded channels: never the shifted zero point
    std::uniform_int_distribution<int> u(0, 255);
    std::vector<int> q((size_t)k.n * k.c * k.h * k.w); // uint8 codes, NCHW
    for (auto& v : q) v = u(rng);
    std::vector<signed char> x((size_t)k.n * k.h * k.w * cP);
    for (int b = 0; b < k.n; b++)
        for (int y = 0; y < k.h; y++)
            for (int xx = 0; xx < k.w; xx++)
                for (int c = 0; c < cP; c++) {
                    const unsigned char v = c < k.c ? (unsigned char)(q[((size_t)(b * k.c + c) * k.h + y) * k.w + xx] ^ 0x80)
                                                    : garbage;
                    x[(((size_t)b * k.h + y) * k.w + xx) * cP + c] = (signed char)v;
                }
    const size_t rows = (size_t)k.n * outH * outW;
    std::vector<signed char> ref(rows * k2P);
    for (int b = 0; b < k.n; b++)
        for (int oy = 0; oy < outH; oy++)
            for (int ox = 0; ox < outW; ox++)
                for (int r = 0; r < k.kh; r++)
                    for (int s = 0; s < k.kw; s++)
                        for (int c = 0; c < k.c; c++) {
                            const int iy = oy * k.sh - k.pt + r * k.dh, ix = ox * k.sw - k.pl + s * k.dw;
                            const bool in = iy >= 0 && iy < k.h && ix >= 0 && ix < k.w;
                            const unsigned char v = in ? (unsigned char)(q[((size_t)(b * k.c + c) * k.h + iy) * k.w + ix] ^ 0x80)
                                                       : padCode;
                            ref[(((size_t)b * outH + oy) * outW + ox) * k2P + (r * k.kw + s) * k.c + c] = (signed char)v;
                        }
    for (size_t row = 0; row < rows; row++)
        for (int kk = kc; kk < k2P; kk++) ref[row * k2P + kk] = (signed char)padCode;

    const long long chunks = (long long)rows * (k2P / 16);
    const unsigned hostBlocks = (unsigned)std::max(1LL, std::min(65535LL, (chunks + 255) / 256));
    const struct { unsigned blocks, threads; } shapes[] = {{1, 1}, {3, 32}, {hostBlocks, 256}};
    int failures = 0;
    for (auto sh : shapes) {
        std::vector<signed char> out(rows * k2P, (signed char)0xA5);
        gridDim = {sh.blocks, 1, 1};
        blockDim = {sh.threads, 1, 1};
        for (unsigned bx = 0; bx < sh.blocks; bx++)
            for (unsigned t = 0; t < sh.threads; t++) {
                blockIdx = {bx, 0, 0};
                threadIdx = {t, 0, 0};
                int8_im2col_nhwc(x.data(), out.data(), k.n, k.h, k.w, k.c, cP, outH, outW, k.kh, k.kw, k.sh, k.sw, k.pt,
                                 k.pl, k.dh, k.dw, k2P, zp);
            }
        size_t bad = 0, first = 0;
        for (size_t i = 0; i < out.size(); i++)
            if (out[i] != ref[i]) { if (!bad) first = i; bad++; }
        std::printf("%s n%d c%d %dx%d k%dx%d s%d,%d p%d,%d,%d,%d d%d,%d zp%d -> %dx%d K %d/%d, grid %u x %u: %zu bad of %zu",
                    bad ? "FAIL" : "ok  ", k.n, k.c, k.h, k.w, k.kh, k.kw, k.sh, k.sw, k.pt, k.pl, k.pb, k.pr, k.dh, k.dw,
                    zp, outH, outW, kc, k2P, sh.blocks, sh.threads, bad, out.size());
        if (bad) std::printf(" (first at row %zu k %zu: got %d want %d)", first / k2P, first % k2P, (int)out[first], (int)ref[first]);
        std::printf("\n");
        failures += bad != 0;
    }
    return failures;
}

int main() {
    std::mt19937_64 rng(2024);
    const Case cases[] = {
        {2, 3, 23, 17, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1},  // ResNet stem: 7×7/2 pad 3, C = 3 (K 147 → 160)
        {2, 1, 28, 28, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},  // resnet_fmnist stem: C = 1 (K 9 → 16)
        {2, 1, 13, 11, 3, 3, 2, 1, 0, 2, 3, 1, 2, 2},  // dilation 2, asymmetric pads, stride (2, 1)
        {2, 3, 9, 10, 5, 3, 1, 2, 2, 0, 1, 4, 1, 2},   // rectangular kernel, asymmetric pads, dilation (1, 2)
        {2, 3, 6, 7, 1, 3, 3, 2, 0, 1, 0, 1, 1, 1},    // 1×3, stride 3 × 2
        {1, 1, 8, 8, 4, 4, 2, 2, 1, 1, 2, 2, 1, 1},    // K = 16 exactly: no tail
        {2, 5, 7, 6, 3, 3, 1, 1, 4, 4, 4, 4, 1, 1},    // pads larger than the kernel: rows wholly in the padding
        {2, 17, 5, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},   // cP = 32 > C = 17
        {2, 3, 5, 4, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1},    // no padding at all
    };
    int failures = 0;
    for (const Case& k : cases) {
        for (int zp : {0, 128, 201}) failures += runCase(k, zp, rng);
    }
    std::printf("%s: %d failing runs\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
