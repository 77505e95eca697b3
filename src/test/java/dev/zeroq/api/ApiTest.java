// The public API end to end on the bundled model: loading, settings validation, plans, the three
// precisions, direct buffers, non-finite inputs and the session lifecycle.
package dev.zeroq.api;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.graph.Executor;
import dev.zeroq.graph.Inference;
import dev.zeroq.io.Dataset;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ApiTest {
    static Model model;
    static float[] images; // 4 bundled Fashion-MNIST test images, normalized
    static Plan deploy;

    @BeforeAll
    static void setUp() {
        model = Model.bundled("resnet_fmnist");
        images = Arrays.copyOf(Dataset.bundledFashionMnist(4).images().data(), 4 * 784);
        deploy = Zeroq.quantize(model, QuantizeSettings.builder().scheme(Scheme.DEPLOY)
                .distill(DistillSettings.builder().batch(4).iterations(3).device(Device.cpu()).build()).build());
    }

    private static SessionOptions cpu(Precision p, Plan plan) {
        return SessionOptions.builder().precision(p).plan(plan).device(Device.cpu()).build();
    }

    @Test
    void modelDescribesItself() {
        assertEquals("resnet_fmnist.onnx", model.name());
        assertEquals(new ImageShape(1, 28, 28), model.inputShape());
        assertEquals(10, model.outputSize());
        // 151,738 trainable (provenance.json) + 928 BatchNorm running means and variances.
        assertEquals(152666, model.parameterCount());
        assertEquals(64, model.sha256().length());
        ZeroqException e = assertThrows(ZeroqException.class, () -> Model.fromBytes(new byte[] {1, 2, 3}, "junk.onnx"));
        assertTrue(e.getMessage().startsWith("junk.onnx is not an ONNX model"), e.getMessage());
        assertThrows(ZeroqException.class, () -> Model.load(Path.of("/no/such/model.onnx")));
    }

    @Test
    void fp32MatchesTheInternalInferencePass() {
        Tensor x = new Tensor(images.clone(), 4, 1, 28, 28);
        float[] want = Inference.compile(model.graph(), new CpuBackend()).run(x).data();
        // The op-by-op Executor (BatchNorm unfolded, no fused epilogues) rounds differently: float32 summation
        // order and the folded weights, ~1e-6 relative on these logits; 1e-4 relative + 1e-5 absolute covers it.
        float[] unfused = new Executor(model.graph(), new CpuBackend()).run(x).data();
        for (int i = 0; i < want.length; i++) {
            assertTrue(Math.abs(want[i] - unfused[i]) <= 1e-5 + 1e-4 * Math.abs(unfused[i]),
                    "logit " + i + ": inference " + want[i] + ", executor " + unfused[i]);
        }
        float[] copy = images.clone();
        try (InferenceSession s = model.session(cpu(Precision.FP32, null))) {
            assertArrayEquals(want, s.run(images, 4));
            assertArrayEquals(copy, images, "run must not modify its input");
            assertEquals("cpu", s.backend());
            assertTrue(s.fallbackReason().isEmpty());
        }
    }

    @Test
    void simulatedAndInt8RunADeployPlan() {
        try (InferenceSession fp = model.session(cpu(Precision.FP32, null));
             InferenceSession sim = model.session(cpu(Precision.SIMULATED, deploy));
             InferenceSession int8 = model.session(cpu(Precision.INT8, deploy))) {
            float[] f = fp.run(images, 4);
            float[] q = sim.run(images, 4);
            float[] i = int8.run(images, 4);
            for (int n = 0; n < 4; n++) {
                // W8A8 keeps the predicted class on these images; the engine agrees with the simulation.
                assertEquals(argmax(f, n), argmax(q, n));
                assertEquals(argmax(q, n), argmax(i, n));
            }
        }
    }

    @Test
    void directBuffersGiveTheSameOutputs() {
        try (InferenceSession s = model.session(cpu(Precision.FP32, null))) {
            float[] want = s.run(images, 4);
            FloatBuffer in = ByteBuffer.allocateDirect(4 * (images.length + 3)).order(ByteOrder.nativeOrder()).asFloatBuffer();
            in.position(3).put(images).position(3); // an offset start: positions are honoured
            FloatBuffer out = ByteBuffer.allocateDirect(4 * 40).order(ByteOrder.nativeOrder()).asFloatBuffer();
            s.run(in, out, 4);
            assertEquals(3, in.position());
            assertEquals(0, out.position());
            float[] got = new float[40];
            out.get(0, got);
            assertArrayEquals(want, got);
            ZeroqException small = assertThrows(ZeroqException.class, () -> s.run(in, FloatBuffer.allocate(39), 4));
            assertTrue(small.getMessage().contains("output buffer has 39 floats"), small.getMessage());
            assertThrows(ZeroqException.class, () -> s.run(in, out.asReadOnlyBuffer(), 4));
        }
    }

    @Test
    void nonFiniteInputsAreRejectedInEveryPrecision() {
        for (Precision p : Precision.values()) {
            try (InferenceSession s = model.session(cpu(p, p == Precision.FP32 ? null : deploy))) {
                float[] x = images.clone();
                x[784 + 5] = Float.NaN;
                ZeroqException e = assertThrows(ZeroqException.class, () -> s.run(x, 4));
                assertEquals("input holds NaN at image 1, offset 5; zeroq runs finite inputs only: check the preprocessing",
                        e.getMessage());
                x[784 + 5] = Float.NEGATIVE_INFINITY;
                assertThrows(ZeroqException.class, () -> s.run(x, 4));
            }
        }
    }

    @Test
    void closedSessionsRefuseAndCloseIsIdempotent() {
        InferenceSession s = model.session(cpu(Precision.FP32, null));
        s.close();
        s.close();
        assertTrue(s.isClosed());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> s.run(images, 4));
        assertEquals("session is closed", e.getMessage());
        assertThrows(IllegalStateException.class, () -> s.run(FloatBuffer.wrap(images), FloatBuffer.allocate(40), 4));
    }

    @Test
    void badShapesAndSettingsSayHowToFixThem() {
        try (InferenceSession s = model.session(cpu(Precision.FP32, null))) {
            assertEquals("input has 784 floats but 2 image(s) of (1, 28, 28) need 1568",
                    assertThrows(ZeroqException.class, () -> s.run(new float[784], 2)).getMessage());
            assertThrows(ZeroqException.class, () -> s.run(new float[0], 0));
        }
        assertEquals("weightBits must be between 2 and 8, got 9 (8 for int8)", assertThrows(ZeroqException.class,
                () -> QuantizeSettings.builder().weightBits(9).build()).getMessage());
        assertThrows(ZeroqException.class, () -> DistillSettings.builder().iterations(0).build());
        assertThrows(ZeroqException.class, () -> QuantizeSettings.builder().calibration(QuantizeSettings.Calibration.DATA).build());
        assertThrows(ZeroqException.class, () -> QuantizeSettings.builder().bitChoices(List.of()).build());
        assertThrows(ZeroqException.class, () -> new QuantizeSettings.Mixed.AverageBits(9));
        assertThrows(ZeroqException.class, () -> SessionOptions.builder().precision(Precision.SIMULATED).build());
        assertThrows(ZeroqException.class, () -> SessionOptions.builder().plan(deploy).build());
        // INT8 on an explicit CUDA device is valid options (the device-resident integer engine); without a usable GPU
        // opening the session says so in one line (CudaSessionReliabilityTest runs it on a GPU).
        SessionOptions int8Cuda = SessionOptions.builder().precision(Precision.INT8).plan(deploy).device(Device.cuda()).build();
        if (!dev.zeroq.backend.cuda.CudaAvailability.probe().usable()) {
            assertTrue(assertThrows(ZeroqException.class, () -> model.session(int8Cuda)).getMessage()
                    .startsWith("device cuda:0 is not usable: "));
        }
        assertEquals(Device.cuda(1), Device.parse("cuda:1"));
        assertThrows(ZeroqException.class, () -> Device.parse("tpu"));
    }

    @Test
    void defaultsMatchTheCommandLine() {
        DistillSettings d = DistillSettings.defaults();
        assertEquals(List.of(32, 1, 500, 0L), List.of(d.batch(), d.batches(), d.iterations(), d.seed()));
        assertEquals(DistillSettings.Init.UNIFORM, d.init());
        assertEquals(Device.auto(), d.device());
        QuantizeSettings q = QuantizeSettings.defaults();
        assertEquals(Scheme.PAPER, q.scheme());
        assertEquals(List.of(8, 8), List.of(q.weightBits(), q.activationBits()));
        assertEquals(QuantizeSettings.Clip.MINMAX, q.clip());
        assertEquals(QuantizeSettings.Calibration.ZEROQ, q.calibration());
        assertEquals(List.of(2, 4, 8), q.bitChoices());
        assertEquals(q, q.toBuilder().build());
    }

    @Test
    void plansRoundTripAndRefuseOtherModels(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("plan.json");
        deploy.save(p);
        Plan back = Plan.load(p).requireFor(model);
        assertEquals(deploy, back);
        assertEquals(Scheme.DEPLOY, back.scheme());
        assertEquals(8, back.weightBits());
        assertFalse(back.layerBits().isEmpty());
        byte[] other = model.sha256().getBytes(); // any other bytes: a plan must not run on another model
        String json = Files.readString(p).replace(model.sha256(), dev.zeroq.quant.QuantPlan.sha256(other));
        Plan foreign = Plan.fromJson(json, "foreign");
        ZeroqException e = assertThrows(ZeroqException.class, () -> foreign.requireFor(model));
        assertTrue(e.getMessage().contains("re-run zeroq quantize"), e.getMessage());
        assertThrows(ZeroqException.class, () -> model.session(cpu(Precision.SIMULATED, foreign)));
    }

    @Test
    void distillReturnsImagesAndWritesNpy(@TempDir Path dir) {
        DistilledImages d = Zeroq.distill(model, DistillSettings.builder().batch(2).iterations(2).device(Device.cpu()).build());
        assertEquals(2, d.count());
        assertEquals(new ImageShape(1, 28, 28), d.shape());
        assertEquals(2 * 784, d.data().length);
        assertEquals(1, d.finalLoss().size());
        Path f = dir.resolve("d.npy");
        d.writeNpy(f);
        assertEquals(d.images(), Images.readNpy(f));
    }

    private static int argmax(float[] logits, int image) {
        int best = 0;
        for (int c = 1; c < 10; c++) {
            if (logits[image * 10 + c] > logits[image * 10 + best]) best = c;
        }
        return best;
    }
}
