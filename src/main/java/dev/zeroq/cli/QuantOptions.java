package dev.zeroq.cli;

import dev.zeroq.ZeroqException;
import dev.zeroq.io.Dataset;
import dev.zeroq.pipeline.QuantizeConfig;
import dev.zeroq.quant.ClipMethod;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.tensor.Tensor;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/** Quantization options shared by quantize and sensitivity. */
final class QuantOptions {
    @Option(names = "--wbits", defaultValue = "8", description = "Weight bits, 2..8 (default ${DEFAULT-VALUE}).")
    int wbits;

    @Option(names = "--abits", defaultValue = "8", description = "Activation bits, 2..8 (default ${DEFAULT-VALUE}).")
    int abits;

    @Option(names = "--scheme", defaultValue = "paper",
            description = "paper (the official ZeroQ code) or deploy (what int8 runtimes execute) (default ${DEFAULT-VALUE}).")
    String scheme;

    @Option(names = "--clip", defaultValue = "minmax", description = "Range choice: minmax, percentile or mse (default ${DEFAULT-VALUE}).")
    String clip;

    @Option(names = "--calib", defaultValue = "zeroq",
            description = "Calibration images: zeroq (distilled), gaussian (N(0,1)) or data (--calib-images) (default ${DEFAULT-VALUE}).")
    String calib;

    @Option(names = "--calib-images", paramLabel = "F", description = "Real images for --calib data: IDX or float32 NCHW .npy.")
    Path calibImages;

    @Mixin
    PixelOptions pixels;

    @Option(names = "--bits", defaultValue = "2,4,8", split = ",",
            description = "Bit widths mixed precision chooses from (default ${DEFAULT-VALUE}).")
    int[] bitChoices;

    @Mixin
    DistillOptions distill;

    QuantizeConfig config(QuantizeConfig.MixedTarget mixed) {
        QuantPlan.Scheme s = switch (scheme.toLowerCase(Locale.ROOT)) {
            case "paper" -> QuantPlan.Scheme.PAPER;
            case "deploy" -> QuantPlan.Scheme.DEPLOY;
            default -> throw ZeroqException.badInput("--scheme must be paper or deploy, got '" + scheme + "'");
        };
        QuantPlan.Calibration c = switch (calib.toLowerCase(Locale.ROOT)) {
            case "zeroq" -> QuantPlan.Calibration.ZEROQ;
            case "gaussian" -> QuantPlan.Calibration.GAUSSIAN;
            case "data" -> QuantPlan.Calibration.DATA;
            default -> throw ZeroqException.badInput("--calib must be zeroq, gaussian or data, got '" + calib + "'");
        };
        Tensor images = null;
        if (c == QuantPlan.Calibration.DATA) {
            if (calibImages == null) {
                throw ZeroqException.badInput("--calib data needs --calib-images F (IDX or .npy real images)");
            }
            var d = distill.config();
            images = Dataset.loadImages(calibImages, pixels.mean, pixels.std, Math.multiplyExact(d.batch(), d.batches()));
        } else if (calibImages != null) {
            throw ZeroqException.badInput("--calib-images is only used with --calib data");
        }
        return new QuantizeConfig(s, wbits, abits, ClipMethod.parse(clip), c, images, mixed, bitChoices, distill.config());
    }

    String bitsText() {
        return Arrays.toString(bitChoices);
    }
}
