package dev.zeroq.cli;

import dev.zeroq.backend.Backend;
import dev.zeroq.backend.Backends;
import dev.zeroq.distill.DistillConfig;
import dev.zeroq.distill.Distiller;
import dev.zeroq.eval.Accuracy;
import dev.zeroq.graph.Inference;
import dev.zeroq.io.Bundled;
import dev.zeroq.io.Dataset;
import dev.zeroq.onnx.OnnxImporter;
import dev.zeroq.onnx.OnnxModel;
import dev.zeroq.pipeline.QuantizeConfig;
import dev.zeroq.pipeline.Simulation;
import dev.zeroq.pipeline.ZeroQ;
import dev.zeroq.quant.ClipMethod;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.report.QuantReport;
import dev.zeroq.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;

/**
 * {@code zeroq demo}: the whole ZeroQ pipeline on the bundled Fashion-MNIST model, no arguments needed:
 * FP32 accuracy, one distillation, then W8A8 with Gaussian and with distilled calibration, W4A8 and MP4/A8,
 * each evaluated on the bundled images, with a report folder.
 */
@Command(name = "demo", description = "Run the whole ZeroQ pipeline on the bundled Fashion-MNIST model and images (no arguments needed).")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--model", defaultValue = "resnet_fmnist",
            description = "Bundled model: resnet_fmnist or mobilenet_fmnist (default ${DEFAULT-VALUE}).")
    String modelName;

    @Option(names = "--limit", defaultValue = "2000", description = "Bundled images to evaluate on (default ${DEFAULT-VALUE}).")
    int limit;

    @Option(names = "--iters", defaultValue = "500", description = "Distillation iterations (default ${DEFAULT-VALUE}).")
    int iters;

    @Option(names = "--seed", defaultValue = "0", description = "Seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--report", defaultValue = "zeroq-demo-report", paramLabel = "DIR",
            description = "Report folder (default ${DEFAULT-VALUE}).")
    Path report;

    @Option(names = "--tf32", description = "Allow TF32 tensor cores (sm_80+) for the CUDA backend's convolutions: faster, products "
                    + "rounded to a 10-bit mantissa (about 1e-3 relative); the convolutions --conv puts on cuDNN in cuDNN's TF32 math. "
                    + "Accepted and without effect on the CPU backends. Default: strict FP32.")
    boolean tf32;

    @Mixin
    CommonOptions common;

    /** One row of the demo's table. */
    private record Row(String name, String calibration, double top1, double seconds) {}

    @Override
    public Integer call() {
        byte[] bytes = Bundled.model(modelName);
        String file = modelName + ".onnx";
        OnnxModel m = OnnxImporter.parse(bytes, file);
        String sha = QuantPlan.sha256(bytes);
        Dataset data = Dataset.bundledFashionMnist(limit);
        Models.checkWritable(report.resolve("summary.md"));
        List<Row> rows = new ArrayList<>();
        ZeroQ.Outcome mp4;
        String device;
        try (Backends.Selection sel = Models.backend(common, tf32);
             DistillProgress progress = new DistillProgress(common.json)) {
            Backend b = sel.backend();
            device = b.name();
            progress.stage("zeroq demo: " + modelName + " on " + data.size() + " bundled Fashion-MNIST test images, "
                    + device + " backend; report in " + report.toAbsolutePath());
            rows.add(eval("FP32", "-", Inference.compile(m.graph(), b)::run, data, 0));

            DistillConfig dc = new DistillConfig(32, 1, iters, DistillConfig.Init.UNIFORM, seed);
            QuantizeConfig base = QuantizeConfig.defaults().withDistill(dc);
            ZeroQ z = new ZeroQ(m.graph(), b);
            Distiller.Result[] distilled = new Distiller.Result[1];
            long t0 = System.nanoTime();
            Tensor zeroqImages = z.calibrationImages(base, progress, distilled);
            double distillSeconds = (System.nanoTime() - t0) / 1e9;
            Tensor gaussImages = z.calibrationImages(base.withCalibration(QuantPlan.Calibration.GAUSSIAN, null), progress, new Distiller.Result[1]);

            progress.stage("quantizing: W8A8 (gaussian, zeroq), W4A8, W8A4 (min/max, MSE clipping), W8A8 deploy on the integer engine, MP4/A8");
            QuantizeConfig gauss = base.withCalibration(QuantPlan.Calibration.GAUSSIAN, null);
            rows.add(run("W8A8", "gaussian", z, gauss, gaussImages, null, sha, file, m, b, data, progress));
            rows.add(run("W8A8", "zeroq", z, base, zeroqImages, distilled[0], sha, file, m, b, data, progress));
            rows.add(run("W4A8", "zeroq", z, base.withBits(4, 8), zeroqImages, distilled[0], sha, file, m, b, data, progress));
            // 4-bit activations are where min/max ranges collapse and clipping earns its keep.
            rows.add(run("W8A4", "zeroq", z, base.withBits(8, 4), zeroqImages, distilled[0], sha, file, m, b, data, progress));
            rows.add(run("W8A4", "zeroq + mse clip", z, base.withBits(8, 4).withClip(ClipMethod.MSE), zeroqImages,
                    distilled[0], sha, file, m, b, data, progress));
            QuantPlan deploy = z.quantize(base.withScheme(QuantPlan.Scheme.DEPLOY), zeroqImages, distilled[0], sha, file,
                    progress).plan();
            rows.add(eval("W8A8 deploy, int8 engine", "zeroq", dev.zeroq.int8.IntegerModel.compile(m.graph(), deploy), data, 0));
            QuantizeConfig mpCfg = base.withMixed(new QuantizeConfig.MixedTarget.AverageBits(4));
            mp4 = z.quantize(mpCfg, zeroqImages, distilled[0], sha, file, progress);
            try (Simulation sim = new Simulation(m.graph(), mp4.plan(), b)) {
                rows.add(eval("MP4/A8", "zeroq", sim, data, 0));
            }
            Map<String, Double> secs = new LinkedHashMap<>();
            secs.put("distill (" + iters + " iterations, batch 32)", distillSeconds);
            secs.putAll(mp4.seconds());
            mp4 = new ZeroQ.Outcome(mp4.plan(), mp4.calibration(), mp4.distill(), mp4.sensitivity(), mp4.frontier(), secs);
        }
        Map<String, Double> acc = new LinkedHashMap<>();
        for (Row r : rows) {
            acc.put(r.name() + " (" + r.calibration() + ")", r.top1());
        }
        List<Path> files = QuantReport.write(report, file + " (MP4/A8 plan)", mp4, acc);
        mp4.plan().write(report.resolve("mp4a8.plan.json"));
        if (common.json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("model", modelName);
            o.put("images", data.size());
            o.put("device", device);
            List<Map<String, Object>> r = new ArrayList<>();
            for (Row row : rows) {
                r.add(Map.of("precision", row.name(), "calibration", row.calibration(), "top1", row.top1()));
            }
            o.put("results", r);
            o.put("report", report.toString());
            Output.json(System.out, o);
            return 0;
        }
        System.out.printf("%nzeroq demo: %s, %d bundled Fashion-MNIST test images, %s backend%n%n", modelName, data.size(), device);
        Output.Table t = new Output.Table("precision", "calibration", "top-1");
        for (Row r : rows) {
            t.row(r.name(), r.calibration(), String.format("%.2f %%", 100 * r.top1()));
        }
        t.print(System.out);
        System.out.printf("%nreport: %s (%d files), MP4/A8 plan: %s%n", report.toAbsolutePath(), files.size(),
                report.resolve("mp4a8.plan.json"));
        return 0;
    }

    private Row run(String name, String calib, ZeroQ z, QuantizeConfig cfg, Tensor images, Distiller.Result distilled,
                    String sha, String file, OnnxModel m, Backend b, Dataset data, ZeroQ.Listener progress) {
        ZeroQ.Outcome o = z.quantize(cfg, images, distilled, sha, file, progress);
        try (Simulation sim = new Simulation(m.graph(), o.plan(), b)) {
            return eval(name, calib, sim, data, 0);
        }
    }

    private static Row eval(String name, String calib, UnaryOperator<Tensor> f, Dataset data, double seconds) {
        long t0 = System.nanoTime();
        Accuracy.Top1 r = Accuracy.top1(f, data.images(), data.labels(), 100, n -> { });
        return new Row(name, calib, r.top1(), seconds + (System.nanoTime() - t0) / 1e9);
    }
}
