package dev.zeroq.onnx;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.zeroq.ZeroqException;
import dev.zeroq.onnx.proto.ModelProto;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Reads an ONNX file into zeroq's graph IR: one NCHW image input with a free batch size, one output, the
 * CNN ops of opsets 11–21, and the shape-computing subgraphs exporters emit folded into constants.
 * Every problem a user can fix is a {@link ZeroqException#badInput} with a one-line message.
 */
public final class OnnxImporter {
    private OnnxImporter() {}

    /** The ONNX op types zeroq imports, sorted; the last eight are only folded at import (constant inputs). */
    public static final List<String> SUPPORTED_OPS = List.of(
            "Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant", "ConstantOfShape",
            "Conv", "DequantizeLinear", "Div", "Dropout", "Flatten", "Gather", "Gemm", "GlobalAveragePool", "HardSigmoid", "HardSwish",
            "Identity", "LeakyRelu", "MatMul", "MaxPool", "Mul", "QuantizeLinear", "ReduceMean", "Relu", "Reshape", "Shape",
            "Sigmoid", "Slice", "Split", "Squeeze", "Sub", "Transpose", "Unsqueeze");

    public static OnnxModel load(Path path) {
        return parse(readModelFile(path), path.toString());
    }

    /** The bytes of a model file; a missing or unreadable file is the caller's bad input, named with its path. */
    public static byte[] readModelFile(Path path) {
        if (!Files.isRegularFile(path)) {
            throw ZeroqException.badInput("model file not found: " + path);
        }
        try {
            return Files.readAllBytes(path);
        } catch (IOException e) {
            throw ZeroqException.badInput("cannot read model file " + path + ": " + e.getMessage(), e);
        }
    }

    /** @param sourceName how to name the model in messages (usually its path) */
    public static OnnxModel parse(byte[] bytes, String sourceName) {
        ModelProto model;
        try {
            model = ModelProto.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw ZeroqException.badInput(sourceName + " is not an ONNX model (" + oneLine(e.getMessage()) + ")", e);
        }
        if (!model.hasGraph()) {
            throw ZeroqException.badInput(sourceName + " is not an ONNX model (it holds no graph)");
        }
        // The file's SHA-256 goes into the plan a QDQ model carries; a float model never needs it (about 0.25 s for a
        // 100 MB ResNet-50 when the JVM is cold), so it is computed only then.
        return new Converter(model, sourceName, () -> dev.zeroq.quant.QuantPlan.sha256(bytes)).convert();
    }

    static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s+", " ").trim();
    }
}
