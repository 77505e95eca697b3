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
