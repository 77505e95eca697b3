// Mixed precision (ZEROQ.md §3): the exact Pareto frontier of weight size vs total sensitivity over per-layer
// bit choices, by dynamic programming over layers, and the choice of the best point under a size target.
package dev.zeroq.quant;

import dev.zeroq.ZeroqException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Solves min Σ Ω_i(k_i) subject to Σ P_i·k_i ≤ S for every S at once. The frontier after layers 0..i is
 * built from the one after 0..i−1 by adding each bit choice of layer i to each point and keeping only the
 * non-dominated results (no other point is at most as large and at most as sensitive with one of them
 * strictly less); back-pointers recover each point's bits. Exact: a dominated partial assignment can never
 * complete into a frontier point, because the remaining layers add the same amounts to both.
 * <p>Example: P = {1000, 3000}, bits {2, 8}, Ω_0 = {0.5, 0.0}, Ω_1 = {0.9, 0.1} (for 2 and 8 bits).
 * Assignments: (2,2) 8000 bits Ω 1.4; (8,2) 14000 Ω 0.9; (2,8) 26000 Ω 0.6; (8,8) 32000 Ω 0.1 — all four
 * are on the frontier. choose(frontier, 20000) = (8,2): the smallest Ω that fits.
 * <p>Frontier sizes stay small in practice (distinct sizes are bounded and most are dominated); above
 * {@value #MAX_POINTS} points after a layer the frontier is thinned to one point per size bucket and
 * {@link Frontier#thinned()} says so.
 */
public final class Pareto {
    /** Above this many points after a layer, the frontier is thinned (and stops being exact). */
    public static final int MAX_POINTS = 2_000_000;
    /** MB as in --size-mb: 10^6 bytes. */
    public static final long BITS_PER_MB = 8_000_000L;

    private Pareto() {}

    /**
     * The frontier, sorted by size ascending (so sensitivity strictly descending).
     *
     * @param points  the frontier
     * @param thinned true when some layer's frontier exceeded {@value #MAX_POINTS} points and was thinned to
     *                one point per size bucket: then points are all achievable but no longer all optimal
     */
    public record Frontier(List<ParetoPoint> points, boolean thinned) {
        public Frontier {
            points = List.copyOf(points);
        }

        /** {@link Pareto#choose(List, long)} on these points. */
        public ParetoPoint choose(long targetSizeBits) {
            return Pareto.choose(points, targetSizeBits);
        }
    }

    /**
     * The exact Pareto frontier of (Σ P_i·k_i, Σ Ω_i(k_i)).
     *
     * @param parameters  P_i, parameter count of each layer (≥ 0)
     * @param bitChoices  the allowed bit widths, e.g. {2, 4, 8}, each 2..8, distinct
     * @param sensitivity Ω_i(k) as sensitivity[i][j] for k = bitChoices[j], finite
     */
    public static Frontier frontier(long[] parameters, int[] bitChoices, double[][] sensitivity) {
        return frontier(parameters, bitChoices, sensitivity, MAX_POINTS);
    }

    static Frontier frontier(long[] parameters, int[] bitChoices, double[][] sensitivity, int maxPoints) {
        int layers = parameters.length;
        int m = bitChoices.length;
        validate(parameters, bitChoices, sensitivity);

        // The current frontier as parallel arrays; sizes strictly increasing, Ω strictly decreasing.
        long[] size = {0L};
        double[] omega = {0.0};
        // Per layer: for each point of that layer's frontier, the index of its predecessor and its choice.
        int[][] prev = new int[layers][];
        byte[][] choice = new byte[layers][];
        boolean thinned = false;

        for (int i = 0; i < layers; i++) {
            int n = size.length;
            long[] add = new long[m];
            for (int j = 0; j < m; j++) {
                add[j] = Math.multiplyExact(parameters[i], (long) bitChoices[j]);
            }
            // Each choice j shifts the sorted frontier by the same size: m sorted lists. Merge them by
            // (size, Ω, j) and sweep, keeping a point only if its Ω is below every smaller-or-equal size's.
            int[] cursor = new int[m];
            long[] outSize = new long[Math.min(Math.multiplyExact(n, m), Integer.MAX_VALUE - 8)];
            double[] outOmega = new double[outSize.length];
            int[] outPrev = new int[outSize.length];
            byte[] outChoice = new byte[outSize.length];
            int kept = 0;
            double best = Double.POSITIVE_INFINITY;
            while (true) {
                int pick = -1;
                long ps = 0;
                double po = 0;
                for (int j = 0; j < m; j++) {
                    if (cursor[j] == n) {
                        continue;
                    }
                    long s = Math.addExact(size[cursor[j]], add[j]);
                    double o = omega[cursor[j]] + sensitivity[i][j];
                    if (pick < 0 || s < ps || (s == ps && o < po)) {
                        pick = j;
                        ps = s;
                        po = o;
                    }
                }
                if (pick < 0) {
                    break;
                }
                if (po < best) {
                    best = po;
                    outSize[kept] = ps;
                    outOmega[kept] = po;
                    outPrev[kept] = cursor[pick];
                    outChoice[kept] = (byte) pick;
                    kept++;
                }
                cursor[pick]++;
            }
            int[] keep = kept > maxPoints ? thin(outSize, kept, maxPoints) : null;
            if (keep != null) {
                thinned = true;
                kept = keep.length;
                outSize = gather(outSize, keep);
                outOmega = gather(outOmega, keep);
                outPrev = gather(outPrev, keep);
                outChoice = gather(outChoice, keep);
            }
            size = Arrays.copyOf(outSize, kept);
            omega = Arrays.copyOf(outOmega, kept);
            prev[i] = Arrays.copyOf(outPrev, kept);
            choice[i] = Arrays.copyOf(outChoice, kept);
        }

        List<ParetoPoint> points = new ArrayList<>(size.length);
        for (int p = 0; p < size.length; p++) {
            int[] bits = new int[layers];
            int at = p;
            for (int i = layers - 1; i >= 0; i--) {
                bits[i] = bitChoices[choice[i][at]];
                at = prev[i][at];
            }
            points.add(new ParetoPoint(size[p], omega[p], bits));
        }
        return new Frontier(points, thinned);
    }

    /**
     * Keeps the first (smallest) point of each of maxPoints/2 equal-width size buckets, plus the last point
     * (the least sensitive). Every kept point stays achievable; a target then lands at most one bucket short.
     */
    private static int[] thin(long[] size, int n, int maxPoints) {
        int buckets = Math.max(2, maxPoints / 2);
        double width = (double) (size[n - 1] - size[0]) / buckets;
        int[] keep = new int[buckets + 2];
        int k = 0;
        long lastBucket = -1;
        for (int p = 0; p < n; p++) {
            long b = width == 0 ? 0 : (long) ((size[p] - size[0]) / width);
            if (b != lastBucket) {
                keep[k++] = p;
                lastBucket = b;
            }
        }
        if (keep[k - 1] != n - 1) {
            keep[k++] = n - 1;
        }
        return Arrays.copyOf(keep, k);
    }

    private static long[] gather(long[] a, int[] idx) {
        long[] r = new long[idx.length];
        for (int i = 0; i < idx.length; i++) r[i] = a[idx[i]];
        return r;
    }

    private static double[] gather(double[] a, int[] idx) {
        double[] r = new double[idx.length];
        for (int i = 0; i < idx.length; i++) r[i] = a[idx[i]];
        return r;
    }

    private static int[] gather(int[] a, int[] idx) {
        int[] r = new int[idx.length];
        for (int i = 0; i < idx.length; i++) r[i] = a[idx[i]];
        return r;
    }

    private static byte[] gather(byte[] a, int[] idx) {
        byte[] r = new byte[idx.length];
        for (int i = 0; i < idx.length; i++) r[i] = a[idx[i]];
        return r;
    }

    private static void validate(long[] parameters, int[] bitChoices, double[][] sensitivity) {
        if (bitChoices.length == 0) {
            throw ZeroqException.badInput("no bit widths to choose from; give e.g. --bits 2,4,8");
        }
        for (int j = 0; j < bitChoices.length; j++) {
            AffineQuantizer.checkBits(bitChoices[j]);
            for (int j2 = 0; j2 < j; j2++) {
                if (bitChoices[j2] == bitChoices[j]) {
                    throw ZeroqException.badInput("bit width " + bitChoices[j] + " is listed twice");
                }
            }
        }
        if (sensitivity.length != parameters.length) {
            throw new IllegalArgumentException(parameters.length + " layers but " + sensitivity.length + " sensitivity rows");
        }
        for (int i = 0; i < parameters.length; i++) {
            if (parameters[i] < 0) {
                throw new IllegalArgumentException("layer " + i + " has " + parameters[i] + " parameters");
            }
            if (sensitivity[i].length != bitChoices.length) {
                throw new IllegalArgumentException("layer " + i + " has " + sensitivity[i].length
                        + " sensitivities for " + bitChoices.length + " bit widths");
            }
            for (double o : sensitivity[i]) {
                if (!Double.isFinite(o)) {
                    throw ZeroqException.badInput("sensitivity of layer " + i + " is " + o
                            + "; the model's outputs are not finite under quantization");
                }
            }
        }
    }

    /**
     * The least sensitive point whose size is at most the target: the last frontier point with
     * sizeBits ≤ target (Ω falls as size grows). A target below the smallest point is a bad input whose
     * message names that minimum in MB, e.g. "size target 0.10 MB is below the smallest possible 0.25 MB
     * (every layer at 2 bits)".
     */
    public static ParetoPoint choose(List<ParetoPoint> frontier, long targetSizeBits) {
        if (frontier.isEmpty()) {
            throw new IllegalArgumentException("empty frontier");
        }
        ParetoPoint smallest = frontier.getFirst();
        if (targetSizeBits < smallest.sizeBits()) {
            int minBits = Arrays.stream(smallest.bits()).min().orElse(0);
            String[] mb = megabytes(targetSizeBits, smallest.sizeBits());
            throw ZeroqException.badInput("size target " + mb[0] + " MB is below the smallest possible " + mb[1]
                    + " MB (every layer at " + minBits + " bits)");
        }
        // Binary search for the last point with size <= target.
        int lo = 0, hi = frontier.size() - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (frontier.get(mid).sizeBits() <= targetSizeBits) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return frontier.get(lo);
    }

    /** Both sizes in MB with two decimals, or more when two decimals would print them equal. */
    private static String[] megabytes(long aBits, long bBits) {
        for (int digits = 2; ; digits++) {
            String a = String.format(Locale.ROOT, "%." + digits + "f", aBits / (double) BITS_PER_MB);
            String b = String.format(Locale.ROOT, "%." + digits + "f", bBits / (double) BITS_PER_MB);
            if (!a.equals(b) || digits == 8) {
                return new String[] {a, b};
            }
        }
    }

    /** Σ P_i. */
    public static long totalParameters(long[] parameters) {
        long t = 0;
        for (long p : parameters) {
            t = Math.addExact(t, p);
        }
        return t;
    }

    /**
     * The size target of {@code --avg-bits B}: floor(B·Σ P_i) bits. Example: B = 4 over 1,000,000
     * parameters → 4,000,000 bits (the uniform 4-bit model, the paper's MP4).
     */
    public static long targetForAverageBits(long[] parameters, double averageBits) {
        if (!(averageBits >= 2 && averageBits <= 8)) {
            throw ZeroqException.badInput("average bits must be between 2 and 8, got " + averageBits);
        }
        return (long) Math.floor(averageBits * totalParameters(parameters));
    }

    /**
     * The size target of {@code --size-mb S}: S megabytes of weights, where 1 MB = 10^6 bytes (not 2^20),
     * i.e. floor(S·8·10^6) bits. Example: 0.25 MB → 2,000,000 bits.
     */
    public static long targetForSizeMb(double megabytes) {
        if (!(megabytes > 0) || !Double.isFinite(megabytes)) {
            throw ZeroqException.badInput("size target must be a positive number of MB, got " + megabytes);
        }
        return (long) Math.floor(megabytes * BITS_PER_MB);
    }
}
