// bn_stat_loss: ZeroQ's BatchNorm-statistics loss term and its gradient (ZEROQ.md §1, Gradients.bnStatisticLoss)
// for one value x at a BatchNorm input. Per (n, c): mean m and unbiased variance over H·W (accumulated in double,
// one pass of Σx and Σx², both exact enough in double for planes of up to 10⁶ values), s = sqrt(var + eps), term
// (m − μ_c)² + (s − σ_c)², and dx = 2/N·[(m − μ)/HW + (s − σ)(x − m)/((HW − 1)·s)]. HW = 1 has no variance: only the
// mean term counts, as in the reference. The term divided by N goes to partial[n·C + c]; loss_reduce sums all
// partials deterministically (no float atomics).
// Launch: block (256), grid (N·C): one block per plane, shared-memory tree reduction over the block. Planes of up to
// BNSTAT_WARP_MAX_HW values run on bn_stat_loss_warp instead (bn_stat_loss_warp.cu).
// x: (N, C, HW)   mean, std: (C) targets μ, σ   dx: (N, C, HW) written (accumulate 0) or added to (1)
// partial: (N·C) doubles   coef: null, or (N·C, 3) doubles: then the plane's coefficients go there instead of any
// gradient to dx (bn_stat.cuh: deferred gradients; dx is not touched and may be null)
#include "common.cuh"
#include "bn_stat_reduce.cuh"

extern "C" __global__ void __launch_bounds__(BNSTAT_THREADS)
bn_stat_loss(const float* __restrict__ x, const float* __restrict__ mean, const float* __restrict__ std,
             float* __restrict__ dx, double* __restrict__ partial, int n, int c, int hw, float eps, int accumulate,
             double* __restrict__ coef) {
    __shared__ double s1[BNSTAT_THREADS];
    __shared__ double s2[BNSTAT_THREADS];
    const int plane = blockIdx.x;
    const int ch = plane % c;
    const float* xp = x + (long long)plane * hw;
    double a = 0.0, q = 0.0;
    bn_stat_partial_sums(xp, hw, threadIdx.x, BNSTAT_THREADS, a, q, BnStatNoVisit());
    bn_stat_block_sums<BNSTAT_THREADS>(a, q, s1, s2);
    const BnStatPlane p = bn_stat_plane(a, q, hw, n, mean + ch, std + ch, eps);
    if (threadIdx.x == 0) partial[plane] = p.term();
    if (coef != nullptr) {
        if (threadIdx.x == 0) bn_stat_store(coef, plane, p);
        return;
    }
    bn_stat_gradient(xp, dx + (long long)plane * hw, hw, threadIdx.x, BNSTAT_THREADS, p, accumulate);
}
