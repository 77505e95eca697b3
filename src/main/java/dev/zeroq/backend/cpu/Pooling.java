package dev.zeroq.backend.cpu;

/*
 * Max and average pooling for the cpu backend, vectorized over output columns through a PhasePlane, one
 * task per group of (image, channel) planes. Valid tap ranges and divisors are computed once per call.
 */

import dev.zeroq.backend.PoolSpec;
import dev.zeroq.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

import static dev.zeroq.backend.cpu.Sgemm.S;
import static dev.zeroq.backend.cpu.Sgemm.V;

final class Pooling {
    private Pooling() {}

    static Tensor pool(Parallel par, Tensor x, PoolSpec s, boolean max) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        int oh = s.outH(h), ow = s.outW(w);
        int[] k = s.kernel(), st = s.strides(), p = s.pads(), d = s.dilations();
        Tensor out = Tensor.zeros(n, c, oh, ow);
        if (out.size() == 0) {
            return out;
        }
        float[] o = out.data(), xd = x.data();
        int hw = h * w, ohw = oh * ow;
        // The clipped tap ranges depend only on the output row (resp. column), not on the plane: compute
        // them once instead of dividing per output pixel.
        Taps rows = new Taps(oh, h, k[0], st[0], p[0], p[2], d[0]);
        Taps cols = new Taps(ow, w, k[1], st[1], p[1], p[3], d[1]);
        PhasePlane pp = new PhasePlane(h, w, ow, k[1], st[1], d[1], p[1]);
        float[] divisor = new float[ohw];
        for (int y = 0; y < oh; y++) {
            for (int xo = 0; xo < ow; xo++) {
                divisor[y * ow + xo] = s.countIncludePad()
                        ? rows.padded[y] * cols.padded[xo]
                        : Math.max(0, rows.hi[y] - rows.lo[y]) * Math.max(0, cols.hi[xo] - cols.lo[xo]);
            }
        }
        par.forChunks(n * c, par.chunksFor(xd.length), (lo, hi) -> {
            for (int plane = lo; plane < hi; plane++) {
                plane(xd, plane * hw, h, pp, o, plane * ohw, oh, ow, k[1], rows, d[0], max, divisor);
            }
        });
        return out;
    }

    /** Per output position along one axis: first input index and the valid tap range [lo, hi). */
    private static final class Taps {
        final int[] start, lo, hi, padded;

        Taps(int outLen, int in, int k, int stride, int padBegin, int padEnd, int dil) {
            start = new int[outLen];
            lo = new int[outLen];
            hi = new int[outLen];
            padded = new int[outLen];
            for (int o = 0; o < outLen; o++) {
                int i0 = o * stride - padBegin;
                start[o] = i0;
                // Taps t with 0 <= i0 + t·dil < in.
                lo[o] = Math.max(0, Math.ceilDiv(-i0, dil));
                hi[o] = Math.min(k, Math.ceilDiv(in - i0, dil));
                // count_include_pad: padded cells count, the part of a ceil_mode window past the end padding
                // does not (ONNX Runtime and PyTorch agree).
                padded[o] = Math.min(i0 + k, in + padEnd) - i0;
            }
        }
    }

    /**
     * One plane, V output pixels at a time: the plane is copied into a {@link PhasePlane} padded with −∞
     * (max) or 0 (average), so every column tap is a plain vector load; out-of-image rows are skipped.
     */
    private static void plane(float[] xd, int base, int h, PhasePlane pp, float[] o, int dst, int oh, int ow,
                              int kw, Taps rows, int dh, boolean max, float[] divisor) {
        float[] buf = Scratch.get(Scratch.PLANE, pp.length);
        pp.fill(xd, base, h, max ? Float.NEGATIVE_INFINITY : 0f, buf);
        for (int y = 0; y < oh; y++) {
            for (int xo = 0; xo < ow; xo += V) {
                FloatVector acc = FloatVector.broadcast(S, max ? Float.NEGATIVE_INFINITY : 0f);
                for (int ky = rows.lo[y]; ky < rows.hi[y]; ky++) {
                    int iy = rows.start[y] + ky * dh;
                    for (int kx = 0; kx < kw; kx++) {
                        FloatVector v = FloatVector.fromArray(S, buf, pp.index(iy, kx, xo));
                        acc = max ? acc.max(v) : acc.add(v); // max: same NaN/−0 rules as Math.max
                    }
                }
                int at = y * ow + xo;
                if (xo + V <= ow) {
                    if (!max) {
                        acc = acc.div(FloatVector.fromArray(S, divisor, at));
                    }
                    acc.intoArray(o, dst + at);
                } else {
                    VectorMask<Float> m = S.indexInRange(xo, ow);
                    if (!max) {
                        acc = acc.div(FloatVector.fromArray(S, divisor, at, m));
                    }
                    acc.intoArray(o, dst + at, m);
                }
            }
        }
    }
}
