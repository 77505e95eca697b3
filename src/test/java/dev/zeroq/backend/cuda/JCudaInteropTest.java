// Round trip through JCuda, in place: JCuda retains the primary context, creates a non-blocking stream and allocates
// the buffers; on that stream it copies the input up from pinned memory, zeroq runs the bundled resnet_fmnist forward
// (JCudaSession) and JCuda copies the output down, all asynchronous, with one synchronize at the end. The logits must
// match the CPU engine, land exactly at the caller's (offset) pointer with the bytes around it untouched, and the run
// must allocate no device memory. Skips with the reason when there is no GPU or JCuda's natives cannot load.
package dev.zeroq.backend.cuda;

import dev.zeroq.ZeroqException;
import dev.zeroq.api.Device;
import dev.zeroq.api.InferenceSession;
import dev.zeroq.api.JCudaSession;
import dev.zeroq.api.Model;
import dev.zeroq.api.SessionOptions;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

@Tag("gpu")
class JCudaInteropTest {
    private static final long SEED = 7L;
    private static final int BATCH = 3, MAX_BATCH = 4; // an odd batch below the planned maximum
    /** Bytes before and after the output inside the caller's allocation, which zeroq must leave alone. */
    private static final int GUARD = 256;
    /** A NaN with a payload: what the guards and the unwritten output hold. */
    private static final int SENTINEL = 0x7fc0dead;
    // The CUDA forward's float kernels and the CPU backend sum in different orders through ~20 layers: 1e-3 of
    // logits of magnitude ~10 covers that; a wrong pointer, stream or layout gives garbage or the NaN sentinel.
    private static final float ATOL = 1e-3f, RTOL = 1e-3f;

    private Model model;
    private float[] x;
    private float[] expected;

    @BeforeEach
    void skipWithoutGpuOrJCuda() {
        GpuTests.requireCuda();
        String jcuda = jcudaProblem();
        assumeTrue(jcuda == null, "JCuda natives unusable here: " + jcuda);
        model = Model.bundled("resnet_fmnist");
        SplittableRandom random = new SplittableRandom(SEED);
        x = new float[BATCH * model.inputShape().size()];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextDouble();
        try (InferenceSession cpu = model.session(SessionOptions.builder().device(Device.cpu()).build())) {
            expected = cpu.run(x, BATCH);
        }
    }

    @Test
    void resnetFmnistRunsInPlaceOnTheCallersStreamAndMatchesTheCpu() {
        CUdevice device = new CUdevice();
        JCudaDriver.cuDeviceGet(device, 0);
        CUcontext context = new CUcontext();
        JCudaDriver.cuDevicePrimaryCtxRetain(context, device);
        JCudaDriver.cuCtxSetCurrent(context);
        CUstream stream = new CUstream();
        JCudaDriver.cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING);
        long inBytes = 4L * x.length, outBytes = 4L * expected.length, outAlloc = GUARD + outBytes + GUARD;
        CUdeviceptr in = new CUdeviceptr(), out = new CUdeviceptr();
        Pointer hostIn = new Pointer(), hostOut = new Pointer();
        long liveBefore = DeviceBuffer.live();
        try {
            JCudaDriver.cuMemAlloc(in, inBytes);
            JCudaDriver.cuMemAlloc(out, outAlloc);
            JCudaDriver.cuMemsetD32(out, SENTINEL, outAlloc / 4);
            // Pinned host memory: the copies below are truly asynchronous, so only stream order makes them right.
            JCudaDriver.cuMemAllocHost(hostIn, inBytes);
            JCudaDriver.cuMemAllocHost(hostOut, outAlloc);
            floats(hostIn, inBytes).put(0, x);

            try (JCudaSession s = JCudaSession.open(model, context, stream, MAX_BATCH)) {
                assertEquals(inBytes, s.inputBytes(BATCH));
                assertEquals(outBytes, s.outputBytes(BATCH));
                long allocations = CudaForward.deviceAllocations();

                JCudaDriver.cuMemcpyHtoDAsync(in, hostIn, inBytes, stream);
                s.run(in, out.withByteOffset(GUARD), BATCH);
                JCudaDriver.cuMemcpyDtoHAsync(hostOut, out, outAlloc, stream);
                JCudaDriver.cuStreamSynchronize(stream);

                assertEquals(allocations, CudaForward.deviceAllocations(), "run allocated device memory");
                IntBuffer bits = hostOut.getByteBuffer(0, outAlloc).order(ByteOrder.nativeOrder()).asIntBuffer();
                for (int i = 0; i < GUARD / 4; i++) {
                    assertEquals(SENTINEL, bits.get(i), "guard before the output, word " + i);
                    assertEquals(SENTINEL, bits.get((int) ((GUARD + outBytes) / 4) + i), "guard after the output, word " + i);
                }
                float[] got = new float[expected.length];
                floats(hostOut, outAlloc).get(GUARD / 4, got);
                compare(expected, got, "output at the caller's pointer");

                // Errors, each before anything is enqueued; the session stays usable after them.
                ZeroqException e = assertThrows(ZeroqException.class, () -> s.run(in, out, MAX_BATCH + 1));
                assertTrue(e.badInput(), e.getMessage());
                e = assertThrows(ZeroqException.class, () -> s.run(in, out.withByteOffset(outAlloc - outBytes + 4), BATCH));
                assertTrue(e.getMessage().contains("allocate at least " + outBytes + " bytes"), e.getMessage());
                e = assertThrows(ZeroqException.class, () -> s.run(new CUdeviceptr(), out, BATCH));
                assertTrue(e.getMessage().contains("not device memory"), e.getMessage());

                // In place in the strictest sense: output over the input (the input is read before anything is written).
                s.run(in, in, BATCH);
                JCudaDriver.cuMemcpyDtoHAsync(hostOut, in, outBytes, stream);
                JCudaDriver.cuStreamSynchronize(stream);
                floats(hostOut, outBytes).get(0, got);
                compare(expected, got, "output written over the input");
                System.out.println("JCUDA in-place run on the caller's stream: logits match the CPU engine, guards of "
                        + GUARD + " bytes intact, 0 device allocations per run, output over input ok");
            }
            assertEquals(liveBefore, DeviceBuffer.live(), "zeroq's device buffers after close");
            // zeroq closed its session: the caller's context, stream and buffers still work.
            JCudaDriver.cuCtxSetCurrent(context);
            JCudaDriver.cuMemsetD32Async(out, 0, outAlloc / 4, stream);
            JCudaDriver.cuStreamSynchronize(stream);
        } finally {
            JCudaDriver.cuCtxSetCurrent(context);
            free(in);
            free(out);
            if (!hostIn.equals(new Pointer())) JCudaDriver.cuMemFreeHost(hostIn);
            if (!hostOut.equals(new Pointer())) JCudaDriver.cuMemFreeHost(hostOut);
            JCudaDriver.cuStreamDestroy(stream);
            JCudaDriver.cuDevicePrimaryCtxRelease(device);
        }
    }

    @Test
    void theLegacyDefaultStreamWorksAndAClosedSessionRefusesToRun() {
        CUdevice device = new CUdevice();
        JCudaDriver.cuDeviceGet(device, 0);
        CUcontext context = new CUcontext();
        JCudaDriver.cuDevicePrimaryCtxRetain(context, device);
        JCudaDriver.cuCtxSetCurrent(context);
        CUstream legacy = new CUstream(); // never created: the NULL stream
        CUdeviceptr in = new CUdeviceptr(), out = new CUdeviceptr();
        try {
            JCudaDriver.cuMemAlloc(in, 4L * x.length);
            JCudaDriver.cuMemAlloc(out, 4L * expected.length);
            JCudaDriver.cuMemcpyHtoD(in, Pointer.to(x), 4L * x.length);
            JCudaSession s = JCudaSession.open(model, context, legacy, BATCH);
            s.run(in, out, BATCH);
            s.close();
            s.close(); // idempotent
            float[] got = new float[expected.length];
            JCudaDriver.cuCtxSynchronize();
            JCudaDriver.cuMemcpyDtoH(Pointer.to(got), out, 4L * got.length);
            compare(expected, got, "on the legacy stream");
            assertThrows(IllegalStateException.class, () -> s.run(in, out, BATCH));
        } finally {
            JCudaDriver.cuCtxSetCurrent(context);
            free(in);
            free(out);
            JCudaDriver.cuDevicePrimaryCtxRelease(device);
        }
    }

    @Test
    void aBufferOfAnotherContextIsRefused() {
        CUdevice device = new CUdevice();
        JCudaDriver.cuDeviceGet(device, 0);
        CUcontext primary = new CUcontext(), other = new CUcontext();
        JCudaDriver.cuDevicePrimaryCtxRetain(primary, device);
        CUdeviceptr in = new CUdeviceptr(), foreign = new CUdeviceptr();
        try {
            JCudaDriver.cuCtxCreate(other, 0, device);
            JCudaDriver.cuMemAlloc(foreign, 4L * expected.length);
            JCudaDriver.cuCtxSetCurrent(primary);
            JCudaDriver.cuMemAlloc(in, 4L * x.length);
            try (JCudaSession s = JCudaSession.open(model, primary, new CUstream(), BATCH)) {
                ZeroqException e = assertThrows(ZeroqException.class, () -> s.run(in, foreign, BATCH));
                assertTrue(e.getMessage().contains("was allocated in CUDA context"), e.getMessage());
            }
        } finally {
            JCudaDriver.cuCtxSetCurrent(primary);
            free(in);
            if (!other.equals(new CUcontext())) {
                JCudaDriver.cuCtxSetCurrent(other);
                free(foreign);
                JCudaDriver.cuCtxDestroy(other);
            }
            JCudaDriver.cuDevicePrimaryCtxRelease(device);
        }
    }

    private static FloatBuffer floats(Pointer host, long bytes) {
        return host.getByteBuffer(0, bytes).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    private static void free(CUdeviceptr p) {
        if (!p.equals(new CUdeviceptr())) JCudaDriver.cuMemFree(p);
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

    private static void compare(float[] ref, float[] got, String what) {
        assertEquals(ref.length, got.length);
        for (int i = 0; i < ref.length; i++) {
            if (!(Math.abs(ref[i] - got[i]) <= ATOL + Math.abs(ref[i]) * RTOL)) {
                fail(what + ": first mismatch at flat index " + i + ": cpu " + ref[i] + ", zeroq on JCuda memory "
                        + got[i] + " (tolerance " + (ATOL + Math.abs(ref[i]) * RTOL) + ")");
            }
        }
    }
}
