// Device-memory readings for the GPU reliability tests in other packages (the API's): free and total bytes
// (cuMemGetInfo) and DeviceBuffer's live allocations, through a primary context the probe retains until closed.
package dev.zeroq.backend.cuda;

import java.util.Locale;

/** Open one per test; while it is open the device's primary context stays alive between sessions. */
public final class DeviceProbe implements AutoCloseable {
    private final CudaContext context;

    private DeviceProbe(CudaContext context) {
        this.context = context;
    }

    /** Retains device {@code ordinal}'s primary context (sessions share it) and makes it current here. */
    public static DeviceProbe open(int ordinal) {
        return new DeviceProbe(CudaContext.open(ordinal));
    }

    /** One reading, taken once the device is idle, so that nothing still in flight is counted. */
    public record Reading(long freeBytes, long totalBytes, long liveAllocations) {
        public long freeMiB() {
            return freeBytes >> 20;
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "free %d MiB of %d MiB, %d live device buffers", freeBytes >> 20,
                    totalBytes >> 20, liveAllocations);
        }
    }

    public Reading read() {
        context.synchronize();
        long[] m = context.memoryInfo();
        return new Reading(m[0], m[1], DeviceBuffer.live());
    }

    /** e.g. "NVIDIA H100 80GB HBM3, sm_90, driver 13000". */
    public String describe() {
        return context.name() + ", sm_" + context.computeCapability() + ", driver " + CudaContext.driverVersion();
    }

    @Override
    public void close() {
        context.close();
    }
}
