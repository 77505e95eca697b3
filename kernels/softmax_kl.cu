// softmax_kl_rows / softmax_kl_mean: the mean over rows of KL(softmax(p) ‖ softmax(q)) as Sensitivity.klDivergence
// computes it, all in double: per row log-sum-exp shifted by the row's max, then Σ_c P_c·(log P_c − log Q_c) clamped
// at 0; so that a sensitivity pass returns 16 bytes (the mean, and a count of rows Java would reject) instead of the
// logits. Stage 1 gives each row one block (three shared-memory tree reductions: max, Σexp, the KL sum); stage 2 sums
// the rows in one block in a fixed order, so the result is identical run to run (no atomics).
// Launch: rows block (256), grid (rows); mean block (256), grid (1).
// p, q: (rows, classes) floats (p the FP32 reference)   rowKl: (rows, 2) doubles {KL, 1 when a max is not finite}
// out: (2) doubles {mean KL, rows with a non-finite max}
#include "common.cuh"

#define KL_THREADS 256

// Java's Math.max for the maxima: NaN wins, so a NaN logit makes the row's max NaN and the host rejects the logits
// as Sensitivity.logSumExp does (fmax would drop the NaN).
__device__ __forceinline__ double zq_kl_max(double a, double b) {
    return (a != a) ? a : ((b != b) ? b : fmax(a, b));
}

// Block-wide reduction of two doubles (op 0 sum, 1 max); every thread gets the result. The trailing barrier lets the
// caller reuse the shared arrays straight away.
__device__ __forceinline__ void zq_kl_reduce2(double& a, double& b, int op, double* sA, double* sB) {
    sA[threadIdx.x] = a;
    sB[threadIdx.x] = b;
    __syncthreads();
    for (int off = KL_THREADS / 2; off > 0; off >>= 1) {
        if (threadIdx.x < off) {
            if (op == 0) {
                sA[threadIdx.x] = __dadd_rn(sA[threadIdx.x], sA[threadIdx.x + off]);
                sB[threadIdx.x] = __dadd_rn(sB[threadIdx.x], sB[threadIdx.x + off]);
            } else {
                sA[threadIdx.x] = zq_kl_max(sA[threadIdx.x], sA[threadIdx.x + off]);
                sB[threadIdx.x] = zq_kl_max(sB[threadIdx.x], sB[threadIdx.x + off]);
            }
        }
        __syncthreads();
    }
    a = sA[0];
    b = sB[0];
    __syncthreads();
}

// No __launch_bounds__(256) here: with it ptxas 13.0 held the kernel to 48 registers and spilled 4 bytes; without it,
// 56 registers and no spill (the block is 256 threads either way).
extern "C" __global__ void softmax_kl_rows(const float* __restrict__ p, const float* __restrict__ q,
                                           double* __restrict__ rowKl, int classes) {
    __shared__ double sA[KL_THREADS], sB[KL_THREADS];
    const float* pr = p + (long long)blockIdx.x * classes;
    const float* qr = q + (long long)blockIdx.x * classes;

    double maxP = __longlong_as_double(0xfff0000000000000ull), maxQ = maxP; // −∞, as Java's loop starts
    for (int c = threadIdx.x; c < classes; c += KL_THREADS) {
        maxP = zq_kl_max(maxP, (double)pr[c]);
        maxQ = zq_kl_max(maxQ, (double)qr[c]);
    }
    zq_kl_reduce2(maxP, maxQ, 1, sA, sB);
    if (!isfinite(maxP) || !isfinite(maxQ)) { // uniform across the block: every thread read the same maxima
        if (threadIdx.x == 0) {
            rowKl[2 * blockIdx.x] = 0.0;
            rowKl[2 * blockIdx.x + 1] = 1.0;
        }
        return;
    }

    // Shifted by the max, the largest term is exp(0) = 1: no overflow for logits in the thousands.
    double sumP = 0.0, sumQ = 0.0;
    for (int c = threadIdx.x; c < classes; c += KL_THREADS) {
        sumP = __dadd_rn(sumP, exp(__dsub_rn((double)pr[c], maxP)));
        sumQ = __dadd_rn(sumQ, exp(__dsub_rn((double)qr[c], maxQ)));
    }
    zq_kl_reduce2(sumP, sumQ, 0, sA, sB);
    const double lseP = __dadd_rn(maxP, log(sumP));
    const double lseQ = __dadd_rn(maxQ, log(sumQ));

    // _rn products and sums: Java's kl += exp(logP)·(logP − logQ) rounds twice, an FMA would round once.
    double kl = 0.0, unused = 0.0;
    for (int c = threadIdx.x; c < classes; c += KL_THREADS) {
        const double logP = __dsub_rn((double)pr[c], lseP);
        const double logQ = __dsub_rn((double)qr[c], lseQ);
        kl = __dadd_rn(kl, __dmul_rn(exp(logP), __dsub_rn(logP, logQ)));
    }
    zq_kl_reduce2(kl, unused, 0, sA, sB);
    if (threadIdx.x == 0) {
        // Math.max(0, kl): rounding can leave a row a hair below 0; a NaN (0·∞ from a −∞ logit) stays NaN as in Java.
        rowKl[2 * blockIdx.x] = kl < 0.0 ? 0.0 : kl;
        rowKl[2 * blockIdx.x + 1] = 0.0;
    }
}

extern "C" __global__ void __launch_bounds__(KL_THREADS)
softmax_kl_mean(const double* __restrict__ rowKl, double* __restrict__ out, int rows) {
    __shared__ double sA[KL_THREADS], sB[KL_THREADS];
    double sum = 0.0, bad = 0.0;
    for (int r = threadIdx.x; r < rows; r += KL_THREADS) {
        sum = __dadd_rn(sum, rowKl[2 * r]);
        bad = __dadd_rn(bad, rowKl[2 * r + 1]);
    }
    zq_kl_reduce2(sum, bad, 0, sA, sB);
    if (threadIdx.x == 0) {
        out[0] = __ddiv_rn(sum, (double)rows); // Java's total / rows
        out[1] = bad;
    }
}
