// Host check of binary_same.cu and binary_backward_same.cu without a GPU: every op (and for the gradient every side,
// with and without accumulate) against the general kernels they stand in for, binary.cu and broadcast_reduce.cu on
// same-shape operands, bit for bit, on sizes that are and are not multiples of 4, with ±0, ±inf, NaN and tiny values
// among the inputs (a NaN equals any NaN). Grid-stride kernels need no barriers: the "threads" run one after another on one OS thread.
// Usage: native/igemm-emu/run.sh binary
#include "int8_emu.h"
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <cmath>
#include <random>
#include <vector>
#include <algorithm>

#include "binary.cu"
#include "broadcast_reduce.cu"
#include "binary_same.cu"
#include "binary_backward_same.cu"

static std::mt19937_64 rng(29);
static int failures = 0, cases = 0;

static std::vector<float> randomFloats(int n) {
    std::uniform_real_distribution<float> u(-4, 4);
    std::vector<float> v(n);
    for (auto& x : v) x = u(rng);
    const float special[] = {0.f, -0.f, INFINITY, -INFINITY, NAN, 1e-40f, -3e-39f, 1.f};
    for (int i = 0; i < n; i += 7) v[i] = special[(i / 7) % 8];
    return v;
}

static size_t differingBits(const std::vector<float>& a, const std::vector<float>& b) {
    size_t bad = 0;
    // NaN against NaN counts as equal: IEEE leaves the sign and payload of a NaN result open (the compiler may turn
    // 0 + (−x) into 0 − x, which keeps a NaN's sign), and the device returns its one canonical NaN anyway.
    for (size_t i = 0; i < a.size(); i++) bad += !(std::isnan(a[i]) && std::isnan(b[i])) && std::memcmp(&a[i], &b[i], 4) != 0;
    return bad;
}

static void check(const char* what, int n, int op, int side, int acc, size_t bad) {
    cases++;
    if (bad) failures++;
    printf("%s %s n=%d op=%d side=%d accumulate=%d: %zu of %d floats differ\n", bad ? "FAIL" : "ok  ", what, n, op, side,
           acc, bad, n);
}

int main() {
    for (int n : {1, 3, 4, 37, 256, 1027, 4096 + 2}) {
        // Shape6 of a flat tensor of n elements; both operands have it (strides 1 in the last dimension).
        Shape6 dims{{1, 1, 1, 1, 1, n}}, unit{{0, 0, 0, 0, 0, 1}};
        std::vector<float> a = randomFloats(n), b = randomFloats(n), g = randomFloats(n), old = randomFloats(n);
        for (int op = 0; op < 4; op++) {
            std::vector<float> want(n, 7.f), got(n, 9.f);
            launchSerial(n, [&] { binary(a.data(), b.data(), want.data(), n, dims, unit, unit, op); });
            launchSerial((n + 3) / 4, [&] { binary_same(a.data(), b.data(), got.data(), n, op); });
            check("binary_same", n, op, -1, -1, differingBits(want, got));
            for (int side = 0; side < 2; side++) {
                for (int acc = 0; acc < 2; acc++) {
                    std::vector<float> w = old, r = old;
                    launchSerial(n, [&] { broadcast_reduce(g.data(), a.data(), b.data(), w.data(), n, dims, dims, unit, unit, op, side, acc); });
                    launchSerial((n + 3) / 4, [&] { binary_backward_same(g.data(), a.data(), b.data(), r.data(), n, op, side, acc); });
                    check("binary_backward_same", n, op, side, acc, differingBits(w, r));
                }
            }
        }
    }
    printf("binary emulator: %d cases, %d failing\n", cases, failures);
    return failures ? 1 : 0;
}
