// Many threads on one CPU session: every output must equal the single-threaded run bit for bit, and the
// memory the session used must come back after close.
package dev.zeroq.api;

import dev.zeroq.io.Dataset;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SessionLoadTest {
    private static final int THREADS = 8;
    private static final int REQUESTS = 50;
    private static final int IMAGES = 16;

    @Test
    void concurrentRequestsMatchTheSingleThreadedRun() {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (Precision p : new Precision[] {Precision.FP32, Precision.INT8}) {
                load(p);
            }
        });
    }

    private static void load(Precision precision) throws Exception {
        Model model = Model.bundled("resnet_fmnist");
        float[] all = Dataset.bundledFashionMnist(IMAGES).images().data();
        Plan plan = precision == Precision.FP32 ? null : Zeroq.quantize(model, QuantizeSettings.builder()
                .scheme(Scheme.DEPLOY).calibration(QuantizeSettings.Calibration.GAUSSIAN)
                .distill(DistillSettings.builder().batch(8).device(Device.cpu()).build()).build());
        Memory before = Memory.afterGc();
        InferenceSession s = model.session(SessionOptions.builder().precision(precision).plan(plan)
                .device(Device.cpu()).build());
        SessionLoad.Result load = SessionLoad.run(model, s, all, IMAGES, THREADS, REQUESTS, "");
        Memory during = Memory.afterGc();
        s.close();
        Memory after = Memory.afterGc();
        assertEquals(THREADS * REQUESTS, load.identical());
        System.out.printf("load %s: %d threads x %d requests = %d outputs identical to the single-threaded run in %.2f s "
                        + "(%.0f images/s); before open: %s; open after the load: %s; after close: %s%n",
                precision, THREADS, REQUESTS, load.identical(), load.seconds(), load.identical() / load.seconds(), before,
                during, after);
        // Margins: 8 MiB of heap (class loading, JIT-held objects, the pool's threads' leftovers) and the 64 KiB
        // of direct buffers the threads allocated, which the collector frees lazily.
        assertTrue(after.heapUsed() - before.heapUsed() < 8L << 20, "heap grew: " + before + " -> " + after);
        assertTrue(after.directUsed() - before.directUsed() < 64L << 10, "direct memory grew: " + before + " -> " + after);
    }
}
