package dev.zeroq.cli;

import dev.zeroq.backend.Backends;
import dev.zeroq.graph.Inference;
import dev.zeroq.io.Npy;
import dev.zeroq.onnx.OnnxModel;
import dev.zeroq.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code zeroq run MODEL --input X.npy --output Y.npy}: one forward pass of a batch. */
@Command(name = "run", description = "Run a model on a float32 NCHW .npy batch and write the output as .npy.")
final class RunCommand implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL", description = "ONNX model file.")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "X.npy", description = "Input batch, float32 (N, C, H, W).")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "Y.npy", description = "Where to write the output.")
    Path output;

    @Mixin
    EngineOptions quantized;

    @Mixin
    CommonOptions common;

    @Override
    public Integer call() {
        OnnxModel m = Models.load(model);
        Tensor x = Npy.read(input);
        Models.checkWritable(output);
        Tensor y;
        String device;
        long t0 = System.nanoTime();
        try (Backends.Selection sel = Models.backend(common)) {
            Inference exec = Inference.compile(m.graph(), sel.backend());
            exec.checkInput(x);
            try (Models.Quantized q = Models.quantized(m, model, quantized.plan, quantized.engine, sel.backend())) {
                y = q == null ? exec.run(x) : q.apply(x);
            }
            device = sel.backend().name();
        }
        double ms = (System.nanoTime() - t0) / 1e6;
        Npy.write(output, y);
        if (common.json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("input", Arrays.stream(x.shape()).boxed().toList());
            o.put("output", Arrays.stream(y.shape()).boxed().toList());
            o.put("outputFile", output.toString());
            o.put("device", device);
            o.put("millis", ms);
            Output.json(System.out, o);
        } else {
            System.out.printf("%s %s -> %s written to %s in %.1f ms on %s%n", model.getFileName(),
                    Arrays.toString(x.shape()), Arrays.toString(y.shape()), output, ms, device);
        }
        return 0;
    }
}
