package dev.zeroq.io;

import dev.zeroq.ZeroqException;
import dev.zeroq.tensor.Tensor;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy .npy files to and from {@link Tensor}: reads format versions 1.0, 2.0 and 3.0 in C order with the
 * dtypes {@code <f4 <f8 <i4 <i8 |u1 |i1} (converted to float32); writes {@code <f4}, atomically.
 */
public final class Npy {
    private Npy() {}

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** numpy pads the header so the data starts on a multiple of 64 bytes; readers mmap-ing it expect that. */
    private static final int ALIGN = 64;
    private static final int CHUNK = 1 << 16;

    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    /** The element types read, with their size in bytes. */
    private enum Dtype {
        F4("<f4", 4), F8("<f8", 8), I4("<i4", 4), I8("<i8", 8), U1("|u1", 1), I1("|i1", 1);

        final String descr;
        final int bytes;

        Dtype(String descr, int bytes) {
            this.descr = descr;
            this.bytes = bytes;
        }

        static Dtype of(String descr) {
            // One-byte types have no byte order: numpy writes '|', but '<' and '=' mean the same for them.
            String d = descr.length() == 3 && descr.charAt(2) == '1'
                    && (descr.charAt(0) == '<' || descr.charAt(0) == '=') ? "|" + descr.substring(1) : descr;
            for (Dtype t : values()) {
                if (t.descr.equals(d)) {
                    return t;
                }
            }
            return null;
        }
    }

    /** True when the first bytes are the .npy magic; lets callers pick a reader by content, not by name. */
    static boolean hasMagic(byte[] head) {
        if (head.length < MAGIC.length) {
            return false;
        }
        return Arrays.equals(Arrays.copyOf(head, MAGIC.length), MAGIC);
    }

    /** Reads a .npy file (gzipped is fine too) into a float32 tensor of the stored shape. */
    public static Tensor read(Path path) {
        try (InputStream in = Sources.open(path, ".npy")) {
            return read(in, path.toString());
        } catch (IOException e) {
            throw ZeroqException.badInput("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    /** Reads .npy content from a stream; {@code name} appears in error messages. Does not close the stream. */
    public static Tensor read(InputStream in, String name) {
        byte[] pre = new byte[8];
        Sources.readFully(in, pre, 0, 8, name, "a .npy header");
        if (!hasMagic(pre)) {
            throw ZeroqException.badInput(name + " is not a .npy file (it does not start with \\x93NUMPY): "
                    + "save it with numpy.save");
        }
        int major = pre[6] & 0xff;
        int headerLen;
        if (major == 1) {
            byte[] len = new byte[2];
            Sources.readFully(in, len, 0, 2, name, "a .npy header");
            headerLen = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xffff;
        } else if (major == 2 || major == 3) {
            byte[] len = new byte[4];
            Sources.readFully(in, len, 0, 4, name, "a .npy header");
            headerLen = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getInt();
            if (headerLen < 0) {
                throw ZeroqException.badInput(name + " has a corrupt .npy header length: save it again with numpy.save");
            }
        } else {
            throw ZeroqException.badInput(name + " uses .npy format version " + major + "." + (pre[7] & 0xff)
                    + ", zeroq reads 1.0, 2.0 and 3.0: save it with numpy.save");
        }
        // A damaged version-2 length can claim 2 GiB: read what is there before believing it.
        byte[] headerBytes = Sources.readExactly(in, headerLen, name, "a " + headerLen + "-byte .npy header");
        // Version 3.0 only differs by allowing UTF-8 in the header; the keys we need are ASCII either way.
        String header = new String(headerBytes, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);

        String descr = group(DESCR, header, "descr", name);
        Dtype dtype = Dtype.of(descr);
        if (dtype == null) {
            throw ZeroqException.badInput(name + " has dtype '" + descr + "', zeroq reads <f4, <f8, <i4, <i8, |u1, |i1: "
                    + "convert it with array.astype(numpy.float32)");
        }
        if (group(FORTRAN, header, "fortran_order", name).equals("True")) {
            throw ZeroqException.badInput(name + " is stored in Fortran order, zeroq reads C order: "
                    + "save numpy.ascontiguousarray(array) instead");
        }
        int[] shape = parseShape(group(SHAPE, header, "shape", name), name);
        long count = 1;
        for (int d : shape) {
            // Checked after every factor: a few dimensions below 2^31 overflow a long before the end.
            count *= d;
            if (count > Integer.MAX_VALUE - 8) {
                throw ZeroqException.badInput(name + " has shape " + Arrays.toString(shape) + ", more elements than one "
                        + "tensor can hold (2^31): split it into smaller files");
            }
        }
        float[] data = readElements(in, dtype, (int) count, name,
                count + " elements of " + descr + " for shape " + Arrays.toString(shape));
        if (!Sources.atEnd(in, name)) {
            throw ZeroqException.badInput(name + " has bytes after its " + count + " elements: the header's shape "
                    + Arrays.toString(shape) + " does not match the data; save it again with numpy.save");
        }
        return new Tensor(data, shape);
    }

    /**
     * Converts in chunks so a large file never needs a second full-size byte copy. The result grows (doubling)
     * with the elements actually read, so a header promising far more than the file holds fails as truncated
     * after allocating about twice the real data, not the promised size.
     */
    private static float[] readElements(InputStream in, Dtype dtype, int count, String name, String expectation) {
        int perChunk = CHUNK / dtype.bytes;
        byte[] buf = new byte[perChunk * dtype.bytes];
        ByteBuffer bb = ByteBuffer.wrap(buf).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[Math.min(count, perChunk)];
        for (int start = 0; start < count; start += perChunk) {
            int n = Math.min(perChunk, count - start);
            if (start + n > out.length) {
                out = Arrays.copyOf(out, (int) Math.min(count, Math.max(start + n, 2L * out.length)));
            }
            Sources.readFully(in, buf, 0, n * dtype.bytes, name, expectation);
            bb.clear();
            switch (dtype) {
                case F4 -> bb.asFloatBuffer().get(out, start, n);
                case F8 -> {
                    for (int i = 0; i < n; i++) {
                        out[start + i] = (float) bb.getDouble(i * 8);
                    }
                }
                case I4 -> {
                    for (int i = 0; i < n; i++) {
                        out[start + i] = bb.getInt(i * 4);
                    }
                }
                case I8 -> {
                    for (int i = 0; i < n; i++) {
                        out[start + i] = bb.getLong(i * 8);
                    }
                }
                case U1 -> {
                    for (int i = 0; i < n; i++) {
                        out[start + i] = buf[i] & 0xff;
                    }
                }
                case I1 -> {
                    for (int i = 0; i < n; i++) {
                        out[start + i] = buf[i];
                    }
                }
            }
        }
        return out;
    }

    private static String group(Pattern p, String header, String key, String name) {
        Matcher m = p.matcher(header);
        if (!m.find()) {
            throw ZeroqException.badInput(name + " has a .npy header without a valid '" + key + "' entry: "
                    + "save it again with numpy.save");
        }
        return m.group(1);
    }

    private static int[] parseShape(String text, String name) {
        String[] parts = text.split(",");
        int[] dims = new int[parts.length];
        int n = 0;
        for (String part : parts) {
            String t = part.strip();
            if (t.isEmpty()) {
                continue; // "(5,)" and "()" leave an empty piece after the last comma
            }
            try {
                // numpy 1.x on some platforms writes longs as "5L"
                dims[n] = Integer.parseInt(t.endsWith("L") ? t.substring(0, t.length() - 1) : t);
            } catch (NumberFormatException e) {
                throw ZeroqException.badInput(name + " has a bad .npy shape (" + text + "): every dimension must be a "
                        + "non-negative integer below 2^31");
            }
            if (dims[n] < 0) {
                throw ZeroqException.badInput(name + " has a negative dimension in its .npy shape (" + text + ")");
            }
            n++;
        }
        return Arrays.copyOf(dims, n);
    }

    /**
     * Writes the tensor as a little-endian float32 C-order .npy file. The bytes go to a temporary file in
     * the same folder first, which is then moved over {@code path}: a crash or a full disk never leaves a
     * half-written file under the final name, and the move stays on one file system.
     */
    public static void write(Path path, Tensor tensor) {
        AtomicFiles.write(path, ".npy file", tmp -> {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), CHUNK)) {
                write(out, tensor);
            }
        });
    }

    /** Writes .npy content (float32, C order) to a stream; does not close it. */
    public static void write(OutputStream out, Tensor tensor) throws IOException {
        out.write(header(tensor.shape()));
        float[] data = tensor.data();
        int perChunk = CHUNK / 4;
        ByteBuffer bb = ByteBuffer.allocate(perChunk * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int start = 0; start < data.length; start += perChunk) {
            int n = Math.min(perChunk, data.length - start);
            bb.clear();
            bb.asFloatBuffer().put(data, start, n);
            out.write(bb.array(), 0, n * 4);
        }
    }

    /** The magic, version, length and dict, padded with spaces and a final newline to a multiple of 64. */
    static byte[] header(int[] shape) {
        StringBuilder dims = new StringBuilder();
        for (int d : shape) {
            dims.append(d).append(", ");
        }
        String shapeText = switch (shape.length) {
            case 0 -> "()";
            case 1 -> "(" + shape[0] + ",)"; // a Python one-tuple needs the trailing comma
            default -> "(" + dims.substring(0, dims.length() - 2) + ")";
        };
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shapeText + ", }";
        // Version 1.0 stores the header length in 2 bytes; longer headers (rank in the thousands) need 2.0.
        int prefix = dict.length() + 1 + 10 < 65536 ? 10 : 12;
        int total = (prefix + dict.length() + 1 + ALIGN - 1) / ALIGN * ALIGN;
        String padded = dict + " ".repeat(total - prefix - dict.length() - 1) + "\n";
        ByteBuffer bb = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
        bb.put(MAGIC);
        if (prefix == 10) {
            bb.put((byte) 1).put((byte) 0).putShort((short) padded.length());
        } else {
            bb.put((byte) 2).put((byte) 0).putInt(padded.length());
        }
        bb.put(padded.getBytes(StandardCharsets.ISO_8859_1));
        return bb.array();
    }
}
