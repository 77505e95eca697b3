// adam: one torch.optim.Adam step (betas 0.9/0.999, eps 1e-8 after the square root, bias-corrected), rounded
// exactly as distill/Adam.java: moments stored in float, the update computed in double. The step-dependent
// scalars come from device memory (hp[0] = lr/(1 − β1^t), hp[1] = sqrt(1 − β2^t)) so a captured CUDA graph can
// replay the same launch every iteration while the host changes the learning rate.
// Launch: block (256), grid (min(ceil(n/256), 65535)), grid-stride.
// param, grad, m, v: (n)   hp: 2 doubles
#include "common.cuh"

extern "C" __global__ void adam(float* __restrict__ param, const float* __restrict__ grad, float* __restrict__ m,
                                float* __restrict__ v, const double* __restrict__ hp, int n) {
    const double stepSize = hp[0];
    const double sqrtC2 = hp[1];
    ZQ_FOR_EACH(i, n) {
        const float g = grad[i];
        const float mi = (float)(0.9 * (double)m[i] + (1.0 - 0.9) * (double)g);
        const float vi = (float)(0.999 * (double)v[i] + (1.0 - 0.999) * (double)g * (double)g);
        m[i] = mi;
        v[i] = vi;
        const double denom = sqrt((double)vi) / sqrtC2 + 1e-8;
        param[i] -= (float)(stepSize * (double)mi / denom);
    }
}
