// What a benchmark says about the card it ran on (name, compute capability, SMs, clock, driver, memory), read from
// the driver in one call that opens and releases the device's primary context; and the free-memory check of a plan.
package dev.zeroq.backend.cuda;

import java.util.Locale;

/**
 * One CUDA device as the driver describes it.
 *
 * @param ordinal            the device number ({@code cuda:N})
 * @param name               e.g. "NVIDIA H100 80GB HBM3"
 * @param computeCapability  major·10 + minor, e.g. 90
 * @param multiprocessors    SM count
 * @param clockKHz           SM clock the driver reports (CU_DEVICE_ATTRIBUTE_CLOCK_RATE), in kHz
 * @param driverVersion      e.g. 13000 for CUDA 13.0
 * @param freeBytes          free device memory when queried
 * @param totalBytes         device memory
 */
public record CudaDeviceInfo(int ordinal, String name, int computeCapability, int multiprocessors, int clockKHz,
                             int driverVersion, long freeBytes, long totalBytes) {

    /** Reads device {@code ordinal}'s attributes (throws a {@link CudaException} when the driver refuses). */
    public static CudaDeviceInfo query(int ordinal) {
        try (CudaContext c = CudaContext.open(ordinal)) {
            long[] mem = c.memoryInfo();
            return new CudaDeviceInfo(ordinal, c.name(), c.computeCapability(),
                    c.attribute(CudaContext.ATTR_MULTIPROCESSOR_COUNT), c.attribute(CudaContext.ATTR_CLOCK_RATE),
                    CudaContext.driverVersion(), mem[0], mem[1]);
        }
    }

    /** "sm_90". */
    public String arch() {
        return "sm_" + computeCapability;
    }

    /** "13.0" for 13000. */
    public String driver() {
        return driverVersion / 1000 + "." + driverVersion % 1000 / 10;
    }

    /** "cuda:0". */
    public String device() {
        return "cuda:" + ordinal;
    }

    /** "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs at 1980 MHz, 79.6 GiB), driver 13.0". */
    public String describe() {
        return String.format(Locale.ROOT, "%s (%s, %d SMs at %d MHz, %.1f GiB), driver %s", name, arch(), multiprocessors,
                clockKHz / 1000, totalBytes / (double) (1L << 30), driver());
    }

    /**
     * Throws a {@link dev.zeroq.ZeroqException} (bad input) when {@code bytes} exceed the free memory of this query:
     * "WHAT needs 3.000 GiB of device memory on cuda:0, but 1.000 GiB of 80.000 GiB is free; use a smaller batch".
     */
    public void requireFree(long bytes, String what) {
        DeviceMemory.check(bytes, freeBytes, totalBytes, what, device());
    }

    /**
     * As {@link #requireFree(long, String)} for an engine that replaces one holding {@code held} bytes, which the
     * caller closes only once this check has passed: those bytes count as free.
     */
    public void requireFree(long bytes, long held, String what) {
        DeviceMemory.check(bytes, freeBytes, held, totalBytes, what, device());
    }
}
