package dev.zeroq.cli;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.Backend;
import dev.zeroq.bench.Bench;
import dev.zeroq.graph.Inference;
import dev.zeroq.int8.Int8Kernels;
import dev.zeroq.int8.IntegerModel;
import dev.zeroq.onnx.OnnxModel;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;

/**
 * {@code zeroq bench MODEL [--plan PLAN.json] [--batch 1,32] [--precision fp32,int8]}: FP32 against int8
 * latency and throughput on this machine.
 */
@Command(name = "bench", description = "Latency (p50, p99) and throughput of FP32 and int8 inference at batch sizes.")
final class BenchCommand implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL", description = "ONNX model file (a QDQ model carries its own int8 plan).")
    Path model;

    @Option(names = "--plan", paramLabel = "PLAN.json", description = "Deploy-scheme plan for int8 (zeroq quantize --scheme deploy).")
    Path plan;

    @Option(names = "--batch", split = ",", defaultValue = "1,32", paramLabel = "N[,N…]",
            description = "Batch sizes (default ${DEFAULT-VALUE}).")
    List<Integer> batches;

    @Option(names = "--precision", split = ",", defaultValue = "fp32,int8", paramLabel = "P[,P…]",
            description = "fp32, int8 or both (default ${DEFAULT-VALUE}).")
    List<String> precisions;

    @Option(names = "--seconds", defaultValue = "2", description = "Measure each point for at least this long (default ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the random input batch (default ${DEFAULT-VALUE}).")
    long seed;

    @Mixin
    CommonOptions common;

    @Override
    public Integer call() {
        for (String p : precisions) {
            if (!p.equals("fp32") && !p.equals("int8")) {
                throw ZeroqException.badInput("unknown --precision '" + p + "': use fp32, int8 or fp32,int8");
            }
        }
        OnnxModel m = Models.load(model);
        QuantPlan qp = plan != null ? Models.plan(plan, model) : m.qdqPlan();
        if (precisions.contains("int8") && qp == null) {
            throw ZeroqException.badInput("int8 needs a deploy plan: give --plan PLAN.json (from zeroq quantize --scheme "
                    + "deploy), or use --precision fp32");
        }
        Backend backend = Models.backend(common).backend();
        Map<String, UnaryOperator<Tensor>> fns = new LinkedHashMap<>();
        if (precisions.contains("fp32")) {
            Inference exec = Inference.compile(m.graph(), backend);
            fns.put("fp32", exec::run);
        }
        if (precisions.contains("int8")) {
            fns.put("int8", IntegerModel.compile(m.graph(), qp, backend, Int8Kernels.vector()));
        }
        int[] bs = batches.stream().mapToInt(Integer::intValue).toArray();
        Bench.Settings s = new Bench.Settings(1.0, 3, seconds, 10);
        Bench.Report r = Bench.run(model.getFileName().toString(), backend.name(), fns, bs, m.graph().inputShape(), seed, s);
        if (common.json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("model", model.toString());
            o.put("device", r.device());
            o.put("machine", r.machine());
            o.put("results", r.results());
            o.put("speedups", r.speedups());
            Output.json(System.out, o);
            return 0;
        }
        Bench.Machine mc = r.machine();
        System.out.printf("%s on %s (%d cores), %s, fp32 backend %s%n", r.model(), mc.cpu(), mc.cores(), mc.jvm(), r.device());
        Output.Table t = new Output.Table("precision", "batch", "samples", "p50 ms", "p99 ms", "images/s");
        for (Bench.Result x : r.results()) {
            t.row(x.precision(), x.batch(), x.samples(), fmt(x.p50Ms()), fmt(x.p99Ms()), fmt(x.imagesPerSecond()));
        }
        t.print(System.out);
        for (Bench.Speedup sp : r.speedups()) {
            System.out.printf("batch %d: int8 %.2fx faster than fp32 (p50 %.3f ms vs %.3f ms)%n", sp.batch(), sp.speedup(),
                    sp.int8P50Ms(), sp.fp32P50Ms());
        }
        return 0;
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, v >= 100 ? "%.1f" : "%.3f", v);
    }
}
