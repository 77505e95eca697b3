// The host emulations of CUDA kernels (native/igemm-emu) as part of the suite where a C++ compiler is present: the
// kernels' own sources, compiled for the CPU, against straightforward references, bit for bit. Only the fast ones run
// here (the 128×128 implicit-GEMM emulation starts 256 OS threads per block and belongs to native/igemm-emu/run.sh).
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
        String out = emulate("ops");
        assertTrue(out.contains("int8 ops emulator: all cases OK"), out);
        assertTrue(out.lines().filter(l -> l.startsWith("ok ")).count() >= 9, out);
    }

    /** Runs native/igemm-emu/run.sh MODE (skipped without g++); returns its output, asserting exit status 0. */
    private static String emulate(String mode) throws IOException, InterruptedException {
        assumeTrue(onPath("g++"), "no g++ on the PATH: the kernel emulations are not built");
        Path root = Path.of("").toAbsolutePath();
        Path script = root.resolve("native/igemm-emu/run.sh");
        assumeTrue(Files.isRegularFile(script), "native/igemm-emu/run.sh not found from " + root);
        Path log = Files.createTempFile("kernel-emu", ".log");
        try {
            Process p = new ProcessBuilder(List.of("bash", script.toString(), mode)).directory(root.toFile())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            boolean done = p.waitFor(180, TimeUnit.SECONDS);
            if (!done) p.destroyForcibly();
            String out = Files.readString(log, StandardCharsets.UTF_8);
            assertTrue(done, "the emulation did not finish in 180 s:\n" + out);
            System.out.print(out);
            assertEquals(0, p.exitValue(), out);
            return out;
        } finally {
            Files.deleteIfExists(log);
        }
    }

    private static boolean onPath(String tool) {
        String path = System.getenv("PATH");
        if (path == null) return false;
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, tool))) return true;
        }
        return false;
    }
}
