// The context, kernel module and stream every device-resident pass opens, in one place: availability and the
// bundled fatbin checked first, each handle closed again if a later one fails, so a caller gets all or nothing.
// JCudaInterop borrows a caller's context and stream instead, and only the module is zeroq's.
package dev.zeroq.backend.cuda;

import dev.zeroq.ZeroqException;

/** An open context on one device, the bundled kernels loaded into it, and a stream. */
record DeviceHandles(CudaContext context, CudaModule module, CudaStream stream) {

    /**
     * @param what          the component opening them, for messages ("CUDA distillation")
     * @param nonBlocking   a non-blocking stream (needed for graph capture) rather than one ordered with the
     *                      legacy stream that synchronous copies use
     */
    static DeviceHandles open(int ordinal, String what, boolean nonBlocking) {
        return open(ordinal, what, nonBlocking, 0, null);
    }

    /**
     * A caller's context and stream (borrowed: closing them only forgets them) with the bundled kernels loaded into
     * that context, which must be current on this thread.
     */
    static DeviceHandles borrow(CudaContext context, CudaStream stream, String what) {
        byte[] fatbin = CudaModule.bundledKernels();
        if (fatbin == null) {
            throw ZeroqException.internal(what + " unavailable: kernel fatbin missing from the jar");
        }
        context.makeCurrent();
        return new DeviceHandles(context, CudaModule.load(fatbin), stream);
    }

    /**
     * As {@link #open(int, String, boolean)}, refusing a device below compute capability {@code minCc} (e.g. 80)
     * with {@code needs} as the reason, before any kernel is loaded.
     */
    static DeviceHandles open(int ordinal, String what, boolean nonBlocking, int minCc, String needs) {
        CudaAvailability a = CudaAvailability.probe();
        if (!a.usable()) {
            throw ZeroqException.internal(what + " unavailable: " + a.reason());
        }
        byte[] fatbin = CudaModule.bundledKernels();
        if (fatbin == null) {
            throw ZeroqException.internal(what + " unavailable: kernel fatbin missing from the jar");
        }
        CudaContext ctx = CudaContext.open(ordinal);
        CudaModule mod = null;
        try {
            if (ctx.computeCapability() < minCc) {
                throw ZeroqException.internal(what + " needs compute capability " + minCc / 10 + "." + minCc % 10
                        + " or newer (" + needs + "), device " + ordinal + " is sm_" + ctx.computeCapability());
            }
            mod = CudaModule.load(fatbin);
            return new DeviceHandles(ctx, mod, nonBlocking ? CudaStream.create(true) : CudaStream.create());
        } catch (RuntimeException e) {
            if (mod != null) mod.close();
            ctx.close();
            throw e;
        }
    }
}
