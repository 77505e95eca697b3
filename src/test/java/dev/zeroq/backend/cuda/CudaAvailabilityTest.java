// Runs everywhere (not GPU-tagged): probing for CUDA must never throw, and on a machine without the driver it
// must say so with a reason a user can act on.
package dev.zeroq.backend.cuda;

import dev.zeroq.bindings.cuda.cuda_h;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class CudaAvailabilityTest {

    @Test
    void probeNeverThrowsAndExplainsUnavailability() {
        CudaAvailability a = assertDoesNotThrow(CudaAvailability::probe);
        if (!a.usable()) {
            assertFalse(a.reason().isBlank(), "an unusable probe must give a reason");
        } else {
            assertTrue(a.deviceCount() > 0, a.toString());
        }
    }

    @Test
    void withoutTheDriverTheReasonNamesLibcuda() {
        assumeTrue(cuda_h.libraryLoadError().isPresent(), "libcuda.so.1 is installed here; this checks the no-driver path");
        CudaAvailability a = CudaAvailability.probe();
        assertFalse(a.usable());
        assertTrue(a.reason().contains("libcuda.so.1"), a.reason());
    }

    @Test
    void theBuildBundlesTheKernelsWhenNvccExists() {
        assumeTrue(new java.io.File("/usr/local/cuda/bin/nvcc").canExecute(), "no nvcc on this machine");
        assertTrue(CudaModule.bundledKernels() != null && CudaModule.bundledKernels().length > 0,
                "nvcc exists but " + CudaModule.KERNELS_RESOURCE + " is not on the classpath");
    }
}
