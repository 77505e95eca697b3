// How a quantization range is chosen from observed values: ZeroQ's true min/max, or one of the clipping
// remedies for low bit widths (ZEROQ.md §2, "known weaknesses").
package dev.zeroq.quant;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.zeroq.ZeroqException;

import java.util.Locale;

/** The range-selection method; see {@link Clipping#range} for the exact definitions. */
public enum ClipMethod {
    /** True min/max, as ZeroQ does. Never clips; collapses at 4 bits when there are outliers. */
    @JsonProperty("minmax") MINMAX,
    /** The 99.99th percentile of |x| (symmetric) or the 0.01th/99.99th percentiles (asymmetric). */
    @JsonProperty("percentile") PERCENTILE,
    /** The shrunk min/max range that minimizes the mean squared quantization error at the target bits. */
    @JsonProperty("mse") MSE;

    /** The command-line and JSON spelling: minmax, percentile, mse. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses minmax / percentile / mse (any case). */
    public static ClipMethod parse(String s) {
        for (ClipMethod m : values()) {
            if (m.cliName().equalsIgnoreCase(s.trim())) {
                return m;
            }
        }
        throw ZeroqException.badInput("unknown clip method '" + s + "'; use minmax, percentile or mse");
    }
}
