// A CUDA stream: work queued on it runs in order; synchronize() waits for all of it.
// Blocking by default: it then orders against the legacy default stream, which the synchronous cuMemcpy/cuMemset
// calls use, so an upload always completes before a kernel on this stream reads it.
package dev.zeroq.backend.cuda;

import dev.zeroq.bindings.cuda.cuda_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

final class CudaStream implements AutoCloseable {
    static final int CU_STREAM_NON_BLOCKING = 1;

    private final boolean owned; // false: a caller's stream (JCudaInterop), never destroyed here
    private MemorySegment stream;

    private CudaStream(MemorySegment stream, boolean owned) {
        this.stream = stream;
        this.owned = owned;
    }

    /** Wraps a stream someone else created (and will destroy); close() only forgets it. */
    static CudaStream borrow(MemorySegment stream) {
        return new CudaStream(stream, false);
    }

    static CudaStream create() {
        return create(false);
    }

    /** nonBlocking: no implicit ordering with the legacy default stream (only for fully asynchronous pipelines). */
    static CudaStream create(boolean nonBlocking) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Cuda.check("cuStreamCreate", cuda_h.cuStreamCreate(out, nonBlocking ? CU_STREAM_NON_BLOCKING : 0));
            return new CudaStream(Cuda.readPointer(out), true);
        }
    }

    MemorySegment handle() {
        if (stream == null) {
            throw new IllegalStateException("CUDA stream is destroyed");
        }
        return stream;
    }

    void synchronize() {
        Cuda.check("cuStreamSynchronize", cuda_h.cuStreamSynchronize(handle()));
    }

    @Override
    public void close() {
        if (stream != null && !owned) {
            stream = null;
        } else if (stream != null) {
            MemorySegment s = stream;
            stream = null;
            Cuda.check("cuStreamDestroy_v2", cuda_h.cuStreamDestroy_v2(s));
        }
    }
}
