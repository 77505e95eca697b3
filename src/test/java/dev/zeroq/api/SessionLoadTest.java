// Many threads on one CPU session: every output must equal the single-threaded run bit for bit, and the
// memory the session used must come back after close.
package dev.zeroq.api;

import dev.zeroq.io.Dataset;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
        int per = model.inputShape().size();
        Plan plan = precision == Precision.FP32 ? null : Zeroq.quantize(model, QuantizeSettings.builder()
                .scheme(Scheme.DEPLOY).calibration(QuantizeSettings.Calibration.GAUSSIAN)
                .distill(DistillSettings.builder().batch(8).device(Device.cpu()).build()).build());
        Memory before = Memory.afterGc();
        InferenceSession s = model.session(SessionOptions.builder().precision(precision).plan(plan)
                .device(Device.cpu()).build());
        // Reference: each image alone, on this thread.
        float[][] want = new float[IMAGES][];
        for (int i = 0; i < IMAGES; i++) {
            want[i] = s.run(Arrays.copyOfRange(all, i * per, (i + 1) * per), 1);
        }
        AtomicInteger checked = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        long t0;
        List<Future<?>> futures = new ArrayList<>();
        try {
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    // Each thread owns its direct buffers, as a request handler would.
                    FloatBuffer in = ByteBuffer.allocateDirect(4 * per).order(ByteOrder.nativeOrder()).asFloatBuffer();
                    FloatBuffer out = ByteBuffer.allocateDirect(4 * model.outputSize()).order(ByteOrder.nativeOrder())
                            .asFloatBuffer();
                    start.await();
                    for (int r = 0; r < REQUESTS; r++) {
                        int img = (thread * 7 + r * 3) % IMAGES;
                        float[] x = Arrays.copyOfRange(all, img * per, (img + 1) * per);
                        float[] y;
                        if (r % 2 == 0) {
                            y = s.run(x, 1);
                        } else {
                            in.put(0, x);
                            s.run(in, out, 1);
                            y = new float[model.outputSize()];
                            out.get(0, y);
                        }
                        assertArrayEquals(want[img], y, "thread " + thread + " request " + r + " image " + img);
                        checked.incrementAndGet();
                    }
                    return null;
                }));
            }
            t0 = System.nanoTime();
            start.countDown();
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        Memory during = Memory.afterGc();
        s.close();
        futures.clear();
        Memory after = Memory.afterGc();
        assertEquals(THREADS * REQUESTS, checked.get());
        System.out.printf("load %s: %d threads x %d requests = %d outputs identical to the single-threaded run in %.2f s "
                        + "(%.0f images/s); before open: %s; open after the load: %s; after close: %s%n",
                precision, THREADS, REQUESTS, checked.get(), seconds, checked.get() / seconds, before, during, after);
        // Margins: 8 MiB of heap (class loading, JIT-held objects, the pool's threads' leftovers) and the 64 KiB
        // of direct buffers the threads allocated, which the collector frees lazily.
        assertTrue(after.heapUsed() - before.heapUsed() < 8L << 20, "heap grew: " + before + " -> " + after);
        assertTrue(after.directUsed() - before.directUsed() < 64L << 10, "direct memory grew: " + before + " -> " + after);
    }
}
