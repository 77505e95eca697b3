package dev.zeroq.backend;

/**
 * Element-wise activations, as ONNX defines them. Each knows its scalar value so the {@code ref}
 * backend and the tests share one definition.
 */
public sealed interface Activation {
    float apply(float x);

    /** max(x, 0). */
    record Relu() implements Activation {
        public float apply(float x) { return x > 0f ? x : 0f; }
    }

    /** min(max(x, min), max); ReLU6 is Clip(0, 6). */
    record Clip(float min, float max) implements Activation {
        public float apply(float x) { return Math.min(Math.max(x, min), max); }
    }

    /** x if x ≥ 0 else alpha·x. */
    record LeakyRelu(float alpha) implements Activation {
        public float apply(float x) { return x >= 0f ? x : alpha * x; }
    }

    /** 1 / (1 + e^−x). */
    record Sigmoid() implements Activation {
        public float apply(float x) { return (float) (1.0 / (1.0 + Math.exp(-x))); }
    }

    /** max(0, min(1, alpha·x + beta)); ONNX defaults alpha 0.2, beta 0.5. */
    record HardSigmoid(float alpha, float beta) implements Activation {
        public float apply(float x) { return Math.max(0f, Math.min(1f, alpha * x + beta)); }
    }

    /** x · max(0, min(1, x/6 + 1/2)). */
    record HardSwish() implements Activation {
        public float apply(float x) { return x * Math.max(0f, Math.min(1f, x / 6f + 0.5f)); }
    }
}
