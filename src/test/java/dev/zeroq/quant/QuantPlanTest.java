package dev.zeroq.quant;

import dev.zeroq.ZeroqException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Plan JSON: exact round trip, model check, and one-line errors for every kind of bad file. */
class QuantPlanTest {
    private static final String SHA = QuantPlan.sha256("model bytes".getBytes(StandardCharsets.UTF_8));

    static QuantPlan samplePlan() {
        var conv = new QuantPlan.Layer("conv1", "Conv", 8, 9408, new float[] {-0.71f, 1e-8f, -3.4028235e38f},
                new float[] {0.83f, 0.1f, 3.4028235e38f}, null, null);
        var fc = new QuantPlan.Layer("fc", "Gemm", 4, 5130, null, null, new float[] {0.0123f, Float.MIN_VALUE}, null);
        var acts = List.of(new QuantPlan.Activation("relu1", 8, 0f, 6.25f, null, null),
                new QuantPlan.Activation("x", 8, -2.1179039f, 2.64f, 0.018663f, 114));
        var frontier = Pareto.frontier(new long[] {9408, 5130}, new int[] {2, 4, 8},
                new double[][] {{0.3, 0.01, 1e-5}, {0.7, 0.1, 0.1 + 0.2}});
        var mp = new QuantPlan.MixedPrecision(List.of(2, 4, 8), List.of("conv1", "fc"), 80_000,
                frontier.choose(80_000).sizeBits(), frontier.points(), frontier.thinned());
        return new QuantPlan(1, new QuantPlan.Model(SHA, "tiny.onnx"), QuantPlan.Scheme.PAPER, 8, 8, ClipMethod.PERCENTILE,
                QuantPlan.Calibration.ZEROQ, 42L, new QuantPlan.Distillation(32, 1, 500, QuantPlan.Init.UNIFORM),
                List.of(conv, fc), acts, mp);
    }

    @Test
    void roundTripIsExact(@TempDir Path dir) throws Exception {
        QuantPlan plan = samplePlan();
        Path file = dir.resolve("plan.json");
        plan.write(file);
        QuantPlan back = QuantPlan.read(file);
        assertEquals(plan, back);
        assertEquals(plan.toJson(), back.toJson());
        // Atomic write leaves no temporary file behind, and overwrites an existing plan.
        plan.write(file);
        try (var files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList());
        }
        String json = plan.toJson();
        assertTrue(json.contains("\"scheme\" : \"paper\"") && json.contains("\"clip\" : \"percentile\""), json);
        assertFalse(json.contains("null"), "optional fields are left out, not written as null");
    }

    @Test
    void optionalPartsMayBeAbsent() {
        QuantPlan p = samplePlan();
        QuantPlan bare = new QuantPlan(1, p.model(), QuantPlan.Scheme.DEPLOY, 8, 8, ClipMethod.MINMAX,
                QuantPlan.Calibration.DATA, 7, null, p.layers(), p.activations(), null);
        assertEquals(bare, QuantPlan.fromJson(bare.toJson(), "t"));
    }

    @Test
    void floatsRoundTripBitForBit() {
        // Shortest-repr floats through JSON: random bit patterns (all finite ones, subnormals included).
        SplittableRandom rnd = new SplittableRandom(99);
        float[] v = new float[20_000];
        for (int i = 0; i < v.length; ) {
            float f = Float.intBitsToFloat(rnd.nextInt());
            if (Float.isFinite(f)) {
                v[i++] = f;
            }
        }
        v[0] = Float.MIN_VALUE;
        v[1] = -Float.MAX_VALUE;
        v[2] = 0.1f;
        v[3] = 1.0E-8f;
        float[] lo = new float[v.length];
        float[] hi = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            lo[i] = Math.min(v[i], -v[i]);
            hi[i] = Math.max(v[i], -v[i]);
        }
        QuantPlan p = samplePlan();
        var layer = new QuantPlan.Layer("w", "Conv", 8, v.length, lo, hi, null, null);
        QuantPlan plan = new QuantPlan(1, p.model(), p.scheme(), 8, 8, p.clip(), p.calibration(), 1, null,
                List.of(layer), List.of(), null);
        QuantPlan back = QuantPlan.fromJson(plan.toJson(), "t");
        assertEquals(plan, back); // Layer.equals compares floats with Arrays.equals: bit patterns
        assertEquals(Float.toString(0.1f), "0.1");
        assertTrue(plan.toJson().contains("0.1,") || plan.toJson().contains("0.1\n"), "0.1f is written as 0.1");
    }

    @Test
    void wrongModelIsNamedWithBothHashes() {
        QuantPlan plan = samplePlan();
        plan.requireModel(SHA.toUpperCase());
        String other = QuantPlan.sha256("other".getBytes(StandardCharsets.UTF_8));
        ZeroqException e = assertThrows(ZeroqException.class, () -> plan.requireModel(other, "big.onnx"));
        assertTrue(e.badInput());
        assertEquals("plan for tiny.onnx was made for model SHA-256 " + SHA.substring(0, 12) + "… but big.onnx has "
                + other.substring(0, 12) + "…; re-run zeroq quantize on this model", e.getMessage());
    }

    @Test
    void sha256OfKnownVectorAndFile(@TempDir Path dir) throws Exception {
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                QuantPlan.sha256("abc".getBytes(StandardCharsets.US_ASCII)));
        Path f = dir.resolve("m.onnx");
        Files.write(f, "abc".getBytes(StandardCharsets.US_ASCII));
        assertEquals(QuantPlan.sha256("abc".getBytes(StandardCharsets.US_ASCII)), QuantPlan.sha256(f));
    }

    private static String bad(String json) {
        ZeroqException e = assertThrows(ZeroqException.class, () -> QuantPlan.fromJson(json, "p.json"));
        assertTrue(e.badInput());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void malformedEmptyAndIncompletePlansAreOneLineErrors(@TempDir Path dir) throws Exception {
        String good = samplePlan().toJson();
        assertEquals("plan p.json is empty; re-run zeroq quantize to make it", bad("  \n"));
        assertTrue(bad(good.substring(0, good.length() / 2)).startsWith("plan p.json is not a valid zeroq plan: "));
        assertTrue(bad("{\"formatVersion\": 1,}").startsWith("plan p.json is not a valid zeroq plan: "));
        assertTrue(bad(good.replace("\"seed\" : 42,", "")).contains("'seed'"));
        assertTrue(bad(good.replace("\"seed\" : 42,", "\"seed\" : \"42\",")).contains("seed"));
        assertTrue(bad(good.replace("\"seed\" : 42,", "\"seed\" : 42, \"sede\" : 1,")).contains("sede"));
        assertTrue(bad(good.replace("\"scheme\" : \"paper\"", "\"scheme\" : \"fast\"")).contains("scheme"));
        assertTrue(bad(good + " {}").startsWith("plan p.json is not a valid zeroq plan"));
        assertTrue(bad(good.replace("\"formatVersion\" : 1", "\"formatVersion\" : 9")).contains("version 9"));
        Path empty = dir.resolve("e.json");
        Files.writeString(empty, "");
        ZeroqException e = assertThrows(ZeroqException.class, () -> QuantPlan.read(empty));
        assertEquals("plan " + empty + " is empty; re-run zeroq quantize to make it", e.getMessage());
        ZeroqException missing = assertThrows(ZeroqException.class, () -> QuantPlan.read(dir.resolve("none.json")));
        assertTrue(missing.getMessage().startsWith("cannot read plan "));
    }

    @Test
    void bitsOutsideTwoToEightAreRejected() {
        String good = samplePlan().toJson();
        assertEquals("plan p.json: weightBits must be between 2 and 8, got 9",
                bad(good.replaceFirst("\"weightBits\" : 8", "\"weightBits\" : 9")));
        assertEquals("plan p.json: layer fc: weightBits must be between 2 and 8, got 1",
                bad(good.replace("\"weightBits\" : 4", "\"weightBits\" : 1")));
        assertEquals("plan p.json: activation relu1: bits must be between 2 and 8, got 16",
                bad(good.replaceFirst("\"bits\" : 8", "\"bits\" : 16")));
        assertTrue(bad(good.replaceFirst("\"weightBits\" : 8", "\"weightBits\" : 8.5")).contains("weightBits"));
        assertThrows(ZeroqException.class, () -> new QuantPlan.Activation("a", 0, 0, 1, null, null));
    }
}
