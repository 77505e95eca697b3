// Fuzzes every reader a service feeds untrusted bytes to (ONNX models, plan JSON, IDX, .npy): every
// rejection must be a one-line ZeroqException, never another exception, a hang or a huge allocation.
package dev.zeroq.api;

import dev.zeroq.io.Bundled;
import dev.zeroq.io.Idx;
import dev.zeroq.io.Npy;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoaderFuzzTest {
    private static final long SEED = 20251126L;
    private static Model model;
    private static String deployPlan;
    private static String paperPlan;

    @BeforeAll
    static void setUp() {
        model = Model.bundled("resnet_fmnist");
        // Gaussian calibration: a real plan in well under a second, no distillation needed.
        QuantizeSettings.Builder b = QuantizeSettings.builder().calibration(QuantizeSettings.Calibration.GAUSSIAN)
                .distill(DistillSettings.builder().batch(4).device(Device.cpu()).build());
        deployPlan = Zeroq.quantize(model, b.scheme(Scheme.DEPLOY).build()).toJson();
        paperPlan = Zeroq.quantize(model, b.scheme(Scheme.PAPER).build()).toJson();
        warmUpIntegerEngine();
    }

    /**
     * The plan fuzz runs accepted deploy plans on the integer engine, on this thread (a batch-1 layer of the fixture
     * is small enough to run on the caller's thread). Until C2 has compiled the engine's Vector API loops, every
     * vector op allocates its result (hundreds of MB of short-lived garbage for one forward pass; the JIT's doing,
     * not a size read from the plan), which the per-case allocation guard would count against whichever fuzzed case
     * came first. So the engine is run on the valid plan until a pass allocates little, as a served model would be.
     */
    private static void warmUpIntegerEngine() {
        com.sun.management.ThreadMXBean mx =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().threadId();
        float[] image = new float[model.inputShape().size()];
        Plan p = Plan.fromJson(deployPlan, "warm-up");
        // Bounded: in the full suite the engine's loops share the JIT's profiles with every earlier test and a pass
        // may never get under the mark (a 60 s bound was reached every time there); 10 s of passes are warm enough
        // for the per-case limit, which is what the fuzz checks.
        long t0 = System.nanoTime();
        long deadline = t0 + 10_000_000_000L;
        long passes = 0;
        try (InferenceSession s = model.session(SessionOptions.builder().precision(Precision.INT8).plan(p)
                .device(Device.cpu()).build())) {
            long alloc;
            do {
                long a0 = mx.getThreadAllocatedBytes(tid);
                s.run(image, 1);
                alloc = mx.getThreadAllocatedBytes(tid) - a0;
                passes++;
            } while (alloc > (4L << 20) && System.nanoTime() < deadline);
            System.out.printf("fuzz warm-up: %d integer-engine passes in %d ms, the last allocated %d KiB%n", passes,
                    (System.nanoTime() - t0) / 1_000_000, alloc >> 10);
        }
    }

    private static void check(String what, Fuzz.Report r) {
        System.out.printf("fuzz %s: %d cases, %d accepted, %d rejected, max %d KiB allocated per case, %d ms%n",
                what, r.cases(), r.accepted(), r.rejected(), r.maxAllocatedBytes() / 1024, r.millis());
        assertTrue(r.failures().isEmpty(), what + ": " + r.failures().size() + " failures, first: "
                + r.failures().subList(0, Math.min(5, r.failures().size())));
    }

    @Test
    void onnxModels() {
        byte[] onnx = Bundled.model("resnet_fmnist");
        Fuzz.Report r = assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            Random rnd = new Random(SEED);
            // The graph's nodes, inputs and attributes sit in the first few KiB; the rest is weights.
            return Fuzz.run(1000, 64L << 20, 5_000, i -> Model.fromBytes(Fuzz.mutate(onnx, rnd, 8192), "fuzz-" + i));
        });
        check("onnx", r);
    }

    @Test
    void planJson() {
        Fuzz.Report r = assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            Random rnd = new Random(SEED + 1);
            float[] image = new float[model.inputShape().size()];
            return Fuzz.run(600, 64L << 20, 5_000, i -> {
                String src = i % 2 == 0 ? deployPlan : paperPlan;
                byte[] bytes = Fuzz.mutate(src.getBytes(StandardCharsets.UTF_8), rnd, 0);
                Plan p = Plan.fromJson(new String(bytes, StandardCharsets.UTF_8), "fuzz-" + i);
                // A plan that still parses must also either run or be refused cleanly by a session.
                Precision prec = p.scheme() == Scheme.DEPLOY && i % 4 == 0 ? Precision.INT8 : Precision.SIMULATED;
                try (InferenceSession s = model.session(SessionOptions.builder().precision(prec).plan(p)
                        .device(Device.cpu()).build())) {
                    s.run(image, 1);
                }
            });
        });
        check("plan", r);
    }

    @Test
    void idx(@TempDir Path dir) throws IOException {
        byte[] images = idxBytes(Idx.IMAGES_MAGIC, 5, 28, 28);
        byte[] labels = idxBytes(Idx.LABELS_MAGIC, 50);
        Fuzz.Report r = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            Random rnd = new Random(SEED + 2);
            return Fuzz.run(500, 16L << 20, 2_000, i -> {
                byte[] src = i % 3 == 0 ? labels : images;
                byte[] b = Fuzz.mutate(src, rnd, 24);
                if (i % 5 == 0) {
                    // Gzipped files go through the file opener that sniffs the gzip magic.
                    Path f = dir.resolve("fuzz-" + i + ".gz");
                    Files.write(f, gzip(b));
                    Idx.read(f);
                    Files.delete(f);
                } else {
                    Idx.read(new ByteArrayInputStream(b), "fuzz-" + i);
                }
            });
        });
        check("idx", r);
    }

    @Test
    void npy() throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        float[] x = new float[3 * 784];
        for (int i = 0; i < x.length; i++) {
            x[i] = i * 0.001f;
        }
        Npy.write(bos, new Tensor(x, 3, 1, 28, 28));
        byte[] npy = bos.toByteArray();
        Fuzz.Report r = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            Random rnd = new Random(SEED + 3);
            return Fuzz.run(500, 16L << 20, 2_000, i -> {
                byte[] b = Fuzz.mutate(npy, rnd, 128);
                if (i % 4 == 0) {
                    b = rewriteShape(b, rnd); // dims that overflow or promise more than the file holds
                }
                Npy.read(new ByteArrayInputStream(b), "fuzz-" + i);
            });
        });
        check("npy", r);
    }

    /** Replaces the shape tuple in the header with a hostile one of the same or different length. */
    private static byte[] rewriteShape(byte[] b, Random rnd) {
        String s = new String(b, StandardCharsets.ISO_8859_1);
        int open = s.indexOf("'shape': (");
        int close = open < 0 ? -1 : s.indexOf(')', open);
        if (close < 0) {
            return b;
        }
        String[] hostile = {"(2147483647, 2147483647)", "(65536, 65536, 65536, 65536)", "(1000000000,)",
                "(3, 1, 28, 29)", "(-1, 784)", "(99999999999,)", "(0,)", "(536870912,)", "(4, 1, 28, 28)"};
        String t = s.substring(0, open + 9) + hostile[rnd.nextInt(hostile.length)] + s.substring(close + 1);
        return t.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static byte[] idxBytes(int magic, int... dims) {
        int n = 1;
        for (int d : dims) {
            n *= d;
        }
        ByteBuffer bb = ByteBuffer.allocate(4 + 4 * dims.length + n);
        bb.putInt(magic);
        for (int d : dims) {
            bb.putInt(d);
        }
        for (int i = 0; i < n; i++) {
            bb.put((byte) i);
        }
        return bb.array();
    }

    private static byte[] gzip(byte[] raw) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (java.util.zip.GZIPOutputStream gz = new java.util.zip.GZIPOutputStream(bos)) {
            gz.write(raw);
        }
        return bos.toByteArray();
    }
}
