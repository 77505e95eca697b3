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
        return switch (d.kind()) {
            case CPU -> Backends.select("cpu");
            case AUTO -> Backends.select("auto");
            case CUDA -> {
                CudaAvailability a = CudaAvailability.probe();
                if (!a.usable()) {
                    throw ZeroqException.badInput("device " + d + " is not usable: " + a.reason()
                            + "; use Device.cpu() or Device.auto()");
                }
                if (d.ordinal() >= a.deviceCount()) {
                    throw ZeroqException.badInput("device " + d + " does not exist: " + a.deviceCount()
                            + " CUDA device(s) are visible; use cuda(0) to cuda(" + (a.deviceCount() - 1) + ")");
                }
                yield new Backends.Selection(new CudaBackend(d.ordinal()), null);
            }
        };
    }
}
