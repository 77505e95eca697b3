package dev.zeroq.pipeline;

import dev.zeroq.backend.Backend;
import dev.zeroq.distill.DistillConfig;
import dev.zeroq.distill.Distiller;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Transforms;
import dev.zeroq.quant.ClipMethod;
import dev.zeroq.quant.Clipping;
import dev.zeroq.quant.Pareto;
import dev.zeroq.quant.ParetoPoint;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.quant.QuantPlan.Calibration;
import dev.zeroq.quant.QuantPlan.Scheme;
import dev.zeroq.report.Laps;
import dev.zeroq.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;

/**
 * The ZeroQ pipeline, backend-agnostic: calibration images (distilled, Gaussian or real), optional
 * mixed-precision bit allocation (KL sensitivity + Pareto frontier), quantized weights, activation ranges
 * from one calibration pass, and the resulting {@link QuantPlan}.
 */
public final class ZeroQ {
    private final Graph graph;
    private final Backend backend;
    /**
     * Threads quantizing the sensitivity passes' weights ahead: processors − 1, at most 8 when the passes run on a
     * device (the host's cores are otherwise idle), at most 3 on the CPU backends (whose passes use the cores).
     */
    private int weightThreads;
    /** Whether the passes' weights are computed during the distillation: when the passes run on a device. */
    private boolean weightsDuringDistillation;

    /** Progress of a long run; every method has a no-op default. */
    public interface Listener {
        default void stage(String description) {}

        /** One Adam step of batch {@code it.batchIndex()} of {@code batches}, each of {@code iterationsPerBatch} steps. */
        default void distillIteration(Distiller.Iteration it, int iterationsPerBatch, int batches) {}

        default void sensitivityStep(int done, int total) {}

        Listener NONE = new Listener() {};
    }

    /** Per-layer sensitivity Ω_i(k) (ZEROQ.md §3): rows follow {@code layers}, columns {@code bits}. */
    public record SensitivityTable(List<String> layers, long[] parameters, int[] bits, double[][] omega) {}

    /**
     * What a quantization run produced.
     *
     * @param plan        the plan
     * @param calibration the calibration images used
     * @param distill     the distillation run, or null when calibration did not distill
     * @param sensitivity the sensitivity table, or null without mixed precision
     * @param frontier    the Pareto frontier, or null without mixed precision
     * @param seconds     wall time per stage
     */
    public record Outcome(QuantPlan plan, Tensor calibration, Distiller.Result distill, SensitivityTable sensitivity,
                          Pareto.Frontier frontier, Map<String, Double> seconds) {}

    public ZeroQ(Graph graph, Backend backend) {
        this.graph = graph;
        this.backend = backend;
        this.weightThreads = Math.clamp(Runtime.getRuntime().availableProcessors() - 1, 1,
                backend instanceof dev.zeroq.backend.cuda.CudaBackend ? 8 : 3);
        this.weightsDuringDistillation = backend instanceof dev.zeroq.backend.cuda.CudaBackend;
    }

    /** Calibration images for a config: distilled (and the distillation run), Gaussian or real. */
    public Tensor calibrationImages(QuantizeConfig cfg, Listener listener, Distiller.Result[] distillOut) {
        DistillConfig d = cfg.distill();
        int count = Math.multiplyExact(d.batch(), d.batches());
        return switch (cfg.calibration()) {
            case ZEROQ -> {
                listener.stage("distilling " + d.batches() + " batch(es) of " + d.batch() + " images, " + d.iterations()
                        + " iterations, seed " + d.seed());
                Distiller.Result r = Distillation.run(graph, backend, d,
                        it -> listener.distillIteration(it, d.iterations(), d.batches()),
                        n -> {
                            if (n.fallbackReason() != null) listener.stage("distilling op by op: " + n.fallbackReason());
                            else if (n.where().contains("device-resident")) listener.stage("distilling on " + n.where());
                        });
                distillOut[0] = r;
                yield r.images();
            }
            case GAUSSIAN -> {
                int[] chw = graph.inputShape();
                yield Distiller.initialBatch(chw, count, DistillConfig.Init.GAUSSIAN, d.seed());
            }
            case DATA -> {
                Tensor all = cfg.calibrationImages();
                int n = Math.min(count, all.dim(0));
                int per = all.size() / all.dim(0);
                int[] shape = all.shape();
                shape[0] = n;
                yield new Tensor(Arrays.copyOf(all.data(), n * per), shape);
            }
        };
    }

    public Outcome quantize(QuantizeConfig cfg, String modelSha256, String modelFileName, Listener listener) {
        return quantize(cfg, () -> modelSha256, modelFileName, listener);
    }

    /**
     * As {@link #quantize(QuantizeConfig, String, String, Listener)}, with the model's hash asked for only when the plan
     * is made (a caller may compute it meanwhile on another thread). When the passes run on a device, the sensitivity
     * passes' quantized weights are computed on other threads during the distillation, which leaves the host's cores
     * idle.
     */
    public Outcome quantize(QuantizeConfig cfg, Supplier<String> modelSha256, String modelFileName, Listener listener) {
        long t = System.nanoTime();
        Distiller.Result[] distilled = new Distiller.Result[1];
        Graph working = Simulation.workingGraph(graph, cfg.scheme());
        WeightsAhead early = null;
        if (cfg.mixed() != null && cfg.calibration() == Calibration.ZEROQ && weightsDuringDistillation) {
            early = weightsAhead(working, passOrder(working, WeightLayer.of(working)), cfg);
        }
        Outcome o;
        double calibSeconds;
        try {
            Tensor calib = calibrationImages(cfg, listener, distilled);
            calibSeconds = since(t);
            o = quantize(cfg, working, calib, distilled[0], modelSha256, modelFileName, listener, early);
        } finally {
            if (early != null) early.close(); // the sensitivity stage closed it already, unless something failed first
        }
        Map<String, Double> seconds = new LinkedHashMap<>();
        seconds.put(cfg.calibration() == Calibration.ZEROQ ? "distill" : "calibration data", calibSeconds);
        seconds.putAll(o.seconds());
        return new Outcome(o.plan(), o.calibration(), o.distill(), o.sensitivity(), o.frontier(), seconds);
    }

    /**
     * Quantizes with calibration images already at hand (e.g. one distillation shared by several plans);
     * {@code distilled} is the run that made them, or null.
     */
    public Outcome quantize(QuantizeConfig cfg, Tensor calib, Distiller.Result distilled, String modelSha256,
                            String modelFileName, Listener listener) {
        return quantize(cfg, Simulation.workingGraph(graph, cfg.scheme()), calib, distilled, () -> modelSha256,
                modelFileName, listener, null);
    }

    /**
     * {@code working}: the scheme's working graph ({@link Simulation#workingGraph}); {@code early}: the sensitivity
     * passes' weights, already being computed on it, or null.
     */
    private Outcome quantize(QuantizeConfig cfg, Graph working, Tensor calib, Distiller.Result distilled,
                             Supplier<String> modelSha256, String modelFileName, Listener listener, WeightsAhead early) {
        Map<String, Double> seconds = new LinkedHashMap<>();
        long t;

        Scheme scheme = cfg.scheme();
        List<WeightLayer> layers = WeightLayer.of(working);
        int[] bits = new int[layers.size()];
        Arrays.fill(bits, cfg.weightBits());
        SensitivityTable table = null;
        Pareto.Frontier frontier = null;
        QuantPlan.MixedPrecision mixed = null;
        if (cfg.mixed() != null) {
            t = System.nanoTime();
            table = sensitivity(working, layers, calib, cfg, listener, early);
            seconds.put("sensitivity", since(t));
            frontier = Pareto.frontier(table.parameters(), table.bits(), table.omega());
            long target = switch (cfg.mixed()) {
                case QuantizeConfig.MixedTarget.AverageBits a -> Pareto.targetForAverageBits(table.parameters(), a.bits());
                case QuantizeConfig.MixedTarget.SizeMb s -> Pareto.targetForSizeMb(s.megabytes());
            };
            ParetoPoint chosen = frontier.choose(target);
            bits = chosen.bits();
            mixed = new QuantPlan.MixedPrecision(Arrays.stream(table.bits()).boxed().toList(), table.layers(), target,
                    chosen.sizeBits(), frontier.points(), frontier.thinned());
        }

        listener.stage("quantizing " + layers.size() + " weight layers and calibrating activations (" + scheme
                .name().toLowerCase() + " scheme, " + cfg.clip().cliName() + ")");
        t = System.nanoTime();
        Map<String, Tensor> replaced = new HashMap<>();
        List<QuantPlan.Layer> entries = new ArrayList<>();
        // Each layer on its own (the common pool's threads), then collected in order.
        int[] chosenBits = bits;
        FakeQuant.Weight[] quantized = new FakeQuant.Weight[layers.size()];
        java.util.stream.IntStream.range(0, layers.size()).parallel().forEach(i -> quantized[i] = FakeQuant.weight(
                scheme, layers.get(i), layers.get(i).outputMajor(working), chosenBits[i], cfg.clip()));
        for (int i = 0; i < layers.size(); i++) {
            replaced.put(layers.get(i).weight(), quantized[i].dequantized());
            entries.add(quantized[i].layer());
        }
        List<QuantPlan.Activation> acts = calibrateActivations(Transforms.withParams(working, replaced), calib, cfg, listener);
        seconds.put("quantize+calibrate", since(t));

        DistillConfig d = cfg.distill();
        QuantPlan.Distillation dist = cfg.calibration() == Calibration.ZEROQ
                ? new QuantPlan.Distillation(d.batch(), d.batches(), d.iterations(),
                d.init() == DistillConfig.Init.UNIFORM ? QuantPlan.Init.UNIFORM : QuantPlan.Init.GAUSSIAN)
                : null;
        QuantPlan plan = new QuantPlan(QuantPlan.FORMAT_VERSION, new QuantPlan.Model(modelSha256.get(), modelFileName), scheme,
                cfg.weightBits(), cfg.activationBits(), cfg.clip(), cfg.calibration(), d.seed(), dist, entries, acts, mixed);
        return new Outcome(plan, calib, distilled, table, frontier, seconds);
    }

    /**
     * One forward pass of the calibration images through the model with quantized weights: each quantized
     * activation takes its range from the values it sees (upstream activations already quantized), then
     * rounds them before passing them on (ZEROQ.md §2).
     */
    private List<QuantPlan.Activation> calibrateActivations(Graph quantizedWeights, Tensor calib, QuantizeConfig cfg,
                                                            Listener listener) {
        Scheme scheme = cfg.scheme();
        Set<String> sites = Simulation.activationSites(quantizedWeights, scheme);
        List<QuantPlan.Activation> out = new ArrayList<>();
        // Planned for the whole calibration batch: each range must see every image in one pass.
        try (ForwardRunner f = ForwardRunner.open(quantizedWeights, backend, calib.dim(0))) {
            listener.stage("calibrating on " + f.description());
            f.run(calib, scheme, sites, (name, values) -> {
                QuantPlan.Activation a = calibrate(scheme, name, values, cfg);
                out.add(a);
                return a;
            });
        }
        return out;
    }

    /**
     * The entry of one site; min/max needs only the reduced pair (8 bytes from a device), percentile the values or
     * (above Clipping's exact limit) a histogram, MSE all values.
     */
    private static QuantPlan.Activation calibrate(Scheme scheme, String name, ForwardRunner.Values values, QuantizeConfig cfg) {
        Clipping.Range r;
        if (cfg.clip() == ClipMethod.MINMAX) {
            float[] mm = values.minMax();
            // FakeQuant.activationRange for MINMAX: the true range widened to contain 0.
            r = new Clipping.Range(Math.min(0f, mm[0]), Math.max(0f, mm[1]));
        } else if (cfg.clip() == ClipMethod.PERCENTILE) {
            // FakeQuant.activationRange for PERCENTILE: Clipping.percentile (asymmetric), widened to contain 0; a
            // device computes it from a histogram when Clipping would, so no large value is downloaded.
            Clipping.Range p = values.percentile(Clipping.DEFAULT_PERCENTILE, false);
            r = new Clipping.Range(Math.min(0f, p.min()), Math.max(0f, p.max()));
        } else {
            r = FakeQuant.activationRange(values.data(), cfg.clip(), cfg.activationBits());
        }
        return FakeQuant.activation(scheme, name, r, cfg.activationBits());
    }

    /** Sets whether the sensitivity passes' weights are computed during the distillation (tests). */
    ZeroQ weightsDuringDistillation(boolean on) {
        weightsDuringDistillation = on;
        return this;
    }

    /** Sets the threads that quantize the sensitivity passes' weights ahead of them (tests; at least 1). */
    ZeroQ weightThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("weight threads " + threads);
        weightThreads = threads;
        return this;
    }

    /** Ω_i(k) for every weight layer and width of the config, on the scheme's working graph. */
    public SensitivityTable sensitivity(QuantizeConfig cfg, Tensor images, Listener listener) {
        Graph working = Simulation.workingGraph(graph, cfg.scheme());
        return sensitivity(working, WeightLayer.of(working), images, cfg, listener, null);
    }

    /**
     * The order of the sensitivity passes: last layer first. A pass reruns only the nodes from the layer under test on
     * (klDivergenceAgain), so going backwards each pass starts where nothing before it has changed since the reference
     * pass.
     */
    private static List<WeightLayer> passOrder(Graph working, List<WeightLayer> layers) {
        Map<String, Integer> firstReaders = working.firstReaders();
        List<WeightLayer> order = new ArrayList<>(layers);
        order.sort(Comparator.comparingInt(l -> -firstReaders.getOrDefault(l.weight(), 0)));
        return order;
    }

    /**
     * The passes' quantized weights, computed on other threads: the next layers' while this layer's passes run, one
     * layer ahead per thread (the last layers have the largest weights and the shortest repeats), as far as an eighth
     * of the heap holds them (always the next layer's).
     */
    private WeightsAhead weightsAhead(Graph working, List<WeightLayer> inOrder, QuantizeConfig cfg) {
        return new WeightsAhead(working, inOrder, cfg, weightThreads, Runtime.getRuntime().maxMemory() / 8);
    }

    private SensitivityTable sensitivity(Graph working, List<WeightLayer> layers, Tensor images, QuantizeConfig cfg,
                                         Listener listener, WeightsAhead early) {
        int[] bits = cfg.bitChoices();
        listener.stage("sensitivity of " + layers.size() + " layers at " + Arrays.toString(bits) + " bits");
        double[][] omega = new double[layers.size()][bits.length];
        long[] params = new long[layers.size()];
        List<String> names = new ArrayList<>();
        int total = layers.size() * bits.length, done = 0;
        for (int i = 0; i < layers.size(); i++) {
            names.add(layers.get(i).name());
            params[i] = layers.get(i).parameters(working);
        }
        // One plan for every pass: only the layer under test's weights change (and change back) between them; their
        // quantized weights come from other threads (weightsAhead; started during the distillation when given).
        List<WeightLayer> inOrder = passOrder(working, layers);
        List<String> orderNames = inOrder.stream().map(WeightLayer::name).toList();
        if (early != null && !early.order().equals(orderNames)) {
            early.close();
            throw new IllegalStateException("weights computed ahead for " + early.order() + ", passes over " + orderNames);
        }
        Laps laps = new Laps(); // where the stage's time goes, printed at its end
        try (WeightsAhead ahead = early != null ? early : weightsAhead(working, inOrder, cfg);
             ForwardRunner f = ForwardRunner.open(working, backend, images.dim(0))) {
            laps.lap("setup");
            listener.stage("sensitivity passes on " + f.description());
            Tensor reference = f.reference(images);
            laps.lap("reference pass");
            for (WeightLayer l : inOrder) {
                int i = layers.indexOf(l);
                Tensor[] quantized = ahead.next();
                laps.lap("waiting for quantized weights");
                for (int j = 0; j < bits.length; j++) {
                    f.replaceParam(l.weight(), quantized[j]);
                    laps.lap("weight swaps");
                    // Sensitivity.klDivergence against the reference; on a device only the mean comes back.
                    omega[i][j] = f.klDivergenceAgain(reference);
                    laps.lap("passes");
                    listener.sensitivityStep(++done, total);
                }
                f.restoreParam(l.weight());
                laps.lap("weight swaps");
            }
        }
        listener.stage("sensitivity took " + laps);
        return new SensitivityTable(names, params, bits, omega);
    }

    /**
     * The sensitivity passes' quantized weights, layer after layer in the passes' order, each computed ahead on one of
     * {@code threads} threads while earlier layers' passes run: as many layers ahead as there are threads, as far as
     * {@code budget} bytes hold them (always the next layer's). Closing stops the threads.
     */
    static final class WeightsAhead implements AutoCloseable {
        private final Graph working;
        private final List<WeightLayer> layers;
        private final QuantizeConfig cfg;
        private final int threads;
        private final long budget;
        private final ExecutorService pool;
        private final java.util.ArrayDeque<Queued> queued = new java.util.ArrayDeque<>();
        private int submitted;

        /** A layer's weights being quantized, and the bytes they will hold. */
        private record Queued(Future<Tensor[]> weights, long bytes) {}

        WeightsAhead(Graph working, List<WeightLayer> layers, QuantizeConfig cfg, int threads, long budget) {
            this.working = working;
            this.layers = layers;
            this.cfg = cfg;
            this.threads = threads;
            this.budget = budget;
            this.pool = Executors.newFixedThreadPool(threads, r -> {
                Thread t = new Thread(r, "zeroq-sensitivity-weights");
                t.setDaemon(true);
                return t;
            });
            submitMore();
        }

        /** The next layer's quantized weights (waiting for them if need be); its failure rethrown as thrown. */
        Tensor[] next() {
            if (queued.isEmpty()) throw new IllegalStateException("all " + layers.size() + " layers were taken");
            Tensor[] t = result(queued.removeFirst().weights());
            submitMore();
            return t;
        }

        /** The layers' names, in the order {@link #next} returns their weights. */
        List<String> order() {
            return layers.stream().map(WeightLayer::name).toList();
        }

        /** Layers queued now (for tests). */
        int queued() {
            return queued.size();
        }

        private void submitMore() {
            while (submitted < layers.size() && queued.size() < threads) {
                WeightLayer l = layers.get(submitted);
                long b = (long) cfg.bitChoices().length * l.parameters(working) * Float.BYTES;
                if (!queued.isEmpty() && queued.stream().mapToLong(Queued::bytes).sum() + b > budget) return;
                queued.add(new Queued(pool.submit(() -> quantizedWeights(working, l, cfg)), b));
                submitted++;
            }
        }

        @Override
        public void close() {
            pool.shutdownNow();
        }
    }

    /**
     * Layer {@code l}'s weights fake-quantized at each of the config's bit widths, in the graph's layout: what the
     * sensitivity passes try (computed on their weight thread; SensitivityWeightsBench times it).
     */
    public static Tensor[] quantizedWeights(Graph working, WeightLayer l, QuantizeConfig cfg) {
        int[] bits = cfg.bitChoices();
        Tensor outMajor = l.outputMajor(working);
        Tensor[] out = new Tensor[bits.length];
        for (int j = 0; j < bits.length; j++) {
            out[j] = FakeQuant.weight(cfg.scheme(), l, outMajor, bits[j], cfg.clip()).dequantized();
        }
        return out;
    }

    /** The future's value; its failure rethrown as it was thrown (an unchecked exception or error). */
    private static <T> T result(Future<T> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while quantizing weights", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException(e.getCause());
        }
    }

    private static double since(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}
