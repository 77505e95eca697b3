package dev.zeroq.backend.cpu;

/*
 * A convolution compiled for inference: the weights packed once into the GEMM micro-kernel's layout, and the
 * bias, an optional residual and an activation applied while each output tile leaves the registers, so a
 * Conv→BatchNorm→Add→ReLU chain (the BatchNorm folded beforehand) is one pass over its output instead of four.
 */

import dev.zeroq.backend.Activation;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.util.Arrays;

import static dev.zeroq.backend.cpu.Sgemm.MR;
import static dev.zeroq.backend.cpu.Sgemm.NR;
import static dev.zeroq.backend.cpu.Sgemm.S;
import static dev.zeroq.backend.cpu.Sgemm.V;

/**
 * {@code out = act(conv2d(x, w) + bias + residual)}, with residual and act optional; equal to the cpu backend's
 * conv2d, binary ADD and activation run one after the other, up to float32 summation order (the parity test
 * compares it with the ref backend's ops).
 *
 * <p>General and grouped convs run as out_g = W_g · col on the micro-kernel of {@link Sgemm}: W_g is packed at
 * construction into MR-row strips over the whole K = cinG·kh·kw, and im2col writes the input patches straight
 * into NR-column strips, so neither operand is repacked per call and there is no k blocking (K of a CNN layer
 * is at most a few thousand; one A strip stays in L1 while the B strips of a tile stream from L2). Depthwise
 * convs run a direct vector loop over the same phase-plane grid (see {@link #depthwise}) with the same epilogue.
 *
 * <p>Immutable after construction and safe to run from several threads at once.
 */
public final class FusedConv {
    /** One task's patch panel (K × tile pixels) in floats: 256 KiB, so it stays in a core's L2. */
    static final int PANEL_BUDGET = 1 << 16;

    private final ConvSpec spec;
    private final int cout, cinG, kh, kw, group, coutG, k, strips;
    private final boolean depthwise;
    /** Lowered: per group, {@link #strips} MR-row strips of K × MR floats; depthwise: the weights as given. */
    private final float[] packed;
    /** Cout values (zeros when the conv has none). */
    private final float[] bias;
    private final Activation act;
    /**
     * The activation resolved once: the epilogue runs per vector, and a type switch there (an invokedynamic
     * dispatch per call) kept it from being inlined.
     */
    private final int actKind;
    private final float clipMin, clipMax;
    private static final int ACT_NONE = 0, ACT_RELU = 1, ACT_CLIP = 2, ACT_OTHER = 3;

    /**
     * @param w    (Cout, Cin/group, kh, kw)
     * @param bias (Cout) or null
     * @param act  the activation applied last, or null for none
     */
    public FusedConv(Tensor w, Tensor bias, ConvSpec spec, Activation act) {
        if (w.rank() != 4) {
            throw new IllegalArgumentException("conv: weight must be (Cout, Cin/group, kh, kw), got "
                    + Arrays.toString(w.shape()));
        }
        this.spec = spec;
        this.cout = w.dim(0);
        this.cinG = w.dim(1);
        this.kh = w.dim(2);
        this.kw = w.dim(3);
        this.group = spec.group();
        if (cout % group != 0) {
            throw new IllegalArgumentException("conv: " + cout + " output channels do not split into " + group
                    + " groups");
        }
        if (bias != null && bias.size() != cout) {
            throw new IllegalArgumentException("conv: bias has " + bias.size() + " values, need " + cout);
        }
        this.coutG = cout / group;
        this.k = Math.multiplyExact(Math.multiplyExact(cinG, kh), kw);
        this.act = act;
        this.actKind = switch (act) {
            case null -> ACT_NONE;
            case Activation.Relu r -> ACT_RELU;
            case Activation.Clip c -> ACT_CLIP;
            default -> ACT_OTHER;
        };
        this.clipMin = act instanceof Activation.Clip c ? c.min() : 0f;
        this.clipMax = act instanceof Activation.Clip c ? c.max() : 0f;
        this.bias = bias == null ? new float[cout] : bias.data().clone();
        this.depthwise = cinG == 1 && coutG == 1;
        if (depthwise) {
            this.strips = 0;
            this.packed = w.data().clone();
        } else {
            this.strips = Math.ceilDiv(coutG, MR);
            this.packed = pack(w.data(), group, coutG, k, strips);
        }
    }

    /**
     * Strip s of group g holds, for each p in [0, K), the MR weights W[g·coutG + s·MR + i][p] contiguously
     * (rows past coutG zero): the layout {@link Sgemm#kernel} reads A in.
     */
    private static float[] pack(float[] w, int group, int coutG, int k, int strips) {
        float[] a = new float[Math.toIntExact((long) group * strips * MR * k)];
        for (int g = 0; g < group; g++) {
            for (int s = 0; s < strips; s++) {
                int base = (g * strips + s) * k * MR;
                for (int i = 0; i < MR && s * MR + i < coutG; i++) {
                    int src = (g * coutG + s * MR + i) * k;
                    for (int p = 0; p < k; p++) {
                        a[base + p * MR + i] = w[src + p];
                    }
                }
            }
        }
        return a;
    }

    /** (N, Cout, outH, outW) for an input of shape (N, Cin, H, W). */
    public int[] outputShape(int[] in) {
        return new int[] {in[0], cout, spec.outH(in[2]), spec.outW(in[3])};
    }

    /** Runs into a new tensor. */
    public Tensor apply(CpuBackend backend, Tensor x, Tensor residual) {
        Tensor out = Tensor.zeros(outputShape(x.shape()));
        run(backend, x, residual, out);
        return out;
    }

    /**
     * Writes act(conv(x) + bias + residual) into {@code out}, every element of it (out's old contents are never
     * read, so it may be a reused buffer).
     *
     * @param residual null, or a tensor of out's shape
     */
    public void run(CpuBackend backend, Tensor x, Tensor residual, Tensor out) {
        if (x.rank() != 4 || x.dim(1) != cinG * group) {
            throw new IllegalArgumentException("conv: input " + Arrays.toString(x.shape()) + " does not fit "
                    + cinG * group + " input channels");
        }
        int[] want = outputShape(x.shape());
        if (!Arrays.equals(out.shape(), want)) {
            throw new IllegalArgumentException("conv: output " + Arrays.toString(out.shape()) + ", need "
                    + Arrays.toString(want));
        }
        if (residual != null && !Arrays.equals(residual.shape(), want)) {
            throw new IllegalArgumentException("conv: residual " + Arrays.toString(residual.shape()) + ", need "
                    + Arrays.toString(want));
        }
        if (out.size() == 0) {
            return;
        }
        float[] res = residual == null ? null : residual.data();
        if (depthwise) {
            depthwise(backend.parallel(), x, res, out);
        } else {
            lowered(backend.parallel(), x, res, out);
        }
    }

    /**
     * One task per (image, group, column tile). The image's group of input channels is first copied, zero
     * padded, into stride-phase planes (phase (ry, rx) of a channel holds padded pixels (s·i + ry, s·j + rx)), so
     * that every tap of the conv becomes a constant shift of a "grid" of hq × wq columns: output pixel (oy, ox)
     * is grid column oy·wq + ox, and tap (ci, ky, kx) reads its phase plane at that column plus
     * (ky·d/s)·wq + kx·d/s. A B strip is then NR consecutive floats per tap (two vector copies, no im2col
     * segments). Grid columns with ox ≥ outW are computed and dropped by the epilogue (wq − outW of every wq,
     * e.g. 2 of 30 for a 3×3 pad-1 conv on 28 columns). A 1×1 stride-1 unpadded conv reads its input in place.
     */
    private void lowered(Parallel par, Tensor x, float[] res, Tensor out) {
        int n = x.dim(0), cin = x.dim(1), h = x.dim(2), wd = x.dim(3);
        int oh = out.dim(2), ow = out.dim(3);
        Grid g = new Grid(spec, kh, kw, h, wd, oh, ow, cinG);
        int ohw = Math.multiplyExact(oh, ow), hw = Math.multiplyExact(h, wd);
        long planes = (long) n * group;
        int maxCols = Math.max(NR, PANEL_BUDGET / k / NR * NR);
        // Same rule as the backend's conv: a layer this small costs less than handing tiles to other threads.
        boolean serial = (long) n * cout * ohw * k < ConvLowering.SERIAL_MAX_FMAS;
        int wanted = serial ? 1 : (int) Math.min(Math.ceilDiv(2L * par.threads(), planes), Math.ceilDiv(g.cols, NR));
        int tilesPerPlane = Math.max(Math.ceilDiv(g.cols, maxCols), wanted);
        int tile = Math.min(Sgemm.roundUp(Math.ceilDiv(g.cols, tilesPerPlane), NR), maxCols);
        int tiles = Math.ceilDiv(g.cols, tile);
        int tasks = Math.toIntExact(Math.multiplyExact(planes, (long) tiles));
        float[] xd = x.data(), o = out.data();
        java.util.function.IntConsumer task = t -> {
            int b = t / (group * tiles), grp = (t / tiles) % group, c0 = (t % tiles) * tile;
            int cols = Math.min(tile, g.cols - c0);
            int bStrips = Math.ceilDiv(cols, NR);
            int stripLen = k * NR;
            int xOff = (b * cin + grp * cinG) * hw;
            float[] src;
            int base;
            if (g.direct) {
                src = xd;
                base = xOff;
            } else {
                src = Scratch.get(Scratch.PAD, g.length);
                base = 0;
                g.fill(xd, xOff, h, wd, src);
            }
            float[] panel = Scratch.get(Scratch.COL, Math.multiplyExact(bStrips, stripLen));
            for (int sb = 0; sb < bStrips; sb++) {
                packStrip(src, base + c0 + sb * NR, g.shift, panel, sb * stripLen);
            }
            float[] acc = Scratch.get(Scratch.TILE, MR * NR);
            for (int sa = 0; sa < strips; sa++) {
                int row0 = grp * coutG + sa * MR;
                int mr = Math.min(MR, coutG - sa * MR);
                int ai = (grp * strips + sa) * k * MR;
                int outRow = (b * cout + row0) * ohw;
                for (int sb = 0; sb < bStrips; sb++) {
                    Sgemm.kernel(k, packed, ai, panel, sb * stripLen, acc);
                    store(acc, mr, row0, res, o, outRow, ohw, g, c0 + sb * NR, Math.min(c0 + cols, c0 + sb * NR + NR));
                }
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
     * Depthwise: per (image, channel) plane, the plane is copied into its phase planes and the grid columns are
     * computed V at a time, each tap one vector load at its shift and one FMA, into a grid-row buffer whose rows
     * are then cut into the output with the epilogue. Small planes gain most from the flat grid: a 7 × 7 output
     * is 4 vectors of 16 lanes, not 7 rows of one vector each.
     */
    private void depthwise(Parallel par, Tensor x, float[] res, Tensor out) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
        int oh = out.dim(2), ow = out.dim(3);
        Grid g = new Grid(spec, kh, kw, h, wd, oh, ow, 1);
        int hw = h * wd, ohw = oh * ow, taps = kh * kw;
        int[] shift = g.shift;
        float[] xd = x.data(), o = out.data();
        int gridLen = Sgemm.roundUp(g.cols, V) + V; // the last row's full-vector load may pass g.cols
        par.forChunks(n * c, par.chunksFor(out.size()), (lo, hi) -> {
            float[] buf = Scratch.get(Scratch.PAD, g.length);
            float[] grid = Scratch.get(Scratch.COL, gridLen);
            // Zeroed once per chunk, not per plane: copy rewrites the same pixels of every plane.
            Arrays.fill(buf, 0, g.length, 0f);
            for (int plane = lo; plane < hi; plane++) {
                int ch = plane % c;
                g.copy(xd, plane * hw, h, wd, buf);
                int wOff = ch * taps;
                FloatVector b0 = FloatVector.broadcast(S, bias[ch]);
                for (int j = 0; j < g.cols; j += V) {
                    FloatVector acc = b0;
                    for (int t = 0; t < taps; t++) {
                        acc = FloatVector.fromArray(S, buf, shift[t] + j)
                                .fma(FloatVector.broadcast(S, packed[wOff + t]), acc);
                    }
                    acc.intoArray(grid, j);
                }
                // The grid's rows, less their wq − ow dropped columns, are the output rows. Cutting them out of
                // a buffer rather than out of each accumulator keeps every vector inside this loop (one passed
                // to a helper that is not inlined is boxed) and each store a single masked op per row.
                int outPlane = plane * ohw;
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox += V) {
                        int src = oy * g.wq + ox, dst = outPlane + oy * ow + ox;
                        VectorMask<Float> m = S.indexInRange(ox, ow);
                        FloatVector v = FloatVector.fromArray(S, grid, src);
                        if (res != null) {
                            v = v.add(FloatVector.fromArray(S, res, dst, m));
                        }
                        if (actKind == ACT_RELU) {
                            v = FloatVector.zero(S).blend(v, v.compare(VectorOperators.GT, 0f));
                        } else if (actKind == ACT_CLIP) {
                            v = v.max(clipMin).min(clipMax);
                        } else if (actKind == ACT_OTHER) {
                            v = CpuBackend.activate(act, v);
                        }
                        v.intoArray(o, dst, m);
                    }
                }
            }
        });
    }

    /**
     * Lanes [a, z) set, 0 ≤ a < z ≤ V, as mask bits. Masks are built from bits with {@code VectorMask.fromLong}:
     * {@code indexInRange} with a negative offset (a run that starts mid-vector) takes a slow, non-intrinsic path.
     */
    private static long lanes(int a, int z) {
        return (-1L >>> (64 - z)) & (-1L << a);
    }

    /**
     * One B strip: for each tap p, the NR floats at {@code src[at + shift[p]]}. Near the end of {@code src} the
     * load is masked; lanes past it are zero (they belong to dropped grid columns).
     */
    private static void packStrip(float[] src, int at, int[] shift, float[] panel, int dst) {
        for (int p = 0; p < shift.length; p++, dst += NR) {
            int from = at + shift[p];
            if (from + NR <= src.length) {
                FloatVector.fromArray(S, src, from).intoArray(panel, dst);
                FloatVector.fromArray(S, src, from + V).intoArray(panel, dst + V);
            } else {
                FloatVector.fromArray(S, src, from, S.indexInRange(from, src.length)).intoArray(panel, dst);
                FloatVector.fromArray(S, src, from + V, S.indexInRange(from + V, src.length)).intoArray(panel, dst + V);
            }
        }
    }

    /**
     * Where a conv's taps sit in its input copied to stride-phase planes. Example: 3×3, stride 1, pads 1 on
     * 28 × 28: one phase, wq = 30, tap (ci, ky, kx) at ci·(30·30) + ky·30 + kx; output (oy, ox) is column
     * oy·30 + ox, 838 columns in all.
     */
    static final class Grid {
        final int sh, sw, padTop, padLeft, hq, wq, planeLen, phases, length, cols, ow, cinG;
        /** In place: a 1×1, stride-1, unpadded conv, whose input plane already is the grid. */
        final boolean direct;
        /** Per tap p = (ci, ky, kx): its offset in the planes. */
        final int[] shift;
        /** Phases some tap reads; the others are left zero. */
        final boolean[] usedPhase;
        /** Bit l of {@code phaseLanes[q]} is set when l % sw == q (l < V): the lanes of one column phase. */
        final long[] phaseLanes;

        /** Taps kh × kw as the weights have them (as the backend's conv2d reads them). */
        Grid(ConvSpec spec, int kh, int kw, int h, int w, int oh, int ow, int cinG) {
            int[] st = spec.strides(), p = spec.pads(), d = spec.dilations();
            this.sh = st[0];
            this.sw = st[1];
            this.padTop = p[0];
            this.padLeft = p[1];
            this.ow = ow;
            this.cinG = cinG;
            this.direct = kh == 1 && kw == 1 && sh == 1 && sw == 1 && p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 0;
            this.hq = Math.ceilDiv(h + p[0] + p[2], sh);
            this.wq = Math.ceilDiv(w + p[1] + p[3], sw);
            this.planeLen = Math.multiplyExact(hq, wq);
            this.phases = sh * sw;
            // Slack after the last plane: the last strip reads up to NR columns past the grid.
            this.length = Math.addExact(Math.multiplyExact(Math.multiplyExact(cinG, phases), planeLen), planeLen + NR);
            this.cols = (oh - 1) * wq + ow;
            this.shift = new int[Math.multiplyExact(cinG, kh * kw)];
            this.usedPhase = new boolean[phases];
            this.phaseLanes = new long[sw];
            for (int l = 0; l < V; l++) {
                phaseLanes[l % sw] |= 1L << l;
            }
            int i = 0;
            for (int ci = 0; ci < cinG; ci++) {
                for (int ky = 0; ky < kh; ky++) {
                    for (int kx = 0; kx < kw; kx++) {
                        int ry = ky * d[0], rx = kx * d[1];
                        int phase = (ry % sh) * sw + rx % sw;
                        usedPhase[phase] = true;
                        shift[i++] = (ci * phases + phase) * planeLen + (ry / sh) * wq + rx / sw;
                    }
                }
            }
        }

        /**
         * Copies cinG planes of h × w at {@code x[xOff ..]} into the zero-padded phase planes of {@code buf}, V
         * floats per op: a masked load and store per row piece (stride 1); for stride sw > 1 a load per row piece,
         * compressed once per column phase. Masked stores: a full one would spill into rows already written.
         */
        void fill(float[] x, int xOff, int h, int w, float[] buf) {
            Arrays.fill(buf, 0, length, 0f);
            copy(x, xOff, h, w, buf);
        }

        /**
         * {@link #fill} less the zeroing: writes only the positions that hold input pixels, the same ones for
         * every plane of this grid, so a buffer filled once keeps its zero padding through any number of copies.
         */
        void copy(float[] x, int xOff, int h, int w, float[] buf) {
            for (int ci = 0; ci < cinG; ci++) {
                for (int iy = 0; iy < h; iy++) {
                    int r = iy + padTop;
                    int rowBase = (ci * phases + (r % sh) * sw) * planeLen + (r / sh) * wq;
                    int src = xOff + (ci * h + iy) * w;
                    if (sw == 1) {
                        if (usedPhase[(r % sh) * sw]) {
                            int dst = rowBase + padLeft;
                            for (int c = 0; c < w; c += V) {
                                VectorMask<Float> m = S.indexInRange(c, w);
                                FloatVector.fromArray(S, x, src + c, m).intoArray(buf, dst + c, m);
                            }
                        }
                        continue;
                    }
                    // Each V-column piece of the row is loaded once and compressed into each phase that is read.
                    for (int c0 = 0; c0 < w; c0 += V) {
                        int n = Math.min(V, w - c0);
                        FloatVector v = FloatVector.fromArray(S, x, src + c0, S.indexInRange(c0, w));
                        for (int rx = 0; rx < sw; rx++) {
                            if (!usedPhase[(r % sh) * sw + rx]) {
                                continue; // e.g. a 1×1 stride-2 conv reads only the even rows and columns
                            }
                            // Lanes l with (c0 + l + padLeft) % sw == rx; they go to consecutive phase
                            // positions from (c0 + l + padLeft) / sw.
                            long bits = phaseLanes[Math.floorMod(rx - c0 - padLeft, sw)] & (-1L >>> (64 - n));
                            if (bits == 0) {
                                continue;
                            }
                            int dst = rowBase + rx * planeLen + (c0 + Long.numberOfTrailingZeros(bits) + padLeft) / sw;
                            v.compress(VectorMask.fromLong(S, bits))
                                    .intoArray(buf, dst, VectorMask.fromLong(S, lanes(0, Long.bitCount(bits))));
                        }
                    }
                }
            }
        }
    }

    /**
     * The epilogue for one micro-tile, grid columns [j0, j1): o[outRow + i·ld + pixel] = act(acc[i][lane] +
     * bias[row0 + i] + res[same index]) for its mr rows, the additions in the order of the unfused ops (conv +
     * bias, then + residual). The tile's lanes are cut at grid-row ends: lane l of the run in grid row oy is
     * pixel oy·ow + (j0 + l − oy·wq), so each run is one masked vector op per row and vector.
     */
    private void store(float[] acc, int mr, int row0, float[] res, float[] o, int outRow, int ld, Grid g,
                       int j0, int j1) {
        if (g.wq == g.ow) {
            // No dropped columns (a 1×1 unpadded conv): the tile is one run, not one per output row it touches.
            storeRun(acc, mr, row0, res, o, ld, 0, j1 - j0, outRow + j0);
            return;
        }
        for (int oy = j0 / g.wq; oy * g.wq < j1; oy++) {
            int lo = Math.max(j0, oy * g.wq) - j0, hi = Math.min(j1, oy * g.wq + g.ow) - j0;
            if (hi > lo) {
                storeRun(acc, mr, row0, res, o, ld, lo, hi, outRow + oy * g.ow - oy * g.wq + j0);
            }
        }
    }

    /** Lanes [lo, hi) of the tile's mr rows, lane l of row i to {@code o[lane0 + i·ld + l]}. */
    private void storeRun(float[] acc, int mr, int row0, float[] res, float[] o, int ld, int lo, int hi,
                          int lane0) {
        for (int h = 0; h < NR; h += V) {
            int a = Math.max(lo, h), z = Math.min(hi, h + V);
            if (z <= a) {
                continue;
            }
            boolean full = z - a == V;
            VectorMask<Float> m = VectorMask.fromLong(S, lanes(a - h, z - h));
            // Vectors stay inside this method: passed to a call that is not inlined, each would be boxed.
            for (int i = 0; i < mr; i++) {
                int dst = lane0 + i * ld + h;
                FloatVector v = FloatVector.fromArray(S, acc, i * NR + h).add(bias[row0 + i]);
                if (res != null) {
                    v = v.add(full ? FloatVector.fromArray(S, res, dst) : FloatVector.fromArray(S, res, dst, m));
                }
                if (actKind == ACT_RELU) {
                    // blend as in CpuBackend: NaN and −0 map to +0 as in "x > 0 ? x : 0".
                    v = FloatVector.zero(S).blend(v, v.compare(VectorOperators.GT, 0f));
                } else if (actKind == ACT_CLIP) {
                    v = v.max(clipMin).min(clipMax);
                } else if (actKind == ACT_OTHER) {
                    v = CpuBackend.activate(act, v);
                }
                if (full) {
                    v.intoArray(o, dst);
                } else {
                    v.intoArray(o, dst, m);
                }
            }
        }
    }
}
