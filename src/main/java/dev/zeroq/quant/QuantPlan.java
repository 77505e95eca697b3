// The quantization plan: everything `zeroq quantize` decided (ranges, bits, settings, the model it belongs to),
// as a JSON file that `run`, `eval`, `bench` and the exporters apply. Validated on construction and on read.
package dev.zeroq.quant;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;
import dev.zeroq.ZeroqException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A quantization plan. Floats are written in their shortest round-trip form (Jackson uses
 * {@link Float#toString}), so a plan read back quantizes bit for bit like the one written. Optional parts
 * are null and left out of the JSON. Example (abridged):
 * <pre>
 * {"formatVersion":1, "model":{"sha256":"9f86d0…", "fileName":"resnet18.onnx"}, "scheme":"paper",
 *  "weightBits":8, "activationBits":8, "clip":"minmax", "calibration":"zeroq", "seed":42,
 *  "distillation":{"batch":32, "batches":1, "iterations":500, "init":"uniform"},
 *  "layers":[{"node":"conv1", "opType":"Conv", "weightBits":8, "parameterCount":9408,
 *             "min":[-0.71, …], "max":[0.83, …]}],
 *  "activations":[{"value":"relu1_out", "bits":8, "min":0.0, "max":6.25}]}
 * </pre>
 *
 * @param formatVersion  {@value #FORMAT_VERSION}
 * @param model          the model the plan was made for
 * @param scheme         paper (official ZeroQ simulation) or deploy (int8 runtime)
 * @param weightBits     the default weight bits (layers may differ under mixed precision)
 * @param activationBits activation bits
 * @param clip           how ranges were chosen
 * @param calibration    where calibration inputs came from
 * @param seed           the seed of every random source used
 * @param distillation   distillation settings; null when calibration is not zeroq
 * @param layers         one entry per quantized weight layer
 * @param activations    one entry per quantized activation value
 * @param mixedPrecision the mixed-precision choice; null for uniform bits
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record QuantPlan(
        @JsonProperty(required = true) int formatVersion,
        @JsonProperty(required = true) Model model,
        @JsonProperty(required = true) Scheme scheme,
        @JsonProperty(required = true) int weightBits,
        @JsonProperty(required = true) int activationBits,
        @JsonProperty(required = true) ClipMethod clip,
        @JsonProperty(required = true) Calibration calibration,
        @JsonProperty(required = true) long seed,
        Distillation distillation,
        @JsonProperty(required = true) List<Layer> layers,
        @JsonProperty(required = true) List<Activation> activations,
        MixedPrecision mixedPrecision) {

    /** The plan format this code writes and reads. */
    public static final int FORMAT_VERSION = 1;

    public QuantPlan {
        if (formatVersion != FORMAT_VERSION) {
            throw ZeroqException.badInput("plan format version " + formatVersion + " is not supported (this zeroq reads version "
                    + FORMAT_VERSION + "); re-run zeroq quantize");
        }
        required(model, "model");
        required(scheme, "scheme");
        checkBits(weightBits, "weightBits");
        checkBits(activationBits, "activationBits");
        required(clip, "clip");
        required(calibration, "calibration");
        layers = List.copyOf(required(layers, "layers"));
        activations = List.copyOf(required(activations, "activations"));
    }

    /** The quantization scheme (DESIGN.md). */
    public enum Scheme {
        /** The official ZeroQ code: BN unfolded, per-channel asymmetric weights, activations after ReLU only. */
        @JsonProperty("paper") PAPER,
        /** int8 runtimes: BN folded, symmetric per-channel weights, per-tensor activations, int32 bias. */
        @JsonProperty("deploy") DEPLOY
    }

    /** Where calibration inputs came from. */
    public enum Calibration {
        /** Distilled data (ZeroQ). */
        @JsonProperty("zeroq") ZEROQ,
        /** Random N(0, 1) inputs, the paper's baseline. */
        @JsonProperty("gaussian") GAUSSIAN,
        /** Real images given by the user. */
        @JsonProperty("data") DATA
    }

    /** How distillation starts (ZEROQ.md §1). */
    public enum Init {
        /** The official code: uniform integers 0..254, −127.5, /5418.75. */
        @JsonProperty("uniform") UNIFORM,
        /** The paper: N(0, 1). */
        @JsonProperty("gaussian") GAUSSIAN
    }

    /**
     * @param sha256   lowercase hex SHA-256 of the model file
     * @param fileName the model's file name, for messages
     */
    public record Model(@JsonProperty(required = true) String sha256, @JsonProperty(required = true) String fileName) {
        public Model {
            required(sha256, "model.sha256");
            required(fileName, "model.fileName");
            if (!sha256.matches("[0-9a-fA-F]{64}")) {
                throw ZeroqException.badInput("model.sha256 must be 64 hex digits, got '" + sha256 + "'");
            }
            sha256 = sha256.toLowerCase(Locale.ROOT);
        }
    }

    /** Distillation settings: images per batch, number of batches, Adam iterations, starting images. */
    public record Distillation(@JsonProperty(required = true) int batch, @JsonProperty(required = true) int batches,
                               @JsonProperty(required = true) int iterations, @JsonProperty(required = true) Init init) {
        public Distillation {
            if (batch < 1 || batches < 1 || iterations < 0) {
                throw ZeroqException.badInput("distillation needs batch >= 1, batches >= 1, iterations >= 0; got "
                        + batch + ", " + batches + ", " + iterations);
            }
            required(init, "distillation.init");
        }
    }

    /**
     * One weight layer. Paper scheme: per-channel {@code min}/{@code max} (the affine quantizer is rebuilt
     * from them bit-exactly). Deploy scheme: per-channel {@code scales} (symmetric, so no zero points);
     * {@code zeroPoints} for asymmetric integer weights if ever used. Absent arrays are null.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Layer(@JsonProperty(required = true) String node, @JsonProperty(required = true) String opType,
                        @JsonProperty(required = true) int weightBits, @JsonProperty(required = true) long parameterCount,
                        float[] min, float[] max, float[] scales, float[] zeroPoints) {
        public Layer {
            required(node, "layers[].node");
            String at = "layer " + node + ": ";
            required(opType, at + "opType");
            checkBits(weightBits, at + "weightBits");
            if (parameterCount < 0) {
                throw ZeroqException.badInput(at + "parameterCount is negative (" + parameterCount + ")");
            }
            if ((min == null) != (max == null)) {
                throw ZeroqException.badInput(at + "min and max must be given together");
            }
            if (min == null && scales == null) {
                throw ZeroqException.badInput(at + "has neither min/max ranges nor scales");
            }
            if (min != null) {
                sameLength(min, max, at + "min and max");
                finite(min, at + "min");
                finite(max, at + "max");
                for (int c = 0; c < min.length; c++) {
                    if (min[c] > max[c]) {
                        throw ZeroqException.badInput(at + "channel " + c + " has min " + min[c] + " > max " + max[c]);
                    }
                }
            }
            if (scales != null) {
                finite(scales, at + "scales");
                for (float s : scales) {
                    if (!(s > 0)) {
                        throw ZeroqException.badInput(at + "scales must be positive, got " + s);
                    }
                }
            }
            if (zeroPoints != null) {
                if (scales == null) {
                    throw ZeroqException.badInput(at + "zeroPoints without scales");
                }
                sameLength(scales, zeroPoints, at + "scales and zeroPoints");
                finite(zeroPoints, at + "zeroPoints");
            }
            if (min != null && scales != null) {
                sameLength(min, scales, at + "min and scales");
            }
        }

        // Arrays by content, floats bit for bit: what a plan round trip must preserve.
        @Override
        public boolean equals(Object o) {
            return o instanceof Layer l && node.equals(l.node) && opType.equals(l.opType) && weightBits == l.weightBits
                    && parameterCount == l.parameterCount && Arrays.equals(min, l.min) && Arrays.equals(max, l.max)
                    && Arrays.equals(scales, l.scales) && Arrays.equals(zeroPoints, l.zeroPoints);
        }

        @Override
        public int hashCode() {
            return Objects.hash(node, opType, weightBits, parameterCount, Arrays.hashCode(min), Arrays.hashCode(max),
                    Arrays.hashCode(scales), Arrays.hashCode(zeroPoints));
        }

        @Override
        public String toString() {
            return "Layer[" + node + " " + opType + " " + weightBits + " bits, " + parameterCount + " params, "
                    + (min != null ? min.length : scales.length) + " channels]";
        }
    }

    /**
     * One quantized activation value: its range, and for the deploy scheme the scale and zero point derived
     * from it (null in the paper scheme, which rebuilds the affine quantizer from min/max).
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Activation(@JsonProperty(required = true) String value, @JsonProperty(required = true) int bits,
                             @JsonProperty(required = true) float min, @JsonProperty(required = true) float max,
                             Float scale, Integer zeroPoint) {
        public Activation {
            required(value, "activations[].value");
            String at = "activation " + value + ": ";
            checkBits(bits, at + "bits");
            if (!Float.isFinite(min) || !Float.isFinite(max) || min > max) {
                throw ZeroqException.badInput(at + "range [" + min + ", " + max + "] must be finite with min <= max");
            }
            if (scale != null && (!(scale > 0) || !Float.isFinite(scale))) {
                throw ZeroqException.badInput(at + "scale must be positive and finite, got " + scale);
            }
            if (zeroPoint != null && (zeroPoint < -(1 << (bits - 1)) || zeroPoint > (1 << bits) - 1)) {
                throw ZeroqException.badInput(at + "zero point " + zeroPoint + " does not fit " + bits + " bits");
            }
        }
    }

    /**
     * The mixed-precision choice (ZEROQ.md §3). Sizes are weight bits, Σ P_i·k_i.
     *
     * @param bitChoices     the widths each layer could take, e.g. [2, 4, 8]
     * @param layerNodes     the layers in frontier order: bits()[i] of each point belongs to layerNodes[i]
     * @param targetSizeBits the size target
     * @param chosenSizeBits the size of the chosen point (≤ target)
     * @param frontier       the whole Pareto frontier, sorted by size
     * @param thinned        whether the frontier was thinned (see {@link Pareto.Frontier#thinned()})
     */
    public record MixedPrecision(@JsonProperty(required = true) List<Integer> bitChoices,
                                 @JsonProperty(required = true) List<String> layerNodes,
                                 @JsonProperty(required = true) long targetSizeBits,
                                 @JsonProperty(required = true) long chosenSizeBits,
                                 @JsonProperty(required = true) List<ParetoPoint> frontier,
                                 @JsonProperty(required = true) boolean thinned) {
        public MixedPrecision {
            bitChoices = List.copyOf(required(bitChoices, "mixedPrecision.bitChoices"));
            for (int b : bitChoices) {
                checkBits(b, "mixedPrecision.bitChoices");
            }
            layerNodes = List.copyOf(required(layerNodes, "mixedPrecision.layerNodes"));
            frontier = List.copyOf(required(frontier, "mixedPrecision.frontier"));
            if (chosenSizeBits > targetSizeBits) {
                throw ZeroqException.badInput("mixedPrecision: chosen size " + chosenSizeBits + " bits exceeds the target "
                        + targetSizeBits);
            }
            for (ParetoPoint p : frontier) {
                if (p.bits().length != layerNodes.size()) {
                    throw ZeroqException.badInput("mixedPrecision: a frontier point has " + p.bits().length
                            + " layer bits for " + layerNodes.size() + " layers");
                }
                for (int b : p.bits()) {
                    checkBits(b, "mixedPrecision.frontier[].bits");
                }
            }
        }
    }

    private static <T> T required(T v, String field) {
        if (v == null) {
            throw ZeroqException.badInput("missing field '" + field + "'");
        }
        return v;
    }

    private static void checkBits(int b, String field) {
        if (b < 2 || b > 8) {
            throw ZeroqException.badInput(field + " must be between 2 and 8, got " + b);
        }
    }

    private static void sameLength(float[] a, float[] b, String what) {
        if (a.length != b.length) {
            throw ZeroqException.badInput(what + " have different lengths (" + a.length + " vs " + b.length + ")");
        }
    }

    private static void finite(float[] a, String field) {
        for (int i = 0; i < a.length; i++) {
            if (!Float.isFinite(a[i])) {
                throw ZeroqException.badInput(field + "[" + i + "] is " + a[i] + "; ranges must be finite");
            }
        }
    }

    // ---------------------------------------------------------------- JSON

    /**
     * Strict on read: unknown fields, a number where an integer belongs, numbers given as strings, trailing
     * content and nulls for primitives are all errors, so a hand-edited plan fails loudly instead of
     * quantizing with a default.
     */
    private static final ObjectMapper JSON = mapper();

    private static ObjectMapper mapper() {
        ObjectMapper m = JsonMapper.builder()
                .enable(SerializationFeature.INDENT_OUTPUT)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
                .build();
        for (LogicalType t : new LogicalType[] {LogicalType.Integer, LogicalType.Float, LogicalType.Boolean}) {
            m.coercionConfigFor(t).setCoercion(CoercionInputShape.String, CoercionAction.Fail);
        }
        return m;
    }

    /** The plan as pretty-printed JSON. */
    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw ZeroqException.internal("cannot serialize plan: " + e.getOriginalMessage(), e);
        }
    }

    /** Parses a plan; {@code source} names it in error messages (a path, or "plan"). */
    public static QuantPlan fromJson(String json, String source) {
        if (json.isBlank()) {
            throw ZeroqException.badInput("plan " + source + " is empty; re-run zeroq quantize to make it");
        }
        try {
            return JSON.readValue(json, QuantPlan.class);
        } catch (JacksonException e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof ZeroqException z) {
                    throw ZeroqException.badInput("plan " + source + ": " + z.getMessage(), e);
                }
            }
            throw ZeroqException.badInput("plan " + source + " is not a valid zeroq plan: " + describe(e), e);
        }
    }

    /** One line: Jackson's own message without its source excerpt, plus where in the document. */
    private static String describe(JacksonException e) {
        String msg = e.getOriginalMessage();
        msg = msg == null ? e.getClass().getSimpleName() : msg.lines().findFirst().orElse("").strip();
        // Drop Jackson's internals (source excerpts, coercion hints, creator indexes): the user edits JSON.
        msg = msg.replaceAll(" ?\\(start marker at \\[Source: [^\\]]*\\]\\)", "")
                .replaceAll(" ?\\(but (might|could) if coercion[^)]*\\)", "")
                .replaceAll(" \\(index \\d+\\)", "")
                .replaceAll(" \\(class [\\w.$]+\\), not marked as ignorable", "");
        StringBuilder where = new StringBuilder();
        if (e instanceof JsonMappingException m) {
            for (JsonMappingException.Reference r : m.getPath()) {
                if (r.getFieldName() != null) {
                    where.append(where.isEmpty() ? "" : ".").append(r.getFieldName());
                } else if (r.getIndex() >= 0) {
                    where.append('[').append(r.getIndex()).append(']');
                }
            }
        }
        var loc = e.getLocation();
        String line = loc != null && loc.getLineNr() > 0 ? " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")" : "";
        return msg + (where.isEmpty() ? "" : " at " + where) + line;
    }

    /** Reads and validates a plan file; any problem is a one-line bad-input error naming the file. */
    public static QuantPlan read(Path path) {
        String json;
        try {
            json = Files.readString(path);
        } catch (IOException e) {
            throw ZeroqException.badInput("cannot read plan " + path + ": " + e.getMessage(), e);
        }
        return fromJson(json, path.toString());
    }

    /**
     * Writes the plan atomically: to a temporary file beside the target, then moved over it, so a crash or a
     * full disk never leaves a half-written plan where a good one was.
     */
    public void write(Path path) {
        String json = toJson() + "\n";
        dev.zeroq.io.AtomicFiles.write(path, "plan", tmp -> Files.writeString(tmp, json));
    }

    // ---------------------------------------------------------------- model identity

    /** Lowercase hex SHA-256. Example: the bytes of "abc" → ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad. */
    public static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(digest().digest(bytes));
    }

    /**
     * {@link #sha256(Path)} computed on another thread from now on; the supplier waits for it (and rethrows its
     * failure as thrown), so the hash of a large model overlaps the work before the plan needs it.
     */
    public static java.util.function.Supplier<String> sha256Async(Path file) {
        java.util.concurrent.CompletableFuture<String> f =
                java.util.concurrent.CompletableFuture.supplyAsync(() -> sha256(file));
        return () -> {
            try {
                return f.join();
            } catch (java.util.concurrent.CompletionException e) {
                if (e.getCause() instanceof RuntimeException r) throw r;
                if (e.getCause() instanceof Error err) throw err;
                throw e;
            }
        };
    }

    /** Lowercase hex SHA-256 of a file, streamed. */
    public static String sha256(Path file) {
        MessageDigest d = digest();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                d.update(buf, 0, n);
            }
        } catch (IOException e) {
            throw ZeroqException.badInput("cannot read model " + file + ": " + e.getMessage(), e);
        }
        return HexFormat.of().formatHex(d.digest());
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw ZeroqException.internal("this JVM has no SHA-256", e);
        }
    }

    /** {@link #requireModel(String, String)} naming the model "the model". */
    public void requireModel(String modelSha256) {
        requireModel(modelSha256, "the model");
    }

    /**
     * Fails unless the plan was made for the model with this SHA-256: "plan for resnet18.onnx was made for
     * model SHA-256 9f86d081884c… but other.onnx has 60303ae22b99…; re-run zeroq quantize on this model".
     */
    public void requireModel(String modelSha256, String modelName) {
        if (!model.sha256().equalsIgnoreCase(modelSha256)) {
            throw ZeroqException.badInput("plan for " + model.fileName() + " was made for model SHA-256 "
                    + abbreviate(model.sha256()) + " but " + modelName + " has " + abbreviate(modelSha256)
                    + "; re-run zeroq quantize on this model");
        }
    }

    private static String abbreviate(String hex) {
        return hex.length() > 12 ? hex.substring(0, 12).toLowerCase(Locale.ROOT) + "…" : hex;
    }
}
