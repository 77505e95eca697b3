// Where the device int8 engine's time goes: CudaIntegerModel.profile on a deploy plan, a CUDA event between every two
// launches; prints each launch's median (largest first), the totals per kernel, and the whole run timed without the
// in-between events for comparison. With --ab 1, first the same whole run on the chain-kernel epilogue
// (CudaIntegerModel.EPILOGUE_PROPERTY = chain) and on the lean one, in this process, one after the other, with whether
// their logits are bit-identical (they must be).
// Usage: java -cp bundle/zeroq.jar:bundle/test-classes dev.zeroq.bench.Int8ProfileBench MODEL.onnx PLAN.json
//        [--batch 128] [--warmup 10] [--iters 20] [--top 30] [--ab 0|1]
package dev.zeroq.bench;

import dev.zeroq.backend.cuda.CudaAvailability;
import dev.zeroq.backend.cuda.CudaIntegerModel;
import dev.zeroq.int8.IntegerModel;
import dev.zeroq.onnx.OnnxImporter;
import dev.zeroq.onnx.OnnxModel;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.tensor.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

public final class Int8ProfileBench {
    private Int8ProfileBench() {}

    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println("usage: Int8ProfileBench MODEL.onnx PLAN.json [--batch 128] [--warmup 10] [--iters 20] [--top 30] [--ab 0|1]");
            System.exit(2);
        }
        int batch = 128, warmup = 10, iters = 20, top = 30;
        boolean ab = false;
        for (int i = 2; i + 1 < args.length; i += 2) {
            int v = Integer.parseInt(args[i + 1]);
            switch (args[i]) {
                case "--batch" -> batch = v;
                case "--warmup" -> warmup = v;
                case "--iters" -> iters = v;
                case "--top" -> top = v;
                case "--ab" -> ab = v != 0;
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        CudaAvailability a = CudaAvailability.probe();
        if (!a.usable()) {
            System.out.println("Int8ProfileBench: CUDA unavailable: " + a.reason());
            System.exit(1);
        }
        OnnxModel model = OnnxImporter.load(Path.of(args[0]));
        QuantPlan plan = QuantPlan.read(Path.of(args[1]));
        Tensor x = Bench.input(batch, model.graph().inputShape(), 20261126L);
        IntegerModel engine = IntegerModel.compile(model.graph(), plan); // compiled once for every device engine below
        if (ab) {
            double[] ms = new double[2];
            Tensor[] logits = new Tensor[2];
            String[] epilogues = {"chain", "lean"};
            for (int i = 0; i < 2; i++) {
                System.setProperty(CudaIntegerModel.EPILOGUE_PROPERTY, epilogues[i]);
                try (CudaIntegerModel m = new CudaIntegerModel(engine, batch, 0)) {
                    ms[i] = median(m.time(x, warmup, iters));
                    logits[i] = m.apply(x);
                }
            }
            System.clearProperty(CudaIntegerModel.EPILOGUE_PROPERTY);
            System.out.printf("PROFILE-AB batch=%d chain_ms=%.4f lean_ms=%.4f lean_speedup=%.2fx logits_identical=%s%n",
                    batch, ms[0], ms[1], ms[0] / ms[1], Arrays.equals(logits[0].data(), logits[1].data()));
        }
        try (CudaIntegerModel m = new CudaIntegerModel(engine, batch, 0)) {
            double whole = median(m.time(x, warmup, iters));
            List<CudaIntegerModel.StepTime> steps = new ArrayList<>(m.profile(x, warmup, iters));
            double sum = steps.stream().mapToDouble(CudaIntegerModel.StepTime::medianMs).sum();
            System.out.printf("PROFILE-TOTAL batch=%d launches=%d whole_run_ms=%.4f sum_of_steps_ms=%.4f device=\"%s\"%n",
                    batch, steps.size(), whole, sum, m.describe());
            Map<String, double[]> kinds = new TreeMap<>();
            for (CudaIntegerModel.StepTime s : steps) {
                double[] k = kinds.computeIfAbsent(s.label().split(" ", 2)[0], n -> new double[2]);
                k[0] += s.medianMs();
                k[1]++;
            }
            kinds.entrySet().stream().sorted(Comparator.comparingDouble(e -> -e.getValue()[0])).forEach(e ->
                    System.out.printf("PROFILE-KIND kernel=%s launches=%d ms=%.4f pct=%.1f%n", e.getKey(),
                            (int) e.getValue()[1], e.getValue()[0], 100 * e.getValue()[0] / sum));
            steps.sort(Comparator.comparingDouble(s -> -s.medianMs()));
            for (int i = 0; i < Math.min(top, steps.size()); i++) {
                CudaIntegerModel.StepTime s = steps.get(i);
                System.out.printf("PROFILE %2d ms=%.4f pct=%.1f %s%n", i + 1, s.medianMs(), 100 * s.medianMs() / sum, s.label());
            }
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return Bench.percentile(s, 50);
    }
}
