// Turns a public Device into an internal backend selection, with messages phrased for API callers
// (the command line's Backends.select speaks of --device).
package dev.zeroq.api;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.Backends;
import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.backend.cuda.CudaAvailability;
import dev.zeroq.backend.cuda.CudaBackend;

final class Devices {
    private Devices() {}

    /**
     * Which backend {@code d} resolves to, checked but not opened: CUDA must be usable and the ordinal visible (else
     * a bad-input error saying what to use instead); AUTO without a usable GPU is the CPU with the reason as note.
     */
    static Backends.Choice choose(Device d) {
        return switch (d.kind()) {
            case CPU -> new Backends.Choice("cpu", 0, null);
            case AUTO -> Backends.choose("auto");
            case CUDA -> {
                CudaAvailability a = CudaAvailability.probe();
                if (!a.usable()) {
                    throw ZeroqException.badInput("device " + d + " is not usable: " + a.reason()
                            + "; use Device.cpu() or Device.auto()");
                }
                if (d.ordinal() >= a.deviceCount()) {
                    int n = a.deviceCount();
                    throw ZeroqException.badInput("device " + d + " does not exist: " + (n == 1 ? "1 CUDA device is"
                            : n + " CUDA devices are") + " visible (after CUDA_VISIBLE_DEVICES); use Device.cuda(0)"
                            + (n > 1 ? " to Device.cuda(" + (n - 1) + ")" : ""));
                }
                yield new Backends.Choice("cuda", d.ordinal(), null);
            }
        };
    }

    /** Opens the backend; the caller closes the selection (which frees a GPU's device memory). */
    static Backends.Selection open(Device d) {
        return open(d, false);
    }

    /** As {@link #open(Device)}; {@code tf32} allows TF32 tensor cores for a CUDA device's convolutions. */
    static Backends.Selection open(Device d, boolean tf32) {
        return open(choose(d), tf32);
    }

    /** Opens an already checked choice. */
    static Backends.Selection open(Backends.Choice c, boolean tf32) {
        return c.isCuda()
                ? new Backends.Selection(new CudaBackend(c.ordinal(), CudaBackend.ConvKernels.AUTO, tf32), c.note())
                : new Backends.Selection(new CpuBackend(), c.note());
    }
}
