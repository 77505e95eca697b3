// int8_im2col_nhwc: the taps of a few-channel int8 conv (e.g. a stem with 1 or 3 input channels), gathered from
// shifted NHWC codes (s8 = q ^ 0x80, channel stride cP ≥ C) into one contiguous row per output pixel, so that
// conv2d_int8_igemm_chain runs the conv as a 1×1 stride-1 unpadded conv with K = kh·kw·C instead of kh·kw·cP:
//   out[(b, oy, ox)][k], k = (r·kw + s)·C + c  =  x[b, oy·sh − padTop + r·dh, ox·sw − padLeft + s·dw, c]
// for k < kh·kw·C; the shifted zero point (zp ^ 0x80) where the tap falls in the spatial padding and for the tail
// k in [kh·kw·C, k2P), k2P = kh·kw·C rounded up to 16 (the 1×1 conv's channel stride). The codes are copied, not
// requantized, so the igemm's zero-point correction −(zp − 128)·Σw stays exact, and the padding holds the same value
// the implicit GEMM's own padding did: the int32 accumulators equal those of the direct conv bit for bit (the weights
// are rearranged to (Cout, kh·kw·C) in the same k order on the host).
// Launch: block (256), grid (min(ceil(total/256), 65535)), grid-stride, total = N·outH·outW·k2P/16: one thread per
// 16-byte chunk of a row, stored with one 16-byte write (rows start at multiples of k2P, so chunks are aligned).
// x: (N, H, W, cP) s8   out: (N, outH, outW, k2P) s8
#include "common.cuh"

extern "C" __global__ void int8_im2col_nhwc(const signed char* __restrict__ x, signed char* __restrict__ out, int n,
                                            int h, int w, int c, int cP, int outH, int outW, int kh, int kw, int sh,
                                            int sw, int padTop, int padLeft, int dh, int dw, int k2P, int zp) {
    const int chunks = k2P >> 4;
    const int kReal = kh * kw * c;
    const long long plane = (long long)outH * outW;
    const long long total = (long long)n * plane * chunks;
    const unsigned pad = ((unsigned)zp ^ 0x80u) & 0xFFu;
    ZQ_FOR_EACH(i, total) {
        const long long pix = i / chunks;
        const int k0 = (int)(i - pix * chunks) << 4;
        const long long b = pix / plane;
        const int p = (int)(pix - b * plane);
        const int oy = p / outW, ox = p - (p / outW) * outW;
        const int y0 = oy * sh - padTop, x0 = ox * sw - padLeft;
        // (r, s, ch) of k0, then stepped along k: no division in the loop.
        int rs = k0 / c, ch = k0 - (k0 / c) * c;
        int r = rs / kw, s = rs - (rs / kw) * kw;
        unsigned words[4] = {0u, 0u, 0u, 0u};
#pragma unroll
        for (int j = 0; j < 16; j++) {
            unsigned v = pad;
            if (k0 + j < kReal) {
                const int iy = y0 + r * dh, ix = x0 + s * dw;
                if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                    v = (unsigned char)x[((b * h + iy) * w + ix) * cP + ch];
                }
                if (++ch == c) {
                    ch = 0;
                    if (++s == kw) {
                        s = 0;
                        r++;
                    }
                }
            }
            words[j >> 2] |= v << (8 * (j & 3)); // little-endian: byte j of the chunk is k0 + j
        }
        int4 q;
        q.x = (int)words[0];
        q.y = (int)words[1];
        q.z = (int)words[2];
        q.w = (int)words[3];
        reinterpret_cast<int4*>(out)[i] = q;
    }
}
