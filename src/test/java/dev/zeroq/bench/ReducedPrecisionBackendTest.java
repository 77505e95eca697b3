package dev.zeroq.bench;

import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.zeroq.bench.ReducedPrecisionBackend.Format.BF16;
import static dev.zeroq.bench.ReducedPrecisionBackend.Format.TF32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReducedPrecisionBackendTest {
    private static float f(double d) {
        return (float) d;
    }

    @Test
    void tf32RoundsToTenMantissaBitsWithTiesAwayFromZero() {
        double u = Math.scalb(1.0, -10); // TF32's ulp at 1
        assertEquals(1f, TF32.round(1f));
        assertEquals(f(1 + u), TF32.round(f(1 + u / 2)));         // a tie: away from zero
        assertEquals(f(-(1 + u)), TF32.round(f(-(1 + u / 2))));
        assertEquals(f(1 + 2 * u), TF32.round(f(1 + 1.5 * u)));   // a tie with an odd lower neighbour: still away
        assertEquals(1f, TF32.round(f(1 + u / 2 - Math.scalb(1.0, -23))));
        assertEquals(Float.POSITIVE_INFINITY, TF32.round(Float.MAX_VALUE)); // rounds past the largest finite TF32
        assertTrue(Float.isNaN(TF32.round(Float.NaN)));
        assertEquals(Float.NEGATIVE_INFINITY, TF32.round(Float.NEGATIVE_INFINITY));
        assertEquals(0x1p-130f, TF32.round(0x1p-130f)); // subnormals keep their top bits
    }

    @Test
    void truncatedTf32DropsTheLowThirteenBits() {
        double u = Math.scalb(1.0, -10);
        assertEquals(1f, ReducedPrecisionBackend.Format.TF32_TRUNCATED.round(f(1 + u - Math.scalb(1.0, -23))));
        assertEquals(f(-1), ReducedPrecisionBackend.Format.TF32_TRUNCATED.round(f(-(1 + u / 2))));
        float top = ReducedPrecisionBackend.Format.TF32_TRUNCATED.round(Float.MAX_VALUE);
        assertTrue(top < Float.MAX_VALUE && Float.isFinite(top), "never rounds up: " + top);
    }

    @Test
    void bf16RoundsToSevenMantissaBitsWithTiesToEven() {
        double u = Math.scalb(1.0, -7);
        assertEquals(1f, BF16.round(f(1 + u / 2)));               // tie, 1 is even
        assertEquals(f(1 + 2 * u), BF16.round(f(1 + 1.5 * u)));   // tie, 1 + 2u is even
        assertEquals(f(1 + u), BF16.round(f(1 + u / 2 + Math.scalb(1.0, -23))));
        assertEquals(f(-(1 + 2 * u)), BF16.round(f(-(1 + 1.5 * u))));
        assertTrue(Float.isNaN(BF16.round(Float.NaN)));
    }

    @Test
    void convolutionsSeeRoundedOperandsAndStayWithinTheFormatsErrorBound() {
        Random r = new Random(3);
        Tensor x = random(r, 2, 5, 9, 7), w = random(r, 6, 5, 3, 3), b = random(r, 6);
        ConvSpec spec = new ConvSpec(new int[] {3, 3}, new int[] {2, 1}, new int[] {1, 0, 1, 2}, new int[] {1, 1}, 1);
        RefBackend ref = new RefBackend();
        Tensor exact = ref.conv2d(x, w, b, spec);
        Tensor absolute = ref.conv2d(abs(x), abs(w), null, spec);
        for (ReducedPrecisionBackend.Format fmt : ReducedPrecisionBackend.Format.values()) {
            Tensor got = new ReducedPrecisionBackend(ref, fmt).conv2d(x, w, b, spec);
            double ulp = Math.scalb(1.0, fmt == BF16 ? -7 : -10);
            if (fmt == ReducedPrecisionBackend.Format.TF32_TRUNCATED) ulp *= 2; // a whole ulp per operand, not half
            int differ = 0;
            for (int i = 0; i < got.size(); i++) {
                // Each operand moves by at most half an ulp (relative), so each product by about one ulp.
                double bound = 1.01 * ulp * absolute.data()[i] + 1e-5;
                assertTrue(Math.abs(got.data()[i] - exact.data()[i]) <= bound, fmt + " output " + i);
                if (got.data()[i] != exact.data()[i]) differ++;
            }
            assertTrue(differ > got.size() / 2, fmt + ": only " + differ + " of " + got.size() + " outputs changed");
        }
    }

    @Test
    void spearmanRanks() {
        assertEquals(1.0, ReducedPrecisionQualityBench.spearman(new double[] {1, 5, 3}, new double[] {10, 50, 20}), 1e-12);
        assertEquals(-1.0, ReducedPrecisionQualityBench.spearman(new double[] {1, 2, 3}, new double[] {3, 2, 1}), 1e-12);
        assertEquals(0.5, ReducedPrecisionQualityBench.spearman(new double[] {1, 2, 3}, new double[] {1, 3, 2}), 1e-12);
    }

    private static Tensor random(Random r, int... shape) {
        int n = 1;
        for (int s : shape) n *= s;
        float[] d = new float[n];
        for (int i = 0; i < n; i++) d[i] = (float) r.nextGaussian();
        return new Tensor(d, shape);
    }

    private static Tensor abs(Tensor t) {
        float[] d = t.data().clone();
        for (int i = 0; i < d.length; i++) d[i] = Math.abs(d[i]);
        return new Tensor(d, t.shape());
    }
}
