package dev.zeroq.backend;

import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/**
 * A quick check of a backend against {@code ref} on small odd-shaped random inputs, op by op, for
 * {@code zeroq doctor}. Tolerance: |ref − got| ≤ 1e-4 + 1e-3·|ref| (float32 with reordered sums).
 */
public final class SelfTest {
    private SelfTest() {}

    /** One op's result: the largest error seen and whether it is within tolerance; error text if it threw. */
    public record Check(String op, double maxError, boolean ok, String error) {}

    public static List<Check> run(Backend b) {
        Backend ref = new RefBackend();
        Random r = new Random(1234);
        Tensor x = random(r, 3, 7, 7, 5);
        Tensor w = random(r, 6, 7, 3, 3);
        Tensor dw = random(r, 7, 1, 3, 3);
        Tensor bias = random(r, 6);
        Tensor c7 = random(r, 7);
        Tensor var = random(r, 7);
        for (int i = 0; i < 7; i++) var.data()[i] = Math.abs(var.data()[i]) + 0.1f;
        ConvSpec conv = new ConvSpec(new int[] {3, 3}, new int[] {2, 1}, new int[] {1, 1, 1, 0}, new int[] {1, 1}, 1);
        ConvSpec depth = new ConvSpec(new int[] {3, 3}, new int[] {1, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 7);
        PoolSpec pool = new PoolSpec(new int[] {3, 3}, new int[] {2, 2}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, true, false);
        Tensor a = random(r, 13, 17), m = random(r, 19, 17), cvec = random(r, 19);
        Tensor go = random(r, 3, 6, conv.outH(7), conv.outW(5));
        List<Check> out = new ArrayList<>();
        out.add(check("conv2d", ref, b, k -> k.conv2d(x, w, bias, conv)));
        out.add(check("conv2d depthwise", ref, b, k -> k.conv2d(x, dw, null, depth)));
        out.add(check("conv2d backward-data", ref, b, k -> k.conv2dBackwardData(go, w, conv, x.shape())));
        out.add(check("batchNorm", ref, b, k -> k.batchNorm(x, c7, c7, c7, var, 1e-5f)));
        out.add(check("relu6", ref, b, k -> k.activation(x, new Activation.Clip(0f, 6f))));
        out.add(check("hardswish", ref, b, k -> k.activation(x, new Activation.HardSwish())));
        out.add(check("add (broadcast)", ref, b, k -> k.binary(x, c7.reshape(7, 1, 1), Backend.BinaryOp.ADD)));
        out.add(check("maxPool", ref, b, k -> k.maxPool(x, pool)));
        out.add(check("avgPool", ref, b, k -> k.avgPool(x, pool)));
        out.add(check("globalAvgPool", ref, b, k -> k.globalAvgPool(x)));
        out.add(check("gemm", ref, b, k -> k.gemm(a, m, cvec, 1f, 1f, false, true)));
        out.add(check("bn-statistics loss", ref, b, k -> k.bnStatisticLoss(x, c7.data(), var.data(), 1e-6f).grad()));
        return out;
    }

    private static Check check(String op, Backend ref, Backend b, Function<Backend, Tensor> f) {
        try {
            return compare(op, f.apply(ref), f.apply(b));
        } catch (RuntimeException e) {
            return new Check(op, Double.NaN, false, e.getMessage());
        }
    }

    /** {@code got} against {@code want}: same shape, and |want − got| ≤ 1e-4 + 1e-3·|want| everywhere. */
    public static Check compare(String op, Tensor want, Tensor got) {
        double max = 0;
        boolean ok = java.util.Arrays.equals(want.shape(), got.shape());
        for (int i = 0; ok && i < want.size(); i++) {
            double e = Math.abs(want.data()[i] - got.data()[i]);
            max = Math.max(max, e);
            if (!(e <= 1e-4 + 1e-3 * Math.abs(want.data()[i]))) ok = false;
        }
        boolean sameShape = java.util.Arrays.equals(want.shape(), got.shape());
        return new Check(op, sameShape ? max : Double.NaN, ok, sameShape ? null : "shape "
                + java.util.Arrays.toString(got.shape()) + ", expected " + java.util.Arrays.toString(want.shape()));
    }

    private static Tensor random(Random r, int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.size(); i++) t.data()[i] = (float) r.nextGaussian();
        return t;
    }
}
