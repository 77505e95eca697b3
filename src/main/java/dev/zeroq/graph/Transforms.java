package dev.zeroq.graph;

import dev.zeroq.tensor.Tensor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Graph rewrites that keep the function and change the structure (e.g. BatchNorm folding). */
public final class Transforms {
    private Transforms() {}

    /**
     * Folds each BatchNormalization into the Conv that feeds it, when that conv's output goes nowhere else:
     * W'[o] = W[o]·γ[o]/sqrt(var[o]+ε), b'[o] = (b[o] − μ[o])·γ[o]/sqrt(var[o]+ε) + β[o]. The conv takes the BN's
     * output name, so every reader of the BN now reads the folded conv. Other BatchNorms stay.
     */
    public static Graph foldBatchNorm(Graph g) {
        Map<String, Integer> readers = new HashMap<>();
        for (Node n : g.nodes()) {
            for (String in : n.inputs()) readers.merge(in, 1, Integer::sum);
        }
        Map<Node, Node> foldInto = new HashMap<>();
        for (Graph.BnPair p : g.bnPairs()) {
            if (readers.getOrDefault(p.conv().output(), 0) == 1 && !p.conv().output().equals(g.outputName())) {
                foldInto.put(p.conv(), p.bn());
            }
        }
        Map<String, Tensor> params = new LinkedHashMap<>(g.params());
        List<Node> nodes = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (foldInto.containsValue(n)) {
                continue;
            }
            Node bn = foldInto.get(n);
            if (bn == null) {
                nodes.add(n);
                continue;
            }
            Tensor w = g.param(n.input(1));
            Tensor b = n.inputs().size() > 2 && !n.input(2).isEmpty() ? g.param(n.input(2)) : null;
            float[] gamma = g.param(bn.input(1)).data(), beta = g.param(bn.input(2)).data();
            float[] mean = g.param(bn.input(3)).data(), var = g.param(bn.input(4)).data();
            float eps = ((Op.BatchNorm) bn.op()).epsilon();
            int cout = w.dim(0);
            int per = w.size() / cout;
            float[] wf = new float[w.size()];
            float[] bf = new float[cout];
            for (int o = 0; o < cout; o++) {
                double k = gamma[o] / Math.sqrt((double) var[o] + eps);
                for (int i = 0; i < per; i++) {
                    wf[o * per + i] = (float) (w.data()[o * per + i] * k);
                }
                bf[o] = (float) (((b == null ? 0 : b.data()[o]) - mean[o]) * k + beta[o]);
            }
            String wName = n.name() + "/folded_weight";
            String bName = n.name() + "/folded_bias";
            params.put(wName, new Tensor(wf, w.shape()));
            params.put(bName, new Tensor(bf, cout));
            nodes.add(new Node(n.name(), n.op(), List.of(n.input(0), wName, bName), List.of(bn.output())));
        }
        return new Graph(g.name(), g.inputName(), g.inputShape(), g.outputName(), nodes, unused(nodes, params));
    }

    /** Drops parameters that no node reads any more. */
    private static Map<String, Tensor> unused(List<Node> nodes, Map<String, Tensor> params) {
        Map<String, Tensor> kept = new LinkedHashMap<>();
        for (Node n : nodes) {
            for (String in : n.inputs()) {
                Tensor t = params.get(in);
                if (t != null) kept.put(in, t);
            }
        }
        return kept;
    }

    /** The same graph with some parameters replaced (e.g. by their fake-quantized values). */
    public static Graph withParams(Graph g, Map<String, Tensor> replacements) {
        Map<String, Tensor> params = new LinkedHashMap<>(g.params());
        params.putAll(replacements);
        return new Graph(g.name(), g.inputName(), g.inputShape(), g.outputName(), g.nodes(), params);
    }
}
