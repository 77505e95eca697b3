// Range selection for quantization: true min/max (ZeroQ), percentile clipping and MSE-optimal clipping,
// the first remedies for ZeroQ's collapse at 4 bits (ZEROQ.md §2). Pure functions of the values: deterministic.
package dev.zeroq.quant;

import java.util.Arrays;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Chooses the [min, max] range to quantize a set of values with. A symmetric range is returned as
 * [−a, a]; an asymmetric one as [lo, hi] (for the {@code paper} quantizer or the {@code deploy} activations).
 * <p>Example, values {−1, 0, 2, 100}, 4 bits: MINMAX → [−1, 100] (asymmetric) or [−100, 100] (symmetric);
 * MSE, asymmetric → a range shrunk toward 0 that trades clipping 100 for a finer step on the others.
 */
public final class Clipping {
    /** The default percentile: 99.99th of |x| (symmetric), 0.01th and 99.99th (asymmetric). */
    public static final double DEFAULT_PERCENTILE = 99.99;
    /** Up to this many values the percentile is exact (a sorted copy); above it a histogram. */
    public static final int EXACT_PERCENTILE_LIMIT = 1_000_000;
    /** Histogram resolution above the exact limit: the percentile is within range/2048 of the exact one. */
    public static final int HISTOGRAM_BINS = 2048;
    /** MSE is evaluated on at most this many values (a strided subsample) so large tensors stay cheap. */
    public static final int MSE_SAMPLE = 65_536;
    /** Seed of the subsample's start offset: fixed, so the same values always give the same range. */
    public static final long MSE_SAMPLE_SEED = 0x5EED_C11BL;
    /** MSE search: shrink factors α = 1.00, 0.99, …, 0.30 of the min/max range. */
    public static final int MSE_ALPHA_MAX_PERCENT = 100, MSE_ALPHA_MIN_PERCENT = 30;

    private Clipping() {}

    /** A quantization range, min ≤ max, both finite. */
    public record Range(float min, float max) {
        public Range {
            if (!Float.isFinite(min) || !Float.isFinite(max) || min > max) {
                throw new IllegalArgumentException("range must be finite with min <= max, got [" + min + ", " + max + "]");
            }
            // −0.0 + 0.0 is +0.0: a symmetric range of all-zero values is [0, 0], not [−0, 0], so that ranges
            // compare equal and serialize the same.
            min += 0f;
            max += 0f;
        }
    }

    /**
     * The range for values[from, from+len) by method m at the given bits (bits matter only for MSE), with the
     * default percentile. Symmetric → [−a, a].
     */
    public static Range range(float[] values, int from, int len, ClipMethod m, int bits, boolean symmetric) {
        return switch (m) {
            case MINMAX -> minMax(values, from, len, symmetric);
            case PERCENTILE -> percentile(values, from, len, DEFAULT_PERCENTILE, symmetric);
            case MSE -> mse(values, from, len, bits, symmetric);
        };
    }

    /**
     * True min/max (ZeroQ). Symmetric: [−max|x|, max|x|]. Non-finite values are rejected: they mean a broken
     * model or calibration, and a range built on them would quantize everything to one code.
     * Example: {−1, 0.5, 3} → [−1, 3], symmetric [−3, 3].
     */
    public static Range minMax(float[] values, int from, int len, boolean symmetric) {
        Objects.checkFromIndexSize(from, len, values.length);
        if (len == 0) {
            throw new IllegalArgumentException("no values to take a range of");
        }
        float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
        for (int i = from; i < from + len; i++) {
            float v = values[i];
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("value " + v + " at index " + i + " is not finite");
            }
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        return fromMinMax(lo, hi, symmetric);
    }

    /**
     * The MINMAX range of values whose smallest and largest are {@code lo} and {@code hi} (both finite), e.g. from a
     * device reduction: [lo, hi], or [−a, a] with a = max(|lo|, |hi|) when symmetric.
     */
    public static Range fromMinMax(float lo, float hi, boolean symmetric) {
        if (symmetric) {
            float a = Math.max(Math.abs(lo), Math.abs(hi));
            return new Range(-a, a);
        }
        return new Range(lo, hi);
    }

    /**
     * Percentile clipping. Symmetric: a = the p-th percentile of |x|, range [−a, a]. Asymmetric: the
     * (100−p)-th and p-th percentiles of x. Exact for up to {@value #EXACT_PERCENTILE_LIMIT} values (sorted
     * copy, linear interpolation between order statistics at rank p/100·(n−1), like numpy's default);
     * above that a {@value #HISTOGRAM_BINS}-bin histogram whose answer is the outer edge of the bin holding
     * that rank, so it never clips more than asked. Example: |x| = 1..10001 (symmetric), p = 99.99 →
     * rank 10000·0.9999 = 9999 → a = 10000.
     *
     * @param percentile in (50, 100]
     */
    public static Range percentile(float[] values, int from, int len, double percentile, boolean symmetric) {
        if (!(percentile > 50 && percentile <= 100)) {
            throw new IllegalArgumentException("percentile must be in (50, 100], got " + percentile);
        }
        if (len > EXACT_PERCENTILE_LIMIT) {
            return percentileByHistogram(values, from, len, percentile, symmetric);
        }
        minMax(values, from, len, symmetric); // rejects non-finite values, as every method does
        double upperRank = percentile / 100 * (len - 1);
        double lowerRank = (100 - percentile) / 100 * (len - 1);
        float[] sorted = Arrays.copyOfRange(values, from, from + len);
        if (symmetric) {
            for (int i = 0; i < len; i++) {
                sorted[i] = Math.abs(sorted[i]);
            }
        }
        Arrays.sort(sorted);
        float hi = interpolate(sorted, upperRank);
        if (symmetric) {
            return new Range(-hi, hi);
        }
        return new Range(interpolate(sorted, lowerRank), hi);
    }

    /**
     * The histogram path of {@link #percentile}, which it takes above {@value #EXACT_PERCENTILE_LIMIT} values; public
     * so that a device computing the same histogram (CudaForward's site reductions) can be checked against it at
     * any size. Value v (|v| when symmetric, in double) falls in bin min(⌊(v − low)/width⌋, bins − 1) with
     * {@link #histogramLow} and {@link #histogramWidth}; {@link #percentileFromCounts} then reads the answer.
     */
    public static Range percentileByHistogram(float[] values, int from, int len, double percentile, boolean symmetric) {
        if (!(percentile > 50 && percentile <= 100)) {
            throw new IllegalArgumentException("percentile must be in (50, 100], got " + percentile);
        }
        Range full = minMax(values, from, len, symmetric);
        double lo = histogramLow(full, symmetric);
        double width = histogramWidth(full, symmetric);
        if (width == 0) {
            return full;
        }
        long[] counts = new long[HISTOGRAM_BINS];
        for (int i = from; i < from + len; i++) {
            double v = symmetric ? Math.abs(values[i]) : values[i];
            counts[Math.min((int) ((v - lo) / width), HISTOGRAM_BINS - 1)]++;
        }
        return percentileFromCounts(counts, full, len, percentile, symmetric);
    }

    /** Lower edge of the percentile histogram of a MINMAX range: 0 for |x| (symmetric), else the minimum. */
    public static double histogramLow(Range full, boolean symmetric) {
        return symmetric ? 0 : full.min();
    }

    /** Bin width of the percentile histogram, in double; 0 when all values are equal (the range is then the answer). */
    public static double histogramWidth(Range full, boolean symmetric) {
        return (full.max() - histogramLow(full, symmetric)) / HISTOGRAM_BINS;
    }

    /**
     * The percentile range from a {@value #HISTOGRAM_BINS}-bin histogram of {@code len} values over the MINMAX range
     * {@code full} (with a non-zero width): the upper end is the upper edge of the bin holding rank ⌈p/100·(len−1)⌉,
     * the lower end (asymmetric) the lower edge of the bin holding rank ⌊(100−p)/100·(len−1)⌋, both kept inside full.
     */
    public static Range percentileFromCounts(long[] counts, Range full, long len, double percentile, boolean symmetric) {
        if (counts.length != HISTOGRAM_BINS) {
            throw new IllegalArgumentException("expected " + HISTOGRAM_BINS + " bins, got " + counts.length);
        }
        double upperRank = percentile / 100 * (len - 1);
        double lowerRank = (100 - percentile) / 100 * (len - 1);
        double lo = histogramLow(full, symmetric);
        double width = histogramWidth(full, symmetric);
        // Upper: first bin whose cumulative count covers rank ceil(r), answered by its upper edge.
        int up = binHolding(counts, (long) Math.ceil(upperRank));
        float hi = (float) Math.min(full.max(), lo + (up + 1) * width);
        if (symmetric) {
            return new Range(-hi, hi);
        }
        // Lower: the bin holding rank floor(r), answered by its lower edge.
        int down = binHolding(counts, (long) Math.floor(lowerRank));
        float loValue = (float) Math.max(full.min(), lo + down * width);
        return new Range(Math.min(loValue, hi), hi);
    }

    private static float interpolate(float[] sorted, double rank) {
        int i = (int) Math.floor(rank);
        if (i >= sorted.length - 1) {
            return sorted[sorted.length - 1];
        }
        double f = rank - i;
        return (float) (sorted[i] + f * ((double) sorted[i + 1] - sorted[i]));
    }

    /** The bin that holds the element of 0-based rank r in sorted order. */
    private static int binHolding(long[] counts, long rank) {
        long cumulative = 0;
        for (int b = 0; b < counts.length; b++) {
            cumulative += counts[b];
            if (cumulative > rank) {
                return b;
            }
        }
        return counts.length - 1;
    }

    /**
     * MSE-optimal clipping: among the min/max range shrunk by α ∈ {1.00, 0.99, …, 0.30}, the one whose
     * quantizer (the symmetric deploy weights quantizer when symmetric, the ZeroQ {@link AffineQuantizer}
     * otherwise) gives the smallest mean squared error on the values, evaluated on at most
     * {@value #MSE_SAMPLE} of them (every ⌈n/65536⌉-th value from a seeded offset). Shrinking: symmetric
     * [−αa, αa]; asymmetric [α·min, α·max] when the range contains 0 (0 stays inside), otherwise both ends
     * move toward the centre. Ties go to the larger α, so data without outliers keeps (nearly) min/max.
     * Example (symmetric): 1000 values uniform in [−1, 1] at 4 bits → α = 0.94 (the rounding error of a
     * coarse grid outweighs clipping the last 6%), at 8 bits α = 1.00; 100,000 N(0, 1) values plus four
     * outliers up to 15 at 4 bits → α = 0.30, range ±4.5 instead of ±15, MSE 0.037 instead of 0.375.
     * The floor α = 0.30 binds when outliers lie more than about 3× beyond the bulk: the range is then 30% of
     * min/max, which percentile clipping can undercut.
     */
    public static Range mse(float[] values, int from, int len, int bits, boolean symmetric) {
        AffineQuantizer.checkBits(bits);
        Range full = minMax(values, from, len, symmetric);
        if (full.min() == full.max()) {
            return full;
        }
        float[] sample = subsample(values, from, len);
        Range best = full;
        double bestMse = Double.POSITIVE_INFINITY;
        for (int pct = MSE_ALPHA_MAX_PERCENT; pct >= MSE_ALPHA_MIN_PERCENT; pct--) {
            Range r = shrink(full, pct / 100.0);
            double e = quantizationMse(sample, 0, sample.length, r, bits, symmetric);
            if (e < bestMse) {
                bestMse = e;
                best = r;
            }
        }
        return best;
    }

    private static Range shrink(Range full, double alpha) {
        double lo = full.min(), hi = full.max();
        if (lo <= 0 && hi >= 0) {
            return new Range((float) (alpha * lo), (float) (alpha * hi));
        }
        double c = (lo + hi) / 2;
        float a = (float) (c - alpha * (c - lo));
        float b = (float) (c + alpha * (hi - c));
        return new Range(Math.min(a, b), b);
    }

    private static float[] subsample(float[] values, int from, int len) {
        if (len <= MSE_SAMPLE) {
            return Arrays.copyOfRange(values, from, from + len);
        }
        int stride = (len + MSE_SAMPLE - 1) / MSE_SAMPLE;
        int offset = new SplittableRandom(MSE_SAMPLE_SEED).nextInt(stride);
        int count = (len - offset + stride - 1) / stride;
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            out[i] = values[from + offset + i * stride];
        }
        return out;
    }

    /**
     * Mean squared error, in double, of quantizing values[from, from+len) with range r at k bits: the
     * symmetric quantizer (step max/(2^(k−1)−1)) when symmetric, else the ZeroQ affine quantizer.
     * Example: {0, 1, 2, 3} with [0, 3] at 2 bits → every value on the grid → 0.
     */
    public static double quantizationMse(float[] values, int from, int len, Range r, int bits, boolean symmetric) {
        Objects.checkFromIndexSize(from, len, values.length);
        double sum = 0;
        if (symmetric) {
            float scale = SymmetricQuantizer.symmetricScale(Math.max(Math.abs(r.min()), Math.abs(r.max())), bits);
            for (int i = from; i < from + len; i++) {
                // The product in float: that is the value the runtime produces.
                double d = (double) (SymmetricQuantizer.quantizeSymmetric(values[i], scale, bits) * scale) - values[i];
                sum += d * d;
            }
        } else {
            AffineParams p = AffineQuantizer.params(r.min(), r.max(), bits);
            for (int i = from; i < from + len; i++) {
                double d = (double) p.fakeQuant(values[i]) - values[i];
                sum += d * d;
            }
        }
        return len == 0 ? 0 : sum / len;
    }
}
