package dev.zeroq.io;

import dev.zeroq.ZeroqException;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Opening data files for the readers: a file or a classpath resource, transparently gunzipped when it
 * starts with the gzip magic (never judged by its name), with I/O failures turned into one-line errors.
 */
final class Sources {
    private Sources() {}

    private static final int GZIP_MAGIC_0 = 0x1f;
    private static final int GZIP_MAGIC_1 = 0x8b;

    /** Opens a file for reading; the caller closes the stream. */
    static InputStream open(Path path, String what) {
        if (!Files.exists(path)) {
            throw ZeroqException.badInput(what + " file " + path + " not found: check the path");
        }
        if (Files.isDirectory(path)) {
            throw ZeroqException.badInput(what + " path " + path + " is a directory: give a file");
        }
        try {
            return maybeGunzip(Files.newInputStream(path), path.toString());
        } catch (NoSuchFileException e) {
            throw ZeroqException.badInput(what + " file " + path + " not found: check the path", e);
        } catch (AccessDeniedException e) {
            throw ZeroqException.badInput(what + " file " + path + " is not readable: check its permissions", e);
        } catch (IOException e) {
            throw ZeroqException.badInput("cannot read " + what + " file " + path + ": " + e.getMessage(), e);
        }
    }

    /** Opens a resource bundled in the jar; a missing one means a broken build, not bad user input. */
    static InputStream openResource(String resource) {
        InputStream in = Sources.class.getResourceAsStream(resource);
        if (in == null) {
            throw ZeroqException.internal("bundled resource " + resource + " is missing from the jar");
        }
        try {
            return maybeGunzip(in, resource);
        } catch (IOException e) {
            throw ZeroqException.internal("cannot read bundled resource " + resource, e);
        }
    }

    /** Peeks at the first two bytes; gzip data is decompressed on the fly, anything else passes through. */
    static InputStream maybeGunzip(InputStream raw, String name) throws IOException {
        BufferedInputStream in = new BufferedInputStream(raw, 1 << 16);
        in.mark(2);
        int b0 = in.read();
        int b1 = in.read();
        in.reset();
        if (b0 == GZIP_MAGIC_0 && b1 == GZIP_MAGIC_1) {
            try {
                return new BufferedInputStream(new GZIPInputStream(in, 1 << 16), 1 << 16);
            } catch (EOFException | ZipException e) {
                in.close();
                throw ZeroqException.badInput(name + " is a damaged gzip file (" + e.getMessage()
                        + "): download or copy it again");
            }
        }
        return in;
    }

    /**
     * Reads exactly len bytes. Running out early means the file is shorter than its header promises, which a
     * damaged gzip stream reports as EOFException or ZipException: both become the same "truncated" error.
     */
    static void readFully(InputStream in, byte[] buf, int off, int len, String name, String expectation) {
        int done = 0;
        try {
            while (done < len) {
                int n = in.read(buf, off + done, len - done);
                if (n < 0) {
                    break;
                }
                done += n;
            }
        } catch (EOFException | ZipException e) {
            throw truncated(name, expectation, e);
        } catch (IOException e) {
            throw ZeroqException.badInput("cannot read " + name + ": " + e.getMessage(), e);
        }
        if (done < len) {
            throw truncated(name, expectation, null);
        }
    }

    /**
     * Reads exactly len bytes into a new array that grows with the bytes actually read (doubling, from 64 KiB):
     * a damaged header that promises gigabytes costs at most twice the file's real size before the "truncated"
     * error, instead of one allocation of the promised size.
     */
    static byte[] readExactly(InputStream in, int len, String name, String expectation) {
        byte[] buf = new byte[Math.min(len, 1 << 16)];
        int done = 0;
        while (done < len) {
            if (done == buf.length) {
                buf = java.util.Arrays.copyOf(buf, (int) Math.min(len, 2L * buf.length));
            }
            int want = buf.length - done;
            readFully(in, buf, done, want, name, expectation);
            done += want;
        }
        return buf;
    }

    /** True when the stream has no byte left; used to reject trailing garbage after the declared data. */
    static boolean atEnd(InputStream in, String name) {
        try {
            return in.read() < 0;
        } catch (EOFException | ZipException e) {
            throw truncated(name, "its gzip stream to end cleanly", e);
        } catch (IOException e) {
            throw ZeroqException.badInput("cannot read " + name + ": " + e.getMessage(), e);
        }
    }

    private static ZeroqException truncated(String name, String expectation, Throwable cause) {
        return ZeroqException.badInput(name + " is truncated: its header promises " + expectation
                + " but the file ends early; download or copy it again", cause);
    }
}
