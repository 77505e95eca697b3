package dev.zeroq.tensor;

import java.util.Arrays;

/**
 * A dense float32 tensor in row-major order (NCHW for images). The backing array is exposed to the
 * backends on purpose: ops read and write it directly. A tensor's shape never changes; {@link #reshape}
 * returns a view over the same array.
 */
public final class Tensor {
    private final int[] shape;
    private final float[] data;

    public Tensor(float[] data, int... shape) {
        this.shape = shape.clone();
        long n = Shapes.size(this.shape);
        if (n != data.length) {
            throw new IllegalArgumentException("data has " + data.length + " elements, shape "
                    + Arrays.toString(shape) + " needs " + n);
        }
        this.data = data;
    }

    public static Tensor zeros(int... shape) {
        return new Tensor(new float[Math.toIntExact(Shapes.size(shape))], shape);
    }

    public static Tensor scalar(float v) {
        return new Tensor(new float[] {v});
    }

    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int axis) {
        return shape[axis < 0 ? axis + shape.length : axis];
    }

    public int size() {
        return data.length;
    }

    /** The backing array (not a copy). */
    public float[] data() {
        return data;
    }

    public Tensor reshape(int... newShape) {
        return new Tensor(data, newShape);
    }

    public Tensor copy() {
        return new Tensor(data.clone(), shape);
    }

    /** Element at a full index; for tests and small lookups, not for loops. */
    public float get(int... index) {
        return data[Shapes.offset(shape, index)];
    }

    public void set(float v, int... index) {
        data[Shapes.offset(shape, index)] = v;
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape);
    }
}
