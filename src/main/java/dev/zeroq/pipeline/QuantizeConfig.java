package dev.zeroq.pipeline;

import dev.zeroq.ZeroqException;
import dev.zeroq.distill.DistillConfig;
import dev.zeroq.quant.ClipMethod;
import dev.zeroq.quant.QuantPlan.Calibration;
import dev.zeroq.quant.QuantPlan.Scheme;
import dev.zeroq.tensor.Tensor;

import java.util.Arrays;

/**
 * Everything {@code zeroq quantize} decides, validated here so that every entry point gets the same errors.
 *
 * @param scheme            paper (the official ZeroQ code) or deploy (what int8 runtimes execute)
 * @param weightBits        uniform weight bits, 2..8 (ignored by layers that mixed precision sets)
 * @param activationBits    activation bits, 2..8
 * @param clip              how ranges are chosen from values
 * @param calibration       where calibration images come from
 * @param calibrationImages real images for {@link Calibration#DATA}, else null
 * @param mixed             a mixed-precision size target, or null for uniform weights
 * @param bitChoices        widths mixed precision may give a layer, e.g. {2, 4, 8}
 * @param distill           distillation settings (its batch size and batch count also size gaussian/data calibration)
 */
public record QuantizeConfig(Scheme scheme, int weightBits, int activationBits, ClipMethod clip, Calibration calibration,
                             Tensor calibrationImages, MixedTarget mixed, int[] bitChoices, DistillConfig distill) {

    /** A mixed-precision size target. */
    public sealed interface MixedTarget {
        /** The size of the model with every layer at this many bits (MP4 = 4). */
        record AverageBits(double bits) implements MixedTarget {}

        /** Weight storage in MB (10^6 bytes). */
        record SizeMb(double megabytes) implements MixedTarget {}
    }

    public QuantizeConfig {
        checkBits(weightBits, "--wbits");
        checkBits(activationBits, "--abits");
        if (scheme == null || clip == null || calibration == null || distill == null) {
            throw new IllegalArgumentException("scheme, clip, calibration and distill settings are required");
        }
        if (calibration == Calibration.DATA && calibrationImages == null) {
            throw ZeroqException.badInput("--calib data needs real images: give --calib-images F (IDX or .npy)");
        }
        bitChoices = bitChoices == null ? new int[] {2, 4, 8} : bitChoices.clone();
        if (bitChoices.length == 0) {
            throw ZeroqException.badInput("--bits needs at least one width, e.g. 2,4,8");
        }
        for (int b : bitChoices) {
            checkBits(b, "--bits");
        }
        Arrays.sort(bitChoices);
        if (mixed instanceof MixedTarget.AverageBits a && !(a.bits() > 0 && a.bits() <= 8)) {
            throw ZeroqException.badInput("--avg-bits must be in (0, 8], got " + a.bits());
        }
        if (mixed instanceof MixedTarget.SizeMb s && !(s.megabytes() > 0)) {
            throw ZeroqException.badInput("--size-mb must be positive, got " + s.megabytes());
        }
    }

    /** W8A8, paper scheme, min/max, distilled calibration with the official defaults. */
    public static QuantizeConfig defaults() {
        return new QuantizeConfig(Scheme.PAPER, 8, 8, ClipMethod.MINMAX, Calibration.ZEROQ, null, null, null,
                DistillConfig.defaults());
    }

    private static void checkBits(int bits, String option) {
        if (bits < 2 || bits > 8) {
            throw ZeroqException.badInput(option + " must be between 2 and 8, got " + bits);
        }
    }

    @Override
    public int[] bitChoices() {
        return bitChoices.clone();
    }

    public QuantizeConfig withScheme(Scheme s) {
        return new QuantizeConfig(s, weightBits, activationBits, clip, calibration, calibrationImages, mixed, bitChoices, distill);
    }

    public QuantizeConfig withBits(int w, int a) {
        return new QuantizeConfig(scheme, w, a, clip, calibration, calibrationImages, mixed, bitChoices, distill);
    }

    public QuantizeConfig withClip(ClipMethod c) {
        return new QuantizeConfig(scheme, weightBits, activationBits, c, calibration, calibrationImages, mixed, bitChoices, distill);
    }

    public QuantizeConfig withMixed(MixedTarget m) {
        return new QuantizeConfig(scheme, weightBits, activationBits, clip, calibration, calibrationImages, m, bitChoices, distill);
    }

    public QuantizeConfig withCalibration(Calibration c, Tensor images) {
        return new QuantizeConfig(scheme, weightBits, activationBits, clip, c, images, mixed, bitChoices, distill);
    }

    public QuantizeConfig withDistill(DistillConfig d) {
        return new QuantizeConfig(scheme, weightBits, activationBits, clip, calibration, calibrationImages, mixed, bitChoices, d);
    }
}
