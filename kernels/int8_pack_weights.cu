// int8_pack_weights: int8 conv weights OIHW → the "KRSC" B operand of conv2d_int8_igemm, row co holding
// k = (r·kw + s)·cinP + c contiguous (c fastest, matching the NHWC activations), zero for padded channels
// c ≥ cin, for the K tail k ≥ kTotal (rounded up to the 64-byte K tile) and for padded rows co ≥ cout (rounded
// up to the 128-wide N tile), so the igemm's B loads need no bounds checks. Also writes wsum[co] = Σ_k w, the
// per-channel sum the igemm needs for its zero-point correction −(zp − 128)·Σw.
// Launch: block (128), grid (coutP): one block per packed row, a warp-shuffle + shared-memory sum.
// w: (cout, cin, kh, kw) int8   wp: (coutP, kPadded) int8   wsum: (coutP) int32
#include "common.cuh"

#define I8_PACK_THREADS 128

extern "C" __global__ void __launch_bounds__(I8_PACK_THREADS)
int8_pack_weights(const signed char* __restrict__ w, signed char* __restrict__ wp, int* __restrict__ wsum,
                  int cout, int cin, int kh, int kw, int cinP, int kTotal, int kPadded) {
    __shared__ int partial[I8_PACK_THREADS / 32];
    const int co = blockIdx.x;
    int sum = 0;
    for (int k = threadIdx.x; k < kPadded; k += I8_PACK_THREADS) {
        int v = 0;
        if (co < cout && k < kTotal) {
            const int rs = k / cinP;
            const int c = k - rs * cinP;
            if (c < cin) {
                const int r = rs / kw, s = rs - (rs / kw) * kw;
                v = w[(((long long)co * cin + c) * kh + r) * kw + s];
            }
        }
        wp[(long long)co * kPadded + k] = (signed char)v;
        sum += v;
    }
    for (int off = 16; off > 0; off >>= 1) {
        sum += __shfl_down_sync(0xffffffffu, sum, off);
    }
    if ((threadIdx.x & 31) == 0) {
        partial[threadIdx.x >> 5] = sum;
    }
    __syncthreads(); // every warp's partial is in shared memory before thread 0 adds them
    if (threadIdx.x == 0) {
        int total = 0;
        for (int i = 0; i < I8_PACK_THREADS / 32; i++) {
            total += partial[i];
        }
        wsum[co] = total;
    }
}
