// The whole distillation on the device against the CPU Distiller (the reference) on TestNets.smallCnn: the loss and
// input gradient of one batch, the first iterations' losses and the final images, with every conv algorithm and
// with and without CUDA-graph replay, with the convolution steps on cuDNN; and no device allocation inside the loop.
package dev.zeroq.backend.cuda;

import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.distill.DistillConfig;
import dev.zeroq.distill.Distiller;
import dev.zeroq.graph.Backprop;
import dev.zeroq.graph.Graph;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

@Tag("gpu")
class CudaDistillerTest {
    private static final long SEED = 11L;
    private static final int BATCH = 3, ITERS = 10;
    private static final Graph NET = TestNets.smallCnn(SEED);
    private static Distiller.Result cpu;

    @BeforeAll
    static void reference() {
        GpuTests.requireCuda();
        cpu = new Distiller(NET, new RefBackend()).distill(config(), it -> { });
    }

    private static DistillConfig config() {
        return new DistillConfig(BATCH, 1, ITERS, DistillConfig.Init.UNIFORM, SEED);
    }

    @Test
    void lossAndGradientMatchTheCpu() {
        for (CudaDistiller.ConvAlgorithm algo : CudaDistiller.ConvAlgorithm.values()) {
            checkLossAndGradient(new CudaDistiller.Options(algo, false));
        }
    }

    @Test
    void distillationMatchesTheCpu() {
        for (CudaDistiller.Options o : new CudaDistiller.Options[] {
                new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, false),
                new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, true),
                new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.DIRECT, false),
                new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.IMPLICIT_GEMM, true),
                new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.IMPLICIT_GEMM_128, false)}) {
            checkDistillation(o);
        }
    }

    /** The convolution steps on cuDNN (every one, eager and graph-replayed; and the faster of the two per step). */
    @Test
    void cudnnConvolutionStepsMatchTheCpu() {
        CudnnConv.Availability a = CudnnConv.available();
        Assumptions.assumeTrue(a.usable(), "cuDNN not usable: " + a.reason());
        for (CudaDistiller.Options o : new CudaDistiller.Options[] {
                new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, false, false, CudaDistiller.Cudnn.ALWAYS),
                new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.DIRECT, true, false, CudaDistiller.Cudnn.ALWAYS),
                new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, false, false, CudaDistiller.Cudnn.FASTEST)}) {
            checkLossAndGradient(o);
            String summary = checkDistillation(o);
            if (o.cudnn() == CudaDistiller.Cudnn.ALWAYS) {
                assertTrue(summary.matches("convolutions on cuDNN \\(STRICT_FP32\\): (\\d+) of \\1 forward and (\\d+) of \\2 "
                        + "backward-data steps \\(every one cuDNN can run\\)") && !summary.contains(": 0 of"), summary);
            }
        }
    }

    /**
     * cuDNN's algorithm search runs ahead, beside the pool's upload, and the setup says so; the choices it made and the
     * timings that settled each shape on one of its candidates serve a second distiller of the same shapes, which
     * neither searches nor times again. Batch {@code BATCH + 2}: shapes no other test here plans, so this process has
     * searched none of them before. Strict FP32 and TF32 (where cuDNN may capture a graph while it searches: the
     * upload beside it must still work, GPU run 16). The loss and input gradient on the settled algorithms match the
     * CPU reference (TF32: the loss, within its rounding).
     */
    @Test
    void cudnnSearchRunsAheadAndASecondDistillerReusesTheSettledChoices() {
        CudnnConv.Availability a = CudnnConv.available();
        Assumptions.assumeTrue(a.usable(), "cuDNN not usable: " + a.reason());
        int batch = BATCH + 2;
        Tensor x = Distiller.initialBatch(NET.inputShape(), batch, DistillConfig.Init.GAUSSIAN, SEED);
        Backprop.Result ref = new Distiller(NET, new RefBackend()).lossAndGradient(x);
        for (boolean tf32 : new boolean[] {false, true}) {
            CudaDistiller.Options o = new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, false, tf32,
                    CudaDistiller.Cudnn.FASTEST);
            double lossTolerance = Math.abs(ref.loss()) * (tf32 ? 5e-3 : 1e-4);
            long finds = CudnnConv.finds(), timings = ConvChoice.timings();
            try (CudaDistiller d = new CudaDistiller(NET, batch, 0, o)) {
                assertTrue(d.convSummary().contains("cuDNN's algorithm search took ") && !d.convSummary().contains(
                        "timed earlier"), d.convSummary());
                assertTrue(d.setupSummary().contains("waiting for cuDNN's search "), d.setupSummary());
                assertTrue(CudnnConv.finds() > finds && ConvChoice.timings() > timings, "searched and timed: "
                        + d.convSummary());
                assertEquals(ref.loss(), d.lossAndGradient(x).loss(), lossTolerance, o.toString());
            }
            finds = CudnnConv.finds();
            timings = ConvChoice.timings();
            try (CudaDistiller d = new CudaDistiller(NET, batch, 0, o)) {
                assertTrue(d.convSummary().contains("timed earlier in this process"), d.convSummary());
                Backprop.Result got = d.lossAndGradient(x);
                assertEquals(ref.loss(), got.loss(), lossTolerance, o.toString());
                float[] r = ref.inputGrad().data(), g = got.inputGrad().data();
                float max = 0;
                for (float v : r) max = Math.max(max, Math.abs(v));
                for (int i = 0; i < r.length && !tf32; i++) {
                    assertEquals(r[i], g[i], 1e-4 * max + 1e-3 * Math.abs(r[i]), "input gradient at " + i);
                }
            }
            assertEquals(finds, CudnnConv.finds(), "the second distiller searched again, " + o);
            assertEquals(timings, ConvChoice.timings(), "the second distiller timed again, " + o);
        }
    }

    /**
     * The fused BatchNorm/Add + ReLU/Clip kernels against the separate ones (-Dzeroq.distill.fuse=false): the same arithmetic
     * in the same order, so the same loss curve and the same final images, bit for bit (zeroq's kernels only: cuDNN's
     * algorithm choice may differ between two distillers).
     */
    @Test
    void fusedBatchNormActivationDistillsTheSameBits() {
        Distiller.Result[] runs = new Distiller.Result[2];
        int[] launches = new int[2];
        for (int k = 0; k < 2; k++) {
            if (k == 1) System.setProperty(CudaDistiller.FUSE_PROPERTY, "false");
            try (CudaDistiller d = new CudaDistiller(NET, BATCH, 0,
                    new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, true))) {
                runs[k] = d.distill(config(), it -> { });
                launches[k] = d.launchesPerIteration();
            } finally {
                System.clearProperty(CudaDistiller.FUSE_PROPERTY);
            }
        }
        // The fused forwards that run in a statistics launch (deferred statistics gradients, on by default) save one
        // launch each; the planner without a device says how many (CudaDistillerPlanTest checks that count).
        String plan = CudaDistiller.dryPlan(NET, BATCH, new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, true));
        int withForward = CudaDistillerPlanTest.withForward(plan);
        assertTrue(withForward >= 4, plan);
        assertEquals(launches[1] - 2 * 5 - 5 - withForward, launches[0], "smallCnn: five BatchNorm pairs fused (two launches "
                + "fewer each), one BatchNorm, Add, ReLU triple (five fewer) and " + withForward + " fused forwards in "
                + "statistics launches (" + plan + ")");
        assertTrue(java.util.Arrays.equals(runs[1].lossCurves()[0], runs[0].lossCurves()[0]),
                "loss curves: fused " + java.util.Arrays.toString(runs[0].lossCurves()[0]) + ", separate "
                        + java.util.Arrays.toString(runs[1].lossCurves()[0]));
        assertTrue(java.util.Arrays.equals(runs[1].images().data(), runs[0].images().data()), "final images differ");
    }

    private static void checkLossAndGradient(CudaDistiller.Options o) {
        Tensor x = Distiller.initialBatch(NET.inputShape(), BATCH, DistillConfig.Init.GAUSSIAN, SEED);
        Backprop.Result ref = new Distiller(NET, new RefBackend()).lossAndGradient(x);
        try (CudaDistiller d = new CudaDistiller(NET, BATCH, 0, o)) {
            Backprop.Result got = d.lossAndGradient(x);
            assertEquals(ref.loss(), got.loss(), Math.abs(ref.loss()) * 1e-4, "loss, " + o);
            float[] r = ref.inputGrad().data(), g = got.inputGrad().data();
            float max = 0;
            for (float v : r) max = Math.max(max, Math.abs(v));
            double worst = 0;
            for (int i = 0; i < r.length; i++) {
                double tol = 1e-4 * max + 1e-3 * Math.abs(r[i]);
                worst = Math.max(worst, Math.abs(r[i] - g[i]) / tol);
                if (!(Math.abs(r[i] - g[i]) <= tol)) {
                    fail("input gradient, " + o + ": first mismatch at " + i + ": cpu " + r[i] + ", cuda " + g[i]
                            + " (tolerance " + tol + ")");
                }
            }
            System.out.printf("lossAndGradient %s: loss cpu %.9g cuda %.9g; worst gradient error %.3f of tolerance; %s%n",
                    o, ref.loss(), got.loss(), worst, d.convSummary());
        }
    }

    /** Distills with {@code o} and compares with the CPU run; returns the distiller's convSummary(). */
    private static String checkDistillation(CudaDistiller.Options o) {
        try (CudaDistiller d = new CudaDistiller(NET, BATCH, 0, o)) {
            Distiller.Result got = d.distill(config(), it -> { });
            double worstLoss = 0;
            for (int it = 0; it < ITERS; it++) {
                double a = cpu.lossCurves()[0][it], b = got.lossCurves()[0][it];
                double rel = Math.abs(a - b) / Math.abs(a);
                worstLoss = Math.max(worstLoss, rel);
                assertTrue(rel <= 1e-3, o + ": iteration " + (it + 1) + " loss cpu " + a + ", cuda " + b + " (relative " + rel + ")");
            }
            float[] r = cpu.images().data(), g = got.images().data();
            double maxAbs = 0, maxDiff = 0;
            for (int i = 0; i < r.length; i++) {
                maxAbs = Math.max(maxAbs, Math.abs(r[i]));
                maxDiff = Math.max(maxDiff, Math.abs(r[i] - g[i]));
            }
            System.out.printf("distill %s, %d iterations: max relative loss difference %.3g; final images max |cpu - cuda| %.3g"
                    + " (max |x| %.3g); %d steps per iteration; %s%n", o, ITERS, worstLoss, maxDiff, maxAbs,
                    d.launchesPerIteration(), d.convSummary());
            // Adam moves every pixel by up to lr per step whatever the gradient's size: 1% of the image range.
            assertTrue(maxDiff <= 1e-2 * maxAbs, o + ": final images differ by " + maxDiff + " (max |x| " + maxAbs + ")");
            return d.convSummary();
        }
    }

    @Test
    void noDeviceAllocationInsideTheLoop() {
        CudaDistiller.Cudnn withCudnn = CudnnConv.available().usable() ? CudaDistiller.Cudnn.ALWAYS : CudaDistiller.Cudnn.OFF;
        for (CudaDistiller.Cudnn cudnn : new CudaDistiller.Cudnn[] {CudaDistiller.Cudnn.OFF, withCudnn}) for (boolean graph : new boolean[] {false, true}) {
            try (CudaDistiller d = new CudaDistiller(NET, BATCH, 0,
                    new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, graph, false, cudnn))) {
                long before = CudaDistiller.deviceAllocations();
                d.distill(config().withIterations(3), it -> { });
                long after3 = CudaDistiller.deviceAllocations();
                d.distill(config().withIterations(30), it -> { });
                long after30 = CudaDistiller.deviceAllocations();
                System.out.printf("cuMemAlloc calls (graph=%s, cudnn %s): %d before, %d after 3 iterations, %d after 30 more; pool %d bytes%n",
                        graph, cudnn, before, after3, after30, d.poolBytes());
                assertEquals(before, after3, "allocations during 3 iterations");
                assertEquals(before, after30, "allocations during 30 iterations");
            }
        }
    }

    @Test
    void stepProfileCoversEveryLaunchOfAnIteration() {
        CudaDistiller.Cudnn cudnn = CudnnConv.available().usable() ? CudaDistiller.Cudnn.ALWAYS : CudaDistiller.Cudnn.OFF;
        try (CudaDistiller d = new CudaDistiller(NET, BATCH, 0,
                new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, false, false, cudnn))) {
            List<CudaDistiller.StepTime> steps = d.profileSteps(1, 2, DistillConfig.Init.UNIFORM, 3);
            assertEquals(d.launchesPerIteration(), steps.stream().mapToInt(CudaDistiller.StepTime::launches).sum(), steps.toString());
            assertTrue(steps.stream().anyMatch(s -> s.label().equals("adam")), steps.toString());
            assertTrue(steps.stream().anyMatch(s -> s.label().startsWith("bn_stat_loss")), steps.toString());
            if (cudnn == CudaDistiller.Cudnn.ALWAYS) {
                assertTrue(steps.stream().anyMatch(s -> s.label().equals("cuDNN convolution forward")), steps.toString());
            }
            for (int k = 0; k < steps.size(); k++) {
                assertTrue(steps.get(k).ms() >= 0, steps.toString());
                if (k > 0) assertTrue(steps.get(k).ms() <= steps.get(k - 1).ms(), "largest first: " + steps);
            }
            // The profile leaves the distiller usable: a normal run afterwards still matches the CPU (checked above).
            d.distill(config().withIterations(2), it -> { });
            System.out.println("CudaDistiller step profile of the test net: " + steps);
        }
    }
}
