// Precise checks of the integer engine against the fake-quant simulation of the same plan: teacher-forced layer by
// layer (same input codes → same output codes except at rounding ties) and an end-to-end logit bound.
package dev.zeroq.int8;

import dev.zeroq.backend.Activation;
import dev.zeroq.backend.Backend;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.graph.Op;
import dev.zeroq.pipeline.Simulation;
import dev.zeroq.pipeline.WeightLayer;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.quant.SymmetricQuantizer.ActivationParams;
import dev.zeroq.tensor.Tensor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Shared by the fixture tests of every bundled model. */
public final class EngineVsSimulation {
    private EngineVsSimulation() {}

    /** |x/scale − (k + ½)| below this is a tie: float summation order may round it either way. */
    public static final double TIE = 1e-4;

    /**
     * One integer layer fed the simulation's own input codes.
     *
     * @param differ   output codes that differ from the simulation's
     * @param maxDiff  the largest |code difference|
     * @param nearTies output values within {@link #TIE} of a rounding boundary (in the simulation)
     * @param offTie   differing codes that are not at a near-tie: must be 0
     */
    public record Site(String layer, String value, int total, int differ, int maxDiff, int nearTies, int offTie) {}

    /** A layer that writes float (before a float op, or the logits): the largest |engine − simulation|. */
    public record FloatLayer(String layer, String value, double maxAbsDiff, double maxAbs) {}

    /**
     * Teacher forcing for the layers that write float: given the simulation's input codes, the engine's floats
     * differ from the simulation's only by float rounding (exact integer sums scaled once against float sums).
     */
    public static List<FloatLayer> teacherForcedFloat(IntegerModel engine, Simulation sim, Tensor x) {
        Simulation.Trace t = sim.trace(x);
        List<FloatLayer> out = new ArrayList<>();
        for (String layer : engine.integerLayerNames()) {
            if (engine.layerOutputQuantizer(layer) != null) continue;
            String v = engine.layerOutputValue(layer);
            float[] got = ((Tensor) engine.runLayer(layer, name -> t.passed().get(name))).data();
            float[] want = t.raw().get(v).data();
            double worst = 0, big = 0;
            for (int i = 0; i < want.length; i++) {
                worst = Math.max(worst, Math.abs(got[i] - want[i]));
                big = Math.max(big, Math.abs(want[i]));
            }
            out.add(new FloatLayer(layer, v, worst, big));
        }
        return out;
    }

    /**
     * Teacher forcing: every integer layer that writes codes is run alone on the simulation's values of its
     * inputs, and its codes are compared with the simulation's quantization of the same value. Layers that write
     * float (those feeding a float op or the output) are not counted here; the end-to-end bound covers them.
     */
    public static List<Site> teacherForced(IntegerModel engine, Simulation sim, Tensor x) {
        Simulation.Trace t = sim.trace(x);
        List<Site> out = new ArrayList<>();
        for (String layer : engine.integerLayerNames()) {
            ActivationParams q = engine.layerOutputQuantizer(layer);
            if (q == null) continue;
            String v = engine.layerOutputValue(layer);
            Codes got = (Codes) engine.runLayer(layer, name -> t.passed().get(name));
            float[] raw = t.raw().get(v).data();
            int differ = 0, maxDiff = 0, ties = 0, offTie = 0;
            for (int i = 0; i < raw.length; i++) {
                double u = (double) (raw[i] / q.scale()); // the float quotient the quantizer rounds
                boolean tie = Math.abs(u - Math.floor(u) - 0.5) < TIE;
                ties += tie ? 1 : 0;
                int d = Math.abs((got.q()[i] & 0xFF) - q.quantize(raw[i]));
                if (d != 0) {
                    differ++;
                    offTie += tie ? 0 : 1;
                }
                maxDiff = Math.max(maxDiff, d);
            }
            out.add(new Site(layer, v, raw.length, differ, maxDiff, ties, offTie));
        }
        return out;
    }

    /**
     * A bound on max |logit_engine − logit_simulation| if each quantization site may land one code away (an
     * interval argument in the max norm, δ(v) = max_i |engine_i − simulation_i| for every value v):
     * <ul>
     *   <li>the network input: δ = 0 (the same floats through the same quantizer);</li>
     *   <li>a Conv/Gemm with weights W (the dequantized weights both use): δ_out ≤ max_c Σ_k |W[c][k]|·δ_in;</li>
     *   <li>ReLU, Clip, max/average pooling, reshapes, concat: 1-Lipschitz in the max norm, δ_out ≤ max δ_in;</li>
     *   <li>Add: δ_out ≤ δ_a + δ_b;</li>
     *   <li>a quantization site with step s: |Q(a) − Q(b)| ≤ |a − b| + s (rounding moves each side by at most
     *       s/2; clamping is 1-Lipschitz), so δ ← δ + s: the one code flip.</li>
     * </ul>
     * It holds in exact arithmetic; both sides also round floats (~1e−7 relative), which the caller adds as slack.
     */
    public static double logitBound(Simulation sim, QuantPlan plan) {
        Graph g = sim.graph();
        Map<String, Float> siteStep = new HashMap<>();
        for (QuantPlan.Activation a : plan.activations()) siteStep.put(a.value(), a.scale());
        Map<String, Double> norm = new HashMap<>();
        for (WeightLayer l : WeightLayer.of(g)) {
            Tensor w = l.outputMajor(g);
            int rows = w.dim(0), per = w.size() / rows;
            double worst = 0;
            for (int c = 0; c < rows; c++) {
                double s = 0;
                for (int i = c * per; i < (c + 1) * per; i++) s += Math.abs(w.data()[i]);
                worst = Math.max(worst, s);
            }
            if (l.node().op() instanceof Op.Gemm gm) worst *= Math.abs(gm.alpha());
            norm.put(l.node().name(), worst);
        }
        Map<String, Double> delta = new HashMap<>();
        delta.put(g.inputName(), 0.0);
        for (Node n : g.nodes()) {
            double d;
            Double wn = norm.get(n.name());
            if (wn != null) {
                d = wn * delta.get(n.input(0));
            } else {
                d = switch (n.op()) {
                    case Op.Unary u when u.fn() instanceof Activation.Relu || u.fn() instanceof Activation.Clip -> in(g, n, delta, false);
                    case Op.Binary b when b.kind() == Backend.BinaryOp.ADD -> in(g, n, delta, true);
                    case Op.MaxPool p -> in(g, n, delta, false);
                    case Op.AveragePool p -> in(g, n, delta, false);
                    case Op.GlobalAveragePool p -> in(g, n, delta, false);
                    case Op.Flatten f -> in(g, n, delta, false);
                    case Op.Reshape r -> in(g, n, delta, false);
                    case Op.Identity i -> in(g, n, delta, false);
                    case Op.Concat c -> in(g, n, delta, false);
                    default -> throw new IllegalArgumentException("no Lipschitz rule for " + n.op().onnxType()
                            + " (node " + n.name() + "): add one to logitBound");
                };
            }
            for (String o : n.outputs()) {
                Float s = siteStep.get(o);
                delta.put(o, d + (s == null ? 0 : s));
            }
        }
        return delta.get(g.outputName());
    }

    /** max (or, for Add, the sum) of the inputs' δ; parameters are identical on both sides (δ = 0). */
    private static double in(Graph g, Node n, Map<String, Double> delta, boolean sum) {
        double d = 0;
        for (String v : n.inputs()) {
            if (v.isEmpty() || g.isParam(v)) continue;
            double dv = delta.get(v);
            d = sum ? d + dv : Math.max(d, dv);
        }
        return d;
    }

    /** Index of the largest of v[off, off + len), the first on ties. */
    public static int argmax(float[] v, int off, int len) {
        int best = 0;
        for (int i = 1; i < len; i++) if (v[off + i] > v[off + best]) best = i;
        return best;
    }
}
