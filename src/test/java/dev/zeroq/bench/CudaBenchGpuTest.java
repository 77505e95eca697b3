// The CUDA benchmark on a real device (GPU-tagged: skipped with the reason where CUDA is unusable): a short run at
// batch 1 and 2 on the bundled resnet_fmnist whose report fields must be sane, and batches the device cannot hold,
// refused in one line before anything is allocated, by the benchmark and by each engine's constructor.
package dev.zeroq.bench;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.cuda.CudaDeviceInfo;
import dev.zeroq.backend.cuda.CudaForward;
import dev.zeroq.backend.cuda.CudaIntegerModel;
import dev.zeroq.backend.cuda.GpuTests;
import dev.zeroq.graph.Graph;
import dev.zeroq.int8.IntegerModel;
import dev.zeroq.int8.TestCnn;
import dev.zeroq.io.Bundled;
import dev.zeroq.onnx.OnnxImporter;
import dev.zeroq.quant.QuantPlan;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Tag("gpu")
class CudaBenchGpuTest {
    private static Graph graph;
    private static QuantPlan plan;

    @BeforeAll
    static void setUp() {
        GpuTests.requireCuda();
        graph = OnnxImporter.parse(Bundled.model("resnet_fmnist"), "resnet_fmnist.onnx").graph();
        plan = TestCnn.deployPlan(graph, 8, 1);
    }

    @Test
    void aShortRunReportsSaneFields() {
        CudaBench.Settings s = new CudaBench.Settings(0.05, 5, 0.1, 20, 10);
        Bench.Report r = CudaBench.run("resnet_fmnist.onnx", graph, plan, List.of("fp32", "int8"), new int[] {1, 2}, 7, s, 0);
        System.out.println("CudaBenchGpuTest: " + r);
        Bench.Gpu g = r.gpu();
        assertEquals("cuda:0", r.device());
        assertFalse(g.name().isBlank());
        assertTrue(g.arch().matches("sm_\\d+") && g.multiprocessors() > 0 && g.clockMHz() > 0 && g.memoryGiB() > 0, g.toString());
        assertTrue(g.driver().matches("\\d+\\.\\d+"), g.driver());
        assertFalse(g.peakBasis().isBlank());
        assertFalse(r.machine().cpu().isBlank());
        assertTrue(r.timing().startsWith("CUDA events"), r.timing());
        assertEquals(4, r.results().size());
        for (Bench.Result x : r.results()) {
            assertTrue(x.samples() >= 20 && x.p50Ms() > 0 && x.p99Ms() >= x.p50Ms() && x.meanMs() > 0
                    && x.imagesPerSecond() > 0, x.toString());
            if (x.precision().equals("int8")) {
                assertTrue(x.tops() > 0, x.toString());
                // Below the card's nominal peak, where there is one: a TOPS above it means a wrong op count or timing.
                if (g.nominalInt8Tops() != null) assertTrue(x.tops() < g.nominalInt8Tops(), x + " vs " + g);
            } else {
                assertNull(x.tops());
            }
        }
        assertEquals(2, r.speedups().size());
        for (Bench.Speedup sp : r.speedups()) assertTrue(sp.speedup() > 0, sp.toString());
        Bench.Check c = r.check();
        assertEquals(1, c.images()); // the first batch is 1 image
        assertTrue(c.passed(), c.toString());
    }

    @Test
    void batchesTheDeviceCannotHoldAreRefusedWithNothingAllocated() {
        IntegerModel engine = IntegerModel.compile(graph, plan);
        long total = CudaDeviceInfo.query(0).totalBytes();
        long int8PerImage = CudaIntegerModel.plannedBytes(engine, 2) - CudaIntegerModel.plannedBytes(engine, 1);
        long fp32PerImage = CudaForward.plannedPoolBytes(engine.graph(), 2) - CudaForward.plannedPoolBytes(engine.graph(), 1);
        int int8Batch = Math.toIntExact(total / int8PerImage + 1), fp32Batch = Math.toIntExact(total / fp32PerImage + 1);
        long before = CudaForward.deviceAllocations();

        ZeroqException e = assertThrows(ZeroqException.class, () -> CudaBench.run("resnet_fmnist.onnx", graph, plan,
                List.of("int8"), new int[] {1, int8Batch}, 7, CudaBench.Settings.of(0.1), 0));
        System.out.println("CudaBenchGpuTest refusal: " + e.getMessage());
        assertTrue(e.badInput() && e.getMessage().startsWith("int8 on 'resnet_fmnist.onnx' at batch " + int8Batch + " needs ")
                && e.getMessage().contains(" GiB is free; use a smaller batch") && !e.getMessage().contains("\n"), e.getMessage());
        e = assertThrows(ZeroqException.class, () -> CudaBench.run("resnet_fmnist.onnx", graph, plan, List.of("fp32"),
                new int[] {fp32Batch}, 7, CudaBench.Settings.of(0.1), 0));
        assertTrue(e.badInput() && e.getMessage().startsWith("fp32 on 'resnet_fmnist.onnx' at batch " + fp32Batch), e.getMessage());
        // The engines' own checks, as a caller other than the benchmark meets them.
        e = assertThrows(ZeroqException.class, () -> new CudaIntegerModel(engine, int8Batch, 0).close());
        assertTrue(e.badInput() && e.getMessage().contains("needs") && e.getMessage().contains("free"), e.getMessage());
        // A batch this large may also exceed the kernels' 32-bit element counts, refused while planning.
        e = assertThrows(ZeroqException.class, () -> new CudaForward(engine.graph(), fp32Batch, 0).close());
        assertTrue(e.badInput() && (e.getMessage().contains("needs") && e.getMessage().contains("free")
                || e.getMessage().contains("too large for the CUDA kernels")), e.getMessage());
        assertEquals(before, CudaForward.deviceAllocations(), "no cuMemAlloc before the refusals");
    }
}
