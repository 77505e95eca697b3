// Every distinct convolution of torchvision ResNet-50 (batch 32, 224x224) timed on zeroq's kernels and on cuDNN
// (strict FP32), forward and backward-data: median ms per launch (CUDA events around the launch only), TFLOP/s, and
// totals weighted by how often each shape occurs (53 convs). Prints the card, driver, cuDNN version and commit.
// Usage: java -cp bundle/zeroq.jar:bundle/test-classes dev.zeroq.bench.ConvLayerBench [--batch 32] [--warmup 3] [--iters 20]
//        [--conv auto|direct|igemm|igemm128]   (zeroq's kernels as CudaDistiller's ConvAlgorithm; auto: what it runs)
//        [--tf32 true]   (TF32 on both sides: zeroq's 128×128 layers on the TF32 kernels, cuDNN with TF32 math)
package dev.zeroq.bench;

import dev.zeroq.backend.cuda.ConvBenchHarness;
import dev.zeroq.backend.cuda.ConvBenchHarness.Layer;
import dev.zeroq.backend.cuda.ConvBenchHarness.Timing;
import dev.zeroq.backend.cuda.CudaDistiller;

import java.util.ArrayList;
import java.util.List;

public final class ConvLayerBench {
    private ConvLayerBench() {}

    /** torchvision resnet50 (v1.5: the stride sits on each stage's first 3x3); count = occurrences in the network. */
    static List<Layer> resnet50(int n) {
        List<Layer> l = new ArrayList<>();
        l.add(new Layer("stem 7x7/2", 1, n, 3, 224, 224, 64, 7, 2, 3));
        // layer1 @56: blocks 3; the downsample 1x1 64->256 has conv3's shape, counted there
        l.add(new Layer("l1 1x1 64-64", 1, n, 64, 56, 56, 64, 1, 1, 0));
        l.add(new Layer("l1 1x1 256-64", 2, n, 256, 56, 56, 64, 1, 1, 0));
        l.add(new Layer("l1 3x3 64", 3, n, 64, 56, 56, 64, 3, 1, 1));
        l.add(new Layer("l1 1x1 64-256 +ds", 4, n, 64, 56, 56, 256, 1, 1, 0));
        // layer2 56->28: blocks 4
        l.add(new Layer("l2 1x1 256-128 @56", 1, n, 256, 56, 56, 128, 1, 1, 0));
        l.add(new Layer("l2 3x3/2 128", 1, n, 128, 56, 56, 128, 3, 2, 1));
        l.add(new Layer("l2 ds 1x1/2 256-512", 1, n, 256, 56, 56, 512, 1, 2, 0));
        l.add(new Layer("l2 1x1 512-128", 3, n, 512, 28, 28, 128, 1, 1, 0));
        l.add(new Layer("l2 3x3 128", 3, n, 128, 28, 28, 128, 3, 1, 1));
        l.add(new Layer("l2 1x1 128-512", 4, n, 128, 28, 28, 512, 1, 1, 0));
        // layer3 28->14: blocks 6
        l.add(new Layer("l3 1x1 512-256 @28", 1, n, 512, 28, 28, 256, 1, 1, 0));
        l.add(new Layer("l3 3x3/2 256", 1, n, 256, 28, 28, 256, 3, 2, 1));
        l.add(new Layer("l3 ds 1x1/2 512-1024", 1, n, 512, 28, 28, 1024, 1, 2, 0));
        l.add(new Layer("l3 1x1 1024-256", 5, n, 1024, 14, 14, 256, 1, 1, 0));
        l.add(new Layer("l3 3x3 256", 5, n, 256, 14, 14, 256, 3, 1, 1));
        l.add(new Layer("l3 1x1 256-1024", 6, n, 256, 14, 14, 1024, 1, 1, 0));
        // layer4 14->7: blocks 3
        l.add(new Layer("l4 1x1 1024-512 @14", 1, n, 1024, 14, 14, 512, 1, 1, 0));
        l.add(new Layer("l4 3x3/2 512", 1, n, 512, 14, 14, 512, 3, 2, 1));
        l.add(new Layer("l4 ds 1x1/2 1024-2048", 1, n, 1024, 14, 14, 2048, 1, 2, 0));
        l.add(new Layer("l4 1x1 2048-512", 2, n, 2048, 7, 7, 512, 1, 1, 0));
        l.add(new Layer("l4 3x3 512", 2, n, 512, 7, 7, 512, 3, 1, 1));
        l.add(new Layer("l4 1x1 512-2048", 3, n, 512, 7, 7, 2048, 1, 1, 0));
        return l;
    }

    public static void main(String[] args) {
        int batch = 32, warmup = 3, iters = 20;
        CudaDistiller.ConvAlgorithm algo = CudaDistiller.ConvAlgorithm.AUTO;
        boolean tf32 = false;
        for (int i = 0; i < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--batch" -> batch = Integer.parseInt(v);
                case "--warmup" -> warmup = Integer.parseInt(v);
                case "--iters" -> iters = Integer.parseInt(v);
                case "--tf32" -> tf32 = Boolean.parseBoolean(v);
                case "--conv" -> algo = switch (v) {
                    case "auto" -> CudaDistiller.ConvAlgorithm.AUTO;
                    case "direct" -> CudaDistiller.ConvAlgorithm.DIRECT;
                    case "igemm" -> CudaDistiller.ConvAlgorithm.IMPLICIT_GEMM;
                    case "igemm128" -> CudaDistiller.ConvAlgorithm.IMPLICIT_GEMM_128;
                    default -> throw new IllegalArgumentException("--conv auto|direct|igemm|igemm128, got " + v);
                };
                default -> throw new IllegalArgumentException("unknown option " + args[i] + " (--batch, --warmup, --iters, --conv, --tf32)");
            }
        }
        List<Layer> layers = resnet50(batch);
        int convs = layers.stream().mapToInt(Layer::count).sum();
        long max = 0;
        for (Layer l : layers) {
            max = Math.max(max, Math.max((long) l.n() * l.cin() * l.h() * l.w(), (long) l.n() * l.cout() * l.outH() * l.outW()));
        }
        long seed = 42;
        String math = tf32 ? "TF32 (zeroq and cuDNN)" : "strict FP32";
        try (ConvBenchHarness h = new ConvBenchHarness(max, seed, tf32)) {
            System.out.println("ConvLayerBench: ResNet-50 convolutions (" + layers.size() + " shapes, " + convs + " convs), batch "
                    + batch + ", " + math + ", zeroq conv " + algo + "; median of " + iters + " after " + warmup + " warm-up; seed " + seed);
            System.out.println("device: " + h.device() + "; " + h.cudnnStatus() + "; commit " + commit());
            System.out.printf("%-22s %3s | %9s %7s %9s %7s %8s | %9s %7s %9s %7s %8s | %s%n", "layer", "x", "zq fwd ms", "TF/s",
                    "dnn fwd ms", "TF/s", "relDiff", "zq bwd ms", "TF/s", "dnn bwd ms", "TF/s", "relDiff", "kernels / cuDNN plans");
            double[] total = new double[4];
            double flops = 0;
            for (Layer l : layers) {
                Timing t = h.measure(l, algo, warmup, iters);
                double f = l.flops();
                flops += f * l.count();
                total[0] += t.zeroqFwdMs() * l.count();
                total[1] += t.cudnnFwdMs() * l.count();
                total[2] += t.zeroqBwdMs() * l.count();
                total[3] += t.cudnnBwdMs() * l.count();
                System.out.printf("%-22s %3d | %9.3f %7.2f %9.3f %7.2f %8.1e | %9.3f %7.2f %9.3f %7.2f %8.1e | fwd %s, %s; bwd %s, %s%n",
                        l.name(), l.count(), t.zeroqFwdMs(), tflops(f, t.zeroqFwdMs()), t.cudnnFwdMs(), tflops(f, t.cudnnFwdMs()),
                        t.fwdMaxRelDiff(), t.zeroqBwdMs(), tflops(f, t.zeroqBwdMs()), t.cudnnBwdMs(), tflops(f, t.cudnnBwdMs()),
                        t.bwdMaxRelDiff(), t.zeroqFwdKernel(), t.cudnnFwdPlan(), t.zeroqBwdKernel(), t.cudnnBwdPlan());
            }
            System.out.printf("%-22s %3d | %9.3f %7.2f %9.3f %7.2f %8s | %9.3f %7.2f %9.3f %7.2f%n", "TOTAL (weighted)", convs,
                    total[0], tflops(flops, total[0]), total[1], tflops(flops, total[1]), "", total[2], tflops(flops, total[2]),
                    total[3], tflops(flops, total[3]));
            System.out.printf("RESULT conv-resnet50 batch=%d conv=%s%s fwd zeroq=%.2fms cudnn=%.2fms bwd-data zeroq=%.2fms cudnn=%.2fms"
                    + " (%.1f GFLOP each way)%n", batch, algo, tf32 ? " tf32" : "", total[0], total[1], total[2], total[3], flops / 1e9);
        }
    }

    private static double tflops(double flops, double ms) {
        return flops / (ms * 1e-3) / 1e12;
    }

    private static String commit() {
        try (var in = ConvLayerBench.class.getResourceAsStream("/COMMIT")) {
            if (in != null) return new String(in.readAllBytes()).trim();
        } catch (java.io.IOException e) {
            // fall through
        }
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("bundle/COMMIT")).trim();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }
}
