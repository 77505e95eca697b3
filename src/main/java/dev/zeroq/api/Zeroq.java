// The public entry points of the ZeroQ pipeline: distill calibration images from a model, and quantize it.
package dev.zeroq.api;

import dev.zeroq.backend.Backends;
import dev.zeroq.distill.Distiller;
import dev.zeroq.pipeline.Distillation;
import dev.zeroq.pipeline.ZeroQ;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Data-free quantization (ZeroQ, Cai et al. 2020) in two calls. Each call opens the device of its settings,
 * runs, and releases it; calls are independent and may run concurrently. Same model, settings and seed →
 * the same result on the same device.
 *
 * <pre>{@code
 * Model model = Model.load(Path.of("model.onnx"));
 * DistilledImages d = Zeroq.distill(model, DistillSettings.builder().iterations(200).build());
 * Plan plan = Zeroq.quantize(model, QuantizeSettings.builder().scheme(Scheme.DEPLOY).build());
 * plan.save(Path.of("model.plan.json"));
 * }</pre>
 */
public final class Zeroq {
    private Zeroq() {}

    /**
     * Distills images whose BatchNorm statistics match the model's (ZeroQ's "distilled data").
     * Example: {@code Zeroq.distill(model, DistillSettings.defaults()).count()} is 32.
     */
    public static DistilledImages distill(Model model, DistillSettings settings) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(settings, "settings");
        try (Backends.Selection sel = Devices.open(settings.device(), settings.tf32())) {
            Distiller.Result r = Distillation.run(model.graph(), sel.backend(), settings.internal(), it -> {}, n -> {});
            List<Double> losses = new ArrayList<>();
            for (int b = 0; b < r.lossCurves().length; b++) {
                losses.add(r.finalLoss(b));
            }
            return new DistilledImages(Images.of(r.images()), losses, r.seconds(), sel.backend().name());
        }
    }

    /**
     * Quantizes the model: calibration images (distilled by default), optional mixed-precision bit allocation,
     * quantized weights and activation ranges. The plan records the model's SHA-256.
     * Example: {@code Zeroq.quantize(model, QuantizeSettings.defaults()).weightBits()} is 8.
     */
    public static Plan quantize(Model model, QuantizeSettings settings) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(settings, "settings");
        try (Backends.Selection sel = Devices.open(settings.distill().device(), settings.distill().tf32())) {
            ZeroQ.Outcome o = new ZeroQ(model.graph(), sel.backend())
                    .quantize(settings.internal(), model.sha256(), model.name(), ZeroQ.Listener.NONE);
            return new Plan(o.plan());
        }
    }
}
