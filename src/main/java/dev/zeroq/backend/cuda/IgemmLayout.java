// Which convolution kernel a layer runs on (direct, 64×128 or 128×128 implicit GEMM, the latter strict FP32 or, opt-in,
// on TF32 tensor cores) and the host-built operands of the implicit-GEMM kernels: rearranged weights, the k-table and,
// for the 128×128 backward-data kernels, the output phases. One place for DevicePlan (forward), CudaDistiller (backward-data), the kernel tests and ConvBenchHarness,
// so that the benchmark and the tests run exactly what the distiller plans.
package dev.zeroq.backend.cuda;

/** Static helpers; see kernels/conv2d_igemm.cuh and kernels/conv2d_igemm128.cuh for the layouts. */
final class IgemmLayout {
    private IgemmLayout() {}

    /** A convolution kernel family: its forward and backward-data kernel names and its block tile. */
    enum Kernel {
        DIRECT("conv2d_forward", "conv2d_backward_data", 0, 0),
        IGEMM64("conv2d_forward_igemm", "conv2d_backward_data_igemm", 64, 128),
        IGEMM128("conv2d_forward_igemm128", "conv2d_backward_data_igemm128", 128, 128),
        /** IGEMM128's operands, grid and phases, inner product on TF32 tensor cores (sm_80+; opt-in, --tf32). */
        IGEMM128_TF32("conv2d_forward_igemm128_tf32", "conv2d_backward_data_igemm128_tf32", 128, 128);

        final String forward, backward;
        final int bm, bn;

        Kernel(String forward, String backward, int bm, int bn) {
            this.forward = forward;
            this.backward = backward;
            this.bm = bm;
            this.bn = bn;
        }

        /** Whether backward-data runs by output phase (IgemmLayout.backward's phase table and grid z = g·sh·sw). */
        boolean phased() {
            return this == IGEMM128 || this == IGEMM128_TF32;
        }
    }

    /**
     * Blocks below which AUTO keeps the 64×128 kernel although the 128×128 one would fit. With B blocks of 128×128 on
     * S SMs (H100 SXM and H200: 132) and B ≤ S, the 128×128 kernel takes one block's time; the 64×128 kernel runs 2B
     * blocks, at most 2 per SM: when 2B ≤ S each SM has one half-size block and it needs half the time per SM at its
     * own efficiency, so it wins unless the 128×128 tile is over twice as efficient (not predicted); when 2B > S some
     * SM runs two, the same work as one 128×128 block, and the 128×128 kernel's better FMA-to-load ratio should win.
     * Hence S/2: at batch 32 layer4's 7×7 convs with 512 outputs (52 blocks) stay on 64×128, layer3's 14×14 convs with
     * 256 outputs (98 blocks) move to 128×128. A prediction from the grid arithmetic, for the GPU run to check.
     */
    static final int MIN_BLOCKS_128 = 66;

    /**
     * The kernel for a GEMM of {@code m} rows (output channels per group forward, input channels per group
     * backward), reduction {@code k} (all taps), over {@code slices} independent launches slices (groups, times the
     * sh·sw phases backward) of {@code pixels} output pixels each (the largest slice).
     */
    static Kernel choose(CudaDistiller.ConvAlgorithm a, int m, int k, long pixels, int slices) {
        return choose(a, false, m, k, pixels, slices);
    }

    /**
     * As {@link #choose(CudaDistiller.ConvAlgorithm, int, int, long, int)}; with {@code tf32} every layer that would
     * run on the strict 128×128 kernel runs on its TF32 twin instead (same tile, operands and grid). The 64×128 and
     * direct kernels have no TF32 variant: AUTO's choice between the families stays the strict one, a prediction the
     * GPU run is to check (ConvLayerBench --conv igemm128 --tf32 forces TF32 on every layer).
     */
    static Kernel choose(CudaDistiller.ConvAlgorithm a, boolean tf32, int m, int k, long pixels, int slices) {
        Kernel kn = chooseStrict(a, m, k, pixels, slices);
        return tf32 && kn == Kernel.IGEMM128 ? Kernel.IGEMM128_TF32 : kn;
    }

    private static Kernel chooseStrict(CudaDistiller.ConvAlgorithm a, int m, int k, long pixels, int slices) {
        return switch (a) {
            case DIRECT -> Kernel.DIRECT;
            case IMPLICIT_GEMM -> Kernel.IGEMM64;
            case IMPLICIT_GEMM_128 -> Kernel.IGEMM128;
            case AUTO -> {
                // Below 16 rows a 64-row tile is mostly idle, and depthwise (k = kh·kw) has no reduction to tile.
                if (m < 16 || k < 16) yield Kernel.DIRECT;
                // Up to 64 rows half of a 128-row tile would idle: the 64×128 kernel does the same work per thread.
                if (m <= 64) yield Kernel.IGEMM64;
                long blocks = Math.ceilDiv(pixels, 128) * Math.ceilDiv(m, 128) * (long) slices;
                yield blocks >= MIN_BLOCKS_128 ? Kernel.IGEMM128 : Kernel.IGEMM64;
            }
        };
    }

    /** Grid of a forward launch: (⌈N·outH·outW / bn⌉, ⌈(Cout/g) / bm⌉, g). */
    static int[] forwardGrid(Kernel kn, long pixels, int coutG, int g) {
        return new int[] {DevicePlan.gridX(Math.ceilDiv(pixels, kn.bn)), Math.ceilDiv(coutG, kn.bm), g};
    }

    /**
     * {@link #forwardWeights} as a copy the device makes (strided_copy): over (group, K, Cout/group), the source
     * (Cout, K) read at grp·Cout/group·K + m·K + kk, the destination written at (grp·K + kk)·Cout/group + m.
     */
    static DevicePlan.Reorder forwardWeightsReorder(int g, int coutG, int k) {
        return new DevicePlan.Reorder(new int[] {g, k, coutG}, new int[] {coutG * k, 1, k}, new int[] {k * coutG, coutG, 1});
    }

    /** w (Cout, K) → (group, K, Cout/group): the m index contiguous, for coalesced tile loads (both tile sizes). */
    static float[] forwardWeights(float[] src, int g, int coutG, int k) {
        float[] t = new float[src.length];
        for (int grp = 0; grp < g; grp++) {
            for (int kk = 0; kk < k; kk++) {
                for (int m = 0; m < coutG; m++) {
                    t[(grp * k + kk) * coutG + m] = src[(grp * coutG + m) * k + kk];
                }
            }
        }
        return t;
    }

    /** int4 per k = (ci, r, s): {ci·H·W, r·dh, s·dw, 0} (both tile sizes). */
    static int[] forwardTable(int cinG, int kh, int kw, int h, int w, int[] d) {
        int[] tab = new int[4 * cinG * kh * kw];
        for (int ci = 0; ci < cinG; ci++) {
            for (int r = 0; r < kh; r++) {
                for (int q = 0; q < kw; q++) {
                    int kk = (ci * kh + r) * kw + q;
                    tab[4 * kk] = Math.multiplyExact(ci, h * w);
                    tab[4 * kk + 1] = r * d[0];
                    tab[4 * kk + 2] = q * d[1];
                }
            }
        }
        return tab;
    }

    /** The operands of one backward-data launch: weights (group, K, Cin/g), int4 k-table, int4 phases (128 only). */
    record Backward(float[] weights, int[] ktab, int[] phases, int[] grid) {}

    /**
     * Backward-data operands for kernel {@code kn} (IGEMM64, IGEMM128 or IGEMM128_TF32) of a conv with weights {@code w} (Cout,
     * Cin/g, kh, kw), input (nb, ·, h, wd), output planes oh × ow, strides, pads (top, left, …) and dilations. With
     * {@code w} null only the tables and the grid (the reordered weights, most of the work, are then null).
     */
    static Backward backward(Kernel kn, float[] w, int g, int coutG, int cinG, int kh, int kw, int nb, int h, int wd,
                             int oh, int ow, int[] st, int[] p, int[] d) {
        int k = coutG * kh * kw;
        float[] wt = w == null ? null : new float[w.length];
        int[] tab = new int[4 * k];
        if (kn == Kernel.IGEMM64) {
            // k = (co, r, s) in order, every tap for every pixel; the kernel tests divisibility by the stride.
            for (int col = 0; col < coutG; col++) {
                for (int r = 0; r < kh; r++) {
                    for (int q = 0; q < kw; q++) {
                        int kk = (col * kh + r) * kw + q;
                        tab[4 * kk] = Math.multiplyExact(col, oh * ow);
                        tab[4 * kk + 1] = r * d[0];
                        tab[4 * kk + 2] = q * d[1];
                        for (int grp = 0; wt != null && grp < g; grp++) {
                            for (int ci = 0; ci < cinG; ci++) {
                                wt[(grp * k + kk) * cinG + ci] = w[(((grp * coutG + col) * cinG + ci) * kh + r) * kw + q];
                            }
                        }
                    }
                }
            }
            long pixels = (long) nb * h * wd;
            return new Backward(wt, tab, null, new int[] {DevicePlan.gridX(Math.ceilDiv(pixels, kn.bn)),
                    Math.ceilDiv(cinG, kn.bm), g});
        }
        if (!kn.phased()) throw new IllegalArgumentException("no implicit-GEMM layout for " + kn);
        // Phase (a, b) = (ih mod sh, iw mod sw): tap r reaches it iff (a + pt − r·dh) ≡ 0 (mod sh), and then the dy row
        // is ih/sh + (a + pt − r·dh)/sh exactly. Each tap belongs to exactly one phase, so the rows total K.
        int sh = st[0], sw = st[1];
        int[] phases = new int[4 * sh * sw];
        int row = 0;
        for (int a = 0; a < sh; a++) {
            for (int b = 0; b < sw; b++) {
                int z = a * sw + b;
                phases[4 * z] = row;
                for (int col = 0; col < coutG; col++) {
                    for (int r = 0; r < kh; r++) {
                        int cy = a + p[0] - r * d[0];
                        if (Math.floorMod(cy, sh) != 0) continue;
                        for (int q = 0; q < kw; q++) {
                            int cx = b + p[1] - q * d[1];
                            if (Math.floorMod(cx, sw) != 0) continue;
                            tab[4 * row] = Math.multiplyExact(col, oh * ow);
                            tab[4 * row + 1] = Math.floorDiv(cy, sh);
                            tab[4 * row + 2] = Math.floorDiv(cx, sw);
                            for (int grp = 0; wt != null && grp < g; grp++) {
                                for (int ci = 0; ci < cinG; ci++) {
                                    wt[(grp * k + row) * cinG + ci] = w[(((grp * coutG + col) * cinG + ci) * kh + r) * kw + q];
                                }
                            }
                            row++;
                        }
                    }
                }
                phases[4 * z + 1] = row - phases[4 * z];
                phases[4 * z + 2] = a;
                phases[4 * z + 3] = b;
            }
        }
        if (row != k) throw new IllegalStateException("phases hold " + row + " taps of " + k);
        long pixels = (long) nb * Math.ceilDiv(h, sh) * Math.ceilDiv(wd, sw); // phase (0, 0), the largest
        return new Backward(wt, tab, phases, new int[] {DevicePlan.gridX(Math.ceilDiv(pixels, kn.bn)),
                Math.ceilDiv(cinG, kn.bm), Math.multiplyExact(g, sh * sw)});
    }

    /** Pixels of the largest backward-data launch slice (phase (0, 0) for the phased kernels, all pixels otherwise). */
    static long backwardSlicePixels(Kernel kn, int nb, int h, int wd, int[] st) {
        return kn.phased() ? (long) nb * Math.ceilDiv(h, st[0]) * Math.ceilDiv(wd, st[1]) : (long) nb * h * wd;
    }
}
