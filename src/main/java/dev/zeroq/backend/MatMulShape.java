package dev.zeroq.backend;

import dev.zeroq.tensor.Shapes;

import java.util.Arrays;

/**
 * The geometry of a numpy matmul (…, m, k)·(…, k, n) with the batch dimensions broadcast, shared by every
 * backend. {@code aOffset[t]} and {@code bOffset[t]} are the matrix indices (not elements) of A and B for batch
 * entry t. Example: (2, 3, 4)·(4, 5) → batch (2), out (2, 3, 5), aOffset {0, 1}, bOffset {0, 0}.
 */
public record MatMulShape(int m, int k, int n, int[] batch, int batches, int[] out, int[] aOffset, int[] bOffset) {

    public static MatMulShape of(int[] as, int[] bs) {
        if (as.length < 2 || bs.length < 2) {
            throw new IllegalArgumentException("matmul needs rank >= 2 operands");
        }
        int m = as[as.length - 2], k = as[as.length - 1], n = bs[bs.length - 1];
        if (bs[bs.length - 2] != k) {
            throw new IllegalArgumentException("matmul: inner dimensions " + k + " and " + bs[bs.length - 2] + " differ");
        }
        int[] aBatch = Arrays.copyOf(as, as.length - 2), bBatch = Arrays.copyOf(bs, bs.length - 2);
        int[] batch = Shapes.broadcast(aBatch, bBatch);
        int batches = Math.toIntExact(Shapes.size(batch));
        int[] out = Arrays.copyOf(batch, batch.length + 2);
        out[batch.length] = m;
        out[batch.length + 1] = n;
        int[] sa = strides(aBatch, batch), sb = strides(bBatch, batch);
        int[] aOff = new int[batches], bOff = new int[batches];
        int[] idx = new int[batch.length];
        for (int t = 0; t < batches; t++) {
            for (int i = 0; i < batch.length; i++) {
                aOff[t] += idx[i] * sa[i];
                bOff[t] += idx[i] * sb[i];
            }
            for (int i = batch.length - 1; i >= 0 && ++idx[i] == batch[i]; i--) {
                idx[i] = 0;
            }
        }
        return new MatMulShape(m, k, n, batch, batches, out, aOff, bOff);
    }

    /** Strides (in matrices) of an operand's batch dimensions inside the broadcast batch: 0 where broadcast. */
    private static int[] strides(int[] own, int[] batch) {
        int[] s = new int[batch.length];
        int[] st = Shapes.strides(own);
        int off = batch.length - own.length;
        for (int i = 0; i < own.length; i++) {
            s[i + off] = own[i] == 1 ? 0 : st[i];
        }
        return s;
    }
}
