// Linear device memory: cuMemAlloc on create, cuMemFree on close, synchronous copies to and from Java arrays; or a
// borrowed view of memory someone else allocated (a JCuda caller's buffer), which close() forgets and never frees.
package dev.zeroq.backend.cuda;

import dev.zeroq.bindings.cuda.cuda_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** {@code bytes} of device memory; the address is a CUdeviceptr (a 64-bit integer, not a host pointer). */
final class DeviceBuffer implements AutoCloseable {
    /** A quiet NaN's bit pattern: written over outputs before a kernel runs so unwritten elements show up. */
    static final int NAN_BITS = 0x7fc00000;

    /** cuMemAlloc calls made by this process (tests check that an optimizer loop makes none). */
    private static final java.util.concurrent.atomic.AtomicLong ALLOCATIONS = new java.util.concurrent.atomic.AtomicLong();
    /** Buffers allocated and not yet freed (reliability tests: back to its level after a session closes). */
    private static final java.util.concurrent.atomic.AtomicLong LIVE = new java.util.concurrent.atomic.AtomicLong();

    private final long bytes;
    private final boolean owned; // false: a borrowed view (JCudaInterop), never freed and not counted here
    private long address;

    private DeviceBuffer(long address, long bytes, boolean owned) {
        this.address = address;
        this.bytes = bytes;
        this.owned = owned;
    }

    /**
     * A view of {@code bytes} of device memory at {@code address} that someone else allocated and will free (e.g. a
     * JCuda caller's {@code CUdeviceptr}): copies and launches use it like an own buffer, close() only forgets it.
     */
    static DeviceBuffer borrow(long address, long bytes) {
        if (address == 0) throw new IllegalArgumentException("null device address");
        if (bytes < 0) throw new IllegalArgumentException("negative size " + bytes);
        return new DeviceBuffer(address, bytes, false);
    }

    /** Allocates room for {@code count} floats (at least one, since cuMemAlloc rejects 0 bytes). */
    static DeviceBuffer allocateFloats(long count) {
        return allocate(Math.multiplyExact(Math.max(count, 1L), Float.BYTES));
    }

    static DeviceBuffer allocate(long bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_LONG);
            Cuda.check("cuMemAlloc_v2(" + bytes + " bytes)", cuda_h.cuMemAlloc_v2(out, bytes));
            ALLOCATIONS.incrementAndGet();
            LIVE.incrementAndGet();
            return new DeviceBuffer(Cuda.readLong(out), bytes, true);
        }
    }

    static DeviceBuffer upload(float[] data) {
        DeviceBuffer b = allocateFloats(data.length);
        try {
            b.copyFrom(data);
            return b;
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
    }

    /** Number of successful cuMemAlloc calls so far in this process. */
    static long allocations() {
        return ALLOCATIONS.get();
    }

    /** Device buffers allocated and not yet freed in this process. */
    static long live() {
        return LIVE.get();
    }

    long address() {
        if (address == 0) {
            throw new IllegalStateException("device buffer is freed");
        }
        return address;
    }

    long bytes() {
        return bytes;
    }

    void copyFrom(float[] src) {
        checkFits(Math.multiplyExact((long) src.length, Float.BYTES));
        uploadFloats(address(), src);
    }

    void copyTo(float[] dst) {
        checkFits(Math.multiplyExact((long) dst.length, Float.BYTES));
        downloadFloats(address(), dst);
    }

    /** Uploads bytes (int8/uint8 codes) to the start of the buffer. */
    void copyFrom(byte[] src) {
        checkFits(src.length);
        try (Arena arena = Arena.ofConfined()) {
            upload(address(), arena.allocateFrom(ValueLayout.JAVA_BYTE, src));
        }
    }

    /** Uploads ints (int32 bias, tables) to the start of the buffer. */
    void copyFrom(int[] src) {
        checkFits(Math.multiplyExact((long) src.length, Integer.BYTES));
        uploadInts(address(), src);
    }

    void copyTo(byte[] dst) {
        checkFits(dst.length);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(Math.max(1, dst.length));
            download(address(), staging.asSlice(0, dst.length));
            MemorySegment.copy(staging, ValueLayout.JAVA_BYTE, 0, dst, 0, dst.length);
        }
    }

    void copyTo(int[] dst) {
        long n = Math.multiplyExact((long) dst.length, Integer.BYTES);
        checkFits(n);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(Math.max(1, n), Integer.BYTES);
            download(address(), staging.asSlice(0, n));
            MemorySegment.copy(staging, ValueLayout.JAVA_INT, 0, dst, 0, dst.length);
        }
    }

    /** All of native memory {@code src} to the start of the buffer, straight (no staging). */
    void copyFrom(MemorySegment src) {
        checkFits(src.byteSize());
        upload(address(), src);
    }

    /** The start of the buffer into all of native memory {@code dst}, straight (no staging). */
    void copyTo(MemorySegment dst) {
        checkFits(dst.byteSize());
        download(address(), dst);
    }

    // ---- synchronous host ↔ device copies at a device address (a buffer's start, or a region of a pool) ----

    private static final java.util.concurrent.atomic.AtomicLong HEAP_STAGINGS = new java.util.concurrent.atomic.AtomicLong();

    /** Float arrays moved between the Java heap and the device through a native staging copy, so far (for tests). */
    static long heapStagings() {
        return HEAP_STAGINGS.get();
    }

    /** All of native memory {@code src} to device {@code address}. */
    static void upload(long address, MemorySegment src) {
        long n = src.byteSize();
        if (n > 0) Cuda.check("cuMemcpyHtoD_v2(" + n + " bytes)", cuda_h.cuMemcpyHtoD_v2(address, src, n));
    }

    /** Device {@code address} into all of native memory {@code dst}. */
    static void download(long address, MemorySegment dst) {
        long n = dst.byteSize();
        if (n > 0) Cuda.check("cuMemcpyDtoH_v2(" + n + " bytes)", cuda_h.cuMemcpyDtoH_v2(dst, address, n));
    }

    /** Floats of the Java heap to device {@code address}: a heap array cannot be handed to the driver, so via staging. */
    static void uploadFloats(long address, float[] src) {
        if (src.length == 0) return;
        HEAP_STAGINGS.incrementAndGet();
        try (Arena a = Arena.ofConfined()) {
            upload(address, a.allocateFrom(ValueLayout.JAVA_FLOAT, src));
        }
    }

    /**
     * As {@link #uploadFloats}, enqueued on {@code stream}: staged in {@code staging}, which must stay open until the
     * stream has run the copy. Touches no stream but {@code stream}: safe beside another thread's stream capture
     * (ConvChoice.searchAhead).
     */
    static void uploadFloats(Arena staging, long address, float[] src, CudaStream stream) {
        if (src.length == 0) return;
        HEAP_STAGINGS.incrementAndGet();
        upload(address, staging.allocateFrom(ValueLayout.JAVA_FLOAT, src), stream);
    }

    /** As {@link #uploadInts}, enqueued on {@code stream} as {@link #uploadFloats(Arena, long, float[], CudaStream)}. */
    static void uploadInts(Arena staging, long address, int[] src, CudaStream stream) {
        if (src.length == 0) return;
        upload(address, staging.allocateFrom(ValueLayout.JAVA_INT, src), stream);
    }

    /** As {@link #upload(long, MemorySegment)}, enqueued on {@code stream}; {@code src} must outlive the copy. */
    private static void upload(long address, MemorySegment src, CudaStream stream) {
        long n = src.byteSize();
        Cuda.check("cuMemcpyHtoDAsync_v2(" + n + " bytes)", cuda_h.cuMemcpyHtoDAsync_v2(address, src, n, stream.handle()));
    }

    /** Ints of the Java heap to device {@code address}, via staging. */
    static void uploadInts(long address, int[] src) {
        if (src.length == 0) return;
        try (Arena a = Arena.ofConfined()) {
            upload(address, a.allocateFrom(ValueLayout.JAVA_INT, src));
        }
    }

    /** Device {@code address} into floats of the Java heap, via staging. */
    static void downloadFloats(long address, float[] dst) {
        if (dst.length == 0) return;
        HEAP_STAGINGS.incrementAndGet();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment staging = a.allocate((long) dst.length * Float.BYTES, Float.BYTES);
            download(address, staging);
            MemorySegment.copy(staging, ValueLayout.JAVA_FLOAT, 0, dst, 0, dst.length);
        }
    }

    /**
     * Enqueues on {@code stream} a device-to-device copy of {@code n} bytes from the start of {@code src} to device
     * address {@code dst} (which the caller has checked holds them); nothing passes through the host.
     */
    static void copyAsync(long dst, DeviceBuffer src, long n, CudaStream stream) {
        src.checkFits(n);
        if (n > 0) {
            Cuda.check("cuMemcpyDtoDAsync_v2(" + n + " bytes)", cuda_h.cuMemcpyDtoDAsync_v2(dst, src.address(), n, stream.handle()));
        }
    }

    /** As {@link #copyAsync(long, DeviceBuffer, long, CudaStream)} into this buffer from device address {@code src}. */
    void copyFromAsync(long src, long n, CudaStream stream) {
        checkFits(n);
        if (n > 0) {
            Cuda.check("cuMemcpyDtoDAsync_v2(" + n + " bytes)", cuda_h.cuMemcpyDtoDAsync_v2(address(), src, n, stream.handle()));
        }
    }

    boolean owned() {
        return owned;
    }

    /** Sets every 32-bit word to {@code bits} (e.g. {@link #NAN_BITS}). */
    void fill32(int bits) {
        Cuda.check("cuMemsetD32_v2", cuda_h.cuMemsetD32_v2(address(), bits, bytes / 4));
    }

    private void checkFits(long n) {
        if (n > bytes) {
            throw new IllegalArgumentException("copy of " + n + " bytes into a device buffer of " + bytes);
        }
    }

    @Override
    public void close() {
        if (address != 0 && !owned) {
            address = 0;
        } else if (address != 0) {
            long a = address;
            address = 0;
            // Counted as freed even when cuMemFree reports an error: the handle is gone either way (a sticky
            // context error makes every call fail), and the count tracks handles this process still holds.
            LIVE.decrementAndGet();
            Cuda.check("cuMemFree_v2", cuda_h.cuMemFree_v2(a));
        }
    }
}
