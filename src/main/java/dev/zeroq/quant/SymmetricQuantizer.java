// The deploy scheme's integer quantizers, what int8 runtimes (TensorRT, ONNX Runtime QDQ) execute:
// symmetric narrow-range per-channel weights, per-tensor activations with a zero point, int32 biases.
package dev.zeroq.quant;

import dev.zeroq.tensor.Tensor;

import java.util.Arrays;
import java.util.Objects;

/**
 * Quantizers of the {@code deploy} scheme. Scales here are <em>steps</em> (units per level, x ≈ q·scale),
 * the opposite of {@link AffineParams#inverseStep()}; rint is {@link Math#rint} (half to even, as
 * ONNX QuantizeLinear rounds). Arithmetic is float like the runtimes, except the bias division (see
 * {@link #quantizeBias}).
 * <ul>
 *   <li>Weights, per output channel c: scale_c = max|w_c| / (2^(k−1) − 1); q = clamp(rint(w/scale_c),
 *       −(2^(k−1)−1), 2^(k−1)−1). Narrow range (no −128 at 8 bits) so that −q is always representable,
 *       which TensorRT requires. Example, 8 bits, channel [−0.5, 0.25, 1.27]: scale = 1.27/127 = 0.01,
 *       q = [−50, 25, 127].</li>
 *   <li>Activations, per tensor ({@link #activation}): asymmetric unsigned with a zero point, the range
 *       first widened to contain 0 so that zero (padding, ReLU output) is exact. Example, [−1, 3] at 8 bits:
 *       scale = 4/255 = 0.015686275, zp = rint(1/0.015686275) = rint(63.75) = 64; x = 0 → q = 64 → 0.0.</li>
 *   <li>Biases: int32 at scale inputScale·weightScale_c, zero point 0 ({@link #quantizeBias}).</li>
 * </ul>
 */
public final class SymmetricQuantizer {
    private SymmetricQuantizer() {}

    /** 2^(k−1) − 1: the largest symmetric code (127 at 8 bits). */
    public static int symmetricMax(int bits) {
        AffineQuantizer.checkBits(bits);
        return (1 << (bits - 1)) - 1;
    }

    /**
     * The symmetric step for a largest magnitude: amax / (2^(k−1) − 1), in float; an all-zero channel
     * (amax 0) gets 1 so that dividing by it is safe and every code is 0. Example: (1.27, 8) → 0.01.
     */
    public static float symmetricScale(float amax, int bits) {
        if (!(amax >= 0) || !Float.isFinite(amax)) {
            throw new IllegalArgumentException("largest magnitude must be finite and >= 0, got " + amax);
        }
        float scale = amax / (float) symmetricMax(bits);
        // A subnormal amax can underflow to 0 as well; both cases mean "nothing to represent".
        return scale == 0f ? 1f : scale;
    }

    /** clamp(rint(x/scale), −(2^(k−1)−1), 2^(k−1)−1). Example: (−0.5, 0.01, 8) → −50; (2.0, 0.01, 8) → 127. */
    public static int quantizeSymmetric(float x, float scale, int bits) {
        int m = symmetricMax(bits);
        float r = (float) Math.rint(x / scale);
        return (int) Math.min(Math.max(r, (float) -m), (float) m);
    }

    /**
     * Symmetric int8 weights with one float scale per output channel (dim 0, over all other dims).
     * Codes are stored as bytes for every k ≤ 8; at k &lt; 8 they simply use fewer levels.
     *
     * @param q      codes in the layout of the weight tensor
     * @param scales one step per output channel
     * @param shape  the weight tensor's shape
     * @param bits   k
     */
    public record Weights(byte[] q, float[] scales, int[] shape, int bits) {
        public Weights {
            Objects.requireNonNull(q);
            Objects.requireNonNull(scales);
            shape = shape.clone();
        }

        /** The float weights the codes stand for: q·scale_c. */
        public Tensor dequantize() {
            int per = q.length / scales.length;
            float[] out = new float[q.length];
            for (int c = 0; c < scales.length; c++) {
                for (int i = c * per; i < (c + 1) * per; i++) {
                    out[i] = q[i] * scales[c];
                }
            }
            return new Tensor(out, shape);
        }

        @Override
        public int[] shape() {
            return shape.clone();
        }

        // Arrays compare by content (bit for bit for the floats): records compare arrays by reference.
        @Override
        public boolean equals(Object o) {
            return o instanceof Weights w && bits == w.bits && Arrays.equals(q, w.q)
                    && Arrays.equals(scales, w.scales) && Arrays.equals(shape, w.shape);
        }

        @Override
        public int hashCode() {
            return 31 * (31 * (31 * Arrays.hashCode(q) + Arrays.hashCode(scales)) + Arrays.hashCode(shape)) + bits;
        }

        @Override
        public String toString() {
            return "Weights[shape=" + Arrays.toString(shape) + ", bits=" + bits + ", scales=" + Arrays.toString(scales) + "]";
        }
    }

    /** Per-channel symmetric weights from each channel's true max|w|. */
    public static Weights quantizeWeights(Tensor weight, int bits) {
        return quantizeWeights(weight, bits, ClipMethod.MINMAX);
    }

    /** Per-channel symmetric weights, each channel's magnitude chosen by {@code clip} (symmetric ranges). */
    public static Weights quantizeWeights(Tensor weight, int bits, ClipMethod clip) {
        symmetricMax(bits);
        int channels = weight.dim(0);
        int per = AffineQuantizer.channelSize(weight);
        float[] w = weight.data();
        byte[] q = new byte[w.length];
        float[] scales = new float[channels];
        for (int c = 0; c < channels; c++) {
            Clipping.Range r = Clipping.range(w, c * per, per, clip, bits, true);
            float scale = symmetricScale(r.max(), bits);
            scales[c] = scale;
            for (int i = c * per; i < (c + 1) * per; i++) {
                q[i] = (byte) quantizeSymmetric(w[i], scale, bits);
            }
        }
        return new Weights(q, scales, weight.shape(), bits);
    }

    /**
     * A per-tensor activation quantizer. Unsigned: codes 0..2^k−1 with a zero point; signed: codes
     * ±(2^(k−1)−1) with zero point 0.
     * <pre>  q = clamp(rint(x/scale) + zp, qmin, qmax);   x̂ = (q − zp)·scale</pre>
     *
     * @param scale     the step, > 0
     * @param zeroPoint the code of 0.0 (0 when signed)
     * @param bits      k, 2..8
     * @param signed    symmetric narrow-range signed codes rather than unsigned with a zero point
     */
    public record ActivationParams(float scale, int zeroPoint, int bits, boolean signed) {
        public ActivationParams {
            AffineQuantizer.checkBits(bits);
            if (!(scale > 0) || !Float.isFinite(scale)) {
                throw new IllegalArgumentException("scale must be positive and finite, got " + scale);
            }
            int lo = signed ? -((1 << (bits - 1)) - 1) : 0;
            int hi = signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
            if (zeroPoint < lo || zeroPoint > hi || (signed && zeroPoint != 0)) {
                throw new IllegalArgumentException("zero point " + zeroPoint + " outside the " + bits + "-bit code range");
            }
        }

        public int qmin() {
            return signed ? -((1 << (bits - 1)) - 1) : 0;
        }

        public int qmax() {
            return signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
        }

        /** clamp(rint(x/scale) + zp). Example ([−1, 3], 8 bits: scale 4/255, zp 64): 1.0 → rint(63.75) + 64 = 128. */
        public int quantize(float x) {
            float r = (float) Math.rint(x / scale) + zeroPoint;
            return (int) Math.min(Math.max(r, (float) qmin()), (float) qmax());
        }

        /** (q − zp)·scale. Example ([−1, 3], 8 bits): 128 → 64·4/255 = 1.0039216. */
        public float dequantize(int q) {
            return (q - zeroPoint) * scale;
        }

        public float fakeQuant(float x) {
            return dequantize(quantize(x));
        }

        /** Fake-quantizes src[from, from+len) into dst[0, len); dst may be src. */
        public void fakeQuant(float[] src, int from, int len, float[] dst) {
            Objects.checkFromIndexSize(from, len, src.length);
            Objects.checkFromIndexSize(0, len, dst.length);
            for (int i = 0; i < len; i++) {
                dst[i] = fakeQuant(src[from + i]);
            }
        }
    }

    /**
     * The asymmetric unsigned activation quantizer for [min, max] at k bits (uint8 at k = 8; the same math
     * with codes 0..2^k−1 below). The range is widened to contain 0, then
     * scale = (max − min)/(2^k − 1) and zp = clamp(rint(−min/scale), 0, 2^k − 1), in float; an all-zero
     * range gets scale 1, zp 0. Example: [0.5, 3] at 4 bits → widened to [0, 3], scale = 0.2, zp = 0.
     */
    public static ActivationParams activation(float min, float max, int bits) {
        AffineQuantizer.checkBits(bits);
        if (!Float.isFinite(min) || !Float.isFinite(max) || min > max) {
            throw new IllegalArgumentException("range must be finite with min <= max, got [" + min + ", " + max + "]");
        }
        float lo = Math.min(min, 0f);
        float hi = Math.max(max, 0f);
        int qmax = (1 << bits) - 1;
        float scale = (hi - lo) / (float) qmax;
        if (scale == 0f) {
            return new ActivationParams(1f, 0, bits, false);
        }
        float zp = (float) Math.rint(-lo / scale);
        return new ActivationParams(scale, (int) Math.min(Math.max(zp, 0f), (float) qmax), bits, false);
    }

    /**
     * The symmetric signed activation quantizer for magnitude amax (as TensorRT calibrates activations):
     * scale = amax/(2^(k−1)−1), zp = 0. Example: (2.54, 8) → scale 0.02.
     */
    public static ActivationParams symmetricActivation(float amax, int bits) {
        return new ActivationParams(symmetricScale(amax, bits), 0, bits, true);
    }

    /**
     * int32 biases: bias_q[c] = rint(bias[c] / (inputScale·weightScale_c)), saturated to the int range.
     * The product is formed in float (it is the float scale the runtime applies) and the division in double,
     * because the quotient can exceed float's 24-bit mantissa. Example: bias 0.5, input scale 0.02, weight
     * scale 0.01 → rint(0.5/0.0002) = 2500.
     */
    public static int[] quantizeBias(float[] bias, float inputScale, float[] weightScales) {
        if (bias.length != weightScales.length) {
            throw new IllegalArgumentException(bias.length + " biases but " + weightScales.length + " weight scales");
        }
        int[] out = new int[bias.length];
        for (int c = 0; c < bias.length; c++) {
            float s = inputScale * weightScales[c];
            if (!(s > 0) || !Float.isFinite(s)) {
                throw new IllegalArgumentException("bias scale for channel " + c + " is " + s + "; scales must be positive");
            }
            double q = Math.rint((double) bias[c] / s);
            out[c] = (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, q));
        }
        return out;
    }
}
