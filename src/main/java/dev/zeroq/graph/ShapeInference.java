package dev.zeroq.graph;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.PoolSpec;
import dev.zeroq.tensor.Shapes;
import dev.zeroq.tensor.Tensor;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/** Output shapes of every value of a graph for a given batch size. */
public final class ShapeInference {
    private ShapeInference() {}

    /** Shapes of the input, every parameter and every node output, for {@code batch} images. */
    public static Map<String, int[]> infer(Graph g, int batch) {
        Map<String, int[]> shapes = new HashMap<>();
        for (Map.Entry<String, Tensor> p : g.params().entrySet()) {
            shapes.put(p.getKey(), p.getValue().shape());
        }
        int[] in = g.inputShape();
        shapes.put(g.inputName(), new int[] {batch, in[0], in[1], in[2]});
        for (Node n : g.nodes()) {
            int[][] ins = new int[n.inputs().size()][];
            for (int i = 0; i < ins.length; i++) {
                ins[i] = n.input(i).isEmpty() ? null : shapes.get(n.input(i));
            }
            int[][] outs;
            try {
                outs = outputShapes(n.op(), ins, batch);
            } catch (IllegalArgumentException | ArithmeticException e) {
                throw ZeroqException.badInput("shape inference failed at node '" + n.name() + "' ("
                        + n.op().onnxType() + "): " + e.getMessage());
            }
            for (int i = 0; i < n.outputs().size(); i++) {
                shapes.put(n.outputs().get(i), outs[i]);
            }
        }
        return shapes;
    }

    /** Output shapes of one op given its input shapes. */
    public static int[][] outputShapes(Op op, int[][] in, int batch) {
        return switch (op) {
            case Op.Conv c -> {
                ConvSpec s = c.spec();
                int[] x = in[0];
                int[] w = in[1];
                requireRank(x, 4, "input");
                if (x[1] != w[1] * s.group()) {
                    throw new IllegalArgumentException("input has " + x[1] + " channels, weights expect "
                            + w[1] * s.group());
                }
                yield one(x[0], w[0], s.outH(x[2]), s.outW(x[3]));
            }
            case Op.BatchNorm b -> one(in[0]);
            case Op.Unary u -> one(in[0]);
            case Op.Binary b -> one(Shapes.broadcast(in[0], in[1]));
            case Op.MaxPool p -> pool(in[0], p.spec());
            case Op.AveragePool p -> pool(in[0], p.spec());
            case Op.GlobalAveragePool g -> one(in[0][0], in[0][1], 1, 1);
            case Op.ReduceMean r -> one(reduced(in[0], r.axes(), r.keepDims()));
            case Op.Flatten f -> {
                int a = f.axis() < 0 ? f.axis() + in[0].length : f.axis();
                long outer = Shapes.size(Arrays.copyOfRange(in[0], 0, a));
                long inner = Shapes.size(Arrays.copyOfRange(in[0], a, in[0].length));
                yield one(Math.toIntExact(outer), Math.toIntExact(inner));
            }
            case Op.Reshape r -> one(reshape(in[0], r.shape(), batch));
            case Op.Transpose t -> {
                int[] out = new int[t.perm().length];
                for (int i = 0; i < out.length; i++) {
                    out[i] = in[0][t.perm()[i]];
                }
                yield one(out);
            }
            case Op.Split s -> {
                int[][] outs = new int[s.sizes().length][];
                for (int i = 0; i < outs.length; i++) {
                    outs[i] = in[0].clone();
                    outs[i][s.axis()] = s.sizes()[i];
                }
                yield outs;
            }
            case Op.Slice s -> {
                int[] out = in[0].clone();
                int[][] r = resolveSlice(s, in[0]);
                for (int i = 0; i < r[2].length; i++) {
                    int ax = r[2][i];
                    int start = r[0][i];
                    int end = r[1][i];
                    int step = r[3][i];
                    int len = step > 0 ? Math.max(0, ceilDiv(end - start, step)) : Math.max(0, ceilDiv(start - end, -step));
                    out[ax] = len;
                }
                yield one(out);
            }
            case Op.Concat c -> {
                int[] out = in[0].clone();
                for (int i = 1; i < in.length; i++) {
                    out[c.axis()] += in[i][c.axis()];
                }
                yield one(out);
            }
            case Op.Gemm g -> {
                int m = g.transA() ? in[0][1] : in[0][0];
                int n = g.transB() ? in[1][0] : in[1][1];
                yield one(m, n);
            }
            case Op.MatMul m -> {
                int[] a = in[0];
                int[] b = in[1];
                int[] batchA = Arrays.copyOf(a, a.length - 2);
                int[] batchB = Arrays.copyOf(b, b.length - 2);
                int[] bb = Shapes.broadcast(batchA, batchB);
                int[] out = Arrays.copyOf(bb, bb.length + 2);
                out[bb.length] = a[a.length - 2];
                out[bb.length + 1] = b[b.length - 1];
                yield one(out);
            }
            case Op.Identity i -> one(in[0]);
        };
    }

    private static int ceilDiv(int a, int b) {
        return Math.floorDiv(a + b - 1, b);
    }

    /**
     * Clamps a Slice's starts/ends against an input shape as ONNX specifies.
     * @return {starts, ends, axes, steps} as ints
     */
    public static int[][] resolveSlice(Op.Slice s, int[] shape) {
        int k = s.axes().length;
        int[] starts = new int[k];
        int[] ends = new int[k];
        int[] steps = new int[k];
        for (int i = 0; i < k; i++) {
            int dim = shape[s.axes()[i]];
            long step = s.steps()[i];
            long st = s.starts()[i];
            long en = s.ends()[i];
            if (st < 0) st += dim;
            if (en < 0) en += dim;
            if (step > 0) {
                st = Math.clamp(st, 0, dim);
                en = Math.clamp(en, 0, dim);
            } else {
                st = Math.clamp(st, 0, dim - 1);
                en = Math.clamp(en, -1, dim - 1);
            }
            starts[i] = (int) st;
            ends[i] = (int) en;
            steps[i] = (int) step;
        }
        return new int[][] {starts, ends, s.axes().clone(), steps};
    }

    /** Resolves a Reshape target (0, −1, {@link Op.Reshape#BATCH}) against an input shape. */
    public static int[] reshape(int[] in, int[] target, int batch) {
        int[] out = new int[target.length];
        int infer = -1;
        long known = 1;
        for (int i = 0; i < target.length; i++) {
            int t = target[i];
            if (t == Op.Reshape.BATCH) {
                out[i] = batch;
            } else if (t == 0) {
                out[i] = in[i];
            } else if (t == -1) {
                if (infer >= 0) {
                    throw new IllegalArgumentException("more than one -1 in reshape target " + Arrays.toString(target));
                }
                infer = i;
                continue;
            } else {
                out[i] = t;
            }
            known *= out[i];
        }
        long total = Shapes.size(in);
        if (infer >= 0) {
            if (known == 0 || total % known != 0) {
                throw new IllegalArgumentException("cannot reshape " + Arrays.toString(in) + " to " + Arrays.toString(target));
            }
            out[infer] = Math.toIntExact(total / known);
        } else if (known != total) {
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(in) + " to " + Arrays.toString(target));
        }
        return out;
    }

    static int[] reduced(int[] in, int[] axes, boolean keep) {
        int[] out = in.clone();
        for (int a : axes) {
            out[a] = 1;
        }
        if (keep) {
            return out;
        }
        int[] squeezed = new int[in.length - axes.length];
        int j = 0;
        outer:
        for (int i = 0; i < in.length; i++) {
            for (int a : axes) {
                if (a == i) continue outer;
            }
            squeezed[j++] = in[i];
        }
        return squeezed;
    }

    private static int[][] pool(int[] x, PoolSpec s) {
        requireRank(x, 4, "input");
        return one(x[0], x[1], s.outH(x[2]), s.outW(x[3]));
    }

    private static void requireRank(int[] shape, int rank, String what) {
        if (shape.length != rank) {
            throw new IllegalArgumentException(what + " must have rank " + rank + ", got " + Arrays.toString(shape));
        }
    }

    private static int[][] one(int... shape) {
        for (int d : shape) {
            if (d <= 0) {
                throw new IllegalArgumentException("non-positive output dimension in " + Arrays.toString(shape));
            }
        }
        return new int[][] {shape};
    }
}
