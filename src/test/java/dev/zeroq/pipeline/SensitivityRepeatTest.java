// The sensitivity passes that rerun only what a weight change reaches (Executor.runFrom, ForwardRunner's
// klDivergenceAgain) against whole passes, bit for bit, on the bundled resnet_fmnist: every start node, layers in
// forward and shuffled order, and the whole table as ZeroQ.sensitivity now computes it (last layer first)
// against one built from whole passes in layer order.
package dev.zeroq.pipeline;

import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.graph.Executor;
import dev.zeroq.graph.Graph;
import dev.zeroq.io.Bundled;
import dev.zeroq.onnx.OnnxImporter;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SensitivityRepeatTest {
    private static final int IMAGES = 3;
    private static Graph working;
    private static List<WeightLayer> layers;
    private static Tensor images;
    private static QuantizeConfig cfg;

    @BeforeAll
    static void load() {
        Graph graph = OnnxImporter.parse(Bundled.model("resnet_fmnist"), "resnet_fmnist.onnx").graph();
        cfg = QuantizeConfig.defaults().withMixed(new QuantizeConfig.MixedTarget.AverageBits(4)); // 2, 4, 8 bits
        working = Simulation.workingGraph(graph, cfg.scheme());
        layers = WeightLayer.of(working);
        int[] chw = working.inputShape();
        SplittableRandom r = new SplittableRandom(7);
        float[] x = new float[IMAGES * chw[0] * chw[1] * chw[2]];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        images = new Tensor(x, IMAGES, chw[0], chw[1], chw[2]);
    }

    private static Tensor quantized(WeightLayer l, int bits) {
        return FakeQuant.weight(cfg.scheme(), l, l.outputMajor(working), bits, cfg.clip()).dequantized();
    }

    @Test
    void runFromAnyNodeGivesTheWholePassBitForBit() {
        Executor e = new Executor(working, new CpuBackend());
        Map<String, Tensor> all = new HashMap<>();
        all.put(working.inputName(), images);
        Tensor whole = e.run(images, (node, i, v) -> {
            all.put(node.outputs().get(i), v);
            return v;
        });
        int nodes = working.nodes().size();
        for (int first = 0; first <= nodes; first++) {
            Map<String, Tensor> needed = new HashMap<>();
            for (String v : e.readFrom(first)) needed.put(v, all.get(v));
            needed.put(working.inputName(), images);
            assertArrayEquals(whole.data(), e.runFrom(first, needed).data(), "from node " + first);
        }
        // A chain's start needs only the value just before it (the stem: input → conv → relu → ...).
        assertEquals(List.of(working.inputName()), e.readFrom(0));
        assertEquals(List.of(working.outputName()), e.readFrom(nodes));
    }

    @Test
    void runFromRefusesMissingValues() {
        Executor e = new Executor(working, new CpuBackend());
        int middle = working.nodes().size() / 2;
        String needed = e.readFrom(middle).getFirst();
        Map<String, Tensor> onlyInput = Map.of(working.inputName(), images);
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> e.runFrom(middle, onlyInput));
        assertTrue(ex.getMessage().contains("'" + needed + "'"), ex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> e.runFrom(0, Map.of()));
        assertThrows(IllegalArgumentException.class, () -> e.runFrom(working.nodes().size() + 1, onlyInput));
    }

    /** Counts convolutions, to see how much of the network a repeat runs. */
    private static final class CountingBackend extends RefBackend {
        int convs;

        @Override
        public Tensor conv2d(Tensor x, Tensor w, Tensor bias, ConvSpec spec) {
            convs++;
            return super.conv2d(x, w, bias, spec);
        }
    }

    @Test
    void repeatsMatchWholePassesInAnyOrderAndRunOnlyTheLayersAfterTheChange() {
        CountingBackend counting = new CountingBackend();
        List<Integer> forward = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) forward.add(i);
        List<Integer> shuffled = new ArrayList<>(forward);
        Collections.shuffle(shuffled, new Random(3));
        int convLayers = (int) working.nodes().stream().filter(n -> n.op() instanceof dev.zeroq.graph.Op.Conv).count();
        try (ForwardRunner f = ForwardRunner.open(working, counting, IMAGES)) {
            assertThrows(IllegalStateException.class, () -> f.klDivergenceAgain(images));
            Tensor reference = f.reference(images);
            assertArrayEquals(f.run(images).data(), reference.data());
            assertEquals(0.0, f.klDivergenceAgain(reference), 0.0, "nothing changed: the kept logits themselves");
            for (List<Integer> order : List.of(forward, shuffled)) { // backwards: the table test below
                for (int i : order) {
                    WeightLayer l = layers.get(i);
                    f.replaceParam(l.weight(), quantized(l, 2));
                    counting.convs = 0;
                    double again = f.klDivergenceAgain(reference);
                    int repeated = counting.convs;
                    double whole = f.klDivergence(reference, images);
                    f.restoreParam(l.weight());
                    String what = l.name() + " at 2 bits";
                    assertEquals(whole, again, 0.0, what);
                    assertTrue(again > 0, what + ": 2-bit weights change the logits");
                    // The convolutions from this layer's node on, not those before it.
                    int index = working.nodes().indexOf(l.node());
                    long after = working.nodes().subList(index, working.nodes().size()).stream()
                            .filter(n -> n.op() instanceof dev.zeroq.graph.Op.Conv).count();
                    assertEquals(after, repeated, what + ": convolutions run again of " + convLayers);
                }
            }
        }
    }

    @Test
    void valuesTooLargeToKeepMakeEveryRepeatAWholePass() {
        CountingBackend counting = new CountingBackend();
        int convs = (int) working.nodes().stream().filter(n -> n.op() instanceof dev.zeroq.graph.Op.Conv).count();
        try (ForwardRunner f = new ForwardRunner.OnExecutor(working, counting, null, 1000)) {
            Tensor reference = f.reference(images);
            WeightLayer last = layers.getLast(), first = layers.getFirst();
            for (WeightLayer l : List.of(last, first)) {
                f.replaceParam(l.weight(), quantized(l, 2));
                counting.convs = 0;
                double again = f.klDivergenceAgain(reference);
                assertEquals(convs, counting.convs, l.name() + ": a whole pass");
                assertEquals(f.klDivergence(reference, images), again, 0.0, l.name());
                f.restoreParam(l.weight());
            }
            assertEquals(0.0, f.klDivergenceAgain(reference), 0.0, "restored");
        }
    }

    @Test
    void theTableGoingBackwardsIsTheTableOfWholePasses() {
        checkTable(1);
    }

    /** Weights quantized three layers ahead, on three threads: still each layer's own, in the passes' order. */
    @Test
    void weightsQuantizedSeveralLayersAheadGiveTheSameTable() {
        checkTable(3);
    }

    /**
     * The passes' weights computed during the distillation (what a device backend does) give the same plan as weights
     * computed when the sensitivity stage starts, and the model's hash is asked for once, when the plan is made.
     */
    @Test
    void weightsComputedDuringTheDistillationGiveTheSamePlan() {
        Graph graph = OnnxImporter.parse(Bundled.model("resnet_fmnist"), "resnet_fmnist.onnx").graph();
        QuantizeConfig c = cfg.withDistill(new dev.zeroq.distill.DistillConfig(2, 1, 2,
                dev.zeroq.distill.DistillConfig.Init.UNIFORM, 5));
        java.util.concurrent.atomic.AtomicInteger hashes = new java.util.concurrent.atomic.AtomicInteger();
        java.util.function.Supplier<String> sha = () -> {
            hashes.incrementAndGet();
            return "0".repeat(64);
        };
        ZeroQ.Outcome[] o = new ZeroQ.Outcome[2];
        for (int k = 0; k < 2; k++) {
            o[k] = new ZeroQ(graph, new CpuBackend()).weightThreads(2).weightsDuringDistillation(k == 1)
                    .quantize(c, sha, "resnet_fmnist.onnx", ZeroQ.Listener.NONE);
        }
        assertEquals(2, hashes.get());
        for (int i = 0; i < o[0].sensitivity().layers().size(); i++) {
            assertArrayEquals(o[0].sensitivity().omega()[i], o[1].sensitivity().omega()[i], 0.0, "layer " + i);
        }
        assertEquals(o[0].plan().layers(), o[1].plan().layers());
        assertEquals(o[0].plan().activations(), o[1].plan().activations());
    }

    /** The weights ahead come in the layers' order; as many are queued as threads, or as the byte budget holds. */
    @Test
    void weightsAheadComeInOrderWithinTheirBudget() {
        List<WeightLayer> reversed = new ArrayList<>(layers);
        Collections.reverse(reversed);
        try (ZeroQ.WeightsAhead wide = new ZeroQ.WeightsAhead(working, reversed, cfg, 3, Long.MAX_VALUE);
             ZeroQ.WeightsAhead tight = new ZeroQ.WeightsAhead(working, reversed, cfg, 3, 1)) {
            assertEquals(3, wide.queued());
            assertEquals(1, tight.queued(), "a budget below two layers: only the next one (always that one)");
            for (WeightLayer l : reversed) {
                Tensor[] a = wide.next(), b = tight.next();
                int[] bits = cfg.bitChoices();
                for (int j = 0; j < bits.length; j++) {
                    assertArrayEquals(quantized(l, bits[j]).data(), a[j].data(), l.name() + " at " + bits[j]);
                    assertArrayEquals(a[j].data(), b[j].data(), l.name() + " at " + bits[j]);
                }
            }
            assertThrows(IllegalStateException.class, wide::next);
        }
    }

    private void checkTable(int weightThreads) {
        CpuBackend cpu = new CpuBackend();
        int[] bits = cfg.bitChoices();
        List<Integer> steps = new ArrayList<>();
        List<String> stages = new ArrayList<>();
        ZeroQ.Listener listener = new ZeroQ.Listener() {
            @Override
            public void sensitivityStep(int done, int total) {
                steps.add(done);
            }

            @Override
            public void stage(String description) {
                stages.add(description);
            }
        };
        ZeroQ.SensitivityTable table = new ZeroQ(working, cpu).weightThreads(weightThreads).sensitivity(cfg, images,
                listener);
        assertEquals(layers.size() * bits.length, steps.size());
        assertEquals(steps.size(), (int) steps.getLast(), "progress counts every pass once, in order");
        // The stage ends with where its time went.
        assertTrue(stages.getLast().matches("sensitivity took [0-9.]+ s \\(setup [0-9.]+ s, reference pass [0-9.]+ s, "
                + "waiting for quantized weights [0-9.]+ s, weight swaps [0-9.]+ s, passes [0-9.]+ s\\)"), stages.getLast());
        try (ForwardRunner f = ForwardRunner.open(working, cpu, IMAGES)) {
            Tensor reference = f.run(images);
            for (int i = 0; i < layers.size(); i++) {
                WeightLayer l = layers.get(i);
                assertEquals(l.name(), table.layers().get(i));
                assertEquals(l.parameters(working), table.parameters()[i]);
                for (int j = 0; j < bits.length; j++) {
                    f.replaceParam(l.weight(), quantized(l, bits[j]));
                    assertEquals(f.klDivergence(reference, images), table.omega()[i][j], 0.0, l.name() + " at " + bits[j]);
                    f.restoreParam(l.weight());
                }
            }
        }
    }
}
