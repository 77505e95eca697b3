package dev.zeroq.backend;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.backend.ref.RefBackend;

import java.util.Locale;

/**
 * Picks the backend named by {@code --device} (or the {@code zeroq.device} system property).
 * {@code auto} prefers CUDA when a usable GPU and kernels exist, else the CPU, and says why in {@link Selection#note()}.
 */
public final class Backends {
    private Backends() {}

    /** The chosen backend and, when the choice was a fallback, a one-line reason for the log. */
    public record Selection(Backend backend, String note) {}

    public static Selection select(String device) {
        String d = device == null ? System.getProperty("zeroq.device", "auto") : device;
        d = d.trim().toLowerCase(Locale.ROOT);
        return switch (d) {
            case "cpu" -> new Selection(new CpuBackend(), null);
            case "ref" -> new Selection(new RefBackend(), null);
            case "auto" -> new Selection(new CpuBackend(), "using the CPU backend: " + cudaUnavailableReason());
            default -> {
                if (d.equals("cuda") || d.matches("cuda:\\d+")) {
                    throw ZeroqException.badInput("--device " + d + " is not usable: " + cudaUnavailableReason()
                            + "; use --device cpu");
                }
                throw ZeroqException.badInput("unknown device '" + device + "': use cpu, cuda, cuda:N, ref or auto");
            }
        };
    }

    private static String cudaUnavailableReason() {
        return "this build has no CUDA backend yet";
    }
}
