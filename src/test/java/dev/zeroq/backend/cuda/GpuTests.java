// The common start of the GPU-tagged tests, whatever package they sit in: skip (not fail) where CUDA is not usable,
// with the reason CudaAvailability gives.
package dev.zeroq.backend.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

public final class GpuTests {
    private GpuTests() {}

    /** Skips the calling test (or class, from {@code @BeforeAll}) unless CUDA is usable here. */
    public static void requireCuda() {
        CudaAvailability a = CudaAvailability.probe();
        assumeTrue(a.usable(), "CUDA unavailable: " + a.reason());
    }
}
