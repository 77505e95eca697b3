package dev.zeroq.bench;

import dev.zeroq.backend.Backend;
import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.distill.DistillConfig;
import dev.zeroq.distill.Distiller;
import dev.zeroq.eval.Accuracy;
import dev.zeroq.graph.Executor;
import dev.zeroq.graph.Graph;
import dev.zeroq.io.Bundled;
import dev.zeroq.io.Dataset;
import dev.zeroq.onnx.OnnxImporter;
import dev.zeroq.pipeline.QuantizeConfig;
import dev.zeroq.pipeline.Simulation;
import dev.zeroq.pipeline.ZeroQ;
import dev.zeroq.quant.ClipMethod;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.tensor.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The README's evidence table: for each bundled model, top-1 on a labelled test set for FP32 and for each
 * quantization setting, with Gaussian, distilled (ZeroQ) and real-data calibration, min/max and clipped
 * ranges; plus the distillation time. One distillation per model is shared by every setting.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp target/test-classes:target/classes:$(cat target/cp.txt) \
 *     dev.zeroq.bench.AblationTable /usr/share/datasets/fashion-mnist [iters] [limit] [W8A8,W6A6,W4A8,MP4/A8,W8A4,W4A4]</pre>
 */
public final class AblationTable {
    public static void main(String[] args) {
        Path dir = Path.of(args.length > 0 ? args[0] : "/usr/share/datasets/fashion-mnist");
        int iters = args.length > 1 ? Integer.parseInt(args[1]) : 500;
        int limit = args.length > 2 ? Integer.parseInt(args[2]) : 10_000;
        // Optional 4th argument: which settings to run, e.g. "W8A4,W4A4" (default: W8A8,W6A6,W4A8,MP4/A8).
        List<String> wanted = List.of((args.length > 3 ? args[3] : "W8A8,W6A6,W4A8,MP4/A8").split(","));
        Dataset test = Dataset.load(dir.resolve("t10k-images-idx3-ubyte.gz"), dir.resolve("t10k-labels-idx1-ubyte.gz"),
                Dataset.FASHION_MNIST_MEAN, Dataset.FASHION_MNIST_STD, limit);
        // Real-data calibration takes training images, never the test images it is scored on.
        Tensor real = Dataset.loadImages(dir.resolve("train-images-idx3-ubyte.gz"), Dataset.FASHION_MNIST_MEAN,
                Dataset.FASHION_MNIST_STD, 32);
        Backend cpu = new CpuBackend();
        System.out.printf(Locale.ROOT, "test images: %d from %s; distillation: %d iterations, batch 32; CPU threads %d%n%n",
                test.size(), dir, iters, Runtime.getRuntime().availableProcessors());
        for (String name : Bundled.MODEL_NAMES) {
            byte[] bytes = Bundled.model(name);
            Graph g = OnnxImporter.parse(bytes, name + ".onnx").graph();
            String sha = QuantPlan.sha256(bytes);
            ZeroQ z = new ZeroQ(g, cpu);
            double fp32 = top1(new Executor(g, cpu)::run, test);
            DistillConfig dc = new DistillConfig(32, 1, iters, DistillConfig.Init.UNIFORM, 0);
            long t0 = System.nanoTime();
            Distiller.Result d = new Distiller(g, cpu).distill(dc, it -> { });
            double distillSeconds = (System.nanoTime() - t0) / 1e9;
            Tensor gauss = Distiller.initialBatch(g.inputShape(), 32, DistillConfig.Init.GAUSSIAN, 0);
            QuantizeConfig base = QuantizeConfig.defaults().withDistill(dc);
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"FP32", "-", "-", pct(fp32)});
            record Setting(String label, int w, int a, boolean mixed) {}
            List<Setting> settings = java.util.stream.Stream.of(new Setting("W8A8", 8, 8, false), new Setting("W6A6", 6, 6, false),
                    new Setting("W4A8", 4, 8, false), new Setting("MP4/A8", 8, 8, true), new Setting("W8A4", 8, 4, false),
                    new Setting("W4A4", 4, 4, false)).filter(s -> wanted.contains(s.label())).toList();
            for (Setting s : settings) {
                for (ClipMethod clip : List.of(ClipMethod.MINMAX, ClipMethod.PERCENTILE, ClipMethod.MSE)) {
                    QuantizeConfig c = base.withBits(s.w(), s.a()).withClip(clip);
                    if (s.mixed()) c = c.withMixed(new QuantizeConfig.MixedTarget.AverageBits(4));
                    boolean all = s.w() == 8 && s.a() == 8 && !s.mixed() || clip == ClipMethod.MINMAX || s.a() == 4;
                    String[] sources = all ? new String[] {"gaussian", "zeroq", "data"} : new String[] {"zeroq", "data"};
                    for (String src : sources) {
                        Tensor images = switch (src) {
                            case "gaussian" -> gauss;
                            case "data" -> real;
                            default -> d.images();
                        };
                        QuantPlan plan = z.quantize(c, images, src.equals("zeroq") ? d : null, sha, name, ZeroQ.Listener.NONE).plan();
                        rows.add(new String[] {s.label(), src, clip.cliName(), pct(top1(new Simulation(g, plan, cpu), test))});
                    }
                }
            }
            System.out.printf(Locale.ROOT, "### %s (FP32 %.2f %%; distillation %.1f s for %d iterations at batch 32, loss %.4g → %.4g)%n%n",
                    name, 100 * fp32, distillSeconds, iters, d.lossCurves()[0][0], d.finalLoss(0));
            System.out.println("| setting | calibration | clip | top-1 |");
            System.out.println("|---|---|---|---|");
            for (String[] r : rows) {
                System.out.println("| " + String.join(" | ", r) + " |");
            }
            System.out.println();
        }
    }

    private static double top1(java.util.function.UnaryOperator<Tensor> f, Dataset d) {
        return Accuracy.top1(f, d.images(), d.labels(), 250, n -> { }).top1();
    }

    private static String pct(double v) {
        return String.format(Locale.ROOT, "%.2f %%", 100 * v);
    }
}
