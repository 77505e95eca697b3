// fill: out[i] = value. Zeroes gradients that no op writes first and resets Adam's moments; a kernel rather than
// cuMemsetD32 so that it is captured into a CUDA graph like every other step of an iteration.
// Launch: block (256), grid (min(ceil(n/256), 65535)), grid-stride.
// out: (n)
#include "common.cuh"

extern "C" __global__ void fill(float* __restrict__ out, long long n, float value) {
    ZQ_FOR_EACH(i, n) {
        out[i] = value;
    }
}
