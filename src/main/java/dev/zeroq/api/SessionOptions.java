// Options of an InferenceSession: precision, the plan it needs, and the device. A frozen record validated on
// construction so a session never starts half-configured.
package dev.zeroq.api;

import dev.zeroq.ZeroqException;

import java.util.Objects;

/**
 * How a session computes. Default: FP32 on {@link Device#auto()}.
 *
 * <pre>{@code
 * SessionOptions fp32 = SessionOptions.defaults();
 * SessionOptions sim  = SessionOptions.builder().precision(Precision.SIMULATED).plan(plan).device(Device.cpu()).build();
 * SessionOptions int8 = SessionOptions.builder().precision(Precision.INT8).plan(deployPlan).build();
 * }</pre>
 *
 * @param precision FP32, SIMULATED (needs a plan) or INT8 (needs a deploy-scheme plan)
 * @param plan      the quantization plan, or null for FP32
 * @param device    where to run. INT8 on {@link Device#auto()} takes the CPU integer engine; INT8 on
 *                  {@link Device#cuda(int)} runs the device-resident integer engine (compute capability 8.0 or newer)
 */
public record SessionOptions(Precision precision, Plan plan, Device device) {
    public SessionOptions {
        if (precision == null) {
            throw ZeroqException.badInput("precision is required: Precision.FP32, SIMULATED or INT8");
        }
        if (device == null) {
            throw ZeroqException.badInput("device is required: Device.auto(), Device.cpu() or Device.cuda()");
        }
        switch (precision) {
            case FP32 -> {
                if (plan != null) {
                    throw ZeroqException.badInput("a plan is only used with Precision.SIMULATED or INT8; "
                            + "set the precision or drop the plan");
                }
            }
            case SIMULATED -> {
                if (plan == null) {
                    throw ZeroqException.badInput("Precision.SIMULATED needs a plan: plan(Zeroq.quantize(model, settings)) "
                            + "or plan(Plan.load(path))");
                }
            }
            case INT8 -> {
                if (plan == null) {
                    throw ZeroqException.badInput("Precision.INT8 needs a deploy-scheme plan: quantize with "
                            + "QuantizeSettings.builder().scheme(Scheme.DEPLOY)");
                }
                if (plan.scheme() != Scheme.DEPLOY) {
                    throw ZeroqException.badInput("Precision.INT8 needs a deploy-scheme plan, this one is "
                            + "paper-scheme: quantize with QuantizeSettings.builder().scheme(Scheme.DEPLOY), "
                            + "or use Precision.SIMULATED");
                }
            }
        }
    }

    /** FP32 on {@link Device#auto()}. */
    public static SessionOptions defaults() {
        return builder().build();
    }

    /** A builder starting from {@link #defaults()}. */
    public static Builder builder() {
        return new Builder();
    }

    /** Mutable builder; {@link #build()} validates. Not thread-safe. */
    public static final class Builder {
        private Precision precision = Precision.FP32;
        private Plan plan;
        private Device device = Device.auto();

        private Builder() {}

        /** Precision (default FP32). */
        public Builder precision(Precision v) { precision = v; return this; }

        /** The plan for SIMULATED or INT8. */
        public Builder plan(Plan v) { plan = v; return this; }

        /** Device (default auto). */
        public Builder device(Device v) { device = Objects.requireNonNull(v, "device"); return this; }

        /** The validated options. */
        public SessionOptions build() {
            return new SessionOptions(precision, plan, device);
        }
    }
}
