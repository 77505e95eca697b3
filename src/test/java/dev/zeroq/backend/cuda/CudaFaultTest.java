// Device faults on a real GPU, each a one-line error after which the process goes on: a batch that does not fit
// the free device memory, a device index that does not exist, and a module built for another architecture.
// Every figure is printed on a line starting with "RELIABILITY " for benchmarks/RESULTS.md.
package dev.zeroq.backend.cuda;

import dev.zeroq.ZeroqException;
import dev.zeroq.api.Device;
import dev.zeroq.api.InferenceSession;
import dev.zeroq.api.Model;
import dev.zeroq.api.SessionOptions;
import dev.zeroq.backend.Activation;
import dev.zeroq.backend.Backends;
import dev.zeroq.io.Dataset;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;
import java.util.function.IntFunction;
import java.util.function.LongToIntFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

@Tag("gpu")
class CudaFaultTest {
    /** Written by native/build-kernels.sh: one kernel as sm_100 SASS, no PTX. */
    static final String WRONG_ARCH_RESOURCE = "/dev/zeroq/kernels/test/sm100_only.fatbin";
    /** CUDA_ERROR_NO_BINARY_FOR_GPU in cuda.h. */
    static final int NO_BINARY_FOR_GPU = 209;
    /** A driver's free figure moves by its own bookkeeping (suballocation in 2 MiB pages); a leak is far larger. */
    static final long FREE_TOLERANCE = 4L << 20;

    @BeforeAll
    static void requireCuda() {
        GpuTests.requireCuda();
    }

    @Test
    void batchLargerThanFreeMemoryIsRefusedBeforeAnythingIsAllocated() {
        Model model = Model.bundled("resnet_fmnist");
        int per = model.inputShape().size();
        float[] x4 = Dataset.bundledFashionMnist(4).images().data();
        try (CudaContext ctx = CudaContext.open(0);
             InferenceSession s = model.session(SessionOptions.builder().device(Device.cuda()).build())) {
            float[] want = s.run(x4, 4); // also uploads the weights, which then stay for the session
            ctx.synchronize();
            long free0 = ctx.memoryInfo()[0];
            long live0 = DeviceBuffer.live();
            Refusal r = refuseUnderBallast(ctx, free0, live0, "the refused batch", freeFull -> {
                // A batch whose planned peak is more than twice what is free (the plan is linear in the batch).
                long perImage = CudaBackend.peakOpBytes(modelGraph(), 1);
                int batch = (int) Math.max(2, Math.min(1 << 24, 2 * freeFull / perImage + 1));
                assertTrue((long) batch * per < Integer.MAX_VALUE, "batch " + batch + " does not fit a Java array");
                return batch;
            }, n -> {
                float[] big = new float[n * per]; // zeros: finite, so the check under test is what refuses it
                return () -> s.run(big, n);
            });
            String m = r.error().getMessage();
            System.out.println("RELIABILITY fault=oversized-batch device=cuda:0 batch=" + r.batch() + " free_mib="
                    + (r.freeFull() >> 20) + " message=\"" + m + "\"");
            assertFalse(m.contains("\n"), m);
            assertTrue(m.contains("a batch of " + r.batch() + " image(s)")
                    && m.contains("GiB of device memory on cuda:0") && m.contains(" is free")
                    && m.endsWith("; use a smaller batch"), m);

            // The session goes on: the same batch as before gives the same logits, and memory returns to its level.
            assertArrayEquals(want, s.run(x4, 4));
            assertBackToLevel(ctx, "oversized-batch", free0, live0);
        }
    }

    /** A refusal under a full device: the batch tried, the free bytes beside the ballast, the exception. */
    private record Refusal(int batch, long freeFull, ZeroqException error) {}

    /**
     * Fills the device (free0 free before) but for a little, picks a batch from what is then free, and asserts that
     * attempt(batch) throws ZeroqException without allocating device memory: the ballast is the only buffer beyond
     * the live0 there were. {@code what} names the attempt in the message ("the refused batch").
     */
    private static Refusal refuseUnderBallast(CudaContext ctx, long free0, long live0, String what,
                                              LongToIntFunction batchFor, IntFunction<Executable> attempt) {
        try (DeviceBuffer ballast = fillDevice(free0)) {
            long freeFull = ctx.memoryInfo()[0];
            int batch = batchFor.applyAsInt(freeFull);
            Executable run = attempt.apply(batch);
            long allocationsBefore = DeviceBuffer.allocations();
            ZeroqException refused = assertThrows(ZeroqException.class, run);
            assertEquals(allocationsBefore, DeviceBuffer.allocations(), what + " allocated device memory");
            assertEquals(live0 + 1, DeviceBuffer.live()); // the ballast only
            return new Refusal(batch, freeFull, refused);
        }
    }

    /**
     * Once the device is idle: prints the "RELIABILITY fault={fault}-after" line, then asserts that the live device
     * buffers are live0 again and free memory is back to free0 within FREE_TOLERANCE.
     */
    private static void assertBackToLevel(CudaContext ctx, String fault, long free0, long live0) {
        ctx.synchronize();
        long free1 = ctx.memoryInfo()[0];
        long live1 = DeviceBuffer.live();
        System.out.println(String.format(Locale.ROOT, "RELIABILITY fault=%s-after free_before_mib=%d "
                + "free_after_mib=%d free_delta_kib=%d live_before=%d live_after=%d", fault, free0 >> 20, free1 >> 20,
                (free1 - free0) >> 10, live0, live1));
        assertEquals(live0, live1, "device buffers left allocated");
        assertTrue(Math.abs(free1 - free0) <= FREE_TOLERANCE, "free device memory " + free0 + " -> " + free1);
    }

    /**
     * Fills the device with one ballast buffer, leaving a little of {@code free} free: then a modest batch cannot fit,
     * and a test needs no input of the card's size. Should the driver refuse the ballast, it leaves more.
     */
    private static DeviceBuffer fillDevice(long free) {
        long headroom = 64L << 20;
        while (true) {
            try {
                return DeviceBuffer.allocate(free - headroom);
            } catch (CudaException e) {
                assertTrue(headroom < 2L << 30, "cannot fill the device: " + e.getMessage());
                headroom *= 2;
            }
        }
    }

    @Test
    void devicePassLargerThanFreeMemoryIsRefusedBeforeItsPool() {
        dev.zeroq.graph.Graph g = modelGraph();
        try (CudaContext ctx = CudaContext.open(0)) {
            // One pass that fits first: its module, stream and pool come and go, so the level below is a settled one.
            try (CudaForward f = new CudaForward(g, 2, 0)) {
                f.run(new Tensor(new float[2 * 784], 2, 1, 28, 28));
            }
            ctx.synchronize();
            long free0 = ctx.memoryInfo()[0];
            long live0 = DeviceBuffer.live();
            Refusal r = refuseUnderBallast(ctx, free0, live0, "the refused pass", freeFull -> {
                // Pool bytes are linear in the batch past the parameters: aim at twice what is free.
                long perImage = CudaForward.plannedPoolBytes(g, 2) - CudaForward.plannedPoolBytes(g, 1);
                int batch = (int) Math.max(2, Math.min(60_000, 2 * freeFull / perImage + 1));
                long pool = CudaForward.plannedPoolBytes(g, batch);
                assertTrue(pool > freeFull, "batch " + batch + " plans " + pool + " bytes, " + freeFull + " are free");
                return batch;
            }, n -> () -> new CudaForward(g, n, 0));
            String m = r.error().getMessage();
            System.out.println("RELIABILITY fault=oversized-device-pass device=cuda:0 batch=" + r.batch() + " free_mib="
                    + (r.freeFull() >> 20) + " message=\"" + m + "\"");
            assertFalse(m.contains("\n"), m);
            assertTrue(m.startsWith("the device-resident pass of '")
                    && m.contains("for a batch of " + r.batch() + " image(s)")
                    && m.contains("is free; use a smaller batch"), m);
            // The refused constructor released its module, stream and context: a pass that fits runs again.
            try (CudaForward f = new CudaForward(g, 2, 0)) {
                assertEquals(2 * 10, f.run(new Tensor(new float[2 * 784], 2, 1, 28, 28)).size());
            }
            assertBackToLevel(ctx, "oversized-device-pass", free0, live0);
        }
    }

    @Test
    void missingDeviceIndexIsNamedThroughTheApiAndTheCommandLine() {
        int count = CudaContext.deviceCount();
        assumeTrue(count <= 7, "this host has " + count + " CUDA devices, so cuda:7 exists");
        Model model = Model.bundled("resnet_fmnist");
        long live0 = DeviceBuffer.live();
        ZeroqException api = assertThrows(ZeroqException.class,
                () -> model.session(SessionOptions.builder().device(Device.cuda(7)).build()));
        ZeroqException cli = assertThrows(ZeroqException.class, () -> Backends.select("cuda:7"));
        System.out.println("RELIABILITY fault=device-index devices=" + count + " api=\"" + api.getMessage() + "\" cli=\""
                + cli.getMessage() + "\"");
        for (ZeroqException e : new ZeroqException[] {api, cli}) {
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            assertTrue(e.badInput(), e.getMessage());
            assertTrue(e.getMessage().contains("cuda:7"), e.getMessage());
        }
        assertTrue(api.getMessage().startsWith("device cuda:7 does not exist: ")
                && api.getMessage().contains("use Device.cuda(0)"), api.getMessage());
        assertTrue(cli.getMessage().startsWith("--device cuda:7: there ") && cli.getMessage().contains("use cuda:0"),
                cli.getMessage());
        assertEquals(live0, DeviceBuffer.live());
        // Nothing was opened, so device 0 is as usable as before.
        float[] x = Dataset.bundledFashionMnist(1).images().data();
        try (InferenceSession s = model.session(SessionOptions.builder().device(Device.cuda(0)).build())) {
            assertEquals(model.outputSize(), s.run(x, 1).length);
        }
        assertEquals(live0, DeviceBuffer.live());
    }

    @Test
    void moduleForAnotherArchitectureIsRefusedAndTheBackendStillWorks() throws IOException {
        byte[] image;
        try (InputStream in = CudaFaultTest.class.getResourceAsStream(WRONG_ARCH_RESOURCE)) {
            image = in == null ? null : in.readAllBytes();
        }
        assertNotNull(image, WRONG_ARCH_RESOURCE + " is missing: native/build-kernels.sh builds it with nvcc");
        try (CudaContext ctx = CudaContext.open(0)) {
            int cc = ctx.computeCapability();
            // Within a major version SASS runs on equal or later minors: an sm_10x card could load it.
            assumeFalse(cc / 10 == 10, "this GPU is sm_" + cc + ", which can run sm_100 SASS");
            CudaException e = assertThrows(CudaException.class, () -> CudaModule.load(image));
            System.out.println("RELIABILITY fault=wrong-arch-module device=sm_" + cc + " fatbin_bytes=" + image.length
                    + " message=\"" + e.getMessage() + "\"");
            assertTrue(e.getMessage().startsWith("cuModuleLoadData(" + image.length + " bytes) failed: "), e.getMessage());
            assertTrue(e.getMessage().contains("CUDA_ERROR_NO_BINARY_FOR_GPU"), e.getMessage());
            assertEquals(NO_BINARY_FOR_GPU, e.result());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
        // The failure left no sticky error: a backend opened afterwards loads its own kernels and computes.
        try (CudaBackend b = new CudaBackend(0)) {
            Tensor y = b.activation(new Tensor(new float[] {-1f, 2f, -3f, 4f}, 1, 4), new Activation.Relu());
            assertArrayEquals(new float[] {0f, 2f, 0f, 4f}, y.data());
        }
    }

    private static dev.zeroq.graph.Graph modelGraph() {
        return dev.zeroq.onnx.OnnxImporter.parse(dev.zeroq.io.Bundled.model("resnet_fmnist"), "resnet_fmnist.onnx").graph();
    }
}
