package dev.zeroq.quant;

import dev.zeroq.ZeroqException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The DP frontier against brute force, its shape, choose(), targets and the error message. */
class ParetoTest {
    private static final int[] BITS = {2, 4, 8};

    @Test
    void javadocExample() {
        Pareto.Frontier f = Pareto.frontier(new long[] {1000, 3000}, new int[] {2, 8},
                new double[][] {{0.5, 0.0}, {0.9, 0.1}});
        assertEquals(List.of(new ParetoPoint(8000, 1.4, new int[] {2, 2}), new ParetoPoint(14000, 0.9, new int[] {8, 2}),
                new ParetoPoint(26000, 0.6, new int[] {2, 8}), new ParetoPoint(32000, 0.1, new int[] {8, 8})), f.points());
        assertArrayEquals(new int[] {8, 2}, f.choose(20000).bits());
        assertFalse(f.thinned());
    }

    /** Brute force: every assignment, Ω summed in layer order like the DP, dominance checked pairwise. */
    private static List<ParetoPoint> bruteForce(long[] p, double[][] omega) {
        int layers = p.length;
        int combos = (int) Math.pow(BITS.length, layers);
        List<ParetoPoint> all = new ArrayList<>(combos);
        for (int c = 0; c < combos; c++) {
            int[] bits = new int[layers];
            long size = 0;
            double o = 0;
            int rest = c;
            for (int i = 0; i < layers; i++) {
                int j = rest % BITS.length;
                rest /= BITS.length;
                bits[i] = BITS[j];
                size += p[i] * BITS[j];
                o += omega[i][j];
            }
            all.add(new ParetoPoint(size, o, bits));
        }
        List<ParetoPoint> front = new ArrayList<>();
        for (ParetoPoint a : all) {
            boolean dominated = false;
            for (ParetoPoint b : all) {
                if (b.sizeBits() <= a.sizeBits() && b.sensitivity() <= a.sensitivity()
                        && (b.sizeBits() < a.sizeBits() || b.sensitivity() < a.sensitivity())) {
                    dominated = true;
                    break;
                }
            }
            // Equal (size, Ω) twins are one frontier point.
            if (!dominated && front.stream().noneMatch(f -> f.sizeBits() == a.sizeBits()
                    && Double.compare(f.sensitivity(), a.sensitivity()) == 0)) {
                front.add(a);
            }
        }
        front.sort((x, y) -> Long.compare(x.sizeBits(), y.sizeBits()));
        return front;
    }

    @Test
    void equalsBruteForceOnRandomInstances() {
        SplittableRandom rnd = new SplittableRandom(2020);
        for (int t = 0; t < 200; t++) {
            int layers = 1 + rnd.nextInt(8);
            long[] p = new long[layers];
            double[][] omega = new double[layers][BITS.length];
            boolean integral = t % 2 == 0; // integral Ω makes exact ties in Ω as well as in size
            for (int i = 0; i < layers; i++) {
                p[i] = 1 + rnd.nextInt(t % 3 == 0 ? 4 : 5000); // small P: many equal sizes
                for (int j = 0; j < BITS.length; j++) {
                    omega[i][j] = integral ? rnd.nextInt(6) : rnd.nextDouble();
                }
            }
            List<ParetoPoint> dp = Pareto.frontier(p, BITS, omega).points();
            List<ParetoPoint> bf = bruteForce(p, omega);
            assertEquals(bf.size(), dp.size(), "instance " + t);
            for (int k = 0; k < dp.size(); k++) {
                ParetoPoint d = dp.get(k);
                assertEquals(bf.get(k).sizeBits(), d.sizeBits(), "instance " + t + " point " + k);
                assertEquals(bf.get(k).sensitivity(), d.sensitivity(), "instance " + t + " point " + k);
                // The back-pointers give an assignment that really has this size and Ω.
                long size = 0;
                double o = 0;
                for (int i = 0; i < layers; i++) {
                    int j = Arrays.binarySearch(BITS, d.bits()[i]);
                    size += p[i] * BITS[j];
                    o += omega[i][j];
                }
                assertEquals(d.sizeBits(), size);
                assertEquals(d.sensitivity(), o);
            }
        }
    }

    @Test
    void frontierIsMonotoneAndChooseRespectsTheTarget() {
        SplittableRandom rnd = new SplittableRandom(60);
        int layers = 60;
        long[] p = new long[layers];
        double[][] omega = new double[layers][];
        for (int i = 0; i < layers; i++) {
            p[i] = 500 + rnd.nextInt(2_400_000); // ResNet-like: from a few hundred to millions of weights
            double base = rnd.nextDouble() * 2;
            omega[i] = new double[] {base, base * 0.05 * rnd.nextDouble(), base * 1e-4 * rnd.nextDouble()};
        }
        Pareto.Frontier f = Pareto.frontier(p, BITS, omega);
        List<ParetoPoint> pts = f.points();
        assertFalse(f.thinned());
        assertTrue(pts.size() > 100 && pts.size() < Pareto.MAX_POINTS, "frontier has " + pts.size() + " points");
        for (int k = 1; k < pts.size(); k++) {
            assertTrue(pts.get(k).sizeBits() > pts.get(k - 1).sizeBits());
            assertTrue(pts.get(k).sensitivity() < pts.get(k - 1).sensitivity());
        }
        long total = Pareto.totalParameters(p);
        assertEquals(2 * total, pts.getFirst().sizeBits());
        assertEquals(8 * total, pts.getLast().sizeBits());
        for (double avg : new double[] {2, 3, 4, 4.5, 6, 8}) {
            long target = Pareto.targetForAverageBits(p, avg);
            ParetoPoint c = f.choose(target);
            assertTrue(c.sizeBits() <= target);
            // Nothing that fits is less sensitive.
            for (ParetoPoint q : pts) {
                assertTrue(q.sizeBits() > target || q.sensitivity() >= c.sensitivity());
            }
        }
    }

    @Test
    void thinningKeepsAchievablePointsAndSaysSo() {
        SplittableRandom rnd = new SplittableRandom(8);
        int layers = 20;
        long[] p = new long[layers];
        double[][] omega = new double[layers][];
        for (int i = 0; i < layers; i++) {
            p[i] = 1 + rnd.nextInt(100_000);
            omega[i] = new double[] {1 + rnd.nextDouble(), rnd.nextDouble() * 0.5, rnd.nextDouble() * 0.01};
        }
        Pareto.Frontier exact = Pareto.frontier(p, BITS, omega);
        Pareto.Frontier thin = Pareto.frontier(p, BITS, omega, 50);
        assertFalse(exact.thinned());
        assertTrue(thin.thinned());
        assertTrue(thin.points().size() <= 50 && thin.points().size() < exact.points().size());
        assertEquals(exact.points().getFirst(), thin.points().getFirst());
    }

    @Test
    void targetBelowTheSmallestSizeNamesTheMinimumInMegabytes() {
        // 1,000,000 parameters at 2 bits = 2,000,000 bits = 0.25 MB.
        Pareto.Frontier f = Pareto.frontier(new long[] {600_000, 400_000}, BITS, new double[][] {{3, 2, 1}, {3, 2, 1}});
        ZeroqException e = assertThrows(ZeroqException.class, () -> f.choose(Pareto.targetForSizeMb(0.10)));
        assertTrue(e.badInput());
        assertEquals("size target 0.10 MB is below the smallest possible 0.25 MB (every layer at 2 bits)", e.getMessage());
        ZeroqException close = assertThrows(ZeroqException.class, () -> f.choose(1_999_999));
        // Two decimals would print "0.25 is below 0.25": more digits until the numbers differ.
        assertEquals("size target 0.2499999 MB is below the smallest possible 0.2500000 MB (every layer at 2 bits)",
                close.getMessage());
        assertEquals(2_000_000, f.choose(2_000_000).sizeBits());
    }

    @Test
    void targets() {
        assertEquals(4_000_000, Pareto.targetForAverageBits(new long[] {250_000, 750_000}, 4));
        assertEquals(2_000_000, Pareto.targetForSizeMb(0.25));
        assertThrows(ZeroqException.class, () -> Pareto.targetForAverageBits(new long[] {1}, 1.5));
        assertThrows(ZeroqException.class, () -> Pareto.frontier(new long[] {1}, new int[] {4, 4}, new double[][] {{1, 2}}));
        assertThrows(ZeroqException.class, () -> Pareto.frontier(new long[] {1}, new int[] {4}, new double[][] {{Double.NaN}}));
    }
}
