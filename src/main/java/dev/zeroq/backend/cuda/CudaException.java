// The unchecked exception for a failed CUDA driver call. Built only by Cuda.check, so every message has the same
// form: the call, the CUresult's name and the driver's description of it.
package dev.zeroq.backend.cuda;

/** A CUDA driver call returned an error; {@link #result()} is the raw CUresult. */
public final class CudaException extends RuntimeException {
    private final int result;

    CudaException(String message, int result) {
        super(message);
        this.result = result;
    }

    /** The CUresult the driver returned, e.g. 2 for CUDA_ERROR_OUT_OF_MEMORY. */
    public int result() {
        return result;
    }

    /** Whether the call failed for want of device memory (CUDA_ERROR_OUT_OF_MEMORY). */
    public boolean outOfMemory() {
        return result == 2;
    }
}
