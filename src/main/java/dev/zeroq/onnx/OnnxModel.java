package dev.zeroq.onnx;

import dev.zeroq.graph.Graph;

import java.util.List;

/**
 * An imported ONNX model: the graph in zeroq's IR plus what the file said about itself.
 *
 * @param opset    the ai.onnx opset version the model was exported with
 * @param producer producer name and version, e.g. "pytorch 2.5.1" (empty when the file has none)
 * @param warnings things that are not errors but deserve a look (NaN/Inf weights, untested opset), one line each
 */
public record OnnxModel(Graph graph, long opset, String producer, List<String> warnings) {
    public OnnxModel {
        warnings = List.copyOf(warnings);
    }
}
