// Host emulation of the few CUDA features the igemm kernels use: one OS thread per CUDA thread, a std::barrier for
// __syncthreads, __shared__ arrays as function statics (blocks run one after another), float4/int4 as plain structs.
// Good for indexing, coverage and barrier placement (with -fsanitize=thread); says nothing about speed.
// The TF32 kernels' two device primitives are emulated too: cvt.rna.tf32.f32 (tf32_rna) and the warp-collective
// mma.sync m16n8k8 tf32 (mma_m16n8k8_tf32: each lane stages its fragments, a per-warp barrier, each lane rebuilds the
// 16×8, 8×8 and 16×8 matrices from the PTX ISA fragment layout and reads back its own four accumulators).
#pragma once
#define ZEROQ_HOST_EMU 1 // the kernels' asm versions (tf32_rna / mma_m16n8k8_tf32 below, the int8 ones in int8_emu.h) step aside
#include <algorithm>
#include <atomic>
#include <barrier>
#include <cstdint>
#include <memory>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>
#include <functional>
struct dim3e { unsigned x, y, z; };
struct float2 { float x, y; };
struct float4 { float x, y, z, w; };
struct int4 { int x, y, z, w; };
static inline float2 make_float2(float a, float b) { return {a, b}; }
static inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
inline thread_local dim3e threadIdx, blockIdx;
inline dim3e gridDim, blockDim;
inline std::barrier<>* g_bar;
inline std::barrier<>* g_warpBar[32]; // one per warp of the running block (blocks run one after another)
static inline void __syncthreads() { g_bar->arrive_and_wait(); }
#define __device__
#define __forceinline__ inline
#define __global__
#define __launch_bounds__(...)
#define __shared__ static
#define __restrict__ __restrict
#define __align__(n) __attribute__((aligned(n)))
// Grid-stride kernels (no barriers): blocks of 256 "threads" over ceil(count/256) blocks (at most 65535), the threads
// run one after another on the calling OS thread.
template <class F> static void launchSerial(long long count, F body) {
    blockDim = {256, 1, 1};
    gridDim = {(unsigned)std::clamp<long long>((count + 255) / 256, 1, 65535), 1, 1};
    for (unsigned b = 0; b < gridDim.x; b++)
        for (unsigned t = 0; t < 256; t++) { blockIdx = {b, 0, 0}; threadIdx = {t, 0, 0}; body(); }
}
// The CUDA thread with linear index t of a block (x fastest, as the hardware numbers them; warps are 32 consecutive t).
static inline dim3e emuThread(unsigned t, dim3e b) { return {t % b.x, t / b.x % b.y, t / (b.x * b.y)}; }
// Blocks one after another, each with one OS thread per CUDA thread, a barrier per block and per warp.
static void launch(dim3e grid, dim3e block, std::function<void()> body) {
    gridDim = grid; blockDim = block;
    const int threads = (int)(block.x * block.y * block.z);
    for (unsigned z = 0; z < grid.z; z++) for (unsigned y = 0; y < grid.y; y++) for (unsigned x = 0; x < grid.x; x++) {
        std::barrier<> bar(threads);
        g_bar = &bar;
        std::vector<std::unique_ptr<std::barrier<>>> warpBars;
        for (int w = 0; w * 32 < threads; w++) {
            warpBars.push_back(std::make_unique<std::barrier<>>(std::min(32, threads - 32 * w)));
            g_warpBar[w] = warpBars.back().get();
        }
        std::vector<std::thread> ts;
        for (int t = 0; t < threads; t++) ts.emplace_back([&, t] { threadIdx = emuThread((unsigned)t, block); blockIdx = {x, y, z}; body(); });
        for (auto& th : ts) th.join();
    }
}
static void launch(dim3e grid, int threads, std::function<void()> body) { launch(grid, dim3e{(unsigned)threads, 1, 1}, body); }
// Kernels without barriers or warp-collective operations: every CUDA thread in turn on the calling OS thread.
static void launchSerialGrid(dim3e grid, dim3e block, const std::function<void()>& body) {
    gridDim = grid; blockDim = block;
    const unsigned n = block.x * block.y * block.z;
    for (unsigned z = 0; z < grid.z; z++) for (unsigned y = 0; y < grid.y; y++) for (unsigned x = 0; x < grid.x; x++)
        for (unsigned t = 0; t < n; t++) { blockIdx = {x, y, z}; threadIdx = emuThread(t, block); body(); }
}

// ---- TF32 ----
static inline uint32_t emu_bits(float x) { uint32_t u; std::memcpy(&u, &x, 4); return u; }
static inline float emu_float(uint32_t u) { float x; std::memcpy(&x, &u, 4); return x; }

// cvt.rna.tf32.f32: keep 10 of the 23 mantissa bits, rounding to nearest with ties away from zero. On the sign-magnitude
// bit pattern that is "add half of the dropped range (bit 12), clear the 13 low bits": a tie (low bits exactly 0x1000)
// goes up in magnitude, i.e. away from zero; a carry out of the mantissa bumps the exponent (to infinity past the
// largest TF32 value), as rounding should. NaN stays a (quiet) NaN, infinities stay.
static inline unsigned tf32_rna(float x) {
    uint32_t u = emu_bits(x);
    if ((u & 0x7f800000u) == 0x7f800000u) return (u & 0x007fffffu) ? ((u & 0xffffe000u) | 0x00400000u) : u;
    return (u + 0x1000u) & 0xffffe000u;
}

// Operands handed to the emulated mma with any of the 13 low bits set: the kernel forgot to round (hardware would
// silently ignore those bits). igemm_emu.cpp fails when this is not zero.
inline std::atomic<long long> g_unroundedOperands{0};

struct WarpMmaStage { uint32_t a[32][4]; uint32_t b[32][2]; };
inline WarpMmaStage g_mmaStage[32];

// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32, warp-collective. Fragment layouts from the PTX ISA, section
// "Matrix Fragments for mma.m16n8k8" (multiplicand A and B with .tf32, accumulators C/D with .f32), with
// groupID = laneid >> 2 and threadID_in_group = laneid % 4:
//   A: row = groupID for a0, a2 and groupID + 8 for a1, a3; col = threadID_in_group for a0, a1, + 4 for a2, a3
//   B: row = threadID_in_group for b0 and threadID_in_group + 4 for b1; col = groupID
//   C/D: row = groupID for c0, c1 and groupID + 8 for c2, c3; col = threadID_in_group·2 + (i & 1) for ci
// The sum runs in double and is rounded to float once per instruction: the products of two TF32 values are exact in
// FP32 and the hardware's FP32 accumulation differs from this only by FP32 rounding (covered by the tolerances).
static inline void mma_m16n8k8_tf32(float* d, unsigned a0, unsigned a1, unsigned a2, unsigned a3, unsigned b0,
                                    unsigned b1) {
    const int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
    WarpMmaStage& s = g_mmaStage[w];
    const uint32_t mine[6] = {a0, a1, a2, a3, b0, b1};
    for (uint32_t v : mine) if (v & 0x1fffu) g_unroundedOperands++;
    s.a[lane][0] = a0; s.a[lane][1] = a1; s.a[lane][2] = a2; s.a[lane][3] = a3;
    s.b[lane][0] = b0; s.b[lane][1] = b1;
    g_warpBar[w]->arrive_and_wait(); // every lane's fragments staged
    double A[16][8], B[8][8];
    for (int l = 0; l < 32; l++) {
        const int gid = l >> 2, tig = l & 3;
        // Only the 19 TF32 bits take part, as on the hardware.
        A[gid][tig] = emu_float(s.a[l][0] & 0xffffe000u);
        A[gid + 8][tig] = emu_float(s.a[l][1] & 0xffffe000u);
        A[gid][tig + 4] = emu_float(s.a[l][2] & 0xffffe000u);
        A[gid + 8][tig + 4] = emu_float(s.a[l][3] & 0xffffe000u);
        B[tig][gid] = emu_float(s.b[l][0] & 0xffffe000u);
        B[tig + 4][gid] = emu_float(s.b[l][1] & 0xffffe000u);
    }
    const int gid = lane >> 2, tig = lane & 3;
    for (int i = 0; i < 4; i++) {
        const int row = gid + 8 * (i >> 1), col = 2 * tig + (i & 1);
        double sum = d[i];
        for (int k = 0; k < 8; k++) sum += A[row][k] * B[k][col];
        d[i] = (float)sum;
    }
    g_warpBar[w]->arrive_and_wait(); // every lane has read the stage before the next mma overwrites it
}
