// The few non-conv ops of CudaIntegerModel's device-resident int8 run, on shifted NHWC codes (s8 = q ^ 0x80, the
// operand layout of conv2d_int8_igemm, channel stride cP ≥ C, channels ≥ C holding the shifted zero point):
//   int8_quantize_nhwc:         float (NCHW or NHWC) → shifted NHWC codes, ActivationParams.quantize bit for bit.
//   int8_maxpool_nhwc:          max pooling on codes (exact: quantization is monotonic, and q ^ 0x80 as s8 keeps
//                               the order of q), IntegerModel.maxPool's window rules.
//   int8_global_avg_pool_nhwc:  codes or float in, average as RefBackend.globalAvgPool (a double sum in index
//                               order, one rounding of sum / hw to float), then float (N, C) or codes (N, outCP).
//   int8_float_add_act:         Add and/or ReLU/Clip left outside the conv epilogues, in float as the CPU engine.
// Launch: block (256), grid (min(ceil(total/256), 65535)), grid-stride; one thread per output element, except
// int8_quantize_nhwc and int8_maxpool_nhwc: one per 16-channel chunk (total = elements / 16).
#include "common.cuh"

// clamp(rint(x / scale) + zp, 0, qmax) with the float operations of ActivationParams.quantize (rintf rounds half to
// even like Math.rint; fmaxf(NaN, 0) = 0 matches (int) NaN = 0 in Java); returns the shifted s8 code.
__device__ __forceinline__ signed char i8e_quantize(float x, float scale, int zp, int qmax) {
    float r = __fadd_rn(rintf(__fdiv_rn(x, scale)), (float)zp);
    r = fminf(fmaxf(r, 0.f), (float)qmax);
    return (signed char)(unsigned char)((unsigned)(int)r ^ 0x80u);
}

// x: float, (N, C, H, W) when nchw != 0 else (N, H, W, C)   out: (N, H, W, cP) s8. One thread per pixel and 16-channel
// chunk (cP is a multiple of 16), written as one 16-byte store; adjacent threads take adjacent chunks, then pixels, so
// an NCHW input with C <= 16 (an image) is read one coalesced plane row at a time.
extern "C" __global__ void int8_quantize_nhwc(const float* __restrict__ x, signed char* __restrict__ out, int n, int c,
                                              int h, int w, int cP, int nchw, float scale, int zp, int qmax) {
    const long long hw = (long long)h * w;
    const int chunks = cP / 16;
    const long long total = (long long)n * hw * chunks;
    const signed char pad = (signed char)(unsigned char)((unsigned)zp ^ 0x80u);
    ZQ_FOR_EACH(i, total) {
        const int ch0 = (int)(i % chunks) * 16;
        const long long pix = i / chunks;
        const long long b = pix / hw, p = pix - b * hw;
        union { uint4 v; signed char q[16]; } chunk;
#pragma unroll
        for (int k = 0; k < 16; k++) {
            const int ch = ch0 + k;
            if (ch >= c) {
                chunk.q[k] = pad;
            } else {
                const float v = nchw ? x[(b * c + ch) * hw + p] : x[pix * c + ch];
                chunk.q[k] = i8e_quantize(v, scale, zp, qmax);
            }
        }
        *reinterpret_cast<uint4*>(&out[pix * cP + ch0]) = chunk.v;
    }
}

// x: (N, H, W, cP) s8   out: (N, outH, outW, cP) s8. A window wholly in the padding gives code 0 (s8 −128), as
// IntegerModel.maxPool (−inf quantizes to 0); padded channels carry the shifted zero point through unchanged.
// One thread per output pixel and 16-channel chunk: 16-byte loads per tap, a per-byte signed max (__vmaxs4: the
// order of s8 = q ^ 0x80 is the order of the codes q), one 16-byte store.
extern "C" __global__ void int8_maxpool_nhwc(const signed char* __restrict__ x, signed char* __restrict__ out, int n,
                                             int h, int w, int cP, int outH, int outW, int kh, int kw, int sh, int sw,
                                             int padTop, int padLeft, int dh, int dw) {
    const int chunks = cP / 16;
    const long long total = (long long)n * outH * outW * chunks;
    ZQ_FOR_EACH(i, total) {
        const int ch0 = (int)(i % chunks) * 16;
        long long t = i / chunks;
        const int ox = (int)(t % outW);
        t /= outW;
        const int oy = (int)(t % outH);
        const long long b = t / outH;
        uint4 m = make_uint4(0x80808080u, 0x80808080u, 0x80808080u, 0x80808080u); // −128 in every byte
        zq_window_taps(oy, ox, h, w, kh, kw, sh, sw, padTop, padLeft, dh, dw, [&](int iy, int ix, int, int) {
            const uint4 v = *reinterpret_cast<const uint4*>(&x[((b * h + iy) * w + ix) * cP + ch0]);
            m.x = __vmaxs4(m.x, v.x);
            m.y = __vmaxs4(m.y, v.y);
            m.z = __vmaxs4(m.z, v.z);
            m.w = __vmaxs4(m.w, v.w);
        });
        *reinterpret_cast<uint4*>(&out[(((b * outH + oy) * outW) + ox) * cP + ch0]) = m;
    }
}

// x: (N, hw, cP) shifted codes of quantizer (inScale, inZp) when inMode = 1, or float (N, hw, c) when inMode = 0.
// outMode 0: outF (N, c) float; 1: outQ (N, outCP) shifted codes of (outScale, outZp, qmax), channels ≥ c set to
// the shifted outZp. Adjacent threads take adjacent channels, so each step of the sum reads one coalesced row.
extern "C" __global__ void int8_global_avg_pool_nhwc(const void* __restrict__ x, int inMode, int n, int hw, int cP,
                                                     int c, float inScale, int inZp, int outMode,
                                                     float* __restrict__ outF, signed char* __restrict__ outQ,
                                                     int outCP, float outScale, int outZp, int qmax) {
    const signed char* xq = static_cast<const signed char*>(x);
    const float* xf = static_cast<const float*>(x);
    const int stride = outMode == 0 ? c : outCP;
    const long long total = (long long)n * stride;
    ZQ_FOR_EACH(i, total) {
        const int ch = (int)(i % stride);
        const long long b = i / stride;
        if (ch >= c) {
            outQ[i] = (signed char)(unsigned char)((unsigned)outZp ^ 0x80u);
            continue;
        }
        double acc = 0.0;
        for (int p = 0; p < hw; p++) {
            float v;
            if (inMode == 1) {
                const int q = (int)((unsigned char)xq[(b * hw + p) * cP + ch] ^ 0x80u);
                v = __fmul_rn((float)(q - inZp), inScale);
            } else {
                v = xf[(b * hw + p) * c + ch];
            }
            acc = __dadd_rn(acc, (double)v);
        }
        const float y = __double2float_rn(__ddiv_rn(acc, (double)hw));
        if (outMode == 0) {
            outF[i] = y;
        } else {
            outQ[i] = i8e_quantize(y, outScale, outZp, qmax);
        }
    }
}

// An operand of int8_float_add_act: float (mode 1, row stride = stride) or shifted codes (mode 2) of (scale, zp),
// dequantized as ActivationParams.dequantize: (q − zp)·scale, one float multiply.
__device__ __forceinline__ float i8e_operand(const void* p, int mode, long long row, int stride, int ch, float scale,
                                             int zp) {
    if (mode == 1) return static_cast<const float*>(p)[row * stride + ch];
    const int q = (int)((unsigned char)static_cast<const signed char*>(p)[row * stride + ch] ^ 0x80u);
    return __fmul_rn((float)(q - zp), scale);
}

// The float ops IntegerModel runs outside epilogues on the reference backend, on NHWC values: out = act(a [+ b])
// with b optional (bMode 0), act 0 none / 1 ReLU (y > 0 ? y : 0) / 2 clip to [lo, hi]; out is float (rows, c).
// E.g. a ResNet's last block, whose ReLU output is no site (the average pool's output is), adds and rectifies here.
extern "C" __global__ void int8_float_add_act(const void* __restrict__ a, int aMode, int aStride, float aScale, int aZp,
                                              const void* __restrict__ b, int bMode, int bStride, float bScale, int bZp,
                                              float* __restrict__ out, long long rows, int c, int act, float lo,
                                              float hi) {
    const long long total = rows * c;
    ZQ_FOR_EACH(i, total) {
        const int ch = (int)(i % c);
        const long long row = i / c;
        float y = i8e_operand(a, aMode, row, aStride, ch, aScale, aZp);
        if (bMode != 0) y = __fadd_rn(y, i8e_operand(b, bMode, row, bStride, ch, bScale, bZp));
        if (act == 1) {
            y = y > 0.f ? y : 0.f;
        } else if (act == 2) {
            y = fminf(fmaxf(y, lo), hi);
        }
        out[i] = y;
    }
}
