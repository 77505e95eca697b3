// zeroq doctor's engine checks: the comparison logic and the CPU half of each check run here with CPU stand-ins for
// the device engines (which must then all pass, and a wrong engine must fail); on a GPU host the real ones run
// (DeviceSelfTestGpuTest, and `zeroq doctor` in native/gpu-check.sh).
package dev.zeroq.pipeline;

import dev.zeroq.backend.SelfTest;
import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.distill.DistillConfig;
import dev.zeroq.distill.Distiller;
import dev.zeroq.graph.Executor;
import dev.zeroq.graph.Graph;
import dev.zeroq.int8.IntegerModel;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeviceSelfTestTest {
    /** The CPU engines in place of the device ones: every check must pass. */
    private static final DeviceSelfTest.Engines CPU = new DeviceSelfTest.Engines() {
        @Override
        public Tensor forward(Graph g, Tensor x) {
            return new Executor(g, new CpuBackend()).run(x);
        }

        @Override
        public double[] distill(Graph g, DistillConfig cfg) {
            return new Distiller(g, new CpuBackend()).distill(cfg, it -> { }).lossCurves()[0];
        }

        @Override
        public Tensor int8(IntegerModel engine, Tensor x) {
            return engine.apply(x);
        }
    };

    @Test
    void everyCheckPassesWithEnginesThatAgreeAndNamesItsRow() {
        List<SelfTest.Check> checks = DeviceSelfTest.run(CPU);
        assertEquals(List.of("forward pass (device-resident)", "distillation, 2 iterations", "int8 engine (tensor cores)"),
                checks.stream().map(SelfTest.Check::op).toList());
        for (SelfTest.Check c : checks) assertTrue(c.ok() && c.error() == null, c.toString());
    }

    @Test
    void anEngineThatDisagreesOrThrowsFailsItsRowOnly() {
        DeviceSelfTest.Engines wrong = new DeviceSelfTest.Engines() {
            @Override
            public Tensor forward(Graph g, Tensor x) {
                Tensor y = CPU.forward(g, x);
                y.data()[3] += 0.5f; // one logit off
                return y;
            }

            @Override
            public double[] distill(Graph g, DistillConfig cfg) {
                throw new IllegalStateException("no device");
            }

            @Override
            public Tensor int8(IntegerModel engine, Tensor x) {
                return CPU.int8(engine, x);
            }
        };
        List<SelfTest.Check> checks = DeviceSelfTest.run(wrong);
        assertFalse(checks.get(0).ok(), checks.get(0).toString());
        assertEquals(0.5, checks.get(0).maxError(), 1e-6);
        assertFalse(checks.get(1).ok());
        assertEquals("no device", checks.get(1).error());
        assertTrue(checks.get(2).ok(), checks.get(2).toString());
    }

    @Test
    void lossCurvesAgreeWithinTheToleranceOrFail() {
        assertTrue(DeviceSelfTest.lossCheck("d", new double[] {100, 50}, new double[] {100.01, 50.02}).ok());
        SelfTest.Check off = DeviceSelfTest.lossCheck("d", new double[] {100, 50}, new double[] {100, 51});
        assertFalse(off.ok());
        assertEquals(0.02, off.maxError(), 1e-12);
        assertFalse(DeviceSelfTest.lossCheck("d", new double[] {100, 50}, new double[] {100}).ok(), "missing iteration");
        assertFalse(DeviceSelfTest.lossCheck("d", new double[] {100}, new double[] {Double.NaN}).ok(), "NaN loss");
    }
}
