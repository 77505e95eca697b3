// A loaded CUDA module (cuModuleLoadData of a fatbin held in a byte[]) and kernel launches on its functions.
// The driver picks the SASS matching the device from the fatbin, or JIT-compiles the compute_90 PTX.
package dev.zeroq.backend.cuda;

import dev.zeroq.bindings.cuda.cuda_h;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;

/** A module in the current context; functions are looked up once and cached by name. */
final class CudaModule implements AutoCloseable {
    /** Classpath location of the kernels fatbin written by native/build-kernels.sh. */
    static final String KERNELS_RESOURCE = "/dev/zeroq/kernels/zeroq_kernels.fatbin";

    static final int FUNC_ATTRIBUTE_NUM_REGS = 4;
    static final int FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES = 3;

    private MemorySegment module;
    private final Map<String, MemorySegment> functions = new HashMap<>();

    private CudaModule(MemorySegment module) {
        this.module = module;
    }

    private static volatile byte[] bundled; // read from the jar once per process (12 MB; each pass loads it)

    /**
     * The bundled kernels fatbin, or null when the jar was built without nvcc. Read once per process: every
     * device-resident pass (distillation, calibration, sensitivity) loads it into its context. Not to be modified.
     */
    static byte[] bundledKernels() {
        byte[] b = bundled;
        if (b != null) return b;
        try (InputStream in = CudaModule.class.getResourceAsStream(KERNELS_RESOURCE)) {
            if (in == null) return null;
            b = in.readAllBytes();
        } catch (IOException e) {
            return null;
        }
        bundled = b;
        return b;
    }

    /** Loads a fatbin, cubin or PTX image into the context current on this thread. */
    static CudaModule load(byte[] image) {
        try (Arena arena = Arena.ofConfined()) {
            // The driver reads the image during the call only; 16-byte alignment satisfies the fatbin header.
            MemorySegment data = arena.allocate(image.length + 1L, 16);
            MemorySegment.copy(image, 0, data, ValueLayout.JAVA_BYTE, 0, image.length);
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Cuda.check("cuModuleLoadData(" + image.length + " bytes)", cuda_h.cuModuleLoadData(out, data));
            return new CudaModule(Cuda.readPointer(out));
        }
    }

    /** The CUfunction of an {@code extern "C"} kernel. */
    MemorySegment function(String name) {
        MemorySegment f = functions.get(name);
        if (f == null) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
                Cuda.check("cuModuleGetFunction(" + name + ")", cuda_h.cuModuleGetFunction(out, live(), arena.allocateFrom(name)));
                f = Cuda.readPointer(out);
            }
            functions.put(name, f);
        }
        return f;
    }

    /** A CUfunction attribute, e.g. {@link #FUNC_ATTRIBUTE_NUM_REGS}. */
    int attribute(String name, int attribute) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(ValueLayout.JAVA_INT);
            Cuda.check("cuFuncGetAttribute(" + name + ", " + attribute + ")", cuda_h.cuFuncGetAttribute(v, attribute, function(name)));
            return Cuda.readInt(v);
        }
    }

    /**
     * Launches kernel {@code name}. Arguments must match the kernel's C parameters exactly: {@link DeviceBuffer}
     * or {@code null} for a pointer (8 bytes), {@link Long} for a raw device address, {@link Integer} for
     * {@code int}, {@link Float} for {@code float}, {@link Double} for {@code double}, an {@code int[6]} for a
     * by-value {@code Shape6}.
     */
    void launch(String name, int[] grid, int[] block, int sharedBytes, CudaStream stream, Object... args) {
        MemorySegment f = function(name);
        try (Arena arena = Arena.ofConfined()) {
            // kernelParams is an array of pointers, each to one argument's bytes.
            MemorySegment params = arena.allocate(ValueLayout.ADDRESS, Math.max(1, args.length));
            for (int i = 0; i < args.length; i++) {
                params.setAtIndex(ValueLayout.ADDRESS, i, argument(arena, name, i, args[i]));
            }
            Cuda.check("cuLaunchKernel(" + name + ", grid " + grid[0] + "x" + grid[1] + "x" + grid[2] + ", block "
                            + block[0] + "x" + block[1] + "x" + block[2] + ")",
                    cuda_h.cuLaunchKernel(f, grid[0], grid[1], grid[2], block[0], block[1], block[2], sharedBytes,
                            stream == null ? MemorySegment.NULL : stream.handle(), params, MemorySegment.NULL));
        }
    }

    /**
     * Builds the parameter block of a launch once, in {@code arena} (which must outlive the returned launch), so a
     * launch repeated every iteration costs one cuLaunchKernel and no allocation. Arguments as {@link #launch}.
     */
    Prepared prepare(Arena arena, String name, int[] grid, int[] block, int sharedBytes, Object... args) {
        MemorySegment f = function(name);
        MemorySegment params = arena.allocate(ValueLayout.ADDRESS, Math.max(1, args.length));
        for (int i = 0; i < args.length; i++) {
            params.setAtIndex(ValueLayout.ADDRESS, i, argument(arena, name, i, args[i]));
        }
        return new Prepared(name, f, grid.clone(), block.clone(), sharedBytes, params);
    }

    /** A kernel launch with its arguments already marshalled; {@link #run} enqueues it on a stream. */
    record Prepared(String name, MemorySegment function, int[] grid, int[] block, int sharedBytes, MemorySegment params)
            implements DeviceStep {
        @Override
        public String label() {
            return name;
        }

        @Override
        public void run(CudaStream stream) {
            int r = cuda_h.cuLaunchKernel(function, grid[0], grid[1], grid[2], block[0], block[1], block[2], sharedBytes,
                    stream.handle(), params, MemorySegment.NULL);
            if (r != Cuda.CUDA_SUCCESS) { // the message is built only on failure: this runs hundreds of times per iteration
                Cuda.check("cuLaunchKernel(" + name + ", grid " + grid[0] + "x" + grid[1] + "x" + grid[2] + ", block "
                        + block[0] + "x" + block[1] + "x" + block[2] + ")", r);
            }
        }
    }

    /** One launch argument in its own slot of {@code arena}, as cuLaunchKernel's parameter array points at it. */
    static MemorySegment argument(Arena arena, String kernel, int index, Object a) {
        return switch (a) {
            case null -> arena.allocateFrom(ValueLayout.JAVA_LONG, 0L);
            case DeviceBuffer b -> arena.allocateFrom(ValueLayout.JAVA_LONG, b.address());
            case Long l -> arena.allocateFrom(ValueLayout.JAVA_LONG, l);
            case Integer i -> arena.allocateFrom(ValueLayout.JAVA_INT, i);
            case Float x -> arena.allocateFrom(ValueLayout.JAVA_FLOAT, x);
            case Double x -> arena.allocateFrom(ValueLayout.JAVA_DOUBLE, x);
            case int[] s when s.length == 6 -> arena.allocateFrom(ValueLayout.JAVA_INT, s);
            default -> throw new IllegalArgumentException("kernel " + kernel + " argument " + index
                    + ": unsupported type " + a.getClass().getSimpleName());
        };
    }

    private MemorySegment live() {
        if (module == null) {
            throw new IllegalStateException("CUDA module is unloaded");
        }
        return module;
    }

    @Override
    public void close() {
        if (module != null) {
            MemorySegment m = module;
            module = null;
            functions.clear();
            Cuda.check("cuModuleUnload", cuda_h.cuModuleUnload(m));
        }
    }
}
