// The asymmetric quantizer of the official ZeroQ code (ZEROQ.md §2) for one range: the inverse step and
// integral zero point, and the quantize / dequantize / fake-quant operations, all in float32 like the
// PyTorch tensors they reproduce.
package dev.zeroq.quant;

/**
 * One asymmetric quantizer exactly as the official ZeroQ code builds it, for the {@code paper} scheme.
 * <pre>
 *   q  = clamp(rint(s·x − zp), −2^(k−1), 2^(k−1) − 1)
 *   x̂  = (q + zp) / s
 * </pre>
 * {@code s} is the <em>inverse</em> step (levels per unit, not units per level) and {@code zp} is already an
 * integer value stored as a float, offset by 2^(k−1) so that q is signed. Every operation is done in float
 * in the same order as the PyTorch code, so results match it bit for bit; {@code rint} is
 * {@link Math#rint} (half to even, like {@code torch.round}).
 * <p>Worked example, range [0, 6] at 8 bits ({@link AffineQuantizer#params}): s = 255/6 = 42.5,
 * zp = rint(42.5·0) + 128 = 128. For x = 1.0: s·x − zp = −85.5, rint → −86 (half to even), so
 * q = −86 and x̂ = (−86 + 128)/42.5 = 0.9882353 (float). For x = 7.0: 297.5 − 128 = 169.5 → 170, clamped
 * to 127, x̂ = 255/42.5 = 6.0.
 *
 * @param inverseStep s = (2^k − 1) / max(max − min, 1e-8), levels per unit
 * @param zeroPoint   zp = rint(s·min) + 2^(k−1), an integer held as float (as the official code does)
 * @param bits        k, 2..8
 */
public record AffineParams(float inverseStep, float zeroPoint, int bits) {

    public AffineParams {
        AffineQuantizer.checkBits(bits);
        if (!(inverseStep > 0) || !Float.isFinite(inverseStep) || !Float.isFinite(zeroPoint)) {
            throw new IllegalArgumentException("inverse step must be positive and finite and the zero point finite, got s="
                    + inverseStep + " zp=" + zeroPoint);
        }
    }

    /** Smallest code, −2^(k−1). */
    public int qmin() {
        return -(1 << (bits - 1));
    }

    /** Largest code, 2^(k−1) − 1. */
    public int qmax() {
        return (1 << (bits - 1)) - 1;
    }

    /**
     * The integer code of x: clamp(rint(s·x − zp), qmin, qmax). Clamping happens in float before the
     * cast so that huge inputs saturate rather than wrap. Example ([0, 6], 8 bits): 1.0 → −86.
     */
    public int quantize(float x) {
        float r = (float) Math.rint(inverseStep * x - zeroPoint);
        // Math.min/max in this order send NaN to NaN, and (int) NaN is 0; a NaN input is a caller bug anyway.
        return (int) Math.min(Math.max(r, (float) qmin()), (float) qmax());
    }

    /** The value a code stands for: (q + zp)/s. Example ([0, 6], 8 bits): −86 → 0.9882353. */
    public float dequantize(int q) {
        return ((float) q + zeroPoint) / inverseStep;
    }

    /** dequantize(quantize(x)): what the simulated quantized model sees. Example ([0, 6], 8 bits): 1.0 → 0.9882353. */
    public float fakeQuant(float x) {
        return dequantize(quantize(x));
    }

    /** Fake-quantizes src[from, from+len) into dst[0, len); dst may be src (each read is at or after the write). */
    public void fakeQuant(float[] src, int from, int len, float[] dst) {
        java.util.Objects.checkFromIndexSize(from, len, src.length);
        java.util.Objects.checkFromIndexSize(0, len, dst.length);
        for (int i = 0; i < len; i++) {
            dst[i] = fakeQuant(src[from + i]);
        }
    }

    /** Quantizes src[from, from+len) into codes dst[0, len) (each fits a byte at k ≤ 8). */
    public void quantize(float[] src, int from, int len, byte[] dst) {
        java.util.Objects.checkFromIndexSize(from, len, src.length);
        java.util.Objects.checkFromIndexSize(0, len, dst.length);
        for (int i = 0; i < len; i++) {
            dst[i] = (byte) quantize(src[from + i]);
        }
    }
}
