// The common start of the GPU-tagged tests, whatever package they sit in: skip (not fail) where CUDA (or cuDNN) is
// not usable, with the reason CudaAvailability (or CudnnConv) gives.
package dev.zeroq.backend.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

public final class GpuTests {
    private GpuTests() {}

    /** Skips the calling test (or class, from {@code @BeforeAll}) unless CUDA is usable here. */
    public static void requireCuda() {
        CudaAvailability a = CudaAvailability.probe();
        assumeTrue(a.usable(), "CUDA unavailable: " + a.reason());
    }

    /** As {@link #requireCuda()}, and skips unless cuDNN loads too; returns what loaded (version, library). */
    public static CudnnConv.Availability requireCudnn() {
        requireCuda();
        CudnnConv.Availability c = CudnnConv.available();
        assumeTrue(c.usable(), "cuDNN unavailable: " + c.reason());
        return c;
    }
}
