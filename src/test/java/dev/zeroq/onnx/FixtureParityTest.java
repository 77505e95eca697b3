package dev.zeroq.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.zeroq.backend.Backend;
import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.graph.Executor;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Inference;
import dev.zeroq.io.Bundled;
import dev.zeroq.io.Dataset;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Map;

/**
 * The bundled fixture models, whole, against ONNX Runtime: our ref and cpu executors on real bundled images at
 * an odd batch equal ORT's logits to ≤ 1e-4 relative L2 (float32 with a different summation order).
 */
class FixtureParityTest {

    @ParameterizedTest
    @ValueSource(strings = {"resnet_fmnist", "mobilenet_fmnist"})
    void fixtureModelsMatchOnnxRuntime(String name) throws Exception {
        byte[] bytes = Bundled.model(name);
        Graph g = OnnxImporter.parse(bytes, name + ".onnx").graph();
        Tensor all = Dataset.bundledFashionMnist(13).images();
        float[] want;
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
            try (OrtSession s = env.createSession(bytes, opts);
                 OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(all.data()),
                         Arrays.stream(all.shape()).asLongStream().toArray());
                 OrtSession.Result r = s.run(Map.of(g.inputName(), in))) {
                FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
                want = new float[fb.remaining()];
                fb.get(want);
            }
        }
        for (Backend b : new Backend[] {new RefBackend(), new CpuBackend(), new CpuBackend(1)}) {
            Tensor got = new Executor(g, b).run(all);
            assertEquals(13 * 10, got.size());
            OrtParityTest.assertClose(name + " on " + b.name(), want, got.data(), 1e-4);
        }
        // The inference pass (BatchNorm folded, fused conv epilogues, reused buffers): the same bound, and the
        // same logits whether a batch size comes first, after another size, or again.
        for (CpuBackend b : new CpuBackend[] {new CpuBackend(), new CpuBackend(1)}) {
            Inference inf = Inference.compile(g, b);
            assertEquals(g.nodesOf(dev.zeroq.graph.Op.Conv.class).size(), inf.fusedConvs(), "every conv fused");
            Tensor got = inf.run(all);
            OrtParityTest.assertClose(name + " inference on " + b, want, got.data(), 1e-4);
            Tensor one = new Tensor(Arrays.copyOf(all.data(), all.size() / 13), 1, all.dim(1), all.dim(2), all.dim(3));
            float[] first = inf.run(one).data().clone();
            assertArrayEquals(got.data(), inf.run(all).data(), "batch 13 again, after batch 1");
            assertArrayEquals(first, inf.run(one).data(), "batch 1 again");
            assertArrayEquals(Arrays.copyOf(got.data(), 10), first, "image 0 alone");
        }
    }
}
