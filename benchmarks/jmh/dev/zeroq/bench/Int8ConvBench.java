package dev.zeroq.bench;

/*
 * The int8 engine's conv kernel against the FP32 cpu backend on the same ResNet-style conv: 3×3, 64→64, 56×56,
 * batch 1, stride 1, pad 1; plus the reference integer loops on the same shape as a baseline.
 */

import dev.zeroq.backend.Backend;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.int8.Int8Kernels;
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
import org.openjdk.jmh.annotations.Warmup;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Scores are milliseconds per operation. 2·64·64·9·56·56 = 231.2 M operations (a multiply-add counts 2), so
 * GOPS (int8) or GFLOP/s (fp32) = 231.2 / score_ms. The int8 score includes im2col and the zero-point
 * correction but no epilogue (accumulators are handed to a no-op sink), the fp32 score the whole conv with bias.
 * Run: {@code java --add-modules jdk.incubator.vector -cp target/test-classes:target/classes:$(cat cp.txt)
 * org.openjdk.jmh.Main Int8ConvBench -f 1 -wi 2 -i 3}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class Int8ConvBench {
    /** Worker threads for both engines; 0 means one per available processor. */
    @Param({"0"})
    int threads;

    private final ConvSpec spec = new ConvSpec(new int[] {3, 3}, new int[] {1, 1}, new int[] {1, 1, 1, 1},
            new int[] {1, 1}, 1);
    private Int8Kernels int8;
    private Backend cpu;
    private byte[] xq;
    private Int8Kernels.Weights wq; // prepared once, as the int8 engine does at compile time
    private Tensor x, w, bias;
    private long sink;

    @Setup(Level.Trial)
    public void setUp() {
        int t = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
        int8 = Int8Kernels.vector(t);
        cpu = threads == 0 ? new CpuBackend() : new CpuBackend(threads);
        Random r = new Random(42); // fixed seed: timings must not depend on the data, but keep it reproducible
        xq = new byte[64 * 56 * 56];
        r.nextBytes(xq);
        byte[] codes = new byte[64 * 64 * 9];
        for (int i = 0; i < codes.length; i++) codes[i] = (byte) (r.nextInt(255) - 127);
        wq = int8.prepare(codes, 64, 1);
        x = Tensor.zeros(1, 64, 56, 56);
        for (int i = 0; i < x.size(); i++) x.data()[i] = r.nextFloat() * 2 - 1;
        w = Tensor.zeros(64, 64, 3, 3);
        for (int i = 0; i < w.size(); i++) w.data()[i] = r.nextFloat() * 2 - 1;
        bias = Tensor.zeros(64);
    }

    @Benchmark
    public long conv3x3_64to64_56x56_int8() {
        int8.conv(xq, 1, 64, 56, 56, 128, wq, spec, (j0, j1, c0, c1, acc, off, stride) -> sink += acc[off]);
        return sink;
    }

    @Benchmark
    public Tensor conv3x3_64to64_56x56_fp32_cpu() {
        return cpu.conv2d(x, w, bias, spec);
    }
}
