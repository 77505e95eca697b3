package dev.zeroq.pipeline;

import dev.zeroq.quant.AffineParams;
import dev.zeroq.quant.AffineQuantizer;
import dev.zeroq.quant.ClipMethod;
import dev.zeroq.quant.Clipping;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.quant.QuantPlan.Scheme;
import dev.zeroq.quant.SymmetricQuantizer;
import dev.zeroq.tensor.Tensor;

/**
 * The two schemes' quantizers applied to weights and activations, in one place, so calibration, sensitivity
 * and the plan simulation cannot disagree. {@code paper}: per-channel asymmetric weights and activation
 * ranges starting at 0 (ZEROQ.md §2). {@code deploy}: per-channel symmetric int8 weights and per-tensor
 * unsigned activations with a zero point.
 */
public final class FakeQuant {
    private FakeQuant() {}

    /** A quantized weight: its float stand-in (stored layout) and the plan entry that reproduces it. */
    public record Weight(Tensor dequantized, QuantPlan.Layer layer) {}

    /** Quantizes a layer's weights at k bits, choosing per-channel ranges with {@code clip}. */
    public static Weight weight(Scheme scheme, WeightLayer l, Tensor outMajor, int bits, ClipMethod clip) {
        long params = outMajor.size();
        String op = l.node().op().onnxType();
        if (scheme == Scheme.DEPLOY) {
            SymmetricQuantizer.Weights q = SymmetricQuantizer.quantizeWeights(outMajor, bits, clip);
            return new Weight(l.stored(q.dequantize()),
                    new QuantPlan.Layer(l.name(), op, bits, params, null, null, q.scales(), null));
        }
        int channels = outMajor.dim(0);
        int per = outMajor.size() / channels;
        float[] min = new float[channels], max = new float[channels];
        for (int c = 0; c < channels; c++) {
            Clipping.Range r = Clipping.range(outMajor.data(), c * per, per, clip, bits, false);
            min[c] = r.min();
            max[c] = r.max();
        }
        QuantPlan.Layer layer = new QuantPlan.Layer(l.name(), op, bits, params, min, max, null, null);
        return new Weight(l.stored(fromPlan(scheme, outMajor, layer)), layer);
    }

    /** The weight a plan entry stands for, output-major, rebuilt bit-exactly from the float weights. */
    public static Tensor fromPlan(Scheme scheme, Tensor outMajor, QuantPlan.Layer layer) {
        int channels = outMajor.dim(0);
        if ((scheme == Scheme.DEPLOY ? layer.scales() : layer.min()).length != channels) {
            throw dev.zeroq.ZeroqException.badInput("plan layer " + layer.node() + " has "
                    + (scheme == Scheme.DEPLOY ? layer.scales() : layer.min()).length + " channels but the model's has "
                    + channels + "; the plan belongs to another model");
        }
        if (scheme == Scheme.DEPLOY) {
            int per = outMajor.size() / channels;
            float[] out = new float[outMajor.size()];
            float[] w = outMajor.data();
            for (int c = 0; c < channels; c++) {
                float s = layer.scales()[c];
                for (int i = c * per; i < (c + 1) * per; i++) {
                    out[i] = SymmetricQuantizer.quantizeSymmetric(w[i], s, layer.weightBits()) * s;
                }
            }
            return new Tensor(out, outMajor.shape());
        }
        AffineParams[] p = new AffineParams[channels];
        for (int c = 0; c < channels; c++) {
            p[c] = AffineQuantizer.params(layer.min()[c], layer.max()[c], layer.weightBits());
        }
        return AffineQuantizer.fakeQuantPerChannel(outMajor, p);
    }

    /**
     * The range an activation gets from calibration values. Paper: running min/max starting at 0, so
     * [min(0, lo), max(0, hi)] (ZEROQ.md §2), or the clipped range. Deploy: the clipped range widened to 0.
     */
    public static Clipping.Range activationRange(float[] values, ClipMethod clip, int bits) {
        Clipping.Range r = Clipping.range(values, 0, values.length, clip, bits, false);
        return new Clipping.Range(Math.min(0f, r.min()), Math.max(0f, r.max()));
    }

    /** The plan entry of an activation with the given range. */
    public static QuantPlan.Activation activation(Scheme scheme, String value, Clipping.Range r, int bits) {
        if (scheme == Scheme.DEPLOY) {
            SymmetricQuantizer.ActivationParams p = SymmetricQuantizer.activation(r.min(), r.max(), bits);
            return new QuantPlan.Activation(value, bits, r.min(), r.max(), p.scale(), p.zeroPoint());
        }
        return new QuantPlan.Activation(value, bits, r.min(), r.max(), null, null);
    }

    /** Fake-quantizes a tensor with an activation entry of a plan, into a new tensor. */
    public static Tensor apply(Scheme scheme, QuantPlan.Activation a, Tensor x) {
        float[] out = new float[x.size()];
        if (scheme == Scheme.DEPLOY) {
            new SymmetricQuantizer.ActivationParams(a.scale(), a.zeroPoint(), a.bits(), false)
                    .fakeQuant(x.data(), 0, x.size(), out);
        } else {
            AffineQuantizer.params(a.min(), a.max(), a.bits()).fakeQuant(x.data(), 0, x.size(), out);
        }
        return new Tensor(out, x.shape());
    }
}
