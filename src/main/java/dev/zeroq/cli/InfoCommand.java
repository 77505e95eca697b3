package dev.zeroq.cli;

import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.graph.Op;
import dev.zeroq.graph.ShapeInference;
import dev.zeroq.onnx.OnnxModel;
import dev.zeroq.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/** {@code zeroq info MODEL}: ops, parameters, BN layers and per-layer shapes. */
@Command(name = "info", description = "Show a model's ops, parameters, BatchNorm layers and per-layer shapes.")
final class InfoCommand implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL", description = "ONNX model file.")
    Path model;

    @Mixin
    CommonOptions common;

    @Override
    public Integer call() {
        OnnxModel m = Models.load(model);
        Graph g = m.graph();
        Map<String, int[]> shapes = ShapeInference.infer(g, 1);
        Map<String, Integer> opCounts = new TreeMap<>();
        List<Map<String, Object>> layers = new ArrayList<>();
        for (Node n : g.nodes()) {
            opCounts.merge(n.op().onnxType(), 1, Integer::sum);
            long params = 0;
            for (String in : n.inputs()) {
                Tensor p = g.param(in);
                if (p != null) params += p.size();
            }
            Map<String, Object> l = new LinkedHashMap<>();
            l.put("name", n.name());
            l.put("op", n.op().onnxType());
            l.put("output", shapes.get(n.output()));
            l.put("params", params);
            layers.add(l);
        }
        int[] in = g.inputShape();
        if (common.json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("model", model.toString());
            o.put("opset", m.opset());
            o.put("producer", m.producer());
            o.put("input", Map.of("name", g.inputName(), "shape", new Object[] {"N", in[0], in[1], in[2]}));
            o.put("output", g.outputName());
            o.put("parameters", g.parameterCount());
            o.put("nodes", g.nodes().size());
            o.put("batchNormLayers", g.nodesOf(Op.BatchNorm.class).size());
            o.put("convBatchNormPairs", g.bnPairs().size());
            o.put("ops", opCounts);
            o.put("layers", layers);
            Output.json(System.out, o);
            return 0;
        }
        System.out.printf("model       %s (opset %d, producer %s)%n", model, m.opset(), m.producer());
        System.out.printf("input       %s (N, %d, %d, %d)%n", g.inputName(), in[0], in[1], in[2]);
        System.out.printf("output      %s%n", g.outputName());
        System.out.printf("parameters  %,d%n", g.parameterCount());
        System.out.printf("BatchNorm   %d layers, %d paired with the conv that feeds them%n",
                g.nodesOf(Op.BatchNorm.class).size(), g.bnPairs().size());
        System.out.printf("ops         %s%n%n", opCounts);
        Output.Table t = new Output.Table("node", "op", "output shape (batch 1)", "params");
        for (Map<String, Object> l : layers) {
            t.row(l.get("name"), l.get("op"), Arrays.toString((int[]) l.get("output")), String.format("%,d", (Long) l.get("params")));
        }
        t.print(System.out);
        return 0;
    }
}
