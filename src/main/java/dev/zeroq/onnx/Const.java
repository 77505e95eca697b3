package dev.zeroq.onnx;

import dev.zeroq.graph.Op;
import dev.zeroq.tensor.Shapes;

import java.util.Arrays;

/**
 * A value known at import time: an initializer, a Constant, or the result of folding a shape chain.
 * Integer-typed values (INT64, INT32, BOOL, ...) keep {@code ints}; float-typed ones keep {@code floats}.
 * An integer element equal to {@link #BATCH} stands for the batch size, which is only known at run time.
 */
record Const(int[] shape, long[] ints, float[] floats) {
    /** The batch-size marker inside folded int64 vectors; the same value Reshape targets use. */
    static final long BATCH = Op.Reshape.BATCH;

    /**
     * The most values a folded constant may hold (2^24, 64 MiB of floats). Real exporters fold shape vectors and
     * small fills; a bigger result means a damaged or hostile file (a Concat of one weight with itself a
     * thousand times, a ConstantOfShape of 20000×20000), and refusing it beats a multi-GiB allocation.
     */
    static final int MAX_FOLDED = 1 << 24;

    /** Number of values of a constant about to be folded into {@code shape}; refuses more than {@link #MAX_FOLDED}. */
    static int foldedSize(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            n *= d;
            if (n > MAX_FOLDED) {
                throw new IllegalArgumentException("folding would make a constant of shape " + Arrays.toString(shape)
                        + "; zeroq folds constants up to " + MAX_FOLDED + " values (is the model damaged?)");
            }
        }
        return (int) n;
    }

    Const {
        shape = shape.clone();
        if ((ints == null) == (floats == null)) {
            throw new IllegalArgumentException("a constant holds either ints or floats");
        }
        long n = Shapes.size(shape);
        int len = ints != null ? ints.length : floats.length;
        if (n != len) {
            throw new IllegalArgumentException("constant has " + len + " values, shape " + Arrays.toString(shape)
                    + " needs " + n);
        }
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    static Const ofInts(int[] shape, long... v) {
        return new Const(shape, v, null);
    }

    static Const ofFloats(int[] shape, float... v) {
        return new Const(shape, null, v);
    }

    boolean isInt() {
        return ints != null;
    }

    int size() {
        return isInt() ? ints.length : floats.length;
    }

    int rank() {
        return shape.length;
    }

    boolean hasBatch() {
        if (ints == null) {
            return false;
        }
        for (long v : ints) {
            if (v == BATCH) {
                return true;
            }
        }
        return false;
    }

    /** Element i as a double; the batch marker has no numeric value, so callers check {@link #hasBatch()}. */
    double at(int i) {
        return isInt() ? ints[i] : floats[i];
    }

    /** All elements as longs (floats truncated toward zero, as Cast does). */
    long[] asLongs() {
        if (isInt()) {
            return ints.clone();
        }
        long[] out = new long[floats.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (long) floats[i];
        }
        return out;
    }

    /** All elements as floats; the caller has checked that no batch marker is present. */
    float[] asFloats() {
        if (!isInt()) {
            return floats.clone();
        }
        float[] out = new float[ints.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = ints[i];
        }
        return out;
    }

    /** Same values, new shape (sizes must agree). */
    Const withShape(int[] newShape) {
        return new Const(newShape, ints, floats);
    }
}
