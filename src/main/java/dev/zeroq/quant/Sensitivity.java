// The KL divergence between the FP32 model's and a quantized model's output distributions: ZeroQ's layer
// sensitivity Ω_i(k) (ZEROQ.md §3) averages it over the distilled batch.
package dev.zeroq.quant;

import java.util.Objects;

/** Sensitivity measures on logits. */
public final class Sensitivity {
    private Sensitivity() {}

    /**
     * Mean over rows of KL(softmax(p) ‖ softmax(q)), in double, with log-softmax by log-sum-exp so large
     * logits do not overflow. Rows are {@code classes} consecutive values; the result is ≥ 0 (rounding can
     * make a row a hair negative, which is clamped to 0).
     * <pre>  KL(P‖Q) = Σ_c P_c·(log P_c − log Q_c),   log P_c = p_c − log Σ_j exp(p_j)</pre>
     * Example, one row of 2 classes: p = (0, 0) → P = (½, ½); q = (0, ln 3) → Q = (¼, ¾);
     * KL = ½·ln(½/¼) + ½·ln(½/¾) = ½·ln(4/3) = 0.1438410. Identical logits give 0.
     *
     * @param logitsP reference logits (the FP32 model), rows × classes
     * @param logitsQ logits to compare (the quantized model), same shape
     */
    public static double klDivergence(float[] logitsP, float[] logitsQ, int classes) {
        Objects.requireNonNull(logitsP);
        Objects.requireNonNull(logitsQ);
        if (classes <= 0 || logitsP.length != logitsQ.length || logitsP.length % classes != 0 || logitsP.length == 0) {
            throw new IllegalArgumentException("logits of lengths " + logitsP.length + " and " + logitsQ.length
                    + " are not the same whole number of rows of " + classes + " classes");
        }
        int rows = logitsP.length / classes;
        double total = 0;
        for (int r = 0; r < rows; r++) {
            int off = r * classes;
            double lseP = logSumExp(logitsP, off, classes);
            double lseQ = logSumExp(logitsQ, off, classes);
            double kl = 0;
            for (int c = off; c < off + classes; c++) {
                double logP = logitsP[c] - lseP;
                double logQ = logitsQ[c] - lseQ;
                kl += Math.exp(logP) * (logP - logQ);
            }
            total += Math.max(0, kl);
        }
        return total / rows;
    }

    /** log Σ exp(x_i), shifted by the max so the largest term is exp(0) = 1. */
    static double logSumExp(float[] x, int from, int len) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = from; i < from + len; i++) {
            max = Math.max(max, x[i]);
        }
        if (!Double.isFinite(max)) {
            throw new IllegalArgumentException("logits are not finite (max " + max + ")");
        }
        double sum = 0;
        for (int i = from; i < from + len; i++) {
            sum += Math.exp(x[i] - max);
        }
        return max + Math.log(sum);
    }
}
