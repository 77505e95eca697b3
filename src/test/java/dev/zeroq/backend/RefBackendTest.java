package dev.zeroq.backend;

import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** Hand-computed values for the reference ops; the ONNX Runtime parity suite covers the rest. */
class RefBackendTest {
    private final Backend ref = new RefBackend();

    private static ConvSpec conv(int k, int s, int p, int g) {
        return new ConvSpec(new int[] {k, k}, new int[] {s, s}, new int[] {p, p, p, p}, new int[] {1, 1}, g);
    }

    @Test
    void conv3x3WithPaddingSumsTheNeighbourhood() {
        // All-ones 3x3 kernel over a 3x3 input 1..9 with pad 1: each output is the sum of its neighbourhood.
        Tensor x = new Tensor(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3);
        Tensor w = new Tensor(new float[] {1, 1, 1, 1, 1, 1, 1, 1, 1}, 1, 1, 3, 3);
        Tensor y = ref.conv2d(x, w, new Tensor(new float[] {0.5f}, 1), conv(3, 1, 1, 1));
        assertArrayEquals(new float[] {12.5f, 21.5f, 16.5f, 27.5f, 45.5f, 33.5f, 24.5f, 39.5f, 28.5f}, y.data());
    }

    @Test
    void depthwiseConvKeepsChannelsApart() {
        Tensor x = new Tensor(new float[] {1, 2, 3, 4, 10, 20, 30, 40}, 1, 2, 2, 2);
        Tensor w = new Tensor(new float[] {1, 0, 0, 1, 0, 1, 1, 0}, 2, 1, 2, 2);
        Tensor y = ref.conv2d(x, w, null, conv(2, 1, 0, 2));
        assertArrayEquals(new float[] {1 + 4, 20 + 30}, y.data());
    }

    @Test
    void averagePoolCeilModeCountIncludePad() {
        // 3x3 input, k=2, s=2, pad 0, ceil: windows at 0 and 2; the last window hangs past the input and,
        // with no end padding, its divisor counts only the cells inside.
        Tensor x = new Tensor(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3);
        PoolSpec s = new PoolSpec(new int[] {2, 2}, new int[] {2, 2}, new int[] {0, 0, 0, 0}, new int[] {1, 1}, true, true);
        Tensor y = ref.avgPool(x, s);
        assertArrayEquals(new float[] {3f, 4.5f, 7.5f, 9f}, y.data());
        Tensor m = ref.maxPool(x, s);
        assertArrayEquals(new float[] {5, 6, 8, 9}, m.data());
    }

    @Test
    void sliceWithNegativeStepReverses() {
        Tensor x = new Tensor(new float[] {0, 1, 2, 3, 4}, 5);
        Tensor y = ref.slice(x, new int[] {4}, new int[] {-1}, new int[] {0}, new int[] {-2});
        assertArrayEquals(new float[] {4, 2, 0}, y.data());
    }

    @Test
    void broadcastingAddAndGemm() {
        Tensor a = new Tensor(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor b = new Tensor(new float[] {10, 20, 30}, 3);
        assertArrayEquals(new float[] {11, 22, 33, 14, 25, 36}, ref.binary(a, b, Backend.BinaryOp.ADD).data());
        // (2x3)·(2x3)^T = [[14, 32], [32, 77]], alpha 2, plus C broadcast (1x2) with beta 1.
        Tensor c = new Tensor(new float[] {1, -1}, 1, 2);
        assertArrayEquals(new float[] {29, 63, 65, 153}, ref.gemm(a, a, c, 2f, 1f, false, true).data());
    }

    @Test
    void transposeAndConcat() {
        Tensor a = new Tensor(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, ref.transpose(a, new int[] {1, 0}).data());
        Tensor c = ref.concat(java.util.List.of(a, new Tensor(new float[] {7, 8}, 2, 1)), 1);
        assertArrayEquals(new float[] {1, 2, 3, 7, 4, 5, 6, 8}, c.data());
    }
}
