package dev.zeroq.backend;

/**
 * Element-wise activations, as ONNX defines them. Each knows its scalar value so the {@code ref}
 * backend and the tests share one definition.
 */
public sealed interface Activation {
    float apply(float x);

    /**
     * dy/dx at x, with PyTorch's choice at the kinks (ReLU'(0) = 0, Clip' = 0 at its bounds) so that
     * distillation follows the same gradient as the official code.
     */
    float derivative(float x);

    /** max(x, 0). */
    record Relu() implements Activation {
        public float apply(float x) { return x > 0f ? x : 0f; }
        public float derivative(float x) { return x > 0f ? 1f : 0f; }
    }

    /** min(max(x, min), max); ReLU6 is Clip(0, 6). */
    record Clip(float min, float max) implements Activation {
        public float apply(float x) { return Math.min(Math.max(x, min), max); }
        public float derivative(float x) { return x > min && x < max ? 1f : 0f; }
    }

    /** x if x ≥ 0 else alpha·x. */
    record LeakyRelu(float alpha) implements Activation {
        public float apply(float x) { return x >= 0f ? x : alpha * x; }
        public float derivative(float x) { return x > 0f ? 1f : alpha; }
    }

    /** 1 / (1 + e^−x). */
    record Sigmoid() implements Activation {
        public float apply(float x) { return (float) (1.0 / (1.0 + Math.exp(-x))); }
        public float derivative(float x) {
            double s = 1.0 / (1.0 + Math.exp(-x));
            return (float) (s * (1 - s));
        }
    }

    /** max(0, min(1, alpha·x + beta)); ONNX defaults alpha 0.2, beta 0.5. */
    record HardSigmoid(float alpha, float beta) implements Activation {
        public float apply(float x) { return Math.max(0f, Math.min(1f, alpha * x + beta)); }
        public float derivative(float x) {
            float v = alpha * x + beta;
            return v > 0f && v < 1f ? alpha : 0f;
        }
    }

    /** x · max(0, min(1, x/6 + 1/2)). */
    record HardSwish() implements Activation {
        public float apply(float x) { return x * Math.max(0f, Math.min(1f, x / 6f + 0.5f)); }
        public float derivative(float x) { return x < -3f ? 0f : x <= 3f ? x / 3f + 0.5f : 1f; }
    }
}
