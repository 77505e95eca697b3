package dev.zeroq.cli;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.Backend;
import dev.zeroq.backend.Backends;
import dev.zeroq.backend.cuda.CudaBackend;
import dev.zeroq.bench.Bench;
import dev.zeroq.bench.CudaBench;
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

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;

/**
 * {@code zeroq bench MODEL [--plan PLAN.json] [--device cpu|cuda|auto] [--batch 1,32] [--precision fp32,int8]}: FP32
 * against int8 latency and throughput. On CUDA the device-resident engines, timed with CUDA events
 * ({@link CudaBench}); on the CPU the FP32 inference pass and the Vector API integer engine, timed by the host clock
 * ({@link Bench}). An explicit {@code --device cuda} without a usable GPU is an error (measuring the CPU instead would
 * answer another question); {@code auto} falls back to the CPU with one INFO line.
 */
@Command(name = "bench", description = "Latency (p50, p99) and throughput of FP32 and int8 inference at batch sizes "
        + "(on CUDA: CUDA events, int8 TOPS against the card's nominal peak).")
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
        if (!(seconds >= 0)) throw ZeroqException.badInput("--seconds must be >= 0, got " + seconds);
        int[] bs = batches.stream().mapToInt(Integer::intValue).toArray();
        // The device first: an explicit --device cuda without a usable GPU fails here, before the model loads.
        Backends.Choice choice = Backends.choose(common.device);
        if (choice.note() != null) Output.info(choice.note());
        OnnxModel m = Models.load(model);
        QuantPlan qp = plan != null ? Models.plan(plan, model) : m.qdqPlan();
        if (precisions.contains("int8") && qp == null) {
            throw ZeroqException.badInput("int8 needs a deploy plan: give --plan PLAN.json (from zeroq quantize --scheme "
                    + "deploy), or use --precision fp32");
        }
        String name = model.getFileName().toString();
        Bench.Report r;
        if (choice.isCuda()) {
            if (common.conv == CudaBackend.ConvKernels.CUDNN) {
                throw ZeroqException.badInput("zeroq bench on CUDA times zeroq's own kernels; --conv " 
                        + common.conv.name().toLowerCase(Locale.ROOT) + " is not supported here");
            }
            r = CudaBench.run(name, m.graph(), qp, precisions, bs, seed, CudaBench.Settings.of(seconds), choice.ordinal());
        } else {
            try (Backends.Selection sel = Backends.select(choice.backend(), common.conv)) {
                Backend backend = sel.backend();
                Map<String, UnaryOperator<Tensor>> fns = new LinkedHashMap<>();
                Map<String, Long> ops = new LinkedHashMap<>();
                if (precisions.contains("fp32")) {
                    Inference exec = Inference.compile(m.graph(), backend);
                    fns.put("fp32", exec::run);
                }
                if (precisions.contains("int8")) {
                    IntegerModel engine = IntegerModel.compile(m.graph(), qp, backend, Int8Kernels.vector());
                    fns.put("int8", engine);
                    ops.put("int8", Math.multiplyExact(2L, engine.integerMacsPerImage()));
                }
                r = Bench.run(name, backend.name(), fns, bs, m.graph().inputShape(), seed,
                        new Bench.Settings(1.0, 3, seconds, 10), ops);
            }
        }
        if (common.json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("model", model.toString());
            o.put("device", r.device());
            o.put("timing", r.timing());
            o.put("machine", r.machine());
            o.put("gpu", r.gpu());
            o.put("results", r.results());
            o.put("speedups", r.speedups());
            o.put("int8Check", r.check());
            o.put("notes", r.notes());
            Output.json(System.out, o);
        } else {
            print(r, System.out);
        }
        if (r.check() != null && !r.check().passed()) {
            System.err.println("zeroq: error: the device int8 engine's top-1 class differs from the CPU integer engine's on "
                    + (r.check().images() - r.check().top1Same()) + " of " + r.check().images() + " image(s): its timings "
                    + "are of a wrong engine");
            return Main.EXIT_INTERNAL;
        }
        return 0;
    }

    /** The human report (what --json replaces). */
    static void print(Bench.Report r, PrintStream out) {
        Bench.Machine mc = r.machine();
        Bench.Gpu g = r.gpu();
        if (g == null) {
            out.printf("%s on %s (%d cores), %s, %s, fp32 backend %s%n", r.model(), mc.cpu(), mc.cores(), mc.jvm(),
                    mc.os(), r.device());
        } else {
            out.printf("%s on %s: %s (%s, %d SMs at %d MHz, %.1f GiB), driver %s; host %s (%d cores), %s%n", r.model(),
                    g.device(), g.name(), g.arch(), g.multiprocessors(), g.clockMHz(), g.memoryGiB(), g.driver(), mc.cpu(),
                    mc.cores(), mc.jvm());
        }
        out.println("timing: " + r.timing());
        boolean peak = g != null && g.nominalInt8Tops() != null;
        if (g != null) {
            out.println(peak ? String.format(Locale.ROOT, "int8 nominal peak: %.0f TOPS (%s; arithmetic, not measured)",
                    g.nominalInt8Tops(), g.peakBasis()) : "int8 nominal peak: omitted: " + g.peakBasis());
        }
        Output.Table t = peak ? new Output.Table("precision", "batch", "samples", "p50 ms", "p99 ms", "images/s", "TOPS",
                "% of nominal") : new Output.Table("precision", "batch", "samples", "p50 ms", "p99 ms", "images/s", "TOPS");
        for (Bench.Result x : r.results()) {
            String tops = x.tops() == null ? "-" : String.format(Locale.ROOT, x.tops() >= 1 ? "%.1f" : "%.4f", x.tops());
            if (peak) {
                String pct = x.tops() == null ? "-" : String.format(Locale.ROOT, "%.2f", 100 * x.tops() / g.nominalInt8Tops());
                t.row(x.precision(), x.batch(), x.samples(), fmt(x.p50Ms()), fmt(x.p99Ms()), fmt(x.imagesPerSecond()), tops, pct);
            } else {
                t.row(x.precision(), x.batch(), x.samples(), fmt(x.p50Ms()), fmt(x.p99Ms()), fmt(x.imagesPerSecond()), tops);
            }
        }
        t.print(out);
        for (Bench.Speedup sp : r.speedups()) {
            // "0.95x faster" would read as faster: below 1 the line says slower.
            out.printf("batch %d: int8 %.2fx %s fp32 (p50 %.3f ms vs %.3f ms)%n", sp.batch(),
                    sp.speedup() >= 1 ? sp.speedup() : 1 / sp.speedup(), sp.speedup() >= 1 ? "faster than" : "slower than",
                    sp.int8P50Ms(), sp.fp32P50Ms());
        }
        if (r.results().stream().anyMatch(x -> x.tops() != null)) {
            out.println("TOPS = 2 x int8 conv/gemm MACs x batch / p50 (MACs counted from the graph, padding not counted)");
        }
        Bench.Check c = r.check();
        if (c != null) {
            out.printf("int8 check against the CPU integer engine (%d image(s)): %d/%d logits bit-identical, max |diff| "
                    + "%.3g, top-1 same %d/%d: %s%n", c.images(), c.exactLogits(), c.logits(), c.maxAbsDiff(), c.top1Same(),
                    c.images(), c.passed() ? "ok" : "FAILED (the int8 timings are of a wrong engine)");
        }
        for (String n : r.notes()) out.println("note: " + n);
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, v >= 100 ? "%.1f" : "%.3f", v);
    }
}
