package dev.zeroq.backend.cpu;

/*
 * Per-thread scratch arrays (im2col tiles, packed GEMM panels, padded depthwise and conv input planes, micro-tiles), reused across
 * calls so the hot loops do not allocate. Callers size their requests, so each slot stays bounded.
 */

final class Scratch {
    static final int COL = 0, PACK_A = 1, PACK_B = 2, PLANE = 3, TILE = 4, PAD = 5;

    private static final ThreadLocal<Scratch> LOCAL = ThreadLocal.withInitial(Scratch::new);

    private final float[][] slots = new float[6][];

    private Scratch() {}

    /**
     * A thread-local array of at least {@code size} floats; contents are left over from the previous use,
     * so callers write every element they later read.
     */
    static float[] get(int slot, int size) {
        float[][] s = LOCAL.get().slots;
        float[] a = s[slot];
        if (a == null || a.length < size) {
            a = new float[size];
            s[slot] = a;
        }
        return a;
    }
}
