// A batch of images in NCHW float32, the currency between distillation, calibration and .npy files.
package dev.zeroq.api;

import dev.zeroq.ZeroqException;
import dev.zeroq.io.Npy;
import dev.zeroq.tensor.Tensor;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * {@code count} images of shape {@code shape}, NCHW, row-major: image i starts at {@code i * shape.size()}.
 * The array is copied in and out so the record stays immutable.
 * Example: {@code new Images(new float[2 * 784], 2, new ImageShape(1, 28, 28))}.
 *
 * @param data  count·C·H·W floats
 * @param count the number of images N
 * @param shape the shape of one image
 */
public record Images(float[] data, int count, ImageShape shape) {
    public Images {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(shape, "shape");
        if (count < 1) {
            throw ZeroqException.badInput("an image batch needs at least 1 image, got " + count);
        }
        long want = (long) count * shape.size();
        if (data.length != want) {
            throw ZeroqException.badInput(data.length + " floats do not make " + count + " images of " + shape
                    + " (need " + want + "); pass count = data.length / (C·H·W)");
        }
        data = data.clone();
    }

    /** A copy of the floats. */
    @Override
    public float[] data() {
        return data.clone();
    }

    /**
     * Reads a float32 NCHW {@code .npy} file (as {@code numpy.save} writes it).
     * Example: {@code Images.readNpy(Path.of("calib.npy"))}.
     */
    public static Images readNpy(Path path) {
        Tensor t = Npy.read(Objects.requireNonNull(path, "path"));
        if (t.rank() != 4) {
            throw ZeroqException.badInput(path + " holds an array of shape " + Arrays.toString(t.shape())
                    + "; images must be (N, C, H, W)");
        }
        return new Images(t.data(), t.dim(0), new ImageShape(t.dim(1), t.dim(2), t.dim(3)));
    }

    /** Writes the images as a float32 (N, C, H, W) {@code .npy} file, atomically. */
    public void writeNpy(Path path) {
        Npy.write(Objects.requireNonNull(path, "path"), tensor());
    }

    Tensor tensor() {
        return new Tensor(data.clone(), count, shape.channels(), shape.height(), shape.width());
    }

    static Images of(Tensor t) {
        return new Images(t.data(), t.dim(0), new ImageShape(t.dim(1), t.dim(2), t.dim(3)));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Images i && count == i.count && shape.equals(i.shape) && Arrays.equals(data, i.data);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(data) + count) + shape.hashCode();
    }

    @Override
    public String toString() {
        return "Images[" + count + " × " + shape + "]";
    }
}
