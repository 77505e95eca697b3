// The per-plane arithmetic of ZeroQ's BatchNorm-statistics loss (ZEROQ.md §1, Gradients.bnStatisticLoss), shared by
// the statistics kernels (bn_stat_loss, bn_stat_batchnorm_activation and their warp twins) and the kernels that add
// a deferred gradient (the BatchNorm backward kernels, bn_stat_apply): from a plane's Σx and Σx² in double, its
// mean m, s = sqrt(unbiased variance + eps), the two gradient coefficients and the loss term, so that
// dx = gm + gs·(x − m); mu and sigma point at the channel's targets μ and σ. HW = 1 has no variance: only the mean term
// counts, as in the reference.
#pragma once

struct BnStatPlane {
    double m;    // the plane's mean
    double gm;   // 2(m − μ)/(HW·N)
    double gs;   // 2(s − σ)/((HW − 1)·s·N), 0 for HW = 1
    double dm;   // m − μ
    double ds;   // s − σ, unused for HW = 1
    int hw, n;

    // The plane's loss term ((m − μ)² + (s − σ)²)/N (written by one thread of the plane).
    __device__ __forceinline__ double term() const { return (dm * dm + (hw > 1 ? ds * ds : 0.0)) / n; }
};

// Hands nothing on: the statistics-only kernels' visitor of bn_stat_partial_sums.
struct BnStatNoVisit {
    __device__ __forceinline__ void operator()(int, float) const {}
};

// One thread's (or lane's) Σx and Σx² in double over the plane's values first, first + step, … < hw, adding to a and q;
// each value is also handed to visit(i, x) (the kernels that compute the BatchNorm forward while they read the plane).
// The sums are spelled out (__dadd_rn, __fma_rn) so that every kernel computing them rounds alike.
template <class Visit>
__device__ __forceinline__ void bn_stat_partial_sums(const float* __restrict__ xp, int hw, int first, int step, double& a,
                                                     double& q, const Visit& visit) {
    for (int i = first; i < hw; i += step) {
        const float v = xp[i];
        visit(i, v);
        const double d = v;
        a = __dadd_rn(a, d);
        q = __fma_rn(d, d, q);
    }
}

__device__ __forceinline__ BnStatPlane bn_stat_plane(double sum, double sumSq, int hw, int n, const float* __restrict__ mu,
                                                     const float* __restrict__ sigma, float eps) {
    BnStatPlane p;
    p.m = sum / hw;
    // Σ(x − m)² = Σx² − m·Σx; clamped at 0 against rounding for near-constant planes.
    const double ss = fmax(sumSq - p.m * sum, 0.0);
    const double s = hw > 1 ? sqrt(ss / (hw - 1) + (double)eps) : sqrt((double)eps);
    p.dm = p.m - (double)*mu;
    p.ds = s - (double)*sigma;
    p.gm = 2.0 * p.dm / hw / n;
    p.gs = hw > 1 ? 2.0 * p.ds / ((double)(hw - 1) * s) / n : 0.0;
    p.hw = hw;
    p.n = n;
    return p;
}

// gm + gs·(x − m) rounded to float: one value's gradient. The product and the sum are one fused multiply-add, spelled
// out so that the kernels that store it now (bn_stat_gradient) and those that add it in the backward pass
// (bn_stat_term) round alike, whatever nvcc contracts elsewhere.
__device__ __forceinline__ float bn_stat_value_gradient(double m, double gm, double gs, float x) {
    return __double2float_rn(__fma_rn(gs, __dsub_rn((double)x, m), gm));
}

// dx[i] = gm + gs·(x[i] − m) for i = first, first + step, … < hw; stored, or added to dx when accumulate.
__device__ __forceinline__ void bn_stat_gradient(const float* __restrict__ xp, float* __restrict__ dp, int hw, int first,
                                                 int step, const BnStatPlane& p, int accumulate) {
    for (int i = first; i < hw; i += step) {
        const float g = bn_stat_value_gradient(p.m, p.gm, p.gs, xp[i]);
        dp[i] = accumulate ? __fadd_rn(dp[i], g) : g;
    }
}

// Deferred gradients: instead of storing the gradient of every value of its plane during the forward pass, a kernel
// stores the plane's three coefficients (m, gm, gs: coef[3·plane …]) and the backward kernel that first writes the
// value's gradient adds bn_stat_term of each value there (or bn_stat_apply does). One pass over the values fewer, and
// the gradient is neither stored early nor read back: the same floats, as the term is the one bn_stat_gradient stores.
__device__ __forceinline__ void bn_stat_store(double* __restrict__ coef, long long plane, const BnStatPlane& p) {
    coef[3 * plane] = p.m;
    coef[3 * plane + 1] = p.gm;
    coef[3 * plane + 2] = p.gs;
}

// The gradient bn_stat_gradient would have stored for value x of plane `plane`, from the stored coefficients.
__device__ __forceinline__ float bn_stat_term(const double* __restrict__ coef, long long plane, float x) {
    return bn_stat_value_gradient(coef[3 * plane], coef[3 * plane + 1], coef[3 * plane + 2], x);
}
