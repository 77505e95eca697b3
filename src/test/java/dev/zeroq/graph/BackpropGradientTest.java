package dev.zeroq.graph;

import dev.zeroq.backend.Activation;
import dev.zeroq.backend.Backend;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.Gradients;
import dev.zeroq.backend.PoolSpec;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.distill.Distiller;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Finite-difference checks of the backward pass, op by op and for the whole ZeroQ loss. The check is
 * directional: (L(x+εd) − L(x−εd))/2ε against ⟨∇L, d⟩ for random d, with L summed in double. Float32
 * forward rounding limits agreement to about 1e-4 relative at ε = 1e-3 (small enough that few coordinates cross a ReLU or max-pool kink), so the tolerance is 1e-3 relative.
 */
class BackpropGradientTest {
    private static final Backend REF = new RefBackend();
    private static final int[] CHW = {3, 7, 5};

    /** A one-input graph built node by node. */
    private static final class G {
        final List<Node> nodes = new ArrayList<>();
        final Map<String, Tensor> params = new HashMap<>();
        final Random rnd = new Random(42);
        int count;
        int[] chw = CHW;

        String param(int... shape) {
            Tensor t = Tensor.zeros(shape);
            for (int i = 0; i < t.size(); i++) t.data()[i] = (float) rnd.nextGaussian() * 0.5f;
            String name = "p" + params.size();
            params.put(name, t);
            return name;
        }

        String positive(int... shape) {
            String p = param(shape);
            float[] d = params.get(p).data();
            for (int i = 0; i < d.length; i++) d[i] = Math.abs(d[i]) + 0.5f;
            return p;
        }

        String add(Op op, String... inputs) {
            String out = "v" + count++;
            nodes.add(new Node("n" + count, op, List.of(inputs), List.of(out)));
            return out;
        }

        Graph build(String output) {
            return new Graph("t", "x", chw, output, nodes, params);
        }
    }

    private static void check(Graph g, int batch) {
        Random r = new Random(7);
        // Distinct inputs spaced well apart (a shuffled ramp over [-2, 2], offset by half a step): no two values
        // in a max-pool window are closer than the finite-difference step, so the check never straddles a tie.
        Tensor x = Tensor.zeros(batch, g.inputShape()[0], g.inputShape()[1], g.inputShape()[2]);
        List<Float> ramp = new ArrayList<>();
        for (int i = 0; i < x.size(); i++) ramp.add(-2f + 4f * (i + 0.5f) / x.size());
        java.util.Collections.shuffle(ramp, r);
        for (int i = 0; i < x.size(); i++) x.data()[i] = ramp.get(i);
        int[] outShape = ShapeInference.infer(g, batch).get(g.outputName());
        Tensor weights = Tensor.zeros(outShape);
        for (int i = 0; i < weights.size(); i++) weights.data()[i] = (float) r.nextGaussian();
        Backprop.Tap tap = y -> {
            double l = 0;
            for (int i = 0; i < y.size(); i++) l += (double) y.data()[i] * weights.data()[i];
            return new Backend.BnStatLoss(l, weights.copy());
        };
        Backprop bp = new Backprop(g, REF);
        Tensor grad = bp.run(x, Map.of(g.outputName(), tap)).inputGrad();
        Function<Tensor, Double> loss = xx -> bp.run(xx, Map.of(g.outputName(), tap)).loss();
        directional(x, grad, loss, 1e-3f);
    }

    private static void directional(Tensor x, Tensor grad, Function<Tensor, Double> loss, float eps) {
        Random r = new Random(11);
        for (int trial = 0; trial < 3; trial++) {
            Tensor d = Tensor.zeros(x.shape());
            for (int i = 0; i < d.size(); i++) d.data()[i] = (float) r.nextGaussian();
            Tensor plus = x.copy(), minus = x.copy();
            for (int i = 0; i < d.size(); i++) {
                plus.data()[i] += eps * d.data()[i];
                minus.data()[i] -= eps * d.data()[i];
            }
            double numeric = (loss.apply(plus) - loss.apply(minus)) / (2 * eps);
            double analytic = 0;
            for (int i = 0; i < d.size(); i++) analytic += (double) grad.data()[i] * d.data()[i];
            double tol = 1e-3 * Math.max(1, Math.abs(numeric));
            assertEquals(numeric, analytic, tol, "trial " + trial + ": numeric " + numeric + " vs analytic " + analytic);
        }
    }

    private static ConvSpec conv(int k, int s, int p, int d, int g) {
        return new ConvSpec(new int[] {k, k}, new int[] {s, s}, new int[] {p, p, p + 1, p}, new int[] {d, d}, g);
    }

    @Test
    void convolutions() {
        for (ConvSpec spec : List.of(conv(3, 1, 1, 1, 1), conv(3, 2, 1, 1, 1), conv(3, 2, 0, 2, 1), conv(1, 1, 0, 1, 3),
                conv(3, 2, 1, 1, 3))) {
            G g = new G();
            int cout = spec.group() == 3 ? 6 : 4;
            String w = g.param(cout, 3 / spec.group(), spec.kernel()[0], spec.kernel()[1]);
            check(g.build(g.add(new Op.Conv(spec), "x", w, g.param(cout))), 2);
        }
    }

    @Test
    void convBackwardAsForwardConvEqualsScatter() {
        Random r = new Random(3);
        for (ConvSpec spec : List.of(conv(3, 1, 1, 1, 1), conv(3, 2, 1, 1, 1), conv(5, 2, 2, 1, 3), conv(3, 2, 0, 2, 1),
                conv(1, 2, 0, 1, 1), conv(3, 1, 1, 1, 3))) {
            int[] in = {3, 3, 7, 5};
            int cout = 6;
            Tensor w = Tensor.zeros(cout, 3 / spec.group(), spec.kernel()[0], spec.kernel()[1]);
            for (int i = 0; i < w.size(); i++) w.data()[i] = (float) r.nextGaussian();
            Tensor go = Tensor.zeros(3, cout, spec.outH(7), spec.outW(5));
            for (int i = 0; i < go.size(); i++) go.data()[i] = (float) r.nextGaussian();
            Tensor want = Gradients.scatterConvBackward(go, w, spec, in);
            Tensor got = Gradients.conv2dBackwardData(REF, go, w, spec, in);
            for (int i = 0; i < want.size(); i++) {
                float a = want.data()[i], b = got.data()[i];
                assertTrue(Math.abs(a - b) <= 1e-5 + 1e-4 * Math.abs(a), spec + " index " + i + ": " + a + " vs " + b);
            }
        }
    }

    @Test
    void batchNormAndActivations() {
        List<Activation> fns = List.of(new Activation.Relu(), new Activation.Clip(-0.5f, 0.7f), new Activation.LeakyRelu(0.1f),
                new Activation.Sigmoid(), new Activation.HardSigmoid(0.2f, 0.5f), new Activation.HardSwish());
        // Straight on the ramp input, whose points keep clear of every kink (0, −0.5, 0.7) by more than ε·|d|.
        for (Activation f : fns) {
            G g = new G();
            check(g.build(g.add(new Op.Unary(f), "x")), 2);
        }
        G g = new G();
        check(g.build(g.add(new Op.BatchNorm(1e-5f), "x", g.param(3), g.param(3), g.param(3), g.positive(3))), 2);
    }

    @Test
    void binaryOpsWithBroadcasting() {
        for (Backend.BinaryOp op : Backend.BinaryOp.values()) {
            G g = new G();
            String a = g.add(new Op.Unary(new Activation.Sigmoid()), "x");
            String c = op == Backend.BinaryOp.DIV ? g.positive(3, 1, 1) : g.param(3, 1, 1);
            String left = g.add(new Op.Binary(op), a, c);
            // Both operands computed: x (op) sigmoid(x) reaches the input along two paths.
            String both = g.add(new Op.Binary(op), "x", op == Backend.BinaryOp.DIV ? g.add(new Op.Binary(Backend.BinaryOp.ADD), a, g.positive(1)) : a);
            check(g.build(g.add(new Op.Binary(Backend.BinaryOp.ADD), left, both)), 2);
        }
    }

    @Test
    void pooling() {
        PoolSpec[] specs = {
                new PoolSpec(new int[] {3, 3}, new int[] {2, 2}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, false, false),
                new PoolSpec(new int[] {2, 2}, new int[] {2, 2}, new int[] {0, 0, 0, 0}, new int[] {1, 1}, true, false),
                new PoolSpec(new int[] {3, 2}, new int[] {2, 1}, new int[] {1, 0, 1, 1}, new int[] {1, 1}, true, true)};
        for (PoolSpec s : specs) {
            G g = new G();
            check(g.build(g.add(new Op.MaxPool(s), "x")), 2);
            G h = new G();
            check(h.build(h.add(new Op.AveragePool(s), "x")), 2);
        }
        G g = new G();
        check(g.build(g.add(new Op.GlobalAveragePool(), "x")), 2);
        G m = new G();
        check(m.build(m.add(new Op.ReduceMean(new int[] {2, 3}, false), "x")), 2);
    }

    @Test
    void classifierHead() {
        G g = new G();
        String gap = g.add(new Op.GlobalAveragePool(), "x");
        String flat = g.add(new Op.Flatten(1), gap);
        String fc = g.add(new Op.Gemm(1.5f, 1f, false, true), flat, g.param(10, 3), g.param(10));
        check(g.build(fc), 3);
        G h = new G();
        String f2 = h.add(new Op.Flatten(1), "x");
        check(h.build(h.add(new Op.MatMul(), f2, h.param(105, 4))), 2);
    }

    @Test
    void channelShuffleConcatSplitSliceTranspose() {
        G g = new G();
        g.chw = new int[] {4, 3, 5};
        String[] halves = {"s0", "s1"};
        g.nodes.add(new Node("split", new Op.Split(1, new int[] {1, 3}), List.of("x"), List.of(halves)));
        String cat = g.add(new Op.Concat(1), "s1", g.add(new Op.Unary(new Activation.Sigmoid()), "s0"));
        String r = g.add(new Op.Reshape(new int[] {Op.Reshape.BATCH, 2, 2, 3, 5}), cat);
        String t = g.add(new Op.Transpose(new int[] {0, 2, 1, 3, 4}), r);
        String back = g.add(new Op.Reshape(new int[] {0, -1, 3, 5}), t);
        String sl = g.add(new Op.Slice(new long[] {-1, 0}, new long[] {-100, 4}, new int[] {3, 2}, new long[] {-2, 1}), back);
        check(g.build(sl), 2);
    }

    @Test
    void zeroqLossGradientMatchesFiniteDifferences() {
        G g = new G();
        String c1 = g.add(new Op.Conv(conv(3, 1, 1, 1, 1)), "x", g.param(4, 3, 3, 3), g.param(4));
        String b1 = g.add(new Op.BatchNorm(1e-5f), c1, g.positive(4), g.param(4), g.param(4), g.positive(4));
        String r1 = g.add(new Op.Unary(new Activation.Clip(0f, 6f)), b1);
        String c2 = g.add(new Op.Conv(conv(3, 2, 1, 1, 2)), r1, g.param(4, 2, 3, 3), g.param(4));
        String b2 = g.add(new Op.BatchNorm(1e-5f), c2, g.positive(4), g.param(4), g.param(4), g.positive(4));
        String out = g.add(new Op.GlobalAveragePool(), g.add(new Op.Unary(new Activation.Relu()), b2));
        Graph graph = g.build(out);
        Distiller d = new Distiller(graph, REF);
        assertEquals(2, d.bnTerms());
        Tensor x = Distiller.initialBatch(graph.inputShape(), 3, dev.zeroq.distill.DistillConfig.Init.GAUSSIAN, 5);
        Tensor grad = d.lossAndGradient(x).inputGrad();
        directional(x, grad, xx -> d.lossAndGradient(xx).loss(), 1e-3f);
    }
}
