// Device objects on a real GPU: context info, buffer round trip and NaN poisoning, events, streams, and the
// bundled module's kernels (all present, no local-memory spills reported by the driver).
package dev.zeroq.backend.cuda;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Tag("gpu")
class CudaDeviceTest {
    static final List<String> KERNELS = List.of("conv2d_forward", "batchnorm_inference", "activation", "binary",
            "maxpool2d", "avgpool2d", "global_avg_pool", "gemm", "strided_copy", "reduce_mean");

    @BeforeAll
    static void requireCuda() {
        GpuTests.requireCuda();
    }

    @Test
    void contextReportsTheDevice() {
        try (CudaContext ctx = CudaContext.open(0)) {
            long[] mem = ctx.memoryInfo();
            System.out.println("device 0: " + ctx.name() + ", sm_" + ctx.computeCapability() + ", "
                    + ctx.attribute(CudaContext.ATTR_MULTIPROCESSOR_COUNT) + " SMs, " + (ctx.totalMemory() >> 20)
                    + " MiB total, " + (mem[0] >> 20) + " MiB free, driver " + CudaContext.driverVersion()
                    + ", " + CudaContext.deviceCount() + " visible device(s)");
            assertTrue(ctx.computeCapability() >= 50);
            assertTrue(mem[1] > 0 && mem[0] <= mem[1]);
            assertThrows(IllegalArgumentException.class, () -> CudaContext.open(CudaContext.deviceCount()));
        }
    }

    @Test
    void bufferRoundTripAndPoison() {
        try (CudaContext ctx = CudaContext.open(0); DeviceBuffer b = DeviceBuffer.allocateFloats(1001)) {
            float[] data = new float[1001];
            for (int i = 0; i < data.length; i++) {
                data[i] = i * 0.5f - 7f;
            }
            b.copyFrom(data);
            float[] back = new float[1001];
            b.copyTo(back);
            assertArrayEquals(data, back);
            b.fill32(DeviceBuffer.NAN_BITS);
            b.copyTo(back);
            for (float v : back) {
                assertTrue(Float.isNaN(v));
            }
        }
    }

    @Test
    void errorsNameTheCallAndTheDriverError() {
        try (CudaContext ctx = CudaContext.open(0)) {
            // Far more than any GPU has: the driver refuses (CUDA_ERROR_OUT_OF_MEMORY on current drivers).
            CudaException e = assertThrows(CudaException.class, () -> DeviceBuffer.allocate(1L << 50));
            assertTrue(e.getMessage().startsWith("cuMemAlloc_v2"), e.getMessage());
            assertTrue(e.getMessage().contains("CUDA_ERROR_") && e.result() != 0, e.getMessage());
        }
    }

    @Test
    void moduleHasEveryKernelWithoutLocalMemory() {
        try (CudaContext ctx = CudaContext.open(0); CudaModule m = CudaModule.load(CudaModule.bundledKernels())) {
            for (String k : KERNELS) {
                int regs = m.attribute(k, CudaModule.FUNC_ATTRIBUTE_NUM_REGS);
                int local = m.attribute(k, CudaModule.FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES);
                System.out.println("kernel " + k + ": " + regs + " registers, " + local + " bytes local memory");
                assertEquals(0, local, k + " uses local memory (spills or a stack frame)");
            }
        }
    }

    @Test
    void eventsTimeWorkOnAStream() {
        try (CudaContext ctx = CudaContext.open(0); CudaStream s = CudaStream.create(true);
             CudaEvent start = CudaEvent.create(); CudaEvent end = CudaEvent.create();
             DeviceBuffer b = DeviceBuffer.allocateFloats(1 << 20)) {
            start.record(s);
            b.fill32(0); // on the legacy stream; only the event pair's ordering is checked here
            end.record(s);
            end.synchronize();
            s.synchronize();
            assertTrue(CudaEvent.elapsedMillis(start, end) >= 0f);
        }
    }
}
