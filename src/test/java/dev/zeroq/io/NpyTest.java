package dev.zeroq.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.zeroq.ZeroqException;
import dev.zeroq.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** .npy round trips compared bit for bit, every readable dtype and header version, and each bad-input error. */
class NpyTest {
    @TempDir
    Path dir;

    @Test
    void roundTripIsExactForOddShapesAndSpecialValues() {
        Random rnd = new Random(7);
        for (int[] shape : new int[][] {{3, 7, 5, 5}, {5}, {}, {2, 0, 3}, {1, 1, 1, 1, 1}}) {
            Tensor t = Tensor.zeros(shape);
            for (int i = 0; i < t.size(); i++) {
                t.data()[i] = (float) rnd.nextGaussian();
            }
            if (t.size() >= 4) {
                // Bit patterns that a text or double detour would lose.
                t.data()[0] = Float.NaN;
                t.data()[1] = -0.0f;
                t.data()[2] = Float.MIN_VALUE;
                t.data()[3] = Float.NEGATIVE_INFINITY;
            }
            Path p = dir.resolve("t.npy");
            Npy.write(p, t);
            Tensor back = Npy.read(p);
            assertArrayEquals(shape, back.shape());
            for (int i = 0; i < t.size(); i++) {
                assertEquals(Float.floatToRawIntBits(t.data()[i]), Float.floatToRawIntBits(back.data()[i]), "index " + i);
            }
        }
    }

    @Test
    void headerIsNumpyCompatibleAndAligned() throws IOException {
        Path p = dir.resolve("h.npy");
        Npy.write(p, Tensor.zeros(2, 3));
        byte[] bytes = Files.readAllBytes(p);
        int headerLen = ByteBuffer.wrap(bytes, 8, 2).order(ByteOrder.LITTLE_ENDIAN).getShort();
        assertEquals(0, (10 + headerLen) % 64);
        String header = new String(bytes, 10, headerLen, java.nio.charset.StandardCharsets.ISO_8859_1);
        assertEquals("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", header.strip());
        assertEquals(10 + headerLen + 6 * 4, bytes.length);
    }

    @Test
    void writeLeavesNoTemporaryFilesBehind() throws IOException {
        Npy.write(dir.resolve("a.npy"), Tensor.zeros(4));
        Npy.write(dir.resolve("a.npy"), Tensor.zeros(5)); // overwrite goes through the same temp-and-move
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(1, files.count());
        }
        assertEquals(5, Npy.read(dir.resolve("a.npy")).size());
    }

    @Test
    void failedWriteLeavesNothingHalfWritten() throws IOException {
        // The target is a non-empty folder, so the final move fails after the data was written.
        Path target = Files.createDirectory(dir.resolve("occupied.npy"));
        Files.writeString(target.resolve("keep"), "x");
        ZeroqException e = assertThrows(ZeroqException.class, () -> Npy.write(target, Tensor.zeros(1000)));
        assertTrue(e.badInput());
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(1, files.count(), "only the pre-existing folder remains");
        }
    }

    @Test
    void writeIntoMissingFolderIsBadInput() {
        ZeroqException e = assertThrows(ZeroqException.class,
                () -> Npy.write(dir.resolve("no/such/x.npy"), Tensor.zeros(1)));
        assertTrue(e.badInput());
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    }

    @Test
    void readsEveryDtypeAsFloat() throws IOException {
        ByteBuffer f8 = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putDouble(1.5).putDouble(-2.25);
        assertArrayEquals(new float[] {1.5f, -2.25f}, readNpy("<f8", "(2,)", f8.array()).data());
        assertArrayEquals(new float[] {-3, 70000}, readNpy("<i4", "(2,)", TestFiles.le(4, -3, 70000)).data());
        assertArrayEquals(new float[] {9, -1}, readNpy("<i8", "(2,)", TestFiles.le(8, 9, -1)).data());
        assertArrayEquals(new float[] {0, 255}, readNpy("|u1", "(2,)", TestFiles.le(1, 0, 255)).data());
        assertArrayEquals(new float[] {-128, 127}, readNpy("|i1", "(2,)", TestFiles.le(1, -128, 127)).data());
        Tensor m = readNpy("<f4", "(2, 1)", ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
                .putFloat(0.5f).putFloat(4f).array());
        assertArrayEquals(new int[] {2, 1}, m.shape());
        assertArrayEquals(new float[] {0.5f, 4f}, m.data());
    }

    @Test
    void readsVersions2And3AndGzip() throws IOException {
        String dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }";
        for (int major : new int[] {2, 3}) {
            Path p = TestFiles.write(dir, "v" + major + ".npy", TestFiles.npy(major, dict, TestFiles.le(4, 1, 2, 3)));
            assertArrayEquals(new float[] {1, 2, 3}, Npy.read(p).data());
        }
        Path gz = TestFiles.write(dir, "z.bin", TestFiles.gzip(TestFiles.npy(dict, TestFiles.le(4, 4, 5, 6))));
        assertArrayEquals(new float[] {4, 5, 6}, Npy.read(gz).data());
    }

    @Test
    void unsupportedDtypeIsBadInput() throws IOException {
        for (String descr : new String[] {"<f2", ">f4", "|b1", "<c8", "<U3"}) {
            ZeroqException e = assertThrows(ZeroqException.class, () -> readNpy(descr, "(1,)", new byte[8]));
            assertTrue(e.badInput());
            assertTrue(e.getMessage().contains("dtype '" + descr + "'"), e.getMessage());
        }
    }

    @Test
    void fortranOrderIsBadInput() throws IOException {
        Path p = TestFiles.write(dir, "f.npy", TestFiles.npy(
                "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", new byte[16]));
        ZeroqException e = assertThrows(ZeroqException.class, () -> Npy.read(p));
        assertTrue(e.getMessage().contains("Fortran order"), e.getMessage());
    }

    @Test
    void truncatedDataIsBadInput() throws IOException {
        Path p = TestFiles.write(dir, "t.npy", TestFiles.npy(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", new byte[15]));
        ZeroqException e = assertThrows(ZeroqException.class, () -> Npy.read(p));
        assertTrue(e.badInput());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void wrongMagicAndMissingFileAreBadInput() throws IOException {
        Path p = TestFiles.write(dir, "x.npy", "not numpy at all".getBytes());
        ZeroqException e = assertThrows(ZeroqException.class, () -> Npy.read(p));
        assertTrue(e.getMessage().contains("not a .npy file"), e.getMessage());
        ZeroqException missing = assertThrows(ZeroqException.class, () -> Npy.read(dir.resolve("none.npy")));
        assertTrue(missing.badInput());
        assertTrue(missing.getMessage().contains("not found"), missing.getMessage());
    }

    private Tensor readNpy(String descr, String shape, byte[] payload) throws IOException {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
        return Npy.read(TestFiles.write(dir, "d.npy", TestFiles.npy(dict, payload)));
    }
}
