// The load SessionLoadTest (CPU) and CudaSessionReliabilityTest (cuda:0) put on one open InferenceSession: each image
// run alone on the calling thread as the reference, then several threads at once, each request's output compared
// with that reference bit for bit.
package dev.zeroq.api;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

final class SessionLoad {
    private SessionLoad() {}

    /** Outputs that equalled the reference, and the seconds the threads took from their common start. */
    record Result(int identical, double seconds) {}

    /**
     * The first {@code images} images of {@code all} through {@code s}: alone, then from {@code threads} threads of
     * {@code requests} requests each (image (thread·7 + request·3) mod images). Failure messages start with
     * {@code label} (e.g. "INT8 "), then "thread t request r image i".
     */
    static Result run(Model model, InferenceSession s, float[] all, int images, int threads, int requests, String label)
            throws Exception {
        int per = model.inputShape().size();
        // Reference: each image alone, on this thread, on the same session.
        float[][] want = new float[images][];
        for (int i = 0; i < images; i++) {
            want[i] = s.run(Arrays.copyOfRange(all, i * per, (i + 1) * per), 1);
        }
        AtomicInteger identical = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> futures = new ArrayList<>();
        long t0;
        try {
            for (int t = 0; t < threads; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    // Each thread owns its direct buffers, as a request handler would.
                    FloatBuffer in = ByteBuffer.allocateDirect(4 * per).order(ByteOrder.nativeOrder()).asFloatBuffer();
                    FloatBuffer out = ByteBuffer.allocateDirect(4 * model.outputSize()).order(ByteOrder.nativeOrder())
                            .asFloatBuffer();
                    start.await();
                    for (int r = 0; r < requests; r++) {
                        int img = (thread * 7 + r * 3) % images;
                        float[] x = Arrays.copyOfRange(all, img * per, (img + 1) * per);
                        float[] y;
                        if (r % 2 == 0) { // both entry points, as a service would use them
                            y = s.run(x, 1);
                        } else {
                            in.put(0, x);
                            s.run(in, out, 1);
                            y = new float[model.outputSize()];
                            out.get(0, y);
                        }
                        assertArrayEquals(want[img], y, label + "thread " + thread + " request " + r + " image " + img);
                        identical.incrementAndGet();
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
        return new Result(identical.get(), (System.nanoTime() - t0) / 1e9);
    }
}
