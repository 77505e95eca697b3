// Host emulation of what the int8 kernels (conv2d_int8_igemm.cu, int8_pack_weights.cu) use on top of cuda_emu.h:
// cp.async (an immediate 16-byte copy; commit/wait are no-ops, see the kernel's #else branch), ldmatrix.x4 and
// mma.sync m16n8k32 s8 (warp-collective), __shfl_down_sync, __shfl_xor_sync on doubles, __cvta_generic_to_shared, the IEEE float intrinsics
// __f{add,sub,mul,div}_rn / __fmaf_rn / __d{add,sub,div}_rn / __fma_rn / __double2float_rn / __float2int_rn / __int2float_rn, the bit
// casts __int_as_float / __float_as_int, __vmaxs4, int min/max, uint4 and int2
// (the int8 engine's elementwise kernels, int8_ops_emu.cpp, use the same).
//
// Shared addresses: the kernel turns a shared pointer into a 32-bit address (i8_smem) and hands that to cp.async and
// ldmatrix. On the host __shared__ arrays are statics, and __cvta_generic_to_shared returns the pointer's bits, so the
// program must be linked -no-pie (statics below 4 GiB); a pointer that does not fit aborts instead of being truncated.
//
// Warp-collective operations: every lane writes its operands into a per-warp stage, waits on the warp's barrier
// (g_warpBar of cuda_emu.h), then reads what it needs of the other lanes. The stage has two slots used alternately
// (each lane counts its collective calls): a lane can only reach call i + 1's write after every lane has passed call
// i's barrier, i.e. finished reading call i − 1's slot, so one barrier per call suffices. All lanes of a warp must
// make the same sequence of collective calls, as on the hardware with a full mask.
//
// Alignment faults (cp.async addresses not 16-byte aligned, ldmatrix rows not 16-byte aligned) are counted in
// g_i8Faults; int8_emu.cpp fails when it is not zero.
//
// Floats: the host must compute in IEEE binary32 with round-to-nearest-even and no contraction (SSE, -ffp-contract=off),
// then a + b, a * b, a / b and (float)double are exactly the _rn intrinsics.
#pragma once
#include "cuda_emu.h"
#include <climits>
#include <cstdio>
#include <cstdlib>

struct uint4 { unsigned x, y, z, w; };
static inline uint4 make_uint4(unsigned a, unsigned b, unsigned c, unsigned d) { return {a, b, c, d}; }
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }
static inline long long min(long long a, long long b) { return a < b ? a : b; }

static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __ddiv_rn(double a, double b) { return a / b; }
static inline double __dsub_rn(double a, double b) { return a - b; }
static inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); } // one rounding, as DFMA
static inline float __double2float_rn(double d) { return (float)d; }
static inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); } // one rounding, as FFMA
static inline float __int2float_rn(int v) { return (float)v; }                           // to nearest even, as I2F
static inline float __int_as_float(int v) { float f; std::memcpy(&f, &v, 4); return f; }
static inline int __float_as_int(float f) { int v; std::memcpy(&v, &f, 4); return v; }
struct int2 { int x, y; };
static inline int2 make_int2(int a, int b) { return {a, b}; }
// cvt.rni.s32.f32: to nearest, ties to even; saturates to the int range, NaN gives 0.
static inline int __float2int_rn(float f) {
    if (f != f) return 0;
    if (f >= 2147483648.0f) return INT_MAX;
    if (f < -2147483648.0f) return INT_MIN;
    return (int)std::nearbyint(f); // the default rounding mode: to nearest, ties to even
}

// vmax.s32.s8x4 (__vmaxs4): the per-byte signed maximum of two words.
static inline unsigned __vmaxs4(unsigned a, unsigned b) {
    unsigned r = 0;
    for (int k = 0; k < 4; k++) {
        const int x = (int8_t)(a >> (8 * k)), y = (int8_t)(b >> (8 * k));
        r |= (unsigned)(uint8_t)(x > y ? x : y) << (8 * k);
    }
    return r;
}

inline std::atomic<long long> g_i8Faults{0};

static inline size_t __cvta_generic_to_shared(const void* p) {
    const uintptr_t u = (uintptr_t)p;
    if (u >> 32) {
        fprintf(stderr, "__cvta_generic_to_shared: %p does not fit 32 bits (link the emulator with -no-pie)\n", p);
        abort();
    }
    return (size_t)u;
}
static inline void* emu_shared_ptr(unsigned addr) { return (void*)(uintptr_t)addr; }

// cp.async.cg.shared.global [dst], [src], 16: both addresses must be 16-byte aligned.
static inline void emu_cp_async16(unsigned dst, const void* src) {
    if ((dst & 15u) || ((uintptr_t)src & 15u)) g_i8Faults++;
    std::memcpy(emu_shared_ptr(dst), src, 16);
}

struct WarpI8Stage { uint32_t v[32][6]; };
inline WarpI8Stage g_i8Stage[32][2]; // [warp][slot]
inline thread_local unsigned t_i8Calls; // this lane's collective calls so far (a new OS thread per CUDA thread: starts at 0)

// Stages this lane's n words and waits for the whole warp; returns the slot holding every lane's words.
static inline WarpI8Stage& emu_warp_exchange(const uint32_t* mine, int n) {
    const int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
    WarpI8Stage& s = g_i8Stage[w][t_i8Calls++ & 1];
    for (int i = 0; i < n; i++) s.v[lane][i] = mine[i];
    g_warpBar[w]->arrive_and_wait();
    return s;
}

// __shfl_down_sync(full mask, v, delta) with width 32: lane l gets lane l + delta's value, its own past lane 31.
static inline int __shfl_down_sync(unsigned mask, int v, unsigned delta) {
    if (mask != 0xffffffffu) g_i8Faults++;
    const uint32_t mine = (uint32_t)v;
    WarpI8Stage& s = emu_warp_exchange(&mine, 1);
    const unsigned src = (threadIdx.x & 31) + delta;
    return src < 32 ? (int)s.v[src][0] : v;
}

// __shfl_xor_sync(full mask, v, laneMask) on a double with width 32: lane l gets lane (l ^ laneMask)'s value.
static inline double __shfl_xor_sync(unsigned mask, double v, int laneMask) {
    if (mask != 0xffffffffu) g_i8Faults++;
    uint32_t mine[2];
    std::memcpy(mine, &v, sizeof v);
    WarpI8Stage& s = emu_warp_exchange(mine, 2);
    double out;
    std::memcpy(&out, s.v[(threadIdx.x & 31) ^ (unsigned)laneMask], sizeof out);
    return out;
}

// ldmatrix.sync.aligned.m8n8.x4.shared.b16: lane l supplies the address of row l % 8 of matrix l / 8 (16 bytes,
// 16-byte aligned); lane l receives in register j the 4 bytes at row l / 4, bytes 4·(l % 4) .. + 3 of matrix j.
static inline void emu_ldmatrix_x4(unsigned& r0, unsigned& r1, unsigned& r2, unsigned& r3, unsigned addr) {
    if (addr & 15u) g_i8Faults++;
    const uint32_t mine = addr;
    WarpI8Stage& s = emu_warp_exchange(&mine, 1);
    const int lane = threadIdx.x & 31;
    unsigned r[4];
    for (int j = 0; j < 4; j++) {
        std::memcpy(&r[j], (const char*)emu_shared_ptr(s.v[8 * j + lane / 4][0]) + 4 * (lane % 4), 4);
    }
    r0 = r[0]; r1 = r[1]; r2 = r[2]; r3 = r[3];
}

// mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32, d += A (16 × 32) · B (32 × 8), int32 wrapping. Fragment layouts
// (PTX ISA, "Matrix Fragments for mma.m16n8k32", .s8), g = lane / 4, t = lane % 4, byte b of a register = lowest k + b:
//   A reg j (a0..a3): row g + 8·(j & 1), k = 4·t + 16·(j >> 1) + b
//   B reg j (b0, b1): column g, k = 4·t + 16·j + b
//   C/D: c0, c1 = row g, columns 2t, 2t + 1; c2, c3 = row g + 8, columns 2t, 2t + 1
static inline void emu_mma_m16n8k32_s8(int* d, unsigned a0, unsigned a1, unsigned a2, unsigned a3, unsigned b0,
                                       unsigned b1) {
    const uint32_t mine[6] = {a0, a1, a2, a3, b0, b1};
    WarpI8Stage& s = emu_warp_exchange(mine, 6);
    int A[16][32], B[32][8];
    for (int l = 0; l < 32; l++) {
        const int gl = l >> 2, tl = l & 3;
        for (int j = 0; j < 4; j++)
            for (int b = 0; b < 4; b++)
                A[gl + 8 * (j & 1)][4 * tl + 16 * (j >> 1) + b] = (int8_t)(s.v[l][j] >> (8 * b));
        for (int j = 0; j < 2; j++)
            for (int b = 0; b < 4; b++) B[4 * tl + 16 * j + b][gl] = (int8_t)(s.v[l][4 + j] >> (8 * b));
    }
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    for (int i = 0; i < 4; i++) {
        const int row = g + 8 * (i >> 1), col = 2 * t + (i & 1);
        uint32_t sum = (uint32_t)d[i];
        for (int k = 0; k < 32; k++) sum += (uint32_t)(A[row][k] * B[k][col]);
        d[i] = (int)sum;
    }
}
