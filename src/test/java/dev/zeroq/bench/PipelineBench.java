// Times the whole ZeroQ pipeline on an ONNX model: distillation, sensitivity at 2/4/8 bits with the Pareto choice
// (MP4 weights, A8, paper scheme), weight quantization and activation calibration; one line per stage, then a total.
// Usage: java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp bundle/zeroq.jar:bundle/test-classes
//        dev.zeroq.bench.PipelineBench MODEL.onnx [--device cuda|cpu|ref] [--iters 500] [--batch 32] [--seed 0] [--tf32 on|off]
//        [--conv auto|zeroq|cudnn]   (which kernels run the distillation's convolutions, as `zeroq quantize --conv`)
//        (--tf32 on: the CUDA backend's TF32 convolutions, as `zeroq quantize --tf32`; no effect on the CPU)
package dev.zeroq.bench;

import dev.zeroq.backend.Backends;
import dev.zeroq.distill.DistillConfig;
import dev.zeroq.graph.Graph;
import dev.zeroq.onnx.OnnxImporter;
import dev.zeroq.pipeline.QuantizeConfig;
import dev.zeroq.pipeline.ZeroQ;
import dev.zeroq.quant.QuantPlan;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

public final class PipelineBench {
    private PipelineBench() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: PipelineBench MODEL.onnx [--device cuda|cpu|ref] [--iters 500] [--batch 32] [--seed 0]"
                    + " [--tf32 on|off] [--conv auto|zeroq|cudnn]");
            System.exit(2);
        }
        Path model = Path.of(args[0]);
        String device = "cuda";
        int iters = 500, batch = 32;
        long seed = 0;
        boolean tf32 = false;
        var conv = dev.zeroq.backend.cuda.CudaBackend.ConvKernels.AUTO;
        for (int i = 1; i + 1 < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--device" -> device = v;
                case "--iters" -> iters = Integer.parseInt(v);
                case "--batch" -> batch = Integer.parseInt(v);
                case "--seed" -> seed = Long.parseLong(v);
                case "--tf32" -> tf32 = v.equals("on");
                case "--conv" -> conv = dev.zeroq.backend.cuda.CudaBackend.ConvKernels.valueOf(v.toUpperCase(java.util.Locale.ROOT));
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        long t0 = System.nanoTime();
        byte[] bytes = Files.readAllBytes(model);
        Graph g = OnnxImporter.parse(bytes, model.getFileName().toString()).graph();
        double loadSeconds = (System.nanoTime() - t0) / 1e9;
        QuantizeConfig cfg = QuantizeConfig.defaults()
                .withMixed(new QuantizeConfig.MixedTarget.AverageBits(4))
                .withDistill(new DistillConfig(batch, 1, iters, DistillConfig.Init.UNIFORM, seed));
        try (Backends.Selection sel = Backends.select(device, conv, tf32)) {
            System.out.printf("PipelineBench %s: %d nodes, %.1f M parameters, batch %d, %d iterations, seed %d, tf32 %s, conv %s, backend %s%s%n",
                    model.getFileName(), g.nodes().size(), g.parameterCount() / 1e6, batch, iters, seed, tf32 ? "on" : "off",
                    conv.name().toLowerCase(java.util.Locale.ROOT),
                    sel.backend().name(),
                    sel.note() == null ? "" : " (" + sel.note() + ")");
            ZeroQ.Listener log = new ZeroQ.Listener() {
                @Override
                public void stage(String description) {
                    System.out.println("  " + description);
                    // Where the distillation's setup and the sensitivity stage spend their time, one greppable line each.
                    int setup = description.indexOf("; setup ");
                    if (description.startsWith("distilling on") && setup >= 0) {
                        System.out.println("DETAIL distill " + description.substring(setup + 2, description.length() - 1));
                    } else if (description.startsWith("sensitivity took ")) {
                        System.out.println("DETAIL sensitivity " + description.substring("sensitivity took ".length()));
                    }
                }
            };
            long t1 = System.nanoTime();
            // As `zeroq quantize`: the model's hash is computed on another thread while the pipeline runs.
            ZeroQ.Outcome o = new ZeroQ(g, sel.backend()).quantize(cfg, QuantPlan.sha256Async(model),
                    model.getFileName().toString(), log);
            double quantizeSeconds = (System.nanoTime() - t1) / 1e9;
            System.out.printf("STAGE load s=%.3f%n", loadSeconds);
            double staged = 0;
            for (Map.Entry<String, Double> e : o.seconds().entrySet()) {
                staged += e.getValue();
                String extra = "";
                if (e.getKey().equals("distill")) {
                    extra = String.format(" it/s=%.1f", iters / e.getValue());
                } else if (e.getKey().equals("sensitivity")) {
                    int passes = o.sensitivity().layers().size() * o.sensitivity().bits().length + 1;
                    extra = String.format(" passes=%d images/s=%.0f", passes, (double) passes * batch / e.getValue());
                }
                System.out.printf("STAGE %s s=%.3f%s%n", e.getKey().replace(' ', '_'), e.getValue(), extra);
            }
            // What the stage timers do not cover: the Pareto frontier and choice, and building the plan.
            System.out.printf("STAGE pareto+plan s=%.3f%n", Math.max(0, quantizeSeconds - staged));
            QuantPlan.MixedPrecision mp = o.plan().mixedPrecision();
            System.out.printf("PLAN layers=%d frontier=%d avg_bits=%.3f%n", o.plan().layers().size(),
                    o.frontier().points().size(), mp == null ? cfg.weightBits()
                            : (double) mp.chosenSizeBits() / java.util.Arrays.stream(o.sensitivity().parameters()).sum());
            System.out.printf("RESULT pipeline model=%s device=%s tf32=%s batch=%d iters=%d total_s=%.3f%n", model.getFileName(),
                    sel.backend().name(), tf32 ? "on" : "off", batch, iters, loadSeconds + quantizeSeconds);
        }
    }
}
