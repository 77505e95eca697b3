// Runs a zeroq model on memory a JCuda program owns: the caller's context, stream and device pointers. The only
// class that touches JCuda types (an optional, provided dependency): zeroq loads and runs without JCuda present
// as long as nothing calls into this class.
package dev.zeroq.backend.cuda;

import dev.zeroq.ZeroqException;
import dev.zeroq.bindings.cuda.cuda_h;
import dev.zeroq.graph.Executor;
import dev.zeroq.graph.Graph;
import dev.zeroq.tensor.Tensor;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Arrays;

/**
 * A zeroq model bound to a JCuda caller's CUDA context and stream.
 *
 * <p>Ownership rules:
 * <ul>
 *   <li>The caller owns the context, the stream and every {@link CUdeviceptr} it passes; zeroq never frees,
 *       destroys or retains them, and keeps no reference to the pointers after {@link Session#run} returns. They
 *       must stay valid until then, and the context until {@link Session#close()}.</li>
 *   <li>zeroq owns what it creates inside the caller's context (its kernel module, cached weights, per-op
 *       scratch) and frees all of it in {@link Session#close()}, which must run on a thread where that context
 *       can be made current (it is made current by the session itself).</li>
 *   <li>Every driver call of the session runs in the caller's context, made current on the calling thread at the
 *       start of each call (and left current), and every kernel runs on the caller's stream. {@code run} first
 *       waits for work already queued on that stream (so the caller's writes to the input are complete) and
 *       returns after the output is written (so the caller can read it, or queue more work, at once).</li>
 * </ul>
 *
 * <p>Data path today: the model runs on {@link CudaBackend}, which stages each op's operands through host memory
 * (main has no device-resident inference executor yet). The input is therefore read from the caller's pointer
 * and the result written to the caller's pointer with driver copies; the contract above is what a device-resident
 * executor keeps when it replaces the backend. Not thread-safe: one session per thread.
 */
public final class JCudaInterop {
    private JCudaInterop() {}

    /**
     * Binds {@code graph} to the caller's {@code context} (on device {@code ordinal}) and {@code stream}; loads zeroq's
     * kernels into that context.
     */
    public static Session open(Graph graph, CUcontext context, int ordinal, CUstream stream) {
        CudaAvailability a = CudaAvailability.probe();
        if (!a.usable()) {
            throw ZeroqException.internal("CUDA unavailable: " + a.reason());
        }
        CudaContext ctx = CudaContext.borrow(MemorySegment.ofAddress(rawAddress(context)), ordinal);
        CudaStream str = CudaStream.borrow(MemorySegment.ofAddress(rawAddress(stream)));
        return new Session(graph, new CudaBackend(ctx, str), ctx, str);
    }

    /** One model on one caller's context and stream; {@link #close()} frees what zeroq allocated, nothing else. */
    public static final class Session implements AutoCloseable {
        private final Graph graph;
        private final CudaBackend backend;
        private final CudaContext context;
        private final CudaStream stream;
        private final Executor executor;

        private Session(Graph graph, CudaBackend backend, CudaContext context, CudaStream stream) {
            this.graph = graph;
            this.backend = backend;
            this.context = context;
            this.stream = stream;
            this.executor = new Executor(graph, backend);
        }

        /**
         * Runs the model's forward pass on {@code input} (NCHW floats of {@code inputShape}) and writes the graph output
         * (row-major floats) to {@code output}, which must hold at least {@code outputCapacity} floats. Returns the
         * output shape.
         */
        public int[] run(CUdeviceptr input, int[] inputShape, CUdeviceptr output, long outputCapacity) {
            context.makeCurrent();
            long n = 1;
            for (int d : inputShape) n = Math.multiplyExact(n, d);
            float[] x = new float[Math.toIntExact(n)];
            // Wait for the caller's queued writes to the input, then read it (a synchronous copy).
            stream.synchronize();
            copyDeviceToHost(rawAddress(input), x);
            Tensor y = executor.run(new Tensor(x, inputShape.clone()));
            if (y.size() > outputCapacity) {
                throw new IllegalArgumentException("output of " + graph.name() + " has " + y.size() + " floats "
                        + Arrays.toString(y.shape()) + ", but the caller's buffer holds " + outputCapacity);
            }
            copyHostToDevice(y.data(), rawAddress(output));
            return y.shape();
        }

        /** Unloads zeroq's kernels and frees its buffers; the caller's context, stream and pointers are untouched. */
        @Override
        public void close() {
            backend.close(); // its borrowed context and stream only forget their handles
        }
    }

    private static void copyDeviceToHost(long src, float[] dst) {
        long bytes = Math.multiplyExact((long) dst.length, Float.BYTES);
        if (bytes == 0) return;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(bytes, Float.BYTES);
            Cuda.check("cuMemcpyDtoH_v2(caller's input, " + bytes + " bytes)", cuda_h.cuMemcpyDtoH_v2(staging, src, bytes));
            MemorySegment.copy(staging, ValueLayout.JAVA_FLOAT, 0, dst, 0, dst.length);
        }
    }

    private static void copyHostToDevice(float[] src, long dst) {
        long bytes = Math.multiplyExact((long) src.length, Float.BYTES);
        if (bytes == 0) return;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocateFrom(ValueLayout.JAVA_FLOAT, src);
            Cuda.check("cuMemcpyHtoD_v2(caller's output, " + bytes + " bytes)", cuda_h.cuMemcpyHtoD_v2(dst, staging, bytes));
        }
    }

    // JCuda keeps the raw handle in NativePointerObject.getNativePointer() and a Pointer's offset in getByteOffset(),
    // both protected; JCuda is on the class path (unnamed module), so reflection may open them. Looked up once.
    private static final Method NATIVE_POINTER = accessible(NativePointerObject.class, "getNativePointer");
    private static final Method BYTE_OFFSET = accessible(Pointer.class, "getByteOffset");

    private static Method accessible(Class<?> type, String name) {
        try {
            Method m = type.getDeclaredMethod(name);
            m.setAccessible(true);
            return m;
        } catch (NoSuchMethodException | RuntimeException e) {
            throw new ExceptionInInitializerError("this JCuda version has no " + type.getName() + "." + name + "(): " + e);
        }
    }

    /** The raw CUcontext / CUstream / CUdeviceptr value (for a pointer, plus its byte offset). */
    static long rawAddress(NativePointerObject o) {
        if (o == null) {
            throw new IllegalArgumentException("null JCuda handle");
        }
        try {
            long p = (long) NATIVE_POINTER.invoke(o);
            if (o instanceof Pointer ptr) {
                p += (long) BYTE_OFFSET.invoke(ptr);
            }
            return p;
        } catch (IllegalAccessException | InvocationTargetException e) {
            throw new IllegalStateException("cannot read the native handle of " + o + ": " + e, e);
        }
    }
}
