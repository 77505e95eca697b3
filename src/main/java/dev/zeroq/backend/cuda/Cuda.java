// The one place CUresult codes are checked, plus the small helpers every device object shares (reading
// out-parameters, C strings). Every driver call in this package goes through check().
package dev.zeroq.backend.cuda;

import dev.zeroq.bindings.cuda.cuda_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

final class Cuda {
    static final int CUDA_SUCCESS = 0;
    static final int CUDA_ERROR_NO_DEVICE = 100;
    /** CUstreamCaptureMode: a capture of this thread's alone restricts it; a thread of this mode is never restricted. */
    static final int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1, CU_STREAM_CAPTURE_MODE_RELAXED = 2;

    private Cuda() {
    }

    /** Throws {@link CudaException} naming {@code call} unless {@code result} is CUDA_SUCCESS. */
    static void check(String call, int result) {
        if (result != CUDA_SUCCESS) {
            throw new CudaException(call + " failed: " + describe(result), result);
        }
    }

    /** "CUDA_ERROR_OUT_OF_MEMORY (2): out of memory", falling back to the number when the driver cannot name it. */
    static String describe(int result) {
        String name = errorText(result, true);
        String text = errorText(result, false);
        return (name != null ? name : "CUresult") + " (" + result + ")" + (text != null ? ": " + text : "");
    }

    // cuGetErrorName/String return pointers to static strings owned by the driver; we only read them.
    // Their own status is deliberately not routed through check(): they are the checker's own helpers and an
    // unknown code is answered with CUDA_ERROR_INVALID_VALUE, which we report as "no name".
    private static String errorText(int result, boolean name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            int r = name ? cuda_h.cuGetErrorName(result, out) : cuda_h.cuGetErrorString(result, out);
            MemorySegment p = out.get(ValueLayout.ADDRESS, 0);
            if (r != CUDA_SUCCESS || p.equals(MemorySegment.NULL)) {
                return null;
            }
            return p.reinterpret(4096).getString(0);
        } catch (UnsatisfiedLinkError e) {
            return null;
        }
    }

    /**
     * Sets the calling thread's stream-capture interaction mode (CU_STREAM_CAPTURE_MODE_GLOBAL 0, the default, or one
     * of the constants above) and returns the one it had, to be restored with another call.
     */
    static int exchangeCaptureMode(int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocateFrom(ValueLayout.JAVA_INT, mode);
            check("cuThreadExchangeStreamCaptureMode", cuda_h.cuThreadExchangeStreamCaptureMode(m));
            return readInt(m);
        }
    }

    static int readInt(MemorySegment s) {
        return s.get(ValueLayout.JAVA_INT, 0);
    }

    static long readLong(MemorySegment s) {
        return s.get(ValueLayout.JAVA_LONG, 0);
    }

    static MemorySegment readPointer(MemorySegment s) {
        return s.get(ValueLayout.ADDRESS, 0);
    }
}
