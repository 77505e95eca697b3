// One point of the mixed-precision Pareto frontier (ZEROQ.md §3): a per-layer bit assignment with its
// weight size and total sensitivity.
package dev.zeroq.quant;

import java.util.Arrays;

/**
 * A bit assignment and what it costs. Example: two layers of 1000 and 3000 parameters at bits {8, 2}
 * → sizeBits = 8000 + 6000 = 14000, sensitivity = Ω_0(8) + Ω_1(2).
 *
 * @param sizeBits    Σ P_i·k_i: weight storage in bits (scales, zero points and biases not counted)
 * @param sensitivity Σ Ω_i(k_i), summed in layer order
 * @param bits        k_i per layer, in the order the layers were given
 */
public record ParetoPoint(long sizeBits, double sensitivity, int[] bits) {
    public ParetoPoint {
        bits = bits.clone();
    }

    @Override
    public int[] bits() {
        return bits.clone();
    }

    /** Average bits per weight, sizeBits / Σ P_i. Example: 14000 bits over 4000 parameters → 3.5. */
    public double averageBits(long totalParameters) {
        return totalParameters == 0 ? 0 : (double) sizeBits / totalParameters;
    }

    // Arrays by content, doubles bit for bit (Double.compare), as records do for plain components.
    @Override
    public boolean equals(Object o) {
        return o instanceof ParetoPoint p && sizeBits == p.sizeBits
                && Double.compare(sensitivity, p.sensitivity) == 0 && Arrays.equals(bits, p.bits);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Long.hashCode(sizeBits) + Double.hashCode(sensitivity)) + Arrays.hashCode(bits);
    }

    @Override
    public String toString() {
        return "ParetoPoint[sizeBits=" + sizeBits + ", sensitivity=" + sensitivity + ", bits=" + Arrays.toString(bits) + "]";
    }
}
