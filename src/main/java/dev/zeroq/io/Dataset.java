package dev.zeroq.io;

import dev.zeroq.ZeroqException;
import dev.zeroq.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A labelled image set for evaluation and calibration: images as a float32 (N, C, H, W) tensor, already
 * normalized, and one class label per image. Loads IDX (raw or gzipped) or .npy files, or the Fashion-MNIST
 * test subset bundled in the jar.
 *
 * @param images (N, C, H, W) float32, normalized the way the model expects
 * @param labels N class indices, each in 0..255
 */
public record Dataset(Tensor images, int[] labels) {

    /** Fashion-MNIST pixel mean and std after scaling to [0, 1], the bundled models' preprocessing (MODELS.md). */
    public static final float FASHION_MNIST_MEAN = 0.2860f;
    public static final float FASHION_MNIST_STD = 0.3530f;

    /** The bundled subset: the first 2,000 images and labels of the Fashion-MNIST test set. */
    public static final int BUNDLED_COUNT = 2000;
    static final String BUNDLED_IMAGES = "/dev/zeroq/data/fmnist-test-2000-images-idx3-ubyte.gz";
    static final String BUNDLED_LABELS = "/dev/zeroq/data/fmnist-test-2000-labels-idx1-ubyte.gz";

    public Dataset {
        if (images.rank() != 4) {
            throw new IllegalArgumentException("images must be (N, C, H, W), got " + Arrays.toString(images.shape()));
        }
        if (images.dim(0) != labels.length) {
            throw new IllegalArgumentException(images.dim(0) + " images but " + labels.length + " labels");
        }
    }

    public int size() {
        return labels.length;
    }

    /**
     * Loads images and labels, keeping the first {@code limit} pairs. IDX images (uint8) become
     * {@code (pixel / 255 − mean) / std}; .npy images are taken as they are (already normalized, NCHW), so
     * mean and std are not applied to them. Labels may be IDX or .npy. Formats are told apart by content.
     *
     * <p>Example: {@code load(images, labels, 0.2860f, 0.3530f, 100)} on the Fashion-MNIST test files gives
     * a (100, 1, 28, 28) tensor where a black pixel is (0 − 0.2860) / 0.3530 ≈ −0.810.
     */
    public static Dataset load(Path images, Path labels, float mean, float std, int limit) {
        checkLimit(limit);
        if (!Float.isFinite(mean) || !Float.isFinite(std) || std <= 0) {
            throw ZeroqException.badInput("normalization needs a finite mean and a positive std, got mean " + mean
                    + " std " + std + ": pass e.g. --mean 0.2860 --std 0.3530 for Fashion-MNIST");
        }
        Images x;
        try (InputStream in = Sources.open(images, "images")) {
            x = readImages(in, images.toString(), mean, std, limit);
        } catch (IOException e) {
            throw ZeroqException.badInput("cannot read images file " + images + ": " + e.getMessage(), e);
        }
        int[] y;
        try (InputStream in = Sources.open(labels, "labels")) {
            y = readLabels(in, labels.toString());
        } catch (IOException e) {
            throw ZeroqException.badInput("cannot read labels file " + labels + ": " + e.getMessage(), e);
        }
        return pair(x, images.toString(), y, labels.toString(), limit);
    }

    /** Images alone (for calibration on real data), normalized as {@link #load} does; the first {@code limit}. */
    public static Tensor loadImages(Path images, float mean, float std, int limit) {
        checkLimit(limit);
        if (!Float.isFinite(mean) || !Float.isFinite(std) || std <= 0) {
            throw ZeroqException.badInput("normalization needs a finite mean and a positive std, got mean " + mean
                    + " std " + std + ": pass e.g. --mean 0.2860 --std 0.3530 for Fashion-MNIST");
        }
        try (InputStream in = Sources.open(images, "images")) {
            return readImages(in, images.toString(), mean, std, limit).first();
        } catch (IOException e) {
            throw ZeroqException.badInput("cannot read images file " + images + ": " + e.getMessage(), e);
        }
    }

    /** The bundled Fashion-MNIST test subset (2,000 images), normalized as the bundled models expect. */
    public static Dataset bundledFashionMnist(int limit) {
        checkLimit(limit);
        Images x;
        try (InputStream in = Sources.openResource(BUNDLED_IMAGES)) {
            x = readImages(in, BUNDLED_IMAGES, FASHION_MNIST_MEAN, FASHION_MNIST_STD, limit);
        } catch (IOException e) {
            throw ZeroqException.internal("cannot read bundled resource " + BUNDLED_IMAGES, e);
        }
        int[] y;
        try (InputStream in = Sources.openResource(BUNDLED_LABELS)) {
            y = readLabels(in, BUNDLED_LABELS);
        } catch (IOException e) {
            throw ZeroqException.internal("cannot read bundled resource " + BUNDLED_LABELS, e);
        }
        return pair(x, BUNDLED_IMAGES, y, BUNDLED_LABELS, limit);
    }

    private static void checkLimit(int limit) {
        if (limit <= 0) {
            throw ZeroqException.badInput("limit must be at least 1, got " + limit
                    + ": give the number of images to use, or leave it out for all");
        }
    }

    private static Dataset pair(Images images, String imagesName, int[] y, String labelsName, int limit) {
        int n = images.total();
        Tensor x = images.first();
        if (n != y.length) {
            throw ZeroqException.badInput(imagesName + " has " + n + " images but " + labelsName + " has " + y.length
                    + " labels: give the labels file that belongs to these images");
        }
        if (x.dim(0) <= limit) {
            return new Dataset(x, Arrays.copyOf(y, x.dim(0)));
        }
        int[] shape = x.shape();
        int per = x.size() / x.dim(0);
        shape[0] = limit;
        return new Dataset(new Tensor(Arrays.copyOf(x.data(), limit * per), shape), Arrays.copyOf(y, limit));
    }

    /** Peeks at the (gunzipped) content to pick the reader; the stream from Sources supports mark/reset. */
    private static byte[] peek(InputStream in) throws IOException {
        in.mark(8);
        byte[] head = in.readNBytes(8);
        in.reset();
        return head;
    }

    /** The first images of a file and how many the file holds in all (for the count check against labels). */
    private record Images(Tensor first, int total) {}

    /** Only the first {@code limit} images are converted to float: a 60,000-image file stays cheap to sample. */
    private static Images readImages(InputStream in, String name, float mean, float std, int limit)
            throws IOException {
        byte[] head = peek(in);
        if (Npy.hasMagic(head)) {
            Tensor t = Npy.read(in, name);
            if (t.rank() != 4) {
                throw ZeroqException.badInput(name + " holds an array of shape " + Arrays.toString(t.shape())
                        + ", images must be (N, C, H, W): reshape it, e.g. x[:, None] for (N, H, W)");
            }
            return new Images(t, t.dim(0));
        }
        if (!Idx.hasMagic(head)) {
            throw ZeroqException.badInput(name + " is neither an IDX file nor a .npy file (it starts with "
                    + hexBytes(head) + "): give IDX images (magic 0x00000803, raw or .gz) or a float32 NCHW .npy");
        }
        Idx.Array a = Idx.expect(Idx.read(in, name), Idx.IMAGES_MAGIC, name);
        int n = a.dims()[0];
        int h = a.dims()[1];
        int w = a.dims()[2];
        int keep = Math.min(n, limit);
        byte[] px = a.data();
        float[] out = new float[Math.multiplyExact(keep, Math.multiplyExact(h, w))];
        // Same float32 order of operations as the training script: scale to [0, 1], subtract, divide.
        for (int i = 0; i < out.length; i++) {
            out[i] = ((px[i] & 0xff) / 255f - mean) / std;
        }
        return new Images(new Tensor(out, keep, 1, h, w), n);
    }

    private static int[] readLabels(InputStream in, String name) throws IOException {
        byte[] head = peek(in);
        if (Npy.hasMagic(head)) {
            Tensor t = Npy.read(in, name);
            if (t.rank() != 1) {
                throw ZeroqException.badInput(name + " holds an array of shape " + Arrays.toString(t.shape())
                        + ", labels must be one-dimensional (N,): flatten it");
            }
            float[] v = t.data();
            int[] out = new int[v.length];
            for (int i = 0; i < v.length; i++) {
                if (!(v[i] >= 0 && v[i] <= 255) || v[i] != Math.rint(v[i])) {
                    throw ZeroqException.badInput(name + " has label " + v[i] + " at index " + i
                            + ", labels must be whole numbers in 0..255: check it holds class indices, not scores");
                }
                out[i] = (int) v[i];
            }
            return out;
        }
        if (!Idx.hasMagic(head)) {
            throw ZeroqException.badInput(name + " is neither an IDX file nor a .npy file (it starts with "
                    + hexBytes(head) + "): give IDX labels (magic 0x00000801, raw or .gz) or an integer .npy");
        }
        return Idx.labels(Idx.expect(Idx.read(in, name), Idx.LABELS_MAGIC, name));
    }

    private static String hexBytes(byte[] head) {
        StringBuilder sb = new StringBuilder("0x");
        for (int i = 0; i < Math.min(4, head.length); i++) {
            sb.append(String.format("%02X", head[i]));
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return "Dataset[" + size() + " images " + Arrays.toString(images.shape()) + "]";
    }
}
