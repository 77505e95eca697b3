package dev.zeroq.graph;

import dev.zeroq.backend.Activation;
import dev.zeroq.backend.Backend.BinaryOp;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.PoolSpec;

/**
 * What a node computes, with every attribute resolved at import (auto_pad, constant shapes, axes).
 * The IR is pure data: the {@link Executor} maps each op to a {@link dev.zeroq.backend.Backend} call and
 * {@link ShapeInference} gives its output shapes. Input order follows ONNX.
 */
public sealed interface Op {

    /** The ONNX op type this came from, for messages and export. */
    String onnxType();

    /** inputs: x, W, [B]. */
    record Conv(ConvSpec spec) implements Op {
        public String onnxType() { return "Conv"; }
    }

    /** inputs: x, scale, B, mean, var (inference mode). */
    record BatchNorm(float epsilon) implements Op {
        public String onnxType() { return "BatchNormalization"; }
    }

    /** Relu, Clip, LeakyRelu, Sigmoid, HardSigmoid, HardSwish. inputs: x. */
    record Unary(Activation fn) implements Op {
        public String onnxType() {
            return switch (fn) {
                case Activation.Relu r -> "Relu";
                case Activation.Clip c -> "Clip";
                case Activation.LeakyRelu l -> "LeakyRelu";
                case Activation.Sigmoid s -> "Sigmoid";
                case Activation.HardSigmoid h -> "HardSigmoid";
                case Activation.HardSwish h -> "HardSwish";
            };
        }
    }

    /** Add/Sub/Mul/Div with broadcasting. inputs: a, b. */
    record Binary(BinaryOp kind) implements Op {
        public String onnxType() {
            return switch (kind) {
                case ADD -> "Add";
                case SUB -> "Sub";
                case MUL -> "Mul";
                case DIV -> "Div";
            };
        }
    }

    record MaxPool(PoolSpec spec) implements Op {
        public String onnxType() { return "MaxPool"; }
    }

    record AveragePool(PoolSpec spec) implements Op {
        public String onnxType() { return "AveragePool"; }
    }

    record GlobalAveragePool() implements Op {
        public String onnxType() { return "GlobalAveragePool"; }
    }

    /** axes non-negative and sorted. */
    record ReduceMean(int[] axes, boolean keepDims) implements Op {
        public String onnxType() { return "ReduceMean"; }
    }

    /** (d0..dk-1, dk..) → (d0·..·dk-1, dk·..). */
    record Flatten(int axis) implements Op {
        public String onnxType() { return "Flatten"; }
    }

    /**
     * Target shape with ONNX semantics (0 copies the input dimension, −1 is inferred) plus {@link #BATCH},
     * which stands for the batch size at run time; it comes from folding Shape→Gather chains.
     */
    record Reshape(int[] shape) implements Op {
        public static final int BATCH = Integer.MIN_VALUE;

        public String onnxType() { return "Reshape"; }
    }

    record Transpose(int[] perm) implements Op {
        public String onnxType() { return "Transpose"; }
    }

    /** One output per entry of {@code sizes}, along {@code axis} (non-negative). */
    record Split(int axis, int[] sizes) implements Op {
        public String onnxType() { return "Split"; }
    }

    /** ONNX Slice with constant starts/ends/axes/steps (unclamped, as written in the model). */
    record Slice(long[] starts, long[] ends, int[] axes, long[] steps) implements Op {
        public String onnxType() { return "Slice"; }
    }

    /** axis non-negative. inputs: any number. */
    record Concat(int axis) implements Op {
        public String onnxType() { return "Concat"; }
    }

    /** inputs: A, B, [C]. */
    record Gemm(float alpha, float beta, boolean transA, boolean transB) implements Op {
        public String onnxType() { return "Gemm"; }
    }

    record MatMul() implements Op {
        public String onnxType() { return "MatMul"; }
    }

    /** Identity, and Dropout in inference. */
    record Identity() implements Op {
        public String onnxType() { return "Identity"; }
    }
}
