package dev.zeroq.report;

import dev.zeroq.ZeroqException;
import dev.zeroq.io.AtomicFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Shared file handling for reports: the report folder is created, and every file appears whole or not at all. */
public final class Reports {
    private Reports() {}

    /** Creates the target's folder if needed, then writes through {@link AtomicFiles}. */
    public static void atomicWrite(Path target, AtomicFiles.Writer writer) {
        Path dir = target.toAbsolutePath().getParent();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw ZeroqException.badInput("cannot create report folder " + dir + ": " + e.getMessage(), e);
        }
        AtomicFiles.write(target, "report file", writer);
    }
}
