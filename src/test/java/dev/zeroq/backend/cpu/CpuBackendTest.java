package dev.zeroq.backend.cpu;

/*
 * Properties of the cpu backend beyond parity with ref: work is split only across output elements, never
 * across a sum, so results are bit-identical for every thread count (DESIGN: same inputs → same output).
 */

import dev.zeroq.backend.ConvSpec;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class CpuBackendTest {
    private static final long SEED = 7;

    private static Tensor random(Random r, int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = r.nextFloat() * 2 - 1;
        }
        return t;
    }

    @Test
    void resultsAreBitIdenticalForAnyThreadCount() {
        Random r = new Random(SEED);
        Tensor x = random(r, 2, 32, 17, 19), w = random(r, 48, 32, 3, 3), b = random(r, 48);
        Tensor dw = random(r, 32, 1, 3, 3);
        Tensor a = random(r, 200, 300), bm = random(r, 300, 129);
        ConvSpec s3 = new ConvSpec(new int[] {3, 3}, new int[] {1, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 1);
        ConvSpec dws = new ConvSpec(new int[] {3, 3}, new int[] {2, 2}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 32);
        CpuBackend one = new CpuBackend(1);
        for (int threads : new int[] {2, 3, 5}) {
            CpuBackend many = new CpuBackend(threads);
            String why = "threads=" + threads + " (seed " + SEED + ")";
            assertArrayEquals(one.conv2d(x, w, b, s3).data(), many.conv2d(x, w, b, s3).data(), why);
            assertArrayEquals(one.conv2d(x, dw, null, dws).data(), many.conv2d(x, dw, null, dws).data(), why);
            assertArrayEquals(one.gemm(a, bm, null, 1f, 0f, false, false).data(),
                    many.gemm(a, bm, null, 1f, 0f, false, false).data(), why);
        }
    }

    @Test
    void namesItselfCpu() {
        assertEquals("cpu", new CpuBackend(2).name());
        assertEquals(2, new CpuBackend(2).threads());
    }
}
