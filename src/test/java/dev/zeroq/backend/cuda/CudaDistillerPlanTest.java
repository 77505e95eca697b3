// Planning of the device-resident distillation without a device: the graph walk, shapes, pool layout and every
// kernel's argument list are built (only the device allocation and launches are skipped), and unsupported ops
// are named. Runs on machines without a GPU.
package dev.zeroq.backend.cuda;

import dev.zeroq.ZeroqException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CudaDistillerPlanTest {
    @Test
    void plansTheSmallCnnWithEveryConvAlgorithm() {
        for (CudaDistiller.ConvAlgorithm a : CudaDistiller.ConvAlgorithm.values()) {
            String s = CudaDistiller.dryPlan(TestNets.smallCnn(7), 3, new CudaDistiller.Options(a, false));
            assertTrue(s.startsWith("launches "), s);
        }
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
