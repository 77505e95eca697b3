// Times the fused int8 tensor-core convolution (CudaInt8Kernels, conv2d_int8_igemm_fused + ReLU) on ResNet-50's conv
// shapes, device-resident, between CUDA events; prints per-layer median ms and TOPS = 2·M·N·K / time.
// Usage: java -cp bundle/zeroq.jar:bundle/test-classes dev.zeroq.bench.CudaInt8ConvBench [--batch 128] [--warmup 10]
//        [--iters 50]
// (Not Int8ConvBench: that name is the CPU JMH int8-vs-fp32 benchmark in benchmarks/jmh.)
package dev.zeroq.bench;

import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.cuda.CudaAvailability;
import dev.zeroq.backend.cuda.CudaInt8Kernels;

public final class CudaInt8ConvBench {
    private CudaInt8ConvBench() {}

    /** A ResNet-50 convolution: name, channels in/out, square input size, kernel, stride (pad k/2). */
    private record Layer(String name, int cin, int cout, int size, int k, int stride) {}

    private static final Layer[] LAYERS = {
            new Layer("conv2_x 3x3 64->64 56x56", 64, 64, 56, 3, 1),
            new Layer("conv3_x 3x3 128->128 28x28", 128, 128, 28, 3, 1),
            new Layer("conv4_x 3x3 256->256 14x14", 256, 256, 14, 3, 1),
            new Layer("conv5_x 3x3 512->512 7x7", 512, 512, 7, 3, 1),
            new Layer("conv2_x 1x1 256->64 56x56", 256, 64, 56, 1, 1),
            new Layer("conv4_x 1x1 1024->256 14x14", 1024, 256, 14, 1, 1),
    };

    public static void main(String[] args) {
        int batch = 128, warmup = 10, iters = 50;
        for (int i = 0; i + 1 < args.length; i += 2) {
            int v = Integer.parseInt(args[i + 1]);
            switch (args[i]) {
                case "--batch" -> batch = v;
                case "--warmup" -> warmup = v;
                case "--iters" -> iters = v;
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        CudaAvailability a = CudaAvailability.probe();
        if (!a.usable()) {
            System.out.println("CudaInt8ConvBench: CUDA unavailable: " + a.reason());
            System.exit(1);
        }
        long seed = 20260301L;
        try (CudaInt8Kernels k = new CudaInt8Kernels(0)) {
            String device = k.describe();
            System.out.printf("CudaInt8ConvBench on %s: fused int8 implicit GEMM (mma.sync m16n8k32 s8, 128x128x64 tiles, "
                    + "bias+scale+ReLU+requantize to uint8 NHWC), batch %d, warm-up %d, %d timed iterations, seed %d%n",
                    device, batch, warmup, iters, seed);
            System.out.println("nominal dense int8 tensor-core peak for context: H100 SXM 1979 TOPS (H200: same GH100 "
                    + "chip class, same nominal figure; H100 PCIe 1513); datasheet numbers, not measured here");
            for (Layer l : LAYERS) {
                int pad = l.k() / 2;
                ConvSpec s = new ConvSpec(new int[] {l.k(), l.k()}, new int[] {l.stride(), l.stride()},
                        new int[] {pad, pad, pad, pad}, new int[] {1, 1}, 1);
                CudaInt8Kernels.Timing t = k.timeFused(batch, l.cin(), l.size(), l.size(), l.cout(), s, warmup, iters, seed);
                System.out.printf("INT8CONV layer=\"%s\" batch=%d M=%d N=%d K=%d median_ms=%.4f min_ms=%.4f tops=%.1f "
                                + "input_copies=%d%n", l.name(), batch, t.m(), t.n(), t.k(), t.medianMs(), t.minMs(),
                        t.tops(), t.inputCopies());
            }
        }
    }
}
