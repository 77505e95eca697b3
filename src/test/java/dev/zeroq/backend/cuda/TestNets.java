// Small random CNN graphs built in code for the CUDA distillation tests: every op CudaDistiller supports appears
// on the path to some BatchNorm input (residual Add, strided and depthwise convs, pools, a sigmoid gate, Concat,
// GAP → Flatten → Gemm → BatchNorm on a rank-2 value), with non-trivial BatchNorm statistics. Seeded.
package dev.zeroq.backend.cuda;

import dev.zeroq.backend.Activation;
import dev.zeroq.backend.Backend;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.PoolSpec;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.graph.Op;
import dev.zeroq.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

final class TestNets {
    private final List<Node> nodes = new ArrayList<>();
    private final Map<String, Tensor> params = new LinkedHashMap<>();
    private final Random rnd;
    private int count;

    private TestNets(long seed) {
        rnd = new Random(seed);
    }

    /** Input (3, 13, 11); about twenty nodes; ten BatchNorms. */
    static Graph smallCnn(long seed) {
        TestNets g = new TestNets(seed);
        String x = "input";
        String a = g.cbr(x, 3, 8, 3, 1, 1, new Activation.Relu());
        String b = g.cbr(a, 8, 8, 3, 1, 1, new Activation.Relu());
        String c = g.bn(g.conv(b, 8, 8, 3, 1, 1, 1), 8);
        String r = g.op(new Op.Unary(new Activation.Relu()), g.op(new Op.Binary(Backend.BinaryOp.ADD), c, a));
        String s2 = g.cbr(r, 8, 16, 3, 2, 1, new Activation.Clip(0f, 6f));
        String dw = g.bn(g.conv(s2, 16, 16, 3, 1, 1, 16), 16);
        String d = g.op(new Op.Unary(new Activation.Relu()), dw);
        String mp = g.op(new Op.MaxPool(new PoolSpec(new int[] {3, 3}, new int[] {2, 2}, new int[] {1, 1, 1, 1},
                new int[] {1, 1}, false, false)), d);
        String ap = g.op(new Op.AveragePool(new PoolSpec(new int[] {2, 2}, new int[] {1, 1}, new int[] {0, 0, 1, 1},
                new int[] {1, 1}, true, true)), mp);
        String e = g.bn(g.conv(ap, 16, 16, 1, 1, 0, 1), 16);
        String gate = g.op(new Op.Unary(new Activation.Sigmoid()), g.op(new Op.GlobalAveragePool(), e));
        String scaled = g.op(new Op.Binary(Backend.BinaryOp.MUL), e, gate);
        String f = g.cbr(scaled, 16, 16, 1, 1, 0, new Activation.HardSwish());
        String cat = g.op(new Op.Concat(1), f, mp);
        String h = g.cbr(cat, 32, 16, 1, 1, 0, new Activation.Relu());
        String pooled = g.op(new Op.Flatten(1), g.op(new Op.GlobalAveragePool(), h));
        String fc = g.op(new Op.Gemm(1f, 1f, false, true), pooled, g.param(0.3, 10, 16), g.param(0.1, 10));
        String out = g.bn(fc, 10);
        return new Graph("small-cnn", "input", new int[] {3, 13, 11}, out, g.nodes, g.params);
    }

    /**
     * relu(BN(c) + c) with c a conv output, then conv-BN: the residual Add's other operand is its BatchNorm's own input,
     * so the BatchNorm cannot be folded into the fused Add (one kernel would write one gradient twice).
     */
    static Graph residualOverBatchNormInput(long seed) {
        TestNets g = new TestNets(seed);
        String c = g.conv("input", 3, 4, 3, 1, 1, 1);
        String r = g.op(new Op.Unary(new Activation.Relu()), g.op(new Op.Binary(Backend.BinaryOp.ADD), g.bn(c, 4), c));
        String out = g.bn(g.conv(r, 4, 4, 3, 1, 1, 1), 4);
        return new Graph("residual-over-bn-input", "input", new int[] {3, 7, 7}, out, g.nodes, g.params);
    }

    /** conv-BN-ReLU twice on a (3, 37, 31) input: planes of 1,147 values, more than a warp-per-plane kernel takes. */
    static Graph largePlanes(long seed) {
        TestNets g = new TestNets(seed);
        String a = g.cbr("input", 3, 4, 3, 1, 1, new Activation.Relu());
        String out = g.bn(g.conv(a, 4, 4, 3, 1, 1, 1), 4);
        return new Graph("large-planes", "input", new int[] {3, 37, 31}, out, g.nodes, g.params);
    }

    /**
     * c = conv(input) read by BN(c), whose ReLU comes after another reader of c (a second conv) in node order: c gets
     * three gradients (its BatchNorm-statistics term, the conv's, the fused BatchNorm's), and the fused backward adds
     * them in another order than the separate kernels (CudaDistiller.Fusion).
     */
    static Graph readerInsideAFusion(long seed) {
        TestNets g = new TestNets(seed);
        String c = g.conv("input", 3, 4, 3, 1, 1, 1);
        String y = g.bn(c, 4);
        String m = g.conv(c, 4, 4, 1, 1, 0, 1);
        String r = g.op(new Op.Unary(new Activation.Relu()), y);
        String sum = g.op(new Op.Binary(Backend.BinaryOp.ADD), r, g.bn(m, 4));
        String out = g.bn(g.conv(sum, 4, 4, 3, 1, 1, 1), 4);
        return new Graph("reader-inside-a-fusion", "input", new int[] {3, 9, 8}, out, g.nodes, g.params);
    }

    /** A graph with a Transpose between two BatchNorms: not supported on CUDA. */
    static Graph withTranspose(long seed) {
        TestNets g = new TestNets(seed);
        String a = g.cbr("input", 3, 4, 3, 1, 1, new Activation.Relu());
        String t = g.op(new Op.Transpose(new int[] {0, 1, 3, 2}), a);
        String out = g.bn(g.conv(t, 4, 4, 3, 1, 1, 1), 4);
        return new Graph("transpose", "input", new int[] {3, 7, 7}, out, g.nodes, g.params);
    }

    /** The input read by a BatchNorm through an Identity: the input and its alias are both tapped, one gradient. */
    static Graph identityOverInput(long seed) {
        TestNets g = new TestNets(seed);
        String a = g.bn(g.op(new Op.Identity(), "input"), 3);
        String out = g.bn(g.conv(a, 3, 4, 3, 1, 1, 1), 4);
        return new Graph("identity-over-input", "input", new int[] {3, 9, 8}, out, g.nodes, g.params);
    }

    /**
     * A conv output read by a BatchNorm (then ReLU) and, flattened, by a BatchNorm over its 288 features: two taps of
     * different plane shapes on one gradient.
     */
    static Graph twoTapsOneRoot(long seed) {
        TestNets g = new TestNets(seed);
        String c = g.conv("input", 3, 4, 3, 1, 1, 1);
        String r = g.op(new Op.Unary(new Activation.Relu()), g.bn(c, 4));
        g.bn(g.conv(r, 4, 4, 3, 1, 1, 1), 4);
        String out = g.bn(g.op(new Op.Flatten(1), c), 4 * 9 * 8);
        return new Graph("two-taps-one-root", "input", new int[] {3, 9, 8}, out, g.nodes, g.params);
    }

    private String cbr(String x, int cin, int cout, int k, int s, int p, Activation f) {
        return op(new Op.Unary(f), bn(conv(x, cin, cout, k, s, p, 1), cout));
    }

    private String conv(String x, int cin, int cout, int k, int s, int p, int group) {
        double scale = Math.sqrt(2.0 / (cin / group * k * k));
        String w = param(scale, cout, cin / group, k, k);
        String b = param(0.05, cout);
        return op(new Op.Conv(new ConvSpec(new int[] {k, k}, new int[] {s, s}, new int[] {p, p, p, p}, new int[] {1, 1},
                group)), x, w, b);
    }

    private String bn(String x, int c) {
        String scale = param(0.2, c), bias = param(0.2, c), mean = param(0.3, c), var = param(0.3, c);
        for (int i = 0; i < c; i++) {
            params.get(scale).data()[i] += 1f;
            params.get(var).data()[i] = Math.abs(params.get(var).data()[i]) + 0.5f;
        }
        return op(new Op.BatchNorm(1e-5f), x, scale, bias, mean, var);
    }

    private String param(double std, int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.size(); i++) t.data()[i] = (float) (rnd.nextGaussian() * std);
        String name = "p" + params.size();
        params.put(name, t);
        return name;
    }

    private String op(Op op, String... inputs) {
        String out = "v" + count++;
        nodes.add(new Node("n" + count, op, List.of(inputs), List.of(out)));
        return out;
    }
}
