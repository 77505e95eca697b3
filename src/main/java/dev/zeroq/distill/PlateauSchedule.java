package dev.zeroq.distill;

/**
 * ReduceLROnPlateau as the official ZeroQ code uses it (ZEROQ.md §1): mode min, factor 0.1, patience 100,
 * relative threshold 1e-4, min lr 1e-4, stepped with the total loss every iteration. A loss counts as
 * better when it is below best·(1 − 1e-4); after more than {@code patience} iterations without a better
 * loss the rate drops tenfold (not below the minimum) and the count restarts.
 */
public final class PlateauSchedule {
    private static final double FACTOR = 0.1, THRESHOLD = 1e-4, MIN_LR = 1e-4, EPS = 1e-8;
    private static final int PATIENCE = 100;
    private double lr;
    private double best = Double.POSITIVE_INFINITY;
    private int bad;

    public PlateauSchedule(double lr) {
        this.lr = lr;
    }

    public double lr() {
        return lr;
    }

    public void step(double loss) {
        if (loss < best * (1 - THRESHOLD)) {
            best = loss;
            bad = 0;
        } else {
            bad++;
        }
        if (bad > PATIENCE) {
            double next = Math.max(lr * FACTOR, MIN_LR);
            if (lr - next > EPS) {
                lr = next;
            }
            bad = 0;
        }
    }
}
