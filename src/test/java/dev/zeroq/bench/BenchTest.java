// The benchmark library's bookkeeping (not timings: performance is never asserted by tests).
package dev.zeroq.bench;

import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.graph.Executor;
import dev.zeroq.graph.Graph;
import dev.zeroq.int8.IntegerModel;
import dev.zeroq.int8.TestCnn;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchTest {
    @Test
    void percentilesAreNearestRank() {
        double[] s = {1, 2, 3, 4};
        assertEquals(2, Bench.percentile(s, 50));
        assertEquals(4, Bench.percentile(s, 99));
        assertEquals(7, Bench.percentile(new double[] {7}, 99));
    }

    @Test
    void runsEveryPrecisionAndBatchAndComputesSpeedups() {
        Graph g = TestCnn.build(3);
        Map<String, UnaryOperator<Tensor>> fns = new LinkedHashMap<>();
        fns.put("fp32", new Executor(g, new RefBackend())::run);
        IntegerModel engine = IntegerModel.compile(g, TestCnn.deployPlan(g, 8, 3));
        fns.put("int8", engine);
        Bench.Report r = Bench.run("testcnn", "ref", fns, new int[] {1, 2}, g.inputShape(), 1,
                new Bench.Settings(0, 1, 0, 3), Map.of("int8", 2 * engine.integerMacsPerImage()));
        assertEquals(4, r.results().size());
        for (Bench.Result x : r.results()) {
            assertTrue(x.samples() >= 3 && x.p50Ms() > 0 && x.p99Ms() >= x.p50Ms() && x.imagesPerSecond() > 0, x.toString());
            // TOPS only where an op count was given, and then exactly ops · batch / p50.
            if (x.precision().equals("int8")) {
                assertEquals(2.0 * engine.integerMacsPerImage() * x.batch() / (x.p50Ms() * 1e-3) / 1e12, x.tops(), 1e-12);
            } else {
                assertNull(x.tops());
            }
        }
        assertNull(r.gpu());
        assertTrue(r.timing().startsWith("host wall clock"), r.timing());
        assertEquals(2, r.speedups().size());
        assertFalse(r.machine().cpu().isBlank());
        assertTrue(r.machine().cores() >= 1);
    }
}
