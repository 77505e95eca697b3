// Round trip through JCuda: JCuda retains the primary context, creates a non-blocking stream, allocates and fills
// the input, zeroq runs the bundled resnet_fmnist forward on those pointers via JCudaInterop, JCuda copies the output
// back, and it matches the CPU executor. Also checks zeroq left the caller's buffers alive. Skips with the reason
// when there is no GPU or JCuda's natives cannot load.
package dev.zeroq.backend.cuda;

import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.graph.Executor;
import dev.zeroq.graph.Graph;
import dev.zeroq.io.Bundled;
import dev.zeroq.onnx.OnnxImporter;
import dev.zeroq.tensor.Tensor;
import jcuda.Pointer;
import jcuda.Sizeof;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

@Tag("gpu")
class JCudaInteropTest {
    private static final long SEED = 7L;
    // The CUDA backend's float kernels and the CPU backend sum in different orders through ~20 layers: 1e-3 of
    // logits of magnitude ~10 covers that; a wrong pointer, stream or layout gives garbage or NaN.
    private static final float ATOL = 1e-3f, RTOL = 1e-3f;

    @Test
    void resnetFmnistForwardOnJCudaMemoryMatchesTheCpu() {
        CudaAvailability a = CudaAvailability.probe();
        assumeTrue(a.usable(), "CUDA unavailable: " + a.reason());
        String jcuda = jcudaProblem();
        assumeTrue(jcuda == null, "JCuda natives unusable here: " + jcuda);

        Graph graph = OnnxImporter.parse(Bundled.model("resnet_fmnist"), "resnet_fmnist.onnx").graph();
        int[] chw = graph.inputShape();
        int[] shape = {3, chw[0], chw[1], chw[2]}; // an odd batch
        SplittableRandom random = new SplittableRandom(SEED);
        float[] x = new float[Arrays.stream(shape).reduce(1, Math::multiplyExact)];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextDouble();
        Tensor expected = new Executor(graph, new CpuBackend()).run(new Tensor(x.clone(), shape.clone()));

        CUdevice device = new CUdevice();
        JCudaDriver.cuDeviceGet(device, 0);
        CUcontext context = new CUcontext();
        JCudaDriver.cuDevicePrimaryCtxRetain(context, device);
        CUstream stream = new CUstream();
        CUdeviceptr in = new CUdeviceptr(), out = new CUdeviceptr();
        try {
            JCudaDriver.cuCtxSetCurrent(context);
            JCudaDriver.cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING);
            JCudaDriver.cuMemAlloc(in, (long) x.length * Sizeof.FLOAT);
            JCudaDriver.cuMemAlloc(out, (long) expected.size() * Sizeof.FLOAT);
            JCudaDriver.cuMemsetD32(out, 0x7fc00000, expected.size()); // NaN: an unwritten output fails below
            JCudaDriver.cuMemcpyHtoD(in, Pointer.to(x), (long) x.length * Sizeof.FLOAT);

            int[] outShape;
            try (JCudaInterop.Session s = JCudaInterop.open(graph, context, 0, stream)) {
                outShape = s.run(in, shape, out, expected.size());
            }
            assertArrayEquals(expected.shape(), outShape, "output shape");

            // zeroq closed its session: the caller's context, stream and buffers must still work.
            JCudaDriver.cuCtxSetCurrent(context);
            float[] got = new float[expected.size()];
            JCudaDriver.cuMemcpyDtoH(Pointer.to(got), out, (long) got.length * Sizeof.FLOAT);
            float[] inAgain = new float[x.length];
            JCudaDriver.cuMemcpyDtoH(Pointer.to(inAgain), in, (long) x.length * Sizeof.FLOAT);
            assertArrayEquals(x, inAgain, "the input buffer is the caller's and unchanged");
            JCudaDriver.cuStreamSynchronize(stream);
            compare(expected.data(), got);
        } finally {
            JCudaDriver.cuCtxSetCurrent(context);
            if (!in.equals(new CUdeviceptr())) JCudaDriver.cuMemFree(in);
            if (!out.equals(new CUdeviceptr())) JCudaDriver.cuMemFree(out);
            JCudaDriver.cuStreamDestroy(stream);
            JCudaDriver.cuDevicePrimaryCtxRelease(device);
        }
    }

    /** Null when JCuda's driver natives load and cuInit works through them, else the exact reason. */
    private static String jcudaProblem() {
        try {
            JCudaDriver.setExceptionsEnabled(true); // every JCuda call below then throws on a non-zero CUresult
            JCudaDriver.cuInit(0);
            return null;
        } catch (Throwable t) { // UnsatisfiedLinkError from the natives, or a CudaException: both are the reason
            return t.toString();
        }
    }

    private static void compare(float[] ref, float[] got) {
        assertEquals(ref.length, got.length);
        for (int i = 0; i < ref.length; i++) {
            if (!(Math.abs(ref[i] - got[i]) <= ATOL + Math.abs(ref[i]) * RTOL)) {
                fail("first mismatch at flat index " + i + ": cpu " + ref[i] + ", zeroq on JCuda memory " + got[i]
                        + " (tolerance " + (ATOL + Math.abs(ref[i]) * RTOL) + ")");
            }
        }
    }
}
