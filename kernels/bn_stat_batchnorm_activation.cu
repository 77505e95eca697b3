// bn_stat_batchnorm_activation: bn_stat_loss in its deferred form (the plane's loss term and three gradient
// coefficients, bn_stat.cuh) for x, and in the same pass over x the BatchNorm+activation forward that reads it:
// out = f(BN(x)), or f(BN(x) + other) with other, as batchnorm_activation and batchnorm_add_activation compute them.
// One read of x instead of two (the statistics kernel's and the forward's); the same floats and doubles as those
// kernels (bn_stat_partial_sums and the BatchNorm formulas are shared).
// Launch: block (256), grid (N·C): one block per plane. Planes of up to BNSTAT_WARP_MAX_HW values run on
// bn_stat_batchnorm_activation_warp.
// x, other, out: (N, C, HW)   mean, std: (C) targets μ, σ   partial: (N·C) doubles   coef: (N·C, 3) doubles
// scale, bias, bnMean, inv: (C), inv = 1/sqrt(var + eps) from the host   other: null or the residual   op, lo, hi:
// activation_ops.cuh
#include "common.cuh"
#include "activation_ops.cuh"
#include "batchnorm_ops.cuh"
#include "bn_stat_reduce.cuh"

extern "C" __global__ void __launch_bounds__(BNSTAT_THREADS)
bn_stat_batchnorm_activation(const float* __restrict__ x, const float* __restrict__ mean,
                             const float* __restrict__ std, double* __restrict__ partial, double* __restrict__ coef,
                             int n, int c, int hw, float eps, const float* __restrict__ scale,
                             const float* __restrict__ bias, const float* __restrict__ bnMean,
                             const float* __restrict__ inv, const float* __restrict__ other, float* __restrict__ out,
                             int op, float lo, float hi) {
    __shared__ double s1[BNSTAT_THREADS];
    __shared__ double s2[BNSTAT_THREADS];
    const int plane = blockIdx.x;
    const int ch = plane % c;
    const long long base = (long long)plane * hw;
    const float sc = scale[ch], mu = bnMean[ch], iv = inv[ch], bi = bias[ch];
    double a = 0.0, q = 0.0;
    const float* res = other == nullptr ? nullptr : other + base;
    bn_stat_partial_sums(x + base, hw, threadIdx.x, BNSTAT_THREADS, a, q, [&](int i, float v) {
        out[base + i] = zq_bn_activation(v, sc, mu, iv, bi, res, i, op, lo, hi);
    });
    bn_stat_block_sums<BNSTAT_THREADS>(a, q, s1, s2);
    const BnStatPlane p = bn_stat_plane(a, q, hw, n, mean + ch, std + ch, eps);
    if (threadIdx.x == 0) {
        partial[plane] = p.term();
        bn_stat_store(coef, plane, p);
    }
}
