// How long the sensitivity stage's weight thread takes to quantize each layer at every bit width
// (ZeroQ.quantizedWeights), on one core: what a device pass over a late layer, short as it is, may wait for. Three
// rounds (the first includes the JIT's warm-up).
// Usage: java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes:CP
//        dev.zeroq.bench.SensitivityWeightsBench MODEL.onnx
package dev.zeroq.bench;

import dev.zeroq.graph.Graph;
import dev.zeroq.onnx.OnnxImporter;
import dev.zeroq.pipeline.QuantizeConfig;
import dev.zeroq.pipeline.Simulation;
import dev.zeroq.pipeline.WeightLayer;
import dev.zeroq.pipeline.ZeroQ;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

public final class SensitivityWeightsBench {
    private SensitivityWeightsBench() {}

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        Graph g = OnnxImporter.parse(Files.readAllBytes(model), model.getFileName().toString()).graph();
        QuantizeConfig cfg = QuantizeConfig.defaults().withMixed(new QuantizeConfig.MixedTarget.AverageBits(4));
        Graph working = Simulation.workingGraph(g, cfg.scheme());
        List<WeightLayer> layers = WeightLayer.of(working);
        for (int round = 1; round <= 3; round++) {
            long total = 0, max = 0;
            String largest = "";
            for (WeightLayer l : layers) {
                long t0 = System.nanoTime();
                ZeroQ.quantizedWeights(working, l, cfg);
                long dt = System.nanoTime() - t0;
                total += dt;
                if (dt > max) {
                    max = dt;
                    largest = l.name() + ", " + l.parameters(working) + " weights";
                }
            }
            System.out.printf("RESULT round=%d layers=%d total_s=%.3f largest_ms=%.1f (%s)%n", round, layers.size(),
                    total / 1e9, max / 1e6, largest);
        }
    }
}
