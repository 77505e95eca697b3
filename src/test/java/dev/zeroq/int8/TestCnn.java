// A small random CNN with BatchNorm for the integer engine and QDQ tests: conv-bn-relu, max pool, a residual
// block, a strided conv, a depthwise conv, global average pool, flatten and gemm, on odd image sizes.
package dev.zeroq.int8;

import dev.zeroq.backend.Activation;
import dev.zeroq.backend.Backend;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.PoolSpec;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.distill.DistillConfig;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.graph.Op;
import dev.zeroq.pipeline.QuantizeConfig;
import dev.zeroq.pipeline.ZeroQ;
import dev.zeroq.quant.ClipMethod;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

public final class TestCnn {
    private TestCnn() {}

    /** Input (3, 13, 11); output 5 logits. Parameters from {@code seed}. */
    public static Graph build(long seed) {
        Builder b = new Builder(new Random(seed));
        String a = b.convBnRelu("x", 3, 8, 3, 1, 1, 1, true);
        String p = b.node(new Op.MaxPool(new PoolSpec(new int[] {2, 2}, new int[] {2, 2}, new int[] {0, 0, 0, 0},
                new int[] {1, 1}, false, false)), p(a));
        String r1 = b.convBnRelu(p, 8, 8, 3, 1, 1, 1, true);
        String r2 = b.convBnRelu(r1, 8, 8, 3, 1, 1, 1, false);
        String sum = b.node(new Op.Binary(Backend.BinaryOp.ADD), p(r2, p));
        String r = b.node(new Op.Unary(new Activation.Relu()), p(sum));
        String s = b.convBnRelu(r, 8, 12, 3, 2, 1, 1, true);
        String d = b.convBnRelu(s, 12, 12, 3, 1, 1, 12, false);
        String d6 = b.node(new Op.Unary(new Activation.Clip(0f, 6f)), p(d));
        String gap = b.node(new Op.GlobalAveragePool(), p(d6));
        String flat = b.node(new Op.Flatten(1), p(gap));
        String w = b.param(b.normal(0.3f, 5, 12), 5, 12);
        String bias = b.param(b.normal(0.1f, 5), 5);
        String logits = b.node(new Op.Gemm(1f, 1f, false, true), p(flat, w, bias));
        return new Graph("testcnn", "x", new int[] {3, 13, 11}, logits, b.nodes, b.params);
    }

    /** A deploy W8A8 plan made by the pipeline with Gaussian calibration (fast: no distillation). */
    public static QuantPlan deployPlan(Graph g, int weightBits, long seed) {
        QuantizeConfig cfg = new QuantizeConfig(QuantPlan.Scheme.DEPLOY, weightBits, 8, ClipMethod.MINMAX,
                QuantPlan.Calibration.GAUSSIAN, null, null, null,
                new DistillConfig(16, 1, 1, DistillConfig.Init.GAUSSIAN, seed));
        return new ZeroQ(g, new RefBackend()).quantize(cfg, "0".repeat(64), "testcnn.onnx", ZeroQ.Listener.NONE).plan();
    }

    /** Gaussian images (n, 3, 13, 11). */
    public static Tensor images(int n, long seed) {
        Random r = new Random(seed);
        float[] d = new float[n * 3 * 13 * 11];
        for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian();
        return new Tensor(d, n, 3, 13, 11);
    }

    private static List<String> p(String... s) {
        return List.of(s);
    }

    private static final class Builder {
        final Random r;
        final List<Node> nodes = new ArrayList<>();
        final Map<String, Tensor> params = new LinkedHashMap<>();

        Builder(Random r) {
            this.r = r;
        }

        String node(Op op, List<String> inputs) {
            String out = "v" + nodes.size();
            nodes.add(new Node("n" + nodes.size() + "_" + op.onnxType(), op, inputs, List.of(out)));
            return out;
        }

        String param(float[] v, int... shape) {
            String name = "p" + params.size();
            params.put(name, new Tensor(v, shape));
            return name;
        }

        float[] normal(float std, int... shape) {
            int n = 1;
            for (int d : shape) n *= d;
            float[] v = new float[n];
            for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * std);
            return v;
        }

        float[] uniform(float lo, float hi, int n) {
            float[] v = new float[n];
            for (int i = 0; i < n; i++) v[i] = lo + (hi - lo) * r.nextFloat();
            return v;
        }

        String convBnRelu(String x, int cin, int cout, int k, int stride, int pad, int group, boolean relu) {
            float std = (float) Math.sqrt(2.0 / (cin / group * k * k));
            String w = param(normal(std, cout, cin / group, k, k), cout, cin / group, k, k);
            String conv = node(new Op.Conv(new ConvSpec(new int[] {k, k}, new int[] {stride, stride},
                    new int[] {pad, pad, pad, pad}, new int[] {1, 1}, group)), p(x, w));
            String bn = node(new Op.BatchNorm(1e-5f), p(conv, param(uniform(0.5f, 1.5f, cout), cout),
                    param(normal(0.2f, cout), cout), param(normal(0.2f, cout), cout), param(uniform(0.5f, 1.5f, cout), cout)));
            return relu ? node(new Op.Unary(new Activation.Relu()), p(bn)) : bn;
        }
    }
}
