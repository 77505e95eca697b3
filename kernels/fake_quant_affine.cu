// fake_quant_affine: x ← dequantize(quantize(x)) in place with the paper scheme's affine quantizer, bit for bit
// as quant/AffineParams.fakeQuant: r = rint(s·x − zp) (half to even), q = clamp(r, qmin, qmax) with NaN → 0
// (Java's (int) NaN), x̂ = ((float) q + zp) / s. The explicit _rn intrinsics keep nvcc from contracting s·x − zp
// into an FMA (one rounding instead of Java's two) and make the division IEEE whatever the build flags.
// Launch: block (256), grid (min(ceil(n/256), 65535)), grid-stride.
// x: (n), the first n elements of a value (the images of the batch being run)
#include "common.cuh"

extern "C" __global__ void fake_quant_affine(float* __restrict__ x, long long n, float inverseStep, float zeroPoint,
                                             float qmin, float qmax) {
    ZQ_FOR_EACH(i, n) {
        const float r = rintf(__fsub_rn(__fmul_rn(inverseStep, x[i]), zeroPoint));
        // Through an int like Java: a −0.0 code becomes +0.0 before the zero point is added back.
        const int q = (r != r) ? 0 : (int)fminf(fmaxf(r, qmin), qmax);
        x[i] = __fdiv_rn(__fadd_rn((float)q, zeroPoint), inverseStep);
    }
}
