// The device-resident distillation's whole plan run without a GPU: every kernel its planner launches is compiled for
// the CPU with the host emulation of native/igemm-emu (cuda_emu.h, int8_emu.h: one OS thread per CUDA thread where a
// kernel has barriers or warp shuffles, the rest thread by thread), into one shared library with a launcher generated
// here from the kernels' signatures; the planned launches then run in order on a host copy of the pool
// (CudaDistiller.emulateLossAndGradient). The loss and input gradient are checked against the CPU reference with the
// GPU test's tolerances (CudaDistillerTest), and fused against separate kernels bit for bit. The forward passes'
// plan (CudaForward, what the sensitivity passes run) likewise: a pass repeated from the layer whose weights changed
// gives the whole pass's bits (CudaForward.emulateRepeat). This checks what no kernel-by-kernel test does: which
// buffers each launch reads and writes, the order of the launches, the accumulate flags. Skipped without g++.
package dev.zeroq.backend.cuda;

import dev.zeroq.distill.DistillConfig;
import dev.zeroq.distill.Distiller;
import dev.zeroq.graph.Backprop;
import dev.zeroq.graph.Graph;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class PlanEmulatorTest {
    private static final long SEED = 11L;
    private static final int BATCH = 2;
    private static MethodHandle launch; // int zq_emu_launch(const char*, unsigned gx, gy, gz, bx, by, bz, void** args)
    private static Arena library;

    /** The plans' kernels: those of every option and net the tests below run. */
    private static List<DevicePlan.Pending> launches() {
        List<DevicePlan.Pending> all = new ArrayList<>();
        for (Graph g : List.of(TestNets.smallCnn(SEED), TestNets.largePlanes(SEED), TestNets.residualOverBatchNormInput(SEED),
                TestNets.readerInsideAFusion(SEED), TestNets.identityOverInput(SEED), TestNets.twoTapsOneRoot(SEED))) {
            for (CudaDistiller.ConvAlgorithm a : CudaDistiller.ConvAlgorithm.values()) {
                for (boolean tf32 : new boolean[] {false, true}) {
                    all.addAll(CudaDistiller.dryLaunches(g, BATCH, new CudaDistiller.Options(a, false, tf32)));
                }
            }
        }
        // Separate kernels, and fused ones with the statistics gradients stored (as before deferred gradients).
        for (String off : new String[] {CudaDistiller.FUSE_PROPERTY, CudaDistiller.DEFER_PROPERTY}) {
            System.setProperty(off, "false");
            try {
                for (Graph g : List.of(TestNets.smallCnn(SEED), TestNets.largePlanes(SEED))) {
                    all.addAll(CudaDistiller.dryLaunches(g, BATCH, new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO,
                            false)));
                }
            } finally {
                System.clearProperty(off);
            }
        }
        for (Graph g : forwardNets()) all.addAll(CudaForward.dryLaunches(g, BATCH));
        return all;
    }

    /** What CudaForward runs in these tests: the test net as is, and as the paper scheme's sensitivity passes see it. */
    private static List<Graph> forwardNets() {
        Graph g = TestNets.smallCnn(SEED);
        return List.of(g, dev.zeroq.pipeline.Simulation.workingGraph(g, dev.zeroq.quant.QuantPlan.Scheme.PAPER));
    }

    @BeforeAll
    static void build() throws IOException, InterruptedException {
        assumeTrue(KernelEmulatorTest.onPath("g++"), "no g++ on the PATH: the kernels' host emulation is not built");
        TreeSet<String> kernels = new TreeSet<>();
        for (DevicePlan.Pending q : launches()) kernels.add(q.kernel());
        kernels.add("strided_copy"); // CudaForward's reordering of a replaced weight (emulateRepeat)
        Path out = Path.of("target/plan-emu").toAbsolutePath();
        Files.createDirectories(out);
        Path cpp = out.resolve("plan_emu.cpp"), so = out.resolve("libzeroq_plan_emu.so");
        Files.writeString(cpp, launcherSource(kernels));
        List<String> cmd = List.of("g++", "-std=c++20", "-O1", "-ffp-contract=off", "-pthread", "-w", "-shared", "-fPIC",
                "-I", "kernels", "-I", "native/igemm-emu", "-o", so.toString(), cpp.toString());
        Path log = out.resolve("build.log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(300, TimeUnit.SECONDS);
        if (!done) p.destroyForcibly();
        assertTrue(done && p.exitValue() == 0, "g++ failed: " + String.join(" ", cmd) + "\n" + Files.readString(log));
        library = Arena.ofShared();
        MemorySegment f = SymbolLookup.libraryLookup(so, library).find("zq_emu_launch").orElseThrow();
        launch = Linker.nativeLinker().downcallHandle(f, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    }

    @Test
    void theFusedPlanGivesTheReferenceLossAndGradient() {
        check(TestNets.smallCnn(SEED), new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, false), 1);
    }

    @Test
    void everyConvolutionAlgorithmGivesTheReferenceLossAndGradient() {
        for (CudaDistiller.ConvAlgorithm a : CudaDistiller.ConvAlgorithm.values()) {
            check(TestNets.smallCnn(SEED), new CudaDistiller.Options(a, false), 1);
        }
    }

    @Test
    void tf32ConvolutionsStayWithinTf32Rounding() {
        // TF32 operands carry 2^-11 relative error each: the loss and gradient move by far more than FP32 rounding.
        check(TestNets.smallCnn(SEED), new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.IMPLICIT_GEMM_128, false, true), 40);
    }

    @Test
    void largePlanesAndAResidualOverABatchNormInput() {
        CudaDistiller.Options o = new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, false);
        check(TestNets.largePlanes(SEED), o, 1); // the block-per-plane statistics kernel (planes of 1,147 values)
        check(TestNets.residualOverBatchNormInput(SEED), o, 1);
    }

    @Test
    void aReaderBetweenAFusionsNodesStillGivesTheReference() {
        // The case where fused and separate kernels add a value's gradients in another order (CudaDistiller.Fusion):
        // both within the reference's tolerance; whether their bits agree is printed, not required.
        Graph g = TestNets.readerInsideAFusion(SEED);
        CudaDistiller.Options o = new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, false);
        assertTrue(CudaDistiller.dryPlan(g, BATCH, o).contains("Relu(BatchNormalization("), "the BatchNorm is fused");
        check(g, o, 1);
        Backprop.Result fused = CudaDistiller.emulateLossAndGradient(g, o, images(g), PlanEmulatorTest::run);
        System.setProperty(CudaDistiller.FUSE_PROPERTY, "false");
        try {
            check(g, o, 1);
            Backprop.Result separate = CudaDistiller.emulateLossAndGradient(g, o, images(g), PlanEmulatorTest::run);
            System.out.println("reader inside a fusion: fused and separate input gradients "
                    + (java.util.Arrays.equals(fused.inputGrad().data(), separate.inputGrad().data()) ? "agree" : "differ")
                    + " bit for bit");
        } finally {
            System.clearProperty(CudaDistiller.FUSE_PROPERTY);
        }
    }

    @Test
    void fusedAndSeparateKernelsGiveTheSameBits() {
        Graph g = TestNets.smallCnn(SEED);
        Tensor x = images(g);
        CudaDistiller.Options o = new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, false);
        Backprop.Result fused = CudaDistiller.emulateLossAndGradient(g, o, x, PlanEmulatorTest::run);
        Backprop.Result separate;
        System.setProperty(CudaDistiller.FUSE_PROPERTY, "false");
        try {
            separate = CudaDistiller.emulateLossAndGradient(g, o, x, PlanEmulatorTest::run);
        } finally {
            System.clearProperty(CudaDistiller.FUSE_PROPERTY);
        }
        assertEquals(separate.loss(), fused.loss(), 0.0, "loss");
        assertArrayEquals(separate.inputGrad().data(), fused.inputGrad().data(), "input gradient");
    }

    /** activation_batchnorm_backward's accumulate flag; its x and deferred coefficients follow (kernels/*.cu). */
    private static final int ACCUMULATE = 10;

    @Test
    void aPlantedMistakeInTheEmulatedPlanIsCaught() {
        // A launch that drops its accumulate flag (stores where it should add), with gradients stored as they come
        // (deferred, the BatchNorm backward launches of smallCnn store first); and a BatchNorm backward that drops the
        // deferred statistics gradient it should add. The reference check must fail on each.
        Graph g = TestNets.smallCnn(SEED);
        Tensor x = images(g);
        Backprop.Result ref = new Distiller(g, new RefBackend()).lossAndGradient(x);
        CudaDistiller.Options o = new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, false);
        boolean[] planted = {false, false};
        System.setProperty(CudaDistiller.DEFER_PROPERTY, "false");
        Backprop.Result dropped;
        try {
            dropped = CudaDistiller.emulateLossAndGradient(g, o, x, (kernel, grid, block, args) -> {
                if (!planted[0] && kernel.equals("activation_batchnorm_backward") && args[ACCUMULATE].equals(1)) {
                    args = args.clone();
                    args[ACCUMULATE] = 0;
                    planted[0] = true;
                }
                run(kernel, grid, block, args);
            });
        } finally {
            System.clearProperty(CudaDistiller.DEFER_PROPERTY);
        }
        assertTrue(planted[0], "no accumulating activation_batchnorm_backward launch to plant the mistake in");
        assertTrue(worstGradientError(ref, dropped) > 1, "the dropped accumulate flag went unnoticed");
        Backprop.Result lost = CudaDistiller.emulateLossAndGradient(g, o, x, (kernel, grid, block, args) -> {
            int coef = kernel.equals("activation_batchnorm_backward") ? ACCUMULATE + 2 : args.length - 1;
            if (!planted[1] && kernel.endsWith("batchnorm_backward") && args[coef] != null) {
                args = args.clone();
                args[coef] = null; // the term's coefficients: the kernel adds no statistics gradient
                planted[1] = true;
            }
            run(kernel, grid, block, args);
        });
        assertTrue(planted[1], "no BatchNorm backward launch adds a deferred statistics gradient");
        assertTrue(worstGradientError(ref, lost) > 1, "the lost statistics gradient went unnoticed");
    }

    /**
     * Statistics-loss gradients deferred to the backward pass (the default) against stored during the forward pass: the
     * same bits where only the BatchNorm reads its input, with fused and with separate kernels; and the reference
     * where a BatchNorm input has another reader (a residual over it).
     */
    @Test
    void deferredStatisticsGradientsGiveTheStoredOnesBits() {
        CudaDistiller.Options o = new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, false);
        for (Graph g : List.of(TestNets.smallCnn(SEED), TestNets.largePlanes(SEED))) {
            for (String fuse : new String[] {"true", "false"}) {
                System.setProperty(CudaDistiller.FUSE_PROPERTY, fuse);
                try {
                    assertTrue(CudaDistiller.dryPlan(g, BATCH, o).contains("deferred statistics gradients "),
                            CudaDistiller.dryPlan(g, BATCH, o));
                    Tensor x = images(g);
                    Backprop.Result deferred = CudaDistiller.emulateLossAndGradient(g, o, x, PlanEmulatorTest::run);
                    System.setProperty(CudaDistiller.DEFER_PROPERTY, "false");
                    Backprop.Result stored = CudaDistiller.emulateLossAndGradient(g, o, x, PlanEmulatorTest::run);
                    String what = g.name() + ", fuse " + fuse;
                    assertEquals(stored.loss(), deferred.loss(), 0.0, "loss, " + what);
                    assertArrayEquals(stored.inputGrad().data(), deferred.inputGrad().data(), "input gradient, " + what);
                } finally {
                    System.clearProperty(CudaDistiller.DEFER_PROPERTY);
                    System.clearProperty(CudaDistiller.FUSE_PROPERTY);
                }
            }
        }
        check(TestNets.residualOverBatchNormInput(SEED), o, 1);
    }

    /**
     * Two taps on one gradient (the input and an Identity of it; a value and its Flatten, planes of another shape): the
     * first is deferred, the second stored, and each BatchNorm adds only a deferred gradient of its own planes.
     */
    @Test
    void tapsOfAliasedValuesGiveTheReference() {
        CudaDistiller.Options o = new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, false);
        for (Graph g : List.of(TestNets.identityOverInput(SEED), TestNets.twoTapsOneRoot(SEED))) {
            String plan = CudaDistiller.dryPlan(g, BATCH, o);
            java.util.regex.Matcher m = Pattern.compile("deferred statistics gradients (\\d+) of (\\d+) taps").matcher(plan);
            assertTrue(m.find() && Integer.parseInt(m.group(1)) < Integer.parseInt(m.group(2)), plan);
            check(g, o, 1);
        }
    }

    @Test
    void aForwardPassRepeatedFromTheChangedLayerIsTheWholePass() {
        // CudaForward.klDivergenceAgain's premise, on the planned launches: after a weight changes, rerunning only the
        // nodes from its first reader on gives the whole pass's bits (nothing before that node is overwritten later, the
        // new weights land in every layout the plan keeps). On the graph the sensitivity passes run, for every third
        // conv or gemm weight and the last one (each check is three emulated passes).
        for (Graph g : List.of(forwardNets().getLast())) {
            Tensor x = images(g);
            List<dev.zeroq.graph.Node> layers = g.nodes().stream().filter(n -> (n.op() instanceof dev.zeroq.graph.Op.Conv
                    || n.op() instanceof dev.zeroq.graph.Op.Gemm) && g.isParam(n.input(1))).toList();
            Tensor expected = dev.zeroq.graph.Inference.compile(g, new RefBackend()).run(x);
            int checked = 0;
            for (int k = 0; k < layers.size(); k++) {
                if (k % 3 != 0 && k != layers.size() - 1) continue;
                dev.zeroq.graph.Node n = layers.get(k);
                String w = n.input(1);
                Tensor changed = perturbed(g.param(w));
                float[][] r = CudaForward.emulateRepeat(g, x, w, changed, PlanEmulatorTest::run);
                assertClose(expected.data(), r[0], g.name() + " whole pass");
                assertArrayEquals(r[2], r[1], g.name() + ": the repeat from " + n.name() + " differs from a whole pass");
                Map<String, Tensor> params = new LinkedHashMap<>(g.params());
                params.put(w, changed);
                Graph h = new Graph(g.name(), g.inputName(), g.inputShape(), g.outputName(), g.nodes(), params);
                assertClose(dev.zeroq.graph.Inference.compile(h, new RefBackend()).run(x).data(), r[2],
                        g.name() + " with " + w + " changed");
                checked++;
            }
            assertTrue(layers.size() >= 8 && checked >= 4, g.name() + ": " + checked + " of " + layers.size() + " weights");
        }
    }

    private static Tensor perturbed(Tensor t) {
        float[] d = t.data().clone();
        java.util.Random r = new java.util.Random(d.length);
        for (int i = 0; i < d.length; i++) d[i] = d[i] * 0.75f + 0.05f * (float) r.nextGaussian();
        return new Tensor(d, t.shape());
    }

    private static void assertClose(float[] ref, float[] got, String what) {
        float max = 0;
        for (float v : ref) max = Math.max(max, Math.abs(v));
        for (int i = 0; i < ref.length; i++) {
            double tol = 1e-5 * max + 1e-4 * Math.abs(ref[i]);
            if (!(Math.abs(ref[i] - got[i]) <= tol)) fail(what + ": output " + i + " reference " + ref[i] + ", emulated " + got[i]);
        }
    }

    /** Emulated loss and gradient against the reference backend's, within {@code slack} × the GPU test's tolerances. */
    private static void check(Graph g, CudaDistiller.Options o, double slack) {
        Tensor x = images(g);
        Backprop.Result ref = new Distiller(g, new RefBackend()).lossAndGradient(x);
        Backprop.Result got = CudaDistiller.emulateLossAndGradient(g, o, x, PlanEmulatorTest::run);
        String what = g.name() + ", " + o;
        assertEquals(ref.loss(), got.loss(), Math.abs(ref.loss()) * 1e-4 * slack, "loss, " + what);
        double worst = worstGradientError(ref, got);
        System.out.printf("plan emulation %s: loss ref %.9g emulated %.9g; worst gradient error %.3f of tolerance%n", what,
                ref.loss(), got.loss(), worst);
        if (!(worst <= slack)) fail("input gradient, " + what + ": worst error " + worst + " × the tolerance");
    }

    /** The largest |ref − got| over CudaDistillerTest's tolerance 1e-4·max|ref| + 1e-3·|ref| (NaN counts as ∞). */
    private static double worstGradientError(Backprop.Result ref, Backprop.Result got) {
        float[] r = ref.inputGrad().data(), g = got.inputGrad().data();
        float max = 0;
        for (float v : r) max = Math.max(max, Math.abs(v));
        double worst = 0;
        for (int i = 0; i < r.length; i++) {
            double e = Math.abs(r[i] - g[i]) / (1e-4 * max + 1e-3 * Math.abs(r[i]));
            worst = Double.isNaN(e) ? Double.POSITIVE_INFINITY : Math.max(worst, e);
        }
        return worst;
    }

    private static Tensor images(Graph g) {
        int[] chw = g.inputShape();
        return Distiller.initialBatch(chw, BATCH, DistillConfig.Init.GAUSSIAN, SEED);
    }

    /** One launch through the emulation library, arguments marshalled as CudaModule marshals them for the driver. */
    private static void run(String kernel, int[] grid, int[] block, Object[] args) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment params = a.allocate(ValueLayout.ADDRESS, Math.max(1, args.length));
            for (int i = 0; i < args.length; i++) {
                params.setAtIndex(ValueLayout.ADDRESS, i, CudaModule.argument(a, kernel, i, args[i]));
            }
            int r = (int) launch.invokeExact(a.allocateFrom(kernel), grid[0], grid[1], grid[2], block[0], block[1], block[2],
                    params);
            if (r != 0) throw new IllegalStateException("the emulation library has no kernel " + kernel);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    // ---- the generated launcher ----

    private static final Pattern INCLUDE = Pattern.compile("#include \"([^\"]+)\"");

    /** C++ that includes every kernel's source and dispatches zq_emu_launch by name to it. */
    static String launcherSource(TreeSet<String> kernels) throws IOException {
        Map<String, KernelSignatureTest.Signature> signatures = KernelSignatureTest.kernelSignatures();
        StringBuilder s = new StringBuilder();
        s.append("// Generated by PlanEmulatorTest: the distillation plan's kernels for the host emulation.\n");
        s.append("#include \"int8_emu.h\"\n");
        s.append("static inline float __shfl_down_sync(unsigned m, float v, unsigned d) {\n"
                + "    return __int_as_float(__shfl_down_sync(m, __float_as_int(v), d));\n}\n");
        TreeSet<String> sources = new TreeSet<>();
        for (String k : kernels) {
            KernelSignatureTest.Signature sig = signatures.get(k);
            if (sig == null) throw new IllegalStateException("kernel " + k + " is not defined in kernels/*.cu");
            sources.add(sig.file());
        }
        for (String f : sources) s.append("#include \"").append(f).append("\"\n");
        s.append("""
                #include <cstring>
                extern "C" int zq_emu_launch(const char* name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                                             unsigned bz, void** a) {
                    const dim3e g{gx, gy, gz}, b{bx, by, bz};
                """);
        for (String k : kernels) {
            KernelSignatureTest.Signature sig = signatures.get(k);
            boolean threaded = collective(Path.of("kernels", sig.file()), new TreeSet<>());
            StringBuilder call = new StringBuilder(k).append('(');
            for (int i = 0; i < sig.params().size(); i++) {
                if (i > 0) call.append(", ");
                call.append("*(").append(sig.params().get(i).type()).append("*)a[").append(i).append(']');
            }
            call.append(')');
            s.append("    if (std::strcmp(name, \"").append(k).append("\") == 0) { ")
                    .append(threaded ? "launch(g, b, [&] { " : "launchSerialGrid(g, b, [&] { ")
                    .append(call).append("; }); return 0; }\n");
        }
        s.append("    return 1;\n}\n");
        return s.toString();
    }

    /** Whether a source or anything it includes from kernels/ uses barriers or warp-collective operations. */
    private static boolean collective(Path f, TreeSet<Path> seen) throws IOException {
        if (!seen.add(f) || !Files.isRegularFile(f)) return false;
        String text = Files.readString(f, StandardCharsets.UTF_8);
        if (text.contains("__syncthreads") || text.contains("__shfl") || text.contains("mma_")) return true;
        Matcher m = INCLUDE.matcher(text);
        while (m.find()) {
            if (collective(f.resolveSibling(m.group(1)), seen)) return true;
        }
        return false;
    }
}
