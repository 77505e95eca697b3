// int8_nchw_to_nhwc: uint8 activation codes NCHW → the int8 NHWC operand of conv2d_int8_igemm. Stores q − 128
// (q ^ 0x80, exact in int8) so the tensor cores' signed s8×s8 product can be used; channels are padded to cP (a
// multiple of 16, one 16-byte cp.async chunk) with the zero point's shifted code zp − 128, which the igemm's
// zero-point correction cancels exactly (the padding behaves like x = 0, as in RefInt8Kernels).
// Launch: block (256), grid (min(ceil(total/256), 65535)), grid-stride; one thread per output byte.
// x: (N, C, H, W) uint8   out: (N, H, W, cP) int8, total = N·H·W·cP
#include "common.cuh"

extern "C" __global__ void int8_nchw_to_nhwc(const unsigned char* __restrict__ x, signed char* __restrict__ out,
                                             int n, int c, int h, int w, int cP, int zp) {
    const long long hw = (long long)h * w;
    const long long total = (long long)n * hw * cP;
    ZQ_FOR_EACH(i, total) {
        const int ch = (int)(i % cP);
        const long long pix = i / cP;
        const long long b = pix / hw;
        const long long p = pix - b * hw;
        const unsigned v = ch < c ? (unsigned)x[(b * c + ch) * hw + p] : (unsigned)zp;
        out[i] = (signed char)(unsigned char)(v ^ 0x80u);
    }
}
