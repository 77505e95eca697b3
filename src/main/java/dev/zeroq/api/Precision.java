// How an InferenceSession computes: plain float32, the plan's fake-quantization simulation, or the
// integer engine.
package dev.zeroq.api;

/**
 * The arithmetic of an {@link InferenceSession}.
 * Example: {@code SessionOptions.builder().precision(Precision.SIMULATED).plan(plan).build()}.
 */
public enum Precision {
    /** The model as exported, in float32. Needs no plan. */
    FP32,
    /**
     * Fake quantization in float: weights replaced by the values their codes stand for, quantized activations
     * rounded to their grid. Needs a {@link Plan} of either scheme; this is how zeroq measures a plan's accuracy.
     */
    SIMULATED,
    /**
     * The integer engine: uint8 activations, int8 weights, int32 accumulation. Needs a {@link Plan} of the
     * {@link Scheme#DEPLOY} scheme; runs on the CPU.
     */
    INT8
}
