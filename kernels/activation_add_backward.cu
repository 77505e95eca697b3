// activation_add_backward: the gradients of both operands of z = f(a + b) (add_activation's pair), g = dz·f'(z) with
// f' read off the output z (relu and clip only, activation_ops.cuh), then each side as binary_backward_same's add:
// 0 + g, written to its gradient (accumulate 0) or added to it (1). Replaces activation_backward followed by two
// binary_backward_same launches, the same results element for element. da and db must be different buffers.
// Launch: block (256), grid (min(ceil(ceil(n/4)/256), 65535)), grid-stride. z, dz, da, db: n floats, 16-byte aligned.
#include "common.cuh"
#include "activation_ops.cuh"

extern "C" __global__ void activation_add_backward(const float* __restrict__ z, const float* __restrict__ dz,
                                                   float* __restrict__ da, float* __restrict__ db, int n, int op,
                                                   float lo, float hi, int accumulateA, int accumulateB) {
    const int quads = n / 4;
    const float4* z4 = reinterpret_cast<const float4*>(z);
    const float4* g4 = reinterpret_cast<const float4*>(dz);
    float4* a4 = reinterpret_cast<float4*>(da);
    float4* b4 = reinterpret_cast<float4*>(db);
    ZQ_FOR_EACH(q, quads) {
        const float4 zv = z4[q], gv = g4[q];
        const float4 v = make_float4(zq_act_add_grad(zv.x, gv.x, op, lo, hi), zq_act_add_grad(zv.y, gv.y, op, lo, hi),
                                     zq_act_add_grad(zv.z, gv.z, op, lo, hi), zq_act_add_grad(zv.w, gv.w, op, lo, hi));
        float4 va = v, vb = v;
        if (accumulateA) {
            const float4 old = a4[q];
            va = make_float4(old.x + v.x, old.y + v.y, old.z + v.z, old.w + v.w);
        }
        if (accumulateB) {
            const float4 old = b4[q];
            vb = make_float4(old.x + v.x, old.y + v.y, old.z + v.z, old.w + v.w);
        }
        a4[q] = va;
        b4[q] = vb;
    }
    ZQ_FOR_EACH(t, n - 4 * quads) { // the last n mod 4 elements
        const long long i = 4LL * quads + t;
        const float v = zq_act_add_grad(z[i], dz[i], op, lo, hi);
        da[i] = accumulateA ? da[i] + v : v;
        db[i] = accumulateB ? db[i] + v : v;
    }
}
