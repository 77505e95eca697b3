// Where a session or a pipeline run computes: the CPU, one CUDA device, or the best available.
package dev.zeroq.api;

import dev.zeroq.ZeroqException;

import java.util.Locale;

/**
 * A compute device. {@link #auto()} takes CUDA device 0 when a usable GPU and zeroq's kernels are present,
 * else the CPU; the choice and its reason are visible on the session ({@link InferenceSession#backend()},
 * {@link InferenceSession#fallbackReason()}).
 * Example: {@code Device.parse("cuda:1")} equals {@code Device.cuda(1)}.
 *
 * @param kind    CPU, CUDA or AUTO
 * @param ordinal the CUDA device index (after {@code CUDA_VISIBLE_DEVICES}); 0 for CPU and AUTO
 */
public record Device(Kind kind, int ordinal) {
    /** The device families. */
    public enum Kind {
        /** The pure-Java backend (Vector API, all cores). */
        CPU,
        /** A CUDA GPU. */
        CUDA,
        /** CUDA when usable, else CPU. */
        AUTO
    }

    public Device {
        if (kind == null) {
            throw ZeroqException.badInput("device kind is required: use Device.cpu(), Device.cuda() or Device.auto()");
        }
        if (ordinal < 0 || (kind != Kind.CUDA && ordinal != 0)) {
            throw ZeroqException.badInput("device ordinal " + ordinal + " is invalid for " + kind
                    + ": only CUDA takes an ordinal, and it must be >= 0");
        }
    }

    /** The CPU. */
    public static Device cpu() {
        return new Device(Kind.CPU, 0);
    }

    /** CUDA device 0. */
    public static Device cuda() {
        return new Device(Kind.CUDA, 0);
    }

    /** CUDA device {@code ordinal}. Example: {@code Device.cuda(1)} is the second visible GPU. */
    public static Device cuda(int ordinal) {
        return new Device(Kind.CUDA, ordinal);
    }

    /** CUDA when usable, else CPU. */
    public static Device auto() {
        return new Device(Kind.AUTO, 0);
    }

    /** Parses the command line's spelling: {@code cpu}, {@code cuda}, {@code cuda:N} or {@code auto}. */
    public static Device parse(String text) {
        String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        if (t.equals("cpu")) return cpu();
        if (t.equals("auto")) return auto();
        if (t.equals("cuda")) return cuda();
        if (t.matches("cuda:\\d{1,6}")) return cuda(Integer.parseInt(t.substring(5)));
        throw ZeroqException.badInput("unknown device '" + text + "': use cpu, cuda, cuda:N or auto");
    }

    /** The command line's spelling: {@code cpu}, {@code cuda:0}, {@code auto}. */
    @Override
    public String toString() {
        return switch (kind) {
            case CPU -> "cpu";
            case AUTO -> "auto";
            case CUDA -> "cuda:" + ordinal;
        };
    }
}
