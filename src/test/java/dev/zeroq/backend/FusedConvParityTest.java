package dev.zeroq.backend;

/*
 * The inference-only fused conv (weights packed once; bias, residual add and activation in the epilogue) against
 * the ref backend's conv2d, binary ADD and activation run one after the other, on every conv case of the parity
 * suite and each epilogue the inference pass builds.
 */

import dev.zeroq.backend.Activation.Clip;
import dev.zeroq.backend.Activation.Relu;
import dev.zeroq.backend.Backend.BinaryOp;
import dev.zeroq.backend.BackendParityTest.ConvCase;
import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.backend.cpu.FusedConv;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

class FusedConvParityTest {
    private static final Backend REF = new RefBackend();

    /** What follows the conv: the chains of ResNet (add, ReLU) and MobileNet (ReLU6, add alone) blocks. */
    record Epilogue(boolean residual, Activation act) {}

    static Stream<Arguments> cases() {
        List<Named<Epilogue>> epilogues = List.of(
                Named.of("bias only", new Epilogue(false, null)),
                Named.of("+ReLU", new Epilogue(false, new Relu())),
                Named.of("+ReLU6", new Epilogue(false, new Clip(0f, 6f))),
                Named.of("+residual", new Epilogue(true, null)),
                Named.of("+residual +ReLU", new Epilogue(true, new Relu())));
        List<Arguments> out = new ArrayList<>();
        for (Arguments a : BackendParityTest.convCases().toList()) {
            if (!(((Named<?>) a.get()[0]).getPayload() instanceof CpuBackend)) {
                continue; // the fused conv is cpu code
            }
            for (Named<Epilogue> e : epilogues) {
                out.add(Arguments.of(a.get()[0], a.get()[1], e));
            }
        }
        // The depthwise kernel's own edges, on rows wider than a vector (16 floats with AVX-512, 8 with AVX2):
        // stride-2 rows split into column phases by gathers in several pieces plus a scalar tail, a row width
        // that is no multiple of the vector length, dilation with asymmetric pads.
        List<Named<ConvCase>> depthwise = List.of(
                Named.of("depthwise 2x24x23x41 s2 p1", new ConvCase(new int[] {2, 24, 23, 41}, 24, new int[] {3, 3},
                        new int[] {2, 2}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 24, true)),
                Named.of("depthwise 1x19x21x37 s2 dilation 2 asym pads", new ConvCase(new int[] {1, 19, 21, 37}, 19,
                        new int[] {3, 3}, new int[] {2, 2}, new int[] {2, 1, 0, 2}, new int[] {2, 2}, 19, false)),
                Named.of("depthwise 3x5x9x40 s1 p1", new ConvCase(new int[] {3, 5, 9, 40}, 5, new int[] {3, 3},
                        new int[] {1, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 5, true)));
        for (CpuBackend cpu : List.of(new CpuBackend(1), new CpuBackend(2))) {
            for (Named<ConvCase> c : depthwise) {
                for (Named<Epilogue> e : epilogues) {
                    out.add(Arguments.of(Named.of("cpu x" + cpu.threads(), cpu), c, e));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}: {1} {2}")
    @MethodSource("cases")
    void fusedConvMatchesRefOps(Backend backend, ConvCase c, Epilogue e) {
        Random r = new Random(BackendParityTest.SEED + 7);
        int cinG = c.xShape()[1] / c.group();
        Tensor x = random(r, c.xShape());
        Tensor w = random(r, c.cout(), cinG, c.k()[0], c.k()[1]);
        Tensor b = c.bias() ? random(r, c.cout()) : null;
        // Scaled so that ReLU6 clips some outputs at both ends.
        for (int i = 0; i < w.size(); i++) {
            w.data()[i] *= 4f;
        }
        Tensor want = REF.conv2d(x, w, b, c.spec());
        Tensor res = e.residual() ? random(r, want.shape()) : null;
        if (res != null) {
            want = REF.binary(want, res, BinaryOp.ADD);
        }
        if (e.act() != null) {
            want = REF.activation(want, e.act());
        }
        FusedConv f = new FusedConv(w, b, c.spec(), e.act());
        CpuBackend cpu = (CpuBackend) backend;
        BackendParityTest.assertClose(want, f.apply(cpu, x, res));
        // Into a reused buffer full of garbage: every element is written.
        Tensor out = Tensor.zeros(want.shape());
        Arrays.fill(out.data(), Float.NaN);
        f.run(cpu, x, res, out);
        BackendParityTest.assertClose(want, out);
    }

    @Test
    void rejectsMismatchedResidual() {
        FusedConv f = new FusedConv(Tensor.zeros(4, 3, 3, 3), null,
                new ConvSpec(new int[] {3, 3}, new int[] {1, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 1), null);
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> f.apply(new CpuBackend(1), Tensor.zeros(1, 3, 5, 5), Tensor.zeros(1, 4, 5, 4)));
    }

    private static Tensor random(Random r, int... shape) {
        float[] v = new float[Math.toIntExact(dev.zeroq.tensor.Shapes.size(shape))];
        for (int i = 0; i < v.length; i++) {
            v[i] = 2f * r.nextFloat() - 1f;
        }
        return new Tensor(v, shape);
    }
}
