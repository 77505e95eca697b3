// CudnnConv forward and backward-data against the reference backend on seeded random odd shapes (batch 3, C=7,
// 7x5 images, groups, depthwise, strides, dilations, 1x1 strided), on device memory with NaN-poisoned outputs.
// Skips, naming the reason, where there is no GPU or no cuDNN 9.
package dev.zeroq.backend.cuda;

import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

@Tag("gpu")
class CudnnConvTest {
    private static final long SEED = 20251126L;
    // cuDNN may pick Winograd or FFT algorithms (FMA math, but their transforms round more than a direct sum), so
    // the bound is 1e-3 rather than the direct kernels' 1e-4; an indexing or layout bug gives O(1) errors, and TF32
    // (10-bit mantissa) gives ~1e-2 on the 2304-term case, so both still fail it.
    private static final float ATOL = 1e-3f, RTOL = 1e-3f;
    // TF32 rounds each operand to 11 significant bits (relative 2^-11 ≈ 5e-4): for at most ~100 products of O(1)
    // values the sum stays within ~5e-3.
    private static final float TF32_ATOL = 2e-2f, TF32_RTOL = 1e-2f;
    private static final RefBackend REF = new RefBackend();

    private static CudaContext context;
    private static CudaStream stream;
    private static CudnnConv strict, tf32;
    private final SplittableRandom random = new SplittableRandom(SEED);

    @BeforeAll
    static void open() {
        CudnnConv.Availability c = GpuTests.requireCudnn();
        context = CudaContext.open(0);
        stream = CudaStream.create();
        strict = CudnnConv.open(stream, CudnnConv.MathMode.STRICT_FP32);
        tf32 = CudnnConv.open(stream, CudnnConv.MathMode.TF32);
        System.out.println("cuDNN " + c.version() + " from " + c.library() + " on " + context.name() + " (seed " + SEED + ")"
                + (cudnnNotes()));
    }

    private static String cudnnNotes() {
        var notes = dev.zeroq.bindings.cudnn.cudnn_h.loadNotes();
        return notes.isEmpty() ? "" : "; load notes: " + notes;
    }

    @AfterAll
    static void close() {
        if (context == null) {
            return;
        }
        context.makeCurrent();
        try {
            if (tf32 != null) tf32.close();
            if (strict != null) strict.close();
            if (stream != null) stream.close();
        } finally {
            context.close();
        }
    }

    @Test
    void plainWithBias() {
        both(3, 7, 7, 5, 4, 3, 3, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1}, 1, true);
    }

    @Test
    void stridedRectangularKernel() {
        both(3, 7, 7, 5, 5, 3, 2, new int[] {2, 2}, new int[] {1, 0}, new int[] {1, 1}, 1, false);
    }

    @Test
    void dilated() {
        both(3, 7, 7, 5, 6, 3, 3, new int[] {1, 2}, new int[] {2, 2}, new int[] {2, 2}, 1, true);
    }

    @Test
    void grouped() {
        both(3, 6, 7, 5, 9, 3, 3, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1}, 3, true);
    }

    @Test
    void depthwise() {
        both(3, 7, 7, 5, 7, 3, 3, new int[] {2, 1}, new int[] {1, 1}, new int[] {1, 1}, 7, true);
    }

    @Test
    void manyInputChannels() {
        both(2, 256, 5, 3, 11, 3, 3, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1}, 1, true);
    }

    @Test
    void pointwiseStrided() {
        both(3, 8, 9, 7, 16, 1, 1, new int[] {2, 2}, new int[] {0, 0}, new int[] {1, 1}, 1, false);
    }

    @Test
    void repeatedShapeReusesItsPlanAndAgrees() {
        // The second call takes the cached plan (no new cudnnFind): same answer on fresh inputs.
        both(3, 7, 7, 5, 4, 3, 3, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1}, 1, true);
        both(3, 7, 7, 5, 4, 3, 3, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1}, 1, true);
    }

    @Test
    void tf32IsAnExplicitChoiceWithItsOwnTolerance() {
        assertEquals(CudnnConv.MathMode.TF32, tf32.mathMode());
        run(tf32, 3, 7, 7, 5, 4, 3, 3, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1}, 1, true, TF32_ATOL, TF32_RTOL);
    }

    @Test
    void asymmetricPadsAreRefusedWithTheReason() {
        ConvSpec s = new ConvSpec(new int[] {3, 3}, new int[] {1, 1}, new int[] {1, 0, 2, 1}, new int[] {1, 1}, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> strict.forward(0L, new int[] {1, 1, 5, 5}, 0L, new int[] {1, 1, 3, 3}, 0L, s, 0L));
        assertTrue(e.getMessage().contains("symmetric pads"), e.getMessage());
    }

    private void both(int n, int cin, int h, int w, int cout, int kh, int kw, int[] s, int[] p, int[] d, int g, boolean bias) {
        run(strict, n, cin, h, w, cout, kh, kw, s, p, d, g, bias, ATOL, RTOL);
    }

    private void run(CudnnConv conv, int n, int cin, int h, int w, int cout, int kh, int kw, int[] s, int[] p, int[] d,
                     int g, boolean bias, float atol, float rtol) {
        context.makeCurrent();
        Tensor x = rand(n, cin, h, w);
        Tensor wt = rand(cout, cin / g, kh, kw);
        Tensor b = bias ? rand(cout) : null;
        ConvSpec spec = new ConvSpec(new int[] {kh, kw}, s, new int[] {p[0], p[1], p[0], p[1]}, d, g);
        String what = conv.mathMode() + " " + spec + " x" + Arrays.toString(x.shape());

        Tensor yRef = REF.conv2d(x, wt, b, spec);
        Tensor dy = rand(yRef.shape());
        Tensor dxRef = REF.conv2dBackwardData(dy, wt, spec, x.shape());
        try (DeviceBuffer dX = DeviceBuffer.upload(x.data()); DeviceBuffer dW = DeviceBuffer.upload(wt.data());
             DeviceBuffer dB = b == null ? null : DeviceBuffer.upload(b.data());
             DeviceBuffer dY = DeviceBuffer.allocateFloats(yRef.size());
             DeviceBuffer dDy = DeviceBuffer.upload(dy.data());
             DeviceBuffer dDx = DeviceBuffer.allocateFloats(x.size())) {
            // Poison: an element cuDNN does not write stays NaN and fails the comparison.
            dY.fill32(DeviceBuffer.NAN_BITS);
            dDx.fill32(DeviceBuffer.NAN_BITS);
            conv.forward(dX.address(), x.shape(), dW.address(), wt.shape(), dB == null ? 0L : dB.address(), spec, dY.address());
            conv.backwardData(dDy.address(), dW.address(), wt.shape(), spec, dDx.address(), x.shape());
            stream.synchronize();
            float[] y = new float[yRef.size()], dx = new float[x.size()];
            dY.copyTo(y);
            dDx.copyTo(dx);
            check(what + " forward [" + conv.describePlan(true, x.shape(), wt.shape(), spec) + "]", yRef,
                    new Tensor(y, yRef.shape()), atol, rtol);
            check(what + " backward-data [" + conv.describePlan(false, x.shape(), wt.shape(), spec) + "]", dxRef,
                    new Tensor(dx, x.shape()), atol, rtol);
        }
    }

    private Tensor rand(int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return t;
    }

    /** |ref − got| ≤ atol + |ref|·rtol everywhere (NaN never passes), reporting the first mismatch. */
    static void check(String what, Tensor ref, Tensor got, float atol, float rtol) {
        assertEquals(Arrays.toString(ref.shape()), Arrays.toString(got.shape()), what + ": shape");
        float[] r = ref.data(), g = got.data();
        int mismatches = 0, first = -1;
        double worst = 0;
        for (int i = 0; i < r.length; i++) {
            double err = Math.abs((double) r[i] - g[i]);
            if (!(err <= atol + Math.abs(r[i]) * rtol)) {
                if (first < 0) first = i;
                mismatches++;
            }
            if (!Double.isNaN(err)) worst = Math.max(worst, err);
        }
        if (first >= 0) {
            fail(what + ": first mismatch at flat index " + first + " of shape " + Arrays.toString(ref.shape()) + ": ref "
                    + r[first] + ", cudnn " + g[first] + " (tolerance " + (atol + Math.abs(r[first]) * rtol) + "); "
                    + mismatches + " of " + r.length + " elements mismatch; max |error| " + worst);
        }
    }
}
