// Host check of the int8 tensor-core convolution conv2d_int8_igemm_chain (kernels/conv2d_int8_igemm.cu) without a GPU:
// the real kernel source, built for the CPU through cuda_emu.h + int8_emu.h (cp.async, ldmatrix.x4, mma m16n8k32 s8,
// __shfl_down_sync emulated), against a plain host reference, compared BIT-EXACT.
//
// Build and run: native/igemm-emu/run-int8.sh [case index] [--tsan]   (g++ -std=c++20 -O2 -no-pie -ffp-contract=off)
// Prints one line per case and mode, then "int8 emulator: N cases OK" (exit 0) or "int8 emulator: FAIL ..." (exit 1).
//
// Operands are built as the device engine builds them (CudaIntegerModel.layer, CudaInt8Kernels.Geometry):
//   input codes q in [0, 255] with zero point zp, stored shifted (q ^ 0x80) NHWC with channel stride cP = cin rounded
//   up to 16, padded channels holding the shifted zero point; OIHW int8 weights packed by the real
//   kernels/int8_pack_weights.cu (grid coutP, block 128), whose output (wp, wsum) is checked too;
//   launch block 256, grid (ceil(M / 128), coutP / 128), M = n·outH·outW, coutP = cout rounded up to 128,
//   K = kh·kw·cP, kPadded = K rounded up to 64.
// Every case runs all 18 modes: resMode 0 (none) / 1 (float residual, stride cout) / 2 (shifted codes residual,
// stride cout rounded up to 16, own resScale/resZp) × outMode 0 (shifted codes, outStride = cout rounded up to 16) /
// 1 (float, outStride = cout) × act 0 (none) / 1 (ReLU) / 2 (clip [0, 6]). The output buffer (plus a guard tail) is
// poisoned with a position-dependent pattern first; every byte must equal the reference, so padded output channels
// c ≥ cout and the guard must still hold the poison.
// Reference: acc = Σ over taps inside the image and real channels (q − zp)·w (int64, then wrapped to int32);
// v = (long long)acc + bias; y = |v| ≤ 2^24 ? (float)v · scale : (float)((double)v · scale); + residual (float, or
// (float)(q_r − resZp) · resScale); activation; float output y, or q = clamp(clamp(rint(y / outScale), ±512) + outZp,
// 0, qmax) stored as q ^ 0x80. Channels with scale = outScale / 2 (power-of-two scales) and small weights make
// rint's ties-to-even matter; channels with |bias| > 2^24 take the double path.
#include "int8_emu.h"
#include "conv2d_int8_igemm.cu"
#include "int8_pack_weights.cu"
#include <algorithm>
#include <cstdio>
#include <random>
#include <string>

struct Case {
    const char* what;
    int n, cin, h, w, cout, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
    int zp, wRange, qmax;
};

static int roundUp(int v, int m) { return (v + m - 1) / m * m; }

static std::mt19937_64 rng(20240611);
static int randInt(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
static float randFloat(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng); }

// The poison of byte i of an output buffer: varies with the position so that a stray copy is unlikely to match.
static unsigned char poisonByte(size_t i) { return (unsigned char)(0xA5u ^ (unsigned)(i * 131u + (i >> 8))); }

// The requantization the kernels must reproduce, as a uint8 code: ActivationParams.quantize, clamp(rint(y / scale) +
// zp, 0, qmax), with the kernels' clamp of the rounded quotient to ±512 first (fmin/fmax: NaN → the other operand, as
// the device) and NaN giving the code of 0.
static int quantizeRef(float y, float scale, int zp, int qmax) {
    const float ratio = y / scale;
    float rr = std::rint(ratio);
    rr = std::min(std::max(rr, -512.f), 512.f);
    if (ratio != ratio) rr = 0.f;
    return std::min(std::max((int)rr + zp, 0), qmax);
}

int main(int argc, char** argv) {
    // The requantization step alone (i8_chain_code) against clamp(rint(y / scale) + zp) on 4 million values: random quotients up to ±1500, quotients a few ulps
    // either side of half-integers, exact half-integers, and NaN.
    {
        std::mt19937_64 r(20261126);
        std::uniform_real_distribution<float> qd(-1500.f, 1500.f), sd(1e-4f, 3.f);
        std::uniform_int_distribution<int> kd(-600, 600), nd(-8, 8);
        long long bad = 0, n = 0, nearTies = 0;
        for (int it = 0; it < 4000000; it++) {
            const float scale = sd(r);
            float y;
            switch (it % 4) {
                case 0: y = qd(r) * scale; break;
                case 1: { float h = (float)kd(r) + 0.5f; y = std::nextafter(h * scale, 0.f); for (int k = nd(r); k != 0; k -= k > 0 ? 1 : -1) y = std::nextafter(y, k > 0 ? 1e30f : -1e30f); nearTies++; break; }
                case 2: y = ((float)kd(r) + 0.5f) * scale; break;
                default: y = it % 1000 == 3 ? NAN : qd(r) * scale * 1e-3f; break;
            }
            const int zp = (int)(r() % 256), qmax = it % 7 == 0 ? 15 : 255;
            const signed char want = (signed char)(unsigned char)(quantizeRef(y, scale, zp, qmax) ^ 0x80);
            const signed char got = i8_chain_code(y, scale, zp, qmax);
            n++;
            if (got != want) { if (bad < 5) printf("  requantize mismatch: y %.9g scale %.9g: got %d want %d\n", y, scale, got, want); bad++; }
        }
        printf("%s requantize: %lld of %lld values differ (%lld within a few ulps of a half-integer)\n", bad ? "FAIL" : "ok  ", bad, n, nearTies);
        if (bad) { printf("int8 emulator: FAIL (requantization)\n"); return 1; }
    }
    // The lean kernels' requantization (i8_lean_quantize: clamp to ±1024·s, reciprocal and two FMA corrections, the
    // code bounds folded) against the same definition, on 16 million values: scales over 2^−60 … 2^60 (random, powers
    // of two and all-ones significands), quotients uniform up to ±1500, a few ulps either side of half-integers,
    // exact half-integers, tiny quotients and huge ones (|y / s| up to 2^100), code bounds narrowed as ReLU/clip do.
    {
        std::mt19937_64 r(20261127);
        std::uniform_real_distribution<float> qd(-1500.f, 1500.f), md(1.f, 2.f);
        std::uniform_int_distribution<int> kd(-600, 600), nd(-8, 8), ed(-60, 59);
        long long bad = 0, n = 0, nearTies = 0;
        for (int it = 0; it < 16000000; it++) {
            const int ex = ed(r);
            float scale = std::ldexp(md(r), ex);
            if (it % 16 == 5) scale = std::ldexp(1.f, ex);
            if (it % 16 == 9) scale = std::nextafter(std::ldexp(1.f, ex + 1), 0.f); // significand all ones
            float y;
            switch (it % 5) {
                case 0: y = qd(r) * scale; break;
                case 1: { float h = (float)kd(r) + 0.5f; y = std::nextafter(h * scale, 0.f); for (int k = nd(r); k != 0; k -= k > 0 ? 1 : -1) y = std::nextafter(y, k > 0 ? 1e30f : -1e30f); nearTies++; break; }
                case 2: y = ((float)kd(r) + 0.5f) * scale; break;
                case 3: y = qd(r) * scale * std::ldexp(1.f, -(int)(r() % 40)); break;
                default: y = std::ldexp(qd(r), (int)(r() % 100)) * (scale < 1e-10f ? 1.f : scale); break;
            }
            if (!std::isfinite(y)) continue;
            const int zp = (int)(r() % 256), qmax = it % 7 == 0 ? 15 : 255;
            auto quantize = [&](float v) { return quantizeRef(v, scale, zp, qmax); };
            int qLo = 0, qHi = qmax; // act 0; 1: ReLU; 2: clip [0, 6]
            if (it % 3 == 1) qLo = quantize(0.f);
            if (it % 3 == 2) { qLo = quantize(0.f); qHi = quantize(6.f); }
            const int want = std::min(std::max(quantize(y), qLo), qHi);
            const int got = i8_lean_quantize(y, 1024.f * scale, scale, 1.f / scale, qLo - zp, qHi - zp) + zp;
            n++;
            if (got != want) { if (bad < 5) printf("  lean requantize mismatch: y %.9g scale %.9g: got %d want %d\n", y, scale, got, want); bad++; }
        }
        printf("%s lean requantize: %lld of %lld values differ (%lld within a few ulps of a half-integer)\n", bad ? "FAIL" : "ok  ", bad, n, nearTies);
        if (bad) { printf("int8 emulator: FAIL (lean requantization)\n"); return 1; }
    }
    // The lean kernels' scaling step (i8_lean_scaled<WIDE = true>) against the definition, bit for bit, on 4 million
    // values over the whole int range (most beyond 2^24, where a float product would round differently) and near ±2^24.
    {
        std::mt19937_64 r(20261128);
        std::uniform_real_distribution<float> sd(1e-9f, 1e-2f);
        long long bad = 0, n = 0;
        for (int it = 0; it < 4000000; it++) {
            const int v = it % 3 == 0 ? (int)(uint32_t)r() : (int)(r() % 8193) - 4096 + (it % 3 == 1 ? (1 << 24) : -(1 << 24));
            const float sc = sd(r);
            const long long vl = v;
            const float want = vl >= -(1LL << 24) && vl <= (1LL << 24) ? (float)v * sc : (float)((double)v * (double)sc);
            const float got = i8_lean_scaled<true>(v, sc);
            n++;
            if (std::memcmp(&got, &want, 4) != 0) { if (bad < 5) printf("  lean scaling mismatch: v %d sc %.9g\n", v, sc); bad++; }
        }
        printf("%s lean scaling: %lld of %lld values differ\n", bad ? "FAIL" : "ok  ", bad, n);
        if (bad) { printf("int8 emulator: FAIL (lean scaling)\n"); return 1; }
    }

    // what, n, cin, h, w, cout, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, zp, wRange, qmax
    std::vector<Case> cases = {
        {"1x1/1, M 126, cout 40", 2, 32, 7, 9, 40, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 113, 128, 255},
        {"3x3/1 pad 1, cin 20, cout 136, M 130", 1, 20, 10, 13, 136, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 77, 128, 255},
        {"3x3/2 pad 1, cout 24", 3, 16, 11, 11, 24, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 140, 128, 255},
        {"7x7/2 pad 3, cin 3, cout 40", 1, 3, 20, 18, 40, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 0, 128, 255},
        {"3x3 dilation 2 pad 2, cin 8, cout 8, M 162", 2, 8, 9, 9, 8, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 255, 128, 255},
        {"3x2 stride 2x1, asymmetric pads, dilation 1x2, cin 37, cout 129", 1, 37, 9, 11, 129, 3, 2, 2, 1, 1, 0, 2, 1, 1, 2, 31, 128, 255},
        {"gemm as 1x1 on (3, 100, 1, 1), cout 10, qmax 15", 3, 100, 1, 1, 10, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 200, 128, 15},
        {"3x3/1 pad 1, full tiles M 256 cout 128", 1, 16, 16, 16, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 128, 128, 255},
        {"1x1/1 small weights (rint ties), cin 16, cout 16", 1, 16, 8, 8, 16, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 90, 1, 255},
        {"3x3/1 pad 1, full tiles M 256 cout 64", 1, 32, 16, 16, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 60, 128, 255},
    };
    int only = -1;
    if (argc > 1) only = atoi(argv[1]);

    int casesOk = 0, casesRun = 0;
    long long linesBad = 0;
    for (size_t ci = 0; ci < cases.size(); ci++) {
        if (only >= 0 && (int)ci != only) continue;
        const Case c = cases[ci];
        casesRun++;
        rng.seed(20240611 + ci); // per case: "run-int8.sh 3" sees the same data as the full run
        const int outH = (c.h + c.pt + c.pb - c.dh * (c.kh - 1) - 1) / c.sh + 1;
        const int outW = (c.w + c.pl + c.pr - c.dw * (c.kw - 1) - 1) / c.sw + 1;
        const int cP = roundUp(c.cin, 16), kTotal = c.kh * c.kw * cP, kPadded = roundUp(kTotal, 64);
        const int coutP = roundUp(c.cout, 128), coutP16 = roundUp(c.cout, 16);
        const long long M = (long long)c.n * outH * outW;
        const int kReal = c.kh * c.kw * c.cin;

        // Operands.
        std::vector<unsigned char> q((size_t)c.n * c.cin * c.h * c.w); // NCHW codes
        for (auto& v : q) v = (unsigned char)randInt(0, 255);
        std::vector<signed char> wt((size_t)c.cout * c.cin * c.kh * c.kw); // OIHW
        for (auto& v : wt) v = (signed char)randInt(-std::min(c.wRange, 128), std::min(c.wRange, 127));
        alignas(16) static signed char xh[1 << 20];
        const size_t xhBytes = (size_t)c.n * c.h * c.w * cP;
        for (int b = 0; b < c.n; b++) for (int y = 0; y < c.h; y++) for (int x = 0; x < c.w; x++) for (int ch = 0; ch < cP; ch++) {
            const unsigned code = ch < c.cin ? q[(((size_t)b * c.cin + ch) * c.h + y) * c.w + x] : (unsigned)c.zp;
            xh[(((size_t)b * c.h + y) * c.w + x) * cP + ch] = (signed char)(unsigned char)(code ^ 0x80u);
        }

        // Scales: y should land around [-12, 12] so that ReLU, clip [0, 6] and the codes' range all matter.
        const double sigma = std::sqrt((double)kReal) * 74.0 * std::max(1.0, std::min(c.wRange, 128) / 1.73);
        const float outScale = std::ldexp(1.0f, -4); // 1/16: codes cover y in [-8, 8) around outZp 128
        const int outZp = c.qmax == 255 ? 128 : c.qmax / 2;
        std::vector<int> bias(c.cout);
        std::vector<float> scale(c.cout);
        for (int co = 0; co < c.cout; co++) {
            if (co % 5 == 1) { // power-of-two scale outScale / 2: y / outScale = v / 2, ties for odd v
                scale[co] = outScale / 2;
                bias[co] = randInt(-300, 300);
            } else if (co % 7 == 3) { // |v| > 2^24: the double path
                bias[co] = (co & 8 ? -1 : 1) * randInt((1 << 24) + 1000, (1 << 24) + (1 << 22));
                scale[co] = (float)(randFloat(0.5f, 1.5f) * 6.0 / (1 << 24));
            } else {
                bias[co] = randInt(-(int)sigma, (int)sigma);
                scale[co] = (float)(randFloat(0.5f, 1.5f) * 6.0 / sigma);
            }
        }
        std::vector<float> resF((size_t)M * c.cout);
        for (auto& v : resF) v = randFloat(-4.f, 4.f);
        std::vector<signed char> resQ((size_t)M * coutP16);
        for (auto& v : resQ) v = (signed char)randInt(-128, 127);
        const float resScale = randFloat(0.01f, 0.05f);
        const int resZp = randInt(0, 255);

        // Pack the weights with the real kernel and check its output against the packing it documents.
        std::vector<signed char> wp((size_t)coutP * kPadded, (signed char)0x5b);
        std::vector<int> wsum(coutP, 0x5b5b5b5b);
        launch({(unsigned)coutP, 1, 1}, 128, [&] {
            int8_pack_weights(wt.data(), wp.data(), wsum.data(), c.cout, c.cin, c.kh, c.kw, cP, kTotal, kPadded);
        });
        bool packOk = g_i8Faults.exchange(0) == 0;
        for (int co = 0; co < coutP && packOk; co++) {
            int sum = 0;
            for (int k = 0; k < kPadded; k++) {
                int v = 0;
                if (co < c.cout && k < kTotal && k % cP < c.cin) {
                    const int rs = k / cP, ch = k % cP;
                    v = wt[(((size_t)co * c.cin + ch) * c.kh + rs / c.kw) * c.kw + rs % c.kw];
                }
                sum += v;
                if (wp[(size_t)co * kPadded + k] != v) packOk = false;
            }
            if (wsum[co] != sum) packOk = false;
        }
        if (!packOk) printf("FAIL case %zu: int8_pack_weights output differs from the documented packing\n", ci);

        // Reference accumulators (M, cout), the definition: padding taps skipped, real channels only.
        std::vector<int> acc((size_t)M * c.cout);
        for (int b = 0; b < c.n; b++) for (int oy = 0; oy < outH; oy++) for (int ox = 0; ox < outW; ox++) {
            const long long m = ((long long)b * outH + oy) * outW + ox;
            for (int co = 0; co < c.cout; co++) {
                long long s = 0;
                for (int ch = 0; ch < c.cin; ch++) for (int r = 0; r < c.kh; r++) for (int t = 0; t < c.kw; t++) {
                    const int iy = oy * c.sh - c.pt + r * c.dh, ix = ox * c.sw - c.pl + t * c.dw;
                    if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                    s += (long long)((int)q[(((size_t)b * c.cin + ch) * c.h + iy) * c.w + ix] - c.zp)
                         * wt[(((size_t)co * c.cin + ch) * c.kh + r) * c.kw + t];
                }
                acc[m * c.cout + co] = (int)(uint32_t)(uint64_t)s;
            }
        }

        const dim3e grid{(unsigned)((M + 127) / 128), (unsigned)(coutP / 128), 1};
        printf("case %zu: %s: N%d Cin%d %dx%d Cout%d k%dx%d s%d,%d p%d,%d,%d,%d d%d,%d -> %dx%d, zp %d, M %lld, K %d (%d), "
               "grid %ux%u\n", ci, c.what, c.n, c.cin, c.h, c.w, c.cout, c.kh, c.kw, c.sh, c.sw, c.pt, c.pl, c.pb, c.pr,
               c.dh, c.dw, outH, outW, c.zp, M, kTotal, kPadded, grid.x, grid.y);
        fflush(stdout);
        bool caseOk = packOk;
        const float lo = 0.f, hi = 6.f;
        // The lean kernels' operands, as CudaIntegerModel builds them: chan[c] = {bias[c] − (zp − 128)·Σw[c] (int32,
        // wrapping), scale bits}, zero-padded to coutP. Their narrow form (no double path) is only valid when
        // K·255·127 + max|bias| ≤ 2^24, so it runs with this case's bias where the large ones (the double path's test)
        // are replaced by small values; the wide form runs with the case's own bias.
        std::vector<int> biasSmall = bias;
        for (int co = 0; co < c.cout; co++) if (co % 7 == 3) biasSmall[co] = randInt(-300, 300);
        auto chanOf = [&](const std::vector<int>& b) {
            std::vector<int2> ch(coutP, make_int2(0, 0));
            for (int co = 0; co < c.cout; co++) {
                ch[co] = make_int2((int)((unsigned)b[co] - (unsigned)(c.zp - 128) * (unsigned)wsum[co]), __float_as_int(scale[co]));
            }
            return ch;
        };
        long long maxBiasSmall = 0;
        for (int co = 0; co < c.cout; co++) maxBiasSmall = std::max(maxBiasSmall, (long long)std::abs(biasSmall[co]));
        if ((long long)kReal * 255 * 127 + maxBiasSmall > (1LL << 24)) { printf("FAIL case %zu: too large for the narrow lean kernels\n", ci); caseOk = false; }
        const std::vector<int2> chanWide = chanOf(bias), chanNarrow = chanOf(biasSmall);
        auto quantizeOut = [&](float y) { return quantizeRef(y, outScale, outZp, c.qmax); };
        // Kernels: 0 chain, 1 chain64 (cout ≤ 64), 2 lean (wide), 3 lean (narrow), 4 lean64 (wide), 5 lean64 (narrow),
        // 6 lean_f (wide), 7 lean_f (narrow). The lean kernels 2-5 have codes out, lean_f float out without a residual.
        static const char* kernelNames[] = {"chain", "chain64", "lean_wide", "lean", "lean64_wide", "lean64", "lean_f_wide", "lean_f"};
        for (int kernel = 0; kernel < 8; kernel++)
        for (int resMode = 0; resMode < 3; resMode++) for (int outMode = 0; outMode < 2; outMode++) for (int act = 0; act < 3; act++) {
            const bool lean = kernel >= 2, leanF = kernel >= 6, narrow = kernel == 1 || kernel == 4 || kernel == 5;
            const bool wide = kernel == 2 || kernel == 4 || kernel == 6;
            if (narrow && c.cout > 64) continue;
            if (lean && !leanF && outMode == 1) continue;
            if (leanF && (outMode == 0 || resMode != 0)) continue;
            const std::vector<int>& bs = lean && !wide ? biasSmall : bias;
            const int resStride = resMode == 0 ? 0 : resMode == 1 ? c.cout : coutP16;
            const void* residual = resMode == 0 ? nullptr : resMode == 1 ? (const void*)resF.data() : (const void*)resQ.data();
            const int outStride = outMode == 1 ? c.cout : coutP16;
            const size_t outBytes = (size_t)M * outStride * (outMode == 1 ? 4 : 1), guard = 256;
            std::vector<unsigned char> expect(outBytes + guard);
            for (size_t i = 0; i < expect.size(); i++) expect[i] = poisonByte(i);
            alignas(16) static unsigned char out[1 << 22];
            std::memcpy(out, expect.data(), expect.size());
            // Expected bytes.
            long long ties = 0, dbl = 0, inside = 0;
            for (long long m = 0; m < M; m++) for (int co = 0; co < c.cout; co++) {
                const int a = acc[m * c.cout + co];
                const long long v = (long long)a + bs[co];
                float y;
                if (v >= -(1LL << 24) && v <= (1LL << 24)) {
                    y = (float)v * scale[co];
                } else {
                    y = (float)((double)v * (double)scale[co]);
                    dbl++;
                }
                if (resMode == 1) y = y + resF[m * c.cout + co];
                if (resMode == 2) {
                    const int qr = (int)((unsigned char)resQ[m * coutP16 + co] ^ 0x80u);
                    y = y + (float)(qr - resZp) * resScale;
                }
                if (act == 1) y = y > 0.f ? y : 0.f;
                if (act == 2) y = std::min(std::max(y, lo), hi);
                if (outMode == 1) {
                    std::memcpy(&expect[(m * outStride + co) * 4], &y, 4);
                } else {
                    const float ratio = y / outScale;
                    const int qo = quantizeOut(y);
                    if (ratio - std::floor(ratio) == 0.5f && qo > 0 && qo < c.qmax) ties++; // a tie that shows
                    if (qo > 0 && qo < c.qmax) inside++;
                    expect[m * outStride + co] = (unsigned char)(qo ^ 0x80);
                }
            }
            const dim3e g = narrow ? dim3e{grid.x, 1, 1} : grid;
            if (!lean) {
                launch(g, 256, [&] {
                    (narrow ? conv2d_int8_igemm_chain64 : conv2d_int8_igemm_chain)(
                        xh, wp.data(), wsum.data(), bias.data(), scale.data(), residual, resMode, resStride, resScale, resZp,
                        out, outMode, outStride, c.n, c.h, c.w, cP, c.cout, outH, outW, c.kw, c.sh, c.sw, c.pt, c.pl, c.dh,
                        c.dw, kTotal, kPadded, c.zp, act, lo, hi, outScale, outZp, c.qmax);
                });
            } else {
                const int qLo = act == 0 ? 0 : quantizeOut(act == 1 ? 0.f : lo), qHi = act == 2 ? quantizeOut(hi) : c.qmax;
                using LeanFn = decltype(&conv2d_int8_igemm_lean);
                static const LeanFn fns[2][3][2] = { // [narrow][resMode][wide]
                    {{conv2d_int8_igemm_lean, conv2d_int8_igemm_lean_wide},
                     {conv2d_int8_igemm_lean_resf, conv2d_int8_igemm_lean_resf_wide},
                     {conv2d_int8_igemm_lean_res, conv2d_int8_igemm_lean_res_wide}},
                    {{conv2d_int8_igemm_lean64, conv2d_int8_igemm_lean64_wide},
                     {conv2d_int8_igemm_lean64_resf, conv2d_int8_igemm_lean64_resf_wide},
                     {conv2d_int8_igemm_lean64_res, conv2d_int8_igemm_lean64_res_wide}}};
                const LeanFn fn = leanF ? (wide ? conv2d_int8_igemm_lean_f_wide : conv2d_int8_igemm_lean_f)
                                        : fns[narrow][resMode][wide];
                const std::vector<int2>& ch = wide ? chanWide : chanNarrow;
                launch(g, 256, [&] {
                    fn(xh, wp.data(), ch.data(), residual, resStride, resScale, resZp, out, outStride, c.n, c.h, c.w,
                       cP, c.cout, outH, outW, c.kw, c.sh, c.sw, c.pt, c.pl, c.dh, c.dw, kTotal, kPadded, c.zp, outScale,
                       1.f / outScale, 1024.f * outScale, qLo - outZp, qHi - outZp, outZp - 128, act, lo, hi);
                });
            }
            const long long faults = g_i8Faults.exchange(0);
            size_t bad = 0, first = 0;
            for (size_t i = 0; i < expect.size(); i++) if (out[i] != expect[i]) { if (!bad) first = i; bad++; }
            const bool ok = bad == 0 && faults == 0;
            printf("  %s %s res %d out %s act %d: %zu of %zu bytes differ%s", ok ? "ok  " : "FAIL", kernelNames[kernel], resMode,
                   outMode ? "float" : "codes", act, bad, expect.size(), faults ? " (alignment faults)" : "");
            if (bad) {
                const size_t elem = outMode ? 4 : 1, e = first / elem;
                printf(", first at byte %zu (m %zu, c %zu%s)", first, e / outStride, e % outStride,
                       first >= outBytes ? ", guard" : "");
            }
            if (outMode == 0) printf(" [%lld of %lld codes in (0, qmax), %lld of them ties]", inside, M * c.cout, ties);
            printf(" [%lld double-path outputs]\n", dbl);
            fflush(stdout);
            if (!ok) { caseOk = false; linesBad++; }
        }
        if (caseOk) casesOk++;
    }
    if (casesOk == casesRun) {
        printf("int8 emulator: %d cases OK\n", casesOk);
        return 0;
    }
    printf("int8 emulator: FAIL (%d of %d cases failed, %lld mode lines)\n", casesRun - casesOk, casesRun, linesBad);
    return 1;
}
