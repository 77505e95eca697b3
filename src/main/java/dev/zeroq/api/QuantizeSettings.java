// Settings of a quantization run for the public API: a frozen record validated on construction, with a
// builder whose defaults are the command line's (zeroq quantize).
package dev.zeroq.api;

import dev.zeroq.ZeroqException;
import dev.zeroq.pipeline.QuantizeConfig;
import dev.zeroq.quant.ClipMethod;
import dev.zeroq.quant.QuantPlan;

import java.util.List;
import java.util.Objects;

/**
 * How {@link Zeroq#quantize} quantizes. Defaults (as {@code zeroq quantize}): paper scheme, W8A8, min/max
 * ranges, calibration on distilled images ({@link DistillSettings#defaults()}), uniform bits, mixed-precision
 * choices {2, 4, 8}.
 *
 * <pre>{@code
 * QuantizeSettings s = QuantizeSettings.builder()
 *         .scheme(Scheme.DEPLOY).weightBits(8).activationBits(8).clip(QuantizeSettings.Clip.PERCENTILE)
 *         .distill(DistillSettings.builder().iterations(200).build())
 *         .build();
 * QuantizeSettings mp4 = QuantizeSettings.builder().mixed(new QuantizeSettings.Mixed.AverageBits(4)).build();
 * }</pre>
 *
 * @param scheme            {@link Scheme#PAPER} or {@link Scheme#DEPLOY} (needed by {@link Precision#INT8})
 * @param weightBits        uniform weight bits, 2..8 (layers chosen by mixed precision may differ)
 * @param activationBits    activation bits, 2..8
 * @param clip              how ranges are chosen from observed values
 * @param calibration       where calibration images come from
 * @param calibrationImages real, already-normalized images for {@link Calibration#DATA}; null otherwise
 * @param mixed             a mixed-precision size target, or null for uniform bits
 * @param bitChoices        the widths mixed precision may give a layer, each 2..8
 * @param distill           distillation settings; their batch and batch count also size Gaussian and data
 *                          calibration, and their device (and {@link DistillSettings#tf32()}) is where and how
 *                          quantization runs
 */
public record QuantizeSettings(Scheme scheme, int weightBits, int activationBits, Clip clip, Calibration calibration,
                               Images calibrationImages, Mixed mixed, List<Integer> bitChoices,
                               DistillSettings distill) {

    /** Range selection. */
    public enum Clip {
        /** True min/max, as ZeroQ does. */
        MINMAX,
        /** The 99.99th percentile. */
        PERCENTILE,
        /** The range with the least mean squared quantization error. */
        MSE
    }

    /** Where calibration images come from. */
    public enum Calibration {
        /** Distilled from the model (ZeroQ, data-free). */
        ZEROQ,
        /** Random N(0, 1) images, the paper's baseline. */
        GAUSSIAN,
        /** Real images given in {@link QuantizeSettings#calibrationImages()}. */
        DATA
    }

    /** A mixed-precision size target. Example: {@code new Mixed.AverageBits(4)} is the paper's MP4. */
    public sealed interface Mixed {
        /** The size the model would have with every layer at {@code bits}, 0 < bits <= 8. */
        record AverageBits(double bits) implements Mixed {
            public AverageBits {
                if (!(bits > 0 && bits <= 8)) {
                    throw ZeroqException.badInput("average bits must be in (0, 8], got " + bits + " (4 gives MP4)");
                }
            }
        }

        /** Weight storage in megabytes (10^6 bytes), > 0. */
        record SizeMb(double megabytes) implements Mixed {
            public SizeMb {
                if (!(megabytes > 0) || Double.isInfinite(megabytes)) {
                    throw ZeroqException.badInput("size in MB must be positive and finite, got " + megabytes);
                }
            }
        }
    }

    public QuantizeSettings {
        if (scheme == null) {
            throw ZeroqException.badInput("scheme is required: Scheme.PAPER or Scheme.DEPLOY (for the int8 engine)");
        }
        bits(weightBits, "weightBits");
        bits(activationBits, "activationBits");
        if (clip == null) {
            throw ZeroqException.badInput("clip is required: Clip.MINMAX (ZeroQ), Clip.PERCENTILE or Clip.MSE");
        }
        if (calibration == null) {
            throw ZeroqException.badInput("calibration is required: Calibration.ZEROQ, GAUSSIAN or DATA");
        }
        if (calibration == Calibration.DATA && calibrationImages == null) {
            throw ZeroqException.badInput("Calibration.DATA needs real images: set calibrationImages(...) "
                    + "(e.g. Images.readNpy(path)) or use Calibration.ZEROQ");
        }
        if (calibration != Calibration.DATA && calibrationImages != null) {
            throw ZeroqException.badInput("calibrationImages are only read with Calibration.DATA; set calibration(DATA) "
                    + "or drop the images");
        }
        if (bitChoices == null || bitChoices.isEmpty()) {
            throw ZeroqException.badInput("bitChoices needs at least one width, e.g. List.of(2, 4, 8)");
        }
        for (Integer b : bitChoices) {
            bits(b, "bitChoices");
        }
        bitChoices = List.copyOf(bitChoices);
        if (distill == null) {
            throw ZeroqException.badInput("distill settings are required: DistillSettings.defaults()");
        }
    }

    private static void bits(Integer b, String name) {
        if (b == null || b < 2 || b > 8) {
            throw ZeroqException.badInput(name + " must be between 2 and 8, got " + b + " (8 for int8)");
        }
    }

    /** The command line's defaults: paper, W8A8, min/max, distilled calibration. */
    public static QuantizeSettings defaults() {
        return builder().build();
    }

    /** A builder starting from {@link #defaults()}. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from these settings. */
    public Builder toBuilder() {
        Builder b = new Builder().scheme(scheme).weightBits(weightBits).activationBits(activationBits).clip(clip)
                .mixed(mixed).bitChoices(bitChoices).distill(distill);
        b.calibration = calibration;
        b.calibrationImages = calibrationImages;
        return b;
    }

    QuantizeConfig internal() {
        QuantPlan.Scheme s = scheme == Scheme.DEPLOY ? QuantPlan.Scheme.DEPLOY : QuantPlan.Scheme.PAPER;
        ClipMethod c = switch (clip) {
            case MINMAX -> ClipMethod.MINMAX;
            case PERCENTILE -> ClipMethod.PERCENTILE;
            case MSE -> ClipMethod.MSE;
        };
        QuantPlan.Calibration cal = switch (calibration) {
            case ZEROQ -> QuantPlan.Calibration.ZEROQ;
            case GAUSSIAN -> QuantPlan.Calibration.GAUSSIAN;
            case DATA -> QuantPlan.Calibration.DATA;
        };
        QuantizeConfig.MixedTarget m = switch (mixed) {
            case null -> null;
            case Mixed.AverageBits a -> new QuantizeConfig.MixedTarget.AverageBits(a.bits());
            case Mixed.SizeMb mb -> new QuantizeConfig.MixedTarget.SizeMb(mb.megabytes());
        };
        return new QuantizeConfig(s, weightBits, activationBits, c, cal,
                calibrationImages == null ? null : calibrationImages.tensor(), m,
                bitChoices.stream().mapToInt(Integer::intValue).toArray(), distill.internal());
    }

    /** Mutable builder; {@link #build()} validates. Not thread-safe. */
    public static final class Builder {
        private Scheme scheme = Scheme.PAPER;
        private int weightBits = 8;
        private int activationBits = 8;
        private Clip clip = Clip.MINMAX;
        private Calibration calibration = Calibration.ZEROQ;
        private Images calibrationImages;
        private Mixed mixed;
        private List<Integer> bitChoices = List.of(2, 4, 8);
        private DistillSettings distill = DistillSettings.defaults();

        private Builder() {}

        /** Scheme (default paper). */
        public Builder scheme(Scheme v) { scheme = v; return this; }

        /** Weight bits (default 8). */
        public Builder weightBits(int v) { weightBits = v; return this; }

        /** Activation bits (default 8). */
        public Builder activationBits(int v) { activationBits = v; return this; }

        /** Range selection (default min/max). */
        public Builder clip(Clip v) { clip = v; return this; }

        /** Calibration from distilled (default) or Gaussian images; for real images use {@link #calibrationImages}. */
        public Builder calibration(Calibration v) { calibration = v; return this; }

        /** Calibrates on these real images (sets {@link Calibration#DATA}). */
        public Builder calibrationImages(Images v) {
            calibrationImages = v;
            calibration = Calibration.DATA;
            return this;
        }

        /** Mixed-precision target (default none: uniform bits). */
        public Builder mixed(Mixed v) { mixed = v; return this; }

        /** Widths mixed precision may choose (default 2, 4, 8). */
        public Builder bitChoices(List<Integer> v) { bitChoices = v; return this; }

        /** Distillation settings and the device (default {@link DistillSettings#defaults()}). */
        public Builder distill(DistillSettings v) { distill = v; return this; }

        /** Shorthand for changing only the device of the distill settings. */
        public Builder device(Device v) {
            distill = distill.toBuilder().device(v).build();
            return this;
        }

        /** The validated settings. */
        public QuantizeSettings build() {
            return new QuantizeSettings(scheme, weightBits, activationBits, clip, calibration, calibrationImages, mixed,
                    bitChoices, distill);
        }
    }
}
