// Checks the hand-written driver bindings against the real cuda.h: every bound symbol must be the name a
// declaration maps to through cuda.h's #defines, with as many parameters as our FunctionDescriptor.
// Runs without a GPU; skips when the CUDA headers are not installed.
package dev.zeroq.bindings.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class CudaBindingsHeaderTest {
    private static final Path HEADER = Path.of("/usr/local/cuda/include/cuda.h");

    // Conditions that are false for an ordinary 64-bit Linux client build (no per-thread default stream, not the
    // driver's own internal build, not MSVC/Windows, no forced API version): their branches are skipped.
    private static final List<String> UNDEFINED = List.of("__CUDA_API_VERSION_INTERNAL", "CUDA_API_PER_THREAD_DEFAULT_STREAM",
            "__DOXYGEN_ONLY__", "CUDA_ENABLE_DEPRECATED", "_MSC_VER", "_WIN64", "CUDA_FORCE_API_VERSION");

    private static final Pattern DEFINE = Pattern.compile(
            "^\\s*#\\s*define\\s+(\\w+)\\s+(?:__CUDA_API_PT(?:DS|SZ)\\((\\w+)\\)|(\\w+))\\s*$");
    private static final Pattern DECL = Pattern.compile("CUresult\\s+CUDAAPI\\s+(\\w+)\\s*\\(([^)]*)\\)\\s*;");

    @Test
    void everyBoundSymbolIsDeclaredInCudaHWithTheSameParameterCount() throws Exception {
        assumeTrue(Files.isRegularFile(HEADER), "no CUDA headers at " + HEADER + " (install the CUDA toolkit to run this check)");
        Map<String, Integer> declared = exportedDeclarations(HEADER);
        // Sanity: the parser found the body of the header, and the mappings we rely on.
        assertTrue(declared.size() > 300, "parsed only " + declared.size() + " declarations from " + HEADER);
        assertTrue(declared.containsKey("cuMemAlloc_v2"), "cuMemAlloc did not map to cuMemAlloc_v2");

        Map<String, FunctionDescriptor> bound = boundDescriptors();
        assertTrue(bound.size() >= 40, "expected the whole subset to be bound, found " + bound.keySet());
        List<String> problems = new ArrayList<>();
        for (var e : bound.entrySet()) {
            Integer params = declared.get(e.getKey());
            if (params == null) {
                problems.add(e.getKey() + ": no declaration in cuda.h maps to this name");
            } else if (params != e.getValue().argumentLayouts().size()) {
                problems.add(e.getKey() + ": cuda.h has " + params + " parameters, our descriptor "
                        + e.getValue().argumentLayouts().size());
            }
        }
        assertEquals(List.of(), problems);
    }

    /** Symbol name (after cuda.h's #define mapping) → parameter count, for the declarations a client sees. */
    static Map<String, Integer> exportedDeclarations(Path header) throws IOException {
        Map<String, String> macros = new HashMap<>();
        StringBuilder active = new StringBuilder();
        // One frame per open #if: {this branch active, some branch already taken}.
        Deque<boolean[]> stack = new ArrayDeque<>();
        for (String line : Files.readAllLines(header)) {
            String t = line.strip();
            boolean outerActive = stack.stream().allMatch(f -> f[0]);
            if (t.startsWith("#if")) {
                boolean cond = evaluate(t);
                stack.push(new boolean[] {cond, cond});
                continue;
            } else if (t.startsWith("#elif")) {
                boolean[] f = stack.peek();
                boolean cond = !f[1] && evaluate(t);
                f[0] = cond;
                f[1] |= cond;
                continue;
            } else if (t.startsWith("#else")) {
                boolean[] f = stack.peek();
                f[0] = !f[1];
                f[1] = true;
                continue;
            } else if (t.startsWith("#endif")) {
                stack.pop();
                continue;
            }
            if (!outerActive) {
                continue;
            }
            Matcher m = DEFINE.matcher(line);
            if (m.matches()) {
                macros.put(m.group(1), m.group(2) != null ? m.group(2) : m.group(3));
            } else if (t.startsWith("#undef")) {
                macros.remove(t.substring("#undef".length()).strip());
            } else {
                active.append(line).append('\n');
            }
        }
        // Strip comments so commented-out prototypes do not count.
        String text = active.toString().replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\n]*", " ");
        Map<String, Integer> result = new TreeMap<>();
        Matcher d = DECL.matcher(text);
        while (d.find()) {
            String params = d.group(2).strip();
            int count = params.isEmpty() || params.equals("void") ? 0 : params.split(",").length;
            result.put(macros.getOrDefault(d.group(1), d.group(1)), count);
        }
        return result;
    }

    private static boolean evaluate(String directive) {
        if (directive.startsWith("#ifndef")) {
            return true; // include guards and "not yet defined" checks
        }
        for (String u : UNDEFINED) {
            if (directive.contains(u)) {
                return false;
            }
        }
        return true;
    }

    /** Bound symbol → descriptor, from cuda_h's public {@code NAME$descriptor()} methods (loads no library). */
    static Map<String, FunctionDescriptor> boundDescriptors() throws ReflectiveOperationException {
        Map<String, FunctionDescriptor> out = new TreeMap<>();
        for (Method m : cuda_h.class.getDeclaredMethods()) {
            if (Modifier.isPublic(m.getModifiers()) && m.getName().endsWith("$descriptor")) {
                out.put(m.getName().substring(0, m.getName().length() - "$descriptor".length()),
                        (FunctionDescriptor) m.invoke(null));
            }
        }
        return out;
    }
}
