// The CUDA benchmark's arithmetic without a GPU: the nominal int8 peak table, the int8 op count of a small graph
// against a hand count, the event-timed sampling loop on a fake timer, the logits check and the memory refusal.
package dev.zeroq.bench;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.cuda.CudaDeviceInfo;
import dev.zeroq.backend.cuda.CudaIntegerModel;
import dev.zeroq.graph.Graph;
import dev.zeroq.int8.IntegerModel;
import dev.zeroq.int8.TestCnn;
import dev.zeroq.io.Bundled;
import dev.zeroq.onnx.OnnxImporter;
import dev.zeroq.pipeline.Simulation;
import dev.zeroq.quant.QuantPlan;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CudaBenchTest {
    @Test
    void nominalPeakIsSmsTimesClockTimesThePerSmRate() {
        // The datasheet figures the table was derived from come back (A100 624, H100 SXM 1979) within rounding.
        Int8Peak.Nominal a100 = Int8Peak.of(80, 108, 1_410_000);
        assertEquals(108 * 1.41e9 * 4096 / 1e12, a100.tops(), 1e-9);
        assertEquals(624, a100.tops(), 0.5);
        assertEquals("108 SMs × 1410 MHz × 4096 dense int8 ops/clock/SM (sm_80)", a100.basis());
        assertEquals(1979, Int8Peak.of(90, 132, 1_830_000).tops(), 0.5);
        assertEquals(733, Int8Peak.of(89, 142, 2_520_000).tops(), 0.5);
        assertEquals(299.3, Int8Peak.of(86, 84, 1_740_000).tops(), 0.1);
        // The driver's clock is used as it is: 1980 MHz on a 132-SM sm_90 card is 2141 TOPS, not the datasheet's 1979.
        assertEquals(132 * 1.98e9 * 8192 / 1e12, Int8Peak.of(90, 132, 1_980_000).tops(), 1e-9);
    }

    @Test
    void unknownArchitecturesHaveNoPeakAndSayWhy() {
        Int8Peak.Nominal n = Int8Peak.of(100, 148, 1_965_000);
        assertFalse(n.known());
        assertNull(n.tops());
        assertTrue(n.basis().contains("sm_100") && n.basis().contains("sm_90"), n.basis());
        assertFalse(Int8Peak.of(90, 132, 0).known());
        assertEquals(0, Int8Peak.opsPerClockPerSm(75));
    }

    @Test
    void int8OpsOfTheTestCnnMatchAHandCount() {
        Graph g = TestCnn.build(5);
        IntegerModel engine = IntegerModel.compile(g, TestCnn.deployPlan(g, 8, 5));
        assertEquals(6, engine.integerLayers());
        // Input 3×13×11. MACs = Cin/group·kh·kw · Cout · outH·outW (gemm: K · N):
        long conv1 = 3 * 9 * 8 * 13 * 11;   // 3→8, 3×3, pad 1: 13×11 out        = 30,888
        long res1 = 8 * 9 * 8 * 6 * 5;      // after the 2×2 max pool: 6×5      = 17,280
        long res2 = 8 * 9 * 8 * 6 * 5;      //                                  = 17,280
        long down = 8 * 9 * 12 * 3 * 3;     // 8→12, stride 2, pad 1: 3×3 out   =  7,776
        long depthwise = 9 * 12 * 3 * 3;    // group 12: one input channel each =    972
        long gemm = 12 * 5;                 // 12 features → 5 classes          =     60
        assertEquals(conv1 + res1 + res2 + down + depthwise + gemm, engine.integerMacsPerImage());
        assertEquals(74_256, engine.integerMacsPerImage());
    }

    @Test
    void samplingStopsOnceTheRoundMediansAgree() {
        // A fake device: 2 ms per run, the first 20 runs (warm-up and the first round) slower while "clocks ramp up".
        int[] calls = {0};
        CudaBench.EventTimer timer = (w, n) -> {
            double[] ms = new double[n];
            for (int i = 0; i < n; i++) ms[i] = calls[0]++ < 20 ? 3.0 : 2.0;
            return ms;
        };
        List<String> notes = new ArrayList<>();
        CudaBench.Settings s = new CudaBench.Settings(0.02, 10, 0.05, 20, 30);
        Bench.Result r = CudaBench.measure("int8", 4, timer, s, 1_000_000_000L, notes);
        assertEquals(List.of(), notes);
        // Warm-up: 10 runs; rounds: 3 ms (no median before it), 2 vs 3, 2 vs 2.5, 2 vs 2: stable, 40 samples.
        assertEquals(40, r.samples());
        assertEquals(2.0, r.p50Ms());
        assertEquals(3.0, r.p99Ms()); // the one slow round is in the samples: p99 shows it
        assertEquals(1e9 * 4 / 2e-3 / 1e12, r.tops(), 1e-12);
        assertEquals(4 * r.samples() / (r.meanMs() * r.samples() * 1e-3), r.imagesPerSecond(), 1e-6);
    }

    @Test
    void aPointThatNeverSettlesStopsAtTheLimitWithANote() {
        double[] next = {1};
        CudaBench.EventTimer timer = (w, n) -> {
            double[] ms = new double[n];
            for (int i = 0; i < n; i++) ms[i] = next[0] *= 1.01; // always 10% slower per round
            return ms;
        };
        List<String> notes = new ArrayList<>();
        Bench.Result r = CudaBench.measure("fp32", 1, timer, new CudaBench.Settings(0, 0, 0, 1, 0.2), null, notes);
        assertNull(r.tops());
        assertEquals(1, notes.size());
        assertTrue(notes.getFirst().startsWith("fp32 at batch 1: the round medians still moved"), notes.getFirst());
    }

    @Test
    void nearestRankPercentilesOfDoubles() {
        double[] s = {1, 2, 3, 4};
        assertEquals(2, Bench.percentile(s, 50));
        assertEquals(4, Bench.percentile(s, 99));
    }

    @Test
    void logitCheckCountsExactMatchesAndTopOne() {
        float[] cpu = {1, 5, 2, 9, 0, 1};
        Bench.Check same = CudaBench.compare(cpu, cpu.clone(), 2);
        assertEquals(new Bench.Check(2, 6, 6, 0, 2, true), same);
        Bench.Check off = CudaBench.compare(cpu, new float[] {1, 5, 2, 0, 9, 1}, 2);
        assertEquals(4, off.exactLogits());
        assertEquals(9, off.maxAbsDiff());
        assertEquals(1, off.top1Same());
        assertFalse(off.passed());
    }

    @Test
    void aBatchTheDeviceCannotHoldIsRefusedBeforeAnyEngineIsBuilt() {
        Graph g = OnnxImporter.parse(Bundled.model("resnet_fmnist"), "resnet_fmnist.onnx").graph();
        IntegerModel engine = IntegerModel.compile(g, TestCnn.deployPlan(g, 8, 1));
        Graph folded = Simulation.workingGraph(g, QuantPlan.Scheme.DEPLOY);
        long perImage = CudaIntegerModel.plannedBytes(engine, 2) - CudaIntegerModel.plannedBytes(engine, 1);
        assertTrue(perImage > 0, "int8 bytes per image " + perImage);
        System.out.println("planned device memory of resnet_fmnist: int8 " + perImage + " bytes per image, fp32 "
                + (dev.zeroq.backend.cuda.CudaForward.plannedPoolBytes(folded, 2)
                   - dev.zeroq.backend.cuda.CudaForward.plannedPoolBytes(folded, 1)) + " bytes per image");
        // A card with 1 GiB free of 80 GiB: a small batch passes, a batch needing more than 1 GiB is named.
        CudaDeviceInfo card = new CudaDeviceInfo(0, "Test card", 90, 132, 1_980_000, 13000, 1L << 30, 80L << 30);
        CudaBench.requireMemory(card, "resnet_fmnist.onnx", folded, engine, new int[] {1, 2});
        int big = Math.toIntExact((2L << 30) / perImage + 1);
        ZeroqException e = assertThrows(ZeroqException.class,
                () -> CudaBench.requireMemory(card, "resnet_fmnist.onnx", folded, engine, new int[] {1, big}));
        assertTrue(e.badInput());
        assertTrue(e.getMessage().matches("(fp32|int8) on 'resnet_fmnist.onnx' at batch " + big + " needs [0-9.]+ GiB of "
                + "device memory on cuda:0, but 1.000 GiB of 80.000 GiB is free; use a smaller batch"), e.getMessage());
        // int8 alone: its own, smaller, need is what is named.
        e = assertThrows(ZeroqException.class,
                () -> CudaBench.requireMemory(card, "resnet_fmnist.onnx", null, engine, new int[] {big}));
        assertTrue(e.getMessage().startsWith("int8 on 'resnet_fmnist.onnx' at batch " + big + " needs 2.0"), e.getMessage());
    }
}
