// Builds the official ZeroQ asymmetric quantizer (ZEROQ.md §2) from a range, and applies it per output
// channel to a weight tensor (the paper scheme: true per-channel min/max, asymmetric, bias left in FP32).
package dev.zeroq.quant;

import dev.zeroq.ZeroqException;
import dev.zeroq.tensor.Tensor;

/**
 * The {@code paper} scheme's quantizer, bit-exact with the official ZeroQ code.
 * <pre>
 *   s  = (2^k − 1) / max(max − min, 1e-8)
 *   zp = rint(s·min) + 2^(k−1)
 * </pre>
 * computed in float in this order. Example: [0, 6] at 8 bits → s = 42.5, zp = 128 (see {@link AffineParams}
 * for quantizing with it). [−1, 1] at 4 bits → s = 15/2 = 7.5, zp = rint(−7.5) + 8 = −8 + 8 = 0; the codes
 * −8..7 then stand for −1.0666667..0.93333334: rounding the zero point shifts the grid off the range's ends.
 */
public final class AffineQuantizer {
    /** The official code clamps the range width to this before dividing, so a constant channel still works. */
    static final float MIN_WIDTH = 1e-8f;

    private AffineQuantizer() {}

    /** Bits must be 2..8: below 2 the signed code has no room, above 8 codes no longer fit int8 storage. */
    static void checkBits(int bits) {
        if (bits < 2 || bits > 8) {
            throw ZeroqException.badInput("bits must be between 2 and 8, got " + bits);
        }
    }

    /**
     * The quantizer for [min, max] at k bits. Example: params(0, 6, 8) = (s 42.5, zp 128, 8).
     * A constant range (min == max) gets s = (2^k−1)/1e-8, as in the official code.
     */
    public static AffineParams params(float min, float max, int bits) {
        checkBits(bits);
        if (!Float.isFinite(min) || !Float.isFinite(max) || min > max) {
            throw new IllegalArgumentException("range must be finite with min <= max, got [" + min + ", " + max + "]");
        }
        float levels = (float) ((1 << bits) - 1);
        // Float throughout, same order as the PyTorch code: n / clamp(max - min, 1e-8).
        float s = levels / Math.max(max - min, MIN_WIDTH);
        float zp = (float) Math.rint(s * min) + (float) (1 << (bits - 1));
        return new AffineParams(s, zp, bits);
    }

    /**
     * Per output channel quantizers of a weight tensor: dim 0 is the output channel (Conv OIHW, Gemm/Linear
     * weights as (out, in), i.e. transB = 1), min/max over everything else. Example: rows [−1, 0, 1] and
     * [0, 2, 6] at 8 bits → (s 127.5, zp 0) and (s 42.5, zp 128).
     */
    public static AffineParams[] perChannel(Tensor weight, int bits) {
        return perChannel(weight, bits, ClipMethod.MINMAX);
    }

    /**
     * As {@link #perChannel(Tensor, int)} but each channel's range comes from a clipping method
     * ({@link ClipMethod#MINMAX} is ZeroQ's true min/max). The range is asymmetric.
     */
    public static AffineParams[] perChannel(Tensor weight, int bits, ClipMethod clip) {
        checkBits(bits);
        int channels = weight.dim(0);
        int per = channelSize(weight);
        float[] w = weight.data();
        AffineParams[] out = new AffineParams[channels];
        for (int c = 0; c < channels; c++) {
            Clipping.Range r = Clipping.range(w, c * per, per, clip, bits, false);
            out[c] = params(r.min(), r.max(), bits);
        }
        return out;
    }

    /** A new tensor with every output channel fake-quantized by its own min/max quantizer (ZeroQ weights). */
    public static Tensor fakeQuantPerChannel(Tensor weight, int bits) {
        return fakeQuantPerChannel(weight, perChannel(weight, bits));
    }

    /** A new tensor with channel c (dim 0) fake-quantized by params[c]. */
    public static Tensor fakeQuantPerChannel(Tensor weight, AffineParams[] params) {
        int channels = weight.dim(0);
        if (params.length != channels) {
            throw new IllegalArgumentException("weight has " + channels + " output channels but " + params.length + " quantizers were given");
        }
        int per = channelSize(weight);
        float[] src = weight.data();
        float[] dst = new float[src.length];
        float[] row = new float[per];
        for (int c = 0; c < channels; c++) {
            params[c].fakeQuant(src, c * per, per, row);
            System.arraycopy(row, 0, dst, c * per, per);
        }
        return new Tensor(dst, weight.shape());
    }

    static int channelSize(Tensor weight) {
        if (weight.rank() < 1 || weight.dim(0) == 0) {
            throw new IllegalArgumentException("weight " + weight + " has no output channels");
        }
        return weight.size() / weight.dim(0);
    }
}
