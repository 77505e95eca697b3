// Answers "can the CUDA backend run here, and if not, why" without throwing: the driver library, cuInit,
// a visible device and the kernels fatbin in the jar are each checked in turn, and the first failure is the reason.
package dev.zeroq.backend.cuda;

import dev.zeroq.bindings.cuda.cuda_h;

/**
 * Whether CUDA is usable in this process.
 *
 * @param usable        true when every check passed
 * @param reason        why not (empty when usable), e.g. "libcuda.so.1 could not be loaded: ..."
 * @param deviceCount   visible devices (after CUDA_VISIBLE_DEVICES), 0 when unknown
 * @param driverVersion e.g. 13000 for CUDA 13.0, 0 when unknown
 */
public record CudaAvailability(boolean usable, String reason, int deviceCount, int driverVersion) {

    public static CudaAvailability probe() {
        try {
            var libError = cuda_h.libraryLoadError();
            if (libError.isPresent()) {
                return no(libError.get() + " (no NVIDIA driver on this machine)", 0, 0);
            }
            try {
                CudaContext.init();
            } catch (CudaException e) {
                return no(e.getMessage(), 0, 0);
            }
            int driver = CudaContext.driverVersion();
            int count = CudaContext.deviceCount();
            if (count == 0) {
                return no("no CUDA device visible (CUDA_VISIBLE_DEVICES=" + System.getenv("CUDA_VISIBLE_DEVICES") + ")",
                        0, driver);
            }
            if (CudaModule.class.getResource(CudaModule.KERNELS_RESOURCE) == null) {
                return no("kernel fatbin " + CudaModule.KERNELS_RESOURCE
                        + " is missing from the jar (it was built without nvcc; see native/build-kernels.sh)", count, driver);
            }
            return new CudaAvailability(true, "", count, driver);
        } catch (RuntimeException | LinkageError e) {
            // Never throw for absence: an unexpected failure is itself the reason CUDA is unusable.
            return no("CUDA probe failed: " + e, 0, 0);
        }
    }

    private static CudaAvailability no(String reason, int count, int driver) {
        return new CudaAvailability(false, reason, count, driver);
    }
}
