package dev.zeroq.cli;

import dev.zeroq.eval.Accuracy;
import dev.zeroq.graph.Executor;
import dev.zeroq.io.Bundled;
import dev.zeroq.io.Dataset;
import dev.zeroq.onnx.OnnxImporter;
import dev.zeroq.onnx.OnnxModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code zeroq demo}: the pipeline on the bundled model and images, no arguments needed. */
@Command(name = "demo", description = "Run zeroq on the bundled Fashion-MNIST model and images (no arguments needed).")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--model", defaultValue = "resnet_fmnist",
            description = "Bundled model: resnet_fmnist or mobilenet_fmnist (default ${DEFAULT-VALUE}).")
    String modelName;

    @Option(names = "--limit", defaultValue = "2000", description = "Bundled images to evaluate on (default ${DEFAULT-VALUE}).")
    int limit;

    @Mixin
    CommonOptions common;

    @Override
    public Integer call() {
        OnnxModel m = OnnxImporter.parse(Bundled.model(modelName), modelName + ".onnx");
        Dataset data = Dataset.bundledFashionMnist(limit);
        Executor exec = new Executor(m.graph(), Models.backend(common).backend());
        long t0 = System.nanoTime();
        Accuracy.Top1 fp32;
        try (Progress p = Progress.start("FP32 eval", data.labels().length, 1000, "img")) {
            fp32 = Accuracy.top1(exec, data.images(), data.labels(), 64, p::stepTo);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        if (common.json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("model", modelName);
            o.put("images", fp32.total());
            o.put("fp32", Map.of("top1", fp32.top1(), "seconds", secs));
            o.put("device", exec.backend().name());
            Output.json(System.out, o);
            return 0;
        }
        System.out.printf("zeroq demo: %s on %d bundled Fashion-MNIST test images (%s backend)%n%n", modelName,
                fp32.total(), exec.backend().name());
        new Output.Table("precision", "top-1", "time")
                .row("FP32", String.format("%.2f %%", 100 * fp32.top1()), String.format("%.1f s", secs))
                .print(System.out);
        return 0;
    }
}
