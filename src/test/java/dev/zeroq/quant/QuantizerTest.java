package dev.zeroq.quant;

import dev.zeroq.ZeroqException;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hand-computed values for the ZeroQ affine quantizer and the deploy (symmetric / uint8) quantizers. */
class QuantizerTest {

    @Test
    void javadocExampleZeroToSixAtEightBits() {
        AffineParams p = AffineQuantizer.params(0f, 6f, 8);
        assertEquals(42.5f, p.inverseStep());
        assertEquals(128f, p.zeroPoint());
        // 42.5·1 − 128 = −85.5 exactly in float; half to even gives −86, not −85 (Math.round would).
        assertEquals(-86, p.quantize(1f));
        assertEquals(42f / 42.5f, p.dequantize(-86));
        assertEquals(0.9882353f, p.fakeQuant(1f));
        assertEquals(127, p.quantize(7f));
        assertEquals(6f, p.fakeQuant(7f));
        assertEquals(-128, p.quantize(-3f));
        assertEquals(0f, p.fakeQuant(0f));
    }

    @Test
    void minusOneToOneAtFourBits() {
        AffineParams p = AffineQuantizer.params(-1f, 1f, 4);
        assertEquals(7.5f, p.inverseStep());
        assertEquals(0f, p.zeroPoint()); // rint(−7.5) = −8, + 8
        assertEquals(-8, p.quantize(-1f)); // rint(−7.5) = −8
        assertEquals(7, p.quantize(1f)); // 7.5 → 8, clamped to 7
        // Rounding the zero point shifts the grid: codes −8..7 stand for −8/7.5 .. 7/7.5, so neither end of
        // [−1, 1] is on it. That is the official code's behaviour, kept on purpose.
        assertEquals(-8f / 7.5f, p.fakeQuant(-1f));
        assertEquals(7f / 7.5f, p.fakeQuant(1f));
    }

    @Test
    void matchesFloatReferenceFormulaEverywhere() {
        // The formula written out once more in float, over many ranges and values: integers compare exactly.
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
        for (int t = 0; t < 2000; t++) {
            int k = 2 + rnd.nextInt(7);
            float a = (float) rnd.nextDouble(-5, 1), b = a + (float) rnd.nextDouble(0, 6);
            AffineParams p = AffineQuantizer.params(a, b, k);
            float s = (float) ((1 << k) - 1) / Math.max(b - a, 1e-8f);
            float zp = (float) Math.rint(s * a) + (1 << (k - 1));
            assertEquals(s, p.inverseStep());
            assertEquals(zp, p.zeroPoint());
            float x = (float) rnd.nextDouble(-7, 7);
            float q = Math.min(Math.max((float) Math.rint(s * x - zp), -(1 << (k - 1))), (1 << (k - 1)) - 1);
            assertEquals((int) q, p.quantize(x));
            assertEquals((q + zp) / s, p.fakeQuant(x));
        }
    }

    @Test
    void constantRangeUsesTheMinimumWidth() {
        AffineParams p = AffineQuantizer.params(0.5f, 0.5f, 8);
        assertEquals(255f / 1e-8f, p.inverseStep());
        // A constant channel dequantizes back to (very nearly) itself.
        assertEquals(0.5f, p.fakeQuant(0.5f), 1e-7f);
    }

    @Test
    void perChannelUsesEachRowsTrueMinMax() {
        Tensor w = new Tensor(new float[] {-1, 0, 1, 0, 2, 6}, 2, 3);
        AffineParams[] ps = AffineQuantizer.perChannel(w, 8);
        assertEquals(new AffineParams(127.5f, 0f, 8), ps[0]);
        assertEquals(new AffineParams(42.5f, 128f, 8), ps[1]);
        Tensor fq = AffineQuantizer.fakeQuantPerChannel(w, 8);
        assertArrayEquals(new int[] {2, 3}, fq.shape());
        assertArrayEquals(new float[] {ps[0].fakeQuant(-1), ps[0].fakeQuant(0), ps[0].fakeQuant(1),
                ps[1].fakeQuant(0), ps[1].fakeQuant(2), ps[1].fakeQuant(6)}, fq.data());
        assertEquals(6f, fq.data()[5]);
    }

    @Test
    void arrayFakeQuantMatchesScalarAndWorksInPlace() {
        AffineParams p = AffineQuantizer.params(-2f, 3f, 3);
        float[] src = {9, -2, -1.3f, 0, 0.7f, 3, 4};
        float[] dst = new float[5];
        p.fakeQuant(src, 1, 5, dst);
        for (int i = 0; i < 5; i++) {
            assertEquals(p.fakeQuant(src[1 + i]), dst[i]);
        }
        float[] inPlace = src.clone();
        p.fakeQuant(inPlace, 1, 5, inPlace);
        assertArrayEquals(dst, java.util.Arrays.copyOf(inPlace, 5));
    }

    @Test
    void bitsOutsideTwoToEightAreBadInput() {
        ZeroqException e = assertThrows(ZeroqException.class, () -> AffineQuantizer.params(0, 1, 9));
        assertTrue(e.badInput());
        assertEquals("bits must be between 2 and 8, got 9", e.getMessage());
        assertThrows(ZeroqException.class, () -> SymmetricQuantizer.activation(0, 1, 1));
    }

    @Test
    void symmetricWeightsAreNarrowRangePerChannel() {
        Tensor w = new Tensor(new float[] {-0.5f, 0.25f, 1.27f, 0, 0, 0, -2, 1, 0.5f}, 3, 3);
        SymmetricQuantizer.Weights q = SymmetricQuantizer.quantizeWeights(w, 8);
        assertArrayEquals(new float[] {1.27f / 127, 1f, 2f / 127}, q.scales());
        assertEquals(0.01f, q.scales()[0]);
        // −2 at scale 2/127 is −127, never −128 (narrow range); a zero channel has scale 1 and codes 0.
        assertArrayEquals(new byte[] {-50, 25, 127, 0, 0, 0, -127, 64, 32}, q.q());
        assertEquals(-2f, q.dequantize().data()[6]);
        assertEquals(q, SymmetricQuantizer.quantizeWeights(w, 8));
    }

    @Test
    void symmetricClampsToNarrowRangeAtLowBits() {
        assertEquals(7, SymmetricQuantizer.quantizeSymmetric(100f, 1f, 4));
        assertEquals(-7, SymmetricQuantizer.quantizeSymmetric(-100f, 1f, 4));
        assertEquals(2, SymmetricQuantizer.quantizeSymmetric(2.5f, 1f, 4)); // half to even
    }

    @Test
    void asymmetricActivationWidensToZeroSoZeroIsExact() {
        SymmetricQuantizer.ActivationParams a = SymmetricQuantizer.activation(-1f, 3f, 8);
        assertEquals(4f / 255f, a.scale());
        assertEquals(64, a.zeroPoint()); // rint(63.75)
        assertEquals(64, a.quantize(0f));
        assertEquals(0f, a.fakeQuant(0f));
        assertEquals(128, a.quantize(1f));
        assertEquals(1.0039216f, a.dequantize(128));
        assertEquals(255, a.quantize(10f));
        assertEquals(0, a.quantize(-10f));

        SymmetricQuantizer.ActivationParams b = SymmetricQuantizer.activation(0.5f, 3f, 4);
        assertEquals(0.2f, b.scale());
        assertEquals(0, b.zeroPoint());
        assertEquals(15, b.quantize(3f));
        assertEquals(new SymmetricQuantizer.ActivationParams(1f, 0, 8, false), SymmetricQuantizer.activation(0, 0, 8));
        // All-negative range: widened to [−2, 0], zero point at the top code.
        assertEquals(255, SymmetricQuantizer.activation(-2f, -1f, 8).zeroPoint());
    }

    @Test
    void symmetricActivationHasZeroPointZero() {
        SymmetricQuantizer.ActivationParams a = SymmetricQuantizer.symmetricActivation(2.54f, 8);
        assertEquals(0.02f, a.scale());
        assertEquals(-127, a.quantize(-9f));
        assertEquals(50, a.quantize(1f));
    }

    @Test
    void biasIsInt32AtInputTimesWeightScale() {
        assertArrayEquals(new int[] {2500, -1, Integer.MAX_VALUE},
                SymmetricQuantizer.quantizeBias(new float[] {0.5f, -0.0002f, 1e30f}, 0.02f, new float[] {0.01f, 0.01f, 1f}));
    }
}
