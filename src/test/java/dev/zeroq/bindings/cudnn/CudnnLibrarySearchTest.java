// Where cudnn_h looks for libcudnn.so.9 in Python environments, checked on a fake folder layout (no GPU, no cuDNN
// needed), and that a machine without cuDNN gets a reason instead of an exception.
package dev.zeroq.bindings.cudnn;

import dev.zeroq.backend.cuda.CudnnConv;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CudnnLibrarySearchTest {
    @TempDir
    Path tmp;

    private Path fakeWheel(Path prefix, String python, String packages) throws IOException {
        Path lib = prefix.resolve("lib").resolve(python).resolve(packages).resolve("nvidia/cudnn/lib");
        Files.createDirectories(lib);
        return Files.createFile(lib.resolve("libcudnn.so.9"));
    }

    @Test
    void findsWheelsInVirtualEnvCondaPathAndHomeInThatOrder() throws IOException {
        Path venv = tmp.resolve("venv"), conda = tmp.resolve("conda"), onPath = tmp.resolve("pathenv"), home = tmp.resolve("home");
        Path a = fakeWheel(venv, "python3.12", "site-packages");
        Path b = fakeWheel(conda, "python3.11", "site-packages");
        Path c = fakeWheel(onPath, "python3.10", "dist-packages");
        Path d = fakeWheel(home.resolve(".local"), "python3.12", "site-packages");
        Files.createDirectories(onPath.resolve("bin"));
        Files.createFile(onPath.resolve("bin/python3"));
        Files.createDirectories(tmp.resolve("nopython/bin")); // on PATH but without python3: not a candidate prefix
        fakeWheel(tmp.resolve("nopython"), "python3.12", "site-packages");
        Map<String, String> env = Map.of("VIRTUAL_ENV", venv.toString(), "CONDA_PREFIX", conda.toString(),
                "PATH", tmp.resolve("nopython/bin") + ":" + onPath.resolve("bin") + ":/nonexistent/bin");
        List<Path> found = cudnn_h.pythonCandidates(env, home.toString());
        assertEquals(List.of(a, b, c, d), found.subList(0, 4), "search order");
        assertFalse(found.contains(tmp.resolve("nopython/lib/python3.12/site-packages/nvidia/cudnn/lib/libcudnn.so.9")));
    }

    @Test
    void emptyEnvironmentStillListsOnlyExistingFiles() {
        for (Path p : cudnn_h.pythonCandidates(Map.of(), null)) {
            assertTrue(Files.isRegularFile(p), p.toString());
        }
    }

    @Test
    void unavailableCudnnIsAReasonNotAnException() {
        CudnnConv.Availability a = CudnnConv.available();
        if (!a.usable()) {
            assertFalse(a.reason().isBlank());
            assertTrue(a.reason().contains("libcudnn.so.9") || a.reason().contains("cuDNN"), a.reason());
        } else {
            assertTrue(a.version() >= 90000, "version " + a.version());
        }
    }

    @Test
    void asymmetricPadsAreNotForCudnn() {
        var sym = new dev.zeroq.backend.ConvSpec(new int[] {3, 3}, new int[] {1, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 1);
        var asym = new dev.zeroq.backend.ConvSpec(new int[] {3, 3}, new int[] {1, 1}, new int[] {0, 0, 1, 1}, new int[] {1, 1}, 1);
        assertEquals(null, CudnnConv.unsupported(sym));
        assertTrue(CudnnConv.unsupported(asym).contains("symmetric"));
    }
}
