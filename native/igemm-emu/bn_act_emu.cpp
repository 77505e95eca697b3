// Host check of batchnorm_activation.cu and activation_batchnorm_backward.cu without a GPU: each fused kernel against
// the kernel pair it replaces (batchnorm_inference then activation; activation_backward on the BatchNorm's output then
// batchnorm_backward), bit for bit, for relu and clip (the fused backward's ops) and, forward only, every other op;
// inputs include NaN and ±0, the backward's BatchNorm outputs exactly at the clip bounds and their neighbours, ±0, ±∞, NaN
// and subnormals; both accumulate modes.
// Compiled without FP contraction: the host's float arithmetic is IEEE binary32, as the kernels' without fast math.
// Usage: native/igemm-emu/run.sh bnact
#include "int8_emu.h"
#include <math.h>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "batchnorm_inference.cu"
#include "activation.cu"
#include "activation_backward.cu"
#include "batchnorm_backward.cu"
#include "batchnorm_activation.cu"
#include "activation_batchnorm_backward.cu"

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
        std::vector<float> scale(c), bias(c), mean(c), var(c), inv(c), k(c);
        const float eps = 1e-5f;
        for (int ch = 0; ch < c; ch++) {
            scale[ch] = 1.f + 0.3f * g(rng);
            bias[ch] = 0.5f * g(rng);
            mean[ch] = 0.5f * g(rng);
            var[ch] = std::fabs(g(rng)) + 0.1f;
            inv[ch] = 1.0f / sqrtf(var[ch] + eps);     // what CudaDistiller computes on the host
            k[ch] = (float)(scale[ch] / std::sqrt((double)var[ch] + eps)); // as Gradients.batchNormBackward
        }
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
                launchSerial(total, [&] { batchnorm_backward(dy.data(), k.data(), want.data(), total, c, hw, acc); });
                launchSerial(total, [&] { activation_batchnorm_backward(zb.data(), dz.data(), k.data(), got.data(), total, c, hw, op, a, b, acc); });
                bad = differing(want, got);
                cases++;
                if (bad) failures++;
                printf("%s activation_batchnorm_backward n=%d c=%d hw=%d op=%d a=%g b=%g accumulate=%d: %zu of %d floats differ\n",
                       bad ? "FAIL" : "ok  ", n, c, hw, op, a, b, acc, bad, total);
            }
        }
    }
    printf("bn+activation emulator: %d cases, %d failing\n", cases, failures);
    return failures ? 1 : 0;
}
