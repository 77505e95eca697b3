// bn_stat_loss_warp: bn_stat_loss (the same loss term and gradient, bn_stat.cuh) with one warp per (n, c) plane, for
// planes of up to BNSTAT_WARP_MAX_HW values (ResNet-50's 28×28, 14×14 and 7×7 planes). A block per plane leaves most
// of its 256 threads idle on a 7×7 plane and pays eight barriers for its tree; a warp reduces with five shuffle steps
// and no barrier. The sums are the lanes' strided partial sums combined by an xor butterfly: every lane ends with the
// same total (each step adds the same two values in either order), the same every run (no atomics).
// Launch: block (256) = 8 planes, grid (⌈N·C/8⌉).
// x: (N, C, HW)   mean, std: (C) targets μ, σ   dx: (N, C, HW) written (accumulate 0) or added to (1)
// partial: (N·C) doubles   coef: null, or (N·C, 3) doubles for deferred gradients, as bn_stat_loss
#include "common.cuh"
#include "bn_stat_reduce.cuh"

extern "C" __global__ void __launch_bounds__(BNSTAT_WARP_THREADS)
bn_stat_loss_warp(const float* __restrict__ x, const float* __restrict__ mean, const float* __restrict__ std,
                  float* __restrict__ dx, double* __restrict__ partial, int n, int c, int hw, float eps,
                  int accumulate, double* __restrict__ coef) {
    const int lane = threadIdx.x & 31;
    const long long plane = (long long)blockIdx.x * (BNSTAT_WARP_THREADS / 32) + (threadIdx.x >> 5);
    if (plane >= (long long)n * c) return; // the whole warp leaves together: the shuffles below see full warps
    const int ch = (int)(plane % c);
    const float* xp = x + plane * hw;
    double a = 0.0, q = 0.0;
    bn_stat_partial_sums(xp, hw, lane, 32, a, q, BnStatNoVisit());
    bn_stat_warp_sums(a, q);
    const BnStatPlane p = bn_stat_plane(a, q, hw, n, mean + ch, std + ch, eps);
    if (lane == 0) partial[plane] = p.term();
    if (coef != nullptr) {
        if (lane == 0) bn_stat_store(coef, plane, p);
        return;
    }
    bn_stat_gradient(xp, dx + plane * hw, hw, lane, 32, p, accumulate);
}
