// A quantization plan as the public API shows it: a read-only view of the internal QuantPlan with file I/O
// and the check that ties a plan to the model it was made for.
package dev.zeroq.api;

import dev.zeroq.ZeroqException;
import dev.zeroq.quant.QuantPlan;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What {@link Zeroq#quantize} decided: per-layer bits and ranges, activation ranges, the settings and the
 * SHA-256 of the model it belongs to. Immutable; the same JSON file as {@code zeroq quantize --out}.
 *
 * <pre>{@code
 * Plan plan = Zeroq.quantize(model, QuantizeSettings.defaults());
 * plan.save(Path.of("model.plan.json"));
 * Plan again = Plan.load(Path.of("model.plan.json")).requireFor(model);
 * }</pre>
 */
public final class Plan {
    private final QuantPlan plan;

    Plan(QuantPlan plan) {
        this.plan = plan;
    }

    /**
     * Reads and validates a plan file (written by {@link #save} or by {@code zeroq quantize --out}).
     *
     * @throws ZeroqException with a one-line message when the file is missing, not JSON, or not a valid plan
     */
    public static Plan load(Path path) {
        return new Plan(QuantPlan.read(Objects.requireNonNull(path, "path")));
    }

    /** Parses plan JSON; {@code source} names it in error messages. Example: {@code Plan.fromJson(text, "db:42")}. */
    public static Plan fromJson(String json, String source) {
        Objects.requireNonNull(json, "json");
        return new Plan(QuantPlan.fromJson(json, source == null ? "plan" : source));
    }

    /** Writes the plan as JSON, atomically (a crash never leaves a half-written file under {@code path}). */
    public void save(Path path) {
        plan.write(Objects.requireNonNull(path, "path"));
    }

    /** The plan as pretty-printed JSON. */
    public String toJson() {
        return plan.toJson();
    }

    /** The scheme the plan follows. */
    public Scheme scheme() {
        return plan.scheme() == QuantPlan.Scheme.DEPLOY ? Scheme.DEPLOY : Scheme.PAPER;
    }

    /** The default weight bits (layers may differ under mixed precision; see {@link #layerBits()}). */
    public int weightBits() {
        return plan.weightBits();
    }

    /** Activation bits. */
    public int activationBits() {
        return plan.activationBits();
    }

    /** Bits of each quantized weight layer, by node name, in graph order. Example: {conv1=8, conv2=4, fc=8}. */
    public Map<String, Integer> layerBits() {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (QuantPlan.Layer l : plan.layers()) {
            m.put(l.node(), l.weightBits());
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    /** True when the bits were chosen per layer (mixed precision). */
    public boolean mixedPrecision() {
        return plan.mixedPrecision() != null;
    }

    /** SHA-256 of the model the plan was made for. */
    public String modelSha256() {
        return plan.model().sha256();
    }

    /** File name of the model the plan was made for. */
    public String modelName() {
        return plan.model().fileName();
    }

    /**
     * Returns this plan when it was made for {@code model} (same SHA-256), else fails with a message naming
     * both. Example: {@code Plan.load(p).requireFor(model)}.
     */
    public Plan requireFor(Model model) {
        plan.requireModel(model.sha256(), model.name());
        return this;
    }

    QuantPlan internal() {
        return plan;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Plan p && plan.equals(p.plan);
    }

    @Override
    public int hashCode() {
        return plan.hashCode();
    }

    @Override
    public String toString() {
        return "Plan[" + scheme().name().toLowerCase(java.util.Locale.ROOT) + ", W" + weightBits() + "A" + activationBits()
                + (mixedPrecision() ? " mixed" : "") + ", " + plan.layers().size() + " layers, for " + modelName() + "]";
    }
}
