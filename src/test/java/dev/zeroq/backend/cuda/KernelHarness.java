// What the kernel-by-kernel GPU tests share: device 0's context, the bundled kernel module and a stream, opened once
// per test class; launches of 256-thread blocks that wait for the kernel; and the device buffers of one test (NaN-
// poisoned outputs, uploaded inputs), freed after each test.
package dev.zeroq.backend.cuda;

import dev.zeroq.bindings.cuda.cuda_h;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

final class KernelHarness implements AutoCloseable {
    final CudaContext ctx;
    final CudaModule mod;
    final CudaStream stream;
    private final List<DeviceBuffer> buffers = new ArrayList<>();

    private KernelHarness(CudaContext ctx) {
        this.ctx = ctx;
        this.mod = CudaModule.load(CudaModule.bundledKernels());
        this.stream = CudaStream.create();
    }

    /** From {@code @BeforeAll}: skips without CUDA, else opens and prints "{what} on {device} (seed {seed})". */
    static KernelHarness open(String what, long seed) {
        return open(what, seed, 0, "");
    }

    /**
     * As {@link #open(String, long)}, and skips on a device below compute capability {@code minCapability} (e.g. 80
     * for sm_80) with the message "{needs}, device is sm_{cc}", before the module is loaded.
     */
    static KernelHarness open(String what, long seed, int minCapability, String needs) {
        GpuTests.requireCuda();
        CudaContext ctx = CudaContext.open(0);
        if (ctx.computeCapability() < minCapability) {
            int cc = ctx.computeCapability();
            ctx.close();
            assumeTrue(false, needs + ", device is sm_" + cc);
        }
        KernelHarness h = new KernelHarness(ctx);
        System.out.println(what + " on " + ctx.name() + " (seed " + seed + ")");
        return h;
    }

    /** Launches {@code kernel} with blocks of 256 threads on the stream and waits for it. */
    void run(String kernel, int[] grid, Object... args) {
        ctx.makeCurrent();
        mod.launch(kernel, grid, new int[] {256, 1, 1}, 0, stream, args);
        stream.synchronize();
    }

    DeviceBuffer up(float[] data) {
        return keep(DeviceBuffer.upload(data));
    }

    DeviceBuffer upInts(int[] data) {
        DeviceBuffer b = keep(DeviceBuffer.allocate(Math.max(4L, (long) data.length * 4)));
        try (var arena = Arena.ofConfined()) {
            var s = arena.allocateFrom(ValueLayout.JAVA_INT, data);
            Cuda.check("cuMemcpyHtoD_v2", cuda_h.cuMemcpyHtoD_v2(b.address(), s, (long) data.length * 4));
        }
        return b;
    }

    /** n floats, every one NaN, so that an output element a kernel does not write fails the comparison. */
    DeviceBuffer poisoned(int n) {
        DeviceBuffer b = keep(DeviceBuffer.allocateFloats(n));
        b.fill32(DeviceBuffer.NAN_BITS);
        return b;
    }

    /** Freed by {@link #freeBuffers()}. */
    DeviceBuffer keep(DeviceBuffer b) {
        buffers.add(b);
        return b;
    }

    static float[] down(DeviceBuffer b, int n) {
        float[] out = new float[n];
        b.copyTo(out);
        return out;
    }

    /** From {@code @AfterEach}. */
    void freeBuffers() {
        for (DeviceBuffer b : buffers) b.close();
        buffers.clear();
    }

    @Override
    public void close() {
        freeBuffers();
        stream.close();
        mod.close();
        ctx.close();
    }
}
