// The integer engine against the fake-quant simulation of the same deploy plan, on a small random CNN with every
// fused and code-level path (conv-bn-relu, max pool, residual add, strided and depthwise convs, GAP, gemm).
package dev.zeroq.int8;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.pipeline.Simulation;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class IntegerModelTest {
    private static final long SEED = 7L;

    @Test
    void matchesTheSimulationWithinOneStep() {
        Graph g = TestCnn.build(SEED);
        for (int bits : new int[] {8, 4}) { // 4: mixed/low precision codes through the same int8 kernels
            QuantPlan plan = TestCnn.deployPlan(g, bits, SEED);
            IntegerModel m = IntegerModel.compile(g, plan);
            assertEquals(6, m.integerLayers(), "every conv and the gemm run in integers");
            assertTrue(m.fusedNodes() >= 4, "relus and the residual add fuse into epilogues, got " + m.fusedNodes());
            Tensor x = TestCnn.images(9, SEED + 1);
            Tensor want = new Simulation(g, plan, new RefBackend()).apply(x);
            Tensor got = m.apply(x);
            assertArrayEquals(want.shape(), got.shape());
            assertWithinOneStep(plan, m, want, got, bits + "-bit weights");
        }
    }

    /**
     * Tolerance at the logits: one step of the gemm's output grid, s_x·max_c(s_w[c]). Exact equality is not
     * expected: the simulation adds dequantized floats (rounded products, double sums) while the engine sums exact
     * integers and scales once, so the two differ by float rounding (~1e-7 relative), far below one step.
     */
    static void assertWithinOneStep(QuantPlan plan, IntegerModel m, Tensor want, Tensor got, String what) {
        Node gemm = m.graph().nodes().getLast();
        QuantPlan.Layer layer = plan.layers().stream().filter(l -> l.node().equals(gemm.name())).findFirst().orElseThrow();
        float sx = plan.activations().stream().filter(a -> a.value().equals(gemm.input(0))).findFirst().orElseThrow().scale();
        float maxSw = 0;
        for (float s : layer.scales()) maxSw = Math.max(maxSw, s);
        double step = (double) sx * maxSw;
        for (int i = 0; i < want.size(); i++) {
            double d = Math.abs(want.data()[i] - got.data()[i]);
            if (d > step) {
                fail(what + ": logit " + i + " simulation " + want.data()[i] + ", integer " + got.data()[i]
                        + ", |diff| " + d + " > one step " + step);
            }
        }
    }

    @Test
    void referenceAndVectorKernelsGiveIdenticalModels() {
        Graph g = TestCnn.build(SEED + 2);
        QuantPlan plan = TestCnn.deployPlan(g, 8, SEED);
        Tensor x = TestCnn.images(3, SEED + 3);
        Tensor ref = IntegerModel.compile(g, plan, new RefBackend(), Int8Kernels.ref()).apply(x);
        Tensor vec = IntegerModel.compile(g, plan, new RefBackend(), Int8Kernels.vector(3)).apply(x);
        // Integer sums are exact in both, and the epilogue is the same code: bit-identical floats.
        assertArrayEquals(ref.data(), vec.data());
    }

    @Test
    void paperPlansAreRejected() {
        Graph g = TestCnn.build(SEED);
        QuantPlan deploy = TestCnn.deployPlan(g, 8, SEED);
        QuantPlan paper = new QuantPlan(deploy.formatVersion(), deploy.model(), QuantPlan.Scheme.PAPER, 8, 8, deploy.clip(),
                deploy.calibration(), deploy.seed(), null, deploy.layers(), deploy.activations(), null);
        ZeroqException e = assertThrows(ZeroqException.class, () -> IntegerModel.compile(g, paper));
        assertTrue(e.badInput());
        assertEquals("plan for testcnn.onnx has scheme 'paper', which the integer engine cannot run: re-run zeroq "
                + "quantize with --scheme deploy", e.getMessage());
    }
}
