package dev.zeroq.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.zeroq.io.Bundled;
import dev.zeroq.io.Npy;
import dev.zeroq.onnx.OnnxTestModels;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The command line as a user meets it: exit codes (0 ok, 2 bad input, 1 internal), one-line errors on
 * stderr without stack traces, JSON with --json, and nothing half-written on failure.
 */
class CliTest {
    @TempDir
    static Path dir;
    static Path model;

    /** What a command printed and returned. */
    record Run(int code, String out, String err) {
        String errLine() {
            return err.lines().filter(l -> l.startsWith("zeroq:")).findFirst().orElse("");
        }
    }

    static synchronized Run zeroq(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.execute(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @BeforeAll
    static void writeModel() throws Exception {
        model = dir.resolve("resnet.onnx");
        Files.write(model, Bundled.model("resnet_fmnist"));
    }

    private static void assertBadInput(Run r, String expected) {
        assertEquals(2, r.code(), "exit code; stderr: " + r.err());
        assertTrue(r.errLine().contains(expected), "expected '" + expected + "' in: " + r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace without --verbose: " + r.err());
    }

    @Test
    void doctorSelfTestsTheCpuBackendAndSaysWhyCudaIsMissing() {
        Run r = zeroq("doctor");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("all self-tests passed"), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("cpu ") && l.contains("conv2d") && l.endsWith("ok")), r.out());
        if (!dev.zeroq.backend.cuda.CudaAvailability.probe().usable()) {
            assertTrue(r.out().contains("cuda        not usable: "), r.out());
            assertFalse(r.out().contains(" engine "), "engine rows need a device: " + r.out());
        }
        Run j = zeroq("doctor", "--json");
        assertEquals(0, j.code(), j.err());
        assertTrue(j.out().contains("\"selfTest\"") && j.out().contains("\"result\" : \"ok\""), j.out());
    }

    @Test
    void infoPrintsJsonWithTheBatchNormPairs() throws Exception {
        Run r = zeroq("info", model.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(11, j.get("convBatchNormPairs").asInt());
        assertEquals(1, j.get("input").get("shape").get(1).asInt());
    }

    @Test
    void missingAndBrokenModelFiles() throws Exception {
        assertBadInput(zeroq("info", dir.resolve("nope.onnx").toString()), "not found");
        Path junk = dir.resolve("junk.onnx");
        Files.writeString(junk, "this is not a model");
        assertBadInput(zeroq("info", junk.toString()), "not an ONNX model");
        Path truncated = dir.resolve("truncated.onnx");
        byte[] b = Files.readAllBytes(model);
        Files.write(truncated, java.util.Arrays.copyOf(b, b.length / 3));
        assertEquals(2, zeroq("info", truncated.toString()).code());
    }

    @Test
    void optionErrorsExitWithTwo() {
        assertBadInput(zeroq("quantize", model.toString(), "--wbits", "9"), "--wbits must be between 2 and 8");
        assertBadInput(zeroq("quantize", model.toString(), "--clip", "median"), "unknown clip method");
        assertBadInput(zeroq("quantize", model.toString(), "--mixed"), "--mixed needs a size target");
        assertBadInput(zeroq("quantize", model.toString(), "--calib", "data"), "--calib-images");
        assertBadInput(zeroq("info", model.toString(), "--device", "tpu"), "unknown device");
        assertEquals(2, zeroq("info", model.toString(), "--no-such-option").code());
        assertBadInput(zeroq("info", model.toString(), "--conv", "winograd"), "use auto, zeroq or cudnn");
    }

    @Test
    void cudnnOnTheCpuIsAClearError() {
        assertBadInput(zeroq("distill", model.toString(), "--iters", "1", "--device", "cpu", "--conv", "cudnn"),
                "--conv cudnn needs the CUDA backend");
    }

    @Test
    void tf32IsAcceptedAndChangesNothingOnTheCpu() {
        Path a = dir.resolve("strict.npy"), b = dir.resolve("tf32.npy");
        Run r1 = zeroq("distill", model.toString(), "--iters", "2", "--batch", "2", "--device", "cpu", "--out", a.toString());
        Run r2 = zeroq("distill", model.toString(), "--iters", "2", "--batch", "2", "--device", "cpu", "--tf32", "--out",
                b.toString());
        assertEquals(0, r1.code(), r1.err());
        assertEquals(0, r2.code(), r2.err());
        assertArrayEquals(Npy.read(a).data(), Npy.read(b).data(), "the CPU backends compute in strict FP32 either way");
        for (String c : List.of("distill", "quantize", "sensitivity", "demo")) {
            String usage = Main.commandLine().getSubcommands().get(c).getUsageMessage();
            assertTrue(usage.contains("--tf32") && usage.contains("without effect on the CPU"), c + ": " + usage);
        }
    }

    @Test
    void cudaRequestedWithoutAGpuIsAClearError() {
        org.junit.jupiter.api.Assumptions.assumeFalse(dev.zeroq.backend.cuda.CudaAvailability.probe().usable(), "this machine has a GPU");
        assertBadInput(zeroq("distill", model.toString(), "--iters", "1", "--device", "cuda"), "is not usable");
    }

    @Test
    void runChecksTheInputShapeAndWritesNothingOnError() {
        Path x = dir.resolve("x.npy"), y = dir.resolve("y-bad.npy");
        Npy.write(x, Tensor.zeros(2, 3, 28, 28));
        assertBadInput(zeroq("run", model.toString(), "--input", x.toString(), "--output", y.toString()),
                "expected (N, 1, 28, 28)");
        assertFalse(Files.exists(y));
        Path good = dir.resolve("x1.npy"), out = dir.resolve("y.npy");
        Npy.write(good, Tensor.zeros(2, 1, 28, 28));
        Run r = zeroq("run", model.toString(), "--input", good.toString(), "--output", out.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        assertEquals(List.of(2, 10), java.util.Arrays.stream(Npy.read(out).shape()).boxed().toList());
    }

    @Test
    void aModelWithoutBatchNormCannotBeDistilled() {
        Path nobn = dir.resolve("nobn.onnx");
        byte[] bytes = OnnxTestModels.model(13).input("x", -1, 1, 8, 8).output("y")
                .randomInitializer("w", 1, 4, 1, 3, 3)
                .node("Conv", List.of("x", "w"), List.of("y"), OnnxTestModels.ints("pads", 1, 1, 1, 1)).bytes();
        try {
            Files.write(nobn, bytes);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        assertBadInput(zeroq("distill", nobn.toString(), "--iters", "2"), "no BatchNormalization");
    }

    @Test
    void idxImagesAndLabelsMustAgree() throws Exception {
        Path images = dir.resolve("imgs.idx"), labels = dir.resolve("lbls.idx");
        java.nio.ByteBuffer bi = java.nio.ByteBuffer.allocate(16 + 3 * 28 * 28).putInt(0x803).putInt(3).putInt(28).putInt(28);
        Files.write(images, bi.array());
        java.nio.ByteBuffer bl = java.nio.ByteBuffer.allocate(8 + 2).putInt(0x801).putInt(2);
        Files.write(labels, bl.array());
        assertBadInput(zeroq("eval", model.toString(), "--images", images.toString(), "--labels", labels.toString()),
                "has 3 images but");
    }

    @Test
    void quantizeThenEvalWithThePlanAndRefuseItForAnotherModel() throws Exception {
        Path plan = dir.resolve("p.json");
        Run q = zeroq("quantize", model.toString(), "--iters", "5", "--batch", "8", "--out", plan.toString(), "--json");
        assertEquals(0, q.code(), q.err());
        assertTrue(Files.exists(plan));
        Path other = dir.resolve("other.onnx");
        Files.write(other, Bundled.model("mobilenet_fmnist"));
        Path x = dir.resolve("x2.npy");
        Npy.write(x, Tensor.zeros(1, 1, 28, 28));
        assertBadInput(zeroq("run", other.toString(), "--plan", plan.toString(), "--input", x.toString(), "--output",
                dir.resolve("o.npy").toString()), "re-run zeroq quantize");
        Run r = zeroq("run", model.toString(), "--plan", plan.toString(), "--input", x.toString(), "--output",
                dir.resolve("o.npy").toString());
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void demoRunsTheWholePipelineAndWritesItsReport() throws Exception {
        Path report = dir.resolve("demo-report");
        Run r = zeroq("demo", "--iters", "10", "--limit", "200", "--report", report.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(8, j.get("results").size());
        for (String f : List.of("summary.md", "distilled.png", "pareto.png", "sensitivity.png", "mp4a8.plan.json")) {
            assertTrue(Files.size(report.resolve(f)) > 0, f);
        }
    }
}
