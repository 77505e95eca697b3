// bn_stat_batchnorm_activation_warp: bn_stat_batchnorm_activation with one warp per (n, c) plane, for planes of up to
// BNSTAT_WARP_MAX_HW values, as bn_stat_loss_warp is to bn_stat_loss: the same floats and doubles.
// Launch: block (256) = 8 planes, grid (⌈N·C/8⌉).
// Arguments as bn_stat_batchnorm_activation.
#include "common.cuh"
#include "activation_ops.cuh"
#include "batchnorm_ops.cuh"
#include "bn_stat_reduce.cuh"

extern "C" __global__ void __launch_bounds__(BNSTAT_WARP_THREADS)
bn_stat_batchnorm_activation_warp(const float* __restrict__ x, const float* __restrict__ mean,
                                  const float* __restrict__ std, double* __restrict__ partial,
                                  double* __restrict__ coef, int n, int c, int hw, float eps,
                                  const float* __restrict__ scale, const float* __restrict__ bias,
                                  const float* __restrict__ bnMean, const float* __restrict__ inv,
                                  const float* __restrict__ other, float* __restrict__ out, int op, float lo,
                                  float hi) {
    const int lane = threadIdx.x & 31;
    const long long plane = (long long)blockIdx.x * (BNSTAT_WARP_THREADS / 32) + (threadIdx.x >> 5);
    if (plane >= (long long)n * c) return; // the whole warp leaves together: the shuffles below see full warps
    const int ch = (int)(plane % c);
    const long long base = plane * hw;
    const float sc = scale[ch], mu = bnMean[ch], iv = inv[ch], bi = bias[ch];
    double a = 0.0, q = 0.0;
    const float* res = other == nullptr ? nullptr : other + base;
    bn_stat_partial_sums(x + base, hw, lane, 32, a, q, [&](int i, float v) {
        out[base + i] = zq_bn_activation(v, sc, mu, iv, bi, res, i, op, lo, hi);
    });
    bn_stat_warp_sums(a, q);
    const BnStatPlane p = bn_stat_plane(a, q, hw, n, mean + ch, std + ch, eps);
    if (lane == 0) {
        partial[plane] = p.term();
        bn_stat_store(coef, plane, p);
    }
}
