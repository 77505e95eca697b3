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
 * convs use the direct loop of {@link ConvLowering} with the same epilogue.
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
            ConvLowering.depthwise(backend.parallel(), x, packed, kh, kw, bias, spec, res, act, out);
        } else {
            lowered(backend.parallel(), x, res, out);
        }
    }

    /**
     * One task per (image, group, pixel tile): im2col the tile's patches into NR-wide strips, then for every A
     * strip run the micro-kernel over each B strip and store through the epilogue.
     */
    private void lowered(Parallel par, Tensor x, float[] res, Tensor out) {
        int n = x.dim(0), cin = x.dim(1), h = x.dim(2), wd = x.dim(3);
        int oh = out.dim(2), ow = out.dim(3);
        int[] st = spec.strides(), p = spec.pads(), d = spec.dilations();
        int ohw = Math.multiplyExact(oh, ow), hw = Math.multiplyExact(h, wd);
        long planes = (long) n * group;
        int maxCols = Math.max(NR, PANEL_BUDGET / k / NR * NR);
        // Same rule as the backend's conv: a layer this small costs less than handing tiles to other threads.
        boolean serial = (long) n * cout * ohw * k < ConvLowering.SERIAL_MAX_FMAS;
        int wanted = serial ? 1 : (int) Math.min(Math.ceilDiv(2L * par.threads(), planes), Math.ceilDiv(ohw, NR));
        int tilesPerPlane = Math.max(Math.ceilDiv(ohw, maxCols), wanted);
        int tile = Math.min(Sgemm.roundUp(Math.ceilDiv(ohw, tilesPerPlane), NR), maxCols);
        int tiles = Math.ceilDiv(ohw, tile);
        int tasks = Math.toIntExact(Math.multiplyExact(planes, (long) tiles));
        float[] xd = x.data(), o = out.data();
        java.util.function.IntConsumer task = t -> {
            int b = t / (group * tiles), grp = (t / tiles) % group, j0 = (t % tiles) * tile;
            int cols = Math.min(tile, ohw - j0);
            int bStrips = Math.ceilDiv(cols, NR);
            int stripLen = k * NR;
            float[] panel = Scratch.get(Scratch.COL, Math.multiplyExact(bStrips, stripLen));
            int xOff = (b * cin + grp * cinG) * hw;
            for (int sb = 0; sb < bStrips; sb++) {
                int c = Math.min(NR, cols - sb * NR);
                if (c < NR) {
                    // The ragged last strip: its unused columns only reach output lanes the epilogue masks off,
                    // but zeros keep stale floats (NaN, subnormals) out of the kernel.
                    Arrays.fill(panel, sb * stripLen, (sb + 1) * stripLen, 0f);
                }
                ConvLowering.im2col(xd, xOff, h, wd, cinG, kh, kw, st, p, d, ow, j0 + sb * NR, c, panel,
                        sb * stripLen, NR);
            }
            float[] acc = Scratch.get(Scratch.TILE, MR * NR);
            for (int sa = 0; sa < strips; sa++) {
                int row0 = grp * coutG + sa * MR;
                int mr = Math.min(MR, coutG - sa * MR);
                int ai = (grp * strips + sa) * k * MR;
                int cRow = (b * cout + row0) * ohw + j0;
                for (int sb = 0; sb < bStrips; sb++) {
                    Sgemm.kernel(k, packed, ai, panel, sb * stripLen, acc);
                    store(acc, mr, Math.min(NR, cols - sb * NR), row0, res, o, cRow + sb * NR, ohw);
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
     * The epilogue: o[off + i·ld + j] = act(acc[i][j] + bias[row0 + i] + res[same index]) for the mr × nr
     * valid part of one micro-tile; the additions in the order of the unfused ops (conv + bias, then + residual).
     */
    private void store(float[] acc, int mr, int nr, int row0, float[] res, float[] o, int off, int ld) {
        for (int i = 0; i < mr; i++) {
            FloatVector bv = FloatVector.broadcast(S, bias[row0 + i]);
            int dst = off + i * ld;
            for (int j = 0; j < nr; j += V) {
                VectorMask<Float> m = S.indexInRange(j, nr);
                FloatVector v = FloatVector.fromArray(S, acc, i * NR + j).add(bv);
                if (m.allTrue()) {
                    if (res != null) {
                        v = v.add(FloatVector.fromArray(S, res, dst + j));
                    }
                    if (act != null) {
                        v = CpuBackend.activate(act, v);
                    }
                    v.intoArray(o, dst + j);
                } else {
                    if (res != null) {
                        v = v.add(FloatVector.fromArray(S, res, dst + j, m));
                    }
                    if (act != null) {
                        v = CpuBackend.activate(act, v);
                    }
                    v.intoArray(o, dst + j, m);
                }
            }
        }
    }
}
