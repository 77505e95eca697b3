// CudaForward's planning without a GPU: which graphs it accepts (the bundled models, the test CNN) and which it
// names as unsupported, and that a dry plan of the bundled models builds every launch and the pool layout.
package dev.zeroq.backend.cuda;

import dev.zeroq.ZeroqException;
import dev.zeroq.graph.Graph;
import dev.zeroq.io.Bundled;
import dev.zeroq.onnx.OnnxImporter;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
}
