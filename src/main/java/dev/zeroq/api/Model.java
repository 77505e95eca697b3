// A loaded ONNX model as the public API shows it: identity and shapes, with zeroq's graph kept private.
package dev.zeroq.api;

import dev.zeroq.ZeroqException;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.ShapeInference;
import dev.zeroq.io.Bundled;
import dev.zeroq.onnx.OnnxImporter;
import dev.zeroq.onnx.OnnxModel;
import dev.zeroq.quant.QuantPlan;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * An imported ONNX CNN: one float32 (N, C, H, W) input with a free batch size, one output. Immutable and
 * safe to share between threads; open any number of {@link InferenceSession}s on it.
 *
 * <pre>{@code
 * Model m = Model.load(Path.of("resnet.onnx"));
 * m.inputShape();     // (1, 28, 28)
 * m.outputSize();     // 10 logits per image
 * m.sha256();         // what a Plan records, to refuse being used with another model
 * }</pre>
 */
public final class Model {
    private final String name;
    private final String sha256;
    private final Graph graph;
    private final ImageShape inputShape;
    private final int outputSize;
    private final List<String> warnings;

    private Model(String name, byte[] bytes) {
        OnnxModel m = OnnxImporter.parse(bytes, name);
        this.name = name;
        this.sha256 = QuantPlan.sha256(bytes);
        this.graph = m.graph();
        int[] chw = graph.inputShape();
        this.inputShape = new ImageShape(chw[0], chw[1], chw[2]);
        // The output's size per image, from shapes at batch 1 (the batch is the leading dimension).
        int[] out = ShapeInference.infer(graph, 1).get(graph.outputName());
        long n = 1;
        for (int d : out) {
            n *= d;
        }
        if (out.length == 0 || out[0] != 1 || n < 1 || n > Integer.MAX_VALUE) {
            throw ZeroqException.badInput(name + " has output shape " + java.util.Arrays.toString(out)
                    + " at batch 1; zeroq needs an output whose first dimension is the batch");
        }
        this.outputSize = (int) n;
        this.warnings = m.warnings();
    }

    /**
     * Imports an ONNX file. Example: {@code Model.load(Path.of("model.onnx")).name()} is {@code "model.onnx"}.
     *
     * @throws ZeroqException when the file is missing, unreadable, not ONNX, or uses ops zeroq does not support
     */
    public static Model load(Path path) {
        Objects.requireNonNull(path, "path");
        byte[] bytes = OnnxImporter.readModelFile(path);
        Path file = path.getFileName();
        return new Model(file == null ? path.toString() : file.toString(), bytes);
    }

    /**
     * Imports ONNX bytes, e.g. read from a database or a resource.
     * Example: {@code Model.fromBytes(Files.readAllBytes(p), "resnet.onnx")}.
     *
     * @param name how to name the model in messages and plans (usually its file name)
     */
    public static Model fromBytes(byte[] onnx, String name) {
        Objects.requireNonNull(onnx, "onnx");
        if (name == null || name.isBlank()) {
            throw ZeroqException.badInput("a model needs a name for messages and plans, e.g. \"model.onnx\"");
        }
        return new Model(name, onnx.clone());
    }

    /**
     * A fixture model shipped in the jar, for demos and tests: {@code "resnet_fmnist"} (a small ResNet-style
     * Fashion-MNIST classifier, input (1, 28, 28), 10 logits; normalize pixels as (p/255 − 0.2860) / 0.3530).
     */
    public static Model bundled(String name) {
        return new Model(name + ".onnx", Bundled.model(name));
    }

    /** The model's name (file name, or the name given to {@link #fromBytes}). */
    public String name() {
        return name;
    }

    /** The shape of one input image. */
    public ImageShape inputShape() {
        return inputShape;
    }

    /** Output floats per image (e.g. 10 logits). */
    public int outputSize() {
        return outputSize;
    }

    /** Number of parameters (weights, biases, BatchNorm statistics) the model holds. */
    public long parameterCount() {
        return graph.parameterCount();
    }

    /** Lowercase hex SHA-256 of the ONNX bytes; plans record it. */
    public String sha256() {
        return sha256;
    }

    /** Things that are not errors but deserve a look (NaN weights, an untested opset), one line each. */
    public List<String> warnings() {
        return warnings;
    }

    /**
     * Opens an inference session. Example:
     * {@code try (var s = model.session(SessionOptions.defaults())) { float[] y = s.run(x, 1); }}
     */
    public InferenceSession session(SessionOptions options) {
        return new InferenceSession(this, Objects.requireNonNull(options, "options"));
    }

    /** The internal graph, for the other API classes only. */
    Graph graph() {
        return graph;
    }

    @Override
    public String toString() {
        return "Model[" + name + ", input " + inputShape + ", output " + outputSize + ", " + parameterCount()
                + " parameters, sha256 " + sha256.substring(0, 12) + "…]";
    }
}
