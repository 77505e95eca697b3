// QDQ export and import: ONNX Runtime runs our exported QDQ model (with and without its int8 graph rewrites)
// and agrees with the integer engine at the logits; export → import gives back the same plan simulation exactly;
// unsupported QDQ patterns are one-line bad-input errors naming the node.
package dev.zeroq.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.ByteString;
import dev.zeroq.ZeroqException;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.int8.IntegerModel;
import dev.zeroq.int8.TestCnn;
import dev.zeroq.onnx.proto.TensorProto;
import dev.zeroq.pipeline.Simulation;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class QdqExportTest {
    private static final long SEED = 11L;

    @TempDir
    Path dir;

    @Test
    void onnxRuntimeMatchesTheIntegerEngineWithinOneStep() throws Exception {
        Graph g = TestCnn.build(SEED);
        QuantPlan plan = TestCnn.deployPlan(g, 8, SEED);
        Path out = dir.resolve("q.onnx");
        QdqExporter.export(g, plan, out);
        Tensor x = TestCnn.images(7, SEED + 1);
        IntegerModel engine = IntegerModel.compile(g, plan);
        Tensor ours = engine.apply(x);
        double step = gemmStep(engine, plan);
        for (OrtSession.SessionOptions.OptLevel level : new OrtSession.SessionOptions.OptLevel[] {
                OrtSession.SessionOptions.OptLevel.ALL_OPT, OrtSession.SessionOptions.OptLevel.NO_OPT}) {
            float[] ort = runOrt(Files.readAllBytes(out), g.inputName(), x, level);
            assertEquals(ours.size(), ort.length);
            for (int i = 0; i < ort.length; i++) {
                // One step of the gemm output grid (s_x·max s_w); ORT requantizes with its own float rounding.
                if (Math.abs(ort[i] - ours.data()[i]) > step) {
                    fail(level + ": logit " + i + " ORT " + ort[i] + ", zeroq " + ours.data()[i] + ", step " + step);
                }
            }
        }
    }

    @Test
    void exportThenImportSimulatesExactlyAsTheOriginalPlan() {
        Graph g = TestCnn.build(SEED + 1);
        for (int bits : new int[] {8, 4}) {
            QuantPlan plan = TestCnn.deployPlan(g, bits, SEED);
            Path out = dir.resolve("rt" + bits + ".onnx");
            QdqExporter.export(g, plan, out);
            OnnxModel m = OnnxImporter.load(out);
            QuantPlan back = m.qdqPlan();
            assertNotNull(back, "a QDQ model imports with its plan");
            assertEquals(QuantPlan.Scheme.DEPLOY, back.scheme());
            assertEquals(plan.layers().size(), back.layers().size());
            for (int i = 0; i < plan.layers().size(); i++) {
                assertArrayEquals(plan.layers().get(i).scales(), back.layers().get(i).scales());
                assertEquals(bits, back.layers().get(i).weightBits());
            }
            assertEquals(plan.activations().size(), back.activations().size());
            Tensor x = TestCnn.images(5, SEED + 2);
            Tensor want = new Simulation(g, plan, new RefBackend()).apply(x);
            Tensor got = new Simulation(m.graph(), back, new RefBackend()).apply(x);
            assertArrayEquals(want.data(), got.data(), bits + "-bit weights: bit-identical simulation after a round trip");
            back.requireModel(dev.zeroq.quant.QuantPlan.sha256(out));
        }
    }

    @Test
    void floatModelsHaveNoPlan() {
        byte[] bytes = OnnxTestModels.model(13).input("x", -1, 1, 3, 3).node("Relu", List.of("x"), List.of("y"))
                .output("y").bytes();
        assertNull(OnnxImporter.parse(bytes, "relu.onnx").qdqPlan());
    }

    @Test
    void perChannelActivationsAreRejectedNamingTheNode() {
        byte[] bytes = OnnxTestModels.model(13).input("x", -1, 2, 3, 3)
                .initializer("s", new float[] {0.1f, 0.2f}, 2)
                .initializer(uint8("z", new byte[] {0, 0}, 2))
                .namedNode("q1", "QuantizeLinear", List.of("x", "s", "z"), List.of("xq"), OnnxTestModels.attr("axis", 1L))
                .namedNode("dq1", "DequantizeLinear", List.of("xq", "s", "z"), List.of("y"), OnnxTestModels.attr("axis", 1L))
                .output("y").bytes();
        ZeroqException e = assertThrows(ZeroqException.class, () -> OnnxImporter.parse(bytes, "pc.onnx"));
        assertTrue(e.badInput());
        assertTrue(e.getMessage().contains("'q1'") && e.getMessage().contains("per channel"), e.getMessage());
    }

    @Test
    void uint8WeightsAreRejectedNamingTheNode() {
        byte[] bytes = OnnxTestModels.model(13).input("x", -1, 1, 3, 3)
                .initializer(uint8("wq", new byte[] {1, 2, 3, 4}, 1, 1, 2, 2))
                .initializer("ws", new float[] {0.5f}, 1)
                .namedNode("dqw", "DequantizeLinear", List.of("wq", "ws"), List.of("w"))
                .namedNode("conv", "Conv", List.of("x", "w"), List.of("y"))
                .output("y").bytes();
        ZeroqException e = assertThrows(ZeroqException.class, () -> OnnxImporter.parse(bytes, "u8.onnx"));
        assertTrue(e.badInput());
        assertTrue(e.getMessage().contains("'dqw'") && e.getMessage().contains("UINT8"), e.getMessage());
    }

    @Test
    void dequantizingAComputedValueIsRejected() {
        byte[] bytes = OnnxTestModels.model(13).input("x", -1, 1, 3, 3)
                .initializer("s", new float[] {0.5f})
                .namedNode("dqx", "DequantizeLinear", List.of("x", "s"), List.of("y"))
                .output("y").bytes();
        ZeroqException e = assertThrows(ZeroqException.class, () -> OnnxImporter.parse(bytes, "dq.onnx"));
        assertTrue(e.getMessage().contains("dqx") && e.getMessage().contains("QDQ pattern is unsupported"), e.getMessage());
    }

    @Test
    void paperPlansAreNotExported() {
        Graph g = TestCnn.build(SEED);
        QuantPlan d = TestCnn.deployPlan(g, 8, SEED);
        QuantPlan paper = new QuantPlan(d.formatVersion(), d.model(), QuantPlan.Scheme.PAPER, 8, 8, d.clip(),
                d.calibration(), d.seed(), null, d.layers(), d.activations(), null);
        Path out = dir.resolve("p.onnx");
        assertThrows(ZeroqException.class, () -> QdqExporter.export(g, paper, out));
        assertTrue(Files.notExists(out), "nothing written on error");
    }

    static double gemmStep(IntegerModel m, QuantPlan plan) {
        Node gemm = m.graph().nodes().getLast();
        float sx = plan.activations().stream().filter(a -> a.value().equals(gemm.input(0))).findFirst().orElseThrow().scale();
        float maxSw = 0;
        for (float s : plan.layers().stream().filter(l -> l.node().equals(gemm.name())).findFirst().orElseThrow().scales()) {
            maxSw = Math.max(maxSw, s);
        }
        return (double) sx * maxSw;
    }

    static float[] runOrt(byte[] model, String input, Tensor x, OrtSession.SessionOptions.OptLevel level) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] shape = new long[x.rank()];
        for (int i = 0; i < shape.length; i++) shape[i] = x.dim(i);
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setOptimizationLevel(level);
            try (OrtSession s = env.createSession(model, opts);
                 OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.data()), shape);
                 OrtSession.Result r = s.run(Map.of(input, in))) {
                FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
                float[] out = new float[fb.remaining()];
                fb.get(out);
                return out;
            }
        }
    }

    static TensorProto uint8(String name, byte[] v, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.UINT8_VALUE)
                .setRawData(ByteString.copyFrom(v));
        for (long d : dims) t.addDims(d);
        return t.build();
    }
}
