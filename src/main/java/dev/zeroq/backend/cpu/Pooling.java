package dev.zeroq.backend.cpu;

/*
 * Max and average pooling for the cpu backend: scalar loops, one task per group of (image, channel)
 * planes. Window bounds are clipped once per output pixel, so the inner loops carry no padding tests.
 */

import dev.zeroq.backend.PoolSpec;
import dev.zeroq.tensor.Tensor;

final class Pooling {
    private Pooling() {}

    static Tensor pool(Parallel par, Tensor x, PoolSpec s, boolean max) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        int oh = s.outH(h), ow = s.outW(w);
        int[] k = s.kernel(), st = s.strides(), p = s.pads(), d = s.dilations();
        Tensor out = Tensor.zeros(n, c, oh, ow);
        float[] o = out.data(), xd = x.data();
        int hw = h * w, ohw = oh * ow;
        boolean includePad = s.countIncludePad();
        par.forChunks(n * c, 4 * par.threads(), (lo, hi) -> {
            for (int plane = lo; plane < hi; plane++) {
                int base = plane * hw, dst = plane * ohw;
                for (int y = 0; y < oh; y++) {
                    int y0 = y * st[0] - p[0];
                    // Taps ky with 0 <= y0 + ky·dh < h.
                    int kyLo = Math.max(0, Math.ceilDiv(-y0, d[0])), kyHi = Math.min(k[0], Math.ceilDiv(h - y0, d[0]));
                    for (int xo = 0; xo < ow; xo++) {
                        int x0 = xo * st[1] - p[1];
                        int kxLo = Math.max(0, Math.ceilDiv(-x0, d[1])), kxHi = Math.min(k[1], Math.ceilDiv(w - x0, d[1]));
                        float acc = max ? Float.NEGATIVE_INFINITY : 0f;
                        for (int ky = kyLo; ky < kyHi; ky++) {
                            int row = base + (y0 + ky * d[0]) * w + x0;
                            for (int kx = kxLo; kx < kxHi; kx++) {
                                float v = xd[row + kx * d[1]];
                                acc = max ? Math.max(acc, v) : acc + v;
                            }
                        }
                        if (!max) {
                            int count;
                            if (includePad) {
                                // Padded cells count, the part of a ceil_mode window past the end padding does not.
                                count = (Math.min(y0 + k[0], h + p[2]) - y0) * (Math.min(x0 + k[1], w + p[3]) - x0);
                            } else {
                                count = Math.max(0, kyHi - kyLo) * Math.max(0, kxHi - kxLo);
                            }
                            acc /= count;
                        }
                        o[dst + y * ow + xo] = acc;
                    }
                }
            }
        });
        return out;
    }
}
