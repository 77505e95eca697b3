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
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchTest {
    @Test
    void percentilesAreNearestRank() {
        long[] s = {1, 2, 3, 4};
        assertEquals(2, Bench.percentile(s, 50));
        assertEquals(4, Bench.percentile(s, 99));
        assertEquals(7, Bench.percentile(new long[] {7}, 99));
    }

    @Test
    void runsEveryPrecisionAndBatchAndComputesSpeedups() {
        Graph g = TestCnn.build(3);
        Map<String, UnaryOperator<Tensor>> fns = new LinkedHashMap<>();
        fns.put("fp32", new Executor(g, new RefBackend())::run);
        fns.put("int8", IntegerModel.compile(g, TestCnn.deployPlan(g, 8, 3)));
        Bench.Report r = Bench.run("testcnn", "ref", fns, new int[] {1, 2}, g.inputShape(), 1,
                new Bench.Settings(0, 1, 0, 3));
        assertEquals(4, r.results().size());
        for (Bench.Result x : r.results()) {
            assertTrue(x.samples() >= 3 && x.p50Ms() > 0 && x.p99Ms() >= x.p50Ms() && x.imagesPerSecond() > 0, x.toString());
        }
        assertEquals(2, r.speedups().size());
        assertFalse(r.machine().cpu().isBlank());
        assertTrue(r.machine().cores() >= 1);
    }
}
