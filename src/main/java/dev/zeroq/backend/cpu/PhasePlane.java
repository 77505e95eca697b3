package dev.zeroq.backend.cpu;

/*
 * The padded, stride-phase-split copy of one input plane that lets depthwise conv and pooling read the
 * window taps of V consecutive output pixels as V consecutive floats, for any stride and dilation.
 */

import dev.zeroq.tensor.Shapes;

import java.util.Arrays;

import static dev.zeroq.backend.cpu.Sgemm.V;

/**
 * Along a row, output pixel ox reads padded column sw·ox + dw·kx for tap kx. Writing padded column col to
 * phase {@code col % sw} at position {@code col / sw} turns that into position {@code ox + shift(kx)} of phase
 * {@code phase(kx)}: contiguous in ox. Example, stride 2, 3 taps: tap 0 reads even columns at ox, tap 1 odd
 * columns at ox, tap 2 even columns at ox + 1.
 *
 * <p>Layout: row iy, phase r starts at {@code (iy·sw + r)·rowLen}. Rows are not padded: callers skip taps
 * whose input row is outside the image.
 */
final class PhasePlane {
    final int sw, dw, rowLen, length;
    private final int width, padLeft, span;

    /**
     * @param width input row length; {@code outW} output pixels per row, {@code kw} taps of dilation {@code dw}
     */
    PhasePlane(int height, int width, int outW, int kw, int sw, int dw, int padLeft) {
        this.sw = sw;
        this.dw = dw;
        this.width = width;
        this.padLeft = padLeft;
        // Padded columns read: [0, sw·(outW−1) + dw·(kw−1)]; per phase ceil(span / sw) of them, plus V spare
        // fill values so that a full-vector load at the last output pixel stays inside the row.
        this.span = Math.addExact(Math.multiplyExact(sw, outW - 1), Math.multiplyExact(dw, kw - 1)) + 1;
        this.rowLen = Math.ceilDiv(span, sw) + V;
        this.length = Math.toIntExact(Shapes.size(height, sw, rowLen));
    }

    /** Index in the buffer of tap kx for output pixel ox of input row iy. */
    int index(int iy, int kx, int ox) {
        int col = kx * dw;
        return (iy * sw + col % sw) * rowLen + col / sw + ox;
    }

    /** Copies plane {@code x[xOff ..]} (height × width) into {@code buf}, padding with {@code fill}. */
    void fill(float[] x, int xOff, int height, float fill, float[] buf) {
        Arrays.fill(buf, 0, length, fill);
        for (int iy = 0; iy < height; iy++) {
            for (int r = 0; r < sw; r++) {
                // Phase r, element i is padded column i·sw + r, i.e. input column i·sw + r − padLeft.
                int iLo = Math.max(0, Math.ceilDiv(padLeft - r, sw));
                int iHi = Math.min(Math.ceilDiv(span - r, sw), Math.ceilDiv(width + padLeft - r, sw));
                int dst = (iy * sw + r) * rowLen, src = xOff + iy * width + r - padLeft;
                if (sw == 1) {
                    if (iHi > iLo) {
                        System.arraycopy(x, src + iLo, buf, dst + iLo, iHi - iLo);
                    }
                } else {
                    for (int i = iLo; i < iHi; i++) {
                        buf[dst + i] = x[src + i * sw];
                    }
                }
            }
        }
    }
}
