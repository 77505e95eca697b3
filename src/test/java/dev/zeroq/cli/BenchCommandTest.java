// zeroq bench on an exported QDQ model (its own plan) and its --json shape, the clear error when int8 has no plan, and
// --device cuda without a GPU: an error for an explicit request, the CPU with one INFO line for auto.
package dev.zeroq.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.zeroq.ZeroqException;
import dev.zeroq.backend.cuda.CudaAvailability;
import dev.zeroq.bench.Bench;
import dev.zeroq.graph.Graph;
import dev.zeroq.int8.TestCnn;
import dev.zeroq.onnx.OnnxTestModels;
import dev.zeroq.onnx.QdqExporter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class BenchCommandTest {
    @TempDir
    Path dir;

    private static BenchCommand parse(String... args) {
        BenchCommand c = new BenchCommand();
        new CommandLine(c).parseArgs(args);
        return c;
    }

    @Test
    void int8WithoutAPlanNamesThePlanOption() throws Exception {
        Path m = dir.resolve("relu.onnx");
        Files.write(m, OnnxTestModels.model(13).input("x", -1, 1, 3, 3).node("Relu", List.of("x"), List.of("y"))
                .output("y").bytes());
        ZeroqException e = assertThrows(ZeroqException.class, () -> parse(m.toString(), "--device", "ref").call());
        assertTrue(e.badInput());
        assertTrue(e.getMessage().contains("--plan"), e.getMessage());
    }

    @Test
    void benchmarksAQdqModelAsJson() throws Exception {
        Graph g = TestCnn.build(5);
        Path m = dir.resolve("q.onnx");
        QdqExporter.export(g, TestCnn.deployPlan(g, 8, 5), m);
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true));
        try {
            assertEquals(0, parse(m.toString(), "--device", "ref", "--batch", "1,2", "--seconds", "0", "--json").call());
        } finally {
            System.setOut(old);
        }
        JsonNode j = new ObjectMapper().readTree(buf.toString());
        assertEquals(List.of("model", "device", "timing", "machine", "gpu", "results", "speedups", "int8Check", "notes"),
                fieldNames(j));
        assertEquals("ref", j.get("device").asText());
        assertTrue(j.get("timing").asText().startsWith("host wall clock"), j.get("timing").asText());
        assertEquals(List.of("cpu", "cores", "jvm", "os"), fieldNames(j.get("machine")));
        assertTrue(j.get("gpu").isNull() && j.get("int8Check").isNull(), "no card and no device check on the CPU");
        assertEquals(4, j.get("results").size());
        for (JsonNode r : j.get("results")) {
            assertEquals(List.of("precision", "batch", "samples", "p50Ms", "p99Ms", "meanMs", "imagesPerSecond", "tops"),
                    fieldNames(r));
            assertTrue(r.get("p50Ms").asDouble() > 0 && r.get("p99Ms").asDouble() >= r.get("p50Ms").asDouble(), r.toString());
            // int8 rows carry the integer layers' TOPS; FP32 rows none.
            assertEquals(r.get("precision").asText().equals("int8"), r.get("tops").isNumber(), r.toString());
        }
        assertEquals(2, j.get("speedups").size());
        assertEquals(List.of("batch", "fp32P50Ms", "int8P50Ms", "speedup"), fieldNames(j.get("speedups").get(0)));
        assertTrue(j.get("notes").isArray());
    }

    @Test
    void aCudaReportNamesTheCardThePeakAndTheCheck() {
        // A made-up card and made-up timings: only the rendering is under test (no GPU ran here).
        Bench.Gpu gpu = new Bench.Gpu("cuda:0", "Test Card", "sm_90", 132, 1980, "13.0", 79.6, 2141.06, "132 SMs × 1980 MHz "
                + "× 8192 dense int8 ops/clock/SM (sm_90)");
        Bench.Report r = new Bench.Report("m.onnx", "cuda:0", "CUDA events around whole forward passes",
                new Bench.Machine("Test CPU", 16, "JVM", "OS"), gpu,
                List.of(new Bench.Result("fp32", 8, 20, 4.0, 5.0, 4.2, 1900, null),
                        new Bench.Result("int8", 8, 20, 1.0, 1.5, 1.1, 7300, 21.4)),
                List.of(new Bench.Speedup(8, 4.0, 1.0, 4.0)), new Bench.Check(1, 10, 10, 0, 1, true),
                List.of("fp32 at batch 8: a note"));
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        BenchCommand.print(r, new PrintStream(buf, true));
        String out = buf.toString();
        assertTrue(out.startsWith("m.onnx on cuda:0: Test Card (sm_90, 132 SMs at 1980 MHz, 79.6 GiB), driver 13.0; host "
                + "Test CPU (16 cores), JVM"), out);
        assertTrue(out.contains("int8 nominal peak: 2141 TOPS (132 SMs × 1980 MHz × 8192 dense int8 ops/clock/SM (sm_90); "
                + "arithmetic, not measured)"), out);
        assertTrue(out.contains("% of nominal") && out.contains("21.4") && out.contains("1.00"), out); // 21.4 / 2141 = 1.00 %
        assertTrue(out.contains("batch 8: int8 4.00x faster than fp32"), out);
        Bench.Report slower = new Bench.Report(r.model(), r.device(), r.timing(), r.machine(), r.gpu(), r.results(),
                List.of(new Bench.Speedup(1, 4.0, 5.0, 0.8)), r.check(), r.notes());
        ByteArrayOutputStream buf2 = new ByteArrayOutputStream();
        BenchCommand.print(slower, new PrintStream(buf2, true));
        assertTrue(buf2.toString().contains("batch 1: int8 1.25x slower than fp32 (p50 5.000 ms vs 4.000 ms)"), buf2.toString());
        assertTrue(out.contains("10/10 logits bit-identical") && out.contains("top-1 same 1/1: ok"), out);
        assertTrue(out.contains("note: fp32 at batch 8: a note"), out);

        Bench.Report unknown = new Bench.Report("m.onnx", "cuda:0", "t", r.machine(), new Bench.Gpu("cuda:0", "Other", "sm_100",
                148, 1965, "13.0", 180, null, "no dense int8 rate on record for sm_100"), r.results(), r.speedups(), null,
                List.of());
        buf.reset();
        BenchCommand.print(unknown, new PrintStream(buf, true));
        assertTrue(buf.toString().contains("int8 nominal peak: omitted: no dense int8 rate on record for sm_100"), buf.toString());
        assertFalse(buf.toString().contains("% of nominal"), buf.toString());
    }

    private static List<String> fieldNames(JsonNode n) {
        List<String> names = new java.util.ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private Path reluModel() throws Exception {
        Path m = dir.resolve("relu.onnx");
        Files.write(m, OnnxTestModels.model(13).input("x", -1, 1, 3, 3).node("Relu", List.of("x"), List.of("y"))
                .output("y").bytes());
        return m;
    }

    @Test
    void explicitCudaWithoutAGpuIsAOneLineErrorNotACpuMeasurement() throws Exception {
        CudaAvailability a = CudaAvailability.probe();
        assumeFalse(a.usable(), "this machine has a usable GPU, so --device cuda runs there");
        CliTest.Run r = CliTest.zeroq("bench", reluModel().toString(), "--device", "cuda", "--precision", "fp32",
                "--batch", "1", "--seconds", "0");
        assertEquals(2, r.code(), r.err());
        assertEquals("", r.out(), "nothing measured");
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.errLine().startsWith("zeroq: error: --device cuda is not usable: ")
                && r.errLine().endsWith("; use --device cpu"), r.err());
    }

    @Test
    void autoWithoutAGpuMeasuresTheCpuWithOneInfoLine() throws Exception {
        assumeFalse(CudaAvailability.probe().usable(), "this machine has a usable GPU: auto picks it");
        CliTest.Run r = CliTest.zeroq("bench", reluModel().toString(), "--device", "auto", "--precision", "fp32",
                "--batch", "1", "--seconds", "0", "--json");
        assertEquals(0, r.code(), r.err());
        assertEquals(1, r.err().lines().filter(l -> l.startsWith("INFO  using the CPU backend: ")).count(), r.err());
        assertFalse(r.err().contains("zeroq: error"), r.err());
        assertEquals("cpu", new ObjectMapper().readTree(r.out()).get("device").asText());
    }
}
