package dev.zeroq.backend.cpu;

/*
 * Conv2d lowered for the cpu backend: im2col tiles fed to Sgemm for general and grouped convs, the input
 * used in place for 1×1 stride-1 convs, and a direct vectorized loop for depthwise convs.
 */

import dev.zeroq.backend.ConvSpec;
import dev.zeroq.tensor.Shapes;
import dev.zeroq.tensor.Tensor;
import jdk.incubator.vector.FloatVector;

import java.util.Arrays;

import static dev.zeroq.backend.cpu.Sgemm.S;
import static dev.zeroq.backend.cpu.Sgemm.V;

final class ConvLowering {
    private ConvLowering() {}

    /**
     * Budget for one im2col tile, in floats (1 MiB): big enough that a tile spans hundreds of output pixels
     * (so A is packed rarely), small enough that threads × budget stays modest and the tile stays in L2/L3.
     */
    static final int COL_BUDGET = 1 << 18;
    /** Below this many multiply-adds (about 50 µs of one core) a conv runs on the caller's thread. */
    static final long SERIAL_MAX_FMAS = 1L << 22;

    static Tensor conv2d(Parallel par, Tensor x, Tensor w, Tensor bias, ConvSpec s) {
        int n = x.dim(0), cin = x.dim(1), h = x.dim(2), wd = x.dim(3);
        int cout = w.dim(0), cinG = w.dim(1), kh = w.dim(2), kw = w.dim(3);
        int g = s.group();
        s.checkChannels(cin, w.shape());
        if (bias != null && bias.size() != cout) {
            throw new IllegalArgumentException("conv: bias has " + bias.size() + " values, need " + cout);
        }
        // Shapes.size rejects a negative size and checks the product for overflow; an empty output is
        // returned as is, as ref does.
        Tensor out = Tensor.zeros(n, cout, s.outH(h), s.outW(wd));
        if (out.size() == 0) {
            return out;
        }
        if (g == cin && cout == cin) {
            depthwise(par, x, w, bias, s, out);
        } else {
            lowered(par, x, w, bias, s, out);
        }
        return out;
    }

    /**
     * Per image and group, out_g (coutG × OH·OW) = W_g (coutG × K) · col (K × OH·OW) with K = cinG·kh·kw.
     * The pixel axis is cut into tiles so that one task's im2col buffer stays within {@link #COL_BUDGET}
     * and there are enough tasks to keep every thread busy even at batch 1.
     */
    private static void lowered(Parallel par, Tensor x, Tensor w, Tensor bias, ConvSpec s, Tensor out) {
        int n = x.dim(0), cin = x.dim(1), h = x.dim(2), wd = x.dim(3);
        int cout = w.dim(0), cinG = w.dim(1), kh = w.dim(2), kw = w.dim(3);
        int g = s.group(), coutG = cout / g;
        int oh = out.dim(2), ow = out.dim(3);
        int[] st = s.strides(), p = s.pads(), d = s.dilations();
        int k = Math.toIntExact(Shapes.size(cinG, kh, kw));
        int ohw = Math.multiplyExact(oh, ow);
        int hw = Math.multiplyExact(h, wd);
        // 1×1, stride 1, no padding: the input plane block (cinG × H·W) already is the B matrix.
        boolean pointwise = kh == 1 && kw == 1 && st[0] == 1 && st[1] == 1
                && p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 0;

        int maxCols = pointwise ? ohw : Math.max(Sgemm.NR, COL_BUDGET / Math.max(k, 1) / Sgemm.NR * Sgemm.NR);
        long planes = (long) n * g;
        // A small conv (a batch-1 layer of a small CNN) costs less than handing tiles to other threads and
        // waiting for them: run it on the caller's thread.
        boolean serial = (long) n * cout * ohw * k < SERIAL_MAX_FMAS;
        int wanted = serial ? 1 : (int) Math.min(Math.ceilDiv(2L * par.threads(), planes), Math.ceilDiv(ohw, Sgemm.NR));
        int tilesPerPlane = Math.max(Math.ceilDiv(ohw, maxCols), wanted);
        // Round tiles to whole NR strips so only a plane's last tile has a ragged micro-kernel edge.
        int tile = Math.min(Sgemm.roundUp(Math.ceilDiv(ohw, tilesPerPlane), Sgemm.NR), Math.max(maxCols, 1));
        int tiles = Math.ceilDiv(ohw, tile);
        int tasks = Math.toIntExact(Math.multiplyExact(planes, (long) tiles));

        float[] xd = x.data(), wdat = w.data(), o = out.data();
        float[] bd = bias == null ? null : bias.data();
        java.util.function.IntConsumer task = t -> {
            int b = t / (g * tiles), grp = (t / tiles) % g, j0 = (t % tiles) * tile;
            int cols = Math.min(tile, ohw - j0);
            int cOff = (b * cout + grp * coutG) * ohw + j0;
            float beta = 0f;
            if (bd != null) {
                // Bias fused: pre-fill the C tile and let the GEMM accumulate onto it (beta = 1).
                for (int r = 0; r < coutG; r++) {
                    Arrays.fill(o, cOff + r * ohw, cOff + r * ohw + cols, bd[grp * coutG + r]);
                }
                beta = 1f;
            }
            int xOff = (b * cin + grp * cinG) * hw;
            if (pointwise) {
                Sgemm.gemm(coutG, cols, k, 1f, wdat, grp * coutG * k, k, false,
                        xd, xOff + j0, hw, false, beta, o, cOff, ohw);
            } else {
                float[] col = Scratch.get(Scratch.COL, Math.multiplyExact(k, cols));
                im2col(xd, xOff, h, wd, cinG, kh, kw, st, p, d, ow, j0, cols, col);
                Sgemm.gemm(coutG, cols, k, 1f, wdat, grp * coutG * k, k, false,
                        col, 0, cols, false, beta, o, cOff, ohw);
            }
        };
        if (serial) {
            for (int t = 0; t < tasks; t++) {
                task.accept(t);
            }
        } else {
            par.forEach(tasks, task);
        }
    }

    /**
     * Writes the K × cols patch matrix for output pixels [j0, j0+cols): row (ci, ky, kx), column j holds the
     * input under tap (ky, kx) of pixel j, or 0 in the padding. Each output row's valid span is computed
     * once so the inner copy has no bounds test (an arraycopy at stride 1).
     */
    static void im2col(float[] xd, int xOff, int h, int w, int cinG, int kh, int kw, int[] st, int[] p, int[] d,
                       int ow, int j0, int cols, float[] col) {
        int sh = st[0], sw = st[1];
        int dst = 0;
        for (int ci = 0; ci < cinG; ci++) {
            int plane = xOff + ci * h * w;
            for (int ky = 0; ky < kh; ky++) {
                for (int kx = 0; kx < kw; kx++) {
                    int ixOff = kx * d[1] - p[1];
                    // Output columns whose tap lands inside the row: 0 <= ox·sw + ixOff < w.
                    int oxLo = Math.max(0, Math.ceilDiv(-ixOff, sw));
                    int oxHi = Math.min(ow, Math.ceilDiv(w - ixOff, sw));
                    int j = j0, end = j0 + cols;
                    while (j < end) {
                        int oy = j / ow, ox0 = j - oy * ow;
                        int ox1 = Math.min(ow, ox0 + (end - j));
                        int iy = oy * sh - p[0] + ky * d[0];
                        if (iy < 0 || iy >= h) {
                            Arrays.fill(col, dst, dst + (ox1 - ox0), 0f);
                            dst += ox1 - ox0;
                        } else {
                            int lo = Math.min(Math.max(ox0, oxLo), ox1), hi = Math.max(Math.min(ox1, oxHi), lo);
                            Arrays.fill(col, dst, dst + (lo - ox0), 0f);
                            dst += lo - ox0;
                            int src = plane + iy * w + lo * sw + ixOff;
                            if (sw == 1) {
                                System.arraycopy(xd, src, col, dst, hi - lo);
                                dst += hi - lo;
                            } else {
                                for (int ox = lo; ox < hi; ox++, src += sw) {
                                    col[dst++] = xd[src];
                                }
                            }
                            Arrays.fill(col, dst, dst + (ox1 - hi), 0f);
                            dst += ox1 - hi;
                        }
                        j += ox1 - ox0;
                    }
                }
            }
        }
    }

    /**
     * Depthwise (group == Cin == Cout): one task per (image, channel) plane, no GEMM (K would be 9). The plane
     * is copied into a {@link PhasePlane} so every tap of V consecutive output pixels is one vector load.
     */
    private static void depthwise(Parallel par, Tensor x, Tensor w, Tensor bias, ConvSpec s, Tensor out) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
        int kh = w.dim(2), kw = w.dim(3);
        int oh = out.dim(2), ow = out.dim(3);
        int[] st = s.strides(), p = s.pads(), d = s.dilations();
        PhasePlane pp = new PhasePlane(h, wd, ow, kw, st[1], d[1], p[1]);
        int hw = h * wd, ohw = oh * ow, taps = kh * kw;
        float[] xd = x.data(), wdat = w.data(), o = out.data();
        float[] bd = bias == null ? null : bias.data();
        par.forChunks(n * c, par.chunksFor(out.size()), (lo, hi) -> {
            for (int plane = lo; plane < hi; plane++) {
                int ch = plane % c;
                float[] buf = Scratch.get(Scratch.PLANE, pp.length);
                pp.fill(xd, plane * hw, h, 0f, buf);
                int wOff = ch * taps;
                float b0 = bd == null ? 0f : bd[ch];
                int oOff = plane * ohw;
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox += V) {
                        FloatVector acc = FloatVector.broadcast(S, b0);
                        for (int ky = 0; ky < kh; ky++) {
                            int iy = oy * st[0] - p[0] + ky * d[0];
                            if (iy < 0 || iy >= h) {
                                continue; // a padded row contributes zero
                            }
                            for (int kx = 0; kx < kw; kx++) {
                                acc = FloatVector.fromArray(S, buf, pp.index(iy, kx, ox))
                                        .fma(FloatVector.broadcast(S, wdat[wOff + ky * kw + kx]), acc);
                            }
                        }
                        int dst = oOff + oy * ow + ox;
                        if (ox + V <= ow) {
                            acc.intoArray(o, dst);
                        } else {
                            acc.intoArray(o, dst, S.indexInRange(ox, ow));
                        }
                    }
                }
            }
        });
    }
}
