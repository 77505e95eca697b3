// zeroq bench on an exported QDQ model (its own plan) and the clear error when int8 has no plan.
package dev.zeroq.cli;

import dev.zeroq.ZeroqException;
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
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
        String json = buf.toString();
        assertTrue(json.contains("\"speedups\"") && json.contains("\"int8\"") && json.contains("\"fp32\""), json);
    }
}
