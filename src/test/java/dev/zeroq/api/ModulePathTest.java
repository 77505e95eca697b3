// zeroq as a named module: the descriptor exports the API and nothing else, a consumer module compiled against it
// sees only dev.zeroq.api (and ZeroqException), and that consumer, run on the module path in a child JVM, loads the
// bundled model and gets the same logits as this (class-path) JVM; the command line runs on the module path too.
package dev.zeroq.api;

import dev.zeroq.backend.cuda.CudaAvailability;
import dev.zeroq.io.Bundled;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import java.io.File;
import java.io.IOException;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class ModulePathTest {
    @TempDir
    static Path dir;
    /** target/classes: an exploded module (it holds module-info.class), as the thin jar holds it. */
    static Path classes;
    /** The jars of the modules dev.zeroq needs at run time, found on this JVM's class path. */
    static List<Path> deps;

    @BeforeAll
    static void locate() throws Exception {
        classes = Path.of(Model.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertTrue(Files.isRegularFile(classes.resolve("module-info.class")), "no module-info.class in " + classes);
        deps = runtimeModules(descriptor());
    }

    static ModuleDescriptor descriptor() {
        return ModuleFinder.of(classes).find("dev.zeroq").orElseThrow().descriptor();
    }

    @Test
    void descriptorExportsTheApiOnlyAndOpensTwoPackagesToTheirReflectiveLibraries() throws IOException {
        ModuleDescriptor d = descriptor();
        Map<String, Set<String>> exports = new TreeMap<>(), opens = new TreeMap<>();
        d.exports().forEach(e -> exports.put(e.source(), e.targets()));
        d.opens().forEach(o -> opens.put(o.source(), o.targets()));
        // Unqualified exports: the API, and dev.zeroq for ZeroqException (below: the only class there).
        assertEquals(Map.of("dev.zeroq", Set.of(), "dev.zeroq.api", Set.of()), exports);
        assertEquals(Map.of("dev.zeroq.cli", Set.of("info.picocli"),
                "dev.zeroq.quant", Set.of("com.fasterxml.jackson.databind")), opens);
        assertFalse(d.isOpen(), "the module must not be open");
        try (Stream<Path> top = Files.list(classes.resolve("dev/zeroq"))) {
            List<String> types = top.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).sorted().toList();
            assertEquals(List.of("ZeroqException.class"), types,
                    "package dev.zeroq is exported for ZeroqException alone; put new types in an internal package");
        }
    }

    private static final String CONSUMER = """
            package consumer;

            import dev.zeroq.ZeroqException;
            import dev.zeroq.api.Device;
            import dev.zeroq.api.InferenceSession;
            import dev.zeroq.api.Model;
            import dev.zeroq.api.SessionOptions;

            import java.lang.reflect.InaccessibleObjectException;

            public class Main {
                public static void main(String[] args) throws Exception {
                    Model model = Model.bundled("resnet_fmnist");
                    int n = model.inputShape().size();
                    float[] x = new float[2 * n];
                    for (int i = 0; i < x.length; i++) x[i] = (float) Math.sin(0.37 * i);
                    StringBuilder bits = new StringBuilder();
                    try (InferenceSession s = model.session(SessionOptions.builder().device(Device.cpu()).build())) {
                        for (float v : s.run(x, 2)) bits.append(Integer.toHexString(Float.floatToRawIntBits(v))).append(' ');
                    }
                    System.out.println("LOGITS " + bits.toString().strip());
                    // auto probes the CUDA driver through the FFM bindings: a restricted call, warned about unless
                    // --enable-native-access names this module.
                    try (InferenceSession s = model.session(SessionOptions.defaults())) {
                        System.out.println("AUTO " + s.backend());
                    }
                    try {
                        Model.bundled("no_such_model");
                    } catch (ZeroqException e) {
                        System.out.println("CAUGHT " + e.badInput());
                    }
                    Module m = Model.class.getModule();
                    System.out.println("MODULE " + m.getName() + " exports graph: " + m.isExported("dev.zeroq.graph"));
                    // A public static method of an internal package: public, but its package is not exported.
                    try {
                        Class.forName("dev.zeroq.io.Bundled").getMethod("model", String.class).invoke(null, "resnet_fmnist");
                        System.out.println("REFLECTION allowed");
                    } catch (IllegalAccessException e) {
                        System.out.println("REFLECTION denied");
                    }
                    try {
                        Class.forName("dev.zeroq.io.Bundled").getDeclaredMethod("model", String.class).setAccessible(true);
                        System.out.println("DEEP REFLECTION allowed");
                    } catch (InaccessibleObjectException e) {
                        System.out.println("DEEP REFLECTION denied");
                    }
                }
            }
            """;

    @Test
    void aConsumerModuleRunsTheBundledModelAsTheClassPathDoes() throws Exception {
        Path src = dir.resolve("consumer-src"), out = dir.resolve("consumer-out");
        write(src.resolve("module-info.java"), "module zeroq.consumer { requires dev.zeroq; }");
        write(src.resolve("consumer/Main.java"), CONSUMER);
        String errors = compile(src, out);
        assertEquals("", errors);

        Proc p = java(List.of("--module-path", modulePath(out), "-m", "zeroq.consumer/consumer.Main"));
        assertEquals(0, p.code(), p.err());
        assertTrue(p.out().contains("MODULE dev.zeroq exports graph: false"), p.out());
        assertTrue(p.out().contains("\nREFLECTION denied"), p.out());
        assertTrue(p.out().contains("DEEP REFLECTION denied"), p.out());
        assertTrue(p.out().contains("CAUGHT true"), p.out());
        assertTrue(p.out().contains("AUTO "), p.out());
        assertFalse(p.err().contains("restricted method"), "native access not granted to dev.zeroq:\n" + p.err());

        // The same computation here, on the class path, must give the same bits.
        Model model = Model.bundled("resnet_fmnist");
        float[] x = new float[2 * model.inputShape().size()];
        for (int i = 0; i < x.length; i++) x[i] = (float) Math.sin(0.37 * i);
        StringJoiner bits = new StringJoiner(" ");
        try (InferenceSession s = model.session(SessionOptions.builder().device(Device.cpu()).build())) {
            for (float v : s.run(x, 2)) bits.add(Integer.toHexString(Float.floatToRawIntBits(v)));
        }
        assertTrue(p.out().contains("LOGITS " + bits + "\n"), "module path logits differ:\n" + p.out() + "\nclass path: " + bits);
    }

    @Test
    void aJCudaConsumerModuleReachesJCudaSession() throws Exception {
        // Where CUDA works, opening would load JCuda's natives, which this test does not put on the module path.
        CudaAvailability a = CudaAvailability.probe();
        assumeFalse(a.usable(), "CUDA is usable here: JCudaInteropTest runs JCudaSession (class path)");
        // JCuda is `requires static`: resolved because this consumer requires it, and then read by dev.zeroq too.
        Path jcuda = Stream.of(System.getProperty("java.class.path").split(File.pathSeparator)).map(Path::of)
                .filter(p -> p.getFileName().toString().matches("jcuda-[0-9.]+\\.jar")).findFirst().orElseThrow();
        Path src = dir.resolve("jcuda-src"), out = dir.resolve("jcuda-out");
        write(src.resolve("module-info.java"), "module zeroq.jcuda.consumer { requires dev.zeroq; requires jcuda; }");
        write(src.resolve("jc/Main.java"), """
                package jc;

                import dev.zeroq.ZeroqException;
                import dev.zeroq.api.JCudaSession;
                import dev.zeroq.api.Model;
                import jcuda.driver.CUcontext;
                import jcuda.driver.CUstream;

                public class Main {
                    public static void main(String[] args) {
                        try (JCudaSession s = JCudaSession.open(Model.bundled("resnet_fmnist"), new CUcontext(),
                                new CUstream(), 1)) {
                            System.out.println("OPENED");
                        } catch (ZeroqException e) {
                            System.out.println("REFUSED " + e.getMessage());
                        }
                    }
                }
                """);
        String errors = compile(src, out, jcuda);
        assertEquals("", errors);
        Proc p = java(List.of("--module-path", modulePath(out) + File.pathSeparator + jcuda, "-m", "zeroq.jcuda.consumer/jc.Main"));
        assertEquals(0, p.code(), p.err());
        // The availability check answers before any JCuda native call: JCudaSession and the internal class behind it
        // linked against JCuda's classes on the module path.
        assertTrue(p.out().startsWith("REFUSED CUDA unavailable"), p.out() + p.err());
    }

    @Test
    void aConsumerModuleCannotCompileAgainstInternalPackages() throws Exception {
        Path src = dir.resolve("intruder-src"), out = dir.resolve("intruder-out");
        write(src.resolve("module-info.java"), "module zeroq.intruder { requires dev.zeroq; }");
        write(src.resolve("intruder/Main.java"), """
                package intruder;

                public class Main {
                    public static void main(String[] args) {
                        System.out.println(dev.zeroq.graph.Graph.class);
                        System.out.println(dev.zeroq.backend.cuda.CudaForward.class);
                    }
                }
                """);
        String errors = compile(src, out);
        assertTrue(errors.contains("package dev.zeroq.graph is not visible"), errors);
        assertTrue(errors.contains("package dev.zeroq.backend.cuda is not visible"), errors);
    }

    @Test
    void theCommandLineRunsOnTheModulePath() throws Exception {
        Path model = dir.resolve("resnet.onnx");
        Files.write(model, Bundled.model("resnet_fmnist"));
        Path plan = dir.resolve("plan.json"), report = dir.resolve("report");
        Path images = dir.resolve("images.gz"), labels = dir.resolve("labels.gz");
        copyResource("/dev/zeroq/data/fmnist-test-2000-images-idx3-ubyte.gz", images);
        copyResource("/dev/zeroq/data/fmnist-test-2000-labels-idx1-ubyte.gz", labels);
        // picocli reflects on dev.zeroq.cli, Jackson writes --json and the plan (and reads it back in eval), the
        // report draws its charts with JFreeChart (java.desktop), the bundled data is a resource of the module.
        Proc q = java(List.of("--module-path", modulePath(null), "-m", "dev.zeroq/dev.zeroq.cli.Main", "quantize",
                model.toString(), "--device", "cpu", "--iters", "3", "--batch", "4", "--out", plan.toString(),
                "--report", report.toString(), "--json"));
        assertEquals(0, q.code(), q.err());
        assertTrue(q.out().contains("\"plan\""), q.out());
        try (Stream<Path> files = Files.list(report)) {
            assertTrue(files.anyMatch(f -> f.toString().endsWith(".png")), "no chart written into " + report);
        }
        Proc e = java(List.of("--module-path", modulePath(null), "-m", "dev.zeroq/dev.zeroq.cli.Main", "eval",
                model.toString(), "--device", "cpu", "--plan", plan.toString(), "--images", images.toString(),
                "--labels", labels.toString(), "--limit", "20", "--json"));
        assertEquals(0, e.code(), e.err());
        assertTrue(e.out().contains("\"top1\""), e.out());
    }

    // ---- helpers ----

    /** dev.zeroq's non-static requires, followed through the jars on the class path (system modules need no jar). */
    static List<Path> runtimeModules(ModuleDescriptor root) {
        List<Path> jars = Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
                .map(Path::of).filter(p -> p.toString().endsWith(".jar")).toList();
        Map<String, Path> byName = new TreeMap<>();
        for (Path jar : jars) {
            try {
                for (ModuleReference r : ModuleFinder.of(jar).findAll()) byName.putIfAbsent(r.descriptor().name(), jar);
            } catch (RuntimeException e) {
                // a jar that is not a valid module (e.g. split META-INF services): never one zeroq needs
            }
        }
        Set<Path> out = new LinkedHashSet<>();
        Set<String> seen = new TreeSet<>();
        Deque<ModuleDescriptor> todo = new ArrayDeque<>(List.of(root));
        while (!todo.isEmpty()) {
            for (ModuleDescriptor.Requires r : todo.pop().requires()) {
                if (r.modifiers().contains(ModuleDescriptor.Requires.Modifier.STATIC) || !seen.add(r.name())) continue;
                Path jar = byName.get(r.name());
                if (jar == null) {
                    assertTrue(ModuleFinder.ofSystem().find(r.name()).isPresent(), "no jar on the class path for " + r.name());
                    continue;
                }
                out.add(jar);
                todo.push(ModuleFinder.of(jar).find(r.name()).orElseThrow().descriptor());
            }
        }
        return new ArrayList<>(out);
    }

    static String modulePath(Path extra) {
        List<String> parts = new ArrayList<>();
        parts.add(classes.toString());
        deps.forEach(p -> parts.add(p.toString()));
        if (extra != null) parts.add(extra.toString());
        return String.join(File.pathSeparator, parts);
    }

    /** javac of a module source tree against the zeroq module; returns the error diagnostics, "" when it compiles. */
    static String compile(Path src, Path out, Path... extraModules) throws IOException {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diags = new DiagnosticCollector<>();
        List<Path> files;
        try (Stream<Path> s = Files.walk(src)) {
            files = s.filter(p -> p.toString().endsWith(".java")).toList();
        }
        try (StandardJavaFileManager fm = javac.getStandardFileManager(diags, null, StandardCharsets.UTF_8)) {
            StringBuilder mp = new StringBuilder(modulePath(null));
            for (Path m : extraModules) mp.append(File.pathSeparator).append(m);
            List<String> options = List.of("--module-path", mp.toString(), "-d", out.toString());
            javac.getTask(null, fm, diags, options, null, fm.getJavaFileObjectsFromPaths(files)).call();
        }
        return diags.getDiagnostics().stream().filter(d -> d.getKind() == javax.tools.Diagnostic.Kind.ERROR)
                .map(d -> d.getMessage(null)).collect(Collectors.joining("\n"));
    }

    record Proc(int code, String out, String err) {}

    /** A child JVM with module-path users' flags: native access for dev.zeroq (the Vector API comes from its requires). */
    static Proc java(List<String> args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=dev.zeroq", "--sun-misc-unsafe-memory-access=allow", "-Xmx1g"));
        cmd.addAll(args);
        Path outFile = Files.createTempFile(dir, "out", ".txt"), errFile = Files.createTempFile(dir, "err", ".txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(outFile.toFile()).redirectError(errFile.toFile()).start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("child JVM did not finish in 5 minutes: " + cmd);
        }
        return new Proc(p.exitValue(), Files.readString(outFile), Files.readString(errFile));
    }

    static void copyResource(String name, Path to) throws IOException {
        try (var in = Bundled.class.getResourceAsStream(name)) {
            assertTrue(in != null, "missing resource " + name);
            Files.copy(in, to);
        }
    }

    static void write(Path file, String text) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }
}
