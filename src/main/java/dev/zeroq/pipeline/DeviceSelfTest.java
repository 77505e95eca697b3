// zeroq doctor's check of the device-resident engines on one CUDA device, beside the backends' op-by-op self-test:
// the FP32 forward pass, two distillation iterations and the int8 engine on the bundled ResNet fixture, each against
// its CPU counterpart. Together they run the kernels the op-by-op test does not reach (implicit-GEMM convolutions
// forward and backward, the BN-statistics loss and its gradient, Adam, the int8 tensor-core convolutions, im2col,
// quantize, max and average pooling on codes).
package dev.zeroq.pipeline;

import dev.zeroq.backend.SelfTest;
import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.backend.cuda.CudaDistiller;
import dev.zeroq.backend.cuda.CudaForward;
import dev.zeroq.backend.cuda.CudaIntegerModel;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.distill.DistillConfig;
import dev.zeroq.distill.Distiller;
import dev.zeroq.graph.Executor;
import dev.zeroq.graph.Graph;
import dev.zeroq.int8.IntegerModel;
import dev.zeroq.io.Bundled;
import dev.zeroq.io.Dataset;
import dev.zeroq.onnx.OnnxImporter;
import dev.zeroq.quant.ClipMethod;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Each check gives a {@link SelfTest.Check}: the forward pass and the int8 engine with SelfTest's tolerance on the
 * logits (|cpu − cuda| ≤ 1e-4 + 1e-3·|cpu|; the int8 engine is expected to be exact), distillation with the largest
 * relative difference of the two runs' losses (at most 1e-3: the GPU sums in another order).
 */
public final class DeviceSelfTest {
    private DeviceSelfTest() {}

    static final String MODEL = "resnet_fmnist";
    static final int IMAGES = 4;
    static final double LOSS_TOLERANCE = 1e-3;

    /** The engines under test: each runs the bundled model as its device counterpart does. */
    interface Engines {
        /** The graph output for {@code x}. */
        Tensor forward(Graph g, Tensor x);

        /** The loss at every iteration of a distillation run. */
        double[] distill(Graph g, DistillConfig cfg);

        /** The int8 engine's logits for {@code x}. */
        Tensor int8(IntegerModel engine, Tensor x);
    }

    /** The device-resident engines on CUDA device {@code ordinal}. */
    static Engines cuda(int ordinal) {
        return new Engines() {
            @Override
            public Tensor forward(Graph g, Tensor x) {
                try (CudaForward f = new CudaForward(g, x.dim(0), ordinal)) {
                    return f.run(x);
                }
            }

            @Override
            public double[] distill(Graph g, DistillConfig cfg) {
                // As `zeroq distill/quantize` run by default (--conv auto): each convolution step on zeroq's kernel or
                // cuDNN, whichever setup timed faster, and the iteration replayed as a CUDA graph.
                CudaDistiller.Options o = new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, true, false,
                        CudaDistiller.Cudnn.FASTEST);
                try (CudaDistiller d = new CudaDistiller(g, cfg.batch(), ordinal, o)) {
                    return d.distill(cfg, it -> { }).lossCurves()[0];
                }
            }

            @Override
            public Tensor int8(IntegerModel engine, Tensor x) {
                try (CudaIntegerModel m = new CudaIntegerModel(engine, x.dim(0), ordinal)) {
                    return m.apply(x);
                }
            }
        };
    }

    /** The three checks on CUDA device {@code ordinal}; a check that throws is a failed row with the message. */
    public static List<SelfTest.Check> run(int ordinal) {
        return run(cuda(ordinal));
    }

    static List<SelfTest.Check> run(Engines device) {
        Graph g = OnnxImporter.parse(Bundled.model(MODEL), MODEL + ".onnx").graph();
        Tensor x = Dataset.bundledFashionMnist(IMAGES).images();
        List<SelfTest.Check> out = new ArrayList<>();
        out.add(check("forward pass (device-resident)", () -> SelfTest.compare("forward pass (device-resident)",
                new Executor(g, new RefBackend()).run(x), device.forward(g, x))));
        out.add(check("distillation, 2 iterations", () -> {
            DistillConfig cfg = new DistillConfig(1, 1, 2, DistillConfig.Init.UNIFORM, 7L);
            double[] cpu = new Distiller(g, new CpuBackend()).distill(cfg, it -> { }).lossCurves()[0];
            return lossCheck("distillation, 2 iterations", cpu, device.distill(g, cfg));
        }));
        out.add(check("int8 engine (tensor cores)", () -> {
            IntegerModel engine = IntegerModel.compile(g, deployPlan(g));
            return SelfTest.compare("int8 engine (tensor cores)", engine.apply(x), device.int8(engine, x));
        }));
        return out;
    }

    /** The largest relative difference of two loss curves, within {@link #LOSS_TOLERANCE}. */
    static SelfTest.Check lossCheck(String what, double[] cpu, double[] gpu) {
        double worst = cpu.length == gpu.length ? 0 : Double.POSITIVE_INFINITY;
        for (int i = 0; i < Math.min(cpu.length, gpu.length); i++) {
            double rel = Math.abs(cpu[i] - gpu[i]) / Math.max(Math.abs(cpu[i]), Double.MIN_NORMAL);
            worst = Double.isNaN(rel) ? Double.POSITIVE_INFINITY : Math.max(worst, rel);
        }
        return new SelfTest.Check(what, worst, worst <= LOSS_TOLERANCE, null);
    }

    /** A W8A8 deploy plan from Gaussian calibration images (quick, and all a kernel check needs). */
    private static QuantPlan deployPlan(Graph g) {
        QuantizeConfig cfg = new QuantizeConfig(QuantPlan.Scheme.DEPLOY, 8, 8, ClipMethod.MINMAX,
                QuantPlan.Calibration.GAUSSIAN, null, null, null, new DistillConfig(8, 1, 1, DistillConfig.Init.GAUSSIAN, 1));
        return new ZeroQ(g, new CpuBackend()).quantize(cfg, "0".repeat(64), MODEL + ".onnx", ZeroQ.Listener.NONE).plan();
    }

    private static SelfTest.Check check(String what, Supplier<SelfTest.Check> body) {
        try {
            return body.get();
        } catch (RuntimeException e) {
            return new SelfTest.Check(what, Double.NaN, false, e.getMessage());
        }
    }
}
