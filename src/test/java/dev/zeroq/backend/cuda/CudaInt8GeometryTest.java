// The host-side shapes of the CUDA int8 convolution (channel padding, K tiles, N tiles, grid), checked without a GPU:
// the kernels index their operands with exactly these numbers, so a wrong one would read out of bounds there.
package dev.zeroq.backend.cuda;

import dev.zeroq.backend.ConvSpec;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CudaInt8GeometryTest {
    private static ConvSpec spec(int k, int s, int p, int d, int g) {
        return new ConvSpec(new int[] {k, k}, new int[] {s, s}, new int[] {p, p, p, p}, new int[] {d, d}, g);
    }

    @Test
    void oddShapesArePaddedToTheTiles() {
        // Cin 7 → 16 channels (one 16-byte chunk); K = 9·16 = 144 → 192 (three 64-byte K tiles); Cout 130 → 256.
        CudaInt8Kernels.Geometry g = CudaInt8Kernels.Geometry.of(3, 7, 17, 19, 130, spec(3, 1, 1, 1, 1));
        assertEquals(16, g.cinP());
        assertEquals(144, g.kTotal());
        assertEquals(192, g.kPadded());
        assertEquals(256, g.coutP());
        assertEquals(3L * 17 * 19, g.m());
        assertArrayEquals(new int[] {8, 2, 1}, g.igemmGrid()); // ⌈969/128⌉ = 8 pixel tiles, 2 channel tiles
        assertEquals(3 * 130 * 17 * 19, g.outputs());
        assertEquals(3L * 17 * 19 * 16, g.nhwcBytes());
        assertEquals(256L * 192, g.packedBytes());
    }

    @Test
    void resnetShapesNeedNoPadding() {
        // ResNet-50 conv2_x 3×3: K = 576 = 9 tiles exactly; 64 channels fill half an N tile.
        CudaInt8Kernels.Geometry g = CudaInt8Kernels.Geometry.of(128, 64, 56, 56, 64, spec(3, 1, 1, 1, 1));
        assertEquals(64, g.cinP());
        assertEquals(576, g.kPadded());
        assertEquals(128, g.coutP());
        assertArrayEquals(new int[] {128 * 56 * 56 / 128, 1, 1}, g.igemmGrid());
        CudaInt8Kernels.Geometry s2 = CudaInt8Kernels.Geometry.of(2, 13, 7, 5, 5, spec(3, 2, 1, 2, 1));
        assertEquals(3, s2.outH()); // (7 + 2 − 4 − 1)/2 + 1
        assertEquals(2, s2.outW()); // (5 + 2 − 4 − 1)/2 + 1
    }

    @Test
    void rejectsShapesTheKernelsCannotRun() {
        assertThrows(IllegalArgumentException.class, () -> CudaInt8Kernels.Geometry.of(1, 7, 5, 5, 4, spec(3, 1, 1, 1, 2)));
        assertThrows(IllegalArgumentException.class, () -> CudaInt8Kernels.Geometry.of(1, 8, 2, 2, 4, spec(5, 1, 0, 1, 1)));
    }
}
