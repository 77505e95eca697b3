package dev.zeroq.distill;

import dev.zeroq.ZeroqException;

/**
 * Settings of ZeroQ data distillation (ZEROQ.md §1). Defaults follow the official code: batch 32,
 * 500 iterations, Adam lr 0.5, uniform init.
 *
 * @param batch      images per distilled batch
 * @param batches    number of independent batches (each seeded from {@code seed + index})
 * @param iterations Adam steps per batch
 * @param init       starting images
 * @param seed       seed of the starting images
 */
public record DistillConfig(int batch, int batches, int iterations, Init init, long seed) {

    /** How the optimized images start. */
    public enum Init {
        /** Official code: uniform integers 0..254, minus 127.5, divided by 5418.75 (about ±0.023). */
        UNIFORM,
        /** Paper: N(0, 1). */
        GAUSSIAN
    }

    public static final float LEARNING_RATE = 0.5f;

    public DistillConfig {
        if (batch < 1) throw ZeroqException.badInput("--batch must be at least 1, got " + batch);
        if (batches < 1) throw ZeroqException.badInput("--batches must be at least 1, got " + batches);
        if (iterations < 1) throw ZeroqException.badInput("--iters must be at least 1, got " + iterations);
        if (init == null) throw ZeroqException.badInput("--init must be uniform or gaussian");
    }

    public static DistillConfig defaults() {
        return new DistillConfig(32, 1, 500, Init.UNIFORM, 0);
    }

    public DistillConfig withIterations(int it) {
        return new DistillConfig(batch, batches, it, init, seed);
    }

    public DistillConfig withBatch(int b) {
        return new DistillConfig(b, batches, iterations, init, seed);
    }

    public DistillConfig withSeed(long s) {
        return new DistillConfig(batch, batches, iterations, init, s);
    }
}
