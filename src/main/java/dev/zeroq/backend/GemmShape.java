package dev.zeroq.backend;

import dev.zeroq.tensor.Tensor;

/**
 * The geometry of an ONNX Gemm op(A)·op(B), shared by every backend: op(A) is (m, k), stored as A (m, k) or, with
 * transA, (k, m); op(B) is (k, n), stored as B (k, n) or, with transB, (n, k). Example: A (3, 4) with transA and B
 * (3, 5) give m 4, k 3, n 5.
 */
public record GemmShape(int m, int k, int n) {

    public static GemmShape of(Tensor a, Tensor b, boolean transA, boolean transB) {
        int m = transA ? a.dim(1) : a.dim(0);
        int k = transA ? a.dim(0) : a.dim(1);
        int kb = transB ? b.dim(1) : b.dim(0);
        int n = transB ? b.dim(0) : b.dim(1);
        if (k != kb) {
            throw new IllegalArgumentException("gemm: inner dimensions " + k + " and " + kb + " differ");
        }
        return new GemmShape(m, k, n);
    }
}
