// The two quantization schemes a plan can follow (DESIGN.md "Quantization schemes").
package dev.zeroq.api;

/**
 * How a plan quantizes. Example: {@code QuantizeSettings.builder().scheme(Scheme.DEPLOY).build()} makes a
 * plan the {@link Precision#INT8} engine can run.
 */
public enum Scheme {
    /** As the official ZeroQ code: BatchNorm unfolded, per-channel asymmetric weights, activations after ReLU only. */
    PAPER,
    /** What int8 runtimes execute: BatchNorm folded, symmetric per-channel int8 weights, per-tensor activations. */
    DEPLOY
}
