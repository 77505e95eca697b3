package dev.zeroq.backend.ref;

import dev.zeroq.backend.Activation;
import dev.zeroq.backend.Backend;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.GemmShape;
import dev.zeroq.backend.MatMulShape;
import dev.zeroq.backend.PoolSpec;
import dev.zeroq.tensor.Shapes;
import dev.zeroq.tensor.Tensor;

import java.util.Arrays;
import java.util.List;

/**
 * The oracle: every op as plain scalar loops, written to be obviously right rather than fast.
 * Accumulations run in double so that the reference is more accurate than anything it checks.
 */
public class RefBackend implements Backend {

    @Override
    public String name() {
        return "ref";
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, ConvSpec s) {
        int n = x.dim(0), cin = x.dim(1), h = x.dim(2), wd = x.dim(3);
        int cout = w.dim(0), cinG = w.dim(1), kh = w.dim(2), kw = w.dim(3);
        int g = s.group();
        s.checkChannels(cin, w.shape());
        int coutG = cout / g;
        int oh = s.outH(h), ow = s.outW(wd);
        int[] st = s.strides(), p = s.pads(), d = s.dilations();
        float[] xd = x.data(), wdat = w.data();
        Tensor out = Tensor.zeros(n, cout, oh, ow);
        float[] o = out.data();
        for (int b = 0; b < n; b++) {
            for (int co = 0; co < cout; co++) {
                int grp = co / coutG;
                for (int y = 0; y < oh; y++) {
                    for (int xo = 0; xo < ow; xo++) {
                        double acc = bias == null ? 0 : bias.data()[co];
                        for (int ci = 0; ci < cinG; ci++) {
                            int c = grp * cinG + ci;
                            for (int ky = 0; ky < kh; ky++) {
                                int iy = y * st[0] - p[0] + ky * d[0];
                                if (iy < 0 || iy >= h) continue;
                                for (int kx = 0; kx < kw; kx++) {
                                    int ix = xo * st[1] - p[1] + kx * d[1];
                                    if (ix < 0 || ix >= wd) continue;
                                    acc += (double) xd[((b * cin + c) * h + iy) * wd + ix]
                                            * wdat[((co * cinG + ci) * kh + ky) * kw + kx];
                                }
                            }
                        }
                        o[((b * cout + co) * oh + y) * ow + xo] = (float) acc;
                    }
                }
            }
        }
        return out;
    }

    @Override
    public Tensor batchNorm(Tensor x, Tensor scale, Tensor bias, Tensor mean, Tensor var, float eps) {
        int n = x.dim(0), c = x.dim(1);
        int inner = x.size() / (n * c);
        float[] o = new float[x.size()];
        float[] xd = x.data();
        for (int b = 0; b < n; b++) {
            for (int ch = 0; ch < c; ch++) {
                double inv = 1.0 / Math.sqrt((double) var.data()[ch] + eps);
                for (int i = 0; i < inner; i++) {
                    int k = (b * c + ch) * inner + i;
                    o[k] = (float) (scale.data()[ch] * (xd[k] - mean.data()[ch]) * inv + bias.data()[ch]);
                }
            }
        }
        return new Tensor(o, x.shape());
    }

    @Override
    public Tensor activation(Tensor x, Activation f) {
        float[] xd = x.data();
        float[] o = new float[xd.length];
        for (int i = 0; i < o.length; i++) {
            o[i] = f.apply(xd[i]);
        }
        return new Tensor(o, x.shape());
    }

    @Override
    public Tensor binary(Tensor a, Tensor b, BinaryOp op) {
        int[] shape = Shapes.broadcast(a.shape(), b.shape());
        int[] sa = broadcastStrides(a.shape(), shape);
        int[] sb = broadcastStrides(b.shape(), shape);
        Tensor out = Tensor.zeros(shape);
        float[] o = out.data(), ad = a.data(), bd = b.data();
        int[] idx = new int[shape.length];
        for (int i = 0; i < o.length; i++) {
            int ia = 0, ib = 0;
            for (int k = 0; k < shape.length; k++) {
                ia += idx[k] * sa[k];
                ib += idx[k] * sb[k];
            }
            o[i] = op.apply(ad[ia], bd[ib]);
            increment(idx, shape);
        }
        return out;
    }

    /** Strides of {@code in} viewed in the broadcast {@code out} shape: 0 along broadcast dimensions. */
    static int[] broadcastStrides(int[] in, int[] out) {
        int[] s = new int[out.length];
        int[] own = Shapes.strides(in);
        int off = out.length - in.length;
        for (int i = 0; i < in.length; i++) {
            s[i + off] = in[i] == 1 ? 0 : own[i];
        }
        return s;
    }

    /** Advances a row-major multi-index by one. */
    static void increment(int[] idx, int[] shape) {
        for (int k = shape.length - 1; k >= 0; k--) {
            if (++idx[k] < shape[k]) {
                return;
            }
            idx[k] = 0;
        }
    }

    @Override
    public Tensor maxPool(Tensor x, PoolSpec s) {
        return pool(x, s, true);
    }

    @Override
    public Tensor avgPool(Tensor x, PoolSpec s) {
        return pool(x, s, false);
    }

    private static Tensor pool(Tensor x, PoolSpec s, boolean max) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        int oh = s.outH(h), ow = s.outW(w);
        int[] k = s.kernel(), st = s.strides(), p = s.pads(), d = s.dilations();
        Tensor out = Tensor.zeros(n, c, oh, ow);
        float[] o = out.data(), xd = x.data();
        for (int b = 0; b < n; b++) {
            for (int ch = 0; ch < c; ch++) {
                int base = (b * c + ch) * h * w;
                for (int y = 0; y < oh; y++) {
                    for (int xo = 0; xo < ow; xo++) {
                        double acc = max ? Double.NEGATIVE_INFINITY : 0;
                        int count = 0;
                        for (int ky = 0; ky < k[0]; ky++) {
                            int iy = y * st[0] - p[0] + ky * d[0];
                            for (int kx = 0; kx < k[1]; kx++) {
                                int ix = xo * st[1] - p[1] + kx * d[1];
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                float v = xd[base + iy * w + ix];
                                acc = max ? Math.max(acc, v) : acc + v;
                                count++;
                            }
                        }
                        if (!max) {
                            acc /= s.countIncludePad() ? includePadCount(y, xo, h, w, k, st, p) : count;
                        }
                        o[((b * c + ch) * oh + y) * ow + xo] = (float) acc;
                    }
                }
            }
        }
        return out;
    }

    /**
     * With count_include_pad the divisor counts padded positions but not the part of a ceil_mode window
     * that hangs past the end padding (ONNX Runtime and PyTorch agree on this).
     */
    private static int includePadCount(int y, int x, int h, int w, int[] k, int[] st, int[] p) {
        int y0 = y * st[0] - p[0];
        int x0 = x * st[1] - p[1];
        int y1 = Math.min(y0 + k[0], h + p[2]);
        int x1 = Math.min(x0 + k[1], w + p[3]);
        return (y1 - y0) * (x1 - x0);
    }

    @Override
    public Tensor globalAvgPool(Tensor x) {
        int n = x.dim(0), c = x.dim(1);
        int hw = x.size() / (n * c);
        float[] o = new float[n * c];
        for (int i = 0; i < n * c; i++) {
            double acc = 0;
            for (int j = 0; j < hw; j++) {
                acc += x.data()[i * hw + j];
            }
            o[i] = (float) (acc / hw);
        }
        return new Tensor(o, n, c, 1, 1);
    }

    @Override
    public Tensor reduceMean(Tensor x, int[] axes, boolean keepDims) {
        int[] shape = x.shape();
        int[] kept = shape.clone();
        for (int a : axes) kept[a] = 1;
        double[] acc = new double[Math.toIntExact(Shapes.size(kept))];
        int[] ks = Shapes.strides(kept);
        int[] idx = new int[shape.length];
        float[] xd = x.data();
        for (int i = 0; i < xd.length; i++) {
            int o = 0;
            for (int k = 0; k < shape.length; k++) {
                o += (kept[k] == 1 ? 0 : idx[k]) * ks[k];
            }
            acc[o] += xd[i];
            increment(idx, shape);
        }
        long count = Shapes.size(shape) / Math.max(1, acc.length);
        float[] out = new float[acc.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (acc[i] / count);
        }
        Tensor t = new Tensor(out, kept);
        if (keepDims) return t;
        int[] squeezed = Arrays.stream(axesComplement(shape.length, axes)).map(i -> shape[i]).toArray();
        return t.reshape(squeezed);
    }

    private static int[] axesComplement(int rank, int[] axes) {
        return java.util.stream.IntStream.range(0, rank)
                .filter(i -> Arrays.stream(axes).noneMatch(a -> a == i)).toArray();
    }

    @Override
    public Tensor gemm(Tensor a, Tensor b, Tensor c, float alpha, float beta, boolean transA, boolean transB) {
        GemmShape shape = GemmShape.of(a, b, transA, transB);
        int m = shape.m(), k = shape.k(), n = shape.n();
        float[] o = new float[m * n];
        float[] ad = a.data(), bd = b.data();
        int[] cs = c == null ? null : broadcastStrides(c.shape(), new int[] {m, n});
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int p = 0; p < k; p++) {
                    float av = transA ? ad[p * m + i] : ad[i * k + p];
                    float bv = transB ? bd[j * k + p] : bd[p * n + j];
                    acc += (double) av * bv;
                }
                double r = alpha * acc;
                if (c != null) {
                    r += beta * c.data()[i * cs[0] + j * cs[1]];
                }
                o[i * n + j] = (float) r;
            }
        }
        return new Tensor(o, m, n);
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        MatMulShape g = MatMulShape.of(a.shape(), b.shape());
        int m = g.m(), k = g.k(), n = g.n();
        Tensor out = Tensor.zeros(g.out());
        for (int bt = 0; bt < g.batches(); bt++) {
            int oa = g.aOffset()[bt] * m * k, ob = g.bOffset()[bt] * k * n;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double acc = 0;
                    for (int p = 0; p < k; p++) {
                        acc += (double) a.data()[oa + i * k + p] * b.data()[ob + p * n + j];
                    }
                    out.data()[(bt * m + i) * n + j] = (float) acc;
                }
            }
        }
        return out;
    }

    @Override
    public Tensor concat(List<Tensor> xs, int axis) {
        int[] shape = xs.getFirst().shape();
        int total = 0;
        for (Tensor t : xs) total += t.dim(axis);
        shape[axis] = total;
        int outer = Math.toIntExact(Shapes.size(Arrays.copyOf(shape, axis)));
        Tensor out = Tensor.zeros(shape);
        int inner = Math.toIntExact(Shapes.size(Arrays.copyOfRange(shape, axis + 1, shape.length)));
        int off = 0;
        for (Tensor t : xs) {
            int chunk = t.dim(axis) * inner;
            for (int o = 0; o < outer; o++) {
                System.arraycopy(t.data(), o * chunk, out.data(), o * total * inner + off, chunk);
            }
            off += chunk;
        }
        return out;
    }

    @Override
    public Tensor transpose(Tensor x, int[] perm) {
        int[] in = x.shape();
        int[] outShape = new int[in.length];
        for (int i = 0; i < in.length; i++) outShape[i] = in[perm[i]];
        int[] inStrides = Shapes.strides(in);
        Tensor out = Tensor.zeros(outShape);
        int[] idx = new int[in.length];
        for (int i = 0; i < out.size(); i++) {
            int src = 0;
            for (int k = 0; k < in.length; k++) src += idx[k] * inStrides[perm[k]];
            out.data()[i] = x.data()[src];
            increment(idx, outShape);
        }
        return out;
    }

    @Override
    public Tensor slice(Tensor x, int[] starts, int[] ends, int[] axes, int[] steps) {
        int[] in = x.shape();
        int rank = in.length;
        int[] start = new int[rank];
        int[] step = new int[rank];
        int[] outShape = in.clone();
        Arrays.fill(step, 1);
        for (int i = 0; i < axes.length; i++) {
            int a = axes[i];
            start[a] = starts[i];
            step[a] = steps[i];
            int len = steps[i] > 0 ? Math.ceilDiv(ends[i] - starts[i], steps[i]) : Math.ceilDiv(starts[i] - ends[i], -steps[i]);
            outShape[a] = Math.max(0, len);
        }
        int[] inStrides = Shapes.strides(in);
        Tensor out = Tensor.zeros(outShape);
        int[] idx = new int[rank];
        for (int i = 0; i < out.size(); i++) {
            int src = 0;
            for (int k = 0; k < rank; k++) src += (start[k] + idx[k] * step[k]) * inStrides[k];
            out.data()[i] = x.data()[src];
            increment(idx, outShape);
        }
        return out;
    }

    /** The oracle for conv backward: the plain scatter loops, never the conv-of-flipped-weights shortcut. */
    @Override
    public Tensor conv2dBackwardData(Tensor gradOut, Tensor w, ConvSpec spec, int[] inputShape) {
        return dev.zeroq.backend.Gradients.scatterConvBackward(gradOut, w, spec, inputShape);
    }
}
