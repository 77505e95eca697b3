// A CUDA event, for timing work on a stream: record a start and an end, then elapsedMillis(start, end)
// after the end has completed. Benchmarks use these instead of host clocks, which would include launch latency.
package dev.zeroq.backend.cuda;

import dev.zeroq.bindings.cuda.cuda_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

final class CudaEvent implements AutoCloseable {
    static final int CU_EVENT_DEFAULT = 0;

    private MemorySegment event;

    private CudaEvent(MemorySegment event) {
        this.event = event;
    }

    static CudaEvent create() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Cuda.check("cuEventCreate", cuda_h.cuEventCreate(out, CU_EVENT_DEFAULT));
            return new CudaEvent(Cuda.readPointer(out));
        }
    }

    void record(CudaStream stream) {
        Cuda.check("cuEventRecord", cuda_h.cuEventRecord(handle(), stream == null ? MemorySegment.NULL : stream.handle()));
    }

    void synchronize() {
        Cuda.check("cuEventSynchronize", cuda_h.cuEventSynchronize(handle()));
    }

    /** Milliseconds between two recorded events (resolution about half a microsecond). */
    static float elapsedMillis(CudaEvent start, CudaEvent end) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ms = arena.allocate(ValueLayout.JAVA_FLOAT);
            Cuda.check("cuEventElapsedTime_v2", cuda_h.cuEventElapsedTime_v2(ms, start.handle(), end.handle()));
            return ms.get(ValueLayout.JAVA_FLOAT, 0);
        }
    }

    private MemorySegment handle() {
        if (event == null) {
            throw new IllegalStateException("CUDA event is destroyed");
        }
        return event;
    }

    @Override
    public void close() {
        if (event != null) {
            MemorySegment e = event;
            event = null;
            Cuda.check("cuEventDestroy_v2", cuda_h.cuEventDestroy_v2(e));
        }
    }
}
