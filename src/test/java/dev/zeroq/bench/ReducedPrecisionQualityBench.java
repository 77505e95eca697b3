// What TF32 or BF16 convolutions would do to ZeroQ's result, measured on the CPU: the bundled model's pipeline (as
// `zeroq demo`: distillation, W8A8 with the distilled calibration, MP4/A8 from the sensitivity table and the Pareto
// frontier) with the convolutions' operands rounded to TF32 or BF16 (ReducedPrecisionBackend) during distillation
// only, or during distillation, calibration and sensitivity, against strict FP32. Every quantized model is evaluated
// in strict FP32 on the bundled test images. Prints one RESULT line per variant.
// Usage: java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes:CP
//        dev.zeroq.bench.ReducedPrecisionQualityBench [--model resnet_fmnist] [--iters 500] [--limit 2000] [--seed 0]
//        [--variants strict,tf32-distill,tf32-all,tf32t-distill,tf32t-all,bf16-distill,bf16-all]
//        (tf32: operands rounded to nearest as zeroq's TF32 kernels do; tf32t: truncated, as tensor cores read raw FP32)
//    or, for a model without test images (sensitivity and the MP4/A8 choice only, on Gaussian images, no distillation):
//        ... ReducedPrecisionQualityBench --onnx MODEL.onnx [--batch 4] [--seed 0] [--variants strict,tf32-all,...]
package dev.zeroq.bench;

import dev.zeroq.backend.Backend;
import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.distill.DistillConfig;
import dev.zeroq.distill.Distiller;
import dev.zeroq.eval.Accuracy;
import dev.zeroq.io.Bundled;
import dev.zeroq.io.Dataset;
import dev.zeroq.onnx.OnnxImporter;
import dev.zeroq.onnx.OnnxModel;
import dev.zeroq.pipeline.QuantizeConfig;
import dev.zeroq.pipeline.Simulation;
import dev.zeroq.pipeline.ZeroQ;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

public final class ReducedPrecisionQualityBench {
    private ReducedPrecisionQualityBench() {}

    /** One variant's outcome. */
    private record Outcome(String name, double firstLoss, double finalLoss, double w8a8, double mp4, QuantPlan mp4Plan,
                           ZeroQ.SensitivityTable table, double seconds) {}

    public static void main(String[] args) {
        String modelName = "resnet_fmnist", onnx = null;
        int iters = 500, limit = 2000, batch = 4;
        long seed = 0;
        List<String> variants = List.of("strict", "tf32-distill", "tf32-all", "bf16-distill", "bf16-all");
        for (int i = 0; i + 1 < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--model" -> modelName = v;
                case "--iters" -> iters = Integer.parseInt(v);
                case "--limit" -> limit = Integer.parseInt(v);
                case "--seed" -> seed = Long.parseLong(v);
                case "--variants" -> variants = List.of(v.split(","));
                case "--onnx" -> onnx = v;
                case "--batch" -> batch = Integer.parseInt(v);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (!variants.getFirst().equals("strict")) throw new IllegalArgumentException("--variants must start with strict");
        if (onnx != null) {
            sensitivityOnly(java.nio.file.Path.of(onnx), variants, batch, seed);
            return;
        }
        byte[] bytes = Bundled.model(modelName);
        String file = modelName + ".onnx";
        OnnxModel m = OnnxImporter.parse(bytes, file);
        String sha = QuantPlan.sha256(bytes);
        Dataset data = Dataset.bundledFashionMnist(limit);
        Backend strict = new CpuBackend();
        System.out.printf("ReducedPrecisionQualityBench %s: %d test images, distillation batch 32 × %d iterations, seed %d, "
                + "backend %s%n", modelName, data.size(), iters, seed, strict.name());
        List<Outcome> out = new ArrayList<>();
        for (String v : variants) {
            Backend distill = backend(v, strict);
            Backend rest = v.endsWith("-all") ? distill : strict;
            out.add(run(v, m, sha, file, data, distill, rest, strict, iters, seed));
            Outcome o = out.getLast(), base = out.getFirst();
            System.out.printf(Locale.ROOT, "RESULT model=%s variant=%s first_loss=%.6g final_loss=%.6g w8a8_top1=%.2f "
                            + "mp4a8_top1=%.2f mp4_bits_changed=%d sensitivity_spearman=%.4f sensitivity_max_rel=%.3g seconds=%.1f%n",
                    modelName, v, o.firstLoss(), o.finalLoss(), 100 * o.w8a8(), 100 * o.mp4(),
                    bitsChanged(base.mp4Plan(), o.mp4Plan()), spearman(flat(base.table()), flat(o.table())),
                    maxRelative(flat(base.table()), flat(o.table())), o.seconds());
        }
    }

    /** The variants' sensitivity tables and MP4/A8 choices for {@code batch} Gaussian images, against strict FP32's. */
    private static void sensitivityOnly(java.nio.file.Path model, List<String> variants, int batch, long seed) {
        byte[] bytes;
        try {
            bytes = java.nio.file.Files.readAllBytes(model);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        String file = model.getFileName().toString();
        OnnxModel m = OnnxImporter.parse(bytes, file);
        String sha = QuantPlan.sha256(bytes);
        Backend strict = new CpuBackend();
        Tensor images = Distiller.initialBatch(m.graph().inputShape(), batch, DistillConfig.Init.GAUSSIAN, seed);
        QuantizeConfig cfg = QuantizeConfig.defaults().withCalibration(QuantPlan.Calibration.GAUSSIAN, null)
                .withMixed(new QuantizeConfig.MixedTarget.AverageBits(4));
        System.out.printf("ReducedPrecisionQualityBench %s: sensitivity and MP4/A8 on %d Gaussian images, seed %d, backend %s%n",
                file, batch, seed, strict.name());
        ZeroQ.Outcome base = null;
        for (String v : variants) {
            long t0 = System.nanoTime();
            if (v.endsWith("-distill")) {
                throw new IllegalArgumentException("variant " + v + " needs distillation; with --onnx use strict, "
                        + "tf32-all, tf32t-all or bf16-all");
            }
            Backend b = backend(v, strict);
            ZeroQ.Outcome o = new ZeroQ(m.graph(), b).quantize(cfg, images, null, sha, file, ZeroQ.Listener.NONE);
            if (base == null) base = o;
            System.out.printf(Locale.ROOT, "RESULT model=%s variant=%s layers=%d mp4_bits_changed=%d sensitivity_spearman=%.4f "
                            + "sensitivity_max_rel=%.3g seconds=%.1f%n", file, v, o.plan().layers().size(),
                    bitsChanged(base.plan(), o.plan()), spearman(flat(base.sensitivity()), flat(o.sensitivity())),
                    maxRelative(flat(base.sensitivity()), flat(o.sensitivity())), (System.nanoTime() - t0) / 1e9);
        }
    }

    /** The backend of a variant's reduced-precision stages: strict's, or its convolutions' operands rounded. */
    private static Backend backend(String variant, Backend strict) {
        return switch (variant) {
            case "strict" -> strict;
            case "tf32-distill", "tf32-all" -> new ReducedPrecisionBackend(strict, ReducedPrecisionBackend.Format.TF32);
            case "tf32t-distill", "tf32t-all" -> new ReducedPrecisionBackend(strict, ReducedPrecisionBackend.Format.TF32_TRUNCATED);
            case "bf16-distill", "bf16-all" -> new ReducedPrecisionBackend(strict, ReducedPrecisionBackend.Format.BF16);
            default -> throw new IllegalArgumentException("unknown variant " + variant);
        };
    }

    private static Outcome run(String name, OnnxModel m, String sha, String file, Dataset data, Backend distill,
                               Backend rest, Backend strict, int iters, long seed) {
        long t0 = System.nanoTime();
        QuantizeConfig base = QuantizeConfig.defaults().withDistill(new DistillConfig(32, 1, iters, DistillConfig.Init.UNIFORM, seed));
        Distiller.Result[] distilled = new Distiller.Result[1];
        Tensor images = new ZeroQ(m.graph(), distill).calibrationImages(base, ZeroQ.Listener.NONE, distilled);
        ZeroQ z = new ZeroQ(m.graph(), rest);
        QuantPlan w8a8 = z.quantize(base, images, distilled[0], sha, file, ZeroQ.Listener.NONE).plan();
        ZeroQ.Outcome mp4 = z.quantize(base.withMixed(new QuantizeConfig.MixedTarget.AverageBits(4)), images, distilled[0],
                sha, file, ZeroQ.Listener.NONE);
        double[] curve = distilled[0].lossCurves()[0];
        return new Outcome(name, curve[0], curve[curve.length - 1], top1(m, w8a8, strict, data), top1(m, mp4.plan(), strict, data),
                mp4.plan(), mp4.sensitivity(), (System.nanoTime() - t0) / 1e9);
    }

    private static double top1(OnnxModel m, QuantPlan plan, Backend b, Dataset data) {
        try (Simulation sim = new Simulation(m.graph(), plan, b)) {
            return Accuracy.top1(sim, data.images(), data.labels(), 100, n -> { }).top1();
        }
    }

    /** Layers whose weight bits differ between two plans of the same model. */
    private static int bitsChanged(QuantPlan a, QuantPlan b) {
        int n = 0;
        for (int i = 0; i < a.layers().size(); i++) {
            if (a.layers().get(i).weightBits() != b.layers().get(i).weightBits()) n++;
        }
        return n;
    }

    private static double[] flat(ZeroQ.SensitivityTable t) {
        return Arrays.stream(t.omega()).flatMapToDouble(Arrays::stream).toArray();
    }

    private static double maxRelative(double[] a, double[] b) {
        double worst = 0;
        for (int i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(a[i]), 1e-30));
        return worst;
    }

    /** Spearman's rank correlation (ties get their mean rank). */
    static double spearman(double[] a, double[] b) {
        double[] ra = ranks(a), rb = ranks(b);
        double ma = Arrays.stream(ra).average().orElse(0), mb = Arrays.stream(rb).average().orElse(0);
        double sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < a.length; i++) {
            sab += (ra[i] - ma) * (rb[i] - mb);
            saa += (ra[i] - ma) * (ra[i] - ma);
            sbb += (rb[i] - mb) * (rb[i] - mb);
        }
        return saa == 0 || sbb == 0 ? (Arrays.equals(a, b) ? 1 : 0) : sab / Math.sqrt(saa * sbb);
    }

    private static double[] ranks(double[] v) {
        Integer[] idx = new Integer[v.length];
        for (int i = 0; i < v.length; i++) idx[i] = i;
        Arrays.sort(idx, (x, y) -> Double.compare(v[x], v[y]));
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; ) {
            int j = i;
            while (j + 1 < v.length && v[idx[j + 1]] == v[idx[i]]) j++;
            for (int k = i; k <= j; k++) r[idx[k]] = (i + j) / 2.0;
            i = j + 1;
        }
        return r;
    }
}
