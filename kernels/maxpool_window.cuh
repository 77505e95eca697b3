// Shared by the max-pool gradient kernels (maxpool2d_backward.cu, maxpool2d_argmax.cu, maxpool2d_backward_argmax.cu):
// a window's argmax with the CPU reference's tie rule, and the windows an input pixel belongs to, in one fixed order.
#pragma once

// Where window (oh, ow) of plane xp (h × w) has its maximum: y·w + x of the first maximum in row-major window order
// (strict >, as Gradients.maxPoolBackward; padding never wins), or −1 when the window holds no input pixel.
__device__ __forceinline__ int zq_maxpool_argmax(const float* __restrict__ xp, int h, int w, int oh, int ow, int kh,
                                                 int kw, int sh, int sw, int padTop, int padLeft, int dh, int dw) {
    int best = -1;
    float bv = -INFINITY;
    for (int rr = 0; rr < kh; rr++) {
        const int y = oh * sh - padTop + rr * dh;
        if (y < 0 || y >= h) continue;
        for (int ss = 0; ss < kw; ss++) {
            const int xx = ow * sw - padLeft + ss * dw;
            if (xx < 0 || xx >= w) continue;
            const float v = xp[y * w + xx];
            if (best < 0 || v > bv) {
                bv = v;
                best = y * w + xx;
            }
        }
    }
    return best;
}

// Calls visit(oh, ow) for every window that contains input pixel (ih, iw), kernel rows then columns in order: the
// order in which the gradient kernels add the windows' dy, so that every form of the gather sums alike.
template <class Visit>
__device__ __forceinline__ void zq_maxpool_windows_of(int ih, int iw, int outH, int outW, int kh, int kw, int sh,
                                                      int sw, int padTop, int padLeft, int dh, int dw, Visit visit) {
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
            visit(oh, ow);
        }
    }
}
