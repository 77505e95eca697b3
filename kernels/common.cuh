// Shared by the zeroq kernels: the small by-value shape struct used for strided/broadcast indexing and the
// grid-stride loop helper. Tensors come from Java arrays, so every element count and offset fits in an int;
// index arithmetic is still done in 64 bits where products can grow (i·stride before the final offset).
#pragma once

#define ZQ_MAX_RANK 6

// Passed by value as a kernel parameter (24 bytes, 4-byte aligned); the Java side writes six ints.
struct Shape6 {
    int d[ZQ_MAX_RANK];
};

// Grid-stride loop over [0, n): correct for any grid size, so the host may cap the grid.
#define ZQ_FOR_EACH(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
         i += (long long)gridDim.x * blockDim.x)

// Calls visit(iy, ix, r, s) for every tap (r, s) of the window of output position (oh, ow) that lands on an input pixel
// (iy, ix) of an h × w plane (strided, padded, dilated; taps in the padding are skipped), kernel rows then columns in
// order: the gather of the forward pooling and direct convolution kernels. zq_windows_of below is its inverse.
template <class Visit>
__device__ __forceinline__ void zq_window_taps(int oh, int ow, int h, int w, int kh, int kw, int sh, int sw, int padTop,
                                               int padLeft, int dh, int dw, Visit visit) {
    for (int r = 0; r < kh; r++) {
        const int iy = oh * sh - padTop + r * dh;
        if (iy < 0 || iy >= h) continue;
        for (int s = 0; s < kw; s++) {
            const int ix = ow * sw - padLeft + s * dw;
            if (ix < 0 || ix >= w) continue;
            visit(iy, ix, r, s);
        }
    }
}

// Calls visit(oh, ow, r, s) for every output position (oh, ow) whose kernel tap (r, s) lands on input pixel (ih, iw) of
// a strided, padded, dilated window (convolution or pooling), kernel rows then columns in order: the gather order of
// the backward kernels, so that every form of a gather sums alike. Tap r lands when th = ih + padTop − r·dh is oh·sh
// exactly; th steps down by dh per row, its floor quotient by sh by dh/sh or one more, so each axis costs one
// division per call, not one per tap (those divisions were most of the max-pool gradient's time). Columns alike,
// restarted each row. The quotient never rises (dh, dw ≥ 0): once it is negative, no later tap lands.
template <class Visit>
__device__ __forceinline__ void zq_windows_of(int ih, int iw, int outH, int outW, int kh, int kw, int sh, int sw,
                                              int padTop, int padLeft, int dh, int dw, Visit visit) {
    const int stepH = dh / sh, stepW = dw / sw;
    const int th0 = ih + padTop, tw0 = iw + padLeft; // ≥ 0: plain division is floor division
    const int ow0 = tw0 / sw;
    // oh = ⌊th / sh⌋ throughout; th == oh·sh tests the remainder (tracking it too cost maxpool2d_backward 8 registers)
    int th = th0, oh = th0 / sh;
    for (int r = 0; r < kh && oh >= 0; r++) {
        if (th == oh * sh && oh < outH) {
            int tw = tw0, ow = ow0; // ow = ⌊tw / sw⌋
            for (int s = 0; s < kw && ow >= 0; s++) {
                if (tw == ow * sw && ow < outW) visit(oh, ow, r, s);
                tw -= dw;
                ow -= stepW;
                if (tw < ow * sw) ow--;
            }
        }
        th -= dh;
        oh -= stepH;
        if (th < oh * sh) oh--;
    }
}
