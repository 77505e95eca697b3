package dev.zeroq.io;

import dev.zeroq.ZeroqException;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Every file zeroq writes (plans, .npy, QDQ models, report images) goes through here: the bytes go to a
 * temporary file in the same folder, which is then moved over the target. A crash or a full disk never leaves a
 * half-written file under the final name, and the move stays on one file system.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** Something that writes the whole file at the given (temporary) path. */
    @FunctionalInterface
    public interface Writer {
        void write(Path tmp) throws IOException;
    }

    /**
     * @param what what the file is, for the error message ("plan", "QDQ model", …)
     * @throws ZeroqException (bad input) when the folder is missing or the write fails; nothing is left behind
     */
    public static void write(Path target, String what, Writer writer) {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw ZeroqException.badInput("cannot write " + what + " " + target + ": folder " + dir
                    + " does not exist; create it first");
        }
        Path tmp = null;
        try {
            tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
            writer.write(tmp);
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException e) {
            throw ZeroqException.badInput("cannot write " + what + " " + target + ": " + e
                    + "; check the folder is writable and has space", e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the original failure is the one worth reporting
                }
            }
        }
    }
}
