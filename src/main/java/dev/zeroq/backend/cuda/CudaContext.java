// One device and its primary context: the driver's per-device context that the CUDA runtime also uses, so
// zeroq and a PyTorch in the same process share one. Retained on open, released on close.
package dev.zeroq.backend.cuda;

import dev.zeroq.bindings.cuda.cuda_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** A retained primary context on one device; {@link #makeCurrent()} before driver calls from any thread. */
final class CudaContext implements AutoCloseable {
    static final int ATTR_MAX_THREADS_PER_BLOCK = 1;
    /** The SM clock in kHz that cuda.h calls "typical" (compare with nvidia-smi's clocks.max.sm). */
    static final int ATTR_CLOCK_RATE = 13;
    static final int ATTR_MULTIPROCESSOR_COUNT = 16;
    static final int ATTR_COMPUTE_CAPABILITY_MAJOR = 75;
    static final int ATTR_COMPUTE_CAPABILITY_MINOR = 76;
    static final int ATTR_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;

    private final int ordinal;
    private final int device;
    private final boolean owned; // false: a caller's context (JCudaInterop), never released here
    private MemorySegment context;

    private CudaContext(int ordinal, int device, MemorySegment context, boolean owned) {
        this.ordinal = ordinal;
        this.device = device;
        this.context = context;
        this.owned = owned;
    }

    /** Wraps a context someone else created (and will destroy) on device {@code ordinal}; close() only forgets it. */
    static CudaContext borrow(MemorySegment context, int ordinal) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dev = arena.allocate(ValueLayout.JAVA_INT);
            Cuda.check("cuDeviceGet(" + ordinal + ")", cuda_h.cuDeviceGet(dev, ordinal));
            CudaContext c = new CudaContext(ordinal, Cuda.readInt(dev), context, false);
            c.makeCurrent();
            return c;
        }
    }

    /** cuInit (idempotent), then retain the primary context of device {@code ordinal} and make it current. */
    static CudaContext open(int ordinal) {
        init();
        int count = deviceCount();
        if (ordinal < 0 || ordinal >= count) {
            throw new IllegalArgumentException("CUDA device " + ordinal + " does not exist: " + count
                    + " visible (CUDA_VISIBLE_DEVICES=" + System.getenv("CUDA_VISIBLE_DEVICES") + ")");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dev = arena.allocate(ValueLayout.JAVA_INT);
            Cuda.check("cuDeviceGet(" + ordinal + ")", cuda_h.cuDeviceGet(dev, ordinal));
            int device = Cuda.readInt(dev);
            MemorySegment pctx = arena.allocate(ValueLayout.ADDRESS);
            Cuda.check("cuDevicePrimaryCtxRetain", cuda_h.cuDevicePrimaryCtxRetain(pctx, device));
            CudaContext c = new CudaContext(ordinal, device, Cuda.readPointer(pctx), true);
            try {
                c.makeCurrent();
            } catch (RuntimeException e) {
                c.close();
                throw e;
            }
            return c;
        }
    }

    static void init() {
        Cuda.check("cuInit", cuda_h.cuInit(0));
    }

    /** Devices the driver exposes; it applies CUDA_VISIBLE_DEVICES itself, so ordinals are already remapped. */
    static int deviceCount() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment n = arena.allocate(ValueLayout.JAVA_INT);
            Cuda.check("cuDeviceGetCount", cuda_h.cuDeviceGetCount(n));
            return Cuda.readInt(n);
        }
    }

    /** e.g. 13000 for CUDA 13.0: the newest API version the installed driver supports. */
    static int driverVersion() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(ValueLayout.JAVA_INT);
            Cuda.check("cuDriverGetVersion", cuda_h.cuDriverGetVersion(v));
            return Cuda.readInt(v);
        }
    }

    /** Binds this context to the calling thread (the driver's current context is per thread). */
    void makeCurrent() {
        Cuda.check("cuCtxSetCurrent", cuda_h.cuCtxSetCurrent(live()));
    }

    void synchronize() {
        makeCurrent();
        Cuda.check("cuCtxSynchronize", cuda_h.cuCtxSynchronize());
    }

    int ordinal() {
        return ordinal;
    }

    String name() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(256);
            Cuda.check("cuDeviceGetName", cuda_h.cuDeviceGetName(buf, 256, device));
            return buf.getString(0);
        }
    }

    int attribute(int attribute) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(ValueLayout.JAVA_INT);
            Cuda.check("cuDeviceGetAttribute(" + attribute + ")", cuda_h.cuDeviceGetAttribute(v, attribute, device));
            return Cuda.readInt(v);
        }
    }

    /** Compute capability as major·10 + minor, e.g. 90 for an H100. */
    int computeCapability() {
        return attribute(ATTR_COMPUTE_CAPABILITY_MAJOR) * 10 + attribute(ATTR_COMPUTE_CAPABILITY_MINOR);
    }

    long totalMemory() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(ValueLayout.JAVA_LONG);
            Cuda.check("cuDeviceTotalMem_v2", cuda_h.cuDeviceTotalMem_v2(v, device));
            return Cuda.readLong(v);
        }
    }

    /** {free, total} bytes of this context's device right now. */
    long[] memoryInfo() {
        makeCurrent();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment free = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment total = arena.allocate(ValueLayout.JAVA_LONG);
            Cuda.check("cuMemGetInfo_v2", cuda_h.cuMemGetInfo_v2(free, total));
            return new long[] {Cuda.readLong(free), Cuda.readLong(total)};
        }
    }

    private MemorySegment live() {
        if (context == null) {
            throw new IllegalStateException("CUDA context of device " + ordinal + " is closed");
        }
        return context;
    }

    @Override
    public void close() {
        if (context != null && !owned) {
            context = null;
        } else if (context != null) {
            context = null;
            Cuda.check("cuDevicePrimaryCtxRelease_v2", cuda_h.cuDevicePrimaryCtxRelease_v2(device));
        }
    }
}
