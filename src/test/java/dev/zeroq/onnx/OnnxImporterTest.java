package dev.zeroq.onnx;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.Activation;
import dev.zeroq.backend.Backend.BinaryOp;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.PoolSpec;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.graph.Op;
import dev.zeroq.graph.ShapeInference;
import dev.zeroq.onnx.proto.ModelProto;
import dev.zeroq.onnx.proto.StringStringEntryProto;
import dev.zeroq.onnx.proto.TensorProto;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static dev.zeroq.onnx.OnnxTestModels.attr;
import static dev.zeroq.onnx.OnnxTestModels.ints;
import static dev.zeroq.onnx.OnnxTestModels.model;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Import of each supported op into the IR (attributes, inferred shapes) and every bad-input message. */
class OnnxImporterTest {

    private static OnnxModel load(OnnxTestModels.Builder b) {
        return OnnxImporter.parse(b.bytes(), "test.onnx");
    }

    /** A single-node model on input x (N, c, h, w) producing y. */
    private static OnnxTestModels.Builder single(long opset, String op, long c, long h, long w,
                                                 List<String> extraIns, dev.zeroq.onnx.proto.AttributeProto... attrs) {
        List<String> ins = new java.util.ArrayList<>(List.of("x"));
        ins.addAll(extraIns);
        return model(opset).input("x", -1, c, h, w).node(op, ins, List.of("y"), attrs).output("y");
    }

    private static Op onlyOp(Graph g) {
        assertEquals(1, g.nodes().size(), () -> "nodes: " + g.nodes());
        return g.nodes().getFirst().op();
    }

    private static int[] outShape(Graph g, int batch) {
        return ShapeInference.infer(g, batch).get(g.outputName());
    }

    private static String badInput(OnnxTestModels.Builder b) {
        ZeroqException e = assertThrows(ZeroqException.class, () -> load(b));
        assertTrue(e.badInput());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    // ---- ops ---------------------------------------------------------------------------------------------------

    @Test
    void convAttributesAndBias() {
        Graph g = load(single(13, "Conv", 3, 7, 5, List.of("w", "b"), ints("strides", 2, 1), ints("pads", 1, 0, 2, 1),
                ints("dilations", 1, 2)).randomInitializer("w", 1, 4, 3, 3, 3).randomInitializer("b", 2, 4)).graph();
        ConvSpec s = ((Op.Conv) onlyOp(g)).spec();
        assertArrayEquals(new int[] {3, 3}, s.kernel());
        assertArrayEquals(new int[] {2, 1}, s.strides());
        assertArrayEquals(new int[] {1, 0, 2, 1}, s.pads());
        assertArrayEquals(new int[] {1, 2}, s.dilations());
        assertEquals(1, s.group());
        assertEquals(3, g.nodes().getFirst().inputs().size());
        assertEquals(Arrays.asList("w", "b"), List.copyOf(g.params().keySet()));
        // H: (7+1+2-3)/2+1 = 4; W: (5+0+1-5)/1+1 = 2
        assertArrayEquals(new int[] {3, 4, 4, 2}, outShape(g, 3));
        assertArrayEquals(new int[] {3, 7, 5}, g.inputShape());
    }

    @Test
    void depthwiseConvWithoutBias() {
        Graph g = load(single(11, "Conv", 6, 7, 5, List.of("w"), attr("group", 6L))
                .randomInitializer("w", 1, 6, 1, 3, 3)).graph();
        Node n = g.nodes().getFirst();
        assertEquals(6, ((Op.Conv) n.op()).spec().group());
        assertEquals(2, n.inputs().size());
        assertArrayEquals(new int[] {2, 6, 5, 3}, outShape(g, 2));
    }

    @Test
    void sameUpperAndLowerPadOddSizes() {
        for (String mode : List.of("SAME_UPPER", "SAME_LOWER")) {
            Graph g = load(single(13, "Conv", 2, 7, 5, List.of("w"), attr("auto_pad", mode), ints("strides", 2, 2))
                    .randomInitializer("w", 1, 3, 2, 2, 2)).graph();
            ConvSpec s = ((Op.Conv) onlyOp(g)).spec();
            // out = ceil(7/2)=4, ceil(5/2)=3; total pad H = 3*2+2-7 = 1, W = 2*2+2-5 = 1: the odd pixel goes
            // at the end for SAME_UPPER and at the start for SAME_LOWER.
            int[] want = mode.equals("SAME_UPPER") ? new int[] {0, 0, 1, 1} : new int[] {1, 1, 0, 0};
            assertArrayEquals(want, s.pads(), mode);
            assertArrayEquals(new int[] {1, 3, 4, 3}, outShape(g, 1));
        }
        Graph valid = load(single(13, "Conv", 2, 7, 5, List.of("w"), attr("auto_pad", "VALID"), ints("pads", 1, 1, 1, 1))
                .randomInitializer("w", 1, 3, 2, 3, 3)).graph();
        assertArrayEquals(new int[] {0, 0, 0, 0}, ((Op.Conv) onlyOp(valid)).spec().pads());
    }

    @Test
    void batchNorm() {
        var b = single(15, "BatchNormalization", 3, 4, 4, List.of("s", "bb", "m", "v"), attr("epsilon", 1e-3f));
        for (String p : List.of("s", "bb", "m", "v")) {
            b.randomInitializer(p, p.hashCode(), 3);
        }
        Op.BatchNorm bn = (Op.BatchNorm) onlyOp(load(b).graph());
        assertEquals(1e-3f, bn.epsilon());
    }

    @Test
    void batchNormTrainingOutputsAreRejected() {
        var b = model(15).input("x", -1, 3, 4, 4)
                .node("BatchNormalization", List.of("x", "s", "bb", "m", "v"), List.of("y", "rm", "rv")).output("y");
        for (String p : List.of("s", "bb", "m", "v")) {
            b.randomInitializer(p, 1, 3);
        }
        assertTrue(badInput(b).contains("eval mode"));
    }

    @Test
    void activations() {
        assertEquals(new Activation.Relu(), ((Op.Unary) onlyOp(load(single(13, "Relu", 2, 3, 3, List.of())).graph())).fn());
        assertEquals(new Activation.Sigmoid(), ((Op.Unary) onlyOp(load(single(13, "Sigmoid", 2, 3, 3, List.of())).graph())).fn());
        assertEquals(new Activation.HardSwish(), ((Op.Unary) onlyOp(load(single(14, "HardSwish", 2, 3, 3, List.of())).graph())).fn());
        assertEquals(new Activation.LeakyRelu(0.01f),
                ((Op.Unary) onlyOp(load(single(13, "LeakyRelu", 2, 3, 3, List.of())).graph())).fn());
        assertEquals(new Activation.LeakyRelu(0.3f),
                ((Op.Unary) onlyOp(load(single(13, "LeakyRelu", 2, 3, 3, List.of(), attr("alpha", 0.3f))).graph())).fn());
        assertEquals(new Activation.HardSigmoid(0.2f, 0.5f),
                ((Op.Unary) onlyOp(load(single(13, "HardSigmoid", 2, 3, 3, List.of())).graph())).fn());
    }

    @Test
    void clipAttributeAndInputForms() {
        Op.Unary old = (Op.Unary) onlyOp(load(single(6, "Clip", 2, 3, 3, List.of(), attr("min", 0f), attr("max", 6f))).graph());
        assertEquals(new Activation.Clip(0f, 6f), old.fn());
        var b = single(13, "Clip", 2, 3, 3, List.of("lo")).initializer("lo", new float[] {-1f});
        assertEquals(new Activation.Clip(-1f, Float.POSITIVE_INFINITY), ((Op.Unary) onlyOp(load(b).graph())).fn());
        var onlyMax = single(13, "Clip", 2, 3, 3, List.of("", "hi")).initializer("hi", new float[] {6f});
        Graph g = load(onlyMax).graph();
        assertEquals(new Activation.Clip(Float.NEGATIVE_INFINITY, 6f), ((Op.Unary) onlyOp(g)).fn());
        assertTrue(g.params().isEmpty(), "min/max are attributes of the op, not parameters");
    }

    @Test
    void binaryOpsBroadcastAgainstParams() {
        for (String op : List.of("Add", "Sub", "Mul", "Div")) {
            Graph g = load(single(14, op, 3, 7, 5, List.of("c")).randomInitializer("c", 1, 3, 1, 1)).graph();
            assertEquals(BinaryOp.valueOf(op.toUpperCase()), ((Op.Binary) onlyOp(g)).kind());
            assertArrayEquals(new int[] {2, 3, 7, 5}, outShape(g, 2));
        }
    }

    @Test
    void maxPoolCeilModeAndIndices() {
        Graph g = load(single(12, "MaxPool", 2, 7, 5, List.of(), ints("kernel_shape", 2, 2), ints("strides", 2, 2),
                attr("ceil_mode", 1L), attr("storage_order", 0L))).graph();
        PoolSpec s = ((Op.MaxPool) onlyOp(g)).spec();
        assertTrue(s.ceilMode());
        assertArrayEquals(new int[] {3, 2, 4, 3}, outShape(g, 3));
        var withIdx = model(12).input("x", -1, 2, 7, 5)
                .node("MaxPool", List.of("x"), List.of("y", "idx"), ints("kernel_shape", 2, 2)).output("y");
        assertTrue(badInput(withIdx).contains("Indices"));
    }

    @Test
    void averagePoolCountIncludePadAndSame() {
        Graph g = load(single(11, "AveragePool", 2, 7, 5, List.of(), ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1),
                attr("count_include_pad", 1L))).graph();
        PoolSpec s = ((Op.AveragePool) onlyOp(g)).spec();
        assertTrue(s.countIncludePad());
        assertFalse(s.ceilMode());
        assertArrayEquals(new int[] {1, 2, 7, 5}, outShape(g, 1));
        Graph same = load(single(11, "AveragePool", 2, 7, 5, List.of(), ints("kernel_shape", 3, 3),
                ints("strides", 2, 2), attr("auto_pad", "SAME_UPPER"))).graph();
        assertArrayEquals(new int[] {1, 2, 4, 3}, outShape(same, 1));
    }

    @Test
    void globalAveragePoolAndFlatten() {
        var b = model(13).input("x", -1, 4, 7, 5).node("GlobalAveragePool", List.of("x"), List.of("p"))
                .node("Flatten", List.of("p"), List.of("y")).output("y");
        Graph g = load(b).graph();
        assertEquals(1, ((Op.Flatten) g.nodes().get(1).op()).axis());
        assertArrayEquals(new int[] {3, 4}, outShape(g, 3));
    }

    @Test
    void reduceMeanAxesAttributeAndInput() {
        Op.ReduceMean a = (Op.ReduceMean) onlyOp(load(single(13, "ReduceMean", 3, 7, 5, List.of(),
                ints("axes", -1, 2), attr("keepdims", 0L))).graph());
        assertArrayEquals(new int[] {2, 3}, a.axes());
        assertFalse(a.keepDims());
        var b = single(18, "ReduceMean", 3, 7, 5, List.of("ax")).intInitializer("ax", new long[] {3, -2}, 2);
        Graph g = load(b).graph();
        Op.ReduceMean r = (Op.ReduceMean) onlyOp(g);
        assertArrayEquals(new int[] {2, 3}, r.axes());
        assertTrue(r.keepDims());
        assertTrue(g.params().isEmpty());
        assertArrayEquals(new int[] {2, 3, 1, 1}, outShape(g, 2));
    }

    @Test
    void reshapeFromInitializer() {
        var b = single(14, "Reshape", 3, 4, 5, List.of("s")).intInitializer("s", new long[] {0, -1}, 2);
        Graph g = load(b).graph();
        assertArrayEquals(new int[] {0, -1}, ((Op.Reshape) onlyOp(g)).shape());
        assertArrayEquals(new int[] {3, 60}, outShape(g, 3));
    }

    /** x.view(x.size(0), -1) as PyTorch exports it: the batch must follow the runtime input. */
    @Test
    void foldedShapeChainKeepsBatchDynamic() {
        var b = model(13).input("x", -1, 3, 4, 5)
                .node("Relu", List.of("x"), List.of("r"))
                .node("Shape", List.of("r"), List.of("shp"))
                .node("Constant", List.of(), List.of("zero"), attr("value", OnnxTestModels.intTensor("", new long[] {0})))
                .node("Gather", List.of("shp", "zero"), List.of("n"), attr("axis", 0L))
                .node("Unsqueeze", List.of("n", "ax0"), List.of("n1"))
                .node("Concat", List.of("n1", "minus1"), List.of("target"), attr("axis", 0L))
                .node("Reshape", List.of("r", "target"), List.of("y")).output("y")
                .intInitializer("ax0", new long[] {0}, 1).intInitializer("minus1", new long[] {-1}, 1);
        Graph g = load(b).graph();
        assertEquals(2, g.nodes().size(), "only Relu and Reshape remain: " + g.nodes());
        assertTrue(g.params().isEmpty(), "shape constants are not parameters: " + g.params().keySet());
        assertArrayEquals(new int[] {Op.Reshape.BATCH, -1}, ((Op.Reshape) g.nodes().get(1).op()).shape());
        assertArrayEquals(new int[] {1, 60}, outShape(g, 1));
        assertArrayEquals(new int[] {3, 60}, outShape(g, 3));
    }

    /** (N, C, H, W) → (N, C·H, W) with C·H computed by Mul of gathered dims, through Slice and Cast. */
    @Test
    void foldedArithmeticOnStaticDimsAndConstantOfShape() {
        var b = model(13).input("x", -1, 3, 4, 5)
                .node("Shape", List.of("x"), List.of("shp"))
                .node("Slice", List.of("shp", "s0", "s1"), List.of("n"))
                .node("Gather", List.of("shp", "i1"), List.of("c"))
                .node("Gather", List.of("shp", "i2"), List.of("h"))
                .node("Mul", List.of("c", "h"), List.of("ch"))
                .node("Cast", List.of("ch"), List.of("ch64"), attr("to", 7L))
                .node("Constant", List.of(), List.of("w"), ints("value_ints", -1))
                .node("Concat", List.of("n", "ch64", "w"), List.of("target"), attr("axis", 0L))
                .node("Reshape", List.of("x", "target"), List.of("r"))
                .node("ConstantOfShape", List.of("three"), List.of("ones"),
                        attr("value", OnnxTestModels.floatTensor("", new float[] {1f}, 1)))
                .node("Add", List.of("r", "ones"), List.of("y")).output("y")
                .intInitializer("s0", new long[] {0}, 1).intInitializer("s1", new long[] {1}, 1)
                .intInitializer("i1", new long[] {1}, 1).intInitializer("i2", new long[] {2}, 1)
                .intInitializer("three", new long[] {1, 1, 5}, 3);
        Graph g = load(b).graph();
        assertEquals(2, g.nodes().size(), () -> "nodes: " + g.nodes());
        assertArrayEquals(new int[] {Op.Reshape.BATCH, 12, -1}, ((Op.Reshape) g.nodes().getFirst().op()).shape());
        assertEquals(List.of("ones"), List.copyOf(g.params().keySet()));
        assertArrayEquals(new int[] {1, 1, 5}, g.param("ones").shape());
        assertArrayEquals(new int[] {2, 12, 5}, outShape(g, 2));
    }

    @Test
    void batchMarkerInArithmeticFailsClearly() {
        var b = model(13).input("x", -1, 3, 4, 5)
                .node("Shape", List.of("x"), List.of("shp"))
                .node("Mul", List.of("shp", "two"), List.of("shp2"))
                .node("Reshape", List.of("x", "shp2"), List.of("y")).output("y")
                .intInitializer("two", new long[] {2}, 1);
        String msg = badInput(b);
        assertTrue(msg.contains("batch size"), msg);
        assertTrue(msg.contains("mul_1"), msg);
    }

    @Test
    void transposeAndConcat() {
        var b = model(13).input("x", -1, 3, 4, 5)
                .node("Transpose", List.of("x"), List.of("t"), ints("perm", 0, 1, 3, 2))
                .node("Concat", List.of("t", "c"), List.of("y"), attr("axis", -1L)).output("y")
                .randomInitializer("c", 1, 1, 3, 5, 2);
        Graph g = load(b).graph();
        assertArrayEquals(new int[] {0, 1, 3, 2}, ((Op.Transpose) g.nodes().get(0).op()).perm());
        assertEquals(3, ((Op.Concat) g.nodes().get(1).op()).axis());
        assertArrayEquals(new int[] {1, 3, 5, 6}, outShape(g, 1));
    }

    @Test
    void splitForms() {
        // opset 11: split attribute
        var a = model(11).input("x", -1, 6, 4, 5)
                .node("Split", List.of("x"), List.of("a", "b"), attr("axis", 1L), ints("split", 2, 4))
                .node("Add", List.of("a", "a"), List.of("y")).output("y");
        Op.Split s = (Op.Split) load(a).graph().nodes().getFirst().op();
        assertEquals(1, s.axis());
        assertArrayEquals(new int[] {2, 4}, s.sizes());
        // opset 13: split input
        var b = model(13).input("x", -1, 6, 4, 5)
                .node("Split", List.of("x", "sp"), List.of("a", "b", "c"), attr("axis", -3L))
                .node("Add", List.of("a", "c"), List.of("y")).output("y").intInitializer("sp", new long[] {2, 3, 1}, 3);
        assertArrayEquals(new int[] {2, 3, 1}, ((Op.Split) load(b).graph().nodes().getFirst().op()).sizes());
        // opset 18: num_outputs, uneven: ceil(5/2) = 3, then 2
        var c = model(18).input("x", -1, 6, 4, 5)
                .node("Split", List.of("x"), List.of("a", "b"), attr("axis", 3L), attr("num_outputs", 2L))
                .node("Identity", List.of("b"), List.of("y")).output("y");
        Graph gc = load(c).graph();
        assertArrayEquals(new int[] {3, 2}, ((Op.Split) gc.nodes().getFirst().op()).sizes());
        assertArrayEquals(new int[] {1, 6, 4, 2}, outShape(gc, 1));
        // equal split by output count
        var d = model(13).input("x", -1, 6, 4, 5)
                .node("Split", List.of("x"), List.of("a", "b", "c"), attr("axis", 1L))
                .node("Identity", List.of("b"), List.of("y")).output("y");
        assertArrayEquals(new int[] {2, 2, 2}, ((Op.Split) load(d).graph().nodes().getFirst().op()).sizes());
    }

    @Test
    void sliceWithNegativeIndicesAndSteps() {
        var b = single(13, "Slice", 3, 7, 5, List.of("st", "en", "ax", "sp"))
                .intInitializer("st", new long[] {-1, 1}, 2).intInitializer("en", new long[] {Long.MIN_VALUE, 4}, 2)
                .intInitializer("ax", new long[] {-2, 3}, 2).intInitializer("sp", new long[] {-2, 2}, 2);
        Graph g = load(b).graph();
        Op.Slice s = (Op.Slice) onlyOp(g);
        assertArrayEquals(new int[] {2, 3}, s.axes());
        assertArrayEquals(new long[] {-2, 2}, s.steps());
        // H: 6,4,2,0 → 4; W: 1,3 → 2
        assertArrayEquals(new int[] {3, 3, 4, 2}, outShape(g, 3));
        assertTrue(g.params().isEmpty());
    }

    @Test
    void gemmMatMulAndConstant() {
        var b = model(13).input("x", -1, 3, 2, 2)
                .node("Flatten", List.of("x"), List.of("f"))
                .node("Gemm", List.of("f", "w", "c"), List.of("g"), attr("transB", 1L), attr("alpha", 0.5f), attr("beta", 2f))
                .node("Constant", List.of(), List.of("m"), attr("value",
                        OnnxTestModels.floatTensor("", OnnxTestModels.random(3, 20), 4, 5)))
                .node("MatMul", List.of("g", "m"), List.of("y")).output("y")
                .randomInitializer("w", 1, 4, 12).randomInitializer("c", 2, 4);
        Graph g = load(b).graph();
        Op.Gemm gemm = (Op.Gemm) g.nodes().get(1).op();
        assertEquals(new Op.Gemm(0.5f, 2f, false, true), gemm);
        assertInstanceOf(Op.MatMul.class, g.nodes().get(2).op());
        assertTrue(g.isParam("m"), "a Constant read by a node becomes a parameter");
        assertArrayEquals(new int[] {3, 5}, outShape(g, 3));
    }

    @Test
    void identityAndDropoutWithUnusedMask() {
        var b = model(13).input("x", -1, 3, 2, 2)
                .node("Dropout", List.of("x"), List.of("d", "mask"))
                .node("Identity", List.of("d"), List.of("y")).output("y");
        Graph g = load(b).graph();
        assertEquals(2, g.nodes().size());
        assertEquals(List.of("d"), g.nodes().getFirst().outputs());
        g.nodes().forEach(n -> assertInstanceOf(Op.Identity.class, n.op()));
        var used = model(13).input("x", -1, 3, 2, 2)
                .node("Dropout", List.of("x"), List.of("d", "mask"))
                .node("Add", List.of("d", "mask"), List.of("y")).output("y");
        assertTrue(badInput(used).contains("mask"));
    }

    @Test
    void squeezeAndUnsqueezeOnRealTensorsBecomeReshapes() {
        var b = model(13).input("x", -1, 3, 1, 5)
                .node("Squeeze", List.of("x", "a2"), List.of("s"))
                .node("Unsqueeze", List.of("s", "a2"), List.of("u"))
                .node("Squeeze", List.of("u"), List.of("y")).output("y")
                .intInitializer("a2", new long[] {2}, 1);
        Graph g = load(b).graph();
        assertArrayEquals(new int[] {Op.Reshape.BATCH, 3, 5}, ((Op.Reshape) g.nodes().get(0).op()).shape());
        assertArrayEquals(new int[] {Op.Reshape.BATCH, 3, 1, 5}, ((Op.Reshape) g.nodes().get(1).op()).shape());
        assertArrayEquals(new int[] {Op.Reshape.BATCH, 3, 5}, ((Op.Reshape) g.nodes().get(2).op()).shape());
        assertArrayEquals(new int[] {1, 3, 5}, outShape(g, 1));
        assertArrayEquals(new int[] {4, 3, 5}, outShape(g, 4));
        // opset 11: axes as an attribute
        var old = model(11).input("x", -1, 3, 1, 5).node("Squeeze", List.of("x"), List.of("y"), ints("axes", -2)).output("y");
        assertArrayEquals(new int[] {2, 3, 5}, outShape(load(old).graph(), 2));
    }

    @Test
    void metadataIsReported() {
        OnnxModel m = load(single(13, "Relu", 2, 3, 3, List.of()));
        assertEquals(13, m.opset());
        assertEquals("zeroq-tests 1", m.producer());
        assertTrue(m.warnings().isEmpty());
        assertEquals("y", m.graph().outputName());
        assertEquals("x", m.graph().inputName());
    }

    @Test
    void initializerListedAsGraphInputIsAParam() {
        var b = single(13, "Conv", 2, 5, 5, List.of("w")).randomInitializer("w", 1, 2, 2, 1, 1);
        b.rawInput(OnnxTestModels.valueInfo("w", 2, 2, 1, 1));
        Graph g = load(b).graph();
        assertEquals("x", g.inputName());
        assertTrue(g.isParam("w"));
    }

    // ---- bad input ---------------------------------------------------------------------------------------------

    @Test
    void missingFile(@TempDir Path dir) {
        Path p = dir.resolve("nope.onnx");
        ZeroqException e = assertThrows(ZeroqException.class, () -> OnnxImporter.load(p));
        assertEquals("model file not found: " + p, e.getMessage());
        assertTrue(e.badInput());
    }

    @Test
    void notAnOnnxModel(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("junk.onnx");
        Files.write(p, new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 1, 2, 3});
        ZeroqException e = assertThrows(ZeroqException.class, () -> OnnxImporter.load(p));
        assertTrue(e.getMessage().startsWith(p + " is not an ONNX model ("), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        Path text = dir.resolve("text.onnx");
        Files.writeString(text, "hello");
        assertTrue(assertThrows(ZeroqException.class, () -> OnnxImporter.load(text)).getMessage()
                .contains("is not an ONNX model"));
    }

    @Test
    void truncatedModel() {
        byte[] full = single(13, "Conv", 3, 7, 5, List.of("w")).randomInitializer("w", 1, 4, 3, 3, 3).bytes();
        byte[] cut = Arrays.copyOf(full, full.length - 40);
        ZeroqException e = assertThrows(ZeroqException.class, () -> OnnxImporter.parse(cut, "cut.onnx"));
        assertTrue(e.getMessage().startsWith("cut.onnx is not an ONNX model ("), e.getMessage());
        assertTrue(e.badInput());
    }

    @Test
    void emptyGraph() {
        assertTrue(badInput(model(13).input("x", -1, 3, 4, 4).output("x")).contains("empty graph"));
    }

    @Test
    void unsupportedOpsAreListedTogether() {
        var b = model(13).input("x", -1, 3, 4, 4)
                .namedNode("lstm_1", "LSTM", List.of("x"), List.of("a"))
                .namedNode("up1", "Resize", List.of("a"), List.of("b"))
                .namedNode("r", "Relu", List.of("b"), List.of("c"))
                .namedNode("up2", "Resize", List.of("c"), List.of("y")).output("y");
        String msg = badInput(b);
        assertTrue(msg.startsWith("unsupported ONNX ops: LSTM (node lstm_1), Resize (nodes up1, up2); zeroq supports: "),
                msg);
        assertTrue(msg.contains("Conv"));
    }

    @Test
    void missingInitializer() {
        var b = model(13).input("x", -1, 3, 4, 4).namedNode("conv0", "Conv", List.of("x", "W"), List.of("y")).output("y");
        assertTrue(badInput(b).startsWith("missing initializer 'W' read by node 'conv0'"));
    }

    @Test
    void externalData() {
        TensorProto ext = TensorProto.newBuilder().setName("w").setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addAllDims(List.of(4L, 3L, 3L, 3L)).setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue("w.bin")).build();
        var b = single(13, "Conv", 3, 7, 5, List.of("w")).initializer(ext);
        String msg = badInput(b);
        assertTrue(msg.contains("'w'") && msg.contains("external"), msg);
    }

    @Test
    void twoImageInputsOrTwoOutputs() {
        var twoIn = model(13).input("x", -1, 3, 4, 4).input("z", -1, 3, 4, 4)
                .node("Add", List.of("x", "z"), List.of("y")).output("y");
        assertTrue(badInput(twoIn).contains("2 image inputs (x, z)"));
        var twoOut = model(13).input("x", -1, 3, 4, 4).node("Relu", List.of("x"), List.of("y"))
                .node("Sigmoid", List.of("x"), List.of("z")).output("y").output("z");
        assertTrue(badInput(twoOut).contains("2 outputs (y, z)"));
    }

    @Test
    void inputShapeMustBeStatic() {
        var dyn = model(13).rawInput(OnnxTestModels.valueInfo("x", -1, 3, -1, 4))
                .node("Relu", List.of("x"), List.of("y")).output("y");
        String msg = badInput(dyn);
        assertTrue(msg.contains("dimension 2 = 'N'") && msg.contains("fixed C, H, W"), msg);
        var rank3 = model(13).input("x", -1, 3, 4).node("Relu", List.of("x"), List.of("y")).output("y");
        assertTrue(badInput(rank3).contains("rank 3"));
        // a fixed batch of 1 is fine: zeroq treats the batch as free
        var fixed = model(13).input("x", 1, 3, 4, 4).node("Relu", List.of("x"), List.of("y")).output("y");
        assertArrayEquals(new int[] {3, 4, 4}, load(fixed).graph().inputShape());
    }

    @Test
    void nonFiniteWeightsAreWarnings() {
        float[] w = OnnxTestModels.random(1, 8);
        w[2] = Float.NaN;
        w[5] = Float.POSITIVE_INFINITY;
        OnnxModel m = load(single(13, "Conv", 2, 4, 4, List.of("w")).initializer("w", w, 4, 2, 1, 1));
        assertEquals(1, m.warnings().size());
        assertTrue(m.warnings().getFirst().contains("'w'") && m.warnings().getFirst().contains("2 NaN/Inf"),
                m.warnings().getFirst());
    }

    @Test
    void modelWithoutGraphIsNotOnnx() {
        byte[] b = ModelProto.newBuilder().setIrVersion(8).build().toByteArray();
        ZeroqException e = assertThrows(ZeroqException.class, () -> OnnxImporter.parse(b, "m.onnx"));
        assertTrue(e.getMessage().startsWith("m.onnx is not an ONNX model"));
    }
}
