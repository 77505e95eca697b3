package dev.zeroq.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/** Hand-made IDX and .npy bytes for the reader tests, built field by field so each test controls every byte. */
final class TestFiles {
    private TestFiles() {}

    /** An IDX file: magic, big-endian dims, then the given payload (which may be shorter than the dims say). */
    static byte[] idx(int magic, int[] dims, byte[] payload) {
        ByteBuffer bb = ByteBuffer.allocate(4 + 4 * dims.length + payload.length); // big-endian by default
        bb.putInt(magic);
        for (int d : dims) {
            bb.putInt(d);
        }
        bb.put(payload);
        return bb.array();
    }

    static byte[] gzip(byte[] raw) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bos)) {
            gz.write(raw);
        }
        return bos.toByteArray();
    }

    /** A version-1.0 .npy file with a free-form header dict and raw little-endian payload. */
    static byte[] npy(String dict, byte[] payload) {
        return npy(1, dict, payload);
    }

    static byte[] npy(int major, String dict, byte[] payload) {
        int prefix = major == 1 ? 10 : 12;
        int total = (prefix + dict.length() + 1 + 63) / 64 * 64;
        String padded = dict + " ".repeat(total - prefix - dict.length() - 1) + "\n";
        ByteBuffer bb = ByteBuffer.allocate(total + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        bb.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        if (major == 1) {
            bb.putShort((short) padded.length());
        } else {
            bb.putInt(padded.length());
        }
        bb.put(padded.getBytes(StandardCharsets.UTF_8));
        bb.put(payload);
        return bb.array();
    }

    static byte[] le(int bytesPerValue, long... values) {
        ByteBuffer bb = ByteBuffer.allocate(values.length * bytesPerValue).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            switch (bytesPerValue) {
                case 1 -> bb.put((byte) v);
                case 4 -> bb.putInt((int) v);
                default -> bb.putLong(v);
            }
        }
        return bb.array();
    }

    static Path write(Path dir, String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }
}
