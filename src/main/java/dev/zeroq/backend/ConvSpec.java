package dev.zeroq.backend;

import java.util.Arrays;

/**
 * Geometry of a 2-D convolution with explicit padding (auto_pad is resolved at import).
 * Weights are (Cout, Cin/group, kh, kw).
 *
 * <p>Example: a 3×3 stride-2 conv with pads 1 on a 7×5 input gives
 * {@code outH = (7 + 1 + 1 - 3)/2 + 1 = 4}, {@code outW = (5 + 1 + 1 - 3)/2 + 1 = 3}.
 *
 * @param kernel    (kh, kw)
 * @param strides   (sh, sw)
 * @param pads      (top, left, bottom, right)
 * @param dilations (dh, dw)
 * @param group     number of groups; Cin for depthwise
 */
public record ConvSpec(int[] kernel, int[] strides, int[] pads, int[] dilations, int group) {
    public ConvSpec {
        check(kernel, 2, "kernel");
        check(strides, 2, "strides");
        check(pads, 4, "pads");
        check(dilations, 2, "dilations");
        if (group < 1) {
            throw new IllegalArgumentException("group must be >= 1, got " + group);
        }
        kernel = kernel.clone();
        strides = strides.clone();
        pads = pads.clone();
        dilations = dilations.clone();
    }

    public int outH(int inH) {
        return (inH + pads[0] + pads[2] - dilations[0] * (kernel[0] - 1) - 1) / strides[0] + 1;
    }

    public int outW(int inW) {
        return (inW + pads[1] + pads[3] - dilations[1] * (kernel[1] - 1) - 1) / strides[1] + 1;
    }

    @Override
    public int[] kernel() { return kernel.clone(); }
    @Override
    public int[] strides() { return strides.clone(); }
    @Override
    public int[] pads() { return pads.clone(); }
    @Override
    public int[] dilations() { return dilations.clone(); }

    /**
     * Throws unless an input of {@code cin} channels and weights of shape {@code w} (Cout, Cin/group, kh, kw) fit
     * this spec's groups: Cin = (Cin/group)·group and Cout a multiple of group.
     */
    public void checkChannels(int cin, int[] w) {
        if (cin != w[1] * group || w[0] % group != 0) {
            throw new IllegalArgumentException("conv: input channels " + cin + ", weight " + Arrays.toString(w)
                    + ", group " + group + " do not fit");
        }
    }

    static void check(int[] a, int len, String what) {
        if (a == null || a.length != len) {
            throw new IllegalArgumentException(what + " needs " + len + " values");
        }
        for (int v : a) {
            if (v < 0 || (v == 0 && !what.equals("pads"))) {
                throw new IllegalArgumentException(what + " has an invalid value " + v);
            }
        }
    }

    @Override
    public String toString() {
        return "ConvSpec[k=" + kernel[0] + "x" + kernel[1] + ", s=" + strides[0] + "," + strides[1]
                + ", p=" + pads[0] + "," + pads[1] + "," + pads[2] + "," + pads[3]
                + ", d=" + dilations[0] + "," + dilations[1] + ", g=" + group + "]";
    }
}
