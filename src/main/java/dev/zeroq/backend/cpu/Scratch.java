package dev.zeroq.backend.cpu;

/*
 * Per-thread scratch arrays (im2col tiles, packed GEMM panels, padded depthwise and conv input planes, micro-tiles, the
 * integer engine's staged epilogue), reused across calls so the hot loops do not allocate. Callers size their
 * requests, so each slot stays bounded.
 */

public final class Scratch {
    static final int COL = 0, PACK_A = 1, PACK_B = 2, PLANE = 3, TILE = 4, PAD = 5;
    /** dev.zeroq.int8's requantization epilogue: one plane of floats. */
    public static final int INT8_EPILOGUE = 6;

    private static final ThreadLocal<Scratch> LOCAL = ThreadLocal.withInitial(Scratch::new);

    private final float[][] slots = new float[7][];

    private Scratch() {}

    /**
     * A thread-local array of at least {@code size} floats; contents are left over from the previous use,
     * so callers write every element they later read.
     */
    public static float[] get(int slot, int size) {
        float[][] s = LOCAL.get().slots;
        float[] a = s[slot];
        if (a == null || a.length < size) {
            a = new float[size];
            s[slot] = a;
        }
        return a;
    }
}
