package dev.zeroq.bench;

/*
 * Forward passes of each bundled fixture model at batch 1 and 32 on the CPU, all in one JMH run: zeroq FP32 (the
 * inference pass on the cpu backend, and the op-by-op Executor that distillation uses) and int8 (the integer engine on a W8A8 deploy plan), against ONNX Runtime Java (CPU execution provider,
 * all graph optimizations) on the FP32 model and on our QDQ export of the same plan.
 */

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.graph.Executor;
import dev.zeroq.graph.Inference;
import dev.zeroq.io.Bundled;
import dev.zeroq.onnx.OnnxImporter;
import dev.zeroq.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.FloatBuffer;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Milliseconds per forward pass (lower is better); images/s = batch·1000/score. Both engines use every
 * available core. Run: {@code java --add-modules jdk.incubator.vector -cp target/test-classes:target/classes:$(cat target/cp.txt)
 * org.openjdk.jmh.Main ModelForwardBench -f 1 -wi 3 -i 5}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow", "-Xmx4g"})
public class ModelForwardBench {
    @Param({"resnet_fmnist", "mobilenet_fmnist"})
    String model;

    @Param({"1", "32"})
    int batch;

    private Inference zeroq;
    private Executor executor;
    private Tensor input;
    private OrtEnvironment env;
    private OrtSession ort;
    private OnnxTensor ortInput;
    private dev.zeroq.int8.IntegerModel int8;
    private OrtSession ortQdq;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        byte[] bytes = Bundled.model(model);
        var parsed = OnnxImporter.parse(bytes, model).graph();
        zeroq = Inference.compile(parsed, new CpuBackend());
        executor = new Executor(parsed, new CpuBackend());
        int[] chw = zeroq.graph().inputShape();
        input = Tensor.zeros(batch, chw[0], chw[1], chw[2]);
        Random r = new Random(1);
        for (int i = 0; i < input.size(); i++) input.data()[i] = (float) r.nextGaussian();
        env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        ort = env.createSession(bytes, o);
        ortInput = OnnxTensor.createTensor(env, FloatBuffer.wrap(input.data()), new long[] {batch, chw[0], chw[1], chw[2]});
        // A W8A8 deploy plan from 32 Gaussian images: calibration quality does not matter for timing, only the shapes.
        var graph = zeroq.graph();
        var cfg = dev.zeroq.pipeline.QuantizeConfig.defaults().withScheme(dev.zeroq.quant.QuantPlan.Scheme.DEPLOY)
                .withCalibration(dev.zeroq.quant.QuantPlan.Calibration.GAUSSIAN, null);
        var plan = new dev.zeroq.pipeline.ZeroQ(graph, new CpuBackend()).quantize(cfg,
                dev.zeroq.quant.QuantPlan.sha256(bytes), model, dev.zeroq.pipeline.ZeroQ.Listener.NONE).plan();
        int8 = dev.zeroq.int8.IntegerModel.compile(graph, plan);
        java.nio.file.Path qdq = java.nio.file.Files.createTempFile("zeroq-bench-", ".onnx");
        dev.zeroq.onnx.QdqExporter.export(graph, plan, qdq);
        ortQdq = env.createSession(java.nio.file.Files.readAllBytes(qdq), o);
        java.nio.file.Files.deleteIfExists(qdq);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        ortInput.close();
        ort.close();
        ortQdq.close();
    }

    @Benchmark
    public Tensor zeroqCpu() {
        return zeroq.run(input);
    }

    /** The graph as written, op by op (BatchNorm unfolded): the forward pass of distillation and calibration. */
    @Benchmark
    public Tensor zeroqCpuExecutor() {
        return executor.run(input);
    }

    @Benchmark
    public Tensor zeroqInt8() {
        return int8.apply(input);
    }

    @Benchmark
    public Object onnxRuntimeQdq() throws Exception {
        try (OrtSession.Result r = ortQdq.run(Map.of(zeroq.graph().inputName(), ortInput))) {
            return ((OnnxTensor) r.get(0)).getFloatBuffer();
        }
    }

    @Benchmark
    public Object onnxRuntime() throws Exception {
        try (OrtSession.Result r = ort.run(Map.of(zeroq.graph().inputName(), ortInput))) {
            return ((OnnxTensor) r.get(0)).getFloatBuffer();
        }
    }
}
