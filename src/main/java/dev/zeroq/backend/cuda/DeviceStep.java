package dev.zeroq.backend.cuda;

/**
 * One step of a planned device pass, enqueued on a stream without waiting: a prepared kernel launch
 * ({@link CudaModule.Prepared}) or a library call ({@link CudnnConv.Call}). Steps allocate no device memory.
 */
interface DeviceStep {
    void run(CudaStream stream);

    /** What the step runs, for profiles: the kernel's name, or the library call. */
    String label();
}
