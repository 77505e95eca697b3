// The CUDA backend with --conv cudnn on the convolution parity cases of CudaBackendParityTest (forward) and their
// backward-data twins, against the reference backend. Asymmetric pads stay on zeroq's kernels (cuDNN cannot express
// them) and must still match. Skips, naming the reason, without a GPU or cuDNN 9.
package dev.zeroq.backend.cuda;

import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

@Tag("gpu")
class CudaBackendCudnnParityTest {
    private static final long SEED = 20240531L;
    private static final float ATOL = 1e-3f, RTOL = 1e-3f; // see CudnnConvTest: cuDNN may choose Winograd/FFT
    private static final RefBackend REF = new RefBackend();
    private static CudaBackend cuda;
    private final SplittableRandom random = new SplittableRandom(SEED);

    @BeforeAll
    static void open() {
        GpuTests.requireCudnn();
        cuda = new CudaBackend(0, CudaBackend.ConvKernels.CUDNN);
        cuda.setPoisonOutputs(true);
        System.out.println("CUDA backend with cuDNN convolutions on " + cuda.describe() + " (seed " + SEED + ")");
    }

    @AfterAll
    static void close() {
        if (cuda != null) {
            cuda.close();
        }
    }

    @Test
    void convKernelsAreCudnn() {
        assertEquals(CudaBackend.ConvKernels.CUDNN, cuda.convKernels());
    }

    @ParameterizedTest
    @FieldSource("dev.zeroq.backend.cuda.CudaBackendParityTest#CONV_CASES")
    void conv2d(CudaBackendParityTest.ConvParity p) {
        ConvCase c = p.c();
        conv(c.n, c.cin, c.h, c.w, c.cout, c.kh, c.kw, c.s, c.p, c.d, c.g, p.bias());
    }

    @Test
    void conv2dStridedPadded() {
        conv(3, 7, 7, 5, 5, 3, 2, new int[] {2, 2}, new int[] {1, 0, 1, 0}, new int[] {1, 1}, 1, false);
    }

    private void conv(int n, int cin, int h, int w, int cout, int kh, int kw, int[] s, int[] p, int[] d, int g,
                      boolean bias) {
        Tensor x = rand(n, cin, h, w);
        Tensor wt = rand(cout, cin / g, kh, kw);
        Tensor b = bias ? rand(cout) : null;
        ConvSpec spec = new ConvSpec(new int[] {kh, kw}, s, p, d, g);
        Tensor y = REF.conv2d(x, wt, b, spec);
        CudnnConvTest.check("conv2d " + spec, y, cuda.conv2d(x, wt, b, spec), ATOL, RTOL);
        Tensor dy = rand(y.shape());
        CudnnConvTest.check("conv2dBackwardData " + spec, REF.conv2dBackwardData(dy, wt, spec, x.shape()),
                cuda.conv2dBackwardData(dy, wt, spec, x.shape()), ATOL, RTOL);
    }

    private Tensor rand(int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return t;
    }
}
