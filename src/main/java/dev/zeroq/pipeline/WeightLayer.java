package dev.zeroq.pipeline;

import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.graph.Op;
import dev.zeroq.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * A layer whose weights get quantized: a Conv, or a Gemm/MatMul whose second operand is a parameter.
 * Weights are quantized per output channel; for Gemm without transB and for MatMul the output channel is
 * the weight's second dimension, so those are handled through a transposed view.
 *
 * @param node       the node
 * @param weight     name of the weight parameter
 * @param bias       name of the bias parameter, or null
 * @param outputMajor whether the weight is already (out, …): Conv, Gemm with transB
 */
public record WeightLayer(Node node, String weight, String bias, boolean outputMajor) {

    /** Every quantizable weight layer of a graph, in order. */
    public static List<WeightLayer> of(Graph g) {
        List<WeightLayer> out = new ArrayList<>();
        for (Node n : g.nodes()) {
            switch (n.op()) {
                case Op.Conv c -> out.add(new WeightLayer(n, n.input(1), optional(g, n, 2), true));
                case Op.Gemm gm when g.isParam(n.input(1)) && !gm.transA() && g.param(n.input(1)).rank() == 2 ->
                        out.add(new WeightLayer(n, n.input(1), optional(g, n, 2), gm.transB()));
                case Op.MatMul m when g.isParam(n.input(1)) && g.param(n.input(1)).rank() == 2 ->
                        out.add(new WeightLayer(n, n.input(1), null, false));
                default -> { }
            }
        }
        return out;
    }

    private static String optional(Graph g, Node n, int i) {
        return n.inputs().size() > i && !n.input(i).isEmpty() && g.isParam(n.input(i)) ? n.input(i) : null;
    }

    public String name() {
        return node.name();
    }

    public long parameters(Graph g) {
        return g.param(weight).size();
    }

    /** The weight as (out, in…) — a transposed copy when stored as (in, out). */
    public Tensor outputMajor(Graph g) {
        Tensor w = g.param(weight);
        return outputMajor ? w : transpose2d(w);
    }

    /** Back from (out, in) to the stored layout. */
    public Tensor stored(Tensor outMajor) {
        return outputMajor ? outMajor : transpose2d(outMajor);
    }

    static Tensor transpose2d(Tensor w) {
        int r = w.dim(0), c = w.dim(1);
        float[] t = new float[w.size()];
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < c; j++) {
                t[j * r + i] = w.data()[i * c + j];
            }
        }
        return new Tensor(t, c, r);
    }
}
