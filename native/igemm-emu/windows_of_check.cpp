// Host check of common.cuh's zq_windows_of (the division-free walk) against the per-tap division it replaced
// (oldWindowsOf below, the code as it was): the same (oh, ow, r, s) visits in the same order, for every input pixel of
// every geometry in kernel 1..4, stride 1..4, dilation 1..3, pads 0..3 on each side, over several plane sizes, with
// the output size of the floor formula and of ceil mode (windows that overhang the far edge). Exits 1 on a difference.
// Usage: native/igemm-emu/run.sh windows
#include "cuda_emu.h"
#include "common.cuh"
#include <cstdio>

// zq_windows_of before it walked quotients: two divisions per tap.
template <class Visit>
static void oldWindowsOf(int ih, int iw, int outH, int outW, int kh, int kw, int sh, int sw, int padTop, int padLeft,
                         int dh, int dw, Visit visit) {
    for (int r = 0; r < kh; r++) {
        const int th = ih + padTop - r * dh;
        if (th < 0 || th % sh != 0) continue;
        const int oh = th / sh;
        if (oh >= outH) continue;
        for (int s = 0; s < kw; s++) {
            const int tw = iw + padLeft - s * dw;
            if (tw < 0 || tw % sw != 0) continue;
            const int ow = tw / sw;
            if (ow >= outW) continue;
            visit(oh, ow, r, s);
        }
    }
}

struct Visits {
    int n = 0;
    int v[16][4]; // at most kh·kw = 16 taps
    bool overflow = false;
    void add(int oh, int ow, int r, int s) {
        if (n == 16) { overflow = true; return; }
        v[n][0] = oh; v[n][1] = ow; v[n][2] = r; v[n][3] = s;
        n++;
    }
    bool operator==(const Visits& o) const {
        if (n != o.n || overflow || o.overflow) return false;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < 4; j++)
                if (v[i][j] != o.v[i][j]) return false;
        return true;
    }
};

static void print(const char* what, const Visits& x) {
    printf("  %s (%d visits%s):", what, x.n, x.overflow ? ", overflow" : "");
    for (int i = 0; i < x.n; i++) printf(" (%d,%d,%d,%d)", x.v[i][0], x.v[i][1], x.v[i][2], x.v[i][3]);
    printf("\n");
}

// The output size along one axis, floor or ceil mode; 0 where no window fits.
static int outSize(int in, int padA, int padB, int k, int stride, int dil, bool ceil) {
    const int span = in + padA + padB - dil * (k - 1) - 1;
    if (span < 0) return 0;
    return (ceil ? (span + stride - 1) / stride : span / stride) + 1;
}

int main() {
    const int sizes[][2] = {{1, 1}, {1, 6}, {5, 1}, {2, 3}, {7, 7}, {8, 9}, {12, 5}, {16, 16}};
    long long geometries = 0, calls = 0, visits = 0, failures = 0;
    for (auto& hw : sizes) {
        const int h = hw[0], w = hw[1];
        for (int kh = 1; kh <= 4; kh++) for (int kw = 1; kw <= 4; kw++)
        for (int sh = 1; sh <= 4; sh++) for (int sw = 1; sw <= 4; sw++)
        for (int dh = 1; dh <= 3; dh++) for (int dw = 1; dw <= 3; dw++)
        for (int pt = 0; pt <= 3; pt++) for (int pb = 0; pb <= 3; pb++)
        for (int pl = 0; pl <= 3; pl++) for (int pr = 0; pr <= 3; pr++)
        for (int ceil = 0; ceil <= 1; ceil++) {
            const int outH = outSize(h, pt, pb, kh, sh, dh, ceil), outW = outSize(w, pl, pr, kw, sw, dw, ceil);
            if (outH <= 0 || outW <= 0) continue;
            geometries++;
            for (int ih = 0; ih < h; ih++)
                for (int iw = 0; iw < w; iw++) {
                    Visits want, got;
                    oldWindowsOf(ih, iw, outH, outW, kh, kw, sh, sw, pt, pl, dh, dw,
                                 [&](int oh, int ow, int r, int s) { want.add(oh, ow, r, s); });
                    zq_windows_of(ih, iw, outH, outW, kh, kw, sh, sw, pt, pl, dh, dw,
                                  [&](int oh, int ow, int r, int s) { got.add(oh, ow, r, s); });
                    calls++;
                    visits += want.n;
                    if (!(got == want)) {
                        if (failures++ < 5) {
                            printf("FAIL h=%d w=%d k%dx%d s%dx%d d%dx%d pads t%d b%d l%d r%d ceil=%d "
                                   "out %dx%d pixel (%d,%d)\n",
                                   h, w, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, ceil, outH, outW, ih, iw);
                            print("old", want);
                            print("new", got);
                        }
                    }
                }
        }
    }
    printf("zq_windows_of check: %lld geometries, %lld pixels, %lld visits compared, %lld pixels differ\n", geometries,
           calls, visits, failures);
    return failures ? 1 : 0;
}
