// Repeated open/run/close: what a service does when it reloads models. Used heap after GC must not grow
// between cycle 50 and cycle 300.
package dev.zeroq.api;

import dev.zeroq.io.Dataset;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SessionSoakTest {
    private static final int CYCLES = 300;

    @Test
    void openRunCloseDoesNotGrow() {
        assertTimeoutPreemptively(Duration.ofSeconds(90), () -> {
            Model model = Model.bundled("resnet_fmnist");
            float[] x = Dataset.bundledFashionMnist(2).images().data();
            Plan plan = Zeroq.quantize(model, QuantizeSettings.builder().scheme(Scheme.DEPLOY)
                    .calibration(QuantizeSettings.Calibration.GAUSSIAN)
                    .distill(DistillSettings.builder().batch(8).device(Device.cpu()).build()).build());
            Precision[] cycle = {Precision.FP32, Precision.SIMULATED, Precision.INT8};
            float[][] want = new float[cycle.length][];
            Memory at50 = null;
            long t0 = System.nanoTime();
            for (int c = 1; c <= CYCLES; c++) {
                int k = c % cycle.length;
                Precision p = cycle[k];
                InferenceSession s = model.session(SessionOptions.builder().precision(p)
                        .plan(p == Precision.FP32 ? null : plan).device(Device.cpu()).build());
                float[] y = s.run(x, 2);
                s.close();
                assertThrows(IllegalStateException.class, () -> s.run(x, 2));
                if (want[k] == null) {
                    want[k] = y;
                }
                assertArrayEquals(want[k], y, "cycle " + c);
                if (c == 50) {
                    at50 = Memory.afterGc();
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            Memory at300 = Memory.afterGc();
            System.out.printf("soak: %d open/run/close cycles (FP32, SIMULATED, INT8 in turn) in %.1f s; after cycle 50: %s;"
                    + " after cycle %d: %s%n", CYCLES, seconds, at50, CYCLES, at300);
            // 4 MiB: far below what a leaked session costs over 250 cycles (each holds at least the model's
            // quantized weights, ~0.6 MB), far above GC bookkeeping noise.
            assertTrue(at300.heapUsed() - at50.heapUsed() < 4L << 20, "heap grew: " + at50 + " -> " + at300);
        });
    }
}
