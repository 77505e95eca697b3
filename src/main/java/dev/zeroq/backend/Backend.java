package dev.zeroq.backend;

import dev.zeroq.tensor.Tensor;

import java.util.List;

/**
 * The tensor ops every backend provides. {@code ref} implements each as plain loops and is the oracle;
 * faster backends are checked against it op by op. Inputs are never modified; every op returns a new tensor.
 * Images are NCHW float32.
 */
public interface Backend {

    /** Short name used on the command line and in logs: "ref", "cpu", "cuda:0". */
    String name();

    /** x (N, Cin, H, W), w (Cout, Cin/group, kh, kw), bias (Cout) or null → (N, Cout, outH, outW). */
    Tensor conv2d(Tensor x, Tensor w, Tensor bias, ConvSpec spec);

    /** Inference-mode BatchNormalization over axis 1: scale·(x − mean)/sqrt(var + eps) + bias. */
    Tensor batchNorm(Tensor x, Tensor scale, Tensor bias, Tensor mean, Tensor var, float eps);

    Tensor activation(Tensor x, Activation f);

    /** Numpy-broadcasting element-wise a (op) b. */
    Tensor binary(Tensor a, Tensor b, BinaryOp op);

    Tensor maxPool(Tensor x, PoolSpec spec);

    Tensor avgPool(Tensor x, PoolSpec spec);

    /** (N, C, H, W) → (N, C, 1, 1). */
    Tensor globalAvgPool(Tensor x);

    /** Mean over the given axes (already non-negative and sorted). */
    Tensor reduceMean(Tensor x, int[] axes, boolean keepDims);

    /** alpha·op(A)·op(B) + beta·C with A, B 2-D; C (nullable) broadcast to (M, N). */
    Tensor gemm(Tensor a, Tensor b, Tensor c, float alpha, float beta, boolean transA, boolean transB);

    /** Numpy matmul for rank ≥ 2 operands, batch dimensions broadcast. */
    Tensor matmul(Tensor a, Tensor b);

    Tensor concat(List<Tensor> xs, int axis);

    Tensor transpose(Tensor x, int[] perm);

    /** Per-axis slice with explicit, already clamped starts/ends and positive or negative steps. */
    Tensor slice(Tensor x, int[] starts, int[] ends, int[] axes, int[] steps);

    // ---- Backward (gradient with respect to the op's data input only; parameters stay fixed) ----

    /**
     * dL/dx of {@link #conv2d} given dL/dy. The default is a forward convolution of the stride-dilated
     * gradient with the spatially flipped, in/out-transposed weights, so it is as fast as this backend's
     * conv2d; {@code ref} overrides it with the plain scatter loops it is checked against.
     *
     * @param inputShape the shape of x, (N, Cin, H, W)
     */
    default Tensor conv2dBackwardData(Tensor gradOut, Tensor w, ConvSpec spec, int[] inputShape) {
        return Gradients.conv2dBackwardData(this, gradOut, w, spec, inputShape);
    }

    /** dL/dx of inference-mode BatchNorm: gradOut·scale/sqrt(var + eps) per channel. */
    default Tensor batchNormBackward(Tensor gradOut, Tensor scale, Tensor var, float eps) {
        return Gradients.batchNormBackward(gradOut, scale, var, eps);
    }

    /** gradOut·f'(x), element-wise. */
    default Tensor activationBackward(Tensor x, Tensor gradOut, Activation f) {
        return Gradients.activationBackward(x, gradOut, f);
    }

    /** Routes each output gradient to the first maximum of its window. */
    default Tensor maxPoolBackward(Tensor x, Tensor gradOut, PoolSpec spec) {
        return Gradients.maxPoolBackward(x, gradOut, spec);
    }

    default Tensor avgPoolBackward(Tensor gradOut, PoolSpec spec, int[] inputShape) {
        return Gradients.avgPoolBackward(gradOut, spec, inputShape);
    }

    /** Sums a broadcast gradient back to {@code shape} (the reverse of numpy broadcasting). */
    default Tensor sumToShape(Tensor grad, int[] shape) {
        return Gradients.sumToShape(grad, shape);
    }

    /** Writes a slice's gradient back into a zero tensor of the input's shape. */
    default Tensor sliceBackward(Tensor gradOut, int[] inputShape, int[] starts, int[] axes, int[] steps) {
        return Gradients.sliceBackward(gradOut, inputShape, starts, axes, steps);
    }

    /**
     * The ZeroQ BatchNorm-statistics loss of one tensor and its gradient (ZEROQ.md §1):
     * L = (1/N) Σ_n Σ_c [(μ_c − m[n,c])² + (σ_c − s[n,c])²], with m, s the per-image per-channel mean and
     * std (unbiased variance over H·W, plus eps under the root).
     */
    default BnStatLoss bnStatisticLoss(Tensor x, float[] mean, float[] std, float eps) {
        return Gradients.bnStatisticLoss(x, mean, std, eps);
    }

    /** A loss value and its gradient with respect to the tensor it was computed from. */
    record BnStatLoss(double loss, Tensor grad) {}

    enum BinaryOp {
        ADD, SUB, MUL, DIV;

        public float apply(float a, float b) {
            return switch (this) {
                case ADD -> a + b;
                case SUB -> a - b;
                case MUL -> a * b;
                case DIV -> a / b;
            };
        }
    }
}
