package dev.zeroq.bench;

/*
 * Throughput of the cpu backend's hot paths: a ResNet-style 3×3 conv (64→64, 56×56, batch 1) and a square
 * 512³ SGEMM, with the plain-loop ref backend on a smaller conv as the baseline.
 */

import dev.zeroq.backend.Backend;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.backend.ref.RefBackend;
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
 * Scores are milliseconds per operation. GFLOP/s = FLOPs / (score · 1e6), counting a multiply-add as 2:
 * <ul>
 *   <li>conv 3×3 64→64 at 56×56, batch 1: 2·64·64·9·56·56 = 231.2 MFLOP, so GFLOP/s = 231.2 / score_ms;</li>
 *   <li>ref conv at 28×28 (¼ of the pixels): 57.8 MFLOP, GFLOP/s = 57.8 / score_ms;</li>
 *   <li>SGEMM 512³: 2·512³ = 268.4 MFLOP, GFLOP/s = 268.4 / score_ms.</li>
 * </ul>
 * Run: {@code java --add-modules jdk.incubator.vector -cp target/test-classes:target/classes:$(cat cp.txt)
 * org.openjdk.jmh.Main ConvBench -f 1 -wi 2 -i 3}; record results with machine and commit in
 * benchmarks/RESULTS.md.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class ConvBench {
    /** cpu worker threads; 0 means one per available processor. */
    @Param({"0"})
    int threads;

    private Backend cpu;
    private final Backend ref = new RefBackend();
    private final ConvSpec conv3x3 = new ConvSpec(new int[] {3, 3}, new int[] {1, 1}, new int[] {1, 1, 1, 1},
            new int[] {1, 1}, 1);
    private Tensor x56, x28, w, bias, a512, b512;

    @Setup(Level.Trial)
    public void setUp() {
        cpu = threads == 0 ? new CpuBackend() : new CpuBackend(threads);
        Random r = new Random(42); // fixed seed: timings must not depend on the data, but keep it reproducible
        x56 = random(r, 1, 64, 56, 56);
        x28 = random(r, 1, 64, 28, 28);
        w = random(r, 64, 64, 3, 3);
        bias = random(r, 64);
        a512 = random(r, 512, 512);
        b512 = random(r, 512, 512);
    }

    private static Tensor random(Random r, int... shape) {
        Tensor t = Tensor.zeros(shape);
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = r.nextFloat() * 2 - 1;
        }
        return t;
    }

    @Benchmark
    public Tensor conv3x3_64to64_56x56_cpu() {
        return cpu.conv2d(x56, w, bias, conv3x3);
    }

    @Benchmark
    public Tensor conv3x3_64to64_28x28_ref() {
        return ref.conv2d(x28, w, bias, conv3x3);
    }

    @Benchmark
    public Tensor sgemm512_cpu() {
        return cpu.gemm(a512, b512, null, 1f, 0f, false, false);
    }
}
