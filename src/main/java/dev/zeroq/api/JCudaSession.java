// The public entry point for services that already use JCuda: a model run in place on the caller's context, stream
// and device buffers. The one API class that names JCuda types; it is loaded only when used, so the rest of the API
// needs no JCuda (JCudaFreeApiTest), and JCuda stays an optional dependency.
package dev.zeroq.api;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.cuda.JCudaInterop;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;

import java.util.Objects;

/**
 * A {@link Model} run in FP32 on the GPU, in place on memory a JCuda program owns: zeroq's kernels run in the caller's
 * context, on the caller's stream, read the input from the caller's {@link CUdeviceptr} and write the logits into
 * another one. Nothing passes through the host.
 *
 * <pre>{@code
 * // JCuda side: a context (e.g. the primary one), a stream, the input already on the device.
 * try (JCudaSession s = JCudaSession.open(model, context, stream, 32)) {
 *     CUdeviceptr logits = new CUdeviceptr();
 *     cuMemAlloc(logits, s.outputBytes(8));
 *     s.run(images, logits, 8);          // enqueued on stream, like a kernel launch
 *     cuStreamSynchronize(stream);       // or queue more work on stream: it sees the logits
 * }
 * }</pre>
 *
 * <p><b>Ownership.</b> The context, the stream and the buffers stay the caller's: zeroq never frees, destroys or
 * retains them and keeps no pointer after {@code run} returns. The session owns its kernel module and one device
 * allocation (weights and activations for {@code maxBatch} images), made in the caller's context by {@link #open} and
 * freed by {@link #close()}.
 *
 * <p><b>Ordering.</b> {@code run} enqueues a device-to-device copy of the input, the kernels and a device-to-device copy
 * of the output on the caller's stream and returns without waiting: it sees every write queued on that stream before
 * it, and work queued after it sees the output. Keep both buffers allocated until the stream has passed them. Each
 * call makes the caller's context current on the calling thread and leaves it current. A kernel fault shows up, as in
 * CUDA, at a later call on the stream.
 *
 * <p><b>Checks</b> before anything is enqueued, each a {@link ZeroqException} saying what to change: the batch
 * (1 to {@code maxBatch}), that each pointer is device memory of the session's context, and that from each pointer to
 * the end of its allocation there are at least {@link #inputBytes(int)} and {@link #outputBytes(int)} bytes.
 *
 * <p><b>Threads.</b> Calls are serialized by the session (they share its activations); they cost only the
 * enqueueing. One session per stream that should run concurrently.
 *
 * <p><b>Class path.</b> JCuda (org.jcuda:jcuda, with its natives for this platform) is not a dependency zeroq brings:
 * the caller has it. On the module path the caller's module {@code requires jcuda}.
 */
// "exports": the JCuda types of the signatures come from a module zeroq requires statically, not transitively (see
// module-info); a caller of this class requires jcuda itself.
@SuppressWarnings("exports")
public final class JCudaSession implements AutoCloseable {
    private final Model model;
    private final JCudaInterop.Session session;

    private JCudaSession(Model model, JCudaInterop.Session session) {
        this.model = model;
        this.session = session;
    }

    /**
     * Opens {@code model} on the caller's {@code context} (which must hold a context) and {@code stream} (of that
     * context; a {@code new CUstream()} that was never created is the legacy default stream) for batches of up to
     * {@code maxBatch} images. Loads zeroq's kernels into the context and uploads the weights.
     *
     * @throws ZeroqException when {@code maxBatch < 1}, the model has an op the CUDA forward pass lacks, CUDA is not
     *                        usable, or the device has too little free memory for {@code maxBatch} images
     */
    public static JCudaSession open(Model model, CUcontext context, CUstream stream, int maxBatch) {
        Objects.requireNonNull(model, "model");
        return new JCudaSession(model, JCudaInterop.open(model.graph(), context, stream, maxBatch));
    }

    /**
     * Enqueues the forward pass of {@code batch} images, read as NCHW floats from {@code input}, writing
     * {@code batch · model().outputSize()} floats into {@code output} (image i's at
     * {@code [i · outputSize(), (i + 1) · outputSize())}). {@code input} and {@code output} may be the same buffer.
     *
     * @throws ZeroqException        on a batch outside 1 to {@link #maxBatch()}, a pointer that is not device memory of
     *                               the session's context, or a buffer too small (the message gives the bytes needed)
     * @throws IllegalStateException when the session is closed
     */
    public void run(CUdeviceptr input, CUdeviceptr output, int batch) {
        session.run(input, output, batch);
    }

    /** Bytes {@code run} reads for {@code batch} images: {@code 4 · batch · C · H · W}. */
    public long inputBytes(int batch) {
        return session.inputBytes(batch);
    }

    /** Bytes {@code run} writes for {@code batch} images: {@code 4 · batch · model().outputSize()}. */
    public long outputBytes(int batch) {
        return session.outputBytes(batch);
    }

    /** The most images one {@code run} takes. */
    public int maxBatch() {
        return session.maxBatch();
    }

    /** The model this session runs. */
    public Model model() {
        return model;
    }

    /**
     * Waits for the caller's stream (zeroq's memory may still be in use by queued runs), then frees what the session
     * allocated and unloads its kernels. Idempotent; the caller's context, stream and buffers are left as they are.
     */
    @Override
    public void close() {
        session.close();
    }
}
