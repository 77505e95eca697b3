package dev.zeroq.io;

import dev.zeroq.ZeroqException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * IDX files (the MNIST / Fashion-MNIST format): a big-endian magic {@code 0x0000TTRR} (T element type,
 * R rank), R big-endian uint32 dimensions, then the elements. zeroq reads the uint8 kind (T = 0x08), raw
 * or gzipped; gzip is recognised by its magic bytes, not by the file name.
 */
public final class Idx {
    private Idx() {}

    /** uint8 images, N × rows × cols. */
    public static final int IMAGES_MAGIC = 0x00000803;
    /** uint8 labels, N. */
    public static final int LABELS_MAGIC = 0x00000801;
    private static final int UBYTE = 0x08;

    /** The contents of one IDX file: its magic, dimensions and the uint8 elements in row-major order. */
    public record Array(int magic, int[] dims, byte[] data) {
        /** The number of items (the first dimension). */
        public int count() {
            return dims[0];
        }
    }

    /** True when the first four bytes look like a uint8 IDX magic; used to tell IDX from .npy by content. */
    static boolean hasMagic(byte[] head) {
        return head.length >= 4 && head[0] == 0 && head[1] == 0 && head[2] == UBYTE && head[3] >= 1 && head[3] <= 4;
    }

    /** Reads an image file (magic 0x00000803). */
    public static Array readImages(Path path) {
        return expect(read(path), IMAGES_MAGIC, path.toString());
    }

    /** Reads a label file (magic 0x00000801) into ints 0..255. */
    public static int[] readLabels(Path path) {
        return labels(expect(read(path), LABELS_MAGIC, path.toString()));
    }

    static int[] labels(Array a) {
        int[] out = new int[a.count()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.data()[i] & 0xff;
        }
        return out;
    }

    static Array expect(Array a, int magic, String name) {
        if (a.magic() != magic) {
            throw ZeroqException.badInput(name + " is an IDX " + describe(a.magic()) + " file (magic "
                    + hex(a.magic()) + "), expected " + describe(magic) + " (" + hex(magic) + "): check which file "
                    + "goes with which option");
        }
        return a;
    }

    /** Reads any uint8 IDX file, raw or gzipped. */
    public static Array read(Path path) {
        try (InputStream in = Sources.open(path, "IDX")) {
            return read(in, path.toString());
        } catch (IOException e) {
            throw ZeroqException.badInput("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    /** Reads uint8 IDX content from an (already gunzipped) stream; does not close it. */
    public static Array read(InputStream in, String name) {
        byte[] head = new byte[4];
        Sources.readFully(in, head, 0, 4, name, "a 4-byte IDX magic");
        int magic = ByteBuffer.wrap(head).getInt(); // ByteBuffer defaults to big-endian, as IDX is
        if (head[0] != 0 || head[1] != 0) {
            throw ZeroqException.badInput(name + " is not an IDX file (magic " + hex(magic) + ", an IDX file starts "
                    + "with 0x0000): give Fashion-MNIST/MNIST style IDX files or a .npy file");
        }
        if (head[2] != UBYTE) {
            throw ZeroqException.badInput(name + " is an IDX file of element type 0x" + String.format("%02X", head[2])
                    + ", zeroq reads uint8 (0x08) only: convert it to .npy");
        }
        int rank = head[3] & 0xff;
        if (rank < 1 || rank > 4) {
            throw ZeroqException.badInput(name + " declares " + rank + " dimensions in its IDX magic " + hex(magic)
                    + ", zeroq reads 1 to 4: check the file is not damaged");
        }
        byte[] dimBytes = new byte[4 * rank];
        Sources.readFully(in, dimBytes, 0, dimBytes.length, name, rank + " IDX dimensions");
        ByteBuffer bb = ByteBuffer.wrap(dimBytes);
        int[] dims = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++) {
            dims[i] = bb.getInt();
            if (dims[i] < 0) { // uint32 above 2^31: no real dataset, a damaged header
                throw ZeroqException.badInput(name + " has an impossible IDX dimension " + Integer.toUnsignedString(dims[i])
                        + ": check the file is not damaged");
            }
            // Checked after every factor: four dimensions below 2^31 would overflow a long before the end.
            count *= dims[i];
            if (count > Integer.MAX_VALUE - 8) {
                throw ZeroqException.badInput(name + " declares dimensions " + Arrays.toString(Arrays.copyOf(dims, i + 1))
                        + (i + 1 < rank ? "…" : "") + ", more than 2^31 bytes of data, more than zeroq reads at once: "
                        + "check the file is not damaged, or split it");
            }
        }
        String expectation = count + " bytes for dimensions " + Arrays.toString(dims);
        // Grows with the bytes present: a damaged header must not make us allocate what it promises.
        byte[] data = Sources.readExactly(in, (int) count, name, expectation);
        if (!Sources.atEnd(in, name)) {
            throw ZeroqException.badInput(name + " has bytes after the " + expectation
                    + " its header declares: check the file is not damaged");
        }
        return new Array(magic, dims, data);
    }

    static String hex(int magic) {
        return String.format("0x%08X", magic);
    }

    private static String describe(int magic) {
        return switch (magic) {
            case IMAGES_MAGIC -> "images";
            case LABELS_MAGIC -> "labels";
            default -> "rank-" + (magic & 0xff);
        };
    }
}
