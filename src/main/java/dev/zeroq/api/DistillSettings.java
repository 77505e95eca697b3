// Settings of ZeroQ data distillation for the public API: a frozen record validated on construction, with
// a builder whose defaults are the command line's (zeroq distill).
package dev.zeroq.api;

import dev.zeroq.ZeroqException;
import dev.zeroq.distill.DistillConfig;

import java.util.Objects;

/**
 * How {@link Zeroq#distill} optimizes images. Defaults (as {@code zeroq distill} and the official ZeroQ
 * code): 1 batch of 32 images, 500 Adam iterations, uniform start, seed 0, device auto, strict FP32.
 *
 * <pre>{@code
 * DistillSettings s = DistillSettings.builder().batch(16).iterations(200).seed(7).device(Device.cpu()).build();
 * }</pre>
 *
 * @param batch      images per distilled batch, 1..4096
 * @param batches    independent batches (batch i is seeded with seed + i), 1..1024
 * @param iterations Adam steps per batch, 1..100000
 * @param init       starting images
 * @param seed       seed of the starting images
 * @param device     where to run
 * @param tf32       allow TF32 tensor cores (sm_80+ GPUs) for the convolutions of distillation and of the forward
 *                   passes that {@link Zeroq#quantize} runs on this device: faster, products rounded to a 10-bit
 *                   mantissa (about 1e-3 relative). No effect on the CPU. Default false: strict FP32
 */
public record DistillSettings(int batch, int batches, int iterations, Init init, long seed, Device device, boolean tf32) {

    /** How the optimized images start. */
    public enum Init {
        /** The official code: small uniform noise (integers 0..254, minus 127.5, divided by 5418.75). */
        UNIFORM,
        /** The paper: N(0, 1). */
        GAUSSIAN
    }

    public DistillSettings {
        range(batch, 1, 4096, "batch", "images per batch; 32 is the ZeroQ default");
        range(batches, 1, 1024, "batches", "independent batches; 1 is the default");
        range(iterations, 1, 100_000, "iterations", "Adam steps; 500 is the ZeroQ default");
        if (init == null) {
            throw ZeroqException.badInput("init is required: Init.UNIFORM (ZeroQ code) or Init.GAUSSIAN (paper)");
        }
        if (device == null) {
            throw ZeroqException.badInput("device is required: Device.auto(), Device.cpu() or Device.cuda()");
        }
    }

    /** Strict FP32 ({@code tf32} false). */
    public DistillSettings(int batch, int batches, int iterations, Init init, long seed, Device device) {
        this(batch, batches, iterations, init, seed, device, false);
    }

    static void range(int v, int lo, int hi, String name, String hint) {
        if (v < lo || v > hi) {
            throw ZeroqException.badInput(name + " must be between " + lo + " and " + hi + ", got " + v + " (" + hint + ")");
        }
    }

    /** The command line's defaults: 32 images, 1 batch, 500 iterations, uniform, seed 0, auto, strict FP32. */
    public static DistillSettings defaults() {
        return builder().build();
    }

    /** A builder starting from {@link #defaults()}. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from these settings. Example: {@code s.toBuilder().seed(1).build()}. */
    public Builder toBuilder() {
        return new Builder().batch(batch).batches(batches).iterations(iterations).init(init).seed(seed).device(device)
                .tf32(tf32);
    }

    DistillConfig internal() {
        return new DistillConfig(batch, batches, iterations,
                init == Init.GAUSSIAN ? DistillConfig.Init.GAUSSIAN : DistillConfig.Init.UNIFORM, seed);
    }

    /** Mutable builder; {@link #build()} validates. Not thread-safe. */
    public static final class Builder {
        private int batch = 32;
        private int batches = 1;
        private int iterations = 500;
        private Init init = Init.UNIFORM;
        private long seed = 0;
        private Device device = Device.auto();
        private boolean tf32 = false;

        private Builder() {}

        /** Images per batch (default 32). */
        public Builder batch(int v) { batch = v; return this; }

        /** Number of batches (default 1). */
        public Builder batches(int v) { batches = v; return this; }

        /** Adam iterations per batch (default 500). */
        public Builder iterations(int v) { iterations = v; return this; }

        /** Starting images (default uniform). */
        public Builder init(Init v) { init = v; return this; }

        /** Seed (default 0). */
        public Builder seed(long v) { seed = v; return this; }

        /** Device (default auto). */
        public Builder device(Device v) { device = Objects.requireNonNull(v, "device"); return this; }

        /** TF32 tensor cores for convolutions on a CUDA device (default false: strict FP32). */
        public Builder tf32(boolean v) { tf32 = v; return this; }

        /** The validated settings. */
        public DistillSettings build() {
            return new DistillSettings(batch, batches, iterations, init, seed, device, tf32);
        }
    }
}
