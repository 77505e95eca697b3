// zeroq bench on an exported QDQ model (its own plan) and its --json shape, the clear error when int8 has no plan, and
// --device cuda without a GPU: an error for an explicit request, the CPU with one INFO line for auto.
package dev.zeroq.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.zeroq.ZeroqException;
import dev.zeroq.backend.cuda.CudaAvailability;
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
