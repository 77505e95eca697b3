// The distillation kernels (backward ops, BN-statistics loss, loss reduction, Adam, implicit-GEMM convolutions: the
// 64×128 kernels and the 128×128 ones with phase-decomposed backward-data)
// one by one against the CPU reference (backend/Gradients, RefBackend) on seeded random odd shapes. Outputs are
// NaN-poisoned before each store-mode launch; accumulate mode starts from known random values.
package dev.zeroq.backend.cuda;

import dev.zeroq.backend.Activation;
import dev.zeroq.backend.Backend;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.Gradients;
import dev.zeroq.backend.PoolSpec;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.tensor.Shapes;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static dev.zeroq.backend.cuda.KernelHarness.down;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

@Tag("gpu")
class CudaDistillKernelsTest {
    private static final long SEED = 20250611L;
    // Float sums in another order than the (often double-accumulating) reference: sums of up to a few thousand
    // products of O(1) values stay within 2e-4 absolute + 2e-4 relative (the conv cases with K ≈ 600 included).
    private static final float ATOL = 2e-4f, RTOL = 2e-4f;
    private static final RefBackend REF = new RefBackend();

    private static KernelHarness gpu;
    private final SplittableRandom random = new SplittableRandom(SEED);

    @BeforeAll
    static void open() {
        gpu = KernelHarness.open("distillation kernels", SEED);
    }

    @AfterAll
    static void close() {
        if (gpu != null) gpu.close();
    }

    // ---- convolution backward-data (direct and implicit GEMM) and implicit-GEMM forward ----

    private static final List<ConvCase> CONV_CASES = List.of(
            new ConvCase(3, 7, 7, 5, 5, 3, 3, new int[] {1, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 1),
            new ConvCase(3, 7, 7, 5, 5, 3, 2, new int[] {2, 2}, new int[] {1, 0, 2, 1}, new int[] {1, 1}, 1),
            new ConvCase(3, 7, 7, 5, 6, 3, 3, new int[] {1, 2}, new int[] {2, 2, 2, 2}, new int[] {2, 2}, 1),
            new ConvCase(3, 6, 7, 5, 9, 3, 3, new int[] {1, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 3),
            new ConvCase(3, 7, 7, 5, 7, 3, 3, new int[] {2, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 7),
            new ConvCase(3, 7, 7, 5, 14, 1, 1, new int[] {2, 2}, new int[] {0, 0, 0, 0}, new int[] {1, 1}, 7),
            new ConvCase(2, 37, 17, 19, 45, 3, 3, new int[] {1, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 1),
            new ConvCase(2, 37, 17, 19, 45, 3, 3, new int[] {2, 2}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 1),
            new ConvCase(2, 3, 23, 21, 70, 7, 7, new int[] {2, 2}, new int[] {3, 3, 3, 3}, new int[] {1, 1}, 1));

    @Test
    void convForwardImplicitGemm() {
        for (ConvCase c : CONV_CASES) {
            convForward(c);
        }
    }

    @Test
    void convBackwardData() {
        for (ConvCase c : CONV_CASES) {
            convBackward(c, false);
            convBackward(c, true);
        }
    }

    @Test
    void convResNetLike64x64At56() {
        ConvCase c = new ConvCase(1, 64, 56, 56, 64, 3, 3, new int[] {1, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 1);
        convForward(c);
        convBackward(c, false);
    }

    private void convForward(ConvCase c) {
        Tensor x = rand(c.n, c.cin, c.h, c.w), w = rand(c.cout, c.cin / c.g, c.kh, c.kw), b = rand(c.cout);
        ConvSpec s = c.spec();
        Tensor ref = REF.conv2d(x, w, b, s);
        int oh = ref.dim(2), ow = ref.dim(3), g = c.g, coutG = c.cout / g, cinG = c.cin / g;
        int k = cinG * c.kh * c.kw;
        float[] wt = new float[w.size()];
        for (int grp = 0; grp < g; grp++)
            for (int kk = 0; kk < k; kk++)
                for (int m = 0; m < coutG; m++) wt[(grp * k + kk) * coutG + m] = w.data()[(grp * coutG + m) * k + kk];
        int[] tab = new int[4 * k];
        for (int ci = 0; ci < cinG; ci++)
            for (int r = 0; r < c.kh; r++)
                for (int q = 0; q < c.kw; q++) {
                    int kk = (ci * c.kh + r) * c.kw + q;
                    tab[4 * kk] = ci * c.h * c.w;
                    tab[4 * kk + 1] = r * c.d[0];
                    tab[4 * kk + 2] = q * c.d[1];
                }
        DeviceBuffer out = gpu.poisoned(ref.size());
        long pixels = (long) c.n * oh * ow;
        gpu.run("conv2d_forward_igemm", new int[] {(int) Math.ceilDiv(pixels, 128), Math.ceilDiv(coutG, 64), g},
                gpu.up(x.data()), gpu.up(wt), gpu.upInts(tab), gpu.up(b.data()), out, c.n, c.cin, c.h, c.w, c.cout, oh,
                ow, g, k, c.s[0], c.s[1], c.p[0], c.p[1]);
        check("conv2d_forward_igemm " + c, ref.data(), down(out, ref.size()));
    }

    private void convBackward(ConvCase c, boolean igemm) {
        int g = c.g, coutG = c.cout / g, cinG = c.cin / g;
        ConvSpec s = c.spec();
        int oh = s.outH(c.h), ow = s.outW(c.w);
        Tensor dy = rand(c.n, c.cout, oh, ow), w = rand(c.cout, cinG, c.kh, c.kw);
        int[] inShape = {c.n, c.cin, c.h, c.w};
        Tensor ref = Gradients.scatterConvBackward(dy, w, s, inShape);
        float[] prior = rand(inShape).data();
        for (int acc = 0; acc < 2; acc++) {
            DeviceBuffer dx = acc == 0 ? gpu.poisoned(ref.size()) : gpu.up(prior);
            if (igemm) {
                int k = coutG * c.kh * c.kw;
                float[] wt = new float[w.size()];
                for (int grp = 0; grp < g; grp++)
                    for (int col = 0; col < coutG; col++)
                        for (int ci = 0; ci < cinG; ci++)
                            for (int r = 0; r < c.kh; r++)
                                for (int q = 0; q < c.kw; q++)
                                    wt[(grp * k + (col * c.kh + r) * c.kw + q) * cinG + ci] =
                                            w.data()[(((grp * coutG + col) * cinG + ci) * c.kh + r) * c.kw + q];
                int[] tab = new int[4 * k];
                for (int col = 0; col < coutG; col++)
                    for (int r = 0; r < c.kh; r++)
                        for (int q = 0; q < c.kw; q++) {
                            int kk = (col * c.kh + r) * c.kw + q;
                            tab[4 * kk] = col * oh * ow;
                            tab[4 * kk + 1] = r * c.d[0];
                            tab[4 * kk + 2] = q * c.d[1];
                        }
                long pixels = (long) c.n * c.h * c.w;
                gpu.run("conv2d_backward_data_igemm",
                        new int[] {(int) Math.ceilDiv(pixels, 128), Math.ceilDiv(cinG, 64), g}, gpu.up(dy.data()),
                        gpu.up(wt), gpu.upInts(tab), dx, c.n, c.cin, c.h, c.w, c.cout, oh, ow, g, k, c.s[0], c.s[1],
                        c.p[0], c.p[1], acc);
            } else {
                gpu.run("conv2d_backward_data", grid(ref.size()), gpu.up(dy.data()), gpu.up(w.data()), dx, c.n, c.cin,
                        c.h, c.w, c.cout, oh, ow, c.kh, c.kw, c.s[0], c.s[1], c.p[0], c.p[1], c.d[0], c.d[1], g, acc);
            }
            check((igemm ? "conv2d_backward_data_igemm " : "conv2d_backward_data ") + c + " accumulate=" + acc,
                    plus(ref.data(), acc == 1 ? prior : null), down(dx, ref.size()));
        }
    }

    // ---- the 128×128 implicit GEMM (conv2d_forward_igemm128, conv2d_backward_data_igemm128 by output phase) ----

    /** CONV_CASES plus 1×1 s1/s2, dilation 2, asymmetric pads, two 128-row tiles with float4 stores, empty phases. */
    private static final List<ConvCase> CONV_CASES_128 = java.util.stream.Stream.concat(CONV_CASES.stream(), java.util.stream.Stream.of(
            new ConvCase(2, 37, 17, 19, 45, 1, 1, new int[] {1, 1}, new int[] {0, 0, 0, 0}, new int[] {1, 1}, 1),
            new ConvCase(2, 37, 17, 19, 45, 1, 1, new int[] {2, 2}, new int[] {0, 0, 0, 0}, new int[] {1, 1}, 1),
            new ConvCase(2, 37, 17, 19, 45, 3, 3, new int[] {1, 1}, new int[] {2, 2, 2, 2}, new int[] {2, 2}, 1),
            new ConvCase(2, 37, 17, 19, 45, 3, 3, new int[] {2, 2}, new int[] {2, 1, 1, 2}, new int[] {2, 2}, 1),
            new ConvCase(2, 37, 17, 19, 45, 3, 2, new int[] {2, 2}, new int[] {1, 0, 2, 1}, new int[] {1, 1}, 1),
            new ConvCase(2, 140, 8, 6, 136, 3, 3, new int[] {1, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 1),
            new ConvCase(2, 136, 8, 8, 260, 1, 1, new int[] {2, 2}, new int[] {0, 0, 0, 0}, new int[] {1, 1}, 1),
            new ConvCase(1, 16, 12, 12, 20, 7, 7, new int[] {3, 2}, new int[] {3, 3, 3, 3}, new int[] {1, 1}, 1))).toList();

    @Test
    void convForwardImplicitGemm128() {
        for (ConvCase c : CONV_CASES_128) {
            convForward128(c);
        }
    }

    @Test
    void convBackwardDataImplicitGemm128() {
        for (ConvCase c : CONV_CASES_128) {
            convBackward128(c);
        }
    }

    @Test
    void convResNetShapes128() {
        // layer1 3×3 64 at 56×56, layer1 1×1 256→64 at 56×56, layer3's downsample 1×1/2 512→1024 at 28×28.
        for (ConvCase c : List.of(
                new ConvCase(1, 64, 56, 56, 64, 3, 3, new int[] {1, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 1),
                new ConvCase(1, 256, 56, 56, 64, 1, 1, new int[] {1, 1}, new int[] {0, 0, 0, 0}, new int[] {1, 1}, 1),
                new ConvCase(1, 512, 28, 28, 1024, 1, 1, new int[] {2, 2}, new int[] {0, 0, 0, 0}, new int[] {1, 1}, 1))) {
            convForward128(c);
            convBackward128(c);
        }
    }

    /** Operands from IgemmLayout, as DevicePlan builds them; output NaN-poisoned. */
    private void convForward128(ConvCase c) {
        Tensor x = rand(c.n, c.cin, c.h, c.w), w = rand(c.cout, c.cin / c.g, c.kh, c.kw), b = rand(c.cout);
        ConvSpec s = c.spec();
        Tensor ref = REF.conv2d(x, w, b, s);
        IgemmLayout.Kernel kn = IgemmLayout.Kernel.IGEMM128;
        DeviceBuffer out = gpu.igemmForward(kn, c, x, w, b, ref.dim(2), ref.dim(3));
        check(kn.forward + " " + c, ref.data(), down(out, ref.size()));
    }

    /** Operands and grid from IgemmLayout, as CudaDistiller builds them; store mode poisoned, accumulate mode on priors. */
    private void convBackward128(ConvCase c) {
        int g = c.g, coutG = c.cout / g, cinG = c.cin / g;
        ConvSpec s = c.spec();
        int oh = s.outH(c.h), ow = s.outW(c.w);
        Tensor dy = rand(c.n, c.cout, oh, ow), w = rand(c.cout, cinG, c.kh, c.kw);
        int[] inShape = {c.n, c.cin, c.h, c.w};
        Tensor ref = Gradients.scatterConvBackward(dy, w, s, inShape);
        float[] prior = rand(inShape).data();
        IgemmLayout.Kernel kn = IgemmLayout.Kernel.IGEMM128;
        IgemmLayout.Backward lb = IgemmLayout.backward(kn, w.data(), g, coutG, cinG, c.kh, c.kw, c.n, c.h, c.w, oh, ow, c.s, c.p, c.d);
        for (int acc = 0; acc < 2; acc++) {
            DeviceBuffer dx = acc == 0 ? gpu.poisoned(ref.size()) : gpu.up(prior);
            gpu.igemmBackward(kn, lb, c, dy, dx, oh, ow, acc);
            check(kn.backward + " " + c + " accumulate=" + acc, plus(ref.data(), acc == 1 ? prior : null), down(dx, ref.size()));
        }
    }

    // ---- element-wise and pooling backward ----

    @Test
    void batchNormBackward() {
        Tensor dy = rand(3, 7, 7, 5), scale = rand(7), var = rand(7);
        for (int i = 0; i < 7; i++) var.data()[i] = Math.abs(var.data()[i]) + 0.1f;
        Tensor ref = Gradients.batchNormBackward(dy, scale, var, 1e-5f);
        float[] k = new float[7];
        for (int c = 0; c < 7; c++) k[c] = (float) (scale.data()[c] / Math.sqrt((double) var.data()[c] + 1e-5f));
        DeviceBuffer dx = gpu.poisoned(ref.size());
        gpu.run("batchnorm_backward", grid(ref.size()), gpu.up(dy.data()), gpu.up(k), dx, ref.size(), 7, 35, 0, null, null);
        check("batchnorm_backward", ref.data(), down(dx, ref.size()));
    }

    /**
     * The three BatchNorm backward kernels adding a deferred statistics gradient (coefficients from bn_stat_loss) give
     * the floats of the gradient stored by bn_stat_loss first and the BatchNorm's added after, in both accumulate modes;
     * activation_batchnorm_backward also with relu' and clip' taken of BN(x) recomputed from x instead of read off z,
     * values exactly at 0 and at the clip bounds included (x = the BatchNorm's mean gives BN(x) = its bias).
     */
    @Test
    void batchNormBackwardKernelsAddTheDeferredStatisticsGradient() {
        int n = 3, c = 7, hw = 35, total = n * c * hw;
        Tensor x = rand(n, c, 7, 5), dy = rand(n, c, 7, 5), other = rand(n, c, 7, 5);
        float[] mean = rand(c).data(), std = rand(c).data(), k = rand(c).data(), scale = rand(c).data(),
                bias = rand(c).data(), bnMean = rand(c).data(), inv = rand(c).data();
        for (int i = 0; i < c; i++) {
            std[i] = Math.abs(std[i]) + 0.2f;
            inv[i] = Math.abs(inv[i]) + 0.1f;
        }
        bias[0] = 0f;
        bias[1] = -0.5f;
        bias[2] = 1.5f;
        for (int i = 0; i < total; i += 5) x.data()[i] = bnMean[i / hw % c];
        DeviceBuffer xd = gpu.up(x.data()), zRelu = gpu.poisoned(total), zClip = gpu.poisoned(total);
        DeviceBuffer coef = DeviceBuffer.allocate((long) n * c * 3 * Double.BYTES),
                partial = DeviceBuffer.allocate((long) n * c * Double.BYTES);
        gpu.keep(coef);
        gpu.keep(partial);
        gpu.run("bn_stat_loss", new int[] {n * c, 1, 1}, xd, gpu.up(mean), gpu.up(std), null, partial, n, c, hw, 1e-6f, 0,
                coef);
        // z = f(BN(x)), what the fused forward stores, for relu and for clip(-0.5, 1.5).
        gpu.run("batchnorm_activation", grid(total), xd, gpu.up(scale), gpu.up(bias), gpu.up(bnMean), gpu.up(inv), zRelu,
                total, c, hw, 0, 0f, 0f);
        gpu.run("batchnorm_activation", grid(total), xd, gpu.up(scale), gpu.up(bias), gpu.up(bnMean), gpu.up(inv), zClip,
                total, c, hw, 1, -0.5f, 1.5f);
        String[] cases = {"batchnorm_backward", "activation_batchnorm_backward", "activation_batchnorm_backward clip",
                "activation_add_batchnorm_backward"};
        for (String name : cases) {
            String kernel = name.split(" ")[0];
            boolean clip = name.endsWith(" clip");
            DeviceBuffer z = clip ? zClip : zRelu;
            int op = clip ? 1 : 0;
            float lo = clip ? -0.5f : 0f, hi = clip ? 1.5f : 0f;
            for (int acc = 0; acc < 2; acc++) {
                float[] prior = rand(n, c, 7, 5).data();
                // Stored: the statistics gradient written (or added) first, then the kernel adds the BatchNorm's.
                DeviceBuffer stored = acc == 0 ? gpu.poisoned(total) : gpu.up(prior);
                gpu.run("bn_stat_loss", new int[] {n * c, 1, 1}, xd, gpu.up(mean), gpu.up(std), stored, partial, n, c, hw,
                        1e-6f, acc, null);
                DeviceBuffer deferred = acc == 0 ? gpu.poisoned(total) : gpu.up(prior);
                for (int pass = 0; pass < 2; pass++) {
                    DeviceBuffer dx = pass == 0 ? stored : deferred;
                    int flag = pass == 0 ? 1 : acc;
                    DeviceBuffer xs = pass == 0 ? null : xd, cs = pass == 0 ? null : coef;
                    switch (kernel) {
                        case "batchnorm_backward" -> gpu.run(kernel, grid(total), gpu.up(dy.data()), gpu.up(k), dx, total,
                                c, hw, flag, xs, cs);
                        case "activation_batchnorm_backward" -> gpu.run(kernel, grid(total), pass == 0 ? z : null,
                                gpu.up(dy.data()), gpu.up(k), dx, total, c, hw, op, lo, hi, flag, xs, cs,
                                pass == 0 ? null : gpu.up(scale), pass == 0 ? null : gpu.up(bias),
                                pass == 0 ? null : gpu.up(bnMean), pass == 0 ? null : gpu.up(inv));
                        default -> gpu.run(kernel, grid(total), gpu.up(other.data()), gpu.up(dy.data()), gpu.up(k),
                                gpu.poisoned(total), dx, total, c, hw, 0, 0f, 0f, 0, flag, xs, cs);
                    }
                }
                assertArrayEquals(down(stored, total), down(deferred, total), name + " accumulate=" + acc);
            }
        }
    }

    /**
     * The statistics with the fused BatchNorm forward in one pass (bn_stat_batchnorm_activation and its warp twin):
     * the partials and coefficients of bn_stat_loss, and the outputs of batchnorm_activation / batchnorm_add_activation,
     * bit for bit.
     */
    @Test
    void statisticsWithTheFusedBatchNormForwardInOnePass() {
        for (int[] shape : new int[][] {{3, 7, 7, 5}, {2, 5, 37, 29}}) {
            int n = shape[0], c = shape[1], hw = shape[2] * shape[3], total = n * c * hw;
            boolean warp = hw <= CudaDistiller.BN_STAT_WARP_MAX_HW;
            int[] statGrid = {warp ? Math.ceilDiv(n * c, 8) : n * c, 1, 1};
            Tensor x = rand(shape), other = rand(shape);
            float[] mean = rand(c).data(), std = rand(c).data(), scale = rand(c).data(), bias = rand(c).data(),
                    bnMean = rand(c).data(), inv = rand(c).data();
            for (int i = 0; i < c; i++) {
                std[i] = Math.abs(std[i]) + 0.2f;
                inv[i] = Math.abs(inv[i]) + 0.1f;
            }
            DeviceBuffer xd = gpu.up(x.data());
            for (boolean residual : new boolean[] {false, true}) {
                DeviceBuffer p1 = DeviceBuffer.allocate((long) n * c * Double.BYTES), p2 = DeviceBuffer.allocate((long) n * c * Double.BYTES),
                        c1 = DeviceBuffer.allocate((long) n * c * 3 * Double.BYTES), c2 = DeviceBuffer.allocate((long) n * c * 3 * Double.BYTES);
                for (DeviceBuffer b : List.of(p1, p2, c1, c2)) gpu.keep(b);
                DeviceBuffer want = gpu.poisoned(total), got = gpu.poisoned(total);
                gpu.run(warp ? "bn_stat_loss_warp" : "bn_stat_loss", statGrid, xd, gpu.up(mean), gpu.up(std), null, p1, n, c,
                        hw, 1e-6f, 0, c1);
                if (residual) {
                    gpu.run("batchnorm_add_activation", grid(total), xd, gpu.up(scale), gpu.up(bias), gpu.up(bnMean),
                            gpu.up(inv), gpu.up(other.data()), want, total, c, hw, 1, -0.5f, 1.5f);
                } else {
                    gpu.run("batchnorm_activation", grid(total), xd, gpu.up(scale), gpu.up(bias), gpu.up(bnMean),
                            gpu.up(inv), want, total, c, hw, 0, 0f, 0f);
                }
                String kernel = warp ? "bn_stat_batchnorm_activation_warp" : "bn_stat_batchnorm_activation";
                gpu.run(kernel, statGrid, xd, gpu.up(mean), gpu.up(std), p2, c2, n, c, hw, 1e-6f, gpu.up(scale),
                        gpu.up(bias), gpu.up(bnMean), gpu.up(inv), residual ? gpu.up(other.data()) : null, got,
                        residual ? 1 : 0, residual ? -0.5f : 0f, residual ? 1.5f : 0f);
                String what = kernel + " " + Arrays.toString(shape) + (residual ? " with a residual" : "");
                assertArrayEquals(down(want, total), down(got, total), what + ": outputs");
                assertArrayEquals(downDoubles(p1, n * c), downDoubles(p2, n * c), what + ": partials");
                assertArrayEquals(downDoubles(c1, 3 * n * c), downDoubles(c2, 3 * n * c), what + ": coefficients");
            }
        }
    }

    @Test
    void activationBackward() {
        Tensor x = rand(3, 7, 7, 5), dy = rand(3, 7, 7, 5);
        for (int i = 0; i < x.size(); i++) x.data()[i] *= 8f;
        x.data()[0] = 0f; // the kinks: relu'(0) = 0, clip'(0) = 0 at its bound
        x.data()[1] = 6f;
        x.data()[2] = 3f;
        x.data()[3] = -3f;
        Object[][] fs = {{new Activation.Relu(), 0, 0f, 0f}, {new Activation.Clip(0f, 6f), 1, 0f, 6f},
                {new Activation.LeakyRelu(0.1f), 2, 0.1f, 0f}, {new Activation.Sigmoid(), 3, 0f, 0f},
                {new Activation.HardSigmoid(0.2f, 0.5f), 4, 0.2f, 0.5f}, {new Activation.HardSwish(), 5, 0f, 0f}};
        for (Object[] f : fs) {
            Tensor ref = Gradients.activationBackward(x, dy, (Activation) f[0]);
            DeviceBuffer dx = gpu.poisoned(ref.size());
            gpu.run("activation_backward", grid(ref.size()), gpu.up(x.data()), gpu.up(dy.data()), dx, ref.size(),
                    (Integer) f[1], (Float) f[2], (Float) f[3], 0);
            check("activation_backward " + f[0], ref.data(), down(dx, ref.size()));
        }
    }

    /** 1/sqrt(var + eps) per channel, as CudaDistiller computes it for the fused BatchNorm kernels. */
    private static float[] inverseStd(Tensor var, float eps) {
        float[] inv = new float[var.size()];
        for (int c = 0; c < inv.length; c++) inv[c] = 1.0f / (float) Math.sqrt(var.data()[c] + eps);
        return inv;
    }

    /** scale/sqrt(var + eps) per channel, as Gradients.batchNormBackward rounds it. */
    private static float[] gradientScale(Tensor scale, Tensor var, float eps) {
        float[] k = new float[var.size()];
        for (int c = 0; c < k.length; c++) k[c] = (float) (scale.data()[c] / Math.sqrt((double) var.data()[c] + eps));
        return k;
    }

    @Test
    void batchNormActivationForwardAndBackwardFused() {
        // batchnorm_activation = activation(batchNorm(x)); activation_batchnorm_backward = the BatchNorm backward of the
        // activation backward, f' read off the activation's output (relu and clip only), both against the reference.
        Tensor x = rand(3, 7, 7, 5), dz = rand(3, 7, 7, 5), scale = rand(7), bias = rand(7), mean = rand(7), var = rand(7);
        for (int i = 0; i < 7; i++) var.data()[i] = Math.abs(var.data()[i]) + 0.1f;
        for (int i = 0; i < x.size(); i++) x.data()[i] *= 8f;
        float eps = 1e-5f;
        float[] inv = inverseStd(var, eps), k = gradientScale(scale, var, eps);
        RefBackend ref = new RefBackend();
        Tensor y = ref.batchNorm(x, scale, bias, mean, var, eps);
        Object[][] fs = {{new Activation.Relu(), 0, 0f, 0f}, {new Activation.Clip(0f, 6f), 1, 0f, 6f},
                {new Activation.Clip(-0.5f, 0.25f), 1, -0.5f, 0.25f}};
        for (Object[] f : fs) {
            Activation fn = (Activation) f[0];
            Tensor z = ref.activation(y, fn);
            DeviceBuffer out = gpu.poisoned(z.size());
            gpu.run("batchnorm_activation", grid(z.size()), gpu.up(x.data()), gpu.up(scale.data()), gpu.up(bias.data()),
                    gpu.up(mean.data()), gpu.up(inv), out, z.size(), 7, 35, (Integer) f[1], (Float) f[2], (Float) f[3]);
            check("batchnorm_activation " + fn, z.data(), down(out, z.size()));
            Tensor want = Gradients.batchNormBackward(Gradients.activationBackward(y, dz, fn), scale, var, eps);
            for (int acc = 0; acc < 2; acc++) {
                float[] prior = rand(3, 7, 7, 5).data();
                DeviceBuffer dx = acc == 0 ? gpu.poisoned(want.size()) : gpu.up(prior);
                gpu.run("activation_batchnorm_backward", grid(want.size()), gpu.up(z.data()), gpu.up(dz.data()), gpu.up(k),
                        dx, want.size(), 7, 35, (Integer) f[1], (Float) f[2], (Float) f[3], acc, null, null, null, null, null,
                        null);
                check("activation_batchnorm_backward " + fn + " accumulate=" + acc, plus(want.data(), acc == 1 ? prior : null),
                        down(dx, want.size()));
            }
        }
    }

    @Test
    void addActivationForwardAndBackwardFused() {
        // add_activation = activation(a + b); activation_add_backward = both sides' Add gradient of the activation's,
        // f' read off the output (relu and clip only); n = 3·7·7·5 + 2 is no multiple of 4 (the tail path runs too).
        int n = 3 * 7 * 7 * 5 + 2;
        Tensor a = rand(n), b = rand(n), dz = rand(n);
        for (int i = 0; i < n; i++) {
            a.data()[i] *= 4f;
            if (i % 9 == 0) b.data()[i] = -a.data()[i]; // sums of exactly 0: relu's kink
        }
        RefBackend ref = new RefBackend();
        Tensor sum = ref.binary(a, b, Backend.BinaryOp.ADD);
        Object[][] fs = {{new Activation.Relu(), 0, 0f, 0f}, {new Activation.Clip(0f, 6f), 1, 0f, 6f}};
        for (Object[] f : fs) {
            Activation fn = (Activation) f[0];
            Tensor z = ref.activation(sum, fn);
            DeviceBuffer out = gpu.poisoned(n);
            gpu.run("add_activation", grid(Math.ceilDiv(n, 4)), gpu.up(a.data()), gpu.up(b.data()), out, n, (Integer) f[1],
                    (Float) f[2], (Float) f[3]);
            check("add_activation " + fn, z.data(), down(out, n));
            float[] ds = Gradients.activationBackward(sum, dz, fn).data();
            for (int acc = 0; acc < 4; acc++) {
                int accA = acc & 1, accB = acc >> 1;
                float[] priorA = rand(n).data(), priorB = rand(n).data();
                DeviceBuffer da = accA == 0 ? gpu.poisoned(n) : gpu.up(priorA), db = accB == 0 ? gpu.poisoned(n) : gpu.up(priorB);
                gpu.run("activation_add_backward", grid(Math.ceilDiv(n, 4)), gpu.up(z.data()), gpu.up(dz.data()), da, db, n,
                        (Integer) f[1], (Float) f[2], (Float) f[3], accA, accB);
                check("activation_add_backward " + fn + " side a, accumulate " + accA, plus(ds, accA == 1 ? priorA : null), down(da, n));
                check("activation_add_backward " + fn + " side b, accumulate " + accB, plus(ds, accB == 1 ? priorB : null), down(db, n));
            }
        }
    }

    @Test
    void batchNormAddActivationForwardAndBackwardFused() {
        // batchnorm_add_activation = activation(batchNorm(x) + other); activation_add_batchnorm_backward = other's and x's
        // gradients (the Add's, then the BatchNorm's), f' read off the output (relu and clip only).
        Tensor x = rand(3, 7, 7, 5), other = rand(3, 7, 7, 5), dz = rand(3, 7, 7, 5);
        Tensor scale = rand(7), bias = rand(7), mean = rand(7), var = rand(7);
        for (int i = 0; i < 7; i++) var.data()[i] = Math.abs(var.data()[i]) + 0.1f;
        float eps = 1e-5f;
        float[] inv = inverseStd(var, eps), k = gradientScale(scale, var, eps);
        RefBackend ref = new RefBackend();
        Tensor sum = ref.binary(ref.batchNorm(x, scale, bias, mean, var, eps), other, Backend.BinaryOp.ADD);
        int n = sum.size();
        Object[][] fs = {{new Activation.Relu(), 0, 0f, 0f}, {new Activation.Clip(0f, 6f), 1, 0f, 6f}};
        for (Object[] f : fs) {
            Activation fn = (Activation) f[0];
            Tensor z = ref.activation(sum, fn);
            DeviceBuffer out = gpu.poisoned(n);
            gpu.run("batchnorm_add_activation", grid(n), gpu.up(x.data()), gpu.up(scale.data()), gpu.up(bias.data()),
                    gpu.up(mean.data()), gpu.up(inv), gpu.up(other.data()), out, n, 7, 35, (Integer) f[1], (Float) f[2],
                    (Float) f[3]);
            check("batchnorm_add_activation " + fn, z.data(), down(out, n));
            Tensor ds = Gradients.activationBackward(sum, dz, fn);
            float[] dx = Gradients.batchNormBackward(ds, scale, var, eps).data();
            for (int acc = 0; acc < 4; acc++) {
                int accO = acc & 1, accX = acc >> 1;
                float[] priorO = rand(n).data(), priorX = rand(n).data();
                DeviceBuffer dOther = accO == 0 ? gpu.poisoned(n) : gpu.up(priorO), dX = accX == 0 ? gpu.poisoned(n) : gpu.up(priorX);
                gpu.run("activation_add_batchnorm_backward", grid(n), gpu.up(z.data()), gpu.up(dz.data()), gpu.up(k), dOther,
                        dX, n, 7, 35, (Integer) f[1], (Float) f[2], (Float) f[3], accO, accX, null, null);
                check("activation_add_batchnorm_backward " + fn + " other, accumulate " + accO,
                        plus(ds.data(), accO == 1 ? priorO : null), down(dOther, n));
                check("activation_add_batchnorm_backward " + fn + " x, accumulate " + accX, plus(dx, accX == 1 ? priorX : null),
                        down(dX, n));
            }
        }
    }

    @Test
    void maxPoolBackward() {
        Tensor x = rand(3, 7, 7, 5);
        // Ties: a repeated value in some windows checks the first-maximum rule.
        for (int i = 0; i < x.size(); i += 3) x.data()[i] = 0.75f;
        for (boolean ceil : new boolean[] {false, true}) {
            for (PoolSpec s : List.of(
                    new PoolSpec(new int[] {2, 2}, new int[] {2, 2}, new int[4], new int[] {1, 1}, ceil, false),
                    new PoolSpec(new int[] {3, 3}, new int[] {2, 1}, new int[] {1, 1, 1, 0}, new int[] {1, 2}, ceil, false),
                    new PoolSpec(new int[] {3, 3}, new int[] {2, 2}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, ceil, false))) {
                int oh = s.outH(7), ow = s.outW(5);
                Tensor dy = rand(3, 7, oh, ow);
                Tensor ref = Gradients.maxPoolBackward(x, dy, s);
                int[] k = s.kernel(), st = s.strides(), p = s.pads(), d = s.dilations();
                DeviceBuffer dx = gpu.poisoned(ref.size());
                gpu.run("maxpool2d_backward", grid(ref.size()), gpu.up(x.data()), gpu.up(dy.data()), dx, 21, 7, 5, oh,
                        ow, k[0], k[1], st[0], st[1], p[0], p[1], d[0], d[1], 0);
                check("maxpool2d_backward " + Arrays.toString(k) + " ceil=" + ceil, ref.data(), down(dx, ref.size()));
            }
        }
    }

    @Test
    void avgPoolBackward() {
        int[] in = {3, 7, 7, 5};
        for (boolean ceil : new boolean[] {false, true}) {
            for (boolean include : new boolean[] {false, true}) {
                for (PoolSpec s : List.of(
                        new PoolSpec(new int[] {3, 3}, new int[] {2, 2}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, ceil, include),
                        new PoolSpec(new int[] {2, 2}, new int[] {2, 2}, new int[4], new int[] {1, 1}, ceil, include),
                        new PoolSpec(new int[] {7, 5}, new int[] {1, 1}, new int[4], new int[] {1, 1}, ceil, include))) {
                    int oh = s.outH(7), ow = s.outW(5);
                    Tensor dy = rand(3, 7, oh, ow);
                    Tensor ref = Gradients.avgPoolBackward(dy, s, in);
                    int[] k = s.kernel(), st = s.strides(), p = s.pads();
                    DeviceBuffer dx = gpu.poisoned(ref.size());
                    gpu.run("avgpool2d_backward", grid(ref.size()), gpu.up(dy.data()), dx, 21, 7, 5, oh, ow, k[0], k[1],
                            st[0], st[1], p[0], p[1], p[2], p[3], include ? 1 : 0, 0);
                    check("avgpool2d_backward " + Arrays.toString(k) + " ceil=" + ceil + " includePad=" + include, ref.data(),
                            down(dx, ref.size()));
                }
            }
        }
    }

    @Test
    void broadcastReduce() {
        int[][][] cases = {{{3, 7, 7, 5}, {3, 7, 7, 5}}, {{3, 7, 7, 5}, {1, 7, 1, 1}}, {{7, 1, 5}, {3, 1, 7, 1}},
                {{3, 7, 7, 5}, {}}, {{3, 7, 1, 1}, {3, 7, 7, 5}}};
        for (int[][] c : cases) {
            Tensor a = rand(c[0]), b = rand(c[1]);
            for (int i = 0; i < b.size(); i++) b.data()[i] += Math.copySign(0.5f, b.data()[i]);
            int[] full = Shapes.broadcast(a.shape(), b.shape());
            Tensor g = rand(full);
            for (Backend.BinaryOp op : Backend.BinaryOp.values()) {
                Tensor[] ref = binaryBackwardRef(op, g, a, b);
                for (int side = 0; side < 2; side++) {
                    Tensor r = ref[side];
                    DeviceBuffer dx = gpu.poisoned(r.size());
                    gpu.run("broadcast_reduce", grid(r.size()), gpu.up(g.data()), gpu.up(a.data()), gpu.up(b.data()),
                            dx, r.size(), pad(full, 1), pad(r.shape(), 1),
                            pad(CudaBackend.broadcastStrides(a.shape(), full), 0),
                            pad(CudaBackend.broadcastStrides(b.shape(), full), 0), op.ordinal(), side, 0);
                    check("broadcast_reduce " + op + " side " + side + " " + Arrays.toString(c[0]) + " " + Arrays.toString(c[1]),
                            r.data(), down(dx, r.size()));
                }
            }
        }
    }

    /** The same formulas as graph.Backprop's Binary backward, on the reference backend. */
    private static Tensor[] binaryBackwardRef(Backend.BinaryOp op, Tensor g, Tensor x, Tensor y) {
        Backend b = REF;
        int[] sa = x.shape(), sb = y.shape();
        return switch (op) {
            case ADD -> new Tensor[] {b.sumToShape(g, sa), b.sumToShape(g, sb)};
            case SUB -> new Tensor[] {b.sumToShape(g, sa), b.sumToShape(b.binary(g, Tensor.scalar(-1f), Backend.BinaryOp.MUL), sb)};
            case MUL -> new Tensor[] {b.sumToShape(b.binary(g, y, Backend.BinaryOp.MUL), sa),
                    b.sumToShape(b.binary(g, x, Backend.BinaryOp.MUL), sb)};
            case DIV -> {
                Tensor ga = b.binary(g, y, Backend.BinaryOp.DIV);
                Tensor gb = b.binary(b.binary(ga, b.binary(x, y, Backend.BinaryOp.DIV), Backend.BinaryOp.MUL),
                        Tensor.scalar(-1f), Backend.BinaryOp.MUL);
                yield new Tensor[] {b.sumToShape(ga, sa), b.sumToShape(gb, sb)};
            }
        };
    }

    @Test
    void sliceBackwardScatterAndConcatBackward() {
        // Slice backward: zero the input gradient, then scatter into the strided view (start 1, step 2 on axis 1;
        // start 4, step -2 on axis 2).
        int[] in = {3, 7, 7, 5};
        int[] starts = {1, 4}, axes = {1, 2}, steps = {2, -2};
        int[] os = {3, 3, 3, 5};
        Tensor g = rand(os);
        Tensor ref = Gradients.sliceBackward(g, in, starts, axes, steps);
        int[] is = Shapes.strides(in);
        int[] dst = is.clone();
        dst[1] *= 2;
        dst[2] *= -2;
        int base = starts[0] * is[1] + starts[1] * is[2];
        DeviceBuffer dx = gpu.poisoned(ref.size());
        gpu.run("fill", grid(ref.size()), dx, (long) ref.size(), 0f);
        gpu.run("strided_accumulate", grid(g.size()), gpu.up(g.data()), dx, g.size(), pad(os, 1),
                pad(Shapes.strides(os), 0), pad(dst, 0), 0, base, 1);
        check("slice backward scatter", ref.data(), down(dx, ref.size()));
        // Concat backward: the second input's slice of the gradient along axis 1, added to a prior gradient.
        int[] out = {3, 9, 7, 5}, part = {3, 4, 7, 5};
        Tensor go = rand(out);
        float[] prior = rand(part).data();
        Tensor sl = REF.slice(go, new int[] {0, 5, 0, 0}, new int[] {3, 9, 7, 5}, new int[] {0, 1, 2, 3}, new int[] {1, 1, 1, 1});
        DeviceBuffer gp = gpu.up(prior);
        int[] ost = Shapes.strides(out);
        gpu.run("strided_accumulate", grid(sl.size()), gpu.up(go.data()), gp, sl.size(), pad(part, 1), pad(ost, 0),
                pad(Shapes.strides(part), 0), 5 * ost[1], 0, 1);
        check("concat backward", plus(sl.data(), prior), down(gp, sl.size()));
    }

    // ---- loss, reduction, Adam ----

    @Test
    void bnStatisticLossAndReduction() {
        // bn_stat_loss (a block per plane) on every shape; bn_stat_loss_warp (a warp per plane, 8 to a block) on those
        // of up to CudaDistiller.BN_STAT_WARP_MAX_HW values per plane, plane counts that leave warps idle included.
        for (int[] shape : new int[][] {{3, 7, 7, 5}, {2, 5, 37, 29}, {3, 7, 1, 1}, {3, 7}, {2, 9, 32, 32}, {3, 11, 14, 14}}) {
            int n = shape[0], c = shape[1];
            Tensor x = rand(shape);
            float[] mean = rand(c).data(), std = rand(c).data();
            for (int i = 0; i < c; i++) std[i] = Math.abs(std[i]) + 0.2f;
            Backend.BnStatLoss ref = Gradients.bnStatisticLoss(x, mean, std, 1e-6f);
            int hw = x.size() / (n * c);
            for (int k = 0; k < 4; k++) {
                int acc = k & 1;
                boolean warp = k >= 2;
                if (warp && hw > CudaDistiller.BN_STAT_WARP_MAX_HW) continue;
                String kernel = warp ? "bn_stat_loss_warp" : "bn_stat_loss";
                float[] prior = rand(shape).data();
                DeviceBuffer dx = acc == 0 ? gpu.poisoned(x.size()) : gpu.up(prior);
                DeviceBuffer partial = DeviceBuffer.allocate((long) n * c * Double.BYTES);
                gpu.keep(partial);
                partial.fill32(DeviceBuffer.NAN_BITS);
                DeviceBuffer xd = gpu.up(x.data());
                gpu.run(kernel, new int[] {warp ? Math.ceilDiv(n * c, 8) : n * c, 1, 1}, xd, gpu.up(mean),
                        gpu.up(std), dx, partial, n, c, hw, 1e-6f, acc, null);
                float[] immediate = down(dx, x.size());
                check(kernel + " grad " + Arrays.toString(shape) + " accumulate=" + acc, plus(ref.grad().data(),
                        acc == 1 ? prior : null), immediate);
                // Deferred (bn_stat.cuh): the planes' coefficients instead, then bn_stat_apply: the same floats.
                DeviceBuffer coef = DeviceBuffer.allocate((long) n * c * 3 * Double.BYTES), later = acc == 0
                        ? gpu.poisoned(x.size()) : gpu.up(prior), partial2 = DeviceBuffer.allocate((long) n * c * Double.BYTES);
                gpu.keep(coef);
                gpu.keep(partial2);
                gpu.run(kernel, new int[] {warp ? Math.ceilDiv(n * c, 8) : n * c, 1, 1}, xd, gpu.up(mean),
                        gpu.up(std), null, partial2, n, c, hw, 1e-6f, 0, coef);
                gpu.run("bn_stat_apply", grid(x.size()), xd, coef, later, x.size(), hw, acc);
                assertArrayEquals(immediate, down(later, x.size()), kernel + " deferred then bn_stat_apply "
                        + Arrays.toString(shape) + " accumulate=" + acc);
                assertArrayEquals(downDoubles(partial, n * c), downDoubles(partial2, n * c), kernel + " deferred partials");
                // Two-stage reduction with 2 blocks (chunk ⌈n·c/2⌉) so both stages do real work.
                long count = (long) n * c;
                int blocks = 2;
                DeviceBuffer sums = DeviceBuffer.allocate(blocks * Double.BYTES), loss = DeviceBuffer.allocate(Double.BYTES);
                gpu.keep(sums);
                gpu.keep(loss);
                loss.fill32(DeviceBuffer.NAN_BITS);
                gpu.run("loss_reduce_partial", new int[] {blocks, 1, 1}, partial, sums, count,
                        Math.ceilDiv(count, blocks));
                gpu.run("loss_reduce_final", new int[] {1, 1, 1}, sums, loss, blocks);
                double got = downDouble(loss);
                assertEquals(ref.loss(), got, 1e-9 + Math.abs(ref.loss()) * 1e-6,
                        kernel + " + loss_reduce loss " + Arrays.toString(shape));
            }
        }
    }

    @Test
    void adamMatchesTheJavaOptimizer() {
        int n = 3 * 7 * 7 * 5;
        float[] p = rand(n).data(), m = new float[n], v = new float[n];
        DeviceBuffer dp = gpu.up(p), dm = gpu.up(m), dv = gpu.up(v), hp = DeviceBuffer.allocate(16);
        gpu.keep(hp);
        double lr = 0.5;
        for (int t = 1; t <= 5; t++) {
            float[] g = rand(n).data();
            double c1 = 1 - Math.pow(0.9, t), c2 = 1 - Math.pow(0.999, t);
            double stepSize = lr / c1, sqrtC2 = Math.sqrt(c2);
            // The reference: distill/Adam.java's loop, verbatim in its arithmetic.
            for (int i = 0; i < n; i++) {
                m[i] = (float) (0.9 * m[i] + (1 - 0.9) * g[i]);
                v[i] = (float) (0.999 * v[i] + (1 - 0.999) * g[i] * g[i]);
                double denom = Math.sqrt(v[i]) / sqrtC2 + 1e-8;
                p[i] -= (float) (stepSize * m[i] / denom);
            }
            try (var arena = java.lang.foreign.Arena.ofConfined()) {
                var s = arena.allocateFrom(java.lang.foreign.ValueLayout.JAVA_DOUBLE, stepSize, sqrtC2);
                Cuda.check("cuMemcpyHtoD_v2", dev.zeroq.bindings.cuda.cuda_h.cuMemcpyHtoD_v2(hp.address(), s, 16));
            }
            gpu.run("adam", grid(n), dp, gpu.up(g), dm, dv, hp, n);
            lr = t == 3 ? 0.05 : lr;
        }
        // Same double arithmetic in the same order: equal up to FMA contraction on the device (a few ulp).
        check("adam params", p, down(dp, n));
        check("adam m", m, down(dm, n));
        check("adam v", v, down(dv, n));
    }

    // ---- helpers ----

    @org.junit.jupiter.api.AfterEach
    void freeBuffers() {
        gpu.freeBuffers();
    }

    private static double downDouble(DeviceBuffer b) {
        return downDoubles(b, 1)[0];
    }

    private static double[] downDoubles(DeviceBuffer b, int count) {
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            var s = arena.allocate(8L * count);
            Cuda.check("cuMemcpyDtoH_v2", dev.zeroq.bindings.cuda.cuda_h.cuMemcpyDtoH_v2(s, b.address(), 8L * count));
            return s.toArray(java.lang.foreign.ValueLayout.JAVA_DOUBLE);
        }
    }

    private static int[] grid(long n) {
        return new int[] {(int) Math.clamp(Math.ceilDiv(n, 256), 1, 65535), 1, 1};
    }

    private static float[] plus(float[] a, float[] b) {
        if (b == null) return a;
        float[] r = new float[a.length];
        for (int i = 0; i < a.length; i++) r[i] = b[i] + a[i];
        return r;
    }

    private static int[] pad(int[] v, int fill) {
        int[] out = new int[6];
        Arrays.fill(out, 0, 6 - v.length, fill);
        System.arraycopy(v, 0, out, 6 - v.length, v.length);
        return out;
    }

    private Tensor rand(int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.size(); i++) t.data()[i] = (float) (random.nextDouble() * 2 - 1);
        return t;
    }

    /** |ref − got| ≤ ATOL + |ref|·RTOL everywhere (NaN never passes), reporting the first mismatch. */
    static void check(String what, float[] r, float[] g) {
        assertEquals(r.length, g.length, what + ": length");
        for (int i = 0; i < r.length; i++) {
            float tol = ATOL + Math.abs(r[i]) * RTOL;
            if (!(Math.abs(r[i] - g[i]) <= tol)) {
                int bad = 0;
                for (int j = i; j < r.length; j++) {
                    if (!(Math.abs(r[j] - g[j]) <= ATOL + Math.abs(r[j]) * RTOL)) bad++;
                }
                fail(what + ": first mismatch at flat index " + i + ": ref " + r[i] + ", cuda " + g[i] + " (tolerance "
                        + tol + "); " + bad + " mismatching elements of " + r.length);
            }
        }
    }
}
