// Latency and throughput of a model function at several batch sizes, FP32 against int8, with the machine named:
// the library behind `zeroq bench` on the CPU (CudaBench times the device engines). Time-based warm-up, then samples
// until both a time and a count are reached. The records here are the report of both.
package dev.zeroq.bench;

import dev.zeroq.ZeroqException;
import dev.zeroq.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;

/**
 * Measures wall-clock latency of whole forward passes. Each sample is one call on a fixed seeded Gaussian batch;
 * p50/p99 are nearest-rank percentiles of the samples; throughput is images / (sum of sample times), i.e. at
 * the measured latency with no overlap between calls. Example: batch 32, 20 samples totalling 2.4 s →
 * 32·20/2.4 = 266.7 images/s.
 */
public final class Bench {
    private Bench() {}

    /**
     * @param warmupSeconds    warm up for at least this long…
     * @param warmupIterations …and at least this many calls (JIT compilation, thread pools, scratch buffers)
     * @param measureSeconds   then measure for at least this long…
     * @param minSamples       …and at least this many samples
     */
    public record Settings(double warmupSeconds, int warmupIterations, double measureSeconds, int minSamples) {
        public Settings {
            if (!(warmupSeconds >= 0) || warmupIterations < 0 || !(measureSeconds >= 0) || minSamples < 1) {
                throw ZeroqException.badInput("benchmark settings must be non-negative with at least one sample");
            }
        }

        /** ≥ 1 s and 3 calls of warm-up, then ≥ 2 s and 10 samples. */
        public static Settings defaults() {
            return new Settings(1.0, 3, 2.0, 10);
        }
    }

    /**
     * One (precision, batch) measurement. Latencies in milliseconds.
     *
     * @param tops int8 rows: the integer layers' ops (2 · {@link dev.zeroq.int8.IntegerModel#integerMacsPerImage()}
     *             · batch) over the p50 time, in 10^12 ops/s; null for FP32
     */
    public record Result(String precision, int batch, int samples, double p50Ms, double p99Ms, double meanMs,
                         double imagesPerSecond, Double tops) {}

    /** int8 against FP32 at one batch size: speedup = FP32 p50 / int8 p50. */
    public record Speedup(int batch, double fp32P50Ms, double int8P50Ms, double speedup) {}

    /** Where it ran. */
    public record Machine(String cpu, int cores, String jvm, String os) {}

    /**
     * The card of a CUDA run.
     *
     * @param nominalInt8Tops the {@link Int8Peak} of the card, null when its architecture is not on record
     * @param peakBasis       how the peak was computed, or why it is omitted
     */
    public record Gpu(String device, String name, String arch, int multiprocessors, int clockMHz, String driver,
                      double memoryGiB, Double nominalInt8Tops, String peakBasis) {}

    /**
     * The device int8 engine's logits against the CPU integer engine's on the first images of the first batch (a
     * timing of a wrong engine means nothing). Passed when the top-1 classes agree on every image.
     */
    public record Check(int images, int exactLogits, int logits, double maxAbsDiff, int top1Same, boolean passed) {}

    /**
     * A whole benchmark run.
     *
     * @param device "cpu", "ref" or "cuda:N"
     * @param timing how the samples were taken, in words
     * @param gpu    the card (CUDA runs), else null
     * @param check  the int8 device check (CUDA runs with int8), else null
     * @param notes  anything the numbers need beside them (e.g. a point whose median never settled)
     */
    public record Report(String model, String device, String timing, Machine machine, Gpu gpu, List<Result> results,
                         List<Speedup> speedups, Check check, List<String> notes) {}

    /** How {@link #measure} takes its samples, in words (the report's {@code timing}). */
    public static String timing(Settings s) {
        return String.format(java.util.Locale.ROOT, "host wall clock around whole calls on the same input; warm-up >= %.1f s "
                + "and %d calls (longer while the fastest call still improves by > 10%%), then >= %.1f s and %d samples",
                s.warmupSeconds(), s.warmupIterations(), s.measureSeconds(), s.minSamples());
    }

    /** The machine this JVM runs on: CPU model from /proc/cpuinfo (or os.arch), logical cores, JVM and OS. */
    public static Machine machine() {
        String cpu = System.getProperty("os.arch");
        try {
            Path info = Path.of("/proc/cpuinfo");
            if (Files.isReadable(info)) {
                for (String line : Files.readAllLines(info)) {
                    if (line.startsWith("model name")) {
                        cpu = line.substring(line.indexOf(':') + 1).strip();
                        break;
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux or not readable: the architecture name is what we can say.
        }
        return new Machine(cpu, Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.vm.name") + " " + Runtime.version(),
                System.getProperty("os.name") + " " + System.getProperty("os.version"));
    }

    /** A seeded N(0, 1) batch (n, c, h, w). */
    public static Tensor input(int batch, int[] chw, long seed) {
        Random r = new Random(seed);
        float[] d = new float[Math.toIntExact(dev.zeroq.tensor.Shapes.size(batch, chw[0], chw[1], chw[2]))];
        for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian();
        return new Tensor(d, batch, chw[0], chw[1], chw[2]);
    }

    /** Longest adaptive warm-up, in seconds, after the fixed one (see {@link #measure}). */
    static final double MAX_EXTRA_WARMUP_SECONDS = 30;

    /**
     * Warms up, then samples one call at a time. After the fixed warm-up, calls continue in windows of at least
     * 5 calls and 0.5 s while a window's fastest call beats the previous window's by more than 10%: Vector API
     * code runs 10–100× slower until C2 compiles it, and on a loaded machine that can take many seconds, which a
     * fixed warm-up would book as latency.
     */
    public static Result measure(String precision, int batch, UnaryOperator<Tensor> model, Tensor x, Settings s,
                                 Long opsPerImage) {
        long warmEnd = System.nanoTime() + (long) (s.warmupSeconds() * 1e9);
        for (int i = 0; i < s.warmupIterations() || System.nanoTime() < warmEnd; i++) {
            model.apply(x);
        }
        if (s.warmupIterations() > 0) {
            long giveUp = System.nanoTime() + (long) (MAX_EXTRA_WARMUP_SECONDS * 1e9);
            long previous = Long.MAX_VALUE;
            while (System.nanoTime() < giveUp) {
                long best = Long.MAX_VALUE, windowEnd = System.nanoTime() + 500_000_000L;
                for (int i = 0; i < 5 || System.nanoTime() < windowEnd; i++) {
                    long t0 = System.nanoTime();
                    model.apply(x);
                    best = Math.min(best, System.nanoTime() - t0);
                }
                if (best > 0.9 * previous) break;
                previous = best;
            }
        }
        List<Long> times = new ArrayList<>();
        long total = 0;
        long budget = (long) (s.measureSeconds() * 1e9);
        while (times.size() < s.minSamples() || total < budget) {
            long t0 = System.nanoTime();
            model.apply(x);
            long dt = System.nanoTime() - t0;
            times.add(dt);
            total += dt;
        }
        double[] sorted = times.stream().mapToDouble(t -> t / 1e6).sorted().toArray(); // ms, exact for these nanos
        double p50 = percentile(sorted, 50);
        return new Result(precision, batch, sorted.length, p50, percentile(sorted, 99),
                total / 1e6 / sorted.length, batch * (double) sorted.length / (total / 1e9), tops(opsPerImage, batch, p50));
    }

    /** ops per image · batch / p50, in TOPS; null without an op count. Example: 8.2e9 ops, batch 128, 16.5 ms → 63.6. */
    static Double tops(Long opsPerImage, int batch, double p50Ms) {
        return opsPerImage == null ? null : opsPerImage * (double) batch / (p50Ms * 1e-3) / 1e12;
    }

    /** Nearest-rank percentile: the ⌈p/100·n⌉-th smallest. Example: p50 of {1, 2, 3, 4} = 2; p99 = 4. */
    static double percentile(double[] sorted, double p) {
        int rank = (int) Math.ceil(p / 100 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    /**
     * Runs every precision (e.g. "fp32", "int8" → model function) at every batch size and computes the int8
     * speedup where both were measured. {@code opsPerImage} (precision → ops per image) gives the rows their TOPS.
     */
    public static Report run(String model, String device, Map<String, UnaryOperator<Tensor>> precisions, int[] batches,
                             int[] chw, long seed, Settings s, Map<String, Long> opsPerImage) {
        requireBatches(batches);
        List<Result> results = new ArrayList<>();
        for (int b : batches) {
            Tensor x = input(b, chw, seed);
            for (Map.Entry<String, UnaryOperator<Tensor>> p : precisions.entrySet()) {
                results.add(measure(p.getKey(), b, p.getValue(), x, s, opsPerImage.get(p.getKey())));
            }
        }
        return new Report(model, device, timing(s), machine(), null, List.copyOf(results), speedups(results, batches), null,
                List.of());
    }

    static void requireBatches(int[] batches) {
        if (batches.length == 0) throw ZeroqException.badInput("give at least one batch size, e.g. --batch 1,32");
        for (int b : batches) {
            if (b < 1) throw ZeroqException.badInput("batch sizes must be at least 1, got " + b);
        }
    }

    /** int8 over FP32 at each batch size where both were measured, in the order of {@code batches}. */
    static List<Speedup> speedups(List<Result> results, int[] batches) {
        Map<String, Result> byKey = new LinkedHashMap<>();
        for (Result r : results) byKey.put(r.precision() + "@" + r.batch(), r);
        List<Speedup> speedups = new ArrayList<>();
        for (int b : Arrays.stream(batches).distinct().toArray()) {
            Result f = byKey.get("fp32@" + b), q = byKey.get("int8@" + b);
            if (f != null && q != null) {
                speedups.add(new Speedup(b, f.p50Ms(), q.p50Ms(), f.p50Ms() / q.p50Ms()));
            }
        }
        return List.copyOf(speedups);
    }
}
