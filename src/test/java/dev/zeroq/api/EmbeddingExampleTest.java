// Keeps README.md's "Embedding zeroq in a service" code identical to EmbeddingExample, and runs the example.
package dev.zeroq.api;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EmbeddingExampleTest {
    @Test
    void readmeShowsTheExample() throws Exception {
        List<String> example = between(Files.readAllLines(Path.of("src/test/java/dev/zeroq/api/EmbeddingExample.java")),
                "// README:begin", "// README:end");
        String readme = Files.readString(Path.of("README.md"));
        int section = readme.indexOf("## Embedding zeroq in a service");
        assertTrue(section >= 0, "README.md lacks the section \"Embedding zeroq in a service\"");
        int open = readme.indexOf("```java\n", section);
        int close = readme.indexOf("```", open + 8);
        List<String> shown = readme.substring(open + 8, close).lines().toList();
        assertEquals(strip(example), strip(shown), "README.md's example differs from EmbeddingExample.java: copy the "
                + "lines between the README markers into the README");
    }

    @Test
    void exampleRuns() throws Exception {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true));
        try {
            // 3 iterations keep the test short; the example's default is ZeroQ's 500.
            EmbeddingExample.main(new String[] {bundledPath(), "3"});
        } finally {
            System.setOut(old);
        }
        List<String> lines = buf.toString().lines().toList();
        assertEquals(32, lines.size(), buf.toString());
        assertTrue(lines.getFirst().matches("request 0 -> class \\d"), lines.getFirst());
    }

    private static String bundledPath() throws Exception {
        Path f = Files.createTempFile("resnet_fmnist", ".onnx");
        f.toFile().deleteOnExit();
        Files.write(f, dev.zeroq.io.Bundled.model("resnet_fmnist"));
        return f.toString();
    }

    private static List<String> between(List<String> lines, String begin, String end) {
        int b = -1, e = -1;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).strip().equals(begin)) b = i;
            if (lines.get(i).strip().equals(end)) e = i;
        }
        assertTrue(b >= 0 && e > b, "markers missing in EmbeddingExample.java");
        return lines.subList(b + 1, e);
    }

    /** Lines with their common indentation removed, blank ones dropped. */
    private static List<String> strip(List<String> lines) {
        int indent = lines.stream().filter(l -> !l.isBlank()).mapToInt(l -> l.length() - l.stripLeading().length())
                .min().orElse(0);
        return lines.stream().filter(l -> !l.isBlank()).map(l -> l.substring(indent).stripTrailing()).toList();
    }
}
