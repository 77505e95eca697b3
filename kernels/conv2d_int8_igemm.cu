// conv2d_int8_igemm / conv2d_int8_igemm_fused: int8 2-D convolution (group 1) on the tensor cores as an implicit
// GEMM, M = N·outH·outW output pixels, N = Cout, K = kh·kw·cP, with mma.sync m16n8k32 s8×s8→s32 (sm_80+).
// The activations come from int8_nchw_to_nhwc (s8 = q − 128), the weights from int8_pack_weights, so
//   Σ (q − zp)·w = Σ ((q − 128) − (zp − 128))·w = Σ s8·w − (zp − 128)·Σw,
// exact in int32 (wrapping arithmetic is a ring, so even an overflowing sum would equal Java's). Spatial padding
// is filled with the shifted zero point zp − 128, so it contributes exactly −(zp − 128)·w, which the correction
// cancels, just as RefInt8Kernels skips it.
//   conv2d_int8_igemm:       acc (N, Cout, outH, outW) int32 = Σ (q − zp)·w, RefInt8Kernels' definition (parity path).
//   conv2d_int8_igemm_fused: out (N, outH, outW, Cout) uint8: y = (acc + bias[c])·scale[c] [+ residual] [ReLU|clip],
//                            q = clamp(rint(y / outScale) + outZp, 0, qmax), IntegerModel's epilogue bit for bit
//                            (qmax = 255 for 8-bit codes).
// Tiles: 128 pixels × 128 channels × 64 bytes of K per block of 256 threads (8 warps as 2 (M) × 4 (N), each warp
// 64 × 32 outputs = 4 × 4 mma tiles = 64 int32 accumulators per thread). 128×128 gives 2·128·128·64 ops per 32 KiB
// of shared tile traffic, enough to keep the tensor cores fed from shared memory; BK = 64 gives each barrier pair
// two k32 mma steps. Two cp.async stages of 20 KiB (40 KiB static, under the 48 KiB static limit, leaving room for
// two blocks per SM) overlap the next tile's loads with this tile's mma.
// Launch: block (256), grid (ceil(M/128), coutP/128); coutP = Cout rounded up to 128, kPadded = K rounded up to 64.
// xh: (N, H, W, cP) s8   wp: (coutP, kPadded) s8   wsum: (coutP) int32   bias: (Cout) int32   scale: (Cout) float
// residual: (N, outH, outW, Cout) float or null
#include "common.cuh"

#define I8_BM 128
#define I8_BN 128
#define I8_BK 64
// Shared row stride in bytes: 64 + 16. ldmatrix reads 8 rows of 16 bytes per matrix; at a 64-byte stride rows r and
// r + 2 would share banks (4-way conflict), at 80 bytes the 8 rows land on 8 distinct 16-byte bank groups.
#define I8_LDS 80
#define I8_THREADS 256
#define I8_STAGES 2
// Row stride in bytes of the chain kernel's 128 × 128 output tile in shared memory (it reuses the A stages, 2 × 128 ×
// 80 bytes): 128 + 16 keeps the 16-byte chunks aligned and spreads a warp's rows over the banks.
#define I8_OT 144

__device__ __forceinline__ unsigned i8_smem(const void* p) {
    return (unsigned)__cvta_generic_to_shared(p);
}

#ifndef ZEROQ_HOST_EMU // native/igemm-emu/int8_emu.h supplies host emulations of these five
__device__ __forceinline__ void i8_cp_async16(unsigned dst, const void* src) {
    // .cg: cache in L2 only; the tile is read once from shared memory, L1 would only be polluted.
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(src) : "memory");
}

__device__ __forceinline__ void i8_cp_async_commit() {
    asm volatile("cp.async.commit_group;\n" ::: "memory");
}

template <int N>
__device__ __forceinline__ void i8_cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

__device__ __forceinline__ void i8_ldmatrix_x4(unsigned& r0, unsigned& r1, unsigned& r2, unsigned& r3, unsigned addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
                 : "r"(addr)
                 : "memory");
}

__device__ __forceinline__ void i8_mma(int* c, unsigned a0, unsigned a1, unsigned a2, unsigned a3, unsigned b0,
                                       unsigned b1) {
    asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
                 "{%0, %1, %2, %3};\n"
                 : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}
#else // native/igemm-emu/int8_emu.h emulates cp.async, ldmatrix and mma on the host (see int8_emu.cpp)
__device__ __forceinline__ void i8_cp_async16(unsigned dst, const void* src) { emu_cp_async16(dst, src); }

__device__ __forceinline__ void i8_cp_async_commit() {}

template <int N>
__device__ __forceinline__ void i8_cp_async_wait() {}

__device__ __forceinline__ void i8_ldmatrix_x4(unsigned& r0, unsigned& r1, unsigned& r2, unsigned& r3, unsigned addr) {
    emu_ldmatrix_x4(r0, r1, r2, r3, addr);
}

__device__ __forceinline__ void i8_mma(int* c, unsigned a0, unsigned a1, unsigned a2, unsigned a3, unsigned b0,
                                       unsigned b1) {
    emu_mma_m16n8k32_s8(c, a0, a1, a2, a3, b0, b1);
}
#endif

// The N tile (BN output channels per block) and how the 8 warps share a 128 × BN tile: 128 × 128 as 2 (M) × 4 (N)
// warps of 64 × 32 outputs (4 × 4 mma tiles each); 128 × 64, for layers of at most 64 channels, as 4 × 2 warps of
// 32 × 32 (2 × 4 mma tiles), so no warp multiplies padded channels.
template <int BN>
struct I8Tile {
    static_assert(BN == 128 || BN == 64, "BN is 128 or 64");
    static constexpr int WARPS_M = BN == 128 ? 2 : 4;    // warps along M
    static constexpr int WARP_ROWS = I8_BM / WARPS_M;    // 64 or 32 pixels per warp
    static constexpr int MI = WARP_ROWS / 16;            // 16-row mma tiles per warp: 4 or 2
    static constexpr int B_ROWS_PER_THREAD = BN / 64;    // weight rows rowL + 64·i each thread copies
    // Where thread tid's accumulators sit in the block's output tile (g = lane / 4, t = lane % 4, as the mma layout
    // below): rows rowBase + 16·i + 8·half, columns colBase + 8·j + e.
    __device__ static int rowBase(int tid) { return ((tid >> 5) % WARPS_M) * WARP_ROWS + ((tid & 31) >> 2); }
    __device__ static int colBase(int tid) { return ((tid >> 5) / WARPS_M) * 32 + 2 * (tid & 3); }
};

// The main loop shared by all variants: leaves Σ s8·w (no zero-point correction yet) of this thread's MI × 4 mma
// tiles in c. Fragment layouts (PTX ISA, mma.m16n8k32 .s8): A reg j holds row g + 8·(j & 1), k = 4·t + 16·(j >> 1)
// + 0..3; B reg j holds column g, k = 4·t + 16·j + 0..3; C holds rows g, g + 8 and columns 2·t, 2·t + 1
// (g = lane / 4, t = lane % 4). ldmatrix.x4 hands lane l the 4 bytes at row l / 4, byte 4·(l % 4) of each 8 × 16-byte
// matrix, which is exactly that layout when the four matrices are chosen as below.
template <int BN = I8_BN>
__device__ __forceinline__ void i8_mainloop(int (&c)[I8Tile<BN>::MI][4][4], const signed char* __restrict__ xh,
                                            const signed char* __restrict__ wp, int h, int wd, int cP, int outH,
                                            int outW, int kw, int sh, int sw, int padTop, int padLeft, int dh, int dw,
                                            int kTotal, int kPadded, int zp, long long M,
                                            signed char** scratch = nullptr) {
    __shared__ __align__(128) signed char As[I8_STAGES][I8_BM * I8_LDS];
    __shared__ __align__(128) signed char Bs[I8_STAGES][BN * I8_LDS];
    using T = I8Tile<BN>;
    if (scratch != nullptr) *scratch = &As[0][0]; // free for an epilogue once the loop's closing barrier has passed

    const int tid = threadIdx.x;
    const int lane = tid & 31, warp = tid >> 5;
    const long long m0 = (long long)blockIdx.x * I8_BM;
    const int n0 = blockIdx.y * BN;

    // Loads: thread tid copies the 16-byte chunk kc of rows rowL and rowL + 64 of the A tile (512 chunks) and of
    // the B tile's BN rows (rowL only when BN = 64: 256 chunks).
    const int kc = tid & 3;
    const int rowL = tid >> 2;
    const int outHW = outH * outW;
    int iy0[2], ix0[2];
    bool mValid[2];
    const signed char* aImg[2];
    const signed char* bRow[T::B_ROWS_PER_THREAD];
#pragma unroll
    for (int i = 0; i < 2; i++) {
        const long long m = m0 + rowL + 64 * i;
        mValid[i] = m < M;
        const long long mm = mValid[i] ? m : 0;
        const long long img = mm / outHW;
        const int p = (int)(mm - img * outHW);
        const int oy = p / outW, ox = p - (p / outW) * outW;
        iy0[i] = oy * sh - padTop;
        ix0[i] = ox * sw - padLeft;
        aImg[i] = xh + img * h * wd * cP;
    }
#pragma unroll
    for (int i = 0; i < T::B_ROWS_PER_THREAD; i++) {
        bRow[i] = wp + (long long)(n0 + rowL + 64 * i) * kPadded + kc * 16;
    }
    // Padding (and rows past M, and the K tail whose weights are 0) reads the shifted zero point: see the header.
    const unsigned padByte = ((unsigned)zp ^ 0x80u) & 0xFFu;
    const unsigned pad4 = padByte * 0x01010101u;

    auto loadTile = [&](int stage, int kt) {
        const int k = kt * I8_BK + kc * 16;
        // cP is a multiple of 16, so a 16-byte chunk never straddles two filter taps (r, s).
        const int rs = k / cP;
        const int c0 = k - rs * cP;
        const int r = rs / kw, s = rs - (rs / kw) * kw;
        const bool kValid = k < kTotal;
#pragma unroll
        for (int i = 0; i < 2; i++) {
            const int iy = iy0[i] + r * dh, ix = ix0[i] + s * dw;
            signed char* dst = &As[stage][(rowL + 64 * i) * I8_LDS + kc * 16];
            if (kValid && mValid[i] && (unsigned)iy < (unsigned)h && (unsigned)ix < (unsigned)wd) {
                i8_cp_async16(i8_smem(dst), aImg[i] + ((long long)iy * wd + ix) * cP + c0);
            } else {
                *reinterpret_cast<uint4*>(dst) = make_uint4(pad4, pad4, pad4, pad4);
            }
        }
#pragma unroll
        for (int i = 0; i < T::B_ROWS_PER_THREAD; i++) {
            i8_cp_async16(i8_smem(&Bs[stage][(rowL + 64 * i) * I8_LDS + kc * 16]), bRow[i] + (long long)kt * I8_BK);
        }
    };

#pragma unroll
    for (int i = 0; i < T::MI; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) c[i][j][e] = 0;

    // warp tile: pixels wm·WARP_ROWS .. + WARP_ROWS − 1, channels wn·32 .. +31
    const int wm = warp % T::WARPS_M, wn = warp / T::WARPS_M;
    const int lm = lane >> 3, lr = lane & 7; // ldmatrix: lanes 8j .. 8j + 7 address the rows of matrix j
    const int kTiles = kPadded / I8_BK;

    loadTile(0, 0);
    i8_cp_async_commit();
    for (int kt = 0; kt < kTiles; kt++) {
        const int st = kt & 1;
        if (kt + 1 < kTiles) {
            loadTile(st ^ 1, kt + 1); // that stage was last read in iteration kt − 1, before its closing barrier
            i8_cp_async_commit();
            i8_cp_async_wait<1>(); // this thread's copies for tile kt are done; tile kt + 1 may still be in flight
        } else {
            i8_cp_async_wait<0>();
        }
        __syncthreads(); // every thread's copies and pad stores of tile kt are visible to every warp
        const signed char* A = As[st];
        const signed char* B = Bs[st];
#pragma unroll
        for (int ks = 0; ks < I8_BK / 32; ks++) {
            unsigned b[4][2];
#pragma unroll
            for (int p = 0; p < 2; p++) {
                // matrices: (n tile 2p, k 0-15), (2p, k 16-31), (2p + 1, k 0-15), (2p + 1, k 16-31)
                const int nr = wn * 32 + p * 16 + (lm >> 1) * 8 + lr;
                i8_ldmatrix_x4(b[2 * p][0], b[2 * p][1], b[2 * p + 1][0], b[2 * p + 1][1],
                               i8_smem(&B[nr * I8_LDS + ks * 32 + (lm & 1) * 16]));
            }
#pragma unroll
            for (int i = 0; i < T::MI; i++) {
                // matrices: (rows 0-7, k 0-15), (rows 8-15, k 0-15), (rows 0-7, k 16-31), (rows 8-15, k 16-31)
                const int mr = wm * T::WARP_ROWS + i * 16 + (lm & 1) * 8 + lr;
                unsigned a0, a1, a2, a3;
                i8_ldmatrix_x4(a0, a1, a2, a3, i8_smem(&A[mr * I8_LDS + ks * 32 + (lm >> 1) * 16]));
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    i8_mma(c[i][j], a0, a1, a2, a3, b[j][0], b[j][1]);
                }
            }
        }
        __syncthreads(); // all warps are done with stage st before iteration kt + 1 refills it
    }
}

extern "C" __global__ void __launch_bounds__(I8_THREADS, 2)
conv2d_int8_igemm(const signed char* __restrict__ xh, const signed char* __restrict__ wp, const int* __restrict__ wsum,
                  int* __restrict__ acc, int n, int h, int wd, int cP, int cout, int outH, int outW, int kw, int sh,
                  int sw, int padTop, int padLeft, int dh, int dw, int kTotal, int kPadded, int zp) {
    const int outHW = outH * outW;
    const long long M = (long long)n * outHW;
    int c[4][4][4];
    i8_mainloop(c, xh, wp, h, wd, cP, outH, outW, kw, sh, sw, padTop, padLeft, dh, dw, kTotal, kPadded, zp, M);

    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const long long mBase = (long long)blockIdx.x * I8_BM + (warp & 1) * 64 + g;
    const int nBase = blockIdx.y * I8_BN + (warp >> 1) * 32 + 2 * t;
    const unsigned zpShift = (unsigned)(zp - 128);
#pragma unroll
    for (int i = 0; i < 4; i++) {
#pragma unroll
        for (int half = 0; half < 2; half++) {
            const long long m = mBase + i * 16 + half * 8;
            if (m >= M) continue;
            const long long img = m / outHW;
            const long long p = m - img * outHW;
#pragma unroll
            for (int j = 0; j < 4; j++) {
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    const int co = nBase + j * 8 + e;
                    if (co < cout) {
                        // unsigned: the correction wraps like Java int arithmetic (no signed-overflow UB)
                        const unsigned v = (unsigned)c[i][j][half * 2 + e] - zpShift * (unsigned)wsum[co];
                        acc[(img * cout + co) * outHW + p] = (int)v;
                    }
                }
            }
        }
    }
}

// act: 0 none, 1 ReLU (y > 0 ? y : 0, Activation.Relu), 2 clip to [lo, hi] (ReLU6 = clip(0, 6)).
extern "C" __global__ void __launch_bounds__(I8_THREADS, 2)
conv2d_int8_igemm_fused(const signed char* __restrict__ xh, const signed char* __restrict__ wp,
                        const int* __restrict__ wsum, const int* __restrict__ bias, const float* __restrict__ scale,
                        const float* __restrict__ residual, unsigned char* __restrict__ out, int n, int h, int wd,
                        int cP, int cout, int outH, int outW, int kw, int sh, int sw, int padTop, int padLeft, int dh,
                        int dw, int kTotal, int kPadded, int zp, int act, float lo, float hi, float outScale,
                        int outZp, int qmax) {
    const int outHW = outH * outW;
    const long long M = (long long)n * outHW;
    int c[4][4][4];
    i8_mainloop(c, xh, wp, h, wd, cP, outH, outW, kw, sh, sw, padTop, padLeft, dh, dw, kTotal, kPadded, zp, M);

    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const long long mBase = (long long)blockIdx.x * I8_BM + (warp & 1) * 64 + g;
    const int nBase = blockIdx.y * I8_BN + (warp >> 1) * 32 + 2 * t;
    const unsigned zpShift = (unsigned)(zp - 128);
#pragma unroll
    for (int i = 0; i < 4; i++) {
#pragma unroll
        for (int half = 0; half < 2; half++) {
            const long long m = mBase + i * 16 + half * 8;
            if (m >= M) continue;
#pragma unroll
            for (int j = 0; j < 4; j++) {
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    const int co = nBase + j * 8 + e;
                    if (co >= cout) continue;
                    const int a = (int)((unsigned)c[i][j][half * 2 + e] - zpShift * (unsigned)wsum[co]);
                    const long long v = (long long)a + bias[co];
                    // IntegerModel computes (double)(acc + bias)·scale and rounds once to float. For |v| <= 2^24,
                    // (float)v is exact and the float product is that same correctly rounded value (24 × 24 bits
                    // fit a double exactly); larger sums take the double path so that they round identically too.
                    // The __f*_rn intrinsics keep nvcc from contracting the multiply and add into an FMA, which
                    // would round once where Java rounds twice.
                    float y;
                    if (v >= -16777216LL && v <= 16777216LL) {
                        y = __fmul_rn((float)v, scale[co]);
                    } else {
                        y = __double2float_rn((double)v * (double)scale[co]);
                    }
                    const long long o = m * cout + co;
                    if (residual != nullptr) {
                        y = __fadd_rn(y, residual[o]);
                    }
                    if (act == 1) {
                        y = y > 0.f ? y : 0.f;
                    } else if (act == 2) {
                        y = fminf(fmaxf(y, lo), hi);
                    }
                    // ActivationParams.quantize: rint(y / scale) (half to even) + zp, clamped; the clamp to ±512
                    // first keeps + outZp from overflowing when the conversion saturates.
                    int q = __float2int_rn(__fdiv_rn(y, outScale));
                    q = min(max(q, -512), 512) + outZp;
                    out[o] = (unsigned char)min(max(q, 0), qmax);
                }
            }
        }
    }
}

// The chain epilogue's steps, IntegerModel's float expressions with the same roundings (see
// conv2d_int8_igemm_fused): (acc − (zp − 128)·Σw + bias)·scale rounded once to float;
__device__ __forceinline__ float i8_chain_scaled(int acc, unsigned zpShift, int ws, int b, float sc) {
    const int a = (int)((unsigned)acc - zpShift * (unsigned)ws); // wraps like Java int arithmetic
    const long long v = (long long)a + b;
    if (v >= -16777216LL && v <= 16777216LL) return __fmul_rn((float)v, sc);
    return __double2float_rn((double)v * (double)sc);
}

// + (q − resZp)·resScale, q the uint8 code of the shifted s8 residual (ActivationParams.dequantize);
__device__ __forceinline__ float i8_chain_add_code(float y, signed char s8, float resScale, int resZp) {
    const int q = (int)((unsigned char)s8 ^ 0x80u); // (q − zp) is an exact int, its float exact too
    return __fadd_rn(y, __fmul_rn((float)(q - resZp), resScale));
}

// act: 0 none, 1 ReLU, 2 clip to [lo, hi];
__device__ __forceinline__ float i8_chain_act(float y, int act, float lo, float hi) {
    if (act == 1) return y > 0.f ? y : 0.f;
    if (act == 2) return fminf(fmaxf(y, lo), hi);
    return y;
}

// ActivationParams.quantize: clamp(rint(y / scale) + zp, 0, qmax), as the shifted s8 code q ^ 0x80.
__device__ __forceinline__ signed char i8_chain_code(float y, float outScale, int outZp, int qmax) {
    int q = __float2int_rn(__fdiv_rn(y, outScale));
    q = min(max(q, -512), 512) + outZp; // the clamp to ±512 first keeps + outZp from overflowing
    return (signed char)(unsigned char)((unsigned)min(max(q, 0), qmax) ^ 0x80u);
}

// conv2d_int8_igemm_chain: the variant CudaIntegerModel chains layer to layer on the device. Same main loop and
// the same epilogue arithmetic as conv2d_int8_igemm_fused, but the operands of a whole-model run instead of one call:
//   residual (resMode): 0 none; 1 float (N, outH, outW, Cout); 2 shifted codes s8 = q ^ 0x80 (N, outH, outW,
//            resStride) of quantizer (resScale, resZp), added as (q − resZp)·resScale, the float expression of
//            ActivationParams.dequantize that IntegerModel's epilogue adds.
//   out (outMode): 0 shifted codes q ^ 0x80 (N, outH, outW, outStride), i.e. directly the NHWC s8 operand the next
//            layer's main loop reads, so no transform runs between layers (channels ≥ Cout are never written: the
//            owner fills them with the shifted zero point once); 1 float (N, outH, outW, outStride), no
//            activation quantizer (a layer whose output is not a site, e.g. the logits).
// The order is IntegerModel's fused chain: scale, then the residual add, then the activation, then requantize.
// With codes out and no float residual (most layers of a ResNet), the output tile, and a codes residual, pass through
// shared memory so that global memory is read and written in whole 16-byte chunks.
// The block's 128 × BN tile of codes in shared memory (row stride I8_OT) and global NHWC codes, in 16-byte chunks:
// i8_tile_load fills it from rows m0 … of src (row stride `stride`, a multiple of 16, so a chunk starting below it lies
// wholly inside the row), rows past M and chunks past the stride left as they were; i8_tile_store writes it to dst,
// never past row M or channel Cout.
template <int BN>
__device__ __forceinline__ void i8_tile_load(signed char* tile, const signed char* __restrict__ src, int stride,
                                             long long m0, int n0, long long M) {
    constexpr int CHUNKS = BN / 16;
    for (int idx = threadIdx.x; idx < I8_BM * CHUNKS; idx += I8_THREADS) {
        const int row = idx / CHUNKS, col = (idx % CHUNKS) * 16;
        const long long m = m0 + row;
        if (m < M && n0 + col < stride) {
            *reinterpret_cast<uint4*>(&tile[row * I8_OT + col]) =
                *reinterpret_cast<const uint4*>(&src[m * stride + n0 + col]);
        }
    }
}

template <int BN>
__device__ __forceinline__ void i8_tile_store(const signed char* tile, signed char* __restrict__ dst, int stride,
                                              long long m0, int n0, long long M, int cout) {
    constexpr int CHUNKS = BN / 16;
    for (int idx = threadIdx.x; idx < I8_BM * CHUNKS; idx += I8_THREADS) {
        const int row = idx / CHUNKS, col = (idx % CHUNKS) * 16;
        const long long m = m0 + row;
        const int co = n0 + col;
        if (m >= M || co >= cout) continue;
        signed char* d = &dst[m * stride + co];
        const signed char* s = &tile[row * I8_OT + col];
        if (co + 16 <= cout) {
            *reinterpret_cast<uint4*>(d) = *reinterpret_cast<const uint4*>(s);
        } else {
            for (int b = 0; b < cout - co; b++) d[b] = s[b]; // the last channels: never past Cout
        }
    }
}

static_assert(I8_BM * I8_OT <= I8_STAGES * I8_BM * I8_LDS, "the output tile must fit the A stages it reuses");
template <int BN>
__device__ __forceinline__ void i8_chain(const signed char* __restrict__ xh, const signed char* __restrict__ wp,
                        const int* __restrict__ wsum, const int* __restrict__ bias, const float* __restrict__ scale,
                        const void* __restrict__ residual, int resMode, int resStride, float resScale, int resZp,
                        void* __restrict__ out, int outMode, int outStride, int n, int h, int wd, int cP, int cout,
                        int outH, int outW, int kw, int sh, int sw, int padTop, int padLeft, int dh, int dw, int kTotal,
                        int kPadded, int zp, int act, float lo, float hi, float outScale, int outZp, int qmax) {
    const int outHW = outH * outW;
    const long long M = (long long)n * outHW;
    using T = I8Tile<BN>;
    int c[T::MI][4][4];
    signed char* tile;
    i8_mainloop<BN>(c, xh, wp, h, wd, cP, outH, outW, kw, sh, sw, padTop, padLeft, dh, dw, kTotal, kPadded, zp, M,
                    &tile);

    const int tid = threadIdx.x;
    const long long m0 = (long long)blockIdx.x * I8_BM;
    const int n0 = blockIdx.y * BN;
    const int rBase = T::rowBase(tid), cBase = T::colBase(tid);
    const unsigned zpShift = (unsigned)(zp - 128);
    const float* resF = static_cast<const float*>(residual);
    const signed char* resQ = static_cast<const signed char*>(residual);
    float* outF = static_cast<float*>(out);
    signed char* outQ = static_cast<signed char*>(out);

    if (outMode == 0 && resMode != 1) {
        // Codes out (and codes or no residual in): the 128 × 128 output tile goes through shared memory, so that global
        // memory sees whole 16-byte rows of codes instead of one byte per thread and element. The residual tile comes
        // in the same way, into the same bytes: each thread reads its residual codes and writes its output codes in
        // place, at positions no other thread touches. Channels ≥ Cout are neither read nor written.
        if (resMode == 2) {
            i8_tile_load<BN>(tile, resQ, resStride, m0, n0, M);
            __syncthreads(); // the residual tile is in place before any thread reads its part of it
        }
#pragma unroll
        for (int i = 0; i < T::MI; i++) {
#pragma unroll
            for (int half = 0; half < 2; half++) {
                const int row = rBase + i * 16 + half * 8;
                if (m0 + row >= M) continue;
#pragma unroll
                for (int j = 0; j < 4; j++) {
#pragma unroll
                    for (int e = 0; e < 2; e++) {
                        const int col = cBase + j * 8 + e, co = n0 + col;
                        if (co >= cout) continue;
                        signed char* cell = &tile[row * I8_OT + col];
                        float y = i8_chain_scaled(c[i][j][half * 2 + e], zpShift, wsum[co], bias[co], scale[co]);
                        if (resMode == 2) y = i8_chain_add_code(y, *cell, resScale, resZp);
                        *cell = i8_chain_code(i8_chain_act(y, act, lo, hi), outScale, outZp, qmax);
                    }
                }
            }
        }
        __syncthreads(); // the whole output tile is in shared memory
        i8_tile_store<BN>(tile, outQ, outStride, m0, n0, M, cout);
        return;
    }

    // Float output or float residual: straight from the accumulators to global memory, a row segment (8 channels of
    // one pixel: 4 × 2 adjacent) at a time, its residual floats fetched together first and adjacent pairs moved as
    // float2 where the row stride keeps them 8-byte aligned (co is even: n0 and cBase are).
    const bool resPairs = (resStride & 1) == 0, outPairs = (outStride & 1) == 0;
#pragma unroll
    for (int i = 0; i < T::MI; i++) {
#pragma unroll
        for (int half = 0; half < 2; half++) {
            const long long m = m0 + rBase + i * 16 + half * 8;
            if (m >= M) continue;
            float r[4][2];
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const int co = n0 + cBase + j * 8;
                r[j][0] = 0.f;
                r[j][1] = 0.f;
                if (resMode == 1 && co < cout) {
                    const float* src = &resF[m * resStride + co];
                    if (resPairs && co + 1 < cout) {
                        const float2 v = *reinterpret_cast<const float2*>(src);
                        r[j][0] = v.x;
                        r[j][1] = v.y;
                    } else {
                        r[j][0] = src[0];
                        if (co + 1 < cout) r[j][1] = src[1];
                    }
                }
            }
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const int co0 = n0 + cBase + j * 8;
                float y2[2];
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    const int co = co0 + e;
                    y2[e] = 0.f;
                    if (co >= cout) continue;
                    float y = i8_chain_scaled(c[i][j][half * 2 + e], zpShift, wsum[co], bias[co], scale[co]);
                    if (resMode == 1) {
                        y = __fadd_rn(y, r[j][e]);
                    } else if (resMode == 2) {
                        y = i8_chain_add_code(y, resQ[m * resStride + co], resScale, resZp);
                    }
                    y2[e] = i8_chain_act(y, act, lo, hi);
                }
                if (co0 >= cout) continue;
                const long long o = m * outStride + co0;
                if (outMode == 1) {
                    if (outPairs && co0 + 1 < cout) {
                        *reinterpret_cast<float2*>(&outF[o]) = make_float2(y2[0], y2[1]);
                    } else {
                        outF[o] = y2[0];
                        if (co0 + 1 < cout) outF[o + 1] = y2[1];
                    }
                } else {
                    outQ[o] = i8_chain_code(y2[0], outScale, outZp, qmax);
                    if (co0 + 1 < cout) outQ[o + 1] = i8_chain_code(y2[1], outScale, outZp, qmax);
                }
            }
        }
    }
}

// The C entry points of i8_chain for the driver's cuModuleGetFunction: the N tile, and the blocks per SM that the
// registers are budgeted for.
#define I8_CHAIN_ENTRY(NAME, BN, MIN_BLOCKS)                                                                           \
    extern "C" __global__ void __launch_bounds__(I8_THREADS, MIN_BLOCKS) NAME(                                         \
        const signed char* __restrict__ xh, const signed char* __restrict__ wp, const int* __restrict__ wsum,          \
        const int* __restrict__ bias, const float* __restrict__ scale, const void* __restrict__ residual, int resMode, \
        int resStride, float resScale, int resZp, void* __restrict__ out, int outMode, int outStride, int n, int h,     \
        int wd, int cP, int cout, int outH, int outW, int kw, int sh, int sw, int padTop, int padLeft, int dh, int dw, \
        int kTotal, int kPadded, int zp, int act, float lo, float hi, float outScale, int outZp, int qmax) {           \
        i8_chain<BN>(xh, wp, wsum, bias, scale, residual, resMode, resStride, resScale, resZp, out, outMode,           \
                     outStride, n, h, wd, cP, cout, outH, outW, kw, sh, sw, padTop, padLeft, dh, dw, kTotal, kPadded,  \
                     zp, act, lo, hi, outScale, outZp, qmax);                                                          \
    }

I8_CHAIN_ENTRY(conv2d_int8_igemm_chain, 128, 2)

// conv2d_int8_igemm_chain64: the same for layers of at most 64 output channels, on 128 × 64 tiles (grid.y = 1), where
// the 128-channel tile would spend half its tensor-core work and half its epilogue warps on padded channels.
I8_CHAIN_ENTRY(conv2d_int8_igemm_chain64, 64, 3)

// ---------------------------------------------------------------------------------------------------------------------
// conv2d_int8_igemm_lean*: the chain kernel's codes-out path (outMode 0, any residual mode), and its float-out path
// without a residual, with a branch-free epilogue, computing the SAME outputs bit for bit, one mode per entry point:
// 1.4–3.7 k SASS instructions per kernel on sm_90 against the chain kernel's 35 k (benchmarks/RESULTS.md). Nsight
// Compute on the H200 (GPU run 5) had the chain kernel issuing ~100 instructions per output on the K = 64 layers
// (latency-bound at 25 % occupancy, a third of the stalls waiting on instruction fetch): the epilogue, not the tensor
// cores, set their time. What changed:
//   * zero point and bias in one int32 add: v = acc + bz[c], bz[c] = bias[c] − (zp − 128)·Σw[c] computed by the host.
//     Wrapping int32 arithmetic is a ring, so v equals IntegerModel's (long) Σ(q − zp)·w + bias whenever that value
//     fits in int32; the host (CudaIntegerModel.Lean) only picks this kernel when B = max over channels of
//     255·Σ|w| + |bias| is below 2^31 − 1 (then Σ(q − zp)·w does not wrap in IntegerModel either).
//   * the |v| ≤ 2^24 test (float product = double product rounded once) is compiled out (WIDE = false) when
//     B ≤ 2^24 shows it always holds; WIDE = true keeps the double path.
//   * the activation is folded into the code clamp: quantize is monotonic, so quantize(relu(y)) = max(quantize(y),
//     quantize(0)) and quantize(clip(y, lo, hi)) = clamp(quantize(y), quantize(lo), quantize(hi)); the host passes
//     those code bounds (ActivationParams.quantize), minus the zero point, as kLo, kHi.
//   * rint(RN(y / s)) without the IEEE division's slow-path branch: with inv = RN(1 / s) from the host,
//     q0 = RN(y·inv) is within 1.5 ulp of y / s; one FMA correction step q1 = RN(q0 + RN(y − q0·s)·inv) is within
//     1 ulp (faithful), and then Markstein's theorem (inv correctly rounded, q1 faithful, the remainder y − q1·s exact
//     by FMA) makes q2 = RN(q1 + (y − q1·s)·inv) = RN(y / s). Conditions: no overflow or underflow in between, which
//     the clamp of y to ±1024·s (exact: a power of two times s; every |y / s| ≥ 512 saturates the codes anyway) and
//     the host's 2^−60 ≤ s ≤ 2^60 guarantee. The emulator checks it on millions of values, near-ties included.
//   * no per-output bounds checks: rows past M and channels past Cout are computed on whatever the tile holds and
//     simply not copied out (bz, sc are zero-padded to the grid's channel count); per-channel constants come from
//     shared memory, loaded once per block.
// Arguments: chan (coutTiles·BN) int2 {bz, float bits of scale}; kLo/kHi code bounds minus outZp; lim = 1024·outScale;
// inv = RN(1 / outScale); zpS = outZp − 128 (the stored code is q ^ 0x80 = q − 128).

// The lean requantization: clamp(rint(RN(y / s)), kLo, kHi), see above.
__device__ __forceinline__ int i8_lean_quantize(float y, float lim, float s, float inv, int kLo, int kHi) {
    y = fminf(fmaxf(y, -lim), lim);
    const float q0 = __fmul_rn(y, inv);
    const float q1 = __fmaf_rn(__fmaf_rn(-q0, s, y), inv, q0);
    const float q2 = __fmaf_rn(__fmaf_rn(-q1, s, y), inv, q1);
    return min(max(__float2int_rn(q2), kLo), kHi);
}

// v·sc rounded once to float, as i8_chain_scaled: the float product where |v| ≤ 2^24 (exact operands), the double
// product rounded to float beyond; without WIDE the host has shown |v| ≤ 2^24 always.
template <bool WIDE>
__device__ __forceinline__ float i8_lean_scaled(int v, float sc) {
    if (WIDE && (unsigned)v + (1u << 24) > (1u << 25)) return __double2float_rn((double)v * (double)sc);
    return __fmul_rn(__int2float_rn(v), sc);
}

// RES: 0 no residual, 1 float (N, outH, outW, resStride), 2 shifted codes (N, outH, outW, resStride), as resMode of
// the chain kernel.
// OUTF: float out (N, outH, outW, outStride) instead of codes, no quantizer: y after the activation (act 0 none,
// 1 ReLU, 2 clip to [lo, hi], as the chain kernel), stored from the registers (a tile row of floats would not fit the
// stages); only without a residual (the conv before a ResNet stage's first add, the logits). Codes out ignore act, lo
// and hi: their activation is in kLo/kHi.
template <int BN, int RES, bool WIDE, bool OUTF = false>
__device__ __forceinline__ void i8_lean(const signed char* __restrict__ xh, const signed char* __restrict__ wp,
                                        const int2* __restrict__ chan, const void* __restrict__ residual,
                                        int resStride, float resScale, int resZp, void* __restrict__ out,
                                        int outStride, int n, int h, int wd, int cP, int cout, int outH, int outW,
                                        int kw, int sh, int sw, int padTop, int padLeft, int dh, int dw, int kTotal,
                                        int kPadded, int zp, float outScale, float inv, float lim, int kLo, int kHi,
                                        int zpS, int act, float lo, float hi) {
    static_assert(!OUTF || RES == 0, "float out only without a residual");
    __shared__ __align__(16) int2 chanS[BN];
    const int tid = threadIdx.x;
    const int n0 = blockIdx.y * BN;
    if (tid < BN) chanS[tid] = chan[n0 + tid]; // visible after the main loop's first barrier
    const int outHW = outH * outW;
    const long long M = (long long)n * outHW;
    using T = I8Tile<BN>;
    int c[T::MI][4][4];
    signed char* tile;
    i8_mainloop<BN>(c, xh, wp, h, wd, cP, outH, outW, kw, sh, sw, padTop, padLeft, dh, dw, kTotal, kPadded, zp, M,
                    &tile);

    const long long m0 = (long long)blockIdx.x * I8_BM;
    const int rBase = T::rowBase(tid), cBase = T::colBase(tid);
    if (RES == 2) {
        i8_tile_load<BN>(tile, static_cast<const signed char*>(residual), resStride, m0, n0, M);
        __syncthreads();
    }
    // A float residual is read straight from global memory, at a row and channel clamped into the tensor: the outputs
    // of rows past M and channels past Cout are computed from some in-bounds value and never stored.
    const float* resF = static_cast<const float*>(residual);
    long long resRow[T::MI][2];
#pragma unroll
    for (int i = 0; i < T::MI; i++)
#pragma unroll
        for (int half = 0; half < 2; half++) {
            resRow[i][half] = RES == 1 ? min(m0 + rBase + i * 16 + half * 8, M - 1) * resStride : 0;
        }
    // Each thread's outputs come in pairs of adjacent channels (e = 0, 1 of an mma C fragment): their constants are one
    // 16-byte shared load, their residual codes one 2-byte load and their output codes one 2-byte store.
#pragma unroll
    for (int j = 0; j < 4; j++) {
        const int col = cBase + j * 8; // even
        const int4 ch = *reinterpret_cast<const int4*>(&chanS[col]);
        const float sc0 = __int_as_float(ch.y), sc1 = __int_as_float(ch.w);
        const int resCol0 = RES == 1 ? min(n0 + col, cout - 1) : 0, resCol1 = RES == 1 ? min(n0 + col + 1, cout - 1) : 0;
#pragma unroll
        for (int i = 0; i < T::MI; i++) {
#pragma unroll
            for (int half = 0; half < 2; half++) {
                unsigned short* cell = reinterpret_cast<unsigned short*>(&tile[(rBase + i * 16 + half * 8) * I8_OT + col]);
                float y0 = i8_lean_scaled<WIDE>((int)((unsigned)c[i][j][half * 2] + (unsigned)ch.x), sc0);
                float y1 = i8_lean_scaled<WIDE>((int)((unsigned)c[i][j][half * 2 + 1] + (unsigned)ch.z), sc1);
                if (RES == 1) {
                    y0 = __fadd_rn(y0, resF[resRow[i][half] + resCol0]);
                    y1 = __fadd_rn(y1, resF[resRow[i][half] + resCol1]);
                }
                if (RES == 2) {
                    const unsigned r = *cell; // the two stored s8 codes, channel col in the low byte
                    y0 = i8_chain_add_code(y0, (signed char)(r & 0xFFu), resScale, resZp);
                    y1 = i8_chain_add_code(y1, (signed char)(r >> 8), resScale, resZp);
                }
                if (OUTF) {
                    const long long m = m0 + rBase + i * 16 + half * 8;
                    const int co = n0 + col;
                    if (m < M && co < cout) {
                        float* dst = static_cast<float*>(out) + m * outStride + co;
                        y0 = i8_chain_act(y0, act, lo, hi);
                        y1 = i8_chain_act(y1, act, lo, hi);
                        if (co + 1 < cout && (outStride & 1) == 0) {
                            *reinterpret_cast<float2*>(dst) = make_float2(y0, y1); // co even: 8-byte aligned
                        } else {
                            dst[0] = y0;
                            if (co + 1 < cout) dst[1] = y1;
                        }
                    }
                    continue;
                }
                const int q0 = i8_lean_quantize(y0, lim, outScale, inv, kLo, kHi) + zpS;
                const int q1 = i8_lean_quantize(y1, lim, outScale, inv, kLo, kHi) + zpS;
                *cell = (unsigned short)((q0 & 0xFF) | ((q1 & 0xFF) << 8));
            }
        }
    }
    if (OUTF) return;
    __syncthreads();
    i8_tile_store<BN>(tile, static_cast<signed char*>(out), outStride, m0, n0, M, cout);
}

#define I8_LEAN_ENTRY(NAME, BN, MIN_BLOCKS, RES, WIDE, OUTF)                                                           \
    extern "C" __global__ void __launch_bounds__(I8_THREADS, MIN_BLOCKS) NAME(                                         \
        const signed char* __restrict__ xh, const signed char* __restrict__ wp, const int2* __restrict__ chan,         \
        const void* __restrict__ residual, int resStride, float resScale, int resZp, void* __restrict__ out,            \
        int outStride, int n, int h, int wd, int cP, int cout, int outH, int outW, int kw, int sh, int sw, int padTop,  \
        int padLeft, int dh, int dw, int kTotal, int kPadded, int zp, float outScale, float inv, float lim, int kLo,    \
        int kHi, int zpS, int act, float lo, float hi) {                                                               \
        i8_lean<BN, RES, WIDE, OUTF>(xh, wp, chan, residual, resStride, resScale, resZp, out, outStride, n, h, wd, cP,  \
                                     cout, outH, outW, kw, sh, sw, padTop, padLeft, dh, dw, kTotal, kPadded, zp,       \
                                     outScale, inv, lim, kLo, kHi, zpS, act, lo, hi);                                  \
    }

// Six codes-out entry points per tile width: NAME (no residual), NAME_res (codes residual), NAME_resf (float
// residual), and each of them again as _wide (the double path kept): conv2d_int8_igemm_lean[_res|_resf][_wide] on
// 128 × 128 tiles, conv2d_int8_igemm_lean64[_res|_resf][_wide] on 128 × 64; and float out without a residual on the
// 128-wide tile, conv2d_int8_igemm_lean_f[_wide].
#define I8_LEAN_FAMILY(NAME, BN, MIN_BLOCKS)                                                                           \
    I8_LEAN_ENTRY(NAME, BN, MIN_BLOCKS, 0, false, false)                                                               \
    I8_LEAN_ENTRY(NAME##_res, BN, MIN_BLOCKS, 2, false, false)                                                         \
    I8_LEAN_ENTRY(NAME##_resf, BN, MIN_BLOCKS, 1, false, false)                                                        \
    I8_LEAN_ENTRY(NAME##_wide, BN, MIN_BLOCKS, 0, true, false)                                                         \
    I8_LEAN_ENTRY(NAME##_res_wide, BN, MIN_BLOCKS, 2, true, false)                                                     \
    I8_LEAN_ENTRY(NAME##_resf_wide, BN, MIN_BLOCKS, 1, true, false)

I8_LEAN_FAMILY(conv2d_int8_igemm_lean, 128, 2)
I8_LEAN_FAMILY(conv2d_int8_igemm_lean64, 64, 3)
I8_LEAN_ENTRY(conv2d_int8_igemm_lean_f, 128, 2, 0, false, true)
I8_LEAN_ENTRY(conv2d_int8_igemm_lean_f_wide, 128, 2, 0, true, true)
