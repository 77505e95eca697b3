// Every launch the device planners build (distillation, forward passes) against the signature of the kernel it names,
// read from the kernel sources in kernels/: the number of arguments and the kind of each (pointer, int, long long,
// float, double, a by-value Shape6). The driver takes a launch's parameter block as raw bytes and checks nothing, so a
// missing or misplaced argument would otherwise first show on a GPU, as garbage or a fault. Runs without a GPU.
package dev.zeroq.backend.cuda;

import dev.zeroq.graph.Graph;
import dev.zeroq.io.Bundled;
import dev.zeroq.onnx.OnnxImporter;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KernelSignatureTest {
    /** What a kernel parameter is, as the launch's parameter block must hold it. */
    enum Kind { POINTER, INT, LONG, FLOAT, DOUBLE, SHAPE6 }

    /** One kernel parameter: its kind and its C type as declared, without name and __restrict__ ("const float*"). */
    record Param(Kind kind, String type) {}

    /** A kernel's source file (under kernels/) and parameters. */
    record Signature(String file, List<Param> params) {
        List<Kind> kinds() {
            return params.stream().map(Param::kind).toList();
        }
    }

    @Test
    void everyPlannedDistillationLaunchMatchesItsKernel() throws IOException {
        Map<String, List<Kind>> kernels = kinds(kernelSignatures());
        List<String> bad = new ArrayList<>();
        TreeSet<String> seen = new TreeSet<>();
        // Fused kernels with deferred statistics gradients (the default), fused with stored ones, separate kernels.
        String wasFuse = System.getProperty(CudaDistiller.FUSE_PROPERTY), wasDefer = System.getProperty(CudaDistiller.DEFER_PROPERTY);
        for (boolean[] fuseDefer : new boolean[][] {{true, true}, {true, false}, {false, true}}) {
            boolean fuse = fuseDefer[0];
            System.setProperty(CudaDistiller.FUSE_PROPERTY, Boolean.toString(fuse));
            System.setProperty(CudaDistiller.DEFER_PROPERTY, Boolean.toString(fuseDefer[1]));
            try {
                for (Map.Entry<String, Graph> net : nets().entrySet()) {
                    for (CudaDistiller.ConvAlgorithm a : CudaDistiller.ConvAlgorithm.values()) {
                        for (boolean tf32 : new boolean[] {false, true}) {
                            CudaDistiller.Options o = new CudaDistiller.Options(a, false, tf32, CudaDistiller.Cudnn.FASTEST);
                            String where = "distill " + net.getKey() + " " + a + (tf32 ? " tf32" : "") + " fuse " + fuse
                                    + " defer " + fuseDefer[1];
                            for (DevicePlan.Pending q : CudaDistiller.dryLaunches(net.getValue(), 3, o)) {
                                check(kernels, q, where, bad, seen);
                            }
                        }
                    }
                }
            } finally {
                restore(CudaDistiller.FUSE_PROPERTY, wasFuse);
                restore(CudaDistiller.DEFER_PROPERTY, wasDefer);
            }
        }
        assertEquals(List.of(), bad);
        // The fused kernels and the warp-per-plane statistics loss are among those checked (smallCnn has every pattern).
        for (String k : List.of("batchnorm_activation", "activation_batchnorm_backward", "add_activation",
                "activation_add_backward", "batchnorm_add_activation", "activation_add_batchnorm_backward",
                "bn_stat_loss_warp", "bn_stat_loss", "bn_stat_batchnorm_activation_warp", "bn_stat_batchnorm_activation",
                "bn_stat_apply", "adam", "fill", "loss_reduce_final")) {
            assertTrue(seen.contains(k), k + " was not planned; planned: " + seen);
        }
    }

    @Test
    void everyPlannedForwardLaunchMatchesItsKernel() throws IOException {
        Map<String, List<Kind>> kernels = kinds(kernelSignatures());
        List<String> bad = new ArrayList<>();
        TreeSet<String> seen = new TreeSet<>();
        for (Map.Entry<String, Graph> net : nets().entrySet()) {
            for (int batch : new int[] {1, 5}) {
                for (DevicePlan.Pending q : CudaForward.dryLaunches(net.getValue(), batch)) {
                    check(kernels, q, "forward " + net.getKey() + " batch " + batch, bad, seen);
                }
            }
        }
        assertEquals(List.of(), bad);
        assertTrue(seen.size() >= 8, "planned kernels: " + seen);
    }

    @Test
    void theSignatureReaderSeesThroughLaunchBoundsCommentsAndQualifiers() {
        String src = """
                // extern "C" __global__ void commented_out(int a) {}
                /* extern "C" __global__ void also_commented(float b) {} */
                extern "C" __global__ void __launch_bounds__(256, 2)
                two_lines(const float* __restrict__ x, long long n, unsigned bits, double d,
                          Shape6 dims, float v /* the value */) {
                }
                #define MAKE(NAME) extern "C" __global__ void NAME(int a) {}
                """;
        Map<String, Signature> k = new LinkedHashMap<>();
        parse(src, "test.cu", k);
        assertEquals(Map.of("two_lines", List.of(Kind.POINTER, Kind.LONG, Kind.INT, Kind.DOUBLE, Kind.SHAPE6, Kind.FLOAT)), kinds(k));
        assertEquals(List.of("const float*", "long long", "unsigned", "double", "Shape6", "float"),
                k.get("two_lines").params().stream().map(Param::type).toList());
    }

    @Test
    void aLaunchWithAMisplacedArgumentIsReported() {
        Map<String, List<Kind>> k = Map.of("fill", List.of(Kind.POINTER, Kind.LONG, Kind.FLOAT));
        List<String> bad = new ArrayList<>();
        int[] one = {1, 1, 1};
        check(k, new DevicePlan.Pending(null, "fill", one, one, new Object[] {null, 7L, 0f}), "ok", bad, new TreeSet<>());
        assertEquals(List.of(), bad);
        check(k, new DevicePlan.Pending(null, "fill", one, one, new Object[] {null, 7, 0f}), "int for long long", bad,
                new TreeSet<>());
        check(k, new DevicePlan.Pending(null, "fill", one, one, new Object[] {null, 7L}), "one missing", bad, new TreeSet<>());
        check(k, new DevicePlan.Pending(null, "nope", one, one, new Object[] {}), "unknown", bad, new TreeSet<>());
        assertEquals(3, bad.size(), bad.toString());
    }

    private static Map<String, Graph> nets() throws IOException {
        Map<String, Graph> nets = new LinkedHashMap<>();
        nets.put("smallCnn", TestNets.smallCnn(7));
        nets.put("residualOverBatchNormInput", TestNets.residualOverBatchNormInput(3));
        nets.put("largePlanes", TestNets.largePlanes(5));
        nets.put("readerInsideAFusion", TestNets.readerInsideAFusion(5));
        for (String m : new String[] {"resnet_fmnist", "mobilenet_fmnist"}) {
            nets.put(m, OnnxImporter.parse(Bundled.model(m), m + ".onnx").graph());
        }
        return nets;
    }

    /** Adds what is wrong with launch {@code q} to {@code bad}, once per kind of fault, with where it was first seen. */
    private static void check(Map<String, List<Kind>> kernels, DevicePlan.Pending q, String where, List<String> bad,
                              TreeSet<String> seen) {
        List<String> faults = new ArrayList<>();
        faults(kernels, q, faults, seen);
        for (String f : faults) {
            if (bad.stream().noneMatch(b -> b.endsWith(": " + f))) bad.add(where + ": " + f);
        }
    }

    private static void faults(Map<String, List<Kind>> kernels, DevicePlan.Pending q, List<String> bad, TreeSet<String> seen) {
        List<Kind> want = kernels.get(q.kernel());
        if (want == null) {
            bad.add("kernel " + q.kernel() + " is not defined in kernels/*.cu");
            return;
        }
        seen.add(q.kernel());
        Object[] args = q.args();
        if (args.length != want.size()) {
            bad.add(q.kernel() + " takes " + want.size() + " arguments, the launch passes " + args.length);
            return;
        }
        for (int i = 0; i < args.length; i++) {
            if (!fits(args[i], want.get(i))) {
                bad.add(q.kernel() + " argument " + i + " is " + want.get(i) + ", the launch passes "
                        + (args[i] == null ? "null" : args[i].getClass().getSimpleName()));
            }
        }
    }

    /** Whether a planned argument (as CudaModule.argument and DevicePlan.prepare marshal it) fills a parameter. */
    private static boolean fits(Object a, Kind k) {
        return switch (k) {
            // null is a null pointer; a Long is an address (or a long long, which has the same 8 bytes).
            case POINTER -> a == null || a instanceof DevicePlan.At || a instanceof DeviceBuffer || a instanceof Long;
            case LONG -> a instanceof Long;
            case INT -> a instanceof Integer;
            case FLOAT -> a instanceof Float;
            case DOUBLE -> a instanceof Double;
            case SHAPE6 -> a instanceof int[] s && s.length == 6;
        };
    }

    private static Map<String, List<Kind>> kinds(Map<String, Signature> signatures) {
        Map<String, List<Kind>> out = new LinkedHashMap<>();
        signatures.forEach((k, v) -> out.put(k, v.kinds()));
        return out;
    }

    /** Name → signature of every {@code extern "C" __global__} kernel defined in kernels/*.cu. */
    static Map<String, Signature> kernelSignatures() throws IOException {
        Path dir = Path.of("kernels");
        assertTrue(Files.isDirectory(dir), "run from the project root: kernels/ not found");
        Map<String, Signature> out = new LinkedHashMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".cu")).sorted().toList()) {
                parse(Files.readString(f), f.getFileName().toString(), out);
            }
        }
        return out;
    }

    private static final String MARK = "extern \"C\" __global__ void";

    /** Adds the kernels defined in {@code src}; macro-generated ones (inside a #define) are skipped. */
    static void parse(String src, String file, Map<String, Signature> out) {
        String s = stripComments(src);
        for (int at = s.indexOf(MARK); at >= 0; at = s.indexOf(MARK, at + 1)) {
            int lineStart = s.lastIndexOf('\n', at) + 1;
            if (s.substring(lineStart, at).trim().startsWith("#define") || inMacro(s, lineStart)) continue;
            int i = skipSpace(s, at + MARK.length());
            if (s.startsWith("__launch_bounds__", i)) i = skipSpace(s, closing(s, s.indexOf('(', i)) + 1);
            int nameEnd = i;
            while (nameEnd < s.length() && (Character.isJavaIdentifierPart(s.charAt(nameEnd)))) nameEnd++;
            String name = s.substring(i, nameEnd);
            int open = skipSpace(s, nameEnd);
            if (s.charAt(open) != '(') throw new IllegalStateException(file + ": no parameter list after " + name);
            String params = s.substring(open + 1, closing(s, open));
            List<Param> list = new ArrayList<>();
            for (String p : params.split(",")) {
                if (!p.isBlank()) list.add(param(p.trim(), file, name));
            }
            if (out.put(name, new Signature(file, list)) != null) {
                throw new IllegalStateException("kernel " + name + " is defined twice");
            }
        }
    }

    private static Param param(String param, String file, String kernel) {
        List<String> words = new ArrayList<>(List.of(param.replace("*", "* ").split("\\s+")));
        words.removeLast(); // the parameter's name
        words.removeIf(w -> w.equals("__restrict__"));
        String declared = String.join(" ", words).replace(" *", "*");
        if (declared.contains("*")) return new Param(Kind.POINTER, declared);
        words.removeIf(w -> w.equals("const"));
        String type = String.join(" ", words);
        Kind kind = switch (type) {
            case "int", "unsigned", "unsigned int" -> Kind.INT;
            case "long long", "unsigned long long" -> Kind.LONG;
            case "float" -> Kind.FLOAT;
            case "double" -> Kind.DOUBLE;
            case "Shape6" -> Kind.SHAPE6;
            default -> throw new IllegalStateException(file + ": kernel " + kernel + " has a parameter of type '" + type
                    + "' this test does not know");
        };
        return new Param(kind, declared);
    }

    private static boolean inMacro(String s, int lineStart) {
        // A line continued from a #define ends the previous line with a backslash.
        int prevEnd = lineStart - 1;
        while (prevEnd > 0) {
            int prevStart = s.lastIndexOf('\n', prevEnd - 1) + 1;
            String prev = s.substring(prevStart, prevEnd).stripTrailing();
            if (!prev.endsWith("\\")) return false;
            if (prev.trim().startsWith("#define")) return true;
            prevEnd = prevStart - 1;
        }
        return false;
    }

    private static String stripComments(String s) {
        return s.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\n]*", "");
    }

    private static int skipSpace(String s, int i) {
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
        return i;
    }

    private static int closing(String s, int open) {
        int depth = 0;
        for (int i = open; i < s.length(); i++) {
            if (s.charAt(i) == '(') depth++;
            else if (s.charAt(i) == ')' && --depth == 0) return i;
        }
        throw new IllegalStateException("unbalanced parentheses from offset " + open);
    }

    /** Sets system property {@code name} back to {@code value} (cleared when null). */
    private static void restore(String name, String value) {
        if (value == null) System.clearProperty(name);
        else System.setProperty(name, value);
    }
}
