package dev.zeroq.backend;

import dev.zeroq.tensor.Shapes;
import dev.zeroq.tensor.Tensor;

/**
 * Backward passes shared by every backend that has no faster version (Java loops, or forward ops of the
 * backend itself). Each is checked against the {@code ref} scatter loops and finite differences.
 */
public final class Gradients {
    private Gradients() {}

    public static Tensor conv2dBackwardData(Backend b, Tensor gradOut, Tensor w, ConvSpec s, int[] inShape) {
        int n = inShape[0], cin = inShape[1], h = inShape[2], wd = inShape[3];
        int cout = w.dim(0), cinG = w.dim(1), kh = w.dim(2), kw = w.dim(3);
        int g = s.group(), coutG = cout / g;
        int[] st = s.strides(), p = s.pads(), d = s.dilations();
        int oh = gradOut.dim(2), ow = gradOut.dim(3);
        // Spread the gradient out by the stride: the transposed conv of a strided conv is a conv of this.
        int dh = (oh - 1) * st[0] + 1, dw = (ow - 1) * st[1] + 1;
        Tensor spread = gradOut;
        if (st[0] > 1 || st[1] > 1) {
            spread = Tensor.zeros(n, cout, dh, dw);
            float[] src = gradOut.data(), dst = spread.data();
            for (int i = 0; i < n * cout; i++) {
                for (int y = 0; y < oh; y++) {
                    for (int x = 0; x < ow; x++) {
                        dst[(i * dh + y * st[0]) * dw + x * st[1]] = src[(i * oh + y) * ow + x];
                    }
                }
            }
        }
        int extH = d[0] * (kh - 1), extW = d[1] * (kw - 1);
        int top = extH - p[0], left = extW - p[1];
        int bottom = h - dh + p[0], right = wd - dw + p[1];
        if (top < 0 || left < 0 || bottom < 0 || right < 0) {
            // Padding larger than the kernel extent would need negative padding here: use the scatter loops.
            return scatterConvBackward(gradOut, w, s, inShape);
        }
        // Weights (Cout, Cin/g, kh, kw) → (Cin, Cout/g, kh, kw), flipped in space, group by group.
        Tensor wt = Tensor.zeros(cin, coutG, kh, kw);
        float[] src = w.data(), dst = wt.data();
        for (int co = 0; co < cout; co++) {
            int grp = co / coutG, col = co % coutG;
            for (int ci = 0; ci < cinG; ci++) {
                int c = grp * cinG + ci;
                for (int y = 0; y < kh; y++) {
                    for (int x = 0; x < kw; x++) {
                        dst[((c * coutG + col) * kh + (kh - 1 - y)) * kw + (kw - 1 - x)] = src[((co * cinG + ci) * kh + y) * kw + x];
                    }
                }
            }
        }
        ConvSpec t = new ConvSpec(s.kernel(), new int[] {1, 1}, new int[] {top, left, bottom, right}, d, g);
        return b.conv2d(spread, wt, null, t);
    }

    /** Plain scatter: every input pixel collects the gradient of each output it contributed to. */
    public static Tensor scatterConvBackward(Tensor gradOut, Tensor w, ConvSpec s, int[] inShape) {
        int n = inShape[0], cin = inShape[1], h = inShape[2], wd = inShape[3];
        int cout = w.dim(0), cinG = w.dim(1), kh = w.dim(2), kw = w.dim(3);
        int coutG = cout / s.group();
        int oh = gradOut.dim(2), ow = gradOut.dim(3);
        int[] st = s.strides(), p = s.pads(), d = s.dilations();
        double[] acc = new double[Math.toIntExact(Shapes.size(inShape))];
        float[] g = gradOut.data(), wd0 = w.data();
        for (int b = 0; b < n; b++) {
            for (int co = 0; co < cout; co++) {
                int grp = co / coutG;
                for (int y = 0; y < oh; y++) {
                    for (int x = 0; x < ow; x++) {
                        float gv = g[((b * cout + co) * oh + y) * ow + x];
                        if (gv == 0f) continue;
                        for (int ci = 0; ci < cinG; ci++) {
                            int c = grp * cinG + ci;
                            for (int ky = 0; ky < kh; ky++) {
                                int iy = y * st[0] - p[0] + ky * d[0];
                                if (iy < 0 || iy >= h) continue;
                                for (int kx = 0; kx < kw; kx++) {
                                    int ix = x * st[1] - p[1] + kx * d[1];
                                    if (ix < 0 || ix >= wd) continue;
                                    acc[((b * cin + c) * h + iy) * wd + ix] += (double) gv * wd0[((co * cinG + ci) * kh + ky) * kw + kx];
                                }
                            }
                        }
                    }
                }
            }
        }
        return new Tensor(toFloat(acc), inShape);
    }

    public static Tensor batchNormBackward(Tensor gradOut, Tensor scale, Tensor var, float eps) {
        int n = gradOut.dim(0), c = gradOut.dim(1);
        int inner = gradOut.size() / (n * c);
        float[] o = new float[gradOut.size()];
        float[] g = gradOut.data();
        for (int ch = 0; ch < c; ch++) {
            float k = (float) (scale.data()[ch] / Math.sqrt((double) var.data()[ch] + eps));
            for (int b = 0; b < n; b++) {
                int base = (b * c + ch) * inner;
                for (int i = 0; i < inner; i++) {
                    o[base + i] = g[base + i] * k;
                }
            }
        }
        return new Tensor(o, gradOut.shape());
    }

    public static Tensor activationBackward(Tensor x, Tensor gradOut, Activation f) {
        float[] xd = x.data(), g = gradOut.data();
        float[] o = new float[xd.length];
        for (int i = 0; i < o.length; i++) {
            o[i] = g[i] * f.derivative(xd[i]);
        }
        return new Tensor(o, x.shape());
    }

    public static Tensor maxPoolBackward(Tensor x, Tensor gradOut, PoolSpec s) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        int oh = gradOut.dim(2), ow = gradOut.dim(3);
        int[] k = s.kernel(), st = s.strides(), p = s.pads(), d = s.dilations();
        float[] xd = x.data(), g = gradOut.data();
        float[] o = new float[xd.length];
        for (int bc = 0; bc < n * c; bc++) {
            int base = bc * h * w;
            for (int y = 0; y < oh; y++) {
                for (int xo = 0; xo < ow; xo++) {
                    int best = -1;
                    float bv = Float.NEGATIVE_INFINITY;
                    for (int ky = 0; ky < k[0]; ky++) {
                        int iy = y * st[0] - p[0] + ky * d[0];
                        if (iy < 0 || iy >= h) continue;
                        for (int kx = 0; kx < k[1]; kx++) {
                            int ix = xo * st[1] - p[1] + kx * d[1];
                            if (ix < 0 || ix >= w) continue;
                            float v = xd[base + iy * w + ix];
                            if (best < 0 || v > bv) {
                                bv = v;
                                best = base + iy * w + ix;
                            }
                        }
                    }
                    if (best >= 0) {
                        o[best] += g[(bc * oh + y) * ow + xo];
                    }
                }
            }
        }
        return new Tensor(o, x.shape());
    }

    public static Tensor avgPoolBackward(Tensor gradOut, PoolSpec s, int[] inShape) {
        int n = inShape[0], c = inShape[1], h = inShape[2], w = inShape[3];
        int oh = gradOut.dim(2), ow = gradOut.dim(3);
        int[] k = s.kernel(), st = s.strides(), p = s.pads();
        float[] g = gradOut.data();
        float[] o = new float[n * c * h * w];
        for (int bc = 0; bc < n * c; bc++) {
            for (int y = 0; y < oh; y++) {
                for (int xo = 0; xo < ow; xo++) {
                    int y0 = y * st[0] - p[0], x0 = xo * st[1] - p[1];
                    int count;
                    if (s.countIncludePad()) {
                        count = (Math.min(y0 + k[0], h + p[2]) - y0) * (Math.min(x0 + k[1], w + p[3]) - x0);
                    } else {
                        count = (Math.min(y0 + k[0], h) - Math.max(y0, 0)) * (Math.min(x0 + k[1], w) - Math.max(x0, 0));
                    }
                    float gv = g[(bc * oh + y) * ow + xo] / count;
                    for (int iy = Math.max(y0, 0); iy < Math.min(y0 + k[0], h); iy++) {
                        for (int ix = Math.max(x0, 0); ix < Math.min(x0 + k[1], w); ix++) {
                            o[(bc * h + iy) * w + ix] += gv;
                        }
                    }
                }
            }
        }
        return new Tensor(o, inShape);
    }

    public static Tensor sumToShape(Tensor grad, int[] shape) {
        int[] gs = grad.shape();
        if (java.util.Arrays.equals(gs, shape)) {
            return grad;
        }
        // Strides of the target inside the gradient's shape: 0 where the target was broadcast.
        int[] full = new int[gs.length];
        int off = gs.length - shape.length;
        for (int i = 0; i < gs.length; i++) {
            full[i] = i < off ? 1 : shape[i - off];
        }
        int[] fs = Shapes.strides(full);
        double[] acc = new double[Math.toIntExact(Shapes.size(shape))];
        int[] idx = new int[gs.length];
        float[] g = grad.data();
        for (int i = 0; i < g.length; i++) {
            int o = 0;
            for (int k = 0; k < gs.length; k++) {
                o += (full[k] == 1 ? 0 : idx[k]) * fs[k];
            }
            acc[o] += g[i];
            for (int k = gs.length - 1; k >= 0; k--) {
                if (++idx[k] < gs[k]) break;
                idx[k] = 0;
            }
        }
        return new Tensor(toFloat(acc), shape);
    }

    public static Tensor sliceBackward(Tensor gradOut, int[] inShape, int[] starts, int[] axes, int[] steps) {
        int rank = inShape.length;
        int[] start = new int[rank];
        int[] step = new int[rank];
        java.util.Arrays.fill(step, 1);
        for (int i = 0; i < axes.length; i++) {
            start[axes[i]] = starts[i];
            step[axes[i]] = steps[i];
        }
        int[] os = gradOut.shape();
        int[] is = Shapes.strides(inShape);
        Tensor out = Tensor.zeros(inShape);
        int[] idx = new int[rank];
        for (int i = 0; i < gradOut.size(); i++) {
            int dst = 0;
            for (int k = 0; k < rank; k++) {
                dst += (start[k] + idx[k] * step[k]) * is[k];
            }
            out.data()[dst] += gradOut.data()[i];
            for (int k = rank - 1; k >= 0; k--) {
                if (++idx[k] < os[k]) break;
                idx[k] = 0;
            }
        }
        return out;
    }

    public static Backend.BnStatLoss bnStatisticLoss(Tensor x, float[] mean, float[] std, float eps) {
        int n = x.dim(0), c = x.dim(1);
        int hw = x.size() / (n * c);
        float[] xd = x.data();
        float[] g = new float[xd.length];
        double loss = 0;
        for (int b = 0; b < n; b++) {
            for (int ch = 0; ch < c; ch++) {
                int base = (b * c + ch) * hw;
                double m = 0;
                for (int i = 0; i < hw; i++) m += xd[base + i];
                m /= hw;
                double ss = 0;
                for (int i = 0; i < hw; i++) {
                    double dv = xd[base + i] - m;
                    ss += dv * dv;
                }
                // Unbiased variance as torch.var; a single pixel has none, so only the mean term counts there.
                double s = hw > 1 ? Math.sqrt(ss / (hw - 1) + eps) : Math.sqrt(eps);
                double dm = m - mean[ch];
                double ds = s - std[ch];
                loss += dm * dm + (hw > 1 ? ds * ds : 0);
                double gm = 2 * dm / hw / n;
                double gs = hw > 1 ? 2 * ds / ((hw - 1) * s) / n : 0;
                for (int i = 0; i < hw; i++) {
                    g[base + i] = (float) (gm + gs * (xd[base + i] - m));
                }
            }
        }
        return new Backend.BnStatLoss(loss / n, new Tensor(g, x.shape()));
    }

    public static float[] toFloat(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) f[i] = (float) a[i];
        return f;
    }
}
