package dev.zeroq.onnx;

import dev.zeroq.graph.Graph;
import dev.zeroq.quant.QuantPlan;

import java.util.List;

/**
 * An imported ONNX model: the graph in zeroq's IR plus what the file said about itself.
 *
 * @param opset    the ai.onnx opset version the model was exported with
 * @param producer producer name and version, e.g. "pytorch 2.5.1" (empty when the file has none)
 * @param warnings things that are not errors but deserve a look (NaN/Inf weights, untested opset), one line each
 * @param qdqPlan  for a QDQ model (QuantizeLinear/DequantizeLinear), the deploy plan it encodes, for the graph
 *                 with the weights dequantized; null for a float model
 */
public record OnnxModel(Graph graph, long opset, String producer, List<String> warnings, QuantPlan qdqPlan) {
    public OnnxModel {
        warnings = List.copyOf(warnings);
    }

    /** A float model (no QDQ plan). */
    public OnnxModel(Graph graph, long opset, String producer, List<String> warnings) {
        this(graph, opset, producer, warnings, null);
    }
}
