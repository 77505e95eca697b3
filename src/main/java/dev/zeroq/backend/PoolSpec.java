package dev.zeroq.backend;

/**
 * Geometry of a 2-D max or average pool with explicit padding.
 *
 * <p>Output size: {@code floor((in + padBegin + padEnd - ((k-1)*d + 1)) / s) + 1}, or with ceil instead of
 * floor when {@code ceilMode}; as in ONNX, a last window that would start inside the end padding only is
 * dropped. Example: in=7, k=2, s=2, no pads: floor → 3, ceil → 4.
 *
 * @param kernel (kh, kw)
 * @param strides (sh, sw)
 * @param pads (top, left, bottom, right)
 * @param dilations (dh, dw), max pool only; 1 for average pool
 * @param ceilMode ONNX ceil_mode
 * @param countIncludePad average pool: divide by the full window including padding
 */
public record PoolSpec(int[] kernel, int[] strides, int[] pads, int[] dilations, boolean ceilMode,
                       boolean countIncludePad) {
    public PoolSpec {
        ConvSpec.check(kernel, 2, "kernel");
        ConvSpec.check(strides, 2, "strides");
        ConvSpec.check(pads, 4, "pads");
        ConvSpec.check(dilations, 2, "dilations");
        kernel = kernel.clone();
        strides = strides.clone();
        pads = pads.clone();
        dilations = dilations.clone();
    }

    public int outH(int inH) {
        return out(inH, kernel[0], strides[0], pads[0], pads[2], dilations[0]);
    }

    public int outW(int inW) {
        return out(inW, kernel[1], strides[1], pads[1], pads[3], dilations[1]);
    }

    private int out(int in, int k, int s, int p0, int p1, int d) {
        int span = in + p0 + p1 - ((k - 1) * d + 1);
        int o = ceilMode ? Math.floorDiv(span + s - 1, s) + 1 : Math.floorDiv(span, s) + 1;
        // The last window must start inside the input or the begin padding (ONNX, PyTorch).
        if (ceilMode && (o - 1) * s >= in + p0) {
            o--;
        }
        return o;
    }

    @Override
    public int[] kernel() { return kernel.clone(); }
    @Override
    public int[] strides() { return strides.clone(); }
    @Override
    public int[] pads() { return pads.clone(); }
    @Override
    public int[] dilations() { return dilations.clone(); }
}
