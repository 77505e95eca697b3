package dev.zeroq.backend;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.backend.cuda.CudaAvailability;
import dev.zeroq.backend.cuda.CudaBackend;
import dev.zeroq.backend.cuda.CudnnConv;
import dev.zeroq.backend.ref.RefBackend;

import java.util.Locale;

/**
 * Picks the backend named by {@code --device} (or the {@code zeroq.device} system property):
 * {@code cpu}, {@code ref}, {@code cuda}, {@code cuda:N} or {@code auto}. {@code auto} prefers CUDA when a
 * usable GPU and kernels exist, else the CPU, and says why in {@link Selection#note()}.
 */
public final class Backends {
    private Backends() {}

    /**
     * The chosen backend and, when the choice was a fallback, a one-line reason for the log. Close it to
     * release a GPU backend's device memory; closing a CPU selection does nothing.
     */
    public record Selection(Backend backend, String note) implements AutoCloseable {
        @Override
        public void close() {
            if (backend instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    throw ZeroqException.internal("closing backend " + backend.name() + " failed: " + e.getMessage(), e);
                }
            }
        }

        public boolean isCuda() {
            return backend instanceof CudaBackend;
        }
    }

    public static Selection select(String device) {
        return select(device, CudaBackend.ConvKernels.AUTO);
    }

    /**
     * As {@link #select(String)}, with the CUDA backend's convolutions on {@code conv}'s kernels ({@code --conv}).
     * CUDNN fails with the reason when cuDNN cannot be loaded or the device is not CUDA: it is never ignored silently.
     */
    public static Selection select(String device, CudaBackend.ConvKernels conv) {
        return select(device, conv, false);
    }

    /**
     * As {@link #select(String, CudaBackend.ConvKernels)}; {@code tf32} ({@code --tf32}) lets a CUDA backend use TF32
     * tensor cores for convolutions ({@link CudaBackend#CudaBackend(int, CudaBackend.ConvKernels, boolean)}). The CPU
     * backends accept it and compute in strict FP32 as always.
     */
    public static Selection select(String device, CudaBackend.ConvKernels conv, boolean tf32) {
        Selection s = selectDevice(device, conv, tf32);
        if (conv == CudaBackend.ConvKernels.CUDNN && !s.isCuda()) {
            s.close();
            throw ZeroqException.badInput("--conv cudnn needs the CUDA backend, but the device is " + s.backend().name()
                    + (s.note() != null ? " (" + s.note() + ")" : "") + "; use --conv zeroq or --device cuda");
        }
        return s;
    }

    /**
     * Which backend {@code device} names, checked but not opened: an explicit CUDA device must be usable and visible
     * (else a bad-input error saying why and to use --device cpu); {@code auto} without a usable GPU chooses the CPU
     * with the reason in {@link Choice#note()}. For callers that run their own device code (e.g. the CUDA benchmark).
     *
     * @param backend "cpu", "ref" or "cuda"
     * @param ordinal the CUDA device number; 0 otherwise
     */
    public record Choice(String backend, int ordinal, String note) {
        public boolean isCuda() {
            return backend.equals("cuda");
        }
    }

    public static Choice choose(String device) {
        String raw = device == null ? System.getProperty("zeroq.device", "auto") : device;
        String d = raw.trim().toLowerCase(Locale.ROOT);
        switch (d) {
            case "cpu":
            case "ref":
                return new Choice(d, 0, null);
            case "auto": {
                CudaAvailability a = CudaAvailability.probe();
                if (a.usable()) {
                    return new Choice("cuda", 0, null);
                }
                return new Choice("cpu", 0, "using the CPU backend: " + a.reason());
            }
            default:
                break;
        }
        if (d.equals("cuda") || d.matches("cuda:\\d+")) {
            int ordinal = d.equals("cuda") ? 0 : Integer.parseInt(d.substring(5));
            CudaAvailability a = CudaAvailability.probe();
            if (!a.usable()) {
                throw ZeroqException.badInput("--device " + d + " is not usable: " + a.reason() + "; use --device cpu");
            }
            if (ordinal >= a.deviceCount()) {
                throw ZeroqException.badInput("--device " + d + ": there " + (a.deviceCount() == 1 ? "is 1 CUDA device" : "are "
                        + a.deviceCount() + " CUDA devices") + " (after CUDA_VISIBLE_DEVICES); use cuda:0"
                        + (a.deviceCount() > 1 ? " to cuda:" + (a.deviceCount() - 1) : ""));
            }
            return new Choice("cuda", ordinal, null);
        }
        throw ZeroqException.badInput("unknown device '" + raw + "': use cpu, cuda, cuda:N, ref or auto");
    }

    private static Selection selectDevice(String device, CudaBackend.ConvKernels conv, boolean tf32) {
        Choice c = choose(device);
        return switch (c.backend()) {
            case "cpu" -> new Selection(new CpuBackend(), c.note());
            case "ref" -> new Selection(new RefBackend(), c.note());
            default -> new Selection(cuda(c.ordinal(), conv, tf32), c.note());
        };
    }

    private static CudaBackend cuda(int ordinal, CudaBackend.ConvKernels conv, boolean tf32) {
        if (conv == CudaBackend.ConvKernels.CUDNN) {
            CudnnConv.Availability a = CudnnConv.available();
            if (!a.usable()) {
                throw ZeroqException.badInput("--conv cudnn: cuDNN is not usable: " + a.reason() + "; use --conv zeroq");
            }
        }
        return new CudaBackend(ordinal, conv, tf32);
    }
}
