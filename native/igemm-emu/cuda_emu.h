// Host emulation of the few CUDA features the igemm kernels use: one OS thread per CUDA thread, a std::barrier for
// __syncthreads, __shared__ arrays as function statics (blocks run one after another), float4/int4 as plain structs.
// Good for indexing, coverage and barrier placement (with -fsanitize=thread); says nothing about speed.
#pragma once
#include <barrier>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>
#include <functional>
struct dim3e { unsigned x, y, z; };
struct float4 { float x, y, z, w; };
struct int4 { int x, y, z, w; };
static inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
inline thread_local dim3e threadIdx, blockIdx;
inline dim3e gridDim, blockDim;
inline std::barrier<>* g_bar;
static inline void __syncthreads() { g_bar->arrive_and_wait(); }
#define __device__
#define __forceinline__ inline
#define __global__
#define __launch_bounds__(a, b)
#define __shared__ static
#define __restrict__ __restrict
#define __align__(n) __attribute__((aligned(n)))
static void launch(dim3e grid, int threads, std::function<void()> body) {
    gridDim = grid; blockDim = {(unsigned)threads, 1, 1};
    for (unsigned z = 0; z < grid.z; z++) for (unsigned y = 0; y < grid.y; y++) for (unsigned x = 0; x < grid.x; x++) {
        std::barrier<> bar(threads);
        g_bar = &bar;
        std::vector<std::thread> ts;
        for (int t = 0; t < threads; t++) ts.emplace_back([&, t] { threadIdx = {(unsigned)t, 0, 0}; blockIdx = {x, y, z}; body(); });
        for (auto& th : ts) th.join();
    }
}
