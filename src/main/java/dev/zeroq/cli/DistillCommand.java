package dev.zeroq.cli;

import dev.zeroq.backend.Backends;
import dev.zeroq.distill.DistillConfig;
import dev.zeroq.distill.Distiller;
import dev.zeroq.io.Npy;
import dev.zeroq.onnx.OnnxModel;
import dev.zeroq.pipeline.Distillation;
import dev.zeroq.report.ImageGrid;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code zeroq distill MODEL}: ZeroQ distilled images from the model's BatchNorm statistics. */
@Command(name = "distill", description = "Distill a batch of synthetic images from a model's BatchNorm statistics (ZeroQ).")
final class DistillCommand implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL", description = "ONNX model file (with BatchNormalization layers).")
    Path model;

    @Mixin
    DistillOptions distill;

    @Option(names = "--out", paramLabel = "X.npy", description = "Where to write the images (default: MODEL-distilled.npy beside the model).")
    Path out;

    @Option(names = "--png", paramLabel = "GRID.png", description = "Also write the images as a PNG grid.")
    Path png;

    @Mixin
    CommonOptions common;

    @Override
    public Integer call() {
        OnnxModel m = Models.load(model);
        DistillConfig cfg = distill.config();
        Path target = out != null ? out : Models.sibling(model, "-distilled.npy");
        Models.checkWritable(target);
        if (png != null) Models.checkWritable(png);
        Distiller.Result r;
        try (Backends.Selection sel = Models.backend(common, distill.tf32);
             DistillProgress progress = new DistillProgress(common.json)) {
            progress.stage("distilling " + cfg.batches() + " batch(es) of " + cfg.batch() + " images, " + cfg.iterations()
                    + " iterations, seed " + cfg.seed() + ", on " + sel.backend().name());
            r = Distillation.run(m.graph(), sel.backend(), cfg,
                    it -> progress.distillIteration(it, cfg.iterations(), cfg.batches()),
                    n -> {
                        if (n.fallbackReason() != null) progress.stage("distilling op by op: " + n.fallbackReason());
                        else if (n.where().contains("device-resident")) progress.stage("distilling on " + n.where());
                    });
        }
        Npy.write(target, r.images());
        if (png != null) {
            ImageGrid.write(r.images(), png);
        }
        double first = r.lossCurves()[0][0];
        double last = r.finalLoss(cfg.batches() - 1);
        double itPerSec = (double) cfg.iterations() * cfg.batches() / r.seconds();
        if (common.json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("model", model.toString());
            o.put("images", r.images().dim(0));
            o.put("iterations", cfg.iterations());
            o.put("batches", cfg.batches());
            o.put("seed", cfg.seed());
            o.put("initialLoss", first);
            o.put("finalLoss", last);
            o.put("seconds", r.seconds());
            o.put("iterationsPerSecond", itPerSec);
            o.put("out", target.toString());
            if (png != null) o.put("png", png.toString());
            Output.json(System.out, o);
        } else {
            new Output.Table("distilled", "loss first → last", "time", "it/s", "written to")
                    .row(r.images().dim(0) + " images", String.format("%.4g → %.4g", first, last),
                            String.format("%.1f s", r.seconds()), String.format("%.2f", itPerSec),
                            target + (png != null ? ", " + png : ""))
                    .print(System.out);
        }
        return 0;
    }
}
