package dev.zeroq.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.graph.Executor;
import dev.zeroq.graph.Graph;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static dev.zeroq.onnx.OnnxTestModels.attr;
import static dev.zeroq.onnx.OnnxTestModels.ints;
import static dev.zeroq.onnx.OnnxTestModels.model;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Each supported op, imported and run on the ref backend, against ONNX Runtime on the same seeded model and
 * input (batch 3, odd spatial sizes). Float results differ only by summation order, so the whole output is
 * compared by relative L2 error ≤ 1e-4.
 */
class OrtParityTest {
    private static final int N = 3;
    private static final double MAX_REL_L2 = 1e-4;
    private static OrtEnvironment env;

    @BeforeAll
    static void startOrt() {
        env = OrtEnvironment.getEnvironment();
    }

    @AfterAll
    static void noop() {
        // The ORT environment is a process-wide singleton; closing it here would break other test classes.
    }

    /** Input x (N, c, h, w) feeding one node that writes y; extra initializers are added by the caller. */
    private static OnnxTestModels.Builder single(long opset, String op, long c, long h, long w, List<String> extra,
                                                 dev.zeroq.onnx.proto.AttributeProto... attrs) {
        List<String> ins = new java.util.ArrayList<>(List.of("x"));
        ins.addAll(extra);
        return model(opset).input("x", -1, c, h, w).node(op, ins, List.of("y"), attrs).output("y");
    }

    /** Runs the model in ORT and through the importer + executor on the same input and compares. */
    private static void check(String what, OnnxTestModels.Builder b) {
        byte[] bytes = b.bytes();
        Graph g = OnnxImporter.parse(bytes, what).graph();
        int[] chw = g.inputShape();
        int[] inShape = {N, chw[0], chw[1], chw[2]};
        float[] x = OnnxTestModels.random(what.hashCode(), N * chw[0] * chw[1] * chw[2]);
        Tensor ours = new Executor(g, new RefBackend()).run(new Tensor(x.clone(), inShape));
        float[] want;
        long[] wantShape;
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            // No graph rewrites: compare against the ops as written, not ORT's fused kernels.
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
            try (OrtSession s = env.createSession(bytes, opts);
                 OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x),
                         Arrays.stream(inShape).asLongStream().toArray());
                 OrtSession.Result r = s.run(Map.of(g.inputName(), in))) {
                OnnxTensor out = (OnnxTensor) r.get(0);
                wantShape = out.getInfo().getShape();
                FloatBuffer fb = out.getFloatBuffer();
                want = new float[fb.remaining()];
                fb.get(want);
            }
        } catch (OrtException e) {
            throw new AssertionError(what + ": ONNX Runtime failed: " + e.getMessage(), e);
        }
        assertArrayEquals(Arrays.stream(wantShape).mapToInt(Math::toIntExact).toArray(), ours.shape(),
                what + ": output shape");
        assertClose(what, want, ours.data(), MAX_REL_L2);
    }

    /**
     * Fails when ||want − got|| / ||want|| exceeds {@code maxRel}, naming the first element off by more than
     * {@code maxRel·rms(want)} so a wrong index pattern (padding, stride) is visible.
     */
    static void assertClose(String what, float[] want, float[] got, double maxRel) {
        if (want.length != got.length) {
            fail(what + ": " + want.length + " values expected, got " + got.length);
        }
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < want.length; i++) {
            double d = (double) want[i] - got[i];
            diff += d * d;
            norm += (double) want[i] * want[i];
        }
        double rel = Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-30);
        if (!(rel <= maxRel)) {
            double tol = maxRel * Math.sqrt(norm / Math.max(1, want.length));
            int first = -1;
            for (int i = 0; i < want.length; i++) {
                if (!(Math.abs(want[i] - got[i]) <= tol)) {
                    first = i;
                    break;
                }
            }
            fail(String.format("%s: relative L2 error %.3g > %.1g; first large difference at flat index %d: "
                    + "want %s, got %s", what, rel, maxRel, first, first < 0 ? "-" : want[first],
                    first < 0 ? "-" : got[first]));
        }
    }

    @Test
    void assertCloseNamesTheFirstBadIndex() {
        float[] want = {1, 2, 3, 4};
        assertClose("same", want, want.clone(), MAX_REL_L2);
        AssertionError e = org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class,
                () -> assertClose("off", want, new float[] {1, 2, 3.1f, 4}, MAX_REL_L2));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("flat index 2"), e.getMessage());
    }

    @Test
    void conv() {
        check("conv strided padded dilated", single(13, "Conv", 7, 7, 5, List.of("w", "b"), ints("strides", 2, 1),
                ints("pads", 1, 0, 2, 1), ints("dilations", 1, 2))
                .randomInitializer("w", 1, 5, 7, 3, 3).randomInitializer("b", 2, 5));
        check("conv depthwise", single(11, "Conv", 7, 7, 5, List.of("w"), attr("group", 7L), ints("pads", 1, 1, 1, 1))
                .randomInitializer("w", 3, 7, 1, 3, 3));
        check("conv grouped SAME_UPPER", single(13, "Conv", 6, 7, 5, List.of("w", "b"), attr("group", 2L),
                attr("auto_pad", "SAME_UPPER"), ints("strides", 2, 2))
                .randomInitializer("w", 4, 4, 3, 2, 2).randomInitializer("b", 5, 4));
        // ONNX Runtime rejects dilations together with SAME padding, so SAME_LOWER is checked undilated.
        check("conv SAME_LOWER", single(21, "Conv", 3, 7, 5, List.of("w"), attr("auto_pad", "SAME_LOWER"),
                ints("strides", 2, 2)).randomInitializer("w", 6, 2, 3, 2, 3));
    }

    @Test
    void batchNorm() {
        float[] var = OnnxTestModels.random(4, 7);
        for (int i = 0; i < var.length; i++) {
            var[i] = Math.abs(var[i]) + 0.1f;
        }
        check("batchnorm", single(15, "BatchNormalization", 7, 7, 5, List.of("s", "b", "m", "v"), attr("epsilon", 1e-3f))
                .randomInitializer("s", 1, 7).randomInitializer("b", 2, 7).randomInitializer("m", 3, 7)
                .initializer("v", var, 7));
    }

    @Test
    void activations() {
        check("relu", single(14, "Relu", 7, 7, 5, List.of()));
        check("sigmoid", single(13, "Sigmoid", 7, 7, 5, List.of()));
        check("leakyrelu", single(16, "LeakyRelu", 7, 7, 5, List.of(), attr("alpha", 0.1f)));
        check("hardsigmoid", single(13, "HardSigmoid", 7, 7, 5, List.of(), attr("alpha", 0.3f), attr("beta", 0.6f)));
        check("hardswish", single(14, "HardSwish", 7, 7, 5, List.of()));
        check("clip inputs", single(13, "Clip", 7, 7, 5, List.of("lo", "hi"))
                .initializer("lo", new float[] {-0.3f}).initializer("hi", new float[] {0.5f}));
        check("clip max only", single(13, "Clip", 7, 7, 5, List.of("", "hi")).initializer("hi", new float[] {0.2f}));
        check("clip attributes", single(6, "Clip", 7, 7, 5, List.of(), attr("min", -0.1f), attr("max", 0.4f)));
    }

    @Test
    void binaryBroadcasting() {
        check("add per channel", single(14, "Add", 7, 7, 5, List.of("c")).randomInitializer("c", 1, 7, 1, 1));
        check("sub per column", single(14, "Sub", 7, 7, 5, List.of("c")).randomInitializer("c", 2, 5));
        check("mul full", single(14, "Mul", 7, 7, 5, List.of("c")).randomInitializer("c", 3, 1, 7, 7, 5));
        float[] d = OnnxTestModels.random(4, 7 * 5);
        for (int i = 0; i < d.length; i++) {
            d[i] = d[i] >= 0 ? d[i] + 0.5f : d[i] - 0.5f;
        }
        check("div per pixel", single(14, "Div", 7, 7, 5, List.of("c")).initializer("c", d, 1, 7, 5));
    }

    @Test
    void pools() {
        check("maxpool ceil", single(12, "MaxPool", 7, 7, 5, List.of(), ints("kernel_shape", 3, 3), ints("strides", 2, 2),
                ints("pads", 1, 1, 1, 1), attr("ceil_mode", 1L)));
        check("maxpool dilated", single(12, "MaxPool", 7, 7, 5, List.of(), ints("kernel_shape", 2, 2),
                ints("dilations", 2, 2)));
        check("maxpool SAME_UPPER", single(12, "MaxPool", 7, 7, 5, List.of(), ints("kernel_shape", 2, 2),
                ints("strides", 2, 2), attr("auto_pad", "SAME_UPPER")));
        check("avgpool count_include_pad", single(11, "AveragePool", 7, 7, 5, List.of(), ints("kernel_shape", 3, 3),
                ints("pads", 1, 1, 1, 1), ints("strides", 2, 2), attr("count_include_pad", 1L)));
        check("avgpool ceil exclude pad", single(19, "AveragePool", 7, 7, 5, List.of(), ints("kernel_shape", 2, 3),
                ints("pads", 1, 0, 0, 1), ints("strides", 2, 2), attr("ceil_mode", 1L)));
        check("global avgpool", single(13, "GlobalAveragePool", 7, 7, 5, List.of()));
    }

    @Test
    void reduceMean() {
        check("reducemean attr", single(13, "ReduceMean", 7, 7, 5, List.of(), ints("axes", 2, -1), attr("keepdims", 0L)));
        check("reducemean input", single(18, "ReduceMean", 7, 7, 5, List.of("ax"))
                .intInitializer("ax", new long[] {1}, 1));
    }

    @Test
    void flattenGemmMatMul() {
        check("flatten gemm", model(13).input("x", -1, 3, 2, 2)
                .node("Flatten", List.of("x"), List.of("f"))
                .node("Gemm", List.of("f", "w", "c"), List.of("y"), attr("transB", 1L), attr("alpha", 0.5f),
                        attr("beta", 2f)).output("y")
                .randomInitializer("w", 1, 5, 12).randomInitializer("c", 2, 5));
        check("flatten gemm transA", model(13).input("x", -1, 7, 1, 1)
                .node("Flatten", List.of("x"), List.of("f"))
                .node("Transpose", List.of("f"), List.of("ft"))
                .node("Gemm", List.of("ft", "w"), List.of("y"), attr("transA", 1L)).output("y")
                .randomInitializer("w", 3, 7, 4));
        check("matmul", single(13, "MatMul", 7, 7, 5, List.of("w")).randomInitializer("w", 1, 5, 4));
    }

    @Test
    void transposeSplitSliceConcat() {
        check("transpose", single(13, "Transpose", 7, 7, 5, List.of(), ints("perm", 0, 2, 3, 1)));
        check("split concat", model(13).input("x", -1, 7, 7, 5)
                .node("Split", List.of("x", "sp"), List.of("a", "b", "c"), attr("axis", 1L))
                .node("Concat", List.of("c", "a", "b"), List.of("y"), attr("axis", 1L)).output("y")
                .intInitializer("sp", new long[] {2, 4, 1}, 3));
        check("split num_outputs", model(18).input("x", -1, 7, 7, 5)
                .node("Split", List.of("x"), List.of("a", "b"), attr("axis", 2L), attr("num_outputs", 2L))
                .node("Identity", List.of("b"), List.of("y")).output("y"));
        check("slice negative steps", single(13, "Slice", 7, 7, 5, List.of("st", "en", "ax", "sp"))
                .intInitializer("st", new long[] {-1, 1, 6}, 3).intInitializer("en", new long[] {Long.MIN_VALUE, 4, 1}, 3)
                .intInitializer("ax", new long[] {-2, 3, 1}, 3).intInitializer("sp", new long[] {-2, 2, -3}, 3));
        check("concat param", single(13, "Concat", 7, 7, 5, List.of("c"), attr("axis", -1L))
                .randomInitializer("c", 1, 3, 7, 7, 2));
    }

    @Test
    void foldedReshapeAndSqueeze() {
        check("shape chain reshape", model(13).input("x", -1, 7, 7, 5)
                .node("Relu", List.of("x"), List.of("r"))
                .node("Shape", List.of("r"), List.of("shp"))
                .node("Gather", List.of("shp", "zero"), List.of("n"), attr("axis", 0L))
                .node("Unsqueeze", List.of("n", "ax0"), List.of("n1"))
                .node("Concat", List.of("n1", "minus1"), List.of("target"), attr("axis", 0L))
                .node("Reshape", List.of("r", "target"), List.of("y")).output("y")
                .intInitializer("zero", new long[] {0}).intInitializer("ax0", new long[] {0}, 1)
                .intInitializer("minus1", new long[] {-1}, 1));
        check("squeeze unsqueeze", model(13).input("x", -1, 7, 1, 5)
                .node("Squeeze", List.of("x", "a2"), List.of("s"))
                .node("Unsqueeze", List.of("s", "a0"), List.of("y")).output("y")
                .intInitializer("a2", new long[] {2}, 1).intInitializer("a0", new long[] {-1}, 1));
    }
}
