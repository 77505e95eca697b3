package dev.zeroq.graph;

import dev.zeroq.backend.Backend;
import dev.zeroq.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Forward then backward through a graph, for the gradient of a loss with respect to the network input
 * only (parameters stay fixed). The loss is a sum of terms, each attached to a value ("tap") and computed
 * as soon as that value exists; only the nodes that lead to a tap run, and only the forward values some
 * backward step needs are kept, each dropped once used.
 */
public final class Backprop {
    private final Graph graph;
    private final Backend backend;
    private final Executor forward;

    /** A loss term on one value: returns the term and its gradient with respect to that value. */
    @FunctionalInterface
    public interface Tap {
        Backend.BnStatLoss apply(Tensor value);
    }

    /** The summed loss and dL/d(input). */
    public record Result(double loss, Tensor inputGrad) {}

    public Backprop(Graph graph, Backend backend) {
        this.graph = graph;
        this.backend = backend;
        this.forward = new Executor(graph, backend);
    }

    public Result run(Tensor input, Map<String, Tap> taps) {
        forward.checkInput(input);
        int batch = input.dim(0);
        List<Node> nodes = neededNodes(taps.keySet());
        Set<String> keep = valuesKeptForBackward(nodes);
        Map<String, Tensor> env = new HashMap<>();
        Map<String, int[]> shapes = new HashMap<>();
        Map<String, Tensor> grads = new HashMap<>();
        Map<String, Integer> lastUse = new HashMap<>();
        Map<String, Integer> firstUse = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            for (String in : nodes.get(i).inputs()) {
                lastUse.put(in, i);
                firstUse.putIfAbsent(in, i);
            }
        }
        double loss = 0;
        env.put(graph.inputName(), input);
        shapes.put(graph.inputName(), input.shape());
        if (taps.containsKey(graph.inputName())) {
            Backend.BnStatLoss t = taps.get(graph.inputName()).apply(input);
            loss += t.loss();
            accumulate(grads, graph.inputName(), t.grad());
        }
        Map<String, Tensor> kept = new HashMap<>();
        if (keep.contains(graph.inputName())) kept.put(graph.inputName(), input);
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            Tensor[] out = forward.forward(n.op(), values(n, env), batch);
            for (int j = 0; j < out.length; j++) {
                String name = n.outputs().get(j);
                env.put(name, out[j]);
                shapes.put(name, out[j].shape());
                if (keep.contains(name)) kept.put(name, out[j]);
                Tap tap = taps.get(name);
                if (tap != null) {
                    Backend.BnStatLoss t = tap.apply(out[j]);
                    loss += t.loss();
                    accumulate(grads, name, t.grad());
                }
            }
            for (String in : n.inputs()) {
                if (lastUse.getOrDefault(in, -1) == i) env.remove(in);
            }
        }
        env.clear();
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Node n = nodes.get(i);
            Tensor[] gOut = new Tensor[n.outputs().size()];
            boolean any = false;
            for (int j = 0; j < gOut.length; j++) {
                gOut[j] = grads.remove(n.outputs().get(j));
                any |= gOut[j] != null;
            }
            if (!any) continue;
            for (int j = 0; j < gOut.length; j++) {
                if (gOut[j] == null) gOut[j] = Tensor.zeros(shapes.get(n.outputs().get(j)));
            }
            Tensor[] gIn = backward(n, gOut, kept, shapes);
            for (int j = 0; j < gIn.length; j++) {
                String in = n.input(j);
                if (gIn[j] != null && !in.isEmpty() && !graph.isParam(in)) {
                    accumulate(grads, in, gIn[j]);
                }
            }
            for (String in : n.inputs()) {
                // A kept value is needed only by its consumers' backward; once the earliest has run, drop it.
                if (firstUse.get(in) == i) kept.remove(in);
            }
        }
        Tensor g = grads.get(graph.inputName());
        return new Result(loss, g != null ? g : Tensor.zeros(input.shape()));
    }

    private Tensor[] values(Node n, Map<String, Tensor> env) {
        Tensor[] in = new Tensor[n.inputs().size()];
        for (int j = 0; j < in.length; j++) {
            String name = n.input(j);
            if (name.isEmpty()) continue;
            Tensor t = env.get(name);
            in[j] = t != null ? t : graph.param(name);
        }
        return in;
    }

    private void accumulate(Map<String, Tensor> grads, String name, Tensor g) {
        Tensor prev = grads.get(name);
        grads.put(name, prev == null ? g : backend.binary(prev, g, Backend.BinaryOp.ADD));
    }

    /** The nodes some tap depends on, in graph order. */
    private List<Node> neededNodes(Set<String> tapValues) {
        Map<String, Node> producer = new HashMap<>();
        for (Node n : graph.nodes()) {
            for (String o : n.outputs()) producer.put(o, n);
        }
        Set<Node> needed = new HashSet<>();
        List<String> todo = new ArrayList<>(tapValues);
        while (!todo.isEmpty()) {
            Node p = producer.get(todo.removeLast());
            if (p != null && needed.add(p)) {
                todo.addAll(p.inputs());
            }
        }
        return graph.nodes().stream().filter(needed::contains).toList();
    }

    /** Forward values that a backward step reads (data-dependent gradients), by op. */
    private Set<String> valuesKeptForBackward(List<Node> nodes) {
        Set<String> keep = new HashSet<>();
        for (Node n : nodes) {
            switch (n.op()) {
                case Op.Unary u -> keep.add(n.input(0));
                case Op.MaxPool p -> keep.add(n.input(0));
                case Op.Binary b when b.kind() == Backend.BinaryOp.MUL || b.kind() == Backend.BinaryOp.DIV -> {
                    keep.add(n.input(0));
                    keep.add(n.input(1));
                }
                case Op.MatMul m -> keep.add(n.input(1));
                case Op.Gemm g -> keep.add(n.input(1));
                default -> { }
            }
        }
        return keep;
    }

    private Tensor value(String name, Map<String, Tensor> kept) {
        Tensor t = kept.get(name);
        return t != null ? t : graph.param(name);
    }

    /** Input gradients of one node (null where an input gets none). */
    private Tensor[] backward(Node n, Tensor[] g, Map<String, Tensor> kept, Map<String, int[]> shapes) {
        Backend b = backend;
        int[] inShape = shapes.getOrDefault(n.input(0), graph.isParam(n.input(0)) ? graph.param(n.input(0)).shape() : null);
        return switch (n.op()) {
            case Op.Conv c -> one(b.conv2dBackwardData(g[0], graph.param(n.input(1)), c.spec(), inShape));
            case Op.BatchNorm bn -> one(b.batchNormBackward(g[0], graph.param(n.input(1)), graph.param(n.input(4)), bn.epsilon()));
            case Op.Unary u -> one(b.activationBackward(kept.get(n.input(0)), g[0], u.fn()));
            case Op.Binary bin -> {
                int[] sa = shapeOf(n.input(0), shapes);
                int[] sb = shapeOf(n.input(1), shapes);
                yield switch (bin.kind()) {
                    case ADD -> new Tensor[] {b.sumToShape(g[0], sa), b.sumToShape(g[0], sb)};
                    case SUB -> new Tensor[] {b.sumToShape(g[0], sa),
                            b.sumToShape(b.binary(g[0], Tensor.scalar(-1f), Backend.BinaryOp.MUL), sb)};
                    case MUL -> {
                        Tensor x = value(n.input(0), kept), y = value(n.input(1), kept);
                        yield new Tensor[] {b.sumToShape(b.binary(g[0], y, Backend.BinaryOp.MUL), sa),
                                b.sumToShape(b.binary(g[0], x, Backend.BinaryOp.MUL), sb)};
                    }
                    case DIV -> {
                        Tensor x = value(n.input(0), kept), y = value(n.input(1), kept);
                        Tensor ga = b.binary(g[0], y, Backend.BinaryOp.DIV);
                        // d(x/y)/dy = −x/y² = −(g/y)·(x/y)
                        Tensor gb = b.binary(b.binary(ga, b.binary(x, y, Backend.BinaryOp.DIV), Backend.BinaryOp.MUL),
                                Tensor.scalar(-1f), Backend.BinaryOp.MUL);
                        yield new Tensor[] {b.sumToShape(ga, sa), b.sumToShape(gb, sb)};
                    }
                };
            }
            case Op.MaxPool p -> one(b.maxPoolBackward(kept.get(n.input(0)), g[0], p.spec()));
            case Op.AveragePool p -> one(b.avgPoolBackward(g[0], p.spec(), inShape));
            case Op.GlobalAveragePool gp -> {
                int[] k = {inShape[2], inShape[3]};
                var spec = new dev.zeroq.backend.PoolSpec(k, k, new int[4], new int[] {1, 1}, false, false);
                yield one(b.avgPoolBackward(g[0], spec, inShape));
            }
            case Op.ReduceMean r -> {
                int[] keptShape = inShape.clone();
                long count = 1;
                for (int a : r.axes()) {
                    count *= keptShape[a];
                    keptShape[a] = 1;
                }
                Tensor scaled = b.binary(g[0].reshape(keptShape), Tensor.scalar(1f / count), Backend.BinaryOp.MUL);
                yield one(b.binary(scaled, Tensor.zeros(inShape), Backend.BinaryOp.ADD));
            }
            case Op.Flatten f -> one(g[0].reshape(inShape));
            case Op.Reshape r -> one(g[0].reshape(inShape));
            case Op.Identity i -> one(g[0]);
            case Op.Transpose t -> {
                int[] inv = new int[t.perm().length];
                for (int i = 0; i < inv.length; i++) inv[t.perm()[i]] = i;
                yield one(b.transpose(g[0], inv));
            }
            case Op.Split s -> one(b.concat(Arrays.asList(g), s.axis()));
            case Op.Slice s -> {
                int[][] r = ShapeInference.resolveSlice(s, inShape);
                yield one(b.sliceBackward(g[0], inShape, r[0], r[2], r[3]));
            }
            case Op.Concat c -> {
                Tensor[] out = new Tensor[n.inputs().size()];
                int start = 0;
                for (int j = 0; j < out.length; j++) {
                    int[] sj = shapeOf(n.input(j), shapes);
                    int rank = sj.length;
                    int[] starts = new int[rank], ends = g[0].shape(), axes = new int[rank], steps = new int[rank];
                    for (int a = 0; a < rank; a++) {
                        axes[a] = a;
                        steps[a] = 1;
                    }
                    starts[c.axis()] = start;
                    ends[c.axis()] = start + sj[c.axis()];
                    out[j] = b.slice(g[0], starts, ends, axes, steps);
                    start += sj[c.axis()];
                }
                yield out;
            }
            case Op.Gemm gm -> {
                Tensor w = value(n.input(1), kept);
                // Y = α·op(A)·op(B) + β·C. dA = α·dY·op(B)ᵀ, or for transA, dA = α·op(B)·dYᵀ.
                Tensor ga = gm.transA()
                        ? b.gemm(w, g[0], null, gm.alpha(), 0f, gm.transB(), true)
                        : b.gemm(g[0], w, null, gm.alpha(), 0f, false, !gm.transB());
                yield one(ga);
            }
            case Op.MatMul m -> {
                Tensor w = value(n.input(1), kept);
                int r = w.rank();
                int[] perm = new int[r];
                for (int i = 0; i < r; i++) perm[i] = i;
                perm[r - 2] = r - 1;
                perm[r - 1] = r - 2;
                yield one(b.sumToShape(b.matmul(g[0], b.transpose(w, perm)), inShape));
            }
        };
    }

    private int[] shapeOf(String name, Map<String, int[]> shapes) {
        int[] s = shapes.get(name);
        return s != null ? s : graph.param(name).shape();
    }

    private static Tensor[] one(Tensor t) {
        return new Tensor[] {t};
    }
}
