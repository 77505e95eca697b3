package dev.zeroq.pipeline;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.Backend;
import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.distill.DistillConfig;
import dev.zeroq.distill.Distiller;
import dev.zeroq.eval.Accuracy;
import dev.zeroq.graph.Executor;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Transforms;
import dev.zeroq.io.Bundled;
import dev.zeroq.io.Dataset;
import dev.zeroq.onnx.OnnxImporter;
import dev.zeroq.quant.ClipMethod;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ZeroQ pipeline on the bundled ResNet-style fixture, with few iterations and a 500-image subset so it
 * stays fast: distillation lowers the loss, plans round-trip and reproduce, and quantized accuracy behaves.
 */
class PipelineTest {
    private static final Backend CPU = new CpuBackend();
    private static Graph graph;
    private static String sha;
    private static Dataset data;
    private static double fp32;
    private static Distiller.Result distilled;

    @BeforeAll
    static void load() {
        byte[] bytes = Bundled.model("resnet_fmnist");
        graph = OnnxImporter.parse(bytes, "resnet_fmnist.onnx").graph();
        sha = QuantPlan.sha256(bytes);
        data = Dataset.bundledFashionMnist(500);
        fp32 = Accuracy.top1(new Executor(graph, CPU)::run, data.images(), data.labels(), 100, n -> { }).top1();
        distilled = new Distiller(graph, CPU).distill(new DistillConfig(16, 1, 40, DistillConfig.Init.UNIFORM, 3), it -> { });
    }

    private static double top1(QuantPlan plan) {
        try (Simulation sim = new Simulation(graph, plan, CPU)) {
            return Accuracy.top1(sim, data.images(), data.labels(), 100, n -> { }).top1();
        }
    }

    private static QuantizeConfig cfg() {
        return QuantizeConfig.defaults().withDistill(new DistillConfig(16, 1, 40, DistillConfig.Init.UNIFORM, 3));
    }

    @Test
    void distillationLowersTheLossAndIsSeeded() {
        double[] curve = distilled.lossCurves()[0];
        assertTrue(curve[curve.length - 1] < 0.5 * curve[0], "loss " + curve[0] + " -> " + curve[curve.length - 1]);
        Distiller.Result again = new Distiller(graph, CPU).distill(new DistillConfig(16, 1, 5, DistillConfig.Init.UNIFORM, 3), it -> { });
        assertEquals(curve[4], again.lossCurves()[0][4], 0.0, "same seed, same backend: same loss");
    }

    @Test
    void zeroqLossGradientOfTheWholeFixtureMatchesFiniteDifferences() {
        // Directional check on the whole ResNet fixture: (L(x+εd) − L(x−εd))/2ε against ⟨∇L, d⟩. Thousands of
        // ReLUs sit upstream of the BN taps, so a few units may cross their kink within ±εd; with ε = 1e-3 that
        // moves the difference by far less than the 1 % allowed here, while a wrong backward rule moves it by more.
        Distiller d = new Distiller(graph, new dev.zeroq.backend.ref.RefBackend());
        Tensor x = Distiller.initialBatch(graph.inputShape(), 2, DistillConfig.Init.GAUSSIAN, 9);
        Tensor grad = d.lossAndGradient(x).inputGrad();
        java.util.Random r = new java.util.Random(4);
        double rms = 0;
        for (float v : grad.data()) rms += (double) v * v;
        rms = Math.sqrt(rms / grad.size());
        for (int trial = 0; trial < 2; trial++) {
            // Half along the gradient (a large, well-conditioned change of the loss, far above float32 noise),
            // half random, scaled to unit RMS.
            Tensor dir = Tensor.zeros(x.shape());
            for (int i = 0; i < dir.size(); i++) dir.data()[i] = (float) (grad.data()[i] / rms + r.nextGaussian());
            float eps = 1e-3f;
            Tensor plus = x.copy(), minus = x.copy();
            for (int i = 0; i < x.size(); i++) {
                plus.data()[i] += eps * dir.data()[i];
                minus.data()[i] -= eps * dir.data()[i];
            }
            double numeric = (d.lossAndGradient(plus).loss() - d.lossAndGradient(minus).loss()) / (2 * eps);
            double analytic = 0;
            for (int i = 0; i < x.size(); i++) analytic += (double) grad.data()[i] * dir.data()[i];
            assertEquals(numeric, analytic, 1e-2 * Math.abs(numeric), "trial " + trial); // seen: 2.2e-3
        }
    }

    @Test
    void foldedBatchNormComputesTheSameFunction() {
        Graph folded = Transforms.foldBatchNorm(graph);
        assertEquals(0, folded.nodesOf(dev.zeroq.graph.Op.BatchNorm.class).size());
        Tensor x = data.images();
        Tensor a = new Executor(graph, CPU).run(x), b = new Executor(folded, CPU).run(x);
        for (int i = 0; i < a.size(); i++) {
            // Folding reorders float arithmetic; logits of this size agree to ~1e-4 relative.
            assertTrue(Math.abs(a.data()[i] - b.data()[i]) <= 1e-3 + 1e-3 * Math.abs(a.data()[i]), "logit " + i);
        }
    }

    @Test
    void w8a8WithDistilledDataStaysCloseToFp32AndPlansReproduce(@TempDir Path dir) {
        ZeroQ z = new ZeroQ(graph, CPU);
        ZeroQ.Outcome o = z.quantize(cfg(), distilled.images(), distilled, sha, "resnet_fmnist.onnx", ZeroQ.Listener.NONE);
        double q = top1(o.plan());
        assertTrue(q >= fp32 - 0.01, "W8A8 zeroq " + q + " vs FP32 " + fp32);
        Path p = dir.resolve("plan.json");
        o.plan().write(p);
        QuantPlan back = QuantPlan.read(p);
        assertEquals(o.plan(), back);
        Tensor x = data.images();
        assertArrayEquals(new Simulation(graph, o.plan(), CPU).apply(x).data(), new Simulation(graph, back, CPU).apply(x).data());
        ZeroQ.Outcome again = z.quantize(cfg(), distilled.images(), distilled, sha, "resnet_fmnist.onnx", ZeroQ.Listener.NONE);
        assertEquals(o.plan(), again.plan(), "same inputs, same plan");
    }

    @Test
    void paperSchemeQuantizesAfterReluOnlyAndDeployAtEveryLayerInput() {
        ZeroQ z = new ZeroQ(graph, CPU);
        QuantPlan paper = z.quantize(cfg(), distilled.images(), distilled, sha, "m", ZeroQ.Listener.NONE).plan();
        QuantPlan deploy = z.quantize(cfg().withScheme(QuantPlan.Scheme.DEPLOY), distilled.images(), distilled, sha, "m",
                ZeroQ.Listener.NONE).plan();
        assertEquals(9, paper.activations().size(), "one per ReLU");
        assertTrue(deploy.activations().stream().anyMatch(a -> a.value().equals(graph.inputName())), "network input quantized");
        assertEquals(12, paper.layers().size());
        assertNotNull(deploy.layers().getFirst().scales());
        for (QuantPlan.Activation a : paper.activations()) {
            assertEquals(0f, a.min(), "ReLU ranges start at 0");
        }
        assertTrue(top1(deploy) >= fp32 - 0.02, "deploy W8A8 " + top1(deploy) + " vs " + fp32);
    }

    @Test
    void mixedPrecisionMeetsItsTargetAndBeatsUniformAtTheSameSize() {
        ZeroQ z = new ZeroQ(graph, CPU);
        ZeroQ.Outcome mp = z.quantize(cfg().withMixed(new QuantizeConfig.MixedTarget.AverageBits(4)), distilled.images(),
                distilled, sha, "m", ZeroQ.Listener.NONE);
        long params = mp.plan().layers().stream().mapToLong(QuantPlan.Layer::parameterCount).sum();
        long bits = mp.plan().layers().stream().mapToLong(l -> l.parameterCount() * l.weightBits()).sum();
        assertTrue(bits <= 4 * params, "size " + bits + " within MP4 target " + 4 * params);
        assertTrue(mp.frontier().points().size() > 10);
        double mixed = top1(mp.plan());
        double uniform = top1(z.quantize(cfg().withBits(4, 8), distilled.images(), distilled, sha, "m", ZeroQ.Listener.NONE).plan());
        // The chosen point minimizes total sensitivity at that size; allow one image of noise on 500.
        assertTrue(mixed >= uniform - 0.002, "MP4/A8 " + mixed + " vs W4A8 " + uniform);
    }

    @Test
    void clippingHelpsAtFourBitActivations() {
        ZeroQ z = new ZeroQ(graph, CPU);
        double minmax = top1(z.quantize(cfg().withBits(8, 4), distilled.images(), distilled, sha, "m", ZeroQ.Listener.NONE).plan());
        double mse = top1(z.quantize(cfg().withBits(8, 4).withClip(ClipMethod.MSE), distilled.images(), distilled, sha, "m",
                ZeroQ.Listener.NONE).plan());
        assertTrue(mse >= minmax - 0.002, "W8A4 mse " + mse + " vs minmax " + minmax);
    }

    @Test
    void badInputIsRefusedWithOneLine() {
        ZeroqException e = assertThrows(ZeroqException.class, () -> cfg().withBits(9, 8));
        assertTrue(e.getMessage().contains("--wbits must be between 2 and 8"), e.getMessage());
        e = assertThrows(ZeroqException.class, () -> cfg().withBits(8, 1));
        assertTrue(e.getMessage().contains("--abits"), e.getMessage());
        e = assertThrows(ZeroqException.class, () -> cfg().withCalibration(QuantPlan.Calibration.DATA, null));
        assertTrue(e.getMessage().contains("--calib-images"), e.getMessage());
        ZeroQ z = new ZeroQ(graph, CPU);
        QuantPlan plan = z.quantize(cfg(), distilled.images(), distilled, sha, "m", ZeroQ.Listener.NONE).plan();
        e = assertThrows(ZeroqException.class, () -> plan.requireModel("0".repeat(64), "other.onnx"));
        assertTrue(e.badInput());
        e = assertThrows(ZeroqException.class, () -> z.quantize(cfg().withMixed(new QuantizeConfig.MixedTarget.SizeMb(0.001)),
                distilled.images(), distilled, sha, "m", ZeroQ.Listener.NONE));
        assertTrue(e.getMessage().contains("below the smallest possible"), e.getMessage());
    }
}
