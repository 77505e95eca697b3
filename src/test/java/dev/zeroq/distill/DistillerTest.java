package dev.zeroq.distill;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.Activation;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.graph.Op;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Distillation's refusals and its optimizer details, on tiny hand-built graphs. */
class DistillerTest {
    private static final ConvSpec C3 = new ConvSpec(new int[] {3, 3}, new int[] {1, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 1);

    private static Tensor filled(float v, int... shape) {
        Tensor t = Tensor.zeros(shape);
        java.util.Arrays.fill(t.data(), v);
        return t;
    }

    @Test
    void aModelWithoutBatchNormIsRefusedWithTheWayOut() {
        Graph g = new Graph("nobn", "x", new int[] {1, 5, 5}, "y",
                List.of(new Node("c", new Op.Conv(C3), List.of("x", "w"), List.of("y"))), Map.of("w", filled(0.1f, 2, 1, 3, 3)));
        ZeroqException e = assertThrows(ZeroqException.class, () -> new Distiller(g, new RefBackend()));
        assertTrue(e.badInput());
        assertTrue(e.getMessage().contains("no BatchNormalization") && e.getMessage().contains("--calib data"), e.getMessage());
    }

    @Test
    void aLossThatTurnsNanStopsNamingTheIteration() {
        // A negative running variance makes the target σ NaN: the very first loss is NaN.
        Graph g = new Graph("nan", "x", new int[] {1, 5, 5}, "r",
                List.of(new Node("c", new Op.Conv(C3), List.of("x", "w"), List.of("y")),
                        new Node("bn", new Op.BatchNorm(1e-5f), List.of("y", "g", "b", "m", "v"), List.of("z")),
                        new Node("relu", new Op.Unary(new Activation.Relu()), List.of("z"), List.of("r"))),
                Map.of("w", filled(0.1f, 2, 1, 3, 3), "g", filled(1, 2), "b", filled(0, 2), "m", filled(0, 2), "v", filled(-1, 2)));
        ZeroqException e = assertThrows(ZeroqException.class, () -> new Distiller(g, new RefBackend())
                .distill(new DistillConfig(2, 1, 5, DistillConfig.Init.UNIFORM, 0), it -> { }));
        assertTrue(e.getMessage().contains("iteration 1 of batch 1") && e.getMessage().contains("nothing was written"), e.getMessage());
    }

    @Test
    void uniformInitFollowsTheOfficialScale() {
        Tensor x = Distiller.initialBatch(new int[] {3, 4, 4}, 2, DistillConfig.Init.UNIFORM, 1);
        for (float v : x.data()) {
            // (k − 127.5)/5418.75 for integers k in 0..254.
            double k = v * 5418.75 + 127.5;
            assertEquals(Math.rint(k), k, 1e-3);
            assertTrue(k >= 0 && k <= 254);
        }
    }

    @Test
    void plateauScheduleDropsTheRateAfterPatience() {
        PlateauSchedule s = new PlateauSchedule(0.5);
        s.step(10);
        for (int i = 0; i < 100; i++) s.step(10);
        assertEquals(0.5, s.lr(), 0.0, "100 iterations without improvement is still within patience");
        s.step(10);
        assertEquals(0.05, s.lr(), 1e-12);
        for (int i = 0; i < 1000; i++) s.step(10);
        assertEquals(1e-4, s.lr(), 1e-12, "never below the minimum");
    }

    @Test
    void adamFirstStepMovesEachParameterByTheLearningRate() {
        // With bias correction, Adam's first step is lr·g/(|g| + eps) = ±lr for any non-zero gradient.
        Adam a = new Adam(3);
        float[] p = {1, 1, 1};
        a.step(p, new float[] {2f, -0.001f, 0f}, 0.5);
        assertEquals(0.5f, p[0], 1e-6f);
        assertEquals(1.5f, p[1], 1e-4f);
        assertEquals(1f, p[2], 0f);
    }
}
