// One convolution of the kernel-by-kernel GPU tests (CudaDistillKernelsTest, CudaTf32Test): input N × Cin × H × W,
// Cout filters of kh × kw, strides s, pads p (top, left, bottom, right), dilations d, g groups. A class rather than a
// record so that the tests keep reading the fields directly (c.n, c.s[0]) as they did from their nested records.
package dev.zeroq.backend.cuda;

import dev.zeroq.backend.ConvSpec;

final class ConvCase {
    final int n, cin, h, w, cout, kh, kw, g;
    final int[] s, p, d;

    ConvCase(int n, int cin, int h, int w, int cout, int kh, int kw, int[] s, int[] p, int[] d, int g) {
        this.n = n;
        this.cin = cin;
        this.h = h;
        this.w = w;
        this.cout = cout;
        this.kh = kh;
        this.kw = kw;
        this.s = s;
        this.p = p;
        this.d = d;
        this.g = g;
    }

    ConvSpec spec() {
        return new ConvSpec(new int[] {kh, kw}, s, p, d, g);
    }

    @Override
    public String toString() {
        return "N" + n + " Cin" + cin + " " + h + "x" + w + " Cout" + cout + " " + spec();
    }
}
