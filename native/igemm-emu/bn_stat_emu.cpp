// Host check of the BatchNorm-statistics kernels without a GPU. First bn_stat_loss_warp.cu: the warp-per-plane loss against the
// block-per-plane bn_stat_loss.cu (GPU-verified) and against a plain double reference of the formula, over plane sizes
// from 1 to BNSTAT_WARP_MAX_HW, plane counts that leave warps of the last block idle, and both accumulate modes.
// The two kernels sum in different orders, so their doubles may differ in the last bits: partials are compared to
// 1e-13 relative, gradients to one float ulp (almost all are identical; the count is printed).
// Each block runs 256 OS threads (cuda_emu.h's launch), warps synchronize through their per-warp barriers.
// Deferred gradients (bn_stat.cuh): both kernels' coefficients, then bn_stat_apply, give the block kernel's gradient
// bit for bit in both accumulate modes; and batchnorm_backward adding the term itself gives what storing the gradient
// and then adding the BatchNorm's gives. bn_stat_batchnorm_activation(_warp): the statistics kernels' partials and
// coefficients and batchnorm_activation's / batchnorm_add_activation's outputs, bit for bit, in one pass.
// Usage: native/igemm-emu/run.sh bnstat
#include "int8_emu.h"
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "bn_stat_loss.cu"
#include "bn_stat_loss_warp.cu"
#include "bn_stat_apply.cu"
#include "batchnorm_backward.cu"
#include "batchnorm_activation.cu"
#include "batchnorm_add_activation.cu"
#include "bn_stat_batchnorm_activation.cu"
#include "bn_stat_batchnorm_activation_warp.cu"

static int32_t ordered(float f) { // float bits as an integer that orders like the float (ulp distance = difference)
    int32_t i;
    std::memcpy(&i, &f, 4);
    return i < 0 ? INT32_MIN - i : i;
}

int main() {
    std::mt19937_64 rng(17);
    // n, c, hw
    const int cfgs[][3] = {
        {2, 3, 49},    // 7×7, 6 planes: one block, two warps idle
        {3, 5, 196},   // 14×14, 15 planes: second block partly idle
        {2, 4, 784},   // 28×28
        {1, 9, 1024},  // the largest plane the warp kernel takes
        {4, 3, 1},     // HW = 1: no variance term
        {2, 2, 2},     // HW = 2
        {3, 3, 33},    // one more than a warp
        {1, 17, 31},   // one less than a warp, 17 planes
    };
    const float eps = 1e-6f;
    int failures = 0, cases = 0;
    for (auto& cfg : cfgs) {
        const int n = cfg[0], c = cfg[1], hw = cfg[2], planes = n * c;
        std::normal_distribution<float> g(0.3f, 1.7f);
        std::uniform_real_distribution<float> u(0.2f, 2.0f);
        std::vector<float> x((size_t)planes * hw), mu(c), sigma(c), old((size_t)planes * hw);
        for (auto& v : x) v = g(rng);
        for (auto& v : mu) v = g(rng);
        for (auto& v : sigma) v = u(rng);
        for (auto& v : old) v = g(rng);
        for (int acc = 0; acc < 2; acc++) {
            std::vector<float> dxBlock = old, dxWarp = old;
            std::vector<double> pBlock(planes, -1.0), pWarp(planes, -1.0);
            launch({(unsigned)planes, 1, 1}, 256, [&] {
                bn_stat_loss(x.data(), mu.data(), sigma.data(), dxBlock.data(), pBlock.data(), n, c, hw, eps, acc, nullptr);
            });
            launch({(unsigned)((planes + 7) / 8), 1, 1}, 256, [&] {
                bn_stat_loss_warp(x.data(), mu.data(), sigma.data(), dxWarp.data(), pWarp.data(), n, c, hw, eps, acc, nullptr);
            });
            double worstPartial = 0, worstRef = 0;
            int maxUlp = 0;
            size_t differ = 0;
            for (int pl = 0; pl < planes; pl++) {
                // The formula in plain double, sequential sums (the Java reference's definition).
                const float* xp = &x[(size_t)pl * hw];
                double sum = 0, sq = 0;
                for (int i = 0; i < hw; i++) { sum += xp[i]; sq += (double)xp[i] * xp[i]; }
                const double m = sum / hw;
                double var = 0;
                for (int i = 0; i < hw; i++) var += (xp[i] - m) * (xp[i] - m);
                const double s = hw > 1 ? std::sqrt(var / (hw - 1) + eps) : std::sqrt((double)eps);
                const double dm = m - mu[pl % c], ds = s - sigma[pl % c];
                const double term = (dm * dm + (hw > 1 ? ds * ds : 0.0)) / n;
                worstPartial = std::max(worstPartial, std::fabs(pWarp[pl] - pBlock[pl]) / std::max(std::fabs(pBlock[pl]), 1e-300));
                worstRef = std::max(worstRef, std::fabs(pWarp[pl] - term) / std::max(std::fabs(term), 1e-300));
                for (int i = 0; i < hw; i++) {
                    const size_t k = (size_t)pl * hw + i;
                    const int d = std::abs(ordered(dxWarp[k]) - ordered(dxBlock[k]));
                    maxUlp = std::max(maxUlp, d);
                    differ += d != 0;
                }
            }
            // Deferred: coefficients instead of a gradient (dx untouched: null), then the gradient later.
            std::vector<double> cBlock((size_t)planes * 3, -1.0), cWarp((size_t)planes * 3, -1.0);
            std::vector<double> qBlock(planes, -1.0), qWarp(planes, -1.0);
            launch({(unsigned)planes, 1, 1}, 256, [&] {
                bn_stat_loss(x.data(), mu.data(), sigma.data(), nullptr, qBlock.data(), n, c, hw, eps, 0, cBlock.data());
            });
            launch({(unsigned)((planes + 7) / 8), 1, 1}, 256, [&] {
                bn_stat_loss_warp(x.data(), mu.data(), sigma.data(), nullptr, qWarp.data(), n, c, hw, eps, 0, cWarp.data());
            });
            const int total = planes * hw;
            std::vector<float> applied = old, appliedWarp = old;
            launchSerial(total, [&] { bn_stat_apply(x.data(), cBlock.data(), applied.data(), total, hw, acc); });
            launchSerial(total, [&] { bn_stat_apply(x.data(), cWarp.data(), appliedWarp.data(), total, hw, acc); });
            size_t deferredDiffer = 0;
            for (int i = 0; i < total; i++) {
                deferredDiffer += std::memcmp(&applied[i], &dxBlock[i], 4) != 0;
                deferredDiffer += std::abs(ordered(appliedWarp[i]) - ordered(dxWarp[i])) != 0;
            }
            const bool samePartials = std::memcmp(qBlock.data(), pBlock.data(), planes * 8) == 0
                    && std::memcmp(qWarp.data(), pWarp.data(), planes * 8) == 0;
            // batchnorm_backward with the term: as storing the gradient (accumulate 0 above) then adding k·dy, or, with
            // something already in dx (accumulate 1), as that plus the gradient then plus k·dy.
            std::vector<float> dy((size_t)total), k(c);
            for (auto& v : dy) v = g(rng);
            for (auto& v : k) v = u(rng);
            std::vector<float> twoStep = dxBlock, oneStep = old;
            launchSerial(total, [&] { batchnorm_backward(dy.data(), k.data(), twoStep.data(), total, c, hw, 1, nullptr, nullptr); });
            launchSerial(total, [&] {
                batchnorm_backward(dy.data(), k.data(), oneStep.data(), total, c, hw, acc, x.data(), cBlock.data());
            });
            size_t backwardDiffer = 0;
            for (int i = 0; i < total; i++) backwardDiffer += std::memcmp(&twoStep[i], &oneStep[i], 4) != 0;
            // The statistics with the BatchNorm+activation forward in the same pass (acc 0: relu; acc 1: clip and a
            // residual): the statistics kernels' doubles and the forward kernels' floats.
            std::vector<float> scale(c), bias(c), bnMean(c), inv(c), other((size_t)total);
            for (int ch = 0; ch < c; ch++) { scale[ch] = g(rng); bias[ch] = g(rng); bnMean[ch] = g(rng); inv[ch] = u(rng); }
            for (auto& v : other) v = g(rng);
            const int op = acc == 0 ? 0 : 1;
            const float lo = acc == 0 ? 0.0f : -0.5f, hi = acc == 0 ? 0.0f : 1.5f;
            const float* res = acc == 0 ? nullptr : other.data();
            std::vector<float> wantOut((size_t)total), outBlock((size_t)total, NAN), outWarp((size_t)total, NAN);
            if (res == nullptr) {
                launchSerial(total, [&] { batchnorm_activation(x.data(), scale.data(), bias.data(), bnMean.data(), inv.data(),
                                                               wantOut.data(), total, c, hw, op, lo, hi); });
            } else {
                launchSerial(total, [&] { batchnorm_add_activation(x.data(), scale.data(), bias.data(), bnMean.data(),
                                                                   inv.data(), res, wantOut.data(), total, c, hw, op, lo, hi); });
            }
            std::vector<double> cFusedBlock((size_t)planes * 3, -1.0), cFusedWarp((size_t)planes * 3, -1.0);
            std::vector<double> qFusedBlock(planes, -1.0), qFusedWarp(planes, -1.0);
            launch({(unsigned)planes, 1, 1}, 256, [&] {
                bn_stat_batchnorm_activation(x.data(), mu.data(), sigma.data(), qFusedBlock.data(), cFusedBlock.data(), n, c,
                                             hw, eps, scale.data(), bias.data(), bnMean.data(), inv.data(), res,
                                             outBlock.data(), op, lo, hi);
            });
            launch({(unsigned)((planes + 7) / 8), 1, 1}, 256, [&] {
                bn_stat_batchnorm_activation_warp(x.data(), mu.data(), sigma.data(), qFusedWarp.data(), cFusedWarp.data(), n,
                                                  c, hw, eps, scale.data(), bias.data(), bnMean.data(), inv.data(), res,
                                                  outWarp.data(), op, lo, hi);
            });
            const bool sameFused = std::memcmp(qFusedBlock.data(), qBlock.data(), planes * 8) == 0
                    && std::memcmp(qFusedWarp.data(), qWarp.data(), planes * 8) == 0
                    && std::memcmp(cFusedBlock.data(), cBlock.data(), planes * 24) == 0
                    && std::memcmp(cFusedWarp.data(), cWarp.data(), planes * 24) == 0
                    && std::memcmp(outBlock.data(), wantOut.data(), (size_t)total * 4) == 0
                    && std::memcmp(outWarp.data(), wantOut.data(), (size_t)total * 4) == 0;
            const bool bad = worstPartial > 1e-13 || worstRef > 1e-9 || maxUlp > 1 || deferredDiffer != 0
                    || !samePartials || backwardDiffer != 0 || !sameFused;
            cases++;
            if (bad) failures++;
            printf("%s bn_stat_loss_warp n=%d c=%d hw=%d accumulate=%d: partials vs block %.1e, vs formula %.1e; "
                   "gradient: %zu of %zu floats differ from the block kernel's, by at most %d ulp; deferred: partials %s, "
                   "%zu floats differ applied, %zu added by batchnorm_backward; with the forward: %s\n",
                   bad ? "FAIL" : "ok  ", n, c, hw, acc, worstPartial, worstRef, differ, x.size(), maxUlp,
                   samePartials ? "same" : "DIFFER", deferredDiffer, backwardDiffer, sameFused ? "same" : "DIFFER");
        }
    }
    if (g_i8Faults) { printf("FAIL %lld shuffles with a partial mask\n", (long long)g_i8Faults); failures++; }
    printf("bn_stat emulator: %d cases, %d failing\n", cases, failures);
    return failures ? 1 : 0;
}
