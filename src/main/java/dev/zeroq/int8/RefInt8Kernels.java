// The reference integer kernels: the exact definition of int8 conv and gemm as plain loops, which the
// vectorized kernels are checked against bit for bit.
package dev.zeroq.int8;

import dev.zeroq.backend.ConvSpec;

/** Plain scalar loops, one image and one output value at a time. */
final class RefInt8Kernels implements Int8Kernels {

    @Override
    public String name() {
        return "int8-ref";
    }

    @Override
    public void conv(byte[] x, int n, int cin, int h, int wd, int zp, Weights weights, ConvSpec s, ConvSink sink) {
        byte[] w = codes(weights);
        int cout = weights.cout();
        int g = s.group();
        int cinG = cin / g, coutG = cout / g;
        int kh = s.kernel()[0], kw = s.kernel()[1];
        int[] st = s.strides(), p = s.pads(), d = s.dilations();
        int oh = s.outH(h), ow = s.outW(wd);
        int plane = Math.multiplyExact(oh, ow);
        int[] acc = new int[Math.multiplyExact(cout, plane)];
        for (int b = 0; b < n; b++) {
            for (int co = 0; co < cout; co++) {
                int grp = co / coutG;
                for (int y = 0; y < oh; y++) {
                    for (int xo = 0; xo < ow; xo++) {
                        int sum = 0;
                        for (int ci = 0; ci < cinG; ci++) {
                            int c = grp * cinG + ci;
                            for (int ky = 0; ky < kh; ky++) {
                                int iy = y * st[0] - p[0] + ky * d[0];
                                if (iy < 0 || iy >= h) continue; // padding: x = 0, code zp, contributes 0
                                for (int kx = 0; kx < kw; kx++) {
                                    int ix = xo * st[1] - p[1] + kx * d[1];
                                    if (ix < 0 || ix >= wd) continue;
                                    int qx = x[(int) ((((long) b * cin + c) * h + iy) * wd + ix)] & 0xFF;
                                    int qw = w[((co * cinG + ci) * kh + ky) * kw + kx];
                                    sum += (qx - zp) * qw;
                                }
                            }
                        }
                        acc[co * plane + y * ow + xo] = sum;
                    }
                }
            }
            sink.accept(b * plane, (b + 1) * plane, 0, cout, acc, 0, plane);
        }
    }

    @Override
    public void gemm(byte[] x, int m, int k, int zp, Weights weights, GemmSink sink) {
        byte[] w = codes(weights);
        int cout = weights.cout();
        int[] acc = new int[cout];
        for (int r = 0; r < m; r++) {
            for (int co = 0; co < cout; co++) {
                int sum = 0;
                for (int i = 0; i < k; i++) {
                    sum += ((x[(int) ((long) r * k + i)] & 0xFF) - zp) * w[co * k + i];
                }
                acc[co] = sum;
            }
            sink.accept(r, r + 1, acc, 0);
        }
    }

    /** The codes of weights prepared here without a copy, else a copy. */
    static byte[] codes(Weights w) {
        return w instanceof PreparedWeights p ? p.own() : w.codes();
    }
}
