// Inference on one GPU, FP32 vs int8, on an ONNX model (e.g. torchvision ResNet-50 exported by gpu-check.sh):
// CudaForward (FP32, BN folded) against CudaIntegerModel (a ZeroQ deploy plan, int8 tensor cores), device-resident,
// per batch size; prints RESULT lines, the int8/FP32 speedup and the int8 engine's effective conv TOPS.
// Usage: java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp bundle/zeroq.jar:bundle/test-classes
//        dev.zeroq.bench.GpuInferenceBench MODEL.onnx [--batches 1,32,128] [--warmup 5] [--iters 20] [--calib 8]
package dev.zeroq.bench;

import dev.zeroq.backend.Backends;
import dev.zeroq.backend.cuda.CudaAvailability;
import dev.zeroq.backend.cuda.CudaForward;
import dev.zeroq.backend.cuda.CudaIntegerModel;
import dev.zeroq.distill.DistillConfig;
import dev.zeroq.distill.Distiller;
import dev.zeroq.graph.Graph;
import dev.zeroq.int8.IntegerModel;
import dev.zeroq.onnx.OnnxImporter;
import dev.zeroq.pipeline.QuantizeConfig;
import dev.zeroq.pipeline.ZeroQ;
import dev.zeroq.quant.ClipMethod;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * What is timed, for both precisions: the device work of one forward pass, between two CUDA events, with the input
 * already on the device (uploaded once before the timed loop) and the logits not downloaded; each precision is
 * built for exactly the batch it runs (weights uploaded and, for int8, packed once, outside the timing). FP32 runs
 * the same BN-folded graph the int8 engine runs, on zeroq's own FP32 kernels (strict FP32, no TF32, no cuDNN). The
 * int8 run includes quantizing the float input and the float logits' epilogue. The deploy plan is made quickly
 * (ZeroQ, min/max clipping, activations calibrated on gaussian images): its accuracy is irrelevant to the timing.
 */
public final class GpuInferenceBench {
    private GpuInferenceBench() {}

    /** Nominal dense int8 tensor-core peak of an H100/H200 SXM (datasheet, not measured). */
    private static final double NOMINAL_INT8_TOPS = 1979;

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: GpuInferenceBench MODEL.onnx [--batches 1,32,128] [--warmup 5] [--iters 20] [--calib 8]");
            System.exit(2);
        }
        Path model = Path.of(args[0]);
        int[] batches = {1, 32, 128};
        int warmup = 5, iters = 20, calib = 8;
        for (int i = 1; i + 1 < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--batches" -> batches = Arrays.stream(v.split(",")).mapToInt(Integer::parseInt).toArray();
                case "--warmup" -> warmup = Integer.parseInt(v);
                case "--iters" -> iters = Integer.parseInt(v);
                case "--calib" -> calib = Integer.parseInt(v);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        String name = model.getFileName().toString();
        CudaAvailability a = CudaAvailability.probe();
        if (!a.usable()) {
            System.out.println("RESULT infer model=" + name + " FAIL reason=\"CUDA unavailable: " + a.reason() + "\"");
            System.exit(1);
        }
        boolean failed = false;
        long t0 = System.nanoTime();
        byte[] bytes = Files.readAllBytes(model);
        Graph g = OnnxImporter.parse(bytes, name).graph();
        System.out.printf("GpuInferenceBench %s: %d nodes, %.1f M parameters, load %.2f s%n", name, g.nodes().size(),
                g.parameterCount() / 1e6, (System.nanoTime() - t0) / 1e9);

        // The deploy plan and the CPU engine's compile (whose decisions the CUDA engine reuses).
        IntegerModel engine = null;
        String int8Problem = null;
        try {
            long p0 = System.nanoTime();
            QuantizeConfig cfg = new QuantizeConfig(QuantPlan.Scheme.DEPLOY, 8, 8, ClipMethod.MINMAX,
                    QuantPlan.Calibration.GAUSSIAN, null, null, null,
                    new DistillConfig(calib, 1, 1, DistillConfig.Init.GAUSSIAN, 0));
            QuantPlan plan;
            try (Backends.Selection sel = Backends.select("cuda")) {
                plan = new ZeroQ(g, sel.backend()).quantize(cfg, QuantPlan.sha256(bytes), name, ZeroQ.Listener.NONE).plan();
            }
            double planS = (System.nanoTime() - p0) / 1e9;
            long c0 = System.nanoTime();
            engine = IntegerModel.compile(g, plan);
            List<String> bad = CudaIntegerModel.unsupported(engine);
            if (!bad.isEmpty()) int8Problem = "unsupported on the CUDA integer engine: " + bad;
            System.out.printf("plan: W8A8 deploy, gaussian calibration on %d images, %.2f s; int8 compile %.2f s: %d integer "
                    + "layers, %d nodes fused%n", calib, planS, (System.nanoTime() - c0) / 1e9, engine.integerLayers(),
                    engine.fusedNodes());
        } catch (RuntimeException e) {
            int8Problem = "plan/compile failed: " + e;
        }
        Graph fp32Graph = engine != null ? engine.graph() : g;
        System.out.printf("timing: CUDA events around whole forward passes, input uploaded once before the loop (not timed), "
                + "logits not downloaded; warm-up %d, median of %d; FP32 = CudaForward on the %s graph%n", warmup, iters,
                engine != null ? "BN-folded" : "original");

        for (int b : batches) {
            Tensor x = Distiller.initialBatch(g.inputShape(), b, DistillConfig.Init.GAUSSIAN, 1000 + b);
            double fp32 = Double.NaN, int8 = Double.NaN;
            try (CudaForward f = new CudaForward(fp32Graph, b, 0)) {
                fp32 = median(f.time(x, warmup, iters));
                result(name, b, "fp32", fp32, "");
            } catch (RuntimeException e) {
                failed = true;
                System.out.println("RESULT infer model=" + name + " batch=" + b + " precision=fp32 FAIL reason=\"" + e + "\"");
            }
            if (int8Problem != null) {
                failed = true;
                System.out.println("RESULT infer model=" + name + " batch=" + b + " precision=int8 FAIL reason=\"" + int8Problem + "\"");
            } else {
                try (CudaIntegerModel m = new CudaIntegerModel(engine, b, 0)) {
                    if (b == batches[0]) {
                        System.out.println("int8 engine on " + m.describe() + ": " + m.launchesPerRun() + " launches per run, "
                                + m.convLayers() + " int8 convs, " + String.format("%.3f", m.convMacsPerImage() / 1e9)
                                + " G conv MACs per image");
                    }
                    // A wrong engine's timing means nothing: the row fails when the top-1 classes differ.
                    if (b == batches[0] && !check(name, engine, m, x)) failed = true;
                    int8 = median(m.time(x, warmup, iters));
                    double tops = 2.0 * m.convMacsPerImage() * b / (int8 * 1e-3) / 1e12;
                    result(name, b, "int8", int8, String.format(" conv_tops=%.1f pct_of_nominal_%d=%.2f", tops,
                            (int) NOMINAL_INT8_TOPS, 100 * tops / NOMINAL_INT8_TOPS));
                } catch (RuntimeException e) {
                    failed = true;
                    System.out.println("RESULT infer model=" + name + " batch=" + b + " precision=int8 FAIL reason=\"" + e + "\"");
                }
            }
            if (!Double.isNaN(fp32) && !Double.isNaN(int8)) {
                System.out.printf("SPEEDUP infer model=%s batch=%d int8_over_fp32=%.2f%n", name, b, fp32 / int8);
            }
        }
        System.out.println("conv_tops = 2 x (int8 conv MACs, unpadded kh*kw*Cin*Cout*outH*outW) x batch / whole-run median: "
                + "a lower bound on the conv kernels' rate, since the run also holds pooling, the classifier and the input "
                + "quantization; nominal " + (int) NOMINAL_INT8_TOPS + " TOPS is the H100/H200 SXM datasheet dense int8 peak");
        System.exit(failed ? 1 : 0);
    }

    /**
     * That the timed int8 engine computes what the CPU integer engine computes: the first (up to) two images of the
     * batch on both, logits compared (expected bit-identical; see CudaIntegerModel).
     */
    private static boolean check(String name, IntegerModel engine, CudaIntegerModel m, Tensor x) {
        int n = Math.min(2, x.dim(0)), per = x.size() / x.dim(0);
        Tensor few = new Tensor(Arrays.copyOf(x.data(), n * per), n, x.dim(1), x.dim(2), x.dim(3));
        long c0 = System.nanoTime();
        float[] cpu = engine.apply(few).data();
        double cpuS = (System.nanoTime() - c0) / 1e9;
        float[] dev = m.apply(few).data();
        int exact = 0, top1 = 0, classes = cpu.length / n;
        double maxDiff = 0, maxAbs = 0;
        for (int i = 0; i < cpu.length; i++) {
            exact += Float.floatToRawIntBits(cpu[i]) == Float.floatToRawIntBits(dev[i]) ? 1 : 0;
            maxDiff = Math.max(maxDiff, Math.abs((double) cpu[i] - dev[i]));
            maxAbs = Math.max(maxAbs, Math.abs(cpu[i]));
        }
        for (int i = 0; i < n; i++) {
            int a = 0, b = 0;
            for (int c = 1; c < classes; c++) {
                if (cpu[i * classes + c] > cpu[i * classes + a]) a = c;
                if (dev[i * classes + c] > dev[i * classes + b]) b = c;
            }
            top1 += a == b ? 1 : 0;
        }
        System.out.printf("CHECK infer model=%s int8_gpu_vs_cpu_engine images=%d exact_logits=%d/%d max_abs_diff=%.6g "
                + "max_abs_logit=%.6g top1_same=%d/%d cpu_s=%.2f%n", name, n, exact, cpu.length, maxDiff, maxAbs, top1, n, cpuS);
        return top1 == n;
    }

    private static void result(String model, int batch, String precision, double ms, String extra) {
        System.out.printf("RESULT infer model=%s batch=%d precision=%s median_ms=%.4f images_per_s=%.1f%s%n", model, batch,
                precision, ms, batch / (ms * 1e-3), extra);
    }

    private static double median(double[] ms) {
        double[] s = ms.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    }
}
