package dev.zeroq.cli;

import dev.zeroq.backend.Backends;
import dev.zeroq.onnx.OnnxModel;
import dev.zeroq.pipeline.QuantizeConfig;
import dev.zeroq.pipeline.ZeroQ;
import dev.zeroq.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code zeroq sensitivity MODEL}: the per-layer KL sensitivity table Ω_i(k) on distilled data. */
@Command(name = "sensitivity", description = "Per-layer KL sensitivity of quantizing each layer's weights alone (ZeroQ mixed precision).")
final class SensitivityCommand implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL", description = "ONNX model file.")
    Path model;

    @Mixin
    QuantOptions quant;

    @Mixin
    CommonOptions common;

    @Override
    public Integer call() {
        QuantizeConfig cfg = quant.config(null);
        OnnxModel m = Models.load(model);
        ZeroQ.SensitivityTable t;
        try (Backends.Selection sel = Models.backend(common, quant.distill.tf32);
             DistillProgress progress = new DistillProgress(common.json)) {
            ZeroQ z = new ZeroQ(m.graph(), sel.backend());
            Tensor images = z.calibrationImages(cfg, progress, new dev.zeroq.distill.Distiller.Result[1]);
            t = z.sensitivity(cfg, images, progress);
        }
        if (common.json) {
            List<Map<String, Object>> rows = new ArrayList<>();
            for (int i = 0; i < t.layers().size(); i++) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("layer", t.layers().get(i));
                r.put("parameters", t.parameters()[i]);
                Map<String, Double> omega = new LinkedHashMap<>();
                for (int j = 0; j < t.bits().length; j++) omega.put(String.valueOf(t.bits()[j]), t.omega()[i][j]);
                r.put("omega", omega);
                rows.add(r);
            }
            Output.json(System.out, Map.of("model", model.toString(), "bits", t.bits(), "layers", rows));
            return 0;
        }
        String[] header = new String[2 + t.bits().length];
        header[0] = "layer";
        header[1] = "params";
        for (int j = 0; j < t.bits().length; j++) header[2 + j] = "Ω @ " + t.bits()[j] + " bits";
        Output.Table table = new Output.Table(header);
        for (int i = 0; i < t.layers().size(); i++) {
            Object[] row = new Object[header.length];
            row[0] = t.layers().get(i);
            row[1] = String.format("%,d", t.parameters()[i]);
            for (int j = 0; j < t.bits().length; j++) row[2 + j] = String.format("%.3e", t.omega()[i][j]);
            table.row(row);
        }
        table.print(System.out);
        return 0;
    }
}
