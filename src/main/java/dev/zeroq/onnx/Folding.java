package dev.zeroq.onnx;

import dev.zeroq.tensor.Shapes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Evaluates, at import, the small integer ops exporters emit to compute reshape targets
 * (Shape → Gather → Unsqueeze → Concat → Reshape and friends). Values are tiny, so plain loops suffice.
 * The batch marker is copied through data movement (Gather, Concat, Slice, ...) but never enters arithmetic:
 * its value is unknown until run time. Errors are IllegalArgumentExceptions that the importer names the node in.
 */
final class Folding {
    private Folding() {}

    static Const gather(Const data, Const indices, int axis) {
        int r = data.rank();
        int ax = Shapes.axis(axis, r);
        int dim = data.shape()[ax];
        long[] idx = indices.asLongs();
        for (int i = 0; i < idx.length; i++) {
            if (idx[i] < -dim || idx[i] >= dim) {
                throw new IllegalArgumentException("Gather index " + idx[i] + " out of range for dimension " + dim);
            }
            idx[i] = idx[i] < 0 ? idx[i] + dim : idx[i];
        }
        int[] ds = data.shape();
        int outer = Math.toIntExact(Shapes.size(Arrays.copyOfRange(ds, 0, ax)));
        int inner = Math.toIntExact(Shapes.size(Arrays.copyOfRange(ds, ax + 1, r)));
        int[] shape = concat(Arrays.copyOfRange(ds, 0, ax), indices.shape(), Arrays.copyOfRange(ds, ax + 1, r));
        int n = Const.foldedSize(shape);
        long[] li = data.isInt() ? new long[n] : null;
        float[] lf = data.isInt() ? null : new float[n];
        int o = 0;
        for (int a = 0; a < outer; a++) {
            for (long k : idx) {
                for (int b = 0; b < inner; b++) {
                    int src = (int) ((a * (long) dim + k) * inner + b);
                    if (li != null) {
                        li[o++] = data.ints()[src];
                    } else {
                        lf[o++] = data.floats()[src];
                    }
                }
            }
        }
        return new Const(shape, li, lf);
    }

    /** Output shape of Unsqueeze: axes refer to the output rank. */
    static int[] unsqueezeShape(int[] in, long[] axes) {
        int r = in.length + axes.length;
        boolean[] inserted = new boolean[r];
        for (long a : axes) {
            int ax = Shapes.axis(Math.toIntExact(a), r);
            if (inserted[ax]) {
                throw new IllegalArgumentException("Unsqueeze axis " + a + " repeated");
            }
            inserted[ax] = true;
        }
        int[] out = new int[r];
        int j = 0;
        for (int i = 0; i < r; i++) {
            out[i] = inserted[i] ? 1 : in[j++];
        }
        return out;
    }

    /** Output shape of Squeeze; null axes remove every dimension of size 1. */
    static int[] squeezeShape(int[] in, long[] axes) {
        boolean[] drop = new boolean[in.length];
        if (axes == null) {
            for (int i = 0; i < in.length; i++) {
                drop[i] = in[i] == 1;
            }
        } else {
            for (long a : axes) {
                int ax = Shapes.axis(Math.toIntExact(a), in.length);
                if (in[ax] != 1) {
                    throw new IllegalArgumentException("Squeeze axis " + a + " has size " + in[ax] + ", not 1");
                }
                drop[ax] = true;
            }
        }
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < in.length; i++) {
            if (!drop[i]) {
                out.add(in[i]);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    static Const concat(List<Const> xs, int axis) {
        int r = xs.getFirst().rank();
        int ax = Shapes.axis(axis, r);
        boolean isInt = xs.stream().allMatch(Const::isInt);
        if (!isInt && xs.stream().anyMatch(Const::isInt)) {
            throw new IllegalArgumentException("Concat of integer and float constants");
        }
        int[] shape = xs.getFirst().shape();
        shape[ax] = 0;
        for (Const c : xs) {
            int[] s = c.shape();
            if (s.length != r) {
                throw new IllegalArgumentException("Concat inputs of different rank");
            }
            shape[ax] += s[ax];
        }
        int outer = Math.toIntExact(Shapes.size(Arrays.copyOfRange(shape, 0, ax)));
        int n = Const.foldedSize(shape);
        long[] li = isInt ? new long[n] : null;
        float[] lf = isInt ? null : new float[n];
        int o = 0;
        for (int a = 0; a < outer; a++) {
            for (Const c : xs) {
                int chunk = c.size() / outer;
                if (isInt) {
                    System.arraycopy(c.ints(), a * chunk, li, o, chunk);
                } else {
                    System.arraycopy(c.floats(), a * chunk, lf, o, chunk);
                }
                o += chunk;
            }
        }
        return new Const(shape, li, lf);
    }

    /** ONNX Slice on a constant, with the same clamping as the runtime op. */
    static Const slice(Const x, long[] starts, long[] ends, int[] axes, long[] steps) {
        int[] in = x.shape();
        int r = in.length;
        int[] st = new int[r];
        int[] step = new int[r];
        int[] len = in.clone();
        Arrays.fill(step, 1);
        for (int i = 0; i < axes.length; i++) {
            int ax = axes[i];
            int dim = in[ax];
            long s = starts[i] < 0 ? starts[i] + dim : starts[i];
            long e = ends[i] < 0 ? ends[i] + dim : ends[i];
            long k = steps[i];
            if (k == 0) {
                throw new IllegalArgumentException("Slice step 0");
            }
            if (k > 0) {
                s = Math.clamp(s, 0, dim);
                e = Math.clamp(e, 0, dim);
                len[ax] = (int) Math.max(0, (e - s + k - 1) / k);
            } else {
                s = Math.clamp(s, 0, dim - 1);
                e = Math.clamp(e, -1, dim - 1);
                len[ax] = (int) Math.max(0, (s - e - k - 1) / -k);
            }
            st[ax] = (int) s;
            step[ax] = (int) k;
        }
        int n = Const.foldedSize(len);
        long[] li = x.isInt() ? new long[n] : null;
        float[] lf = x.isInt() ? null : new float[n];
        int[] inStrides = Shapes.strides(in);
        int[] idx = new int[r];
        for (int o = 0; o < n; o++) {
            int src = 0;
            for (int d = 0; d < r; d++) {
                src += (st[d] + idx[d] * step[d]) * inStrides[d];
            }
            if (li != null) {
                li[o] = x.ints()[src];
            } else {
                lf[o] = x.floats()[src];
            }
            for (int d = r - 1; d >= 0; d--) {
                if (++idx[d] < len[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        return new Const(len, li, lf);
    }

    enum Arith { ADD, SUB, MUL, DIV }

    /** Broadcasting arithmetic; integer division truncates toward zero as ONNX integer Div does. */
    static Const arith(Const a, Const b, Arith op) {
        if (a.hasBatch() || b.hasBatch()) {
            throw new IllegalArgumentException("the value depends on the batch size, which is only known at run time; "
                    + "zeroq folds batch-dependent shapes only through Shape/Gather/Unsqueeze/Concat/Slice into Reshape");
        }
        int[] shape = Shapes.broadcast(a.shape(), b.shape());
        int n = Const.foldedSize(shape);
        boolean isInt = a.isInt() && b.isInt();
        long[] li = isInt ? new long[n] : null;
        float[] lf = isInt ? null : new float[n];
        for (int o = 0; o < n; o++) {
            int ia = broadcastOffset(shape, a.shape(), o);
            int ib = broadcastOffset(shape, b.shape(), o);
            if (isInt) {
                long x = a.ints()[ia];
                long y = b.ints()[ib];
                li[o] = switch (op) {
                    case ADD -> Math.addExact(x, y);
                    case SUB -> Math.subtractExact(x, y);
                    case MUL -> Math.multiplyExact(x, y);
                    case DIV -> {
                        if (y == 0) {
                            throw new IllegalArgumentException("integer division by zero");
                        }
                        yield x / y;
                    }
                };
            } else {
                float x = (float) a.at(ia);
                float y = (float) b.at(ib);
                lf[o] = switch (op) {
                    case ADD -> x + y;
                    case SUB -> x - y;
                    case MUL -> x * y;
                    case DIV -> x / y;
                };
            }
        }
        return new Const(shape, li, lf);
    }

    /** Offset into a tensor of shape {@code in} broadcast to {@code out}, for flat output index o. */
    static int broadcastOffset(int[] out, int[] in, int o) {
        int off = 0;
        int stride = 1;
        int lead = out.length - in.length;
        for (int d = out.length - 1; d >= 0; d--) {
            int coord = o % out[d];
            o /= out[d];
            if (d >= lead) {
                int dim = in[d - lead];
                off += (dim == 1 ? 0 : coord) * stride;
                stride *= dim;
            }
        }
        return off;
    }

    private static int[] concat(int[]... parts) {
        int n = 0;
        for (int[] p : parts) {
            n += p.length;
        }
        int[] out = new int[n];
        int o = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }
}
