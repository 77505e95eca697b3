// CUDA sessions under load and over many open/run/close cycles, through the public API: concurrent outputs equal
// the single-threaded run bit for bit, and device memory and live device buffers return to their level after close.
// Every figure is printed on a line starting with "RELIABILITY " for benchmarks/RESULTS.md.
package dev.zeroq.api;

import dev.zeroq.backend.cuda.DeviceProbe;
import dev.zeroq.backend.cuda.GpuTests;
import dev.zeroq.io.Dataset;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Tag("gpu")
class CudaSessionReliabilityTest {
    private static final int THREADS = 8;
    private static final int REQUESTS = 25;
    private static final int IMAGES = 16;
    private static final int CYCLES = 100;
    /**
     * Free device memory may move by the driver's own bookkeeping (it suballocates small buffers from 2 MiB pages and
     * may keep a page); a leaked session costs at least its weights and a kernels module (over 1 MiB each), so 8 MiB
     * over 90 cycles would show many times over. Live device buffers are compared exactly.
     */
    private static final long FREE_TOLERANCE = 8L << 20;

    private static Model model;
    private static Plan plan;

    @BeforeAll
    static void setUp() {
        GpuTests.requireCuda();
        model = Model.bundled("resnet_fmnist");
        // Quantized on the CPU so that the device holds nothing of it; Gaussian calibration keeps this quick.
        plan = Zeroq.quantize(model, QuantizeSettings.builder().scheme(Scheme.DEPLOY)
                .calibration(QuantizeSettings.Calibration.GAUSSIAN)
                .distill(DistillSettings.builder().batch(8).device(Device.cpu()).build()).build());
    }

    private static SessionOptions onCuda(Precision p) {
        return SessionOptions.builder().precision(p).plan(p == Precision.FP32 ? null : plan).device(Device.cuda())
                .build();
    }

    /**
     * One open/run/close of each precision before the first reading: the driver sets up some per-context state on
     * first use (kernel code of lazily loaded modules, stream pools) that it keeps for the context's life; the
     * levels compared are the ones after that.
     */
    private static void warmUp(float[] x) {
        for (Precision p : new Precision[] {Precision.FP32, Precision.SIMULATED}) {
            try (InferenceSession s = model.session(onCuda(p))) {
                s.run(x, 1);
            }
        }
    }

    @Test
    void concurrentRequestsMatchTheSingleThreadedRunAndReleaseTheDevice() {
        assertTimeoutPreemptively(Duration.ofSeconds(90), () -> {
            float[] all = Dataset.bundledFashionMnist(IMAGES).images().data();
            try (DeviceProbe probe = DeviceProbe.open(0)) {
                DeviceProbe.Reading cold = probe.read();
                warmUp(Arrays.copyOf(all, model.inputShape().size()));
                for (Precision p : new Precision[] {Precision.FP32, Precision.SIMULATED}) {
                    load(probe, cold, p, all);
                }
            }
        });
    }

    private static void load(DeviceProbe probe, DeviceProbe.Reading cold, Precision precision, float[] all)
            throws Exception {
        int per = model.inputShape().size();
        DeviceProbe.Reading before = probe.read();
        InferenceSession s = model.session(onCuda(precision));
        assertEquals("cuda:0", s.backend());
        SessionLoad.Result load = SessionLoad.run(model, s, all, IMAGES, THREADS, REQUESTS, precision + " ");
        int identical = load.identical();
        double seconds = load.seconds();
        DeviceProbe.Reading open = probe.read();
        s.close();
        assertThrows(IllegalStateException.class, () -> s.run(new float[per], 1));
        DeviceProbe.Reading after = probe.read();
        System.out.println(String.format(Locale.ROOT, "RELIABILITY load precision=%s device=cuda:0 (%s) threads=%d "
                        + "requests_per_thread=%d outputs=%d identical=%d seconds=%.3f images_per_s=%.0f "
                        + "free_cold_mib=%d free_before_mib=%d free_open_mib=%d free_after_mib=%d free_delta_kib=%d "
                        + "live_before=%d live_open=%d live_after=%d",
                precision, probe.describe(), THREADS, REQUESTS, THREADS * REQUESTS, identical, seconds,
                identical / seconds, cold.freeMiB(), before.freeMiB(), open.freeMiB(), after.freeMiB(),
                (after.freeBytes() - before.freeBytes()) >> 10, before.liveAllocations(), open.liveAllocations(),
                after.liveAllocations()));
        assertEquals(THREADS * REQUESTS, identical);
        assertEquals(before.liveAllocations(), after.liveAllocations(), "device buffers left after close");
        assertTrue(Math.abs(after.freeBytes() - before.freeBytes()) <= FREE_TOLERANCE,
                "free device memory did not come back: " + before + " -> " + after);
    }

    @Test
    void openRunCloseCyclesDoNotGrowDeviceMemory() {
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            float[] x = Dataset.bundledFashionMnist(2).images().data();
            Precision[] cycle = {Precision.FP32, Precision.SIMULATED};
            float[][] want = new float[cycle.length][];
            try (DeviceProbe probe = DeviceProbe.open(0)) {
                warmUp(Arrays.copyOf(x, model.inputShape().size()));
                DeviceProbe.Reading before = probe.read();
                DeviceProbe.Reading at10 = null;
                long t0 = System.nanoTime();
                for (int c = 1; c <= CYCLES; c++) {
                    int k = c % cycle.length;
                    InferenceSession s = model.session(onCuda(cycle[k]));
                    float[] y = s.run(x, 2);
                    s.close();
                    if (want[k] == null) {
                        want[k] = y;
                    }
                    assertArrayEquals(want[k], y, cycle[k] + " cycle " + c);
                    if (c == 10) {
                        at10 = probe.read();
                    }
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                DeviceProbe.Reading after = probe.read();
                System.out.println(String.format(Locale.ROOT, "RELIABILITY soak device=cuda:0 (%s) cycles=%d "
                                + "(FP32 and SIMULATED in turn, batch 2) seconds=%.2f cycles_per_s=%.1f "
                                + "free_before_mib=%d free_at10_mib=%d free_after_mib=%d free_growth_10_to_%d_kib=%d "
                                + "live_before=%d live_at10=%d live_after=%d",
                        probe.describe(), CYCLES, seconds, CYCLES / seconds, before.freeMiB(), at10.freeMiB(),
                        after.freeMiB(), CYCLES, (at10.freeBytes() - after.freeBytes()) >> 10,
                        before.liveAllocations(), at10.liveAllocations(), after.liveAllocations()));
                assertEquals(before.liveAllocations(), at10.liveAllocations(), "device buffers left after close");
                assertEquals(before.liveAllocations(), after.liveAllocations(), "device buffers left after close");
                assertTrue(at10.freeBytes() - after.freeBytes() <= FREE_TOLERANCE,
                        "free device memory shrank from cycle 10 to " + CYCLES + ": " + at10 + " -> " + after);
                assertTrue(Math.abs(after.freeBytes() - before.freeBytes()) <= FREE_TOLERANCE,
                        "free device memory did not come back: " + before + " -> " + after);
            }
        });
    }

    /**
     * INT8 on an explicit CUDA device runs the device-resident integer engine: its logits equal the CPU INT8 session's
     * bit for bit (CudaIntegerModelTest shows the engines agree) over batches 3, 7 (a rebuild for the larger batch)
     * and 2 (a prefix of the larger engine), and closing the session returns the device memory.
     */
    @Test
    void int8OnCudaMatchesTheCpuIntegerEngineAndReleasesTheDevice() {
        assertTimeoutPreemptively(Duration.ofSeconds(90), () -> {
            int per = model.inputShape().size();
            float[] all = Dataset.bundledFashionMnist(7).images().data();
            SessionOptions cpu = SessionOptions.builder().precision(Precision.INT8).plan(plan).device(Device.cpu()).build();
            try (DeviceProbe probe = DeviceProbe.open(0);
                 InferenceSession reference = model.session(cpu)) {
                try (InferenceSession warm = model.session(onCuda(Precision.INT8))) {
                    warm.run(Arrays.copyOf(all, per), 1); // the driver's per-context first-use state, as warmUp
                }
                DeviceProbe.Reading before = probe.read();
                InferenceSession s = model.session(onCuda(Precision.INT8));
                assertEquals("cuda:0", s.backend());
                for (int batch : new int[] {3, 7, 2}) {
                    float[] x = Arrays.copyOf(all, batch * per);
                    assertArrayEquals(reference.run(x, batch), s.run(x, batch), "INT8 on cuda:0 vs the CPU, batch " + batch);
                }
                s.close();
                DeviceProbe.Reading after = probe.read();
                System.out.println(String.format(Locale.ROOT, "RELIABILITY int8-session device=cuda:0 (%s) batches=3,7,2 "
                                + "identical_to_cpu=true free_before_mib=%d free_after_mib=%d live_before=%d live_after=%d",
                        probe.describe(), before.freeMiB(), after.freeMiB(), before.liveAllocations(),
                        after.liveAllocations()));
                assertEquals(before.liveAllocations(), after.liveAllocations(), "device buffers left after close");
                assertTrue(Math.abs(after.freeBytes() - before.freeBytes()) <= FREE_TOLERANCE,
                        "free device memory did not come back: " + before + " -> " + after);
            }
        });
    }

    /**
     * Direct FloatBuffers in native order on the device-resident engines (FP32 and INT8): the same logits as the
     * float[] run, and no float array staged through the Java heap on the way (CudaForward.heapStagings); a heap
     * FloatBuffer still works, through the one per-call array. Input and output may be the same buffer.
     */
    @Test
    void directBuffersGoStraightToTheDeviceAndBack() {
        int per = model.inputShape().size(), batch = 5, outs = model.outputSize();
        float[] x = Arrays.copyOf(Dataset.bundledFashionMnist(batch).images().data(), batch * per);
        for (Precision p : new Precision[] {Precision.FP32, Precision.INT8}) {
            try (InferenceSession s = model.session(onCuda(p))) {
                float[] want = s.run(x, batch);
                FloatBuffer in = java.nio.ByteBuffer.allocateDirect(x.length * Float.BYTES + 16)
                        .order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
                in.position(2).mark();
                in.put(x).reset(); // the input starts at position 2: positions are honoured
                FloatBuffer out = java.nio.ByteBuffer.allocateDirect(batch * outs * Float.BYTES)
                        .order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
                long stagings = dev.zeroq.backend.cuda.CudaForward.heapStagings();
                s.run(in, out, batch);
                assertEquals(stagings, dev.zeroq.backend.cuda.CudaForward.heapStagings(),
                        p + ": a direct run staged a float array through the heap");
                float[] got = new float[batch * outs];
                out.get(0, got);
                assertArrayEquals(want, got, p + ": direct buffers vs float[]");
                assertEquals(2, in.position(), "the input position is left unchanged");
                FloatBuffer heap = FloatBuffer.allocate(batch * outs);
                s.run(FloatBuffer.wrap(x), heap, batch);
                assertArrayEquals(want, heap.array(), p + ": heap buffers vs float[]");
                if (outs * batch <= per * batch) { // in place: the logits over the images
                    FloatBuffer both = java.nio.ByteBuffer.allocateDirect(x.length * Float.BYTES)
                            .order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer().put(x).flip();
                    s.run(both, both, batch);
                    float[] inPlace = new float[batch * outs];
                    both.get(0, inPlace);
                    assertArrayEquals(want, inPlace, p + ": the same buffer in and out");
                }
                System.out.println("RELIABILITY direct-buffers precision=" + p + " batch=" + batch
                        + " identical=true heap_stagings=0");
            }
        }
    }
}
