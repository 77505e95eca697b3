package dev.zeroq.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.zeroq.ZeroqException;
import dev.zeroq.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading image/label pairs from IDX and .npy, the bundled subset, and every pairing error. */
class DatasetTest {
    @TempDir
    Path dir;

    private Path images(int n) throws IOException {
        byte[] px = new byte[n * 2 * 2];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) (i * 17);
        }
        return TestFiles.write(dir, "img" + n, TestFiles.gzip(TestFiles.idx(Idx.IMAGES_MAGIC, new int[] {n, 2, 2}, px)));
    }

    private Path labels(int n) throws IOException {
        byte[] y = new byte[n];
        for (int i = 0; i < n; i++) {
            y[i] = (byte) (i % 10);
        }
        return TestFiles.write(dir, "lab" + n, TestFiles.idx(Idx.LABELS_MAGIC, new int[] {n}, y));
    }

    @Test
    void idxPixelsAreScaledThenNormalized() throws IOException {
        Dataset d = Dataset.load(images(3), labels(3), 0.5f, 0.25f, 100);
        assertArrayEquals(new int[] {3, 1, 2, 2}, d.images().shape());
        assertArrayEquals(new int[] {0, 1, 2}, d.labels());
        for (int i = 0; i < 12; i++) {
            // Same float expression as the loader: exact equality is the point.
            float expected = (((i * 17) & 0xff) / 255f - 0.5f) / 0.25f;
            assertEquals(expected, d.images().data()[i], "pixel " + i);
        }
    }

    @Test
    void limitKeepsTheFirstPairs() throws IOException {
        Dataset d = Dataset.load(images(5), labels(5), 0f, 1f, 2);
        assertEquals(2, d.size());
        assertArrayEquals(new int[] {2, 1, 2, 2}, d.images().shape());
        assertArrayEquals(new int[] {0, 1}, d.labels());
        assertEquals(7 * 17 / 255f, d.images().data()[7]);
    }

    @Test
    void npyImagesAreTakenAsTheyAreAndNpyLabelsWork() throws IOException {
        Tensor x = Tensor.zeros(2, 1, 3, 3);
        x.data()[4] = -1.25f;
        Path xp = dir.resolve("x.npy");
        Npy.write(xp, x);
        Path yp = TestFiles.write(dir, "y.npy", TestFiles.npy(
                "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", TestFiles.le(8, 7, 3)));
        Dataset d = Dataset.load(xp, yp, 0.2860f, 0.3530f, 10); // mean/std must not touch .npy images
        assertArrayEquals(x.data(), d.images().data());
        assertArrayEquals(new int[] {7, 3}, d.labels());
    }

    @Test
    void bundledSubsetLoadsWithPlausibleStatistics() {
        Dataset d = Dataset.bundledFashionMnist(Integer.MAX_VALUE);
        assertEquals(2000, d.size());
        assertArrayEquals(new int[] {2000, 1, 28, 28}, d.images().shape());
        int[] perClass = new int[10];
        for (int y : d.labels()) {
            assertTrue(y >= 0 && y <= 9, "label " + y);
            perClass[y]++;
        }
        for (int c = 0; c < 10; c++) {
            assertTrue(perClass[c] > 100, "class " + c + " has " + perClass[c] + " of 2000");
        }
        double sum = 0;
        double sq = 0;
        for (float v : d.images().data()) {
            sum += v;
            sq += (double) v * v;
        }
        double mean = sum / d.images().size();
        double std = Math.sqrt(sq / d.images().size() - mean * mean);
        // Normalized with the training-set statistics, so the test subset lands near 0 / 1, not exactly.
        assertTrue(Math.abs(mean) < 0.05, "mean " + mean);
        assertTrue(Math.abs(std - 1) < 0.05, "std " + std);
        assertEquals((0 - 0.2860f) / 0.3530f, min(d.images().data()));

        Dataset first = Dataset.bundledFashionMnist(10);
        assertEquals(10, first.size());
        assertEquals(9, first.labels()[0]); // the first Fashion-MNIST test image is an ankle boot
    }

    private static float min(float[] v) {
        float m = Float.POSITIVE_INFINITY;
        for (float x : v) {
            m = Math.min(m, x);
        }
        return m;
    }

    @Test
    void countMismatchNamesBothFiles() throws IOException {
        Path img = images(4);
        Path lab = labels(3);
        ZeroqException e = assertThrows(ZeroqException.class, () -> Dataset.load(img, lab, 0f, 1f, 100));
        assertTrue(e.badInput());
        assertEquals(img + " has 4 images but " + lab + " has 3 labels: give the labels file that belongs to "
                + "these images", e.getMessage());
        // The check uses the whole files, not just the first `limit` pairs.
        assertThrows(ZeroqException.class, () -> Dataset.load(img, lab, 0f, 1f, 1));
    }

    @Test
    void labelsOutside0To255AreBadInput() throws IOException {
        Path img = images(2);
        for (String values : new String[] {"256", "-1", "2.5"}) {
            Path yp = TestFiles.write(dir, "bad.npy", TestFiles.npy(
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
                    java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                            .putFloat(1f).putFloat(Float.parseFloat(values)).array()));
            ZeroqException e = assertThrows(ZeroqException.class, () -> Dataset.load(img, yp, 0f, 1f, 10));
            assertTrue(e.badInput());
            assertTrue(e.getMessage().contains("0..255"), e.getMessage());
        }
    }

    @Test
    void limitMustBePositive() throws IOException {
        Path img = images(2);
        Path lab = labels(2);
        for (int limit : new int[] {0, -5}) {
            ZeroqException e = assertThrows(ZeroqException.class, () -> Dataset.load(img, lab, 0f, 1f, limit));
            assertTrue(e.badInput());
            assertTrue(e.getMessage().contains("limit must be at least 1"), e.getMessage());
            assertThrows(ZeroqException.class, () -> Dataset.bundledFashionMnist(limit));
        }
    }

    @Test
    void otherBadInputs() throws IOException {
        Path img = images(2);
        Path lab = labels(2);
        // missing file
        ZeroqException missing = assertThrows(ZeroqException.class,
                () -> Dataset.load(dir.resolve("missing"), lab, 0f, 1f, 1));
        assertTrue(missing.badInput() && missing.getMessage().contains("not found"), missing.getMessage());
        // swapped files: a wrong magic for the role
        ZeroqException swapped = assertThrows(ZeroqException.class, () -> Dataset.load(lab, img, 0f, 1f, 1));
        assertTrue(swapped.badInput() && swapped.getMessage().contains("expected images"), swapped.getMessage());
        // neither IDX nor npy
        Path text = TestFiles.write(dir, "t.txt", "hello world".getBytes());
        assertTrue(assertThrows(ZeroqException.class, () -> Dataset.load(text, lab, 0f, 1f, 1))
                .getMessage().contains("neither an IDX file nor a .npy file"));
        // unsupported .npy dtype for labels
        Path half = TestFiles.write(dir, "h.npy", TestFiles.npy(
                "{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", new byte[4]));
        assertTrue(assertThrows(ZeroqException.class, () -> Dataset.load(img, half, 0f, 1f, 1))
                .getMessage().contains("dtype '<f2'"));
        // .npy images of the wrong rank
        Path flat = dir.resolve("flat.npy");
        Npy.write(flat, Tensor.zeros(2, 4));
        assertTrue(assertThrows(ZeroqException.class, () -> Dataset.load(flat, lab, 0f, 1f, 1))
                .getMessage().contains("(N, C, H, W)"));
        // bad normalization
        assertTrue(assertThrows(ZeroqException.class, () -> Dataset.load(img, lab, 0f, 0f, 1)).badInput());
    }
}
