// Host check of the 128×128 implicit-GEMM conv kernels without a GPU: the real kernel sources (kernels/*.cu, built for
// the CPU through cuda_emu.h) against a float64 reference, forward and backward-data (store and accumulate), outputs
// NaN-poisoned, tolerance 2e-4 + 2e-4·|ref| as CudaDistillKernelsTest. Operand layouts mirror IgemmLayout.java.
// Usage: native/igemm-emu/run.sh [case index] [--tsan]
#include "cuda_emu.h"
#include "conv2d_forward_igemm128.cu"
#include "conv2d_backward_data_igemm128.cu"
#include <cstdio>
#include <random>
#include <cstdint>
#include <algorithm>

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
    int only = argc > 1 ? atoi(argv[1]) : -1;
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
        for (int b = 0; b < c.n; b++) for (int co = 0; co < c.cout; co++) {
            int grp = co / coutG;
            for (int i = 0; i < oh; i++) for (int j = 0; j < ow; j++) {
                double s = bias[co];
                for (int cl = 0; cl < cinG; cl++) for (int r = 0; r < c.kh; r++) for (int q = 0; q < c.kw; q++) {
                    int ih = i * c.sh - c.pt + r * c.dh, iw = j * c.sw - c.pl + q * c.dw;
                    if (ih < 0 || ih >= c.h || iw < 0 || iw >= c.w) continue;
                    size_t xi = (((size_t)b * c.cin + grp * cinG + cl) * c.h + ih) * c.w + iw;
                    size_t wi = (((size_t)co * cinG + cl) * c.kh + r) * c.kw + q;
                    double d = dy[(((size_t)b * c.cout + co) * oh + i) * ow + j];
                    s += (double)x[xi] * w[wi];
                    dxref[xi] += d * w[wi];
                }
                yref[(((size_t)b * c.cout + co) * oh + i) * ow + j] = s;
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
            launch(grid, 256, [&] {
                conv2d_forward_igemm128(x.data(), wt.data(), tab.data(), bias.data(), outbuf, c.n, c.cin, c.h, c.w, c.cout, oh, ow,
                                        c.g, k, c.sh, c.sw, c.pt, c.pl);
            });
            std::string s = std::string("forward ") + name;
            allOk &= check(s.c_str(), yref, outbuf, ny);
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
            std::vector<double> expect = dxref;
            if (acc) { for (size_t i = 0; i < nx; i++) { dx[i] = prior[i]; expect[i] += prior[i]; } }
            else std::fill(dx, dx + nx, NAN);
            long long pixels = (long long)c.n * ((c.h + c.sh - 1) / c.sh) * ((c.w + c.sw - 1) / c.sw);
            dim3e grid{(unsigned)((pixels + 127) / 128), (unsigned)((cinG + 127) / 128), (unsigned)(c.g * c.sh * c.sw)};
            launch(grid, 256, [&] {
                conv2d_backward_data_igemm128(dy.data(), wt.data(), tab.data(), ph.data(), dx, c.n, c.cin, c.h, c.w, c.cout, oh,
                                              ow, c.g, k, c.sh, c.sw, acc);
            });
            std::string s = std::string("backward acc=") + std::to_string(acc) + " " + name;
            allOk &= check(s.c_str(), expect, dx, nx);
        }
    }
    printf(allOk ? "ALL OK\n" : "SOME FAILED\n");
    return allOk ? 0 : 1;
}
