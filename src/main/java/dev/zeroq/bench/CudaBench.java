// Inference on one CUDA device, FP32 against int8, the library behind `zeroq bench --device cuda`: the device-resident
// engines (CudaForward on the BN-folded graph, CudaIntegerModel for a deploy plan) timed with CUDA events, per batch,
// with the int8 engine's achieved TOPS against the card's nominal peak and the card, driver and host named.
package dev.zeroq.bench;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.cuda.CudaDeviceInfo;
import dev.zeroq.backend.cuda.CudaException;
import dev.zeroq.backend.cuda.CudaForward;
import dev.zeroq.backend.cuda.CudaIntegerModel;
import dev.zeroq.graph.Graph;
import dev.zeroq.int8.IntegerModel;
import dev.zeroq.pipeline.Simulation;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * What is timed, for both precisions: the device work of one forward pass, between two CUDA events on the engine's
 * stream, with the input already on the device (uploaded before the timed runs) and the logits not downloaded. Each
 * precision is built for exactly the batch it runs (weights uploaded and, for int8, packed once, outside the timing),
 * one engine at a time. FP32 runs the same BN-folded graph the int8 engine runs, on zeroq's own FP32 kernels (strict
 * FP32: no TF32, no cuDNN); the int8 run includes quantizing the float input and the float logits' epilogue.
 *
 * <p>Samples: warm-up runs (device time) until both a count and a duration are reached, then rounds of
 * {@link #ROUND} runs until there are {@code minSamples} samples over {@code measureSeconds} of device time and a
 * round's median lies within {@link #STABLE} of the median of the samples before it; after {@code maxSeconds} of host
 * time a point stops anyway and the report notes it. p50/p99 are nearest-rank; images/s = images / summed run time.
 *
 * <p>TOPS = 2 · {@link IntegerModel#integerMacsPerImage()} · batch / p50: a lower bound on the int8 convolutions' own
 * rate, since the run also holds pooling, the float epilogues and the input quantization.
 */
public final class CudaBench {
    private CudaBench() {}

    /** Runs per timed round. */
    static final int ROUND = 10;
    /** A round's median within this fraction of the median so far counts as stable. */
    static final double STABLE = 0.02;

    /**
     * @param warmupSeconds  warm up for at least this much device time…
     * @param warmupRuns     …and at least this many runs
     * @param measureSeconds then measure for at least this much device time…
     * @param minSamples     …and at least this many runs, until stable
     * @param maxSeconds     host time after which a point stops even when not stable
     */
    public record Settings(double warmupSeconds, int warmupRuns, double measureSeconds, int minSamples, double maxSeconds) {
        public Settings {
            if (!(warmupSeconds >= 0) || warmupRuns < 0 || !(measureSeconds >= 0) || minSamples < 1
                    || !(maxSeconds > 0)) {
                throw ZeroqException.badInput("benchmark settings must be non-negative, with at least one sample and a "
                        + "positive time limit");
            }
        }

        /** ≥ 0.5 s and 10 runs of warm-up, then ≥ {@code measureSeconds} and 20 samples, at most 20 s per point. */
        public static Settings of(double measureSeconds) {
            return new Settings(0.5, 10, measureSeconds, 20, Math.max(20, 4 * measureSeconds));
        }
    }

    /** Times {@code iterations} runs after {@code warmup} untimed ones: milliseconds per run, as the engines' time(). */
    @FunctionalInterface
    interface EventTimer {
        double[] time(int warmup, int iterations);
    }

    /** The timing method in words (the report's {@code timing}). */
    static String timing(Settings s) {
        return String.format(Locale.ROOT, "CUDA events around whole forward passes, input on the device (uploaded before, "
                + "not timed), logits not downloaded; warm-up >= %.1f s and %d runs, then rounds of %d until >= %.1f s, "
                + ">= %d samples and a round's median within %.0f%% of the median so far (at most %.0f s per point)",
                s.warmupSeconds(), s.warmupRuns(), ROUND, s.measureSeconds(), s.minSamples(), STABLE * 100, s.maxSeconds());
    }

    /**
     * Benchmarks {@code precisions} ("fp32", "int8") at every batch on device {@code ordinal}. int8 needs a deploy
     * {@code plan}. Fails before any timing, in one line, when an op does not run on the device engines or a batch's
     * buffers exceed the free device memory.
     */
    public static Bench.Report run(String model, Graph graph, QuantPlan plan, List<String> precisions, int[] batches,
                                   long seed, Settings s, int ordinal) {
        Bench.requireBatches(batches);
        boolean fp32 = precisions.contains("fp32"), int8 = precisions.contains("int8");
        IntegerModel engine = null;
        if (int8) {
            if (plan == null) throw ZeroqException.badInput("int8 needs a deploy plan: give --plan PLAN.json");
            engine = IntegerModel.compile(graph, plan);
            List<String> bad = CudaIntegerModel.unsupported(engine);
            if (!bad.isEmpty()) {
                throw ZeroqException.badInput("int8 on CUDA: the CUDA integer engine does not support " + String.join(", ", bad)
                        + "; use --device cpu or --precision fp32");
            }
        }
        Graph folded = engine != null ? engine.graph() : Simulation.workingGraph(graph, QuantPlan.Scheme.DEPLOY);
        if (fp32) {
            List<String> bad = CudaForward.unsupported(folded);
            if (!bad.isEmpty()) {
                throw ZeroqException.badInput("fp32 on CUDA: the CUDA forward pass does not support " + String.join(", ", bad)
                        + "; use --device cpu or --precision int8");
            }
        }
        CudaDeviceInfo info = CudaDeviceInfo.query(ordinal);
        requireMemory(info, model, fp32 ? folded : null, engine, batches);

        Long ops = engine == null ? null : Math.multiplyExact(2L, engine.integerMacsPerImage());
        List<Bench.Result> results = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        Bench.Check check = null;
        for (int b : batches) {
            Tensor x = Bench.input(b, graph.inputShape(), seed);
            if (fp32) {
                int batch = b;
                try (CudaForward f = outOfMemoryAsBadInput(() -> new CudaForward(folded, batch, ordinal),
                        "fp32 on '" + model + "' at batch " + b, CudaForward.plannedPoolBytes(folded, b), ordinal)) {
                    results.add(measure("fp32", b, (w, n) -> f.time(x, w, n), s, null, notes));
                }
            }
            if (int8) {
                int batch = b;
                IntegerModel e = engine;
                try (CudaIntegerModel m = outOfMemoryAsBadInput(() -> new CudaIntegerModel(e, batch, ordinal),
                        "int8 on '" + model + "' at batch " + b, CudaIntegerModel.plannedBytes(engine, b), ordinal)) {
                    if (check == null) check = check(engine, m, x);
                    results.add(measure("int8", b, (w, n) -> m.time(x, w, n), s, ops, notes));
                }
            }
        }
        Int8Peak.Nominal peak = Int8Peak.of(info.computeCapability(), info.multiprocessors(), info.clockKHz());
        Bench.Gpu gpu = new Bench.Gpu(info.device(), info.name(), info.arch(), info.multiprocessors(), info.clockKHz() / 1000,
                info.driver(), info.totalBytes() / (double) (1L << 30), peak.tops(), peak.basis());
        return new Bench.Report(model, info.device(), timing(s), Bench.machine(), gpu, List.copyOf(results),
                Bench.speedups(results, batches), check, List.copyOf(notes));
    }

    /**
     * Before any engine is built: every (precision, batch) must fit the free memory on its own (they are built one at
     * a time), else a one-line bad-input error naming the first batch that does not, what it needs and what is free.
     * {@code fp32Graph} or {@code engine} null: that precision is not run.
     */
    static void requireMemory(CudaDeviceInfo info, String model, Graph fp32Graph, IntegerModel engine, int[] batches) {
        for (int b : Arrays.stream(batches).sorted().distinct().toArray()) {
            if (fp32Graph != null) {
                info.requireFree(CudaForward.plannedPoolBytes(fp32Graph, b), "fp32 on '" + model + "' at batch " + b);
            }
            if (engine != null) {
                info.requireFree(CudaIntegerModel.plannedBytes(engine, b), "int8 on '" + model + "' at batch " + b);
            }
        }
    }

    /**
     * Builds an engine; when its allocations run out of device memory although the planned bytes fitted (the plan is a
     * lower bound, or another process took memory meanwhile), the same kind of one-line error as the plan's check.
     * The engines free what they allocated before they throw.
     */
    private static <T> T outOfMemoryAsBadInput(Supplier<T> build, String what, long planned, int ordinal) {
        try {
            return build.get();
        } catch (CudaException e) {
            if (e.result() != CUDA_ERROR_OUT_OF_MEMORY) throw e;
            CudaDeviceInfo now = CudaDeviceInfo.query(ordinal);
            throw ZeroqException.badInput(String.format(Locale.ROOT, "%s ran out of device memory on %s (planned %.3f GiB; "
                    + "%.3f GiB of %.3f GiB free now); use a smaller batch", what, now.device(), planned / GIB,
                    now.freeBytes() / GIB, now.totalBytes() / GIB), e);
        }
    }

    private static final int CUDA_ERROR_OUT_OF_MEMORY = 2;
    private static final double GIB = 1L << 30;

    /** Warm-up, then rounds until stable (see the class comment). {@code opsPerImage} null: no TOPS. */
    static Bench.Result measure(String precision, int batch, EventTimer timer, Settings s, Long opsPerImage,
                                List<String> notes) {
        long hostDeadline = System.nanoTime() + (long) (s.maxSeconds() * 1e9);
        double warmMs = 0;
        int warmRuns = 0;
        while ((warmRuns < s.warmupRuns() || warmMs < s.warmupSeconds() * 1e3) && System.nanoTime() < hostDeadline) {
            double[] r = timer.time(0, ROUND);
            warmRuns += r.length;
            warmMs += sum(r);
        }
        List<Double> samples = new ArrayList<>();
        double totalMs = 0;
        boolean stable = false;
        do {
            double[] r = timer.time(0, ROUND);
            if (!samples.isEmpty()) {
                double before = median(samples.stream().mapToDouble(Double::doubleValue).toArray());
                stable = Math.abs(median(r) - before) <= STABLE * before;
            }
            for (double v : r) samples.add(v);
            totalMs += sum(r);
        } while (!(stable && samples.size() >= s.minSamples() && totalMs >= s.measureSeconds() * 1e3)
                && System.nanoTime() < hostDeadline);
        if (!stable) {
            notes.add(String.format(Locale.ROOT, "%s at batch %d: the round medians still moved by more than %.0f%% after "
                    + "%.0f s; p50 is over all %d samples", precision, batch, STABLE * 100, s.maxSeconds(), samples.size()));
        }
        double[] sorted = samples.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double p50 = Bench.percentile(sorted, 50);
        return new Bench.Result(precision, batch, sorted.length, p50, Bench.percentile(sorted, 99), totalMs / sorted.length,
                batch * (double) sorted.length / (totalMs * 1e-3), Bench.tops(opsPerImage, batch, p50));
    }

    /**
     * The device int8 engine against the CPU integer engine on the first (up to) two images of {@code x}: logits are
     * expected bit-identical (see CudaIntegerModel); the check passes when the top-1 classes agree.
     */
    private static Bench.Check check(IntegerModel engine, CudaIntegerModel m, Tensor x) {
        int n = Math.min(2, x.dim(0)), per = x.size() / x.dim(0);
        Tensor few = new Tensor(Arrays.copyOf(x.data(), n * per), n, x.dim(1), x.dim(2), x.dim(3));
        return compare(engine.apply(few).data(), m.apply(few).data(), n);
    }

    /** Exact matches, largest difference and top-1 agreement of two (n, classes) logit arrays. */
    static Bench.Check compare(float[] cpu, float[] dev, int n) {
        int exact = 0, top1 = 0, classes = cpu.length / n;
        double maxDiff = 0;
        for (int i = 0; i < cpu.length; i++) {
            exact += Float.floatToRawIntBits(cpu[i]) == Float.floatToRawIntBits(dev[i]) ? 1 : 0;
            maxDiff = Math.max(maxDiff, Math.abs((double) cpu[i] - dev[i]));
        }
        for (int i = 0; i < n; i++) {
            top1 += argmax(cpu, i * classes, classes) == argmax(dev, i * classes, classes) ? 1 : 0;
        }
        return new Bench.Check(n, exact, cpu.length, maxDiff, top1, top1 == n);
    }

    private static int argmax(float[] v, int from, int count) {
        int best = 0;
        for (int c = 1; c < count; c++) if (v[from + c] > v[from + best]) best = c;
        return best;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    }

    private static double sum(double[] v) {
        double t = 0;
        for (double x : v) t += x;
        return t;
    }
}
