// Host check of the 128×128 implicit-GEMM conv kernels without a GPU: the real kernel sources (kernels/*.cu, built for
// the CPU through cuda_emu.h) against a float64 reference, forward and backward-data (store and accumulate), outputs
// NaN-poisoned. Operand layouts mirror IgemmLayout.java. Two kernel families on the same cases:
// - strict FP32 (conv2d_*_igemm128): |got − ref| ≤ 2e-4 + 2e-4·|ref|, as CudaDistillKernelsTest;
// - TF32 (conv2d_*_igemm128_tf32, mma and cvt.rna emulated by cuda_emu.h), two bounds per output, with
//   S = Σ |a|·|b| over the output's taps + |bias| + |prior dx| (the sum of the magnitudes that were added):
//   (1) against the exact reference: |got − ref| ≤ 2^-9·S. Rounding both operands to TF32 (10 fraction bits, to
//       nearest) changes each by at most 2^-11 relatively, so each product by at most 2^-10 (+2^-22) and the sum by
//       at most ~2^-10·S; FP32 accumulation adds at most (K/8 + 2)·2^-24·S here (below). 2^-9 is that bound with a
//       factor 2 to spare, and still far below what a wrong operand or fragment index does (errors of the order of
//       the terms themselves, ~S/√K and up);
//   (2) against a float64 reference of the TF32-rounded operands: |got − refTf32| ≤ (⌈K/8⌉ + 2)·2^-23·S — only the
//       FP32 roundings of the accumulators remain (one per emulated mma, one for the bias, one for accumulate), so this
//       checks that every operand is rounded exactly as cvt.rna does and enters the right product.
//   Also: no operand may reach the mma unrounded (cuda_emu.h counts them).
// Usage: native/igemm-emu/run.sh [case index] [--tsan]
#include "cuda_emu.h"
#include "conv2d_forward_igemm128.cu"
#include "conv2d_backward_data_igemm128.cu"
#include "conv2d_forward_igemm128_tf32.cu"
#include "conv2d_backward_data_igemm128_tf32.cu"
#include <cstdio>
#include <random>
#include <cstdint>
#include <algorithm>
#include <string>

struct Case { int n, cin, h, w, cout, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, g; };
static int floorMod(int a, int b) { int m = a % b; return m < 0 ? m + b : m; }
static int floorDiv(int a, int b) { return (a - floorMod(a, b)) / b; }
static std::mt19937_64 rng(7);
static std::vector<float> rnd(size_t n) { std::uniform_real_distribution<float> u(-1, 1); std::vector<float> v(n); for (auto& x : v) x = u(rng); return v; }

static bool check(const char* what, const std::vector<double>& ref, const float* got, size_t n) {
    size_t bad = 0; double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double tol = 2e-4 + 2e-4 * std::fabs(ref[i]);
        double d = std::fabs(ref[i] - got[i]);
        if (!(d <= tol)) { if (!bad) printf("  first mismatch %zu ref %g got %g\n", i, ref[i], got[i]); bad++; }
        else worst = std::max(worst, d / tol);
    }
    printf("%s %s: %zu bad of %zu (worst %.3f of tol)\n", bad ? "FAIL" : "ok  ", what, bad, n, worst);
    return bad == 0;
}

static double tf32(double v) { return emu_float(tf32_rna((float)v)); }

// The two TF32 bounds of the header; kTaps is the GEMM's K (an upper bound of the mma steps an output went through).
static bool checkTf32(const char* what, const std::vector<double>& ref, const std::vector<double>& refTf,
                      const std::vector<double>& mag, int kTaps, const float* got, size_t n) {
    size_t bad = 0; double worst = 0, worstTight = 0;
    const double tight = ((kTaps + 7) / 8 + 2) * std::ldexp(1.0, -23);
    for (size_t i = 0; i < n; i++) {
        double tol = std::ldexp(mag[i], -9) + 1e-30, tolT = tight * mag[i] + 1e-30;
        double d = std::fabs(ref[i] - got[i]), dT = std::fabs(refTf[i] - got[i]);
        if (!(d <= tol) || !(dT <= tolT)) {
            if (!bad) printf("  first mismatch %zu ref %g tf32-ref %g got %g (S %g)\n", i, ref[i], refTf[i], got[i], mag[i]);
            bad++;
        } else {
            worst = std::max(worst, d / tol);
            worstTight = std::max(worstTight, dT / tolT);
        }
    }
    long long unrounded = g_unroundedOperands.exchange(0);
    if (unrounded) printf("  %lld mma operands were not rounded to TF32\n", unrounded);
    bool ok = bad == 0 && unrounded == 0;
    printf("%s %s: %zu bad of %zu (worst %.3f of 2^-9·S, %.3f of the TF32-operand bound)\n", ok ? "ok  " : "FAIL", what,
           bad, n, worst, worstTight);
    return ok;
}

int main(int argc, char** argv) {
    std::vector<Case> cases = {
        {2, 37, 17, 19, 45, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
        {2, 37, 17, 19, 45, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
        {2, 37, 17, 19, 45, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},
        {2, 37, 17, 19, 45, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1},
        {2, 37, 17, 19, 45, 3, 3, 1, 2, 2, 2, 2, 2, 2, 2, 1},
        {2, 37, 17, 19, 45, 3, 2, 2, 2, 1, 0, 2, 1, 1, 1, 1},
        {3, 6, 7, 5, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3},
        {2, 140, 8, 6, 136, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // two M tiles both ways, 48-pixel planes (vec path)
        {2, 136, 8, 8, 260, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1},   // 1x1/2, empty phases, M tiles
        {1, 16, 12, 12, 20, 7, 7, 3, 2, 3, 3, 3, 3, 1, 1, 1},   // stride 3x2, 7x7
        {2, 4, 9, 9, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2},       // grouped, strided
        {1, 3, 23, 21, 70, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1},
        {1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
        {1, 256, 56, 56, 64, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},
        {1, 512, 28, 28, 1024, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1},
        {2, 37, 17, 19, 45, 3, 3, 2, 2, 2, 1, 1, 2, 2, 2, 1},
        {3, 7, 7, 5, 14, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 7},
        {3, 7, 7, 5, 7, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 7},
    };
    // [case index] [fp32|tf32]: one case and/or one kernel family; both families by default.
    int only = -1;
    bool runFp32 = true, runTf32 = true;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "fp32") runTf32 = false;
        else if (a == "tf32") runFp32 = false;
        else only = atoi(argv[i]);
    }
    bool allOk = true;
    for (size_t ci = 0; ci < cases.size(); ci++) {
        if (only >= 0 && (int)ci != only) continue;
        Case c = cases[ci];
        int oh = (c.h + c.pt + c.pb - c.dh * (c.kh - 1) - 1) / c.sh + 1;
        int ow = (c.w + c.pl + c.pr - c.dw * (c.kw - 1) - 1) / c.sw + 1;
        int cinG = c.cin / c.g, coutG = c.cout / c.g;
        auto x = rnd((size_t)c.n * c.cin * c.h * c.w), w = rnd((size_t)c.cout * cinG * c.kh * c.kw), bias = rnd(c.cout);
        auto dy = rnd((size_t)c.n * c.cout * oh * ow), prior = rnd(x.size());
        // references in double
        std::vector<double> yref((size_t)c.n * c.cout * oh * ow, 0.0), dxref(x.size(), 0.0);
        // TF32: the same sums with rounded operands, and the sums of magnitudes S (header)
        std::vector<double> ytf(yref.size(), 0.0), yabs(yref.size(), 0.0), dxtf(x.size(), 0.0), dxabs(x.size(), 0.0);
        for (int b = 0; b < c.n; b++) for (int co = 0; co < c.cout; co++) {
            int grp = co / coutG;
            for (int i = 0; i < oh; i++) for (int j = 0; j < ow; j++) {
                double s = bias[co], st = bias[co], sa = std::fabs(bias[co]);
                for (int cl = 0; cl < cinG; cl++) for (int r = 0; r < c.kh; r++) for (int q = 0; q < c.kw; q++) {
                    int ih = i * c.sh - c.pt + r * c.dh, iw = j * c.sw - c.pl + q * c.dw;
                    if (ih < 0 || ih >= c.h || iw < 0 || iw >= c.w) continue;
                    size_t xi = (((size_t)b * c.cin + grp * cinG + cl) * c.h + ih) * c.w + iw;
                    size_t wi = (((size_t)co * cinG + cl) * c.kh + r) * c.kw + q;
                    double d = dy[(((size_t)b * c.cout + co) * oh + i) * ow + j];
                    s += (double)x[xi] * w[wi];
                    st += tf32(x[xi]) * tf32(w[wi]);
                    sa += std::fabs((double)x[xi] * w[wi]);
                    dxref[xi] += d * w[wi];
                    dxtf[xi] += tf32(d) * tf32(w[wi]);
                    dxabs[xi] += std::fabs(d * w[wi]);
                }
                size_t yi = (((size_t)b * c.cout + co) * oh + i) * ow + j;
                yref[yi] = s;
                ytf[yi] = st;
                yabs[yi] = sa;
            }
        }
        char name[200];
        snprintf(name, sizeof name, "case %zu N%d Cin%d %dx%d Cout%d k%dx%d s%d,%d p%d,%d,%d,%d d%d,%d g%d", ci, c.n, c.cin, c.h,
                 c.w, c.cout, c.kh, c.kw, c.sh, c.sw, c.pt, c.pl, c.pb, c.pr, c.dh, c.dw, c.g);
        // forward layout
        {
            int k = cinG * c.kh * c.kw;
            std::vector<float> wt(w.size());
            for (int grp = 0; grp < c.g; grp++) for (int kk = 0; kk < k; kk++) for (int m = 0; m < coutG; m++)
                wt[((size_t)grp * k + kk) * coutG + m] = w[((size_t)grp * coutG + m) * k + kk];
            std::vector<int4> tab(k);
            for (int cl = 0; cl < cinG; cl++) for (int r = 0; r < c.kh; r++) for (int q = 0; q < c.kw; q++)
                tab[(cl * c.kh + r) * c.kw + q] = {cl * c.h * c.w, r * c.dh, q * c.dw, 0};
            alignas(16) static float outbuf[1 << 22];
            size_t ny = yref.size();
            std::fill(outbuf, outbuf + ny, NAN);
            long long pixels = (long long)c.n * oh * ow;
            dim3e grid{(unsigned)((pixels + 127) / 128), (unsigned)((coutG + 127) / 128), (unsigned)c.g};
            for (int tf = 0; tf < 2; tf++) {
                if (!(tf ? runTf32 : runFp32)) continue;
                std::fill(outbuf, outbuf + ny, NAN);
                launch(grid, 256, [&] {
                    (tf ? conv2d_forward_igemm128_tf32 : conv2d_forward_igemm128)(x.data(), wt.data(), tab.data(), bias.data(),
                            outbuf, c.n, c.cin, c.h, c.w, c.cout, oh, ow, c.g, k, c.sh, c.sw, c.pt, c.pl);
                });
                std::string s = std::string(tf ? "tf32 forward " : "fp32 forward ") + name;
                allOk &= tf ? checkTf32(s.c_str(), yref, ytf, yabs, k, outbuf, ny) : check(s.c_str(), yref, outbuf, ny);
            }
        }
        // backward phased layout
        for (int acc = 0; acc < 2; acc++) {
            int k = coutG * c.kh * c.kw;
            std::vector<float> wt(w.size());
            std::vector<int4> tab(k);
            std::vector<int4> ph(c.sh * c.sw);
            int row = 0;
            for (int a = 0; a < c.sh; a++) for (int bb = 0; bb < c.sw; bb++) {
                int z = a * c.sw + bb; ph[z].x = row;
                for (int col = 0; col < coutG; col++) for (int r = 0; r < c.kh; r++) {
                    int cy = a + c.pt - r * c.dh; if (floorMod(cy, c.sh)) continue;
                    for (int q = 0; q < c.kw; q++) {
                        int cx = bb + c.pl - q * c.dw; if (floorMod(cx, c.sw)) continue;
                        tab[row] = {col * oh * ow, floorDiv(cy, c.sh), floorDiv(cx, c.sw), 0};
                        for (int grp = 0; grp < c.g; grp++) for (int cl = 0; cl < cinG; cl++)
                            wt[((size_t)grp * k + row) * cinG + cl] = w[((((size_t)grp * coutG + col) * cinG + cl) * c.kh + r) * c.kw + q];
                        row++;
                    }
                }
                ph[z].y = row - ph[z].x; ph[z].z = a; ph[z].w = bb;
            }
            if (row != k) { printf("row %d != k %d\n", row, k); return 1; }
            alignas(16) static float dx[1 << 22];
            size_t nx = x.size();
            std::vector<double> expect = dxref, expectTf = dxtf, mag = dxabs;
            if (acc) {
                for (size_t i = 0; i < nx; i++) {
                    expect[i] += prior[i];
                    expectTf[i] += prior[i];
                    mag[i] += std::fabs(prior[i]);
                }
            }
            long long pixels = (long long)c.n * ((c.h + c.sh - 1) / c.sh) * ((c.w + c.sw - 1) / c.sw);
            dim3e grid{(unsigned)((pixels + 127) / 128), (unsigned)((cinG + 127) / 128), (unsigned)(c.g * c.sh * c.sw)};
            for (int tf = 0; tf < 2; tf++) {
                if (!(tf ? runTf32 : runFp32)) continue;
                if (acc) std::copy(prior.begin(), prior.end(), dx);
                else std::fill(dx, dx + nx, NAN);
                launch(grid, 256, [&] {
                    (tf ? conv2d_backward_data_igemm128_tf32 : conv2d_backward_data_igemm128)(dy.data(), wt.data(), tab.data(),
                            ph.data(), dx, c.n, c.cin, c.h, c.w, c.cout, oh, ow, c.g, k, c.sh, c.sw, acc);
                });
                std::string s = std::string(tf ? "tf32 backward acc=" : "fp32 backward acc=") + std::to_string(acc) + " " + name;
                allOk &= tf ? checkTf32(s.c_str(), expect, expectTf, mag, k, dx, nx) : check(s.c_str(), expect, dx, nx);
            }
        }
    }
    printf(allOk ? "ALL OK\n" : "SOME FAILED\n");
    return allOk ? 0 : 1;
}
