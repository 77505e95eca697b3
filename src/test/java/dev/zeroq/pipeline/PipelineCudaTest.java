// The whole ZeroQ.quantize on a CUDA backend (device-resident calibration and sensitivity passes) against the CPU
// backend from the same distilled images: W8A8 paper and deploy, and MP4/A8 with 2/4/8-bit choices. Same weight
// bits per layer, the same activation sites with nearly the same ranges, and Simulation top-1 within 0.2 points.
package dev.zeroq.pipeline;

import dev.zeroq.backend.Backend;
import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.backend.cuda.CudaBackend;
import dev.zeroq.backend.cuda.GpuTests;
import dev.zeroq.distill.DistillConfig;
import dev.zeroq.distill.Distiller;
import dev.zeroq.eval.Accuracy;
import dev.zeroq.graph.Graph;
import dev.zeroq.io.Bundled;
import dev.zeroq.io.Dataset;
import dev.zeroq.onnx.OnnxImporter;
import dev.zeroq.quant.QuantPlan;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Tag("gpu")
class PipelineCudaTest {
    private static final Backend CPU = new CpuBackend();
    private static final DistillConfig DISTILL = new DistillConfig(16, 1, 40, DistillConfig.Init.UNIFORM, 3);
    private static CudaBackend cuda;
    private static Dataset data;

    @BeforeAll
    static void open() {
        GpuTests.requireCuda();
        cuda = new CudaBackend(0);
        data = Dataset.bundledFashionMnist(500);
    }

    @AfterAll
    static void close() {
        if (cuda != null) cuda.close();
    }

    private record Model(String name, Graph graph, String sha, Distiller.Result distilled) {}

    private static List<Model> models() {
        List<Model> out = new ArrayList<>();
        for (String name : Bundled.MODEL_NAMES) {
            byte[] bytes;
            try {
                bytes = Bundled.model(name);
            } catch (RuntimeException e) {
                System.out.println("skipped bundled model " + name + ": " + e.getMessage());
                continue;
            }
            Graph g = OnnxImporter.parse(bytes, name + ".onnx").graph();
            out.add(new Model(name, g, QuantPlan.sha256(bytes), new Distiller(g, CPU).distill(DISTILL, it -> { })));
        }
        assertTrue(!out.isEmpty(), "no bundled model could be loaded");
        return out;
    }

    @Test
    void cudaPlansMatchTheCpu() {
        QuantizeConfig base = QuantizeConfig.defaults().withDistill(DISTILL);
        for (Model m : models()) {
            for (QuantizeConfig cfg : List.of(base, base.withScheme(QuantPlan.Scheme.DEPLOY),
                    base.withMixed(new QuantizeConfig.MixedTarget.AverageBits(4)))) {
                String what = m.name() + " " + cfg.scheme() + " W" + cfg.weightBits() + "A" + cfg.activationBits()
                        + (cfg.mixed() == null ? "" : " MP4");
                ZeroQ.Outcome ref = new ZeroQ(m.graph(), CPU).quantize(cfg, m.distilled().images(), m.distilled(), m.sha(),
                        m.name() + ".onnx", ZeroQ.Listener.NONE);
                Stages stages = new Stages();
                ZeroQ.Outcome got = new ZeroQ(m.graph(), cuda).quantize(cfg, m.distilled().images(), m.distilled(), m.sha(),
                        m.name() + ".onnx", stages);
                assertTrue(stages.lines.stream().anyMatch(s -> s.startsWith("calibrating on") && s.contains("device-resident")),
                        what + ": calibration did not run device-resident: " + stages.lines);
                if (cfg.mixed() != null) {
                    assertTrue(stages.lines.stream().anyMatch(s -> s.startsWith("sensitivity passes on") && s.contains("device-resident")),
                            what + ": sensitivity did not run device-resident: " + stages.lines);
                }
                compare(what, ref.plan(), got.plan());
                double a = top1(m.graph(), ref.plan(), CPU), b = top1(m.graph(), got.plan(), cuda);
                System.out.printf("%s: top-1 on %d images cpu %.2f %%, cuda %.2f %%%n", what, data.size(), 100 * a, 100 * b);
                // 0.2 points = one image of 500; the tiny epsilon absorbs the division's rounding.
                assertTrue(Math.abs(a - b) <= 0.002 + 1e-9, what + ": top-1 cpu " + a + ", cuda " + b);
            }
        }
    }

    private static void compare(String what, QuantPlan ref, QuantPlan got) {
        assertEquals(ref.layers().size(), got.layers().size(), what + ": weight layers");
        for (int i = 0; i < ref.layers().size(); i++) {
            QuantPlan.Layer r = ref.layers().get(i), g = got.layers().get(i);
            assertEquals(r.node(), g.node(), what + ": layer " + i);
            assertEquals(r.weightBits(), g.weightBits(), what + ": bits of layer " + r.node());
        }
        assertEquals(ref.activations().stream().map(QuantPlan.Activation::value).toList(),
                got.activations().stream().map(QuantPlan.Activation::value).toList(), what + ": activation sites in order");
        int tight = 0, n = ref.activations().size();
        StringBuilder worst = new StringBuilder();
        double worstRel = 0;
        for (int i = 0; i < n; i++) {
            QuantPlan.Activation r = ref.activations().get(i), g = got.activations().get(i);
            double span = Math.max(Math.abs(r.min()), Math.abs(r.max()));
            double d = Math.max(Math.abs(r.min() - g.min()), Math.abs(r.max() - g.max()));
            double rel = d / Math.max(span, 1e-12);
            if (rel <= 1e-4) tight++;
            if (rel > worstRel) {
                worstRel = rel;
                worst.setLength(0);
                worst.append(r.value()).append(": cpu [").append(r.min()).append(", ").append(r.max()).append("], cuda [")
                        .append(g.min()).append(", ").append(g.max()).append("]");
            }
            // Hard bound: one quantization step of the CPU's range. Float summation order alone moves a range by ~1e-6
            // relative, but a value that close to a rounding boundary takes the neighbouring code on one backend,
            // which moves later ranges by a fraction of a step.
            double step = (r.max() - r.min()) / ((1 << r.bits()) - 1);
            assertTrue(d <= step + 1e-6, what + ": range of " + r.value() + " cpu [" + r.min() + ", " + r.max()
                    + "], cuda [" + g.min() + ", " + g.max() + "] differ by more than one step (" + step + ")");
        }
        System.out.printf("%s: %d of %d activation ranges within 1e-4 relative; worst %.2e (%s)%n", what, tight, n, worstRel, worst);
        // Observed on an H200 (2026-11-26): 8 of 9 and 18 of 21 ranges within 1e-4 relative; the others up to 3.7e-3,
        // i.e. about one 8-bit step, from a value at a rounding boundary taking the neighbouring code upstream. The
        // per-range bound is therefore the one-step check above; on top, most ranges must agree to float precision,
        // which a wrong kernel (every range off) would not.
        assertTrue(2 * tight >= n, what + ": only " + tight + " of " + n + " activation ranges within 1e-4 relative of"
                + " the CPU's; worst " + worstRel + " at " + worst);
    }

    private static double top1(Graph g, QuantPlan plan, Backend b) {
        try (Simulation sim = new Simulation(g, plan, b)) {
            return Accuracy.top1(sim, data.images(), data.labels(), 100, n -> { }).top1();
        }
    }
}
