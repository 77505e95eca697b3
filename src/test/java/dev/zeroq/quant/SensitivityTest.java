package dev.zeroq.quant;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** KL divergence on hand-computed rows. */
class SensitivityTest {

    @Test
    void identicalLogitsGiveZero() {
        float[] p = {1.5f, -2f, 0.25f, 7f, 7f, 7f};
        assertEquals(0.0, Sensitivity.klDivergence(p, p.clone(), 3));
    }

    @Test
    void twoClassExampleByHand() {
        // P = (½, ½), Q = (¼, ¾): KL = ½·ln 2 + ½·ln(2/3) = ½·ln(4/3).
        // Tolerance: ln 3 is rounded to float in the logits, which moves Q by ~1e-8.
        float[] p = {0f, 0f};
        float[] q = {0f, (float) Math.log(3)};
        assertEquals(0.5 * Math.log(4.0 / 3.0), Sensitivity.klDivergence(p, q, 2), 1e-7);
        assertEquals(0.14384103622589045, 0.5 * Math.log(4.0 / 3.0), 1e-15);
    }

    @Test
    void meanOverRowsAndShiftInvariantAndStableForHugeLogits() {
        float[] p = {0f, 0f, 5f, 5f};
        float[] q = {0f, (float) Math.log(3), 5f, 5f};
        // Row 2 is identical: the mean halves row 1's KL.
        assertEquals(0.25 * Math.log(4.0 / 3.0), Sensitivity.klDivergence(p, q, 2), 1e-7);
        // Adding 1000 to every logit changes nothing and must not overflow exp.
        float[] p2 = {1000f, 1000f};
        float[] q2 = {1000f, 1000f + (float) Math.log(3)};
        double kl = Sensitivity.klDivergence(p2, q2, 2);
        assertTrue(Double.isFinite(kl));
        assertEquals(0.5 * Math.log(4.0 / 3.0), kl, 1e-4); // 1000 + ln 3 in float loses ~6e-5 of ln 3
        assertThrows(IllegalArgumentException.class, () -> Sensitivity.klDivergence(new float[3], new float[3], 2));
    }
}
