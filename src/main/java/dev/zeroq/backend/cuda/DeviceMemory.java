// Device memory planned before it is allocated: a batch whose plan does not fit the device's free memory fails
// here, with one line saying what to do, before any cuMemAlloc, so nothing is left half-allocated.
package dev.zeroq.backend.cuda;

import dev.zeroq.ZeroqException;

import java.util.Locale;

/** The free-memory check every device plan passes before its allocation (CudaBackend, DevicePlan). */
final class DeviceMemory {
    private static final double GIB = 1L << 30;

    private DeviceMemory() {}

    /**
     * Throws when {@code bytes} exceed what the device of {@code context} has free right now (cuMemGetInfo).
     * Example: {@code requireFree(ctx, 3L << 30, "a batch of 4096 images")} on a card with 1 GiB free throws
     * "a batch of 4096 images needs 3.000 GiB of device memory on cuda:0, but 1.000 GiB of 80.000 GiB is free;
     * use a smaller batch".
     */
    static void requireFree(CudaContext context, long bytes, String what) {
        long[] info = context.memoryInfo();
        check(bytes, info[0], info[1], what, "cuda:" + context.ordinal());
    }

    /** The comparison and its message, apart from the driver so that it is tested without a GPU. */
    static void check(long bytes, long free, long total, String what, String device) {
        check(bytes, free, 0, total, what, device);
    }

    /**
     * As {@link #check(long, long, long, String, String)}, counting {@code held} bytes that the caller would free
     * first (an engine built for a smaller batch, replaced by this one) as available; the message then names them.
     */
    static void check(long bytes, long free, long held, long total, String what, String device) {
        if (bytes > free + held) {
            throw ZeroqException.badInput(what + " needs " + gib(bytes) + " of device memory on " + device + ", but "
                    + gib(free) + " of " + gib(total) + " is free" + (held > 0 ? " and the engine it would replace holds "
                    + gib(held) : "") + "; use a smaller batch");
        }
    }

    /** Three decimals: a few MiB still show (0.031 GiB), which matters when the device is nearly full. */
    static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.3f GiB", bytes / GIB);
    }
}
