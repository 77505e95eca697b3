// The host emulations of CUDA kernels (native/igemm-emu) as part of the suite where a C++ compiler is present: the
// kernels' own sources, compiled for the CPU, against straightforward references: bit for bit, the int8 engine's
// elementwise kernels and its tensor-core conv (mma, ldmatrix and cp.async emulated, ~40 s on 2 cores), the same-shape
// binary ops, the max-pool gradient from a stored argmax and the fused BatchNorm/Add + activation kernels; to one float ulp, the warp-per-plane BatchNorm-statistics
// loss (its sums run in another order). The FP32/TF32 128×128 implicit-GEMM emulation is longer and stays with
// native/igemm-emu/run.sh.
package dev.zeroq.backend.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class KernelEmulatorTest {
    @Test
    void int8EngineQuantizeAndMaxPoolKernelsMatchTheirReferences() throws Exception {
        String out = emulate("run.sh", "ops");
        assertTrue(out.contains("int8 ops emulator: all cases OK"), out);
        assertTrue(out.lines().filter(l -> l.startsWith("ok ")).count() >= 9, out);
    }

    @Test
    void sameShapeBinaryKernelsMatchTheBroadcastingOnes() throws Exception {
        String out = emulate("run.sh", "binary");
        // 7 sizes × 4 ops × (1 forward + 2 sides × 2 accumulate modes)
        assertEquals(7 * 4 * 5, out.lines().filter(l -> l.startsWith("ok ")).count(), out);
        assertTrue(out.contains("binary emulator: 140 cases, 0 failing"), out);
    }

    @Test
    void maxPoolGradientFromStoredArgmaxMatchesTheRecomputingKernel() throws Exception {
        String out = emulate("run.sh", "pool");
        assertEquals(7 * 2, out.lines().filter(l -> l.startsWith("ok ")).count(), out);
        assertTrue(out.contains("maxpool emulator: 14 cases, 0 failing"), out);
    }

    @Test
    void warpPerPlaneBnStatisticLossMatchesTheBlockKernel() throws Exception {
        String out = emulate("run.sh", "bnstat");
        assertEquals(8 * 2, out.lines().filter(l -> l.startsWith("ok ")).count(), out);
        assertTrue(out.contains("bn_stat emulator: 16 cases, 0 failing"), out);
    }

    @Test
    void fusedActivationKernelsMatchTheKernelsTheyReplace() throws Exception {
        String out = emulate("run.sh", "fused");
        // BatchNorm: 4 shapes × (7 activations forward + 3 relu/clip settings × 2 accumulate modes backward);
        // Add, and BatchNorm + Add: 4 sizes × 3 relu/clip settings × (1 forward + 4 accumulate-mode pairs backward) each
        assertEquals(4 * (7 + 3 * 2) + 2 * 4 * 3 * (1 + 4), out.lines().filter(l -> l.startsWith("ok ")).count(), out);
        assertTrue(out.contains("fused-kernel emulator: 172 cases, 0 failing"), out);
    }

    @Test
    void int8Im2colKernelMatchesItsReference() throws Exception {
        String out = emulate("run.sh", "im2col");
        assertTrue(out.contains("ok: 0 failing runs"), out);
    }

    @Test
    void int8TensorCoreConvChainKernelMatchesItsReferenceInEveryMode() throws Exception {
        String out = emulate("run-int8.sh");
        assertTrue(out.contains("int8 emulator: 10 cases OK"), out);
        // 18 modes per case on the chain kernel, 18 on the lean one (codes out: 3 residual modes × 3 activations, with
        // and without the double path); the 7 cases of at most 64 channels also on the 64-wide tiles; and 6 per case on
        // lean_f (float out, no residual: 3 activations, with and without the double path)
        assertEquals(17 * 18 * 2 + 10 * 6, out.lines().filter(l -> l.trim().startsWith("ok ") && l.contains(" res ")).count(), out);
        assertTrue(out.contains("ok   requantize: 0 of 4000000 values differ"), out);
        assertTrue(out.contains("ok   lean requantize: 0 of "), out);
        assertTrue(out.contains("ok   lean scaling: 0 of 4000000 values differ"), out);
    }

    /** Runs native/igemm-emu/SCRIPT ARGS (skipped without g++); returns its output, asserting exit status 0. */
    private static String emulate(String name, String... args) throws IOException, InterruptedException {
        assumeTrue(onPath("g++"), "no g++ on the PATH: the kernel emulations are not built");
        Path root = Path.of("").toAbsolutePath();
        Path script = root.resolve("native/igemm-emu/" + name);
        assumeTrue(Files.isRegularFile(script), script + " not found");
        List<String> cmd = new java.util.ArrayList<>(List.of("bash", script.toString()));
        cmd.addAll(List.of(args));
        Path log = Files.createTempFile("kernel-emu", ".log");
        try {
            Process p = new ProcessBuilder(cmd).directory(root.toFile())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            boolean done = p.waitFor(300, TimeUnit.SECONDS);
            if (!done) p.destroyForcibly();
            String out = Files.readString(log, StandardCharsets.UTF_8);
            assertTrue(done, "the emulation did not finish in 300 s:\n" + out);
            System.out.print(out.lines().filter(l -> !l.startsWith("  ok ")).collect(java.util.stream.Collectors.joining("\n", "", "\n")));
            assertEquals(0, p.exitValue(), out);
            return out;
        } finally {
            Files.deleteIfExists(log);
        }
    }

    static boolean onPath(String tool) {
        String path = System.getenv("PATH");
        if (path == null) return false;
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, tool))) return true;
        }
        return false;
    }
}
