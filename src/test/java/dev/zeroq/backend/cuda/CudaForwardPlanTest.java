// CudaForward's planning without a GPU: which graphs it accepts (the bundled models, the test CNN) and which it
// names as unsupported, and that a dry plan of the bundled models builds every launch and the pool layout.
package dev.zeroq.backend.cuda;

import dev.zeroq.ZeroqException;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.graph.Op;
import dev.zeroq.io.Bundled;
import dev.zeroq.onnx.OnnxImporter;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CudaForwardPlanTest {
    @Test
    void plansTheBundledResnetAndTheTestCnn() {
        Graph g = OnnxImporter.parse(Bundled.model("resnet_fmnist"), "resnet_fmnist.onnx").graph();
        assertEquals(List.of(), CudaForward.unsupported(g));
        String s = CudaForward.dryPlan(g, 32);
        assertTrue(s.startsWith("launches "), s);
        assertEquals(List.of(), CudaForward.unsupported(TestNets.smallCnn(7)));
        assertTrue(CudaForward.dryPlan(TestNets.smallCnn(7), 3).startsWith("launches "));
    }

    @Test
    void namesWhatItCannotRun() {
        List<String> bad = CudaForward.unsupported(TestNets.withTranspose(1));
        assertEquals(1, bad.size(), bad.toString());
        assertTrue(bad.getFirst().startsWith("Transpose (node "), bad.toString());
        ZeroqException e = assertThrows(ZeroqException.class, () -> CudaForward.dryPlan(TestNets.withTranspose(1), 2));
        assertTrue(e.getMessage().contains("Transpose"), e.getMessage());
    }

    @Test
    void aBatchBeyondThirtyTwoBitElementCountsIsRefusedInOneLineAndItsPoolExtrapolated() {
        Graph g = OnnxImporter.parse(Bundled.model("resnet_fmnist"), "resnet_fmnist.onnx").graph();
        long one = CudaForward.plannedPoolBytes(g, 1), two = CudaForward.plannedPoolBytes(g, 2);
        long ten = CudaForward.plannedPoolBytes(g, 10);
        assertEquals(one + 9 * (two - one), ten, 1e-3 * ten, "the pool is linear in the batch, but for alignment");
        int huge = Integer.MAX_VALUE / 100; // some activation of this model holds more than 100 floats per image
        long extrapolated = CudaForward.plannedPoolBytes(g, huge);
        assertEquals(one + (huge - 1L) * (two - one), extrapolated);
        // Refused while planning, before any device is opened: this runs without a GPU.
        ZeroqException e = assertThrows(ZeroqException.class, () -> new CudaForward(g, huge, 0));
        assertTrue(e.badInput() && e.getMessage().contains("for a batch of " + huge + " image(s) is too large for the "
                + "CUDA kernels") && e.getMessage().endsWith("use a smaller batch") && !e.getMessage().contains("\n"),
                e.getMessage());
    }

    /**
     * A batch whose tensors still count in 32 bits but which a direct convolution's grid cannot address (more than
     * 65535 images; the stem of the bundled ResNet runs on it): refused as a batch too large, naming the node, and its
     * pool extrapolated, so a benchmark's memory check says what it would need (an H100's 80 GB ask for such a batch).
     */
    @Test
    void aBatchBeyondTheDirectKernelsGridIsRefusedAsTooLargeAndItsPoolExtrapolated() {
        Graph g = OnnxImporter.parse(Bundled.model("resnet_fmnist"), "resnet_fmnist.onnx").graph();
        int batch = 132_206;
        assertTrue((long) batch * 16 * 28 * 28 < Integer.MAX_VALUE, "the element counts fit: the grid is the limit");
        long one = CudaForward.plannedPoolBytes(g, 1), two = CudaForward.plannedPoolBytes(g, 2);
        assertEquals(one + (batch - 1L) * (two - one), CudaForward.plannedPoolBytes(g, batch));
        ZeroqException e = assertThrows(ZeroqException.class, () -> new CudaForward(g, batch, 0));
        assertTrue(e.badInput() && e.getMessage().contains("for a batch of " + batch + " image(s) is too large for the "
                + "CUDA kernels (Conv node '") && e.getMessage().contains("at most 65535 images")
                && e.getMessage().endsWith("use a smaller batch") && !e.getMessage().contains("\n"), e.getMessage());
    }

    /**
     * With convolutions allowed on cuDNN (--conv auto), every convolution cuDNN can run gets its cuDNN call beside
     * zeroq's launch: reading the same input, writing the same output, with the bias zeroq's launch adds, and weights in
     * a place that replacing the parameter writes (the sensitivity passes swap weights under both). Without, none.
     */
    @Test
    void cudnnAlternativesUseTheKernelsPlacesAndReplacedWeightsReachThem() {
        for (Graph g : List.of(OnnxImporter.parse(Bundled.model("resnet_fmnist"), "resnet_fmnist.onnx").graph(),
                OnnxImporter.parse(Bundled.model("mobilenet_fmnist"), "mobilenet_fmnist.onnx").graph(),
                TestNets.smallCnn(7))) {
            assertTrue(CudaForward.dryPlan(g, 3, CudaDistiller.Cudnn.OFF).pending.stream().allMatch(q -> q.cudnn() == null));
            DevicePlan p = CudaForward.dryPlan(g, 3, CudaDistiller.Cudnn.FASTEST);
            List<Node> convs = g.nodesOf(Op.Conv.class).stream()
                    .filter(n -> CudnnConv.unsupported(((Op.Conv) n.op()).spec()) == null).toList();
            List<DevicePlan.Pending> calls = p.pending.stream().filter(q -> q.cudnn() != null).toList();
            assertEquals(convs.size(), calls.size(), g.name());
            assertTrue(!calls.isEmpty(), g.name());
            for (int i = 0; i < convs.size(); i++) {
                Node n = convs.get(i);
                DevicePlan.Pending q = calls.get(i);
                DevicePlan.ConvCall c = q.cudnn();
                String what = g.name() + " conv '" + n.name() + "'";
                assertTrue(c.forward() && !c.accumulate(), what);
                assertSame(p.planned(n.input(0)), c.x().region(), what + ": input");
                assertSame(p.planned(n.output()), c.y().region(), what + ": output");
                assertArrayEquals(p.shapes.get(n.input(0)), c.xs(), what);
                assertArrayEquals(g.param(n.input(1)).shape(), c.ws(), what);
                List<Object> regions = new ArrayList<>();
                for (Object arg : q.args()) if (arg instanceof DevicePlan.At at) regions.add(at.region());
                assertTrue(regions.contains(c.x().region()) && regions.contains(c.y().region()), what + ": zeroq's launch "
                        + q.kernel() + " reads and writes the same values");
                boolean bias = n.inputs().size() > 2 && !n.input(2).isEmpty();
                if (bias) {
                    assertSame(p.operand(n.input(2)).region(), c.bias().region(), what + ": bias");
                } else {
                    assertNull(c.bias(), what);
                }
                List<DevicePlan.ParamUse> uses = p.paramUses(n.input(1));
                assertTrue(uses.stream().anyMatch(u -> u.region() == c.w().region() && u.reorder() == null), what
                        + ": replacing the weights writes cuDNN's copy, in the graph's layout (" + uses.size()
                        + " places, " + Arrays.toString(c.ws()) + ")");
            }
        }
    }
}
