// Times device-resident ZeroQ distillation (CudaDistiller) on an ONNX model: warm-up, then timed iterations between
// CUDA events; optionally the first K iterations on the CPU Distiller with the same seed for the loss difference.
// Usage: java -cp bundle/zeroq.jar:bundle/test-classes dev.zeroq.bench.DistillBench MODEL.onnx [--batch 32]
//        [--iters 100] [--warmup 20] [--graph on|off|both] [--conv auto|direct|igemm|igemm128] [--full N] [--cpu-check K]
//        [--cudnn off|fastest|always|off,fastest]   (which convolution steps run on cuDNN: CudaDistiller.Cudnn; a list
//                                runs each in turn; default fastest)
//        [--tf32 off|on|both]   (on: the 128×128 layers on the TF32 tensor-core kernels; both: strict, then TF32, and
//                                with --full the two loss curves' largest relative difference)
//        [--fuse on|off|both]   (off: the plan before the fused kernels and deferred statistics gradients: every BatchNorm
//                                and activation as its own kernel each way, CudaDistiller.FUSE_PROPERTY, and each
//                                statistics gradient stored in the forward pass, CudaDistiller.DEFER_PROPERTY;
//                                both: fused, then separate, in this process)
//        [--profile-steps K]    (after the timing, K eager iterations with a CUDA event after every step: device time
//                                per kernel or cuDNN call, one STEP line each, largest first; no profiler needed)
package dev.zeroq.bench;

import dev.zeroq.backend.cuda.CudaDistiller;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.distill.DistillConfig;
import dev.zeroq.distill.Distiller;
import dev.zeroq.graph.Graph;
import dev.zeroq.onnx.OnnxImporter;

import java.nio.file.Path;
import java.util.List;

public final class DistillBench {
    private DistillBench() {}

    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: DistillBench MODEL.onnx [--batch 32] [--iters 100] [--warmup 20] [--graph on|off|both]"
                    + " [--conv auto|direct|igemm|igemm128] [--full N] [--cpu-check K] [--tf32 off|on|both]"
                    + " [--cudnn off|fastest|always|off,fastest] [--fuse on|off|both] [--profile-steps K]");
            System.exit(2);
        }
        Path model = Path.of(args[0]);
        int batch = 32, iters = 100, warmup = 20, full = 0, cpuCheck = 0, profile = 0;
        String graphMode = "both", conv = "auto", tf32Mode = "off", cudnnModes = "fastest", fuseMode = "on";
        for (int i = 1; i < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--batch" -> batch = Integer.parseInt(v);
                case "--iters" -> iters = Integer.parseInt(v);
                case "--warmup" -> warmup = Integer.parseInt(v);
                case "--graph" -> graphMode = v;
                case "--conv" -> conv = v;
                case "--full" -> full = Integer.parseInt(v);
                case "--cpu-check" -> cpuCheck = Integer.parseInt(v);
                case "--tf32" -> tf32Mode = v;
                case "--cudnn" -> cudnnModes = v;
                case "--profile-steps" -> profile = Integer.parseInt(v);
                case "--fuse" -> fuseMode = v;
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        CudaDistiller.ConvAlgorithm algo = switch (conv) {
            case "direct" -> CudaDistiller.ConvAlgorithm.DIRECT;
            case "igemm" -> CudaDistiller.ConvAlgorithm.IMPLICIT_GEMM;
            case "igemm128" -> CudaDistiller.ConvAlgorithm.IMPLICIT_GEMM_128;
            default -> CudaDistiller.ConvAlgorithm.AUTO;
        };
        Graph g = OnnxImporter.load(model).graph();
        int[] chw = g.inputShape();
        long seed = 0;
        List<String> unsupported = CudaDistiller.unsupported(g);
        if (!unsupported.isEmpty()) {
            System.out.println("DistillBench " + model.getFileName() + ": unsupported on CUDA: " + unsupported);
            System.exit(1);
        }
        List<Boolean> graphs = switch (graphMode) {
            case "on" -> List.of(true);
            case "off" -> List.of(false);
            default -> List.of(false, true);
        };
        List<Boolean> tf32s = switch (tf32Mode) {
            case "on" -> List.of(true);
            case "both" -> List.of(false, true);
            case "off" -> List.of(false);
            default -> throw new IllegalArgumentException("--tf32 off|on|both, got " + tf32Mode);
        };
        List<Boolean> fuses = switch (fuseMode) {
            case "on" -> List.of(true);
            case "off" -> List.of(false);
            case "both" -> List.of(true, false);
            default -> throw new IllegalArgumentException("--fuse on|off|both, got " + fuseMode);
        };
        List<CudaDistiller.Cudnn> cudnns = java.util.Arrays.stream(cudnnModes.split(","))
                .map(c -> CudaDistiller.Cudnn.valueOf(c.trim().toUpperCase(java.util.Locale.ROOT))).toList();
        double[][] firstLosses = null;
        double[][] fullCurves = new double[2][]; // [tf32 ? 1 : 0]: the --full loss curve
        for (CudaDistiller.Cudnn cudnn : cudnns) for (boolean tf32 : tf32s) for (boolean fuse : fuses) for (boolean useGraph : graphs) {
            long t0 = System.nanoTime();
            String cudnnName = cudnn.name().toLowerCase(java.util.Locale.ROOT);
            String fuseName = fuse ? "on" : "off";
            if (fuse) {
                System.clearProperty(CudaDistiller.FUSE_PROPERTY);
                System.clearProperty(CudaDistiller.DEFER_PROPERTY);
            } else {
                System.setProperty(CudaDistiller.FUSE_PROPERTY, "false");
                System.setProperty(CudaDistiller.DEFER_PROPERTY, "false");
            }
            try (CudaDistiller d = new CudaDistiller(g, batch, 0, new CudaDistiller.Options(algo, useGraph, tf32, cudnn))) {
                double setup = (System.nanoTime() - t0) / 1e9;
                System.out.printf("DistillBench %s on %s: input %dx%dx%d, batch %d, conv %s, cudnn %s, tf32 %s, fused BN+activation and deferred statistics gradients %s, "
                                + "cuda graph %s, %d BN terms, %d steps/iteration, pool %.1f MiB, setup %.2f s; %s%n",
                        model.getFileName(), d.describe(), chw[0], chw[1], chw[2], batch, algo, cudnnName, tf32, fuseName,
                        useGraph, d.bnTerms(),
                        d.launchesPerIteration(), d.poolBytes() / 1048576.0, setup, d.convSummary());
                CudaDistiller.Timing t = d.time(warmup, iters, DistillConfig.Init.UNIFORM, seed);
                System.out.println("SETUP " + d.setupSummary()); // after time(): the graph capture is in it
                if (d.cudaGraphFailure() != null) {
                    System.out.println("CUDA graph capture failed, iterations ran launch by launch: " + d.cudaGraphFailure());
                }
                System.out.printf("RESULT model=%s batch=%d graph=%s conv=%s cudnn=%s tf32=%s fuse=%s warmup=%d iters=%d median_ms=%.3f "
                                + "mean_ms=%.3f min_ms=%.3f max_ms=%.3f wall_ms=%.3f iter_per_s=%.2f images_per_s=%.1f%n",
                        model.getFileName(), batch, useGraph, algo, cudnnName, tf32 ? "on" : "off", fuseName, warmup, iters, t.medianMs(),
                        t.meanMs(), t.minMs(), t.maxMs(), t.wallMs(), t.iterationsPerSecond(), t.iterationsPerSecond() * batch);
                if (profile > 0 && useGraph == graphs.getLast()) {
                    List<CudaDistiller.StepTime> steps = d.profileSteps(2, profile, DistillConfig.Init.UNIFORM, seed);
                    double total = steps.stream().mapToDouble(CudaDistiller.StepTime::ms).sum();
                    System.out.printf("STEPS model=%s cudnn=%s tf32=%s fuse=%s iterations=%d (eager, an event after every step) "
                            + "total_ms=%.3f%n", model.getFileName(), cudnnName, tf32 ? "on" : "off", fuseName, profile, total);
                    for (CudaDistiller.StepTime st : steps) {
                        System.out.printf("STEP %-36s launches=%3d ms=%8.3f share=%5.1f%%%n", st.label(), st.launches(),
                                st.ms(), 100 * st.ms() / total);
                    }
                }
                if (full > 0 && useGraph == graphs.getFirst() && cudnn == cudnns.getLast() && fuse == fuses.getFirst()) {
                    long f0 = System.nanoTime();
                    Distiller.Result r = d.distill(new DistillConfig(batch, 1, full, DistillConfig.Init.UNIFORM, seed), it -> { });
                    System.out.printf("FULL model=%s batch=%d tf32=%s iters=%d seconds=%.2f first_loss=%.6g final_loss=%.6g%n",
                            model.getFileName(), batch, tf32 ? "on" : "off", full, (System.nanoTime() - f0) / 1e9,
                            r.lossCurves()[0][0], r.finalLoss(0));
                    fullCurves[tf32 ? 1 : 0] = r.lossCurves()[0];
                }
                if (cpuCheck > 0 && firstLosses == null && !tf32 && cudnn == cudnns.getLast()) {
                    firstLosses = d.distill(new DistillConfig(batch, 1, cpuCheck, DistillConfig.Init.UNIFORM, seed), it -> { })
                            .lossCurves();
                }
            } finally {
                System.clearProperty(CudaDistiller.FUSE_PROPERTY);
                System.clearProperty(CudaDistiller.DEFER_PROPERTY);
            }
        }
        if (fullCurves[0] != null && fullCurves[1] != null) {
            double worst = 0;
            for (int i = 0; i < full; i++) {
                worst = Math.max(worst, Math.abs(fullCurves[1][i] - fullCurves[0][i]) / Math.abs(fullCurves[0][i]));
            }
            System.out.printf("TF32CHECK model=%s batch=%d iters=%d max_rel_loss_diff=%.3g final_loss strict=%.6g tf32=%.6g%n",
                    model.getFileName(), batch, full, worst, fullCurves[0][full - 1], fullCurves[1][full - 1]);
        }
        if (cpuCheck > 0 && firstLosses != null) {
            long c0 = System.nanoTime();
            Distiller.Result cpu = new Distiller(g, new RefBackend())
                    .distill(new DistillConfig(batch, 1, cpuCheck, DistillConfig.Init.UNIFORM, seed), it -> { });
            double worst = 0;
            for (int i = 0; i < cpuCheck; i++) {
                double a = cpu.lossCurves()[0][i], b = firstLosses[0][i];
                worst = Math.max(worst, Math.abs(a - b) / Math.abs(a));
                System.out.printf("cpu-check iteration %d: cpu %.9g cuda %.9g%n", i + 1, a, b);
            }
            System.out.printf("CPUCHECK model=%s batch=%d iters=%d max_rel_loss_diff=%.3g cpu_seconds=%.1f%n",
                    model.getFileName(), batch, cpuCheck, worst, (System.nanoTime() - c0) / 1e9);
        }
    }
}
