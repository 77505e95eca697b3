package dev.zeroq.cli;

import dev.zeroq.backend.Backends;
import dev.zeroq.eval.Accuracy;
import dev.zeroq.graph.Inference;
import dev.zeroq.io.Dataset;
import dev.zeroq.onnx.OnnxModel;
import dev.zeroq.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;

/** {@code zeroq eval MODEL --images F --labels F}: top-1 accuracy. */
@Command(name = "eval", description = "Top-1 accuracy of a model on labelled images (IDX or .npy).")
final class EvalCommand implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL", description = "ONNX model file.")
    Path model;

    @Option(names = "--images", required = true, paramLabel = "F",
            description = "Images: IDX (.gz or raw, pixels scaled to [0,1] then normalized) or float32 NCHW .npy.")
    Path images;

    @Option(names = "--labels", required = true, paramLabel = "F", description = "Labels: IDX or .npy.")
    Path labels;

    @Mixin
    PixelOptions pixels;

    @Option(names = "--limit", defaultValue = "0", description = "Use only the first N images (0 = all).")
    int limit;

    @Option(names = "--batch", defaultValue = "64", description = "Batch size (default ${DEFAULT-VALUE}).")
    int batch;

    @Mixin
    EngineOptions quantized;

    @Mixin
    CommonOptions common;

    @Override
    public Integer call() {
        if (batch < 1) {
            throw dev.zeroq.ZeroqException.badInput("--batch must be at least 1, got " + batch);
        }
        if (limit < 0) {
            throw dev.zeroq.ZeroqException.badInput("--limit must be 0 (all) or positive, got " + limit);
        }
        OnnxModel m = Models.load(model);
        Dataset data = Dataset.load(images, labels, pixels.mean, pixels.std, limit == 0 ? Integer.MAX_VALUE : limit);
        Accuracy.Top1 r;
        String device;
        String quantizedBy;
        long t0 = System.nanoTime();
        try (Backends.Selection sel = Models.backend(common)) {
            Inference exec = Inference.compile(m.graph(), sel.backend());
            exec.checkInput(data.images());
            Models.Quantized q = Models.quantized(m, model, quantized.plan, quantized.engine, sel.backend());
            UnaryOperator<Tensor> f = q == null ? exec::run : q;
            quantizedBy = q == null ? "" : " quantized" + (quantized.plan != null ? " by " + quantized.plan : " (QDQ model)")
                    + ", " + quantized.engine;
            device = sel.backend().name();
            try (Progress p = Progress.start("eval", data.labels().length, 1000, "img"); Models.Quantized owned = q) {
                r = Accuracy.top1(f, data.images(), data.labels(), batch, p::stepTo);
            }
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        if (common.json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("model", model.toString());
            o.put("images", r.total());
            o.put("correct", r.correct());
            o.put("top1", r.top1());
            o.put("device", device);
            if (quantized.plan != null) o.put("plan", quantized.plan.toString());
            if (!quantizedBy.isEmpty()) o.put("engine", quantized.engine);
            o.put("seconds", secs);
            Output.json(System.out, o);
        } else {
            System.out.printf("top-1 %.2f %% (%d of %d images)%s on %s in %.1f s%n", 100 * r.top1(), r.correct(),
                    r.total(), quantizedBy, device, secs);
        }
        return 0;
    }
}
