// Host check of the device-resident distillation's fused kernels without a GPU, each against the kernels it replaces,
// bit for bit: batchnorm_activation (batchnorm_inference then activation), activation_batchnorm_backward
// (activation_backward on the BatchNorm's output then batchnorm_backward), add_activation (binary_same's add then
// activation), activation_add_backward (activation_backward on the sum then binary_backward_same for each side),
// batchnorm_add_activation (batchnorm_inference then add_activation) and activation_add_batchnorm_backward
// (activation_add_backward then batchnorm_backward);
// for relu and clip (the fused backwards' ops) and, BatchNorm forward only, every other op;
// inputs include NaN and ±0, the backward's BatchNorm outputs exactly at the clip bounds and their neighbours, ±0, ±∞, NaN
// and subnormals; both accumulate modes.
// Compiled without FP contraction: the host's float arithmetic is IEEE binary32, as the kernels' without fast math.
// Usage: native/igemm-emu/run.sh fused
#include "int8_emu.h"
#include <math.h>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

// fmaxf/fminf of +0 and −0 may give either zero in C (glibc, and g++'s inlined maxss, choose by context), so one
// expression could round two ways here and compare unequal with itself. The kernels' fmaxf/fminf are one instruction
// each on the device; model them with one fixed rule, IEEE 754-2019's (−0 < +0, a NaN operand yields the other).
static inline float zq_emu_fmaxf(float x, float y) {
    if (std::isnan(x)) return y;
    if (std::isnan(y)) return x;
    if (x == 0.f && y == 0.f) return std::signbit(x) ? y : x;
    return x > y ? x : y;
}
static inline float zq_emu_fminf(float x, float y) {
    if (std::isnan(x)) return y;
    if (std::isnan(y)) return x;
    if (x == 0.f && y == 0.f) return std::signbit(x) ? x : y;
    return x < y ? x : y;
}
#define fmaxf zq_emu_fmaxf
#define fminf zq_emu_fminf

#include "batchnorm_inference.cu"
#include "activation.cu"
#include "activation_backward.cu"
#include "batchnorm_backward.cu"
#include "batchnorm_activation.cu"
#include "activation_batchnorm_backward.cu"
#include "binary_same.cu"
#include "binary_backward_same.cu"
#include "add_activation.cu"
#include "activation_add_backward.cu"
#include "batchnorm_add_activation.cu"
#include "activation_add_batchnorm_backward.cu"

// A BatchNorm's parameters, with the two per-channel tables the host makes for the fused kernels: inv as CudaDistiller
// computes it, k as Gradients.batchNormBackward.
struct Bn { std::vector<float> scale, bias, mean, var, inv, k; };
static Bn randomBn(int c, float eps, std::mt19937_64& rng) {
    std::normal_distribution<float> g(0.f, 2.f);
    Bn b{std::vector<float>(c), std::vector<float>(c), std::vector<float>(c), std::vector<float>(c), std::vector<float>(c),
         std::vector<float>(c)};
    for (int ch = 0; ch < c; ch++) {
        b.scale[ch] = 1.f + 0.3f * g(rng);
        b.bias[ch] = 0.5f * g(rng);
        b.mean[ch] = 0.5f * g(rng);
        b.var[ch] = std::fabs(g(rng)) + 0.1f;
        b.inv[ch] = 1.0f / sqrtf(b.var[ch] + eps);
        b.k[ch] = (float)(b.scale[ch] / std::sqrt((double)b.var[ch] + eps));
    }
    return b;
}

static size_t differing(const std::vector<float>& a, const std::vector<float>& b) {
    size_t bad = 0;
    for (size_t i = 0; i < a.size(); i++) bad += std::memcmp(&a[i], &b[i], 4) != 0;
    return bad;
}

int main() {
    std::mt19937_64 rng(23);
    // n, c, hw
    const int shapes[][3] = {{2, 3, 49}, {1, 5, 7}, {3, 4, 1}, {2, 16, 300}};
    // op, a, b (activation_ops.cuh)
    const float ops[][3] = {{0, 0, 0}, {1, 0, 6}, {1, -0.5f, 0.25f}, {2, 0.1f, 0}, {3, 0, 0}, {4, 0.2f, 0.5f}, {5, 0, 0}};
    int failures = 0, cases = 0;
    for (auto& sh : shapes) {
        const int n = sh[0], c = sh[1], hw = sh[2], total = n * c * hw;
        std::normal_distribution<float> g(0.f, 2.f);
        const float eps = 1e-5f;
        const Bn bn = randomBn(c, eps, rng);
        const std::vector<float>&scale = bn.scale, &bias = bn.bias, &mean = bn.mean, &var = bn.var, &inv = bn.inv, &k = bn.k;
        std::vector<float> x(total), dz(total), old(total);
        for (int i = 0; i < total; i++) {
            const int ch = (i / hw) % c;
            switch (i % 11) {
                case 0: x[i] = mean[ch]; break;                       // BatchNorm output = bias
                case 1: x[i] = std::numeric_limits<float>::quiet_NaN(); break;
                case 2: x[i] = -0.0f; break;
                case 3: x[i] = mean[ch] - bias[ch] / (scale[ch] * inv[ch]); break; // output near 0
                default: x[i] = g(rng);
            }
            dz[i] = g(rng);
            old[i] = g(rng);
        }
        for (auto& o : ops) {
            const int op = (int)o[0];
            const float a = o[1], b = o[2];
            // Forward: the pair, then the fused kernel.
            std::vector<float> y(total), zPair(total), zFused(total, 12345.f);
            launchSerial(total, [&] { batchnorm_inference(x.data(), scale.data(), bias.data(), mean.data(), var.data(), eps, y.data(), total, c, hw); });
            launchSerial(total, [&] { activation(y.data(), zPair.data(), total, op, a, b); });
            launchSerial(total, [&] { batchnorm_activation(x.data(), scale.data(), bias.data(), mean.data(), inv.data(), zFused.data(), total, c, hw, op, a, b); });
            size_t bad = differing(zPair, zFused);
            cases++;
            if (bad) failures++;
            printf("%s batchnorm_activation n=%d c=%d hw=%d op=%d a=%g b=%g: %zu of %d floats differ\n", bad ? "FAIL" : "ok  ",
                   n, c, hw, op, a, b, bad, total);
            if (op > 1) continue; // the fused backward reads f' off the output: relu and clip only
            // Backward from BatchNorm outputs with the edge cases planted: exactly the bounds and their neighbours,
            // ±0, ±infinity, NaN, subnormals.
            const float inf = std::numeric_limits<float>::infinity();
            const float specials[] = {a, b, std::nextafter(a, -inf), std::nextafter(a, inf), std::nextafter(b, -inf),
                                      std::nextafter(b, inf), 0.f, -0.f, inf, -inf, std::numeric_limits<float>::quiet_NaN(),
                                      1e-40f, -1e-40f};
            std::vector<float> yb = y, zb(total);
            for (int i = 0; i < total; i += 3) yb[i] = specials[(i / 3) % 13];
            launchSerial(total, [&] { activation(yb.data(), zb.data(), total, op, a, b); });
            for (int acc = 0; acc < 2; acc++) {
                std::vector<float> dy(total), want = old, got = old;
                launchSerial(total, [&] { activation_backward(yb.data(), dz.data(), dy.data(), total, op, a, b, 0); });
                launchSerial(total, [&] { batchnorm_backward(dy.data(), k.data(), want.data(), total, c, hw, acc, nullptr, nullptr); });
                launchSerial(total, [&] { activation_batchnorm_backward(zb.data(), dz.data(), k.data(), got.data(), total, c, hw, op, a, b, acc, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr); });
                bad = differing(want, got);
                cases++;
                if (bad) failures++;
                printf("%s activation_batchnorm_backward n=%d c=%d hw=%d op=%d a=%g b=%g accumulate=%d: %zu of %d floats differ\n",
                       bad ? "FAIL" : "ok  ", n, c, hw, op, a, b, acc, bad, total);
            }
        }
    }
    // Add + activation: sizes with and without a tail of n mod 4, both sides' accumulate modes.
    for (int n : {4096, 37, 3, 1}) {
        std::normal_distribution<float> g(0.f, 2.f);
        std::vector<float> a(n), b(n), dz(n), oldA(n), oldB(n);
        for (int i = 0; i < n; i++) {
            a[i] = g(rng);
            b[i] = i % 7 == 0 ? -a[i] : g(rng); // sums of exactly 0 (relu's kink)
            dz[i] = g(rng);
            oldA[i] = g(rng);
            oldB[i] = g(rng);
        }
        if (n > 4) { a[1] = std::numeric_limits<float>::quiet_NaN(); a[2] = -0.f; b[2] = -0.f; a[3] = 6.f; b[3] = 0.f; }
        for (auto& o : ops) {
            const int op = (int)o[0];
            const float lo = o[1], hi = o[2];
            if (op > 1) continue;
            std::vector<float> s(n), zPair(n), zFused(n, 12345.f);
            launchSerial((n + 3) / 4, [&] { binary_same(a.data(), b.data(), s.data(), n, 0); });
            launchSerial(n, [&] { activation(s.data(), zPair.data(), n, op, lo, hi); });
            launchSerial((n + 3) / 4, [&] { add_activation(a.data(), b.data(), zFused.data(), n, op, lo, hi); });
            size_t bad = differing(zPair, zFused);
            cases++;
            if (bad) failures++;
            printf("%s add_activation n=%d op=%d a=%g b=%g: %zu of %d floats differ\n", bad ? "FAIL" : "ok  ", n, op, lo, hi,
                   bad, n);
            for (int acc = 0; acc < 4; acc++) {
                const int accA = acc & 1, accB = acc >> 1;
                std::vector<float> ds(n), wantA = oldA, wantB = oldB, gotA = oldA, gotB = oldB;
                launchSerial(n, [&] { activation_backward(s.data(), dz.data(), ds.data(), n, op, lo, hi, 0); });
                launchSerial((n + 3) / 4, [&] { binary_backward_same(ds.data(), nullptr, nullptr, wantA.data(), n, 0, 0, accA); });
                launchSerial((n + 3) / 4, [&] { binary_backward_same(ds.data(), nullptr, nullptr, wantB.data(), n, 0, 1, accB); });
                launchSerial((n + 3) / 4, [&] { activation_add_backward(zPair.data(), dz.data(), gotA.data(), gotB.data(), n, op, lo, hi, accA, accB); });
                bad = differing(wantA, gotA) + differing(wantB, gotB);
                cases++;
                if (bad) failures++;
                printf("%s activation_add_backward n=%d op=%d a=%g b=%g accumulate=%d,%d: %zu of %d floats differ\n",
                       bad ? "FAIL" : "ok  ", n, op, lo, hi, accA, accB, bad, 2 * n);
            }
        }
    }
    // BatchNorm + Add + activation (a bottleneck's end): shapes with one or many planes, both accumulate modes per side.
    for (auto& sh : shapes) {
        const int n = sh[0], c = sh[1], hw = sh[2], total = n * c * hw;
        const float eps = 1e-5f;
        const Bn bn = randomBn(c, eps, rng);
        std::normal_distribution<float> g(0.f, 2.f);
        std::vector<float> x(total), other(total), dz(total), oldO(total), oldX(total);
        for (int i = 0; i < total; i++) {
            x[i] = i % 13 == 1 ? std::numeric_limits<float>::quiet_NaN() : g(rng);
            other[i] = g(rng);
            dz[i] = g(rng);
            oldO[i] = g(rng);
            oldX[i] = g(rng);
        }
        std::vector<float> y(total);
        launchSerial(total, [&] { batchnorm_inference(x.data(), bn.scale.data(), bn.bias.data(), bn.mean.data(), bn.var.data(), eps, y.data(), total, c, hw); });
        for (int i = 0; i < total; i += 7) other[i] = -y[i]; // sums of exactly 0
        for (auto& o : ops) {
            const int op = (int)o[0];
            const float lo = o[1], hi = o[2];
            if (op > 1) continue;
            std::vector<float> zPair(total), zFused(total, 12345.f);
            launchSerial((total + 3) / 4, [&] { add_activation(y.data(), other.data(), zPair.data(), total, op, lo, hi); });
            launchSerial(total, [&] { batchnorm_add_activation(x.data(), bn.scale.data(), bn.bias.data(), bn.mean.data(), bn.inv.data(), other.data(), zFused.data(), total, c, hw, op, lo, hi); });
            size_t bad = differing(zPair, zFused);
            cases++;
            if (bad) failures++;
            printf("%s batchnorm_add_activation n=%d c=%d hw=%d op=%d a=%g b=%g: %zu of %d floats differ\n", bad ? "FAIL" : "ok  ",
                   n, c, hw, op, lo, hi, bad, total);
            for (int acc = 0; acc < 4; acc++) {
                const int accO = acc & 1, accX = acc >> 1;
                std::vector<float> dy(total), wantO = oldO, wantX = oldX, gotO = oldO, gotX = oldX;
                launchSerial((total + 3) / 4, [&] { activation_add_backward(zPair.data(), dz.data(), dy.data(), wantO.data(), total, op, lo, hi, 0, accO); });
                launchSerial(total, [&] { batchnorm_backward(dy.data(), bn.k.data(), wantX.data(), total, c, hw, accX, nullptr, nullptr); });
                launchSerial(total, [&] { activation_add_batchnorm_backward(zPair.data(), dz.data(), bn.k.data(), gotO.data(), gotX.data(), total, c, hw, op, lo, hi, accO, accX, nullptr, nullptr); });
                bad = differing(wantO, gotO) + differing(wantX, gotX);
                cases++;
                if (bad) failures++;
                printf("%s activation_add_batchnorm_backward n=%d c=%d hw=%d op=%d a=%g b=%g accumulate=%d,%d: %zu of %d floats differ\n",
                       bad ? "FAIL" : "ok  ", n, c, hw, op, lo, hi, accO, accX, bad, 2 * total);
            }
        }
    }
    printf("fused-kernel emulator: %d cases, %d failing\n", cases, failures);
    return failures ? 1 : 0;
}
