package dev.zeroq.distill;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.Backend;
import dev.zeroq.graph.Backprop;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.graph.Op;
import dev.zeroq.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

/**
 * ZeroQ data distillation (ZEROQ.md §1): optimizes a batch of input images so that the per-image,
 * per-channel statistics at every BatchNorm input match that BatchNorm's running statistics, and the
 * input itself looks standardized. Only the input moves; the model runs in inference mode.
 */
public final class Distiller {
    /** Added to variances under the square root, as in the official code. */
    public static final float EPS = 1e-6f;

    private final Graph graph;
    private final Backend backend;
    private final Backprop backprop;
    private final Map<String, float[][]> targets = new LinkedHashMap<>();

    /** One optimizer step, for progress display and loss curves. */
    public record Iteration(int batchIndex, int iteration, double loss, double lr) {}

    /**
     * @param images     all distilled images, batches one after another: (batches·batch, C, H, W)
     * @param lossCurves per batch, the total loss at every iteration
     */
    public record Result(Tensor images, double[][] lossCurves, double seconds) {
        public double finalLoss(int batch) {
            double[] c = lossCurves[batch];
            return c[c.length - 1];
        }
    }

    public Distiller(Graph graph, Backend backend) {
        this.graph = graph;
        this.backend = backend;
        this.backprop = new Backprop(graph, backend);
        for (Node bn : graph.nodesOf(Op.BatchNorm.class)) {
            float[] mean = graph.param(bn.input(3)).data();
            float[] var = graph.param(bn.input(4)).data();
            float[] std = new float[var.length];
            for (int c = 0; c < std.length; c++) {
                std[c] = (float) Math.sqrt(var[c] + EPS);
            }
            // Two BatchNorms reading one value would each add a term: keep both target sets.
            targets.merge(bn.input(0), new float[][] {mean, std}, (a, b) -> concat(a, b));
        }
        if (targets.isEmpty()) {
            throw ZeroqException.badInput("model '" + graph.name() + "' has no BatchNormalization layers: ZeroQ needs "
                    + "their statistics to distill data; calibrate on real images instead with --calib data --calib-images F");
        }
    }

    private static float[][] concat(float[][] a, float[][] b) {
        float[][] r = new float[a.length + b.length][];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** Number of BatchNorm statistics terms in the loss. */
    public int bnTerms() {
        return targets.values().stream().mapToInt(t -> t.length / 2).sum();
    }

    /** The starting images of one batch. */
    public static Tensor initialBatch(int[] chw, int batch, DistillConfig.Init init, long seed) {
        Tensor x = Tensor.zeros(batch, chw[0], chw[1], chw[2]);
        Random r = new Random(seed);
        float[] d = x.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = switch (init) {
                case UNIFORM -> (r.nextInt(255) - 127.5f) / 5418.75f;
                case GAUSSIAN -> (float) r.nextGaussian();
            };
        }
        return x;
    }

    /** The ZeroQ loss and its gradient for one batch (used by the optimizer loop and by tests). */
    public Backprop.Result lossAndGradient(Tensor images) {
        Map<String, Backprop.Tap> taps = new LinkedHashMap<>();
        for (Map.Entry<String, float[][]> e : targets.entrySet()) {
            float[][] t = e.getValue();
            taps.put(e.getKey(), value -> {
                Backend.BnStatLoss sum = null;
                for (int k = 0; k < t.length; k += 2) {
                    Backend.BnStatLoss l = backend.bnStatisticLoss(value, t[k], t[k + 1], EPS);
                    sum = sum == null ? l : new Backend.BnStatLoss(sum.loss() + l.loss(),
                            backend.binary(sum.grad(), l.grad(), Backend.BinaryOp.ADD));
                }
                return sum;
            });
        }
        int c = graph.inputShape()[0];
        float[] zeros = new float[c];
        float[] ones = new float[c];
        java.util.Arrays.fill(ones, 1f);
        Backprop.Tap inputTap = value -> backend.bnStatisticLoss(value, zeros, ones, EPS);
        taps.merge(graph.inputName(), inputTap, (a, b) -> value -> {
            Backend.BnStatLoss x = a.apply(value), y = b.apply(value);
            return new Backend.BnStatLoss(x.loss() + y.loss(), backend.binary(x.grad(), y.grad(), Backend.BinaryOp.ADD));
        });
        return backprop.run(images, taps);
    }

    public Result distill(DistillConfig cfg, Consumer<Iteration> progress) {
        long t0 = System.nanoTime();
        int[] chw = graph.inputShape();
        List<Tensor> batches = new ArrayList<>();
        double[][] curves = new double[cfg.batches()][cfg.iterations()];
        for (int b = 0; b < cfg.batches(); b++) {
            Tensor x = initialBatch(chw, cfg.batch(), cfg.init(), cfg.seed() + b);
            Adam adam = new Adam(x.size());
            PlateauSchedule schedule = new PlateauSchedule(DistillConfig.LEARNING_RATE);
            for (int it = 0; it < cfg.iterations(); it++) {
                Backprop.Result r = lossAndGradient(x);
                if (!Double.isFinite(r.loss())) {
                    throw ZeroqException.internal("distillation diverged: the loss became " + r.loss() + " at iteration "
                            + (it + 1) + " of batch " + (b + 1) + "; nothing was written (try --init uniform or fewer --iters)");
                }
                curves[b][it] = r.loss();
                double lr = schedule.lr();
                adam.step(x.data(), r.inputGrad().data(), lr);
                schedule.step(r.loss());
                progress.accept(new Iteration(b, it, r.loss(), lr));
            }
            batches.add(x);
        }
        Tensor all = batches.size() == 1 ? batches.getFirst() : backend.concat(batches, 0);
        return new Result(all, curves, (System.nanoTime() - t0) / 1e9);
    }
}
