// The nominal dense int8 tensor-core peak of a CUDA card, from what the driver reports (compute capability, SM
// count, SM clock) and a per-SM rate per architecture: the yardstick for the int8 engine's achieved TOPS.
package dev.zeroq.bench;

import java.util.Locale;

/**
 * Nominal peak = SMs × SM clock × dense int8 ops per clock per SM (one multiply-accumulate = 2 ops, no structured
 * sparsity). It is arithmetic, not a measurement: a card under load may clock lower, and the rate assumes the
 * architecture's fastest int8 instructions (on sm_90, wgmma; zeroq's kernels use mma.sync).
 *
 * <p>Example: an sm_90 card with 132 SMs at 1830 MHz: 132 · 1.83e9 · 8192 = 1979 TOPS, the H100 SXM datasheet figure.
 * The same card reporting 1980 MHz gives 2141 TOPS: the driver's clock, not the datasheet's, is what is used.
 */
public final class Int8Peak {
    private Int8Peak() {}

    /**
     * A nominal peak, or why there is none.
     *
     * @param tops  the nominal dense int8 peak in TOPS (10^12 ops/s), null when unknown
     * @param basis how it was computed ("132 SMs × 1980 MHz × 8192 dense int8 ops/clock/SM (sm_90)"), or the reason
     *              it is omitted
     */
    public record Nominal(Double tops, String basis) {
        public boolean known() {
            return tops != null;
        }
    }

    /**
     * Dense int8 tensor-core ops per clock per SM by compute capability (major·10 + minor), 0 when not on record.
     * Each figure is datasheet arithmetic, dense int8 TOPS / (SMs × boost clock), which lands within 0.1% of a power
     * of two, the figure kept:
     * <ul>
     *   <li>sm_80, A100: 624 TOPS / (108 SMs × 1410 MHz) = 4097.7 → 4096;</li>
     *   <li>sm_86, A40: 299.3 TOPS / (84 SMs × 1740 MHz) = 2047.8 → 2048;</li>
     *   <li>sm_89, L40S: 733 TOPS / (142 SMs × 2520 MHz) = 2048.4 → 2048;</li>
     *   <li>sm_90, H100 SXM: 1979 TOPS / (132 SMs × 1830 MHz) = 8192.6 → 8192 (H200: the same SMs and figure).</li>
     * </ul>
     */
    static int opsPerClockPerSm(int computeCapability) {
        return switch (computeCapability) {
            case 80 -> 4096;
            case 86, 89 -> 2048;
            case 90 -> 8192;
            default -> 0;
        };
    }

    /**
     * The nominal peak of a card. Example: {@code of(80, 108, 1_410_000)} → 623.7 TOPS, basis "108 SMs × 1410 MHz ×
     * 4096 dense int8 ops/clock/SM (sm_80)"; {@code of(100, 148, 1_965_000)} → unknown, naming the known archs.
     */
    public static Nominal of(int computeCapability, int multiprocessors, int clockKHz) {
        int perSm = opsPerClockPerSm(computeCapability);
        if (perSm == 0) {
            return new Nominal(null, "no dense int8 rate on record for sm_" + computeCapability
                    + " (known: sm_80, sm_86, sm_89, sm_90)");
        }
        if (multiprocessors <= 0 || clockKHz <= 0) {
            return new Nominal(null, "the driver reported " + multiprocessors + " SMs at " + clockKHz + " kHz");
        }
        double tops = multiprocessors * (clockKHz * 1e3) * perSm / 1e12;
        return new Nominal(tops, String.format(Locale.ROOT, "%d SMs × %d MHz × %d dense int8 ops/clock/SM (sm_%d)",
                multiprocessors, clockKHz / 1000, perSm, computeCapability));
    }
}
