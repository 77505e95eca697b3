// A tensor held as unsigned activation codes (uint8, or fewer bits) with the per-tensor quantizer that
// gives them meaning: the integer engine's representation of a quantized activation.
package dev.zeroq.int8;

import dev.zeroq.quant.SymmetricQuantizer.ActivationParams;
import dev.zeroq.tensor.Shapes;
import dev.zeroq.tensor.Tensor;

import java.util.Arrays;

/**
 * Codes q (0..2^k−1, stored in bytes and read with {@code & 0xFF}) standing exactly for the float values
 * (q − zp)·scale. Because the float value is exactly what the codes say, ops that commute with quantization
 * (max pooling, ReLU, Clip, reshapes, concat) can run on the codes with no loss.
 *
 * @param q      codes, row-major in {@code shape}
 * @param shape  e.g. (N, C, H, W)
 * @param params scale, zero point and bits
 */
public record Codes(byte[] q, int[] shape, ActivationParams params) {
    public Codes {
        if (params.signed()) {
            throw new IllegalArgumentException("the integer engine holds unsigned activation codes only");
        }
        if (Shapes.size(shape) != q.length) {
            throw new IllegalArgumentException(q.length + " codes for shape " + Arrays.toString(shape));
        }
        shape = shape.clone();
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    /** Quantizes a float tensor: q = clamp(rint(x/scale) + zp), exactly as the fake-quant simulation rounds. */
    public static Codes quantize(Tensor x, ActivationParams p) {
        float[] d = x.data();
        byte[] q = new byte[d.length];
        for (int i = 0; i < d.length; i++) {
            q[i] = (byte) p.quantize(d[i]);
        }
        return new Codes(q, x.shape(), p);
    }

    /** The float values: (q − zp)·scale, the same float expression as {@link ActivationParams#dequantize}. */
    public Tensor dequantize() {
        float[] out = new float[q.length];
        for (int i = 0; i < q.length; i++) {
            out[i] = params.dequantize(q[i] & 0xFF);
        }
        return new Tensor(out, shape);
    }

    public Codes reshape(int[] newShape) {
        return new Codes(q, newShape, params);
    }
}
