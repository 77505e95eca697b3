// Runs a zeroq model in place on memory a JCuda program owns: the caller's context and stream, the input read from and
// the output written to the caller's CUdeviceptrs on the device. With dev.zeroq.api.JCudaSession, the only classes that
// touch JCuda (an optional, provided dependency): zeroq loads and runs without JCuda as long as neither is used.
package dev.zeroq.backend.cuda;

import dev.zeroq.ZeroqException;
import dev.zeroq.bindings.cuda.cuda_h;
import dev.zeroq.graph.Graph;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.IntSupplier;

/**
 * A zeroq model bound to a JCuda caller's CUDA context and stream, running FP32 on the device ({@link CudaForward}).
 *
 * <p>Ownership:
 * <ul>
 *   <li>The caller owns the context, the stream and every {@link CUdeviceptr} it passes; zeroq never frees, destroys or
 *       retains them, and keeps no reference to a pointer after {@link Session#run} returns.</li>
 *   <li>zeroq owns what it creates inside the caller's context when the session opens (its kernel module and one
 *       device allocation for the weights and activations) and frees it in {@link Session#close()}.</li>
 * </ul>
 *
 * <p>Ordering: every driver call runs in the caller's context, made current on the calling thread by each call (and
 * left current), and every copy and kernel of {@code run} is enqueued on the caller's stream, so {@code run} is
 * asynchronous as a kernel launch is: it reads the input after the work already queued on that stream (the
 * caller's writes of the input) and the output is ready for the work queued after it, or after
 * {@code cuStreamSynchronize}. Both buffers must stay allocated until then.
 *
 * <p>Data path: one device-to-device copy of the input into zeroq's planned input value (its prepared launches read
 * fixed addresses), the kernels, one device-to-device copy of the output into the caller's buffer; nothing passes
 * through the host. For ResNet-50 at batch 32 the input copy is 19 MB, about 10 µs at device bandwidth, next to
 * milliseconds of convolutions.
 *
 * <p>How the raw handles are read through JCuda's public API (JCuda keeps them in a protected field): a device
 * pointer's address is the driver's {@code CU_POINTER_ATTRIBUTE_DEVICE_POINTER} of that pointer; the context is what
 * {@code cuCtxGetCurrent} answers after JCuda's {@code cuCtxSetCurrent} (both libraries call the same libcuda, whose
 * current context is per thread); the stream is copied by JCuda from {@code Pointer.to(stream)} — which JCuda
 * documents as host memory holding the objects' native values, its way of passing handles as kernel arguments — into
 * an 8-byte device word that zeroq reads back, and checked: the driver's stream id through both bindings must agree.
 */
public final class JCudaInterop {
    // CUpointer_attribute values of cuda.h.
    static final int POINTER_ATTRIBUTE_CONTEXT = 1;
    static final int POINTER_ATTRIBUTE_DEVICE_POINTER = 3;
    static final int POINTER_ATTRIBUTE_RANGE_START_ADDR = 11;
    static final int POINTER_ATTRIBUTE_RANGE_SIZE = 12;

    private JCudaInterop() {}

    /**
     * Binds {@code graph} to the caller's {@code context} and {@code stream} for batches of up to {@code maxBatch}
     * images: loads zeroq's kernels into that context and allocates and fills its weights there (the stream must
     * belong to that context). The arguments are checked, and CUDA's availability, before any JCuda call.
     */
    public static Session open(Graph graph, CUcontext context, CUstream stream, int maxBatch) {
        Objects.requireNonNull(graph, "graph");
        Objects.requireNonNull(context, "context");
        Objects.requireNonNull(stream, "stream");
        if (maxBatch < 1) {
            throw ZeroqException.badInput("maxBatch must be at least 1, got " + maxBatch);
        }
        List<String> bad = CudaForward.unsupported(graph);
        if (!bad.isEmpty()) {
            throw ZeroqException.badInput("zeroq on JCuda memory runs the CUDA forward pass, which does not support "
                    + String.join(", ", bad));
        }
        CudaAvailability a = CudaAvailability.probe();
        if (!a.usable()) {
            throw ZeroqException.internal("CUDA unavailable: " + a.reason());
        }
        // From here on JCuda's driver natives are called; a JCuda program has loaded them already.
        jcuda("cuCtxSetCurrent(the caller's context)", () -> JCudaDriver.cuCtxSetCurrent(context));
        MemorySegment ctx = currentContext();
        if (ctx.equals(MemorySegment.NULL)) {
            throw ZeroqException.badInput("the CUcontext holds no context: create or retain one (cuCtxCreate, "
                    + "cuDevicePrimaryCtxRetain) before opening a session on it");
        }
        CudaContext borrowed = CudaContext.borrow(ctx, currentDevice());
        CudaStream str = CudaStream.borrow(MemorySegment.ofAddress(streamHandle(stream)));
        CudaForward forward = new CudaForward(graph, maxBatch,
                () -> DeviceHandles.borrow(borrowed, str, "zeroq on a JCuda context"));
        return new Session(graph, forward, borrowed, ctx.address());
    }

    /** One model on one caller's context and stream; {@link #close()} frees what zeroq allocated, nothing else. */
    public static final class Session implements AutoCloseable {
        private final Graph graph;
        private final CudaForward forward;
        private final CudaContext context;
        private final long contextHandle; // the caller's CUcontext, compared with the context of each buffer
        private boolean closed;

        private Session(Graph graph, CudaForward forward, CudaContext context, long contextHandle) {
            this.graph = graph;
            this.forward = forward;
            this.context = context;
            this.contextHandle = contextHandle;
        }

        /**
         * Enqueues on the caller's stream the forward pass of {@code batch} images read from {@code input} (NCHW
         * floats) and the write of the graph output ({@link #outputShape(int)}, row-major floats) into
         * {@code output}. {@code input} and {@code output} may be the same memory. Checks before anything is
         * enqueued: the batch, that both are device memory of this session's context, and that from each address to
         * the end of its allocation there are at least {@link #inputBytes(int)} and {@link #outputBytes(int)} bytes.
         *
         * @return the output shape
         */
        public synchronized int[] run(CUdeviceptr input, CUdeviceptr output, int batch) {
            if (closed) {
                throw new IllegalStateException("session is closed");
            }
            Objects.requireNonNull(input, "input");
            Objects.requireNonNull(output, "output");
            int[] chw = graph.inputShape();
            forward.checkInput(new int[] {batch, chw[0], chw[1], chw[2]});
            context.makeCurrent();
            long self = contextHandle;
            DeviceBuffer in = view("input", deviceAddress("input", input), self, forward.inputBytes(batch),
                    batch + " image(s) of (" + chw[0] + ", " + chw[1] + ", " + chw[2] + ") floats");
            int[] shape = forward.outputShape(batch);
            DeviceBuffer out = view("output", deviceAddress("output", output), self, forward.outputBytes(batch),
                    "the output " + Arrays.toString(shape) + " in floats");
            forward.runOnDevice(in, batch, out);
            return shape;
        }

        /** Bytes {@code run} reads from the input for {@code batch} images. */
        public long inputBytes(int batch) {
            return forward.inputBytes(batch);
        }

        /** Bytes {@code run} writes to the output for {@code batch} images. */
        public long outputBytes(int batch) {
            return forward.outputBytes(batch);
        }

        /** The output shape for {@code batch} images, e.g. [3, 10]. */
        public int[] outputShape(int batch) {
            return forward.outputShape(batch);
        }

        public int maxBatch() {
            return forward.maxBatch();
        }

        /**
         * Waits for the caller's stream (zeroq's last run must finish before its memory is freed), then unloads
         * zeroq's kernels and frees its allocation; the caller's context, stream and buffers are untouched. Idempotent.
         */
        @Override
        public synchronized void close() {
            if (closed) return;
            closed = true;
            try {
                forward.synchronize();
            } finally {
                forward.close(); // the borrowed context and stream only forget their handles
            }
        }
    }

    // ---- the caller's handles ----

    /** The raw address of a JCuda device pointer (with its byte offset): the driver's DEVICE_POINTER attribute. */
    static long deviceAddress(String what, CUdeviceptr p) {
        long[] value = new long[1];
        try {
            int r = JCudaDriver.cuPointerGetAttribute(Pointer.to(value), POINTER_ATTRIBUTE_DEVICE_POINTER, p);
            if (r != Cuda.CUDA_SUCCESS) throw notDeviceMemory(what, Cuda.describe(r));
        } catch (jcuda.CudaException e) { // thrown instead when the caller enabled JCuda's exceptions
            throw notDeviceMemory(what, e.getMessage());
        }
        return value[0];
    }

    private static ZeroqException notDeviceMemory(String what, String why) {
        return ZeroqException.badInput("the " + what + " CUdeviceptr is not device memory the CUDA driver knows ("
                + "cuPointerGetAttribute: " + why + "); pass memory from cuMemAlloc in the session's context");
    }

    /**
     * A borrowed view of the caller's memory at {@code address}, after checking it against the session's context
     * {@code self} and that it holds {@code needed} bytes ({@code purpose} names them in the message).
     */
    private static DeviceBuffer view(String what, long address, long self, long needed, String purpose) {
        long owner = pointerAttributeOrZero(POINTER_ATTRIBUTE_CONTEXT, address);
        requireContext(what, owner, self);
        long start = pointerAttribute(what, POINTER_ATTRIBUTE_RANGE_START_ADDR, address);
        long size = pointerAttribute(what, POINTER_ATTRIBUTE_RANGE_SIZE, address);
        return DeviceBuffer.borrow(address, requireRange(what, address, start, size, needed, purpose));
    }

    /**
     * Throws unless memory of context {@code owner} (0 when the driver names none, e.g. for memory mapped with the
     * virtual memory management API) belongs to the session's context {@code self}.
     */
    static void requireContext(String what, long owner, long self) {
        if (owner != 0 && owner != self) {
            throw ZeroqException.badInput("the " + what + " buffer was allocated in CUDA context " + hex(owner)
                    + ", but the session runs in " + hex(self) + "; allocate it in the session's context, or open a"
                    + " session on its context");
        }
    }

    /**
     * The bytes from {@code address} to the end of its allocation {@code [start, start + size)}; throws unless they hold
     * {@code needed}. Example: an input at 0x1000 in an allocation at 0x1000 of 4096 bytes, for 3 images of
     * (1, 28, 28) floats (9408 bytes): "the input buffer holds 4096 bytes from 0x1000 to the end of its allocation,
     * but 3 image(s) of (1, 28, 28) floats take 9408 bytes; allocate at least 9408 bytes from that address".
     */
    static long requireRange(String what, long address, long start, long size, long needed, String purpose) {
        long offset = address - start;
        if (offset < 0 || offset > size) {
            throw ZeroqException.internal("the driver places " + what + " address " + hex(address)
                    + " outside its own allocation [" + hex(start) + ", +" + size + ")");
        }
        long available = size - offset;
        if (available < needed) {
            throw ZeroqException.badInput("the " + what + " buffer holds " + available + " bytes from " + hex(address)
                    + " to the end of its allocation, but " + purpose + " take " + needed + " bytes; allocate at least "
                    + needed + " bytes from that address");
        }
        return available;
    }

    private static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    /** The CUstream a JCuda CUstream holds, read as the class comment says and checked by the stream ids. */
    static long streamHandle(CUstream stream) {
        long handle;
        try (DeviceBuffer word = DeviceBuffer.allocate(Long.BYTES)) {
            CUdeviceptr target = new CUdeviceptr().withByteOffset(word.address());
            jcuda("cuMemcpyHtoD(the caller's stream handle)",
                    () -> JCudaDriver.cuMemcpyHtoD(target, Pointer.to(stream), Long.BYTES));
            int[] halves = new int[2];
            word.copyTo(halves);
            handle = (halves[1] & 0xffffffffL) << 32 | (halves[0] & 0xffffffffL); // little-endian x86-64 and aarch64
        }
        long[] theirs = new long[1];
        jcuda("cuStreamGetId(the caller's stream)", () -> JCudaDriver.cuStreamGetId(stream, theirs));
        long ours = streamId(MemorySegment.ofAddress(handle));
        if (ours != theirs[0]) {
            throw ZeroqException.internal("reading the CUstream handle from JCuda gave " + hex(handle) + ", whose stream id "
                    + ours + " is not the caller's stream id " + theirs[0] + "; this JCuda version lays out Pointer.to"
                    + " differently: report it with the JCuda version");
        }
        return handle;
    }

    // ---- zeroq's own driver calls (FFM) ----

    private static MemorySegment currentContext() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Cuda.check("cuCtxGetCurrent", cuda_h.cuCtxGetCurrent(out));
            return Cuda.readPointer(out);
        }
    }

    /** The device of the current context: the driver's CUdevice, which is the device ordinal. */
    private static int currentDevice() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            Cuda.check("cuCtxGetDevice", cuda_h.cuCtxGetDevice(out));
            return Cuda.readInt(out);
        }
    }

    private static long streamId(MemorySegment stream) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_LONG);
            Cuda.check("cuStreamGetId", cuda_h.cuStreamGetId(stream, out));
            return Cuda.readLong(out);
        }
    }

    /** An 8-byte pointer attribute (a context, an address or a size) of device address {@code address}. */
    private static long pointerAttribute(String what, int attribute, long address) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_LONG);
            Cuda.check("cuPointerGetAttribute(" + attribute + ", the " + what + " buffer)",
                    cuda_h.cuPointerGetAttribute(out, attribute, address));
            return Cuda.readLong(out);
        }
    }

    /** As {@link #pointerAttribute} but 0 when the driver cannot say (the context of virtually mapped memory). */
    private static long pointerAttributeOrZero(int attribute, long address) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_LONG);
            return cuda_h.cuPointerGetAttribute(out, attribute, address) == Cuda.CUDA_SUCCESS ? Cuda.readLong(out) : 0;
        }
    }

    /** A JCuda driver call through zeroq's checker, whether the caller enabled JCuda's exceptions or not. */
    private static void jcuda(String call, IntSupplier f) {
        int r;
        try {
            r = f.getAsInt();
        } catch (jcuda.CudaException e) {
            throw ZeroqException.internal(call + " failed through JCuda: " + e.getMessage(), e);
        }
        Cuda.check(call + " through JCuda", r);
    }
}
