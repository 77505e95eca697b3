// bn_stat_apply: the deferred BatchNorm-statistics gradient of a value (bn_stat.cuh) where no BatchNorm backward kernel
// adds it: dx = gm + gs·(x − m) of each value's plane, stored (accumulate 0) or added to dx (1). Stored, it is the
// float bn_stat_loss would have stored in the forward pass.
// Launch: block (256), grid (min(ceil(total/256), 65535)), grid-stride.
// x, dx: (N, C, hw) with total = N·C·hw   coef: (N·C, 3) doubles, from bn_stat_loss / bn_stat_loss_warp
#include "common.cuh"
#include "bn_stat.cuh"

extern "C" __global__ void bn_stat_apply(const float* __restrict__ x, const double* __restrict__ coef,
                                         float* __restrict__ dx, int total, int hw, int accumulate) {
    ZQ_FOR_EACH(i, total) {
        const float st = bn_stat_term(coef, (int)i / hw, x[i]); // total fits in an int: 32-bit division
        dx[i] = accumulate ? __fadd_rn(dx[i], st) : st;
    }
}
