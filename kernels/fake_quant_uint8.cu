// fake_quant_uint8: x ← dequantize(quantize(x)) in place with the deploy scheme's activation quantizer (uint8 at
// 8 bits; codes qmin..qmax, also the signed symmetric case), bit for bit as
// quant/SymmetricQuantizer.ActivationParams.fakeQuant: r = rint(x / scale) + (float) zp, q = clamp(r, qmin, qmax)
// with NaN → 0 (Java's (int) NaN), x̂ = (float) (q − zp) · scale. _rn intrinsics: IEEE division and no contraction.
// Launch: block (256), grid (min(ceil(n/256), 65535)), grid-stride.
// x: (n), the first n elements of a value (the images of the batch being run)
#include "common.cuh"

extern "C" __global__ void fake_quant_uint8(float* __restrict__ x, long long n, float scale, int zeroPoint, int qmin,
                                            int qmax) {
    ZQ_FOR_EACH(i, n) {
        const float r = __fadd_rn(rintf(__fdiv_rn(x[i], scale)), (float)zeroPoint);
        const int q = (r != r) ? 0 : (int)fminf(fmaxf(r, (float)qmin), (float)qmax);
        x[i] = __fmul_rn((float)(q - zeroPoint), scale);
    }
}
