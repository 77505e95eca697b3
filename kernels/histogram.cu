// histogram_clear / histogram_count: a 2048-bin histogram of x (or of |x|) over [lo, lo + 2048·width), bin for bin
// as Clipping.percentileByHistogram counts it: v in double, bin = min((int)((v − lo)/width), 2047), so that percentile
// clipping of a large value needs 16 KiB back instead of the value. Integer atomics make the counts deterministic
// (addition of counts is associative); each block counts into shared memory first so that the global merge costs at
// most 2048 atomics per block however skewed the data (ties pile every value into one bin).
// Launch: clear block (256), grid (1); count block (256), grid (blocks ≤ 1024), grid-stride.
// x: (n)   counts: (2048) unsigned 64-bit
#include "common.cuh"

#define HIST_THREADS 256
#define HIST_BINS 2048 // Clipping.HISTOGRAM_BINS; the host checks that they agree

extern "C" __global__ void __launch_bounds__(HIST_THREADS) histogram_clear(unsigned long long* __restrict__ counts) {
    for (int b = threadIdx.x; b < HIST_BINS; b += HIST_THREADS) {
        counts[b] = 0ull;
    }
}

// absolute: 1 counts |x| (the symmetric range, lo = 0), 0 counts x. lo and width are the host's doubles
// (Clipping.histogramLow/histogramWidth of the min/max range), width > 0; every x is finite and inside the range,
// which the host has checked with the min/max reduction before.
extern "C" __global__ void __launch_bounds__(HIST_THREADS)
histogram_count(const float* __restrict__ x, unsigned long long* __restrict__ counts, long long n, double lo,
                double width, int absolute) {
    __shared__ unsigned int local[HIST_BINS]; // 8 KiB; n < 2^31 (the host checks), so a block's counts fit 32 bits
    for (int b = threadIdx.x; b < HIST_BINS; b += HIST_THREADS) {
        local[b] = 0u;
    }
    __syncthreads();
    ZQ_FOR_EACH(i, n) {
        const float f = absolute ? fabsf(x[i]) : x[i];
        // The explicit _rn operations are Java's: a double subtraction, then an IEEE division (no FMA to contract).
        const double q = __ddiv_rn(__dsub_rn((double)f, lo), width);
        // (int) truncates toward zero as Java's cast does; q ≥ 0 because lo is the minimum (or 0 for |x|).
        const int bin = min((int)q, HIST_BINS - 1);
        atomicAdd(&local[bin], 1u);
    }
    __syncthreads();
    for (int b = threadIdx.x; b < HIST_BINS; b += HIST_THREADS) {
        const unsigned int c = local[b];
        if (c != 0u) {
            atomicAdd(&counts[b], (unsigned long long)c);
        }
    }
}
