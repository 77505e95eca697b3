// Int8Kernels.Weights as plain codes: what the reference and CUDA kernels read, and what the vector kernels pack.
package dev.zeroq.int8;

/** Int8 weights (cout, K) with their own copy of the codes. */
class PreparedWeights implements Int8Kernels.Weights {
    private final byte[] codes;
    private final int cout;
    private final int groups;

    PreparedWeights(byte[] w, int cout, int groups) {
        if (cout < 0 || groups < 1 || (cout > 0 && (w.length % cout != 0 || cout % groups != 0))) {
            throw new IllegalArgumentException(w.length + " weights for " + cout + " output channels in " + groups
                    + " group(s)");
        }
        this.codes = w.clone();
        this.cout = cout;
        this.groups = groups;
    }

    @Override
    public int cout() {
        return cout;
    }

    @Override
    public int groups() {
        return groups;
    }

    @Override
    public byte[] codes() {
        return codes.clone();
    }

    /** The codes themselves, for the kernels of this package (never handed out or changed). */
    byte[] own() {
        return codes;
    }
}
