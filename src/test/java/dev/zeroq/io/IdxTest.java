package dev.zeroq.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.zeroq.ZeroqException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hand-made IDX files, raw and gzipped (named misleadingly on purpose), and the IDX bad-input errors. */
class IdxTest {
    @TempDir
    Path dir;

    private static final byte[] PIXELS = {0, 1, 2, 3, 4, 5, (byte) 200, (byte) 255, 9, 10, 11, 12};

    @Test
    void readsRawAndGzippedImagesWhateverTheName() throws IOException {
        byte[] raw = TestFiles.idx(Idx.IMAGES_MAGIC, new int[] {2, 2, 3}, PIXELS);
        // The raw file is called .gz and the gzipped one has no suffix: the content decides.
        for (Path p : new Path[] {TestFiles.write(dir, "raw.gz", raw), TestFiles.write(dir, "packed", TestFiles.gzip(raw))}) {
            Idx.Array a = Idx.readImages(p);
            assertEquals(Idx.IMAGES_MAGIC, a.magic());
            assertArrayEquals(new int[] {2, 2, 3}, a.dims());
            assertArrayEquals(PIXELS, a.data());
            assertEquals(2, a.count());
        }
    }

    @Test
    void readsLabelsAsUnsignedBytes() throws IOException {
        byte[] raw = TestFiles.idx(Idx.LABELS_MAGIC, new int[] {4}, new byte[] {0, 9, (byte) 128, (byte) 255});
        assertArrayEquals(new int[] {0, 9, 128, 255}, Idx.readLabels(TestFiles.write(dir, "l", raw)));
        assertArrayEquals(new int[] {0, 9, 128, 255}, Idx.readLabels(TestFiles.write(dir, "l.gz", TestFiles.gzip(raw))));
    }

    @Test
    void missingFileIsBadInput() {
        ZeroqException e = assertThrows(ZeroqException.class, () -> Idx.readImages(dir.resolve("nope-idx3-ubyte.gz")));
        assertTrue(e.badInput());
        assertTrue(e.getMessage().contains("not found"), e.getMessage());
    }

    @Test
    void wrongMagicIsBadInput() throws IOException {
        Path notIdx = TestFiles.write(dir, "junk", "GIF89a....".getBytes());
        ZeroqException e = assertThrows(ZeroqException.class, () -> Idx.readImages(notIdx));
        assertTrue(e.badInput());
        assertTrue(e.getMessage().contains("not an IDX file"), e.getMessage());

        Path labels = TestFiles.write(dir, "labels", TestFiles.idx(Idx.LABELS_MAGIC, new int[] {2}, new byte[2]));
        ZeroqException swapped = assertThrows(ZeroqException.class, () -> Idx.readImages(labels));
        assertTrue(swapped.getMessage().contains("0x00000801") && swapped.getMessage().contains("0x00000803"),
                swapped.getMessage());

        Path ints = TestFiles.write(dir, "ints", TestFiles.idx(0x00000C01, new int[] {1}, new byte[4]));
        ZeroqException type = assertThrows(ZeroqException.class, () -> Idx.readLabels(ints));
        assertTrue(type.getMessage().contains("uint8"), type.getMessage());
    }

    @Test
    void truncatedFileIsBadInputRawAndGzipped() throws IOException {
        byte[] full = TestFiles.idx(Idx.IMAGES_MAGIC, new int[] {2, 2, 3}, PIXELS);
        byte[] shortData = Arrays.copyOf(full, full.length - 1);
        byte[] shortHeader = Arrays.copyOf(full, 9);
        byte[] cutGzip = TestFiles.gzip(full);
        cutGzip = Arrays.copyOf(cutGzip, cutGzip.length - 12); // drop the trailer and some deflate data
        for (byte[] bytes : new byte[][] {shortData, shortHeader, TestFiles.gzip(shortData), cutGzip}) {
            Path p = TestFiles.write(dir, "cut", bytes);
            ZeroqException e = assertThrows(ZeroqException.class, () -> Idx.readImages(p));
            assertTrue(e.badInput());
            assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        }
    }

    @Test
    void trailingBytesAreBadInput() throws IOException {
        byte[] longer = TestFiles.idx(Idx.LABELS_MAGIC, new int[] {2}, new byte[] {1, 2, 3});
        ZeroqException e = assertThrows(ZeroqException.class, () -> Idx.readLabels(TestFiles.write(dir, "l", longer)));
        assertTrue(e.getMessage().contains("bytes after"), e.getMessage());
    }
}
