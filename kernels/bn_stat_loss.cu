// bn_stat_loss: ZeroQ's BatchNorm-statistics loss term and its gradient (ZEROQ.md §1, Gradients.bnStatisticLoss)
// for one value x at a BatchNorm input. Per (n, c): mean m and unbiased variance over H·W (accumulated in double,
// one pass of Σx and Σx², both exact enough in double for planes of up to 10⁶ values), s = sqrt(var + eps), term
// (m − μ_c)² + (s − σ_c)², and dx = 2/N·[(m − μ)/HW + (s − σ)(x − m)/((HW − 1)·s)]. HW = 1 has no variance: only the
// mean term counts, as in the reference. The term divided by N goes to partial[n·C + c]; loss_reduce sums all
// partials deterministically (no float atomics).
// Launch: block (256), grid (N·C): one block per plane, shared-memory tree reduction over the block.
// x: (N, C, HW)   mean, std: (C) targets μ, σ   dx: (N, C, HW) written (accumulate 0) or added to (1)
// partial: (N·C) doubles
#include "common.cuh"

#define BNSTAT_THREADS 256

extern "C" __global__ void __launch_bounds__(BNSTAT_THREADS)
bn_stat_loss(const float* __restrict__ x, const float* __restrict__ mean, const float* __restrict__ std,
             float* __restrict__ dx, double* __restrict__ partial, int n, int c, int hw, float eps, int accumulate) {
    __shared__ double s1[BNSTAT_THREADS];
    __shared__ double s2[BNSTAT_THREADS];
    const int plane = blockIdx.x;
    const int ch = plane % c;
    const float* xp = x + (long long)plane * hw;
    double a = 0.0, q = 0.0;
    for (int i = threadIdx.x; i < hw; i += BNSTAT_THREADS) {
        const double v = xp[i];
        a += v;
        q += v * v;
    }
    s1[threadIdx.x] = a;
    s2[threadIdx.x] = q;
    __syncthreads();
    // Fixed-shape tree: the same order every run, so the loss is bit-reproducible.
    for (int off = BNSTAT_THREADS / 2; off > 0; off >>= 1) {
        if (threadIdx.x < off) {
            s1[threadIdx.x] += s1[threadIdx.x + off];
            s2[threadIdx.x] += s2[threadIdx.x + off];
        }
        __syncthreads();
    }
    const double m = s1[0] / hw;
    // Σ(x − m)² = Σx² − m·Σx; clamped at 0 against rounding for near-constant planes.
    const double ss = fmax(s2[0] - m * s1[0], 0.0);
    const double s = hw > 1 ? sqrt(ss / (hw - 1) + (double)eps) : sqrt((double)eps);
    const double dm = m - (double)mean[ch];
    const double ds = s - (double)std[ch];
    const double gm = 2.0 * dm / hw / n;
    const double gs = hw > 1 ? 2.0 * ds / ((double)(hw - 1) * s) / n : 0.0;
    if (threadIdx.x == 0) {
        partial[plane] = (dm * dm + (hw > 1 ? ds * ds : 0.0)) / n;
    }
    float* dp = dx + (long long)plane * hw;
    for (int i = threadIdx.x; i < hw; i += BNSTAT_THREADS) {
        const float g = (float)(gm + gs * ((double)xp[i] - m));
        dp[i] = accumulate ? dp[i] + g : g;
    }
}
