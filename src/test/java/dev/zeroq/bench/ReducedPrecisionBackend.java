package dev.zeroq.bench;

import dev.zeroq.backend.Activation;
import dev.zeroq.backend.Backend;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.PoolSpec;
import dev.zeroq.tensor.Tensor;

import java.util.List;

/**
 * A backend whose convolutions (forward and backward-data) and matrix products see their two operands rounded to a
 * shorter mantissa first, then run on {@code exact}: the CPU model of tensor-core math on FP32 data, where each
 * product of two rounded operands is exact in FP32 and the sums stay FP32 (only their order differs on a GPU). Every
 * other op runs on {@code exact} unchanged. For {@link ReducedPrecisionQualityBench}: what TF32 or BF16 convolutions
 * during distillation and sensitivity would do to the quantized model.
 */
final class ReducedPrecisionBackend implements Backend {
    /** The operand formats of the tensor-core paths: TF32 as the cvt.rna conversion zeroq's kernels use, BF16 as __float2bfloat16. */
    enum Format {
        /** 10-bit mantissa, round to nearest with ties away from zero (cvt.rna.tf32.f32). */
        TF32,
        /**
         * 10-bit mantissa, the low 13 bits dropped: what a tensor core computes from FP32 bits fed to it unconverted, as
         * library kernels may do (a bias toward zero of half a TF32 ulp on average).
         */
        TF32_TRUNCATED,
        /** 7-bit mantissa, round to nearest with ties to even. */
        BF16;

        float round(float x) {
            int b = Float.floatToRawIntBits(x);
            if ((b & 0x7f800000) == 0x7f800000) return x; // infinities and NaNs as they are
            return switch (this) {
                case TF32 -> Float.intBitsToFloat((b + 0x1000) & ~0x1fff); // magnitude + half an ulp, truncated
                case TF32_TRUNCATED -> Float.intBitsToFloat(b & ~0x1fff);
                case BF16 -> Float.intBitsToFloat((b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000);
            };
        }

        Tensor round(Tensor t) {
            if (t == null) return null;
            float[] d = t.data(), r = new float[d.length];
            for (int i = 0; i < d.length; i++) r[i] = round(d[i]);
            return new Tensor(r, t.shape());
        }
    }

    private final Backend exact;
    private final Format format;

    ReducedPrecisionBackend(Backend exact, Format format) {
        this.exact = exact;
        this.format = format;
    }

    @Override
    public String name() {
        return exact.name() + " with " + format + " convolutions";
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, ConvSpec spec) {
        return exact.conv2d(format.round(x), format.round(w), bias, spec);
    }

    @Override
    public Tensor conv2dBackwardData(Tensor gradOut, Tensor w, ConvSpec spec, int[] inputShape) {
        return exact.conv2dBackwardData(format.round(gradOut), format.round(w), spec, inputShape);
    }

    @Override
    public Tensor gemm(Tensor a, Tensor b, Tensor c, float alpha, float beta, boolean transA, boolean transB) {
        return exact.gemm(format.round(a), format.round(b), c, alpha, beta, transA, transB);
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        return exact.matmul(format.round(a), format.round(b));
    }

    // ---- the rest as exact computes it ----

    @Override
    public Tensor batchNorm(Tensor x, Tensor scale, Tensor bias, Tensor mean, Tensor var, float eps) {
        return exact.batchNorm(x, scale, bias, mean, var, eps);
    }

    @Override
    public Tensor activation(Tensor x, Activation f) {
        return exact.activation(x, f);
    }

    @Override
    public Tensor binary(Tensor a, Tensor b, BinaryOp op) {
        return exact.binary(a, b, op);
    }

    @Override
    public Tensor maxPool(Tensor x, PoolSpec spec) {
        return exact.maxPool(x, spec);
    }

    @Override
    public Tensor avgPool(Tensor x, PoolSpec spec) {
        return exact.avgPool(x, spec);
    }

    @Override
    public Tensor globalAvgPool(Tensor x) {
        return exact.globalAvgPool(x);
    }

    @Override
    public Tensor reduceMean(Tensor x, int[] axes, boolean keepDims) {
        return exact.reduceMean(x, axes, keepDims);
    }

    @Override
    public Tensor concat(List<Tensor> xs, int axis) {
        return exact.concat(xs, axis);
    }

    @Override
    public Tensor transpose(Tensor x, int[] perm) {
        return exact.transpose(x, perm);
    }

    @Override
    public Tensor slice(Tensor x, int[] starts, int[] ends, int[] axes, int[] steps) {
        return exact.slice(x, starts, ends, axes, steps);
    }

    @Override
    public Tensor batchNormBackward(Tensor gradOut, Tensor scale, Tensor var, float eps) {
        return exact.batchNormBackward(gradOut, scale, var, eps);
    }

    @Override
    public Tensor activationBackward(Tensor x, Tensor gradOut, Activation f) {
        return exact.activationBackward(x, gradOut, f);
    }

    @Override
    public Tensor maxPoolBackward(Tensor x, Tensor gradOut, PoolSpec spec) {
        return exact.maxPoolBackward(x, gradOut, spec);
    }

    @Override
    public Tensor avgPoolBackward(Tensor gradOut, PoolSpec spec, int[] inputShape) {
        return exact.avgPoolBackward(gradOut, spec, inputShape);
    }

    @Override
    public Tensor sumToShape(Tensor grad, int[] shape) {
        return exact.sumToShape(grad, shape);
    }

    @Override
    public Tensor sliceBackward(Tensor gradOut, int[] inputShape, int[] starts, int[] axes, int[] steps) {
        return exact.sliceBackward(gradOut, inputShape, starts, axes, steps);
    }

    @Override
    public BnStatLoss bnStatisticLoss(Tensor x, float[] mean, float[] std, float eps) {
        return exact.bnStatisticLoss(x, mean, std, eps);
    }
}
