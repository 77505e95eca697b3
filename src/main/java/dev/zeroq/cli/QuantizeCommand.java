package dev.zeroq.cli;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.Backends;
import dev.zeroq.onnx.OnnxModel;
import dev.zeroq.pipeline.QuantizeConfig;
import dev.zeroq.pipeline.ZeroQ;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.report.QuantReport;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code zeroq quantize MODEL}: the ZeroQ pipeline, writing a plan (and optionally a report). */
@Command(name = "quantize", description = "Quantize a model data-free (ZeroQ): distill, calibrate, choose bits, write a plan.")
final class QuantizeCommand implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL", description = "ONNX model file.")
    Path model;

    @Mixin
    QuantOptions quant;

    @Option(names = "--mixed", description = "Mixed-precision weights chosen by KL sensitivity and the Pareto frontier (with --avg-bits or --size-mb).")
    boolean mixed;

    @ArgGroup(exclusive = true)
    Target target;

    static final class Target {
        @Option(names = "--avg-bits", paramLabel = "B", description = "Mixed-precision size target: the size of the model at B bits per weight (MP4 = 4).")
        Double avgBits;

        @Option(names = "--size-mb", paramLabel = "S", description = "Mixed-precision size target in MB (10^6 bytes) of weights.")
        Double sizeMb;
    }

    @Option(names = "--out", paramLabel = "PLAN.json", description = "Where to write the plan (default: MODEL.plan.json beside the model).")
    Path out;

    @Option(names = "--report", paramLabel = "DIR", description = "Write PNG plots and a Markdown summary into DIR.")
    Path report;

    @Option(names = "--export", paramLabel = "Q.onnx",
            description = "Also write the quantized model as QDQ ONNX (ONNX Runtime, TensorRT); needs --scheme deploy.")
    Path export;

    @Mixin
    CommonOptions common;

    @Override
    public Integer call() {
        QuantizeConfig.MixedTarget mt = null;
        if (mixed) {
            if (target == null) {
                throw ZeroqException.badInput("--mixed needs a size target: --avg-bits B (e.g. 4 for MP4) or --size-mb S");
            }
            mt = target.avgBits != null ? new QuantizeConfig.MixedTarget.AverageBits(target.avgBits)
                    : new QuantizeConfig.MixedTarget.SizeMb(target.sizeMb);
        } else if (target != null) {
            throw ZeroqException.badInput("--avg-bits and --size-mb need --mixed");
        }
        QuantizeConfig cfg = quant.config(mt);
        if (export != null && cfg.scheme() != QuantPlan.Scheme.DEPLOY) {
            throw ZeroqException.badInput("--export writes what int8 runtimes execute: add --scheme deploy");
        }
        if (export != null) Models.checkWritable(export);
        OnnxModel m = Models.load(model);
        Path planPath = out != null ? out : Models.sibling(model, ".plan.json");
        Models.checkWritable(planPath);
        ZeroQ.Outcome o;
        try (Backends.Selection sel = Models.backend(common, quant.distill.tf32);
             DistillProgress progress = new DistillProgress(common.json)) {
            o = new ZeroQ(m.graph(), sel.backend()).quantize(cfg, QuantPlan.sha256Async(model),
                    model.getFileName().toString(), progress);
        }
        o.plan().write(planPath);
        if (export != null) {
            dev.zeroq.onnx.QdqExporter.export(m.graph(), o.plan(), export);
        }
        List<Path> reportFiles = report == null ? List.of() : QuantReport.write(report, model.getFileName().toString(), o, Map.of());
        print(o, planPath, reportFiles);
        return 0;
    }

    private void print(ZeroQ.Outcome o, Path planPath, List<Path> reportFiles) {
        QuantPlan p = o.plan();
        long params = p.layers().stream().mapToLong(QuantPlan.Layer::parameterCount).sum();
        long bits = p.layers().stream().mapToLong(l -> l.parameterCount() * l.weightBits()).sum();
        if (common.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("model", model.toString());
            j.put("plan", planPath.toString());
            if (export != null) j.put("export", export.toString());
            j.put("scheme", p.scheme().name().toLowerCase());
            j.put("weightLayers", p.layers().size());
            j.put("activations", p.activations().size());
            j.put("weightParameters", params);
            j.put("averageWeightBits", params == 0 ? 0 : (double) bits / params);
            j.put("weightMB", bits / 8e6);
            j.put("seconds", o.seconds());
            if (o.frontier() != null) j.put("frontierPoints", o.frontier().points().size());
            if (!reportFiles.isEmpty()) j.put("report", reportFiles.stream().map(Path::toString).toList());
            Output.json(System.out, j);
            return;
        }
        Output.Table t = new Output.Table("layer", "op", "params", "weight bits");
        for (QuantPlan.Layer l : p.layers()) {
            t.row(l.node(), l.opType(), String.format("%,d", l.parameterCount()), l.weightBits());
        }
        t.print(System.out);
        System.out.printf("%n%d weight layers, %d quantized activations at %d bits; %,d weights at %.2f bits on average = %.4f MB%n",
                p.layers().size(), p.activations().size(), p.activationBits(), params, params == 0 ? 0 : (double) bits / params, bits / 8e6);
        System.out.printf("plan written to %s%n", planPath);
        if (export != null) System.out.printf("QDQ model written to %s%n", export);
        for (Path f : reportFiles) {
            System.out.printf("report: %s%n", f);
        }
    }
}
