// The integer kernels of the int8 engine: uint8 activations × int8 weights with exact int32 accumulation.
// Two implementations: Ref (plain loops, the definition) and Vector (Vector API + threads), equal bit for bit.
package dev.zeroq.int8;

import dev.zeroq.backend.ConvSpec;

/**
 * Accumulators are defined exactly: acc = Σ (q_x − zp_x)·q_w over the receptive field, where positions in the
 * padding contribute nothing (they hold x = 0, whose code is zp_x). Java int arithmetic wraps, so even an
 * overflowing sum would be the same in every implementation; {@link IntegerModel} rejects layers where
 * 255·127·K could exceed 2^31 − 1 so that it never happens.
 */
public interface Int8Kernels {

    /** Short name for benchmarks and messages. */
    String name();

    /**
     * Receives the accumulators of output columns [colFrom, colTo) and output channels [coFrom, coTo), where
     * column j = image·plane + p enumerates every output position p (plane = outH·outW) of every image, so a
     * call may span several images or part of one: {@code acc[off + (co − coFrom)·stride + (j − colFrom)]}.
     * May be called concurrently for disjoint (column range, channel range) pairs, from the thread that computed
     * them (so the accumulators are still in its cache); the array is reused after the call returns.
     */
    @FunctionalInterface
    interface ConvSink {
        void accept(int colFrom, int colTo, int coFrom, int coTo, int[] acc, int off, int stride);
    }

    /** Receives rows [rowFrom, rowTo) of a gemm: {@code acc[off + (m − rowFrom)·cout + co]}; concurrent as above. */
    @FunctionalInterface
    interface GemmSink {
        void accept(int rowFrom, int rowTo, int[] acc, int off);
    }

    /**
     * Weights made ready once, by {@link #prepare}, for any number of calls: an implementation may keep them in the
     * form its kernels read (the vector kernels pack and widen them on first use). They hold their own copy of the
     * codes, so later changes to the array given to {@code prepare} do not reach them.
     */
    interface Weights {
        /** Output channels. */
        int cout();

        /** Groups of the convolution (1 for a plain conv or a gemm). */
        int groups();

        /** A copy of the int8 codes, (cout, K) row-major with K = cin/groups·kh·kw (or k for a gemm). */
        byte[] codes();
    }

    /** Prepares weights (cout, K) of a conv with {@code groups} groups, or of a gemm (groups 1). */
    default Weights prepare(byte[] w, int cout, int groups) {
        return new PreparedWeights(w, cout, groups);
    }

    /**
     * 2-D convolution of uint8 codes with int8 weights.
     *
     * @param x    codes (n, cin, h, w), unsigned
     * @param zp   the input's zero point
     * @param w    weights (cout, cin/group, kh, kw), prepared once by {@link #prepare}
     */
    void conv(byte[] x, int n, int cin, int h, int wd, int zp, Weights w, ConvSpec spec, ConvSink sink);

    /** As {@link #conv(byte[], int, int, int, int, int, Weights, ConvSpec, ConvSink)}, preparing {@code w} for this call. */
    default void conv(byte[] x, int n, int cin, int h, int wd, int zp, byte[] w, int cout, ConvSpec spec, ConvSink sink) {
        conv(x, n, cin, h, wd, zp, prepare(w, cout, spec.group()), spec, sink);
    }

    /**
     * acc[m][co] = Σ_k (x[m][k] − zp)·w[co][k].
     *
     * @param x codes (m, k), unsigned
     * @param w weights (cout, k), int8, output-major, prepared once by {@link #prepare} (groups 1)
     */
    void gemm(byte[] x, int m, int k, int zp, Weights w, GemmSink sink);

    /** As {@link #gemm(byte[], int, int, int, Weights, GemmSink)}, preparing {@code w} for this call. */
    default void gemm(byte[] x, int m, int k, int zp, byte[] w, int cout, GemmSink sink) {
        gemm(x, m, k, zp, prepare(w, cout, 1), sink);
    }

    static Int8Kernels ref() {
        return new RefInt8Kernels();
    }

    /** The fast CPU kernels, using up to {@code threads} threads of the common pool (1 = the calling thread). */
    static Int8Kernels vector(int threads) {
        return new VectorInt8Kernels(threads);
    }

    static Int8Kernels vector() {
        return new VectorInt8Kernels(Runtime.getRuntime().availableProcessors());
    }
}
