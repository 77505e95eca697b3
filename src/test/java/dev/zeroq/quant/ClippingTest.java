package dev.zeroq.quant;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Range selection: exact percentiles, histogram percentiles, MSE clipping against outliers, determinism. */
class ClippingTest {

    /**
     * N(0,1) samples with a few huge outliers, 10–15σ (seeded). Not ±100: MSE's search stops at α = 0.30, so
     * outliers beyond about 3× the useful range only show that floor.
     */
    private static float[] gaussianWithOutliers(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) gaussian(rnd);
        }
        v[n / 7] = 12f;
        v[n / 3] = -10f;
        v[n / 2] = 15f;
        v[n - 1] = 13f;
        return v;
    }

    private static double gaussian(SplittableRandom rnd) {
        // Box–Muller: SplittableRandom has no nextGaussian in older JDKs' contract; this is explicit.
        return Math.sqrt(-2 * Math.log(1 - rnd.nextDouble())) * Math.cos(2 * Math.PI * rnd.nextDouble());
    }

    @Test
    void minMaxIsTheTrueRange() {
        float[] v = {-1f, 0.5f, 3f};
        assertEquals(new Clipping.Range(-1f, 3f), Clipping.minMax(v, 0, 3, false));
        assertEquals(new Clipping.Range(-3f, 3f), Clipping.minMax(v, 0, 3, true));
        assertEquals(new Clipping.Range(0.5f, 0.5f), Clipping.minMax(v, 1, 1, false));
        assertThrows(IllegalArgumentException.class, () -> Clipping.minMax(new float[] {1, Float.NaN}, 0, 2, false));
    }

    @Test
    void exactPercentileInterpolatesOrderStatistics() {
        float[] v = new float[10001];
        for (int i = 0; i < v.length; i++) {
            v[i] = (i % 2 == 0 ? 1 : -1) * (i + 1); // |x| = 1..10001
        }
        // Javadoc example: rank 0.9999·10000 = 9999 → 10000.
        assertEquals(new Clipping.Range(-10000f, 10000f), Clipping.percentile(v, 0, v.length, 99.99, true));
        float[] w = {0, 1, 2, 3, 4};
        // Ranks 0.04·0.9 … : p = 90 → upper rank 3.6 → 3.6; lower rank 0.4 → 0.4.
        Clipping.Range r = Clipping.percentile(w, 0, 5, 90, false);
        assertEquals(0.4f, r.min(), 1e-6f);
        assertEquals(3.6f, r.max(), 1e-6f);
    }

    @Test
    void histogramPercentileIsWithinOneBinOfExact() {
        int n = 1_200_000; // above the exact limit
        float[] v = gaussianWithOutliers(n, 11);
        Clipping.Range h = Clipping.percentile(v, 0, n, 99.99, false);
        float[] sorted = v.clone();
        java.util.Arrays.sort(sorted);
        double rank = 0.9999 * (n - 1);
        float exactHi = sorted[(int) Math.ceil(rank)];
        float exactLo = sorted[(int) Math.floor(0.0001 * (n - 1))];
        double bin = (15.0 + 10.0) / Clipping.HISTOGRAM_BINS;
        // The histogram answers with the outer edge of the bin: never inside the exact value, at most a bin out.
        assertTrue(h.max() >= exactHi && h.max() <= exactHi + bin, h + " vs " + exactHi);
        assertTrue(h.min() <= exactLo && h.min() >= exactLo - bin, h + " vs " + exactLo);
        Clipping.Range hs = Clipping.percentile(v, 0, n, 99.99, true);
        assertTrue(hs.max() < 6 && hs.max() > 3, hs.toString());
    }

    @Test
    void percentileAndMseBeatMinMaxWithOutliersAtFourBits() {
        float[] v = gaussianWithOutliers(100_000, 3);
        for (boolean symmetric : new boolean[] {true, false}) {
            Clipping.Range mm = Clipping.range(v, 0, v.length, ClipMethod.MINMAX, 4, symmetric);
            Clipping.Range pc = Clipping.range(v, 0, v.length, ClipMethod.PERCENTILE, 4, symmetric);
            Clipping.Range ms = Clipping.range(v, 0, v.length, ClipMethod.MSE, 4, symmetric);
            double wMm = mm.max() - mm.min(), wPc = pc.max() - pc.min(), wMs = ms.max() - ms.min();
            // The outliers stretch min/max to ±15 while the bulk sits within ±4.5.
            assertTrue(wPc < wMm / 3, "percentile " + pc + " vs " + mm);
            assertTrue(wMs < wMm / 2.5, "mse " + ms + " vs " + mm);
            double eMm = Clipping.quantizationMse(v, 0, v.length, mm, 4, symmetric);
            double ePc = Clipping.quantizationMse(v, 0, v.length, pc, 4, symmetric);
            double eMs = Clipping.quantizationMse(v, 0, v.length, ms, 4, symmetric);
            assertTrue(ePc < eMm && eMs < eMm, "mse minmax " + eMm + " percentile " + ePc + " mse " + eMs);
        }
    }

    @Test
    void mseKeepsNearlyMinMaxOnUniformData() {
        SplittableRandom rnd = new SplittableRandom(5);
        float[] v = new float[1000];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextDouble(-1, 1);
        }
        // With no outliers the only gain from clipping is a finer step: the optimum at 4 bits is α ≈ 0.95
        // ((1−α)² ≈ 2α/675 for a uniform density), at 8 bits α ≈ 0.99. So "≈ min/max" within those margins.
        for (boolean symmetric : new boolean[] {true, false}) {
            Clipping.Range mm = Clipping.minMax(v, 0, v.length, symmetric);
            Clipping.Range m4 = Clipping.mse(v, 0, v.length, 4, symmetric);
            Clipping.Range m8 = Clipping.mse(v, 0, v.length, 8, symmetric);
            double w = mm.max() - mm.min();
            assertTrue((m4.max() - m4.min()) >= 0.9 * w, m4 + " vs " + mm);
            assertTrue((m8.max() - m8.min()) >= 0.97 * w, m8 + " vs " + mm);
        }
    }

    @Test
    void mseIsDeterministicAndSubsamplesLargeInputs() {
        float[] v = gaussianWithOutliers(300_000, 9);
        Clipping.Range a = Clipping.mse(v, 0, v.length, 4, false);
        Clipping.Range b = Clipping.mse(v.clone(), 0, v.length, 4, false);
        assertEquals(a, b);
        assertTrue(a.max() < 7 && a.min() > -7, a.toString());
    }

    @Test
    void mseShrinksTowardTheCentreWhenZeroIsOutside() {
        float[] v = new float[200];
        for (int i = 0; i < v.length; i++) {
            v[i] = 10 + i * 0.01f;
        }
        v[0] = 5; // one low outlier
        Clipping.Range r = Clipping.mse(v, 0, v.length, 3, false);
        assertTrue(r.min() > 5 && r.max() <= 11.99f && r.min() < r.max(), r.toString());
    }

    @Test
    void constantValuesGiveTheirOwnRange() {
        float[] zeros = new float[50];
        for (ClipMethod m : ClipMethod.values()) {
            assertEquals(new Clipping.Range(0, 0), Clipping.range(zeros, 0, 50, m, 4, true));
        }
        assertEquals(ClipMethod.MSE, ClipMethod.parse("MSE"));
        assertEquals("percentile", ClipMethod.PERCENTILE.cliName());
    }

    @Test
    void histogramPathIsPublicAndSplitForADevice() {
        // Above the limit percentile is percentileByHistogram; that in turn is fromMinMax + the bin rule +
        // percentileFromCounts, the pieces a device reduction reuses (CudaForward's site percentile).
        SplittableRandom r = new SplittableRandom(11);
        int n = Clipping.EXACT_PERCENTILE_LIMIT + 17;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * 2 - 0.5);
        for (boolean symmetric : new boolean[] {false, true}) {
            Clipping.Range full = Clipping.minMax(x, 0, n, symmetric);
            float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
            for (float v : x) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
            assertEquals(full, Clipping.fromMinMax(lo, hi, symmetric));
            double low = Clipping.histogramLow(full, symmetric), width = Clipping.histogramWidth(full, symmetric);
            long[] counts = new long[Clipping.HISTOGRAM_BINS];
            for (float f : x) {
                double v = symmetric ? Math.abs(f) : f;
                counts[Math.min((int) ((v - low) / width), Clipping.HISTOGRAM_BINS - 1)]++;
            }
            Clipping.Range want = Clipping.percentile(x, 0, n, 99.99, symmetric);
            assertEquals(want, Clipping.percentileByHistogram(x, 0, n, 99.99, symmetric));
            assertEquals(want, Clipping.percentileFromCounts(counts, full, n, 99.99, symmetric));
        }
        // Worked example: 10 values 0..9, bins of width 9/2048; p = 90 → rank ⌈8.1⌉ = 9 (the value 9, last bin) → 9;
        // lower rank ⌊0.9⌋ = 0 → the lower edge of bin 0 → 0.
        float[] small = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        assertEquals(new Clipping.Range(0f, 9f), Clipping.percentileByHistogram(small, 0, 10, 90, false));
        assertThrows(IllegalArgumentException.class,
                () -> Clipping.percentileFromCounts(new long[7], new Clipping.Range(0, 1), 10, 99, false));
    }
}
