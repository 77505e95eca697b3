package dev.zeroq.graph;

import dev.zeroq.ZeroqException;
import dev.zeroq.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The model as zeroq sees it: one image input (N, C, H, W) with a free batch size, one output, nodes in
 * topological order, and the parameters (ONNX initializers and folded constants), each held once.
 * Immutable; transformations build a new graph.
 */
public final class Graph {
    private final String name;
    private final String inputName;
    private final int[] inputShape;
    private final String outputName;
    private final List<Node> nodes;
    private final Map<String, Tensor> params;
    private final List<BnPair> bnPairs;
    private final Map<String, Integer> firstReaders; // parameter → index of the first node that reads it

    /** A BatchNormalization node and the Conv that produces its input (linked by edge, not position). */
    public record BnPair(Node conv, Node bn) {}

    /**
     * @param inputShape (C, H, W) of one image; the batch dimension is free
     */
    public Graph(String name, String inputName, int[] inputShape, String outputName, List<Node> nodes,
                 Map<String, Tensor> params) {
        if (inputShape.length != 3) {
            throw new IllegalArgumentException("input shape must be (C, H, W), got " + Arrays.toString(inputShape));
        }
        this.name = name;
        this.inputName = inputName;
        this.inputShape = inputShape.clone();
        this.outputName = outputName;
        this.nodes = List.copyOf(nodes);
        this.params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
        checkTopological();
        this.bnPairs = pairBatchNorms();
        Map<String, Integer> first = new HashMap<>();
        for (int i = this.nodes.size() - 1; i >= 0; i--) {
            for (String in : this.nodes.get(i).inputs()) if (this.params.containsKey(in)) first.put(in, i);
        }
        this.firstReaders = Collections.unmodifiableMap(first);
    }

    private void checkTopological() {
        Set<String> known = new HashSet<>(params.keySet());
        known.add(inputName);
        for (Node n : nodes) {
            for (String in : n.inputs()) {
                if (!in.isEmpty() && !known.contains(in)) {
                    throw ZeroqException.badInput("node '" + n.name() + "' (" + n.op().onnxType() + ") reads '" + in
                            + "', which is neither an initializer nor produced earlier; the model is malformed");
                }
            }
            known.addAll(n.outputs());
        }
        if (!known.contains(outputName)) {
            throw ZeroqException.badInput("graph output '" + outputName + "' is produced by no node");
        }
    }

    private List<BnPair> pairBatchNorms() {
        Map<String, Node> producer = new HashMap<>();
        for (Node n : nodes) {
            for (String out : n.outputs()) {
                producer.put(out, n);
            }
        }
        List<BnPair> pairs = new ArrayList<>();
        for (Node n : nodes) {
            if (n.op() instanceof Op.BatchNorm) {
                Node p = producer.get(n.input(0));
                if (p != null && p.op() instanceof Op.Conv) {
                    pairs.add(new BnPair(p, n));
                }
            }
        }
        return List.copyOf(pairs);
    }

    public String name() { return name; }
    public String inputName() { return inputName; }
    /** (C, H, W). */
    public int[] inputShape() { return inputShape.clone(); }
    public String outputName() { return outputName; }
    public List<Node> nodes() { return nodes; }
    public Map<String, Tensor> params() { return params; }

    public Tensor param(String name) {
        return params.get(name);
    }

    public boolean isParam(String value) {
        return params.containsKey(value);
    }

    /** Every BatchNormalization whose input comes straight from a Conv, in graph order. */
    public List<BnPair> bnPairs() { return bnPairs; }

    /**
     * Each parameter some node reads, mapped to the index of the first such node: where a forward pass that reuses
     * the values of an earlier one must start again once that parameter changes.
     */
    public Map<String, Integer> firstReaders() { return firstReaders; }

    /** Nodes of the given op class, in order. */
    public <T extends Op> List<Node> nodesOf(Class<T> type) {
        return nodes.stream().filter(n -> type.isInstance(n.op())).toList();
    }

    public long parameterCount() {
        long n = 0;
        for (Tensor t : params.values()) {
            n += t.size();
        }
        return n;
    }
}
