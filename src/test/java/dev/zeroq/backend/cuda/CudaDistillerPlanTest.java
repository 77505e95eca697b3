// Planning of the device-resident distillation without a device: the graph walk, shapes, pool layout and every
// kernel's argument list are built (only the device allocation and launches are skipped), and unsupported ops
// are named. Runs on machines without a GPU.
package dev.zeroq.backend.cuda;

import dev.zeroq.ZeroqException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CudaDistillerPlanTest {
    @Test
    void plansTheSmallCnnWithEveryConvAlgorithm() {
        for (CudaDistiller.ConvAlgorithm a : CudaDistiller.ConvAlgorithm.values()) {
            String s = CudaDistiller.dryPlan(TestNets.smallCnn(7), 3, new CudaDistiller.Options(a, false));
            assertTrue(s.startsWith("launches "), s);
            // TF32 swaps kernels only: the same launches and pool.
            assertEquals(s, CudaDistiller.dryPlan(TestNets.smallCnn(7), 3, new CudaDistiller.Options(a, false, true)), "tf32, " + a);
        }
    }

    @Test
    void everyConvolutionStepGetsItsCudnnAlternative() {
        // smallCnn: 8 convolutions (plain, strided, depthwise, 1x1), each with a forward and a backward-data step; the
        // launches stay the same, the pool may grow by the weights in cuDNN's layout.
        for (CudaDistiller.Cudnn c : new CudaDistiller.Cudnn[] {CudaDistiller.Cudnn.FASTEST, CudaDistiller.Cudnn.ALWAYS}) {
            String off = CudaDistiller.dryPlan(TestNets.smallCnn(7), 3, new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, false));
            String on = CudaDistiller.dryPlan(TestNets.smallCnn(7), 3,
                    new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, false, false, c));
            assertTrue(on.endsWith(", cudnn alternatives 16"), on);
            assertEquals(off.substring(0, off.indexOf(',')), on.substring(0, on.indexOf(',')), "launches, " + c);
        }
    }

    @Test
    void batchNormsAndAddsReadOnlyByAReluOrClipRunFusedWithIt() {
        String fused = smallCnnPlan(null), separate = smallCnnPlan(CudaDistiller.FUSE_PROPERTY);
        // smallCnn: conv-BN-ReLU three times, conv-BN-Clip(0, 6), the depthwise conv's BN then ReLU, and the residual
        // BN, Add, ReLU (the BN read by the Add alone). Not fused: the BN both the global pool and the Mul read, the one
        // before HardSwish, and the last BN (the graph's output).
        List<String> pairs = pairs(fused);
        assertEquals(6, pairs.size(), fused);
        assertEquals(4, pairs.stream().filter(q -> q.startsWith("Relu(BatchNormalization(")).count(), fused);
        assertEquals(1, pairs.stream().filter(q -> q.startsWith("Clip(BatchNormalization(")).count(), fused);
        assertEquals(1, pairs.stream().filter(q -> q.startsWith("Relu(Add(BatchNormalization(")).count(), fused);
        assertEquals(List.of(), pairs(separate), separate);
        // Each BatchNorm pair: one launch instead of two forward, one instead of two backward. The BN, Add, ReLU triple:
        // one instead of three forward, one instead of four backward (the activation's gradient, one per side of the
        // Add, the BatchNorm's). And the forward of a fusion whose operands exist when its BatchNorm's input is tapped
        // runs in the statistics launch. What is fused away (values and gradients) leaves the pool.
        assertEquals(launches(separate) - 2 * 5 - 5 - withForward(fused), launches(fused), fused + " | " + separate);
        assertEquals(0, withForward(separate), separate);
        assertTrue(withForward(fused) >= 4, fused);
        assertTrue(poolBytes(fused) < poolBytes(separate), fused + " | " + separate);
    }

    /**
     * Every statistics-loss gradient of a value tapped once waits for the backward pass; the BatchNorm backward launch
     * adds it where it writes that gradient first, bn_stat_apply elsewhere (the last BatchNorm, whose output no loss
     * reaches). With -Dzeroq.distill.deferStats=false every one is stored in the forward pass, as before.
     */
    @Test
    void statisticsGradientsWaitForTheBackwardPass() {
        String deferred = smallCnnPlan(null), stored = smallCnnPlan(CudaDistiller.DEFER_PROPERTY);
        java.util.regex.Matcher m = java.util.regex.Pattern
                .compile("deferred statistics gradients (\\d+) of (\\d+) taps \\((\\d+) added by BatchNorm backward launches\\)")
                .matcher(deferred);
        assertTrue(m.find(), deferred);
        int taps = Integer.parseInt(m.group(2)), byBackward = Integer.parseInt(m.group(3));
        assertEquals(taps, Integer.parseInt(m.group(1)), deferred);
        assertTrue(taps >= 8 && byBackward >= taps - 2, deferred);
        assertTrue(stored.contains("deferred statistics gradients 0 of " + taps + " taps (0 added"), stored);
        // One bn_stat_apply launch for each deferred gradient no BatchNorm backward adds; one forward launch fewer for
        // each fusion whose forward runs in its statistics launch (only with deferred gradients).
        assertEquals(launches(stored) + taps - byBackward - withForward(deferred), launches(deferred), deferred + " | " + stored);
        assertEquals(0, withForward(stored), stored);
    }

    @Test
    void aBatchNormWhoseInputIsTheAddsOtherOperandStaysOutOfTheAdd() {
        String plan = CudaDistiller.dryPlan(TestNets.residualOverBatchNormInput(3), 2,
                new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, false));
        List<String> pairs = pairs(plan);
        assertEquals(1, pairs.size(), plan);
        assertTrue(pairs.getFirst().startsWith("Relu(Add(") && !pairs.getFirst().contains("BatchNormalization"), plan);
    }

    /** smallCnn's dry plan for a batch of 3, with system property {@code off} set to false (none when null). */
    private static String smallCnnPlan(String off) {
        if (off != null) System.setProperty(off, "false");
        try {
            return CudaDistiller.dryPlan(TestNets.smallCnn(7), 3,
                    new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, false));
        } finally {
            if (off != null) System.clearProperty(off);
        }
    }

    /** The statistics taps that compute a fused BatchNorm forward too, from a dry plan. */
    static int withForward(String plan) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+) with the fused BatchNorm forward").matcher(plan);
        assertTrue(m.find(), plan);
        return Integer.parseInt(m.group(1));
    }

    private static List<String> pairs(String plan) {
        int from = plan.indexOf("fused [") + "fused [".length();
        String list = plan.substring(from, plan.indexOf(']', from));
        return list.isEmpty() ? List.of() : List.of(list.split(", "));
    }

    private static int launches(String plan) {
        return Integer.parseInt(plan.substring("launches ".length(), plan.indexOf(',')));
    }

    private static long poolBytes(String plan) {
        int from = plan.indexOf("pool ") + "pool ".length();
        return Long.parseLong(plan.substring(from, plan.indexOf(' ', from)));
    }

    @Test
    void theCpuReferenceDistillsTheSmallCnn() {
        // The GPU test compares against this run: make sure the reference side works on every machine.
        var r = new dev.zeroq.distill.Distiller(TestNets.smallCnn(11), new dev.zeroq.backend.ref.RefBackend())
                .distill(new dev.zeroq.distill.DistillConfig(3, 1, 3, dev.zeroq.distill.DistillConfig.Init.UNIFORM, 11), it -> { });
        assertTrue(java.util.Arrays.stream(r.lossCurves()[0]).allMatch(Double::isFinite), java.util.Arrays.toString(r.lossCurves()[0]));
    }

    @Test
    void namesUnsupportedOps() {
        var bad = CudaDistiller.unsupported(TestNets.withTranspose(1));
        assertEquals(1, bad.size(), bad.toString());
        assertTrue(bad.getFirst().startsWith("Transpose (node "), bad.toString());
        ZeroqException e = assertThrows(ZeroqException.class,
                () -> CudaDistiller.dryPlan(TestNets.withTranspose(1), 2, CudaDistiller.Options.defaults()));
        assertTrue(e.getMessage().contains("Transpose"), e.getMessage());
        assertTrue(CudaDistiller.unsupported(TestNets.smallCnn(7)).isEmpty());
    }
}
