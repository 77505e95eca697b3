// What the kernel-by-kernel GPU tests share: device 0's context, the bundled kernel module and a stream, opened once
// per test class; launches of 256-thread blocks that wait for the kernel; and the device buffers of one test (NaN-
// poisoned outputs, uploaded inputs), freed after each test.
package dev.zeroq.backend.cuda;

import dev.zeroq.bindings.cuda.cuda_h;
import dev.zeroq.tensor.Tensor;

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

    /**
     * Kernel family kn's implicit-GEMM forward of case c on x, w, b, with IgemmLayout's operands (as DevicePlan
     * builds them), into a NaN-poisoned output of (c.n, c.cout, oh, ow) floats, which it returns.
     */
    DeviceBuffer igemmForward(IgemmLayout.Kernel kn, ConvCase c, Tensor x, Tensor w, Tensor b, int oh, int ow) {
        int g = c.g, coutG = c.cout / g, cinG = c.cin / g, k = cinG * c.kh * c.kw;
        DeviceBuffer out = poisoned(c.n * c.cout * oh * ow);
        run(kn.forward, IgemmLayout.forwardGrid(kn, (long) c.n * oh * ow, coutG, g), up(x.data()),
                up(IgemmLayout.forwardWeights(w.data(), g, coutG, k)),
                upInts(IgemmLayout.forwardTable(cinG, c.kh, c.kw, c.h, c.w, c.d)), up(b.data()), out, c.n, c.cin, c.h,
                c.w, c.cout, oh, ow, g, k, c.s[0], c.s[1], c.p[0], c.p[1]);
        return out;
    }

    /**
     * Kernel family kn's implicit-GEMM backward-data of case c on dy with lb's operands and grid (as CudaDistiller
     * builds them) into dx: stored (accumulate 0) or added (1).
     */
    void igemmBackward(IgemmLayout.Kernel kn, IgemmLayout.Backward lb, ConvCase c, Tensor dy, DeviceBuffer dx, int oh,
                       int ow, int accumulate) {
        int g = c.g, k = c.cout / g * c.kh * c.kw;
        run(kn.backward, lb.grid(), up(dy.data()), up(lb.weights()), upInts(lb.ktab()), upInts(lb.phases()), dx, c.n,
                c.cin, c.h, c.w, c.cout, oh, ow, g, k, c.s[0], c.s[1], accumulate);
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
