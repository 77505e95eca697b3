// The host side of conv2d_int8_igemm_lean*, mostly without a GPU: which layers CudaIntegerModel.Lean admits and which
// kernels a ResNet's layers get, and that Lean's operands (chan = {bias − (zp − 128)·Σw, scale}, the code bounds,
// 1/outScale, 1024·outScale), put through the kernel's per-output arithmetic (written out here in Java, step for step
// as in conv2d_int8_igemm.cu), give IntegerModel's codes exactly. The kernel itself is checked against the same
// definition by native/igemm-emu (run-int8.sh, also run by KernelEmulatorTest), and on a GPU here (lean vs chain,
// bit-identical logits) and by CudaIntegerModelTest (against the CPU engine).
package dev.zeroq.backend.cuda;

import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.int8.IntegerModel;
import dev.zeroq.io.Dataset;
import dev.zeroq.quant.SymmetricQuantizer.ActivationParams;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CudaIntegerModelLeanTest {
    private static final ActivationParams OUT = new ActivationParams(0.0625f, 100, 8, false);

    /** i8_lean_scaled<WIDE>. */
    private static float scaled(int v, float sc, boolean wide) {
        if (wide && Integer.toUnsignedLong(v + (1 << 24)) > 1L << 25) return (float) ((double) v * (double) sc);
        return (float) v * sc;
    }

    /** i8_lean_quantize: the clamp to ±lim, the reciprocal and two FMA corrections, the code bounds. */
    private static int quantize(float y, CudaIntegerModel.Lean l, float s) {
        y = Math.min(Math.max(y, -l.lim()), l.lim());
        float q0 = y * l.inv();
        float q1 = Math.fma(Math.fma(-q0, s, y), l.inv(), q0);
        float q2 = Math.fma(Math.fma(-q1, s, y), l.inv(), q1);
        return Math.min(Math.max((int) Math.rint(q2), l.kLo()), l.kHi());
    }

    /**
     * The lean kernel's code for one output from the s8 accumulator Σ (q − 128)·w (what the tensor cores sum), and the
     * residual (a float, or a stored code of quantizer resScale, resZp), as the stored shifted code q ^ 0x80.
     */
    private static int leanCode(CudaIntegerModel.Lean l, int c, int accS8, float resFloat, int resCode, float resScale,
                                int resZp, float outScale) {
        int v = accS8 + l.chan()[2 * c];
        float y = scaled(v, Float.intBitsToFloat(l.chan()[2 * c + 1]), l.wide());
        if (l.resMode() == 1) y += resFloat;
        if (l.resMode() == 2) y += (float) ((byte) resCode + 128 - resZp) * resScale;
        return (quantize(y, l, outScale) + l.zpS()) & 0xFF;
    }

    @Test
    void theBundledResnetLayersGiveTheEngineCodes() {
        Graph g = CudaIntegerModelTest.model("resnet_fmnist");
        IntegerModel engine = IntegerModel.compile(g, CudaIntegerModelTest.deployPlan(g, "resnet_fmnist"));
        SplittableRandom rnd = new SplittableRandom(7);
        int admitted = 0, outputs = 0;
        for (Node n : engine.graph().nodes()) {
            IntegerModel.QLayer l = engine.integerLayer(n);
            if (l == null || engine.isFused(n) || l.outQ() == null) continue;
            int act = 0;
            float lo = 0f, hi = 0f;
            boolean residual = false;
            for (IntegerModel.Step s : l.steps()) {
                if (s.addend() != null) {
                    residual = true;
                } else if (s.fn() instanceof dev.zeroq.backend.Activation.Clip cl) {
                    act = 2;
                    lo = cl.min();
                    hi = cl.max();
                } else {
                    act = 1;
                }
            }
            int zp = l.in().zeroPoint();
            // The residual, when there is one, as codes of a made-up quantizer or as floats (the formula is what is
            // tested here), on alternate outputs.
            ActivationParams rq = new ActivationParams(0.03f, 117, 8, false);
            CudaIntegerModel.Lean[] leans = new CudaIntegerModel.Lean[2];
            for (int f = 0; f < 2; f++) {
                leans[f] = CudaIntegerModel.Lean.of(l.wq(), l.cout(), (l.cout() + 127) / 128 * 128, l.bias(), l.scale(),
                        zp, l.outQ(), residual ? 2 - f : 0, act, lo, hi);
                assertNotNull(leans[f], n.name());
            }
            admitted++;
            int k = l.k();
            for (int t = 0; t < 200; t++) {
                int c = rnd.nextInt(l.cout());
                int accS8 = 0, acc = 0;
                for (int i = 0; i < k; i++) {
                    int q = rnd.nextInt(256), w = l.wq()[c * k + i];
                    accS8 += (q - 128) * w;
                    acc += (q - zp) * w;
                }
                int rc = rnd.nextInt(256);
                float rf = (float) (rnd.nextDouble() * 8 - 4);
                CudaIntegerModel.Lean lean = leans[t & 1];
                // IntegerModel's epilogue: (acc + bias)·scale in double, one rounding; the residual; the activation.
                float y = (float) (((double) acc + l.bias()[c]) * l.scale()[c]);
                if (lean.resMode() == 2) y += rq.dequantize(rc);
                if (lean.resMode() == 1) y += rf;
                if (act == 1) y = y > 0f ? y : 0f;
                if (act == 2) y = Math.min(Math.max(y, lo), hi);
                int want = l.outQ().quantize(y);
                int got = leanCode(lean, c, accS8, rf, rc ^ 0x80, rq.scale(), rq.zeroPoint(), l.outQ().scale()) ^ 0x80;
                assertEquals(want, got, n.name() + " channel " + c + " y " + y);
                outputs++;
            }
        }
        assertTrue(admitted > 3, "layers admitted: " + admitted);
        assertTrue(outputs > 600);
    }

    @Test
    void everyConvOfTheBundledResnetRunsLeanUnlessItWritesFloat() {
        Graph g = CudaIntegerModelTest.model("resnet_fmnist");
        IntegerModel engine = IntegerModel.compile(g, CudaIntegerModelTest.deployPlan(g, "resnet_fmnist"));
        List<String> lean = CudaIntegerModel.plannedLaunches(engine, 32).stream()
                .filter(l -> l.startsWith("conv2d_int8_igemm")).toList();
        // The chain kernel only for float out with a residual or with at most 64 channels (no lean entry point).
        int floatOut = 0;
        for (Node n : engine.graph().nodes()) {
            IntegerModel.QLayer l = engine.integerLayer(n);
            if (l == null || engine.isFused(n) || l.outQ() != null) continue;
            boolean residual = l.steps().stream().anyMatch(st -> st.addend() != null);
            if (residual || l.cout() <= 64) floatOut++;
        }
        long chain = lean.stream().filter(l -> l.startsWith("conv2d_int8_igemm_chain")).count();
        assertTrue(floatOut > 0);
        assertEquals(floatOut, chain, lean.toString());
        assertTrue(lean.size() - chain >= 5, lean.toString());
        assertTrue(lean.stream().allMatch(l -> l.startsWith("conv2d_int8_igemm_chain") || l.startsWith("conv2d_int8_igemm_lean")));
        // The property keeps every layer on the chain kernel (read when an engine is built).
        System.setProperty(CudaIntegerModel.EPILOGUE_PROPERTY, "chain");
        try {
            assertTrue(CudaIntegerModel.plannedLaunches(engine, 32).stream()
                    .noneMatch(l -> l.startsWith("conv2d_int8_igemm_lean")));
        } finally {
            System.clearProperty(CudaIntegerModel.EPILOGUE_PROPERTY);
        }
    }

    /**
     * On a GPU: the lean and the chain kernels give bit-identical logits on 250 bundled images (their codes are the
     * same by construction; any difference is a bug in one of them).
     */
    @Test
    @Tag("gpu")
    void leanAndChainKernelsGiveIdenticalLogits() {
        GpuTests.requireCuda();
        Graph g = CudaIntegerModelTest.model("resnet_fmnist");
        IntegerModel engine = IntegerModel.compile(g, CudaIntegerModelTest.deployPlan(g, "resnet_fmnist"));
        Tensor x = Dataset.bundledFashionMnist(250).images();
        float[][] logits = new float[2][];
        String[] epilogues = {"chain", "lean"};
        for (int i = 0; i < 2; i++) {
            System.setProperty(CudaIntegerModel.EPILOGUE_PROPERTY, epilogues[i]);
            try (CudaIntegerModel gpu = new CudaIntegerModel(engine, 250, 0)) {
                logits[i] = gpu.apply(x).data();
            } finally {
                System.clearProperty(CudaIntegerModel.EPILOGUE_PROPERTY);
            }
        }
        int same = 0;
        for (int i = 0; i < logits[0].length; i++) {
            same += Float.floatToRawIntBits(logits[0][i]) == Float.floatToRawIntBits(logits[1][i]) ? 1 : 0;
        }
        System.out.println("INT8GPU-LEAN-VS-CHAIN identical_logits=" + same + "/" + logits[0].length);
        assertEquals(logits[0].length, same);
    }

    /** lean_f: float out of a 70-channel layer, the kernel's arithmetic against IntegerModel's float expression. */
    @Test
    void floatOutputGivesTheEngineFloats() {
        SplittableRandom rnd = new SplittableRandom(11);
        int cout = 70, k = 40, zp = 37;
        byte[] w = new byte[cout * k];
        for (int i = 0; i < w.length; i++) w[i] = (byte) (rnd.nextInt(255) - 127);
        int[] bias = new int[cout];
        float[] scale = new float[cout];
        for (int c = 0; c < cout; c++) {
            bias[c] = c % 7 == 3 ? (1 << 24) + rnd.nextInt(1 << 22) : rnd.nextInt(-5000, 5000); // some need the double path
            scale[c] = (float) (rnd.nextDouble(0.5, 1.5) * 1e-6);
        }
        for (int act = 0; act < 3; act++) {
            CudaIntegerModel.Lean l = CudaIntegerModel.Lean.of(w, cout, 128, bias, scale, zp, null, 0, act, -0.5f, 3f);
            assertNotNull(l);
            assertTrue(l.floatOut() && l.wide());
            assertEquals("conv2d_int8_igemm_lean_f_wide", l.kernel(cout));
            for (int t = 0; t < 2000; t++) {
                int c = rnd.nextInt(cout), accS8 = 0, acc = 0;
                for (int i = 0; i < k; i++) {
                    int q = rnd.nextInt(256);
                    accS8 += (q - 128) * w[c * k + i];
                    acc += (q - zp) * w[c * k + i];
                }
                float want = (float) (((double) acc + bias[c]) * scale[c]);
                if (act == 1) want = want > 0f ? want : 0f;
                if (act == 2) want = Math.min(Math.max(want, -0.5f), 3f);
                float got = scaled(accS8 + l.chan()[2 * c], Float.intBitsToFloat(l.chan()[2 * c + 1]), l.wide());
                if (act == 1) got = got > 0f ? got : 0f;
                if (act == 2) got = Math.min(Math.max(got, l.lo()), l.hi());
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got), "channel " + c);
            }
        }
        assertNull(CudaIntegerModel.Lean.of(w, cout, 128, bias, scale, zp, null, 1, 0, 0f, 0f), "float out + residual");
    }

    @Test
    void codeBoundsFoldTheActivationAndTiesAreExact() {
        byte[] w = {1, -1, 2, 0};
        int[] bias = {0, 0};
        float[] scale = {0.03125f, 0.0625f}; // y / outScale = v / 2 and v: half-integers and integers
        CudaIntegerModel.Lean none = CudaIntegerModel.Lean.of(w, 2, 128, bias, scale, 128, OUT, 0, 0, 0f, 0f);
        CudaIntegerModel.Lean relu = CudaIntegerModel.Lean.of(w, 2, 128, bias, scale, 128, OUT, 0, 1, 0f, 0f);
        CudaIntegerModel.Lean clip = CudaIntegerModel.Lean.of(w, 2, 128, bias, scale, 128, OUT, 2, 2, 0f, 6f);
        assertEquals(-100, none.kLo());
        assertEquals(155, none.kHi());
        assertEquals(0, relu.kLo());
        assertEquals(155, relu.kHi());
        assertEquals(0, clip.kLo());
        assertEquals(96, clip.kHi()); // quantize(6) = 6 / 0.0625 + 100 = 196
        assertEquals(100 - 128, none.zpS());
        assertEquals(1f / 0.0625f, none.inv());
        assertEquals(64f, none.lim());
        // chan: bias − (zp − 128)·Σw with Σw = 0 and 2 here (zp 128: no correction), the scale bits, zeros after cout
        assertEquals(0, none.chan()[0]);
        assertEquals(Float.floatToRawIntBits(0.03125f), none.chan()[1]);
        assertEquals(0, none.chan()[4]);
        assertEquals(0, none.chan()[255]);
        // Ties: v / 2 for odd v rounds half to even, as rint does: v = 3 → 1.5 → 2, v = 5 → 2.5 → 2, v = −3 → −2.
        for (int v : new int[] {3, 5, -3, -5, 7, 1, -1, 0, 4000, -4000}) {
            int want = Math.min(Math.max((int) Math.rint(v / 2.0) + 100, 0), 255);
            assertEquals(want, leanCode(none, 0, v, 0f, 0, 0f, 0, 0.0625f) ^ 0x80, "v " + v);
            assertEquals(Math.max(want, 100), leanCode(relu, 0, v, 0f, 0, 0f, 0, 0.0625f) ^ 0x80, "relu v " + v);
        }
    }

    @Test
    void layersThatNeedTheChainKernelAreRefused() {
        byte[] w = {127, -128, 5, 9};
        int[] bias = {10, -10};
        float[] scale = {0.01f, 0.02f};
        assertNull(CudaIntegerModel.Lean.of(w, 2, 128, bias, scale, 3, null, 0, 0, 0f, 0f), "float output, 2 channels");
        ActivationParams tiny = new ActivationParams(0x1p-61f, 0, 8, false);
        assertNull(CudaIntegerModel.Lean.of(w, 2, 128, bias, scale, 3, tiny, 0, 0, 0f, 0f), "scale below 2^-60");
        // 255·Σ|w| + |bias| reaching 2^31 − 1: the one int32 add could wrap
        int[] huge = {Integer.MAX_VALUE - 255 * 255, 0};
        assertNull(CudaIntegerModel.Lean.of(w, 2, 128, huge, scale, 3, OUT, 0, 0, 0f, 0f), "bias near 2^31");
        int[] large = {Integer.MAX_VALUE - 255 * 255 - 1, 0};
        CudaIntegerModel.Lean wide = CudaIntegerModel.Lean.of(w, 2, 128, large, scale, 3, OUT, 0, 0, 0f, 0f);
        assertNotNull(wide);
        assertTrue(wide.wide());
        CudaIntegerModel.Lean narrow = CudaIntegerModel.Lean.of(w, 2, 128, bias, scale, 3, OUT, 2, 0, 0f, 0f);
        assertFalse(narrow.wide());
        assertEquals("conv2d_int8_igemm_lean64_wide", wide.kernel(2));
        assertEquals("conv2d_int8_igemm_lean_res", narrow.kernel(65));
        assertEquals("conv2d_int8_igemm_lean_resf", CudaIntegerModel.Lean.of(w, 2, 128, bias, scale, 3, OUT, 1, 0, 0f,
                0f).kernel(128));
        // 2^24 exactly stays narrow, one more is wide: 255·(Σ|w| = 255) + bias
        int[] edge = {(1 << 24) - 255 * 255, 0};
        assertFalse(CudaIntegerModel.Lean.of(w, 2, 128, edge, scale, 3, OUT, 0, 0, 0f, 0f).wide());
        edge[0]++;
        assertTrue(CudaIntegerModel.Lean.of(w, 2, 128, edge, scale, 3, OUT, 0, 0, 0f, 0f).wide());
    }
}
