// Turns a public Device into an internal backend selection, with messages phrased for API callers
// (the command line's Backends.select speaks of --device).
package dev.zeroq.api;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.Backends;
import dev.zeroq.backend.cuda.CudaAvailability;
import dev.zeroq.backend.cuda.CudaBackend;

final class Devices {
    private Devices() {}

    /** Opens the backend; the caller closes the selection (which frees a GPU's device memory). */
    static Backends.Selection open(Device d) {
        return open(d, false);
    }

    /** As {@link #open(Device)}; {@code tf32} allows TF32 tensor cores for a CUDA device's convolutions. */
    static Backends.Selection open(Device d, boolean tf32) {
        return switch (d.kind()) {
            case CPU -> Backends.select("cpu");
            case AUTO -> Backends.select("auto", CudaBackend.ConvKernels.ZEROQ, tf32);
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
                yield new Backends.Selection(new CudaBackend(d.ordinal(), CudaBackend.ConvKernels.ZEROQ, tf32), null);
            }
        };
    }
}
