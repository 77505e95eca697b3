// An open model ready to run: owns the backend (and, on CUDA, its device memory) until closed, and serves
// concurrent run calls from any number of threads.
package dev.zeroq.api;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.Backend;
import dev.zeroq.backend.Backends;
import dev.zeroq.backend.cuda.CudaBackend;
import dev.zeroq.graph.Inference;
import dev.zeroq.int8.Int8Kernels;
import dev.zeroq.int8.IntegerModel;
import dev.zeroq.pipeline.Simulation;
import dev.zeroq.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.UnaryOperator;

/**
 * Runs a {@link Model} on batches of images, in the precision and on the device of its {@link SessionOptions}.
 *
 * <pre>{@code
 * try (InferenceSession s = model.session(SessionOptions.defaults())) {
 *     float[] logits = s.run(images, 4);          // 4 images in, 4 × model.outputSize() floats out
 * }
 * }</pre>
 *
 * <p><b>Threads.</b> {@code run} may be called from any number of threads at once. On the CPU (FP32,
 * SIMULATED and INT8) a call keeps all its intermediate values to itself (FP32 takes one of the session's
 * reusable buffer sets for the call, or a new one; the CPU kernels' scratch buffers are per thread), so calls
 * run truly in parallel. On CUDA the
 * engine owns one stream and its device memory, so calls are serialized by a lock inside the session; open
 * one session per GPU stream you want busy. Results do not depend on how many threads call at once.
 *
 * <p><b>Closing.</b> {@link #close()} waits for running calls to finish, then releases everything the session
 * holds (on CUDA, the context, the kernels module, the stream and all device memory). It is idempotent. Any
 * call on a closed session throws {@code IllegalStateException("session is closed")}.
 *
 * <p><b>Non-finite inputs.</b> An input holding NaN or ±Inf is rejected with a {@link ZeroqException} naming
 * the first such value (image, offset), before anything runs. Why not propagate: quantized precisions cannot
 * represent NaN or Inf (a rounding step would silently turn them into ordinary codes), so the same input would
 * give NaN in FP32 and plausible-looking garbage in SIMULATED or INT8; one rule for every precision is safer
 * for a service. The check is one pass over the input, negligible next to a convolution.
 */
public final class InferenceSession implements AutoCloseable {
    private final Model model;
    private final SessionOptions options;
    /** The backend the session runs on; null when a device-resident engine runs it (it owns its device handles). */
    private final Backends.Selection selection;
    private final String backendName;
    private final UnaryOperator<Tensor> forward;
    private final String fallbackReason;
    /** Runs hold the read side, close takes the write side: close waits for running calls and blocks new ones. */
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    /** Null on the CPU; on CUDA, serializes calls onto the backend's single stream. */
    private final Lock deviceLock;
    private volatile boolean closed;

    InferenceSession(Model model, SessionOptions options) {
        this.model = model;
        this.options = options;
        Plan plan = options.plan();
        if (plan != null) {
            plan.requireFor(model);
        }
        // INT8 on auto takes the CPU integer engine and says so; INT8 on an explicit CUDA device runs the
        // device-resident integer engine (CudaIntegerModel, sm_80+).
        boolean int8 = options.precision() == Precision.INT8;
        boolean int8Auto = int8 && options.device().kind() == Device.Kind.AUTO;
        Backends.Choice choice = Devices.choose(int8Auto ? Device.cpu() : options.device());
        UnaryOperator<Tensor> resident = choice.isCuda() ? deviceResident(model, options, choice.ordinal()) : null;
        // The device-resident engines open their own context, kernels and stream: no backend is opened beside them.
        Backends.Selection sel = resident == null ? Devices.open(choice, false) : null;
        try {
            this.forward = resident != null ? resident : switch (options.precision()) {
                case FP32 -> fp32(model, sel.backend());
                case SIMULATED -> new Simulation(model.graph(), plan.internal(), sel.backend());
                case INT8 -> IntegerModel.compile(model.graph(), plan.internal(), sel.backend(), Int8Kernels.vector());
            };
        } catch (RuntimeException e) {
            if (sel != null) sel.close();
            throw e;
        }
        this.selection = sel;
        this.backendName = choice.isCuda() ? "cuda:" + choice.ordinal() : sel.backend().name();
        this.fallbackReason = int8Auto ? "INT8 runs on the CPU integer engine" : choice.note();
        this.deviceLock = choice.isCuda() ? new ReentrantLock() : null;
    }

    /**
     * The device-resident pass on CUDA device {@code ordinal}, or null where the session runs on a backend instead:
     * INT8 on {@link dev.zeroq.backend.cuda.CudaIntegerModel}; FP32 on {@link dev.zeroq.backend.cuda.CudaForward}
     * (one planned pool, launches prepared once, only the input and the logits cross the bus) where it supports
     * every op of the model. Each checks a batch's planned memory against free device memory before allocating, so
     * a batch that cannot fit fails with one line and the session stays usable.
     */
    private static UnaryOperator<Tensor> deviceResident(Model model, SessionOptions options, int ordinal) {
        return switch (options.precision()) {
            case INT8 -> DeviceResidentForward.int8(IntegerModel.compile(model.graph(), options.plan().internal()),
                    ordinal);
            case FP32 -> dev.zeroq.backend.cuda.CudaForward.unsupported(model.graph()).isEmpty()
                    ? DeviceResidentForward.fp32(model.graph(), ordinal) : null;
            case SIMULATED -> null;
        };
    }

    /**
     * The FP32 forward pass on a backend: on the CPU the compiled {@link Inference} (BatchNorm folded, conv epilogues
     * fused, buffers reused); on CUDA (a model CudaForward does not support) op by op on the device, the batch's
     * planned peak checked against free device memory first, so a batch that cannot fit fails with one line (what
     * it needs, what is free, use a smaller batch) before anything is allocated, and the session stays usable.
     */
    private static UnaryOperator<Tensor> fp32(Model model, Backend backend) {
        Inference executor = Inference.compile(model.graph(), backend);
        if (backend instanceof CudaBackend cuda) {
            return x -> {
                cuda.requireMemoryFor(model.graph(), x.dim(0));
                return executor.run(x);
            };
        }
        return executor::run;
    }

    /**
     * Runs {@code batch} images. The input is read, never modified; the returned array is new and the
     * caller's. Example: for a (1, 28, 28) model with 10 outputs, {@code run(new float[3 * 784], 3)} returns
     * 30 floats, image i's outputs at {@code [10 * i, 10 * i + 10)}.
     *
     * @param input {@code batch · C · H · W} floats, NCHW, normalized as the model expects
     * @param batch number of images, >= 1
     * @return {@code batch · outputSize()} floats
     * @throws ZeroqException        when the length does not match, the input holds NaN/Inf, or (on CUDA) the batch
     *                               needs more device memory than is free (nothing is allocated then; run smaller
     *                               batches on the same session)
     * @throws IllegalStateException when the session is closed
     */
    public float[] run(float[] input, int batch) {
        Objects.requireNonNull(input, "input");
        int n = inputLength(batch);
        if (input.length != n) {
            throw ZeroqException.badInput("input has " + input.length + " floats but " + batch + " image(s) of "
                    + model.inputShape() + " need " + n);
        }
        checkFinite(input);
        float[] out = forward(input, batch);
        // An identity-like graph could hand back the caller's own array; the contract is a fresh one.
        return out == input ? out.clone() : out;
    }

    /**
     * Runs {@code batch} images from a caller-owned buffer into another, typically direct (off-heap)
     * {@link FloatBuffer}s a service reuses across requests. Reads {@code batch · C · H · W} floats starting at
     * {@code in.position()} and writes {@code batch · outputSize()} floats starting at {@code out.position()};
     * positions and limits are left unchanged, so the same buffers can be reused without {@code flip()}.
     *
     * <p>What is copied: on a CUDA session (FP32 or INT8 on the device-resident engines) with direct buffers in
     * the native byte order ({@code ByteBuffer.allocateDirect(n).order(ByteOrder.nativeOrder()).asFloatBuffer()}),
     * the input goes from {@code in} straight to device memory and the logits straight back into {@code out}:
     * no copy on the Java heap at all. Otherwise (the CPU, whose kernels compute on Java arrays, or heap or
     * big-endian buffers) the input is copied once into a per-call array (one bulk get) and the result once into
     * {@code out} (one bulk put), plus, on CUDA, the upload and download through native staging memory.
     * {@code in} and {@code out} may be the same buffer: the input is fully read before anything is written.
     *
     * @throws ZeroqException        when a buffer has too few floats remaining, {@code out} is read-only, or the
     *                               input holds NaN/Inf
     * @throws IllegalStateException when the session is closed
     */
    public void run(FloatBuffer in, FloatBuffer out, int batch) {
        Objects.requireNonNull(in, "in");
        Objects.requireNonNull(out, "out");
        int n = inputLength(batch);
        int m = Math.multiplyExact(batch, model.outputSize());
        if (in.remaining() < n) {
            throw ZeroqException.badInput("input buffer has " + in.remaining() + " floats remaining but " + batch
                    + " image(s) of " + model.inputShape() + " need " + n);
        }
        if (out.isReadOnly()) {
            throw ZeroqException.badInput("output buffer is read-only; pass a writable FloatBuffer");
        }
        if (out.remaining() < m) {
            throw ZeroqException.badInput("output buffer has " + out.remaining() + " floats remaining but " + batch
                    + " image(s) produce " + m);
        }
        if (forward instanceof DeviceResidentForward<?> device && nativeDirect(in) && nativeDirect(out)) {
            MemorySegment xs = MemorySegment.ofBuffer(in).asSlice(0, (long) n * Float.BYTES);
            MemorySegment ys = MemorySegment.ofBuffer(out).asSlice(0, (long) m * Float.BYTES);
            checkFinite(xs, n);
            locked(() -> {
                device.run(xs, batch, ys);
                return null;
            });
            return;
        }
        float[] x = new float[n];
        in.get(in.position(), x);
        checkFinite(x);
        float[] y = forward(x, batch);
        out.put(out.position(), y, 0, m);
    }

    private static boolean nativeDirect(FloatBuffer b) {
        return b.isDirect() && b.order() == ByteOrder.nativeOrder();
    }

    private int inputLength(int batch) {
        if (batch < 1) {
            throw ZeroqException.badInput("batch must be at least 1, got " + batch);
        }
        long n = (long) batch * model.inputShape().size();
        if (n > Integer.MAX_VALUE) {
            throw ZeroqException.badInput("batch " + batch + " of " + model.inputShape()
                    + " is more than 2^31 floats; split it into smaller batches");
        }
        return (int) n;
    }

    private void checkFinite(float[] x) {
        for (int i = 0; i < x.length; i++) {
            if (!Float.isFinite(x[i])) notFinite(x[i], i);
        }
    }

    /** The same check on n floats of native memory, read in place. */
    private void checkFinite(MemorySegment x, int n) {
        for (int i = 0; i < n; i++) {
            float v = x.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            if (!Float.isFinite(v)) notFinite(v, i);
        }
    }

    private void notFinite(float v, int i) {
        int per = model.inputShape().size();
        throw ZeroqException.badInput("input holds " + v + " at image " + (i / per) + ", offset " + (i % per)
                + "; zeroq runs finite inputs only: check the preprocessing");
    }

    private float[] forward(float[] x, int batch) {
        ImageShape s = model.inputShape();
        Tensor t = new Tensor(x, batch, s.channels(), s.height(), s.width());
        return locked(() -> forward.apply(t).data());
    }

    /** Runs {@code call} while the session is open, holding its device lock on CUDA. */
    private <T> T locked(java.util.function.Supplier<T> call) {
        Lock r = lifecycle.readLock();
        r.lock();
        try {
            if (closed) {
                throw new IllegalStateException("session is closed");
            }
            if (deviceLock == null) {
                return call.get();
            }
            deviceLock.lock();
            try {
                return call.get();
            } finally {
                deviceLock.unlock();
            }
        } finally {
            r.unlock();
        }
    }

    /** The model this session runs. */
    public Model model() {
        return model;
    }

    /** The options it was opened with. */
    public SessionOptions options() {
        return options;
    }

    /** The backend actually used: {@code "cpu"} or {@code "cuda:N"}. */
    public String backend() {
        return backendName;
    }

    /** Why the session runs elsewhere than asked (e.g. auto found no usable GPU), or empty. */
    public Optional<String> fallbackReason() {
        return Optional.ofNullable(fallbackReason);
    }

    /** True once {@link #close()} has run. */
    public boolean isClosed() {
        return closed;
    }

    /** Waits for running calls, then releases the backend (device memory on CUDA). Idempotent. */
    @Override
    public void close() {
        Lock w = lifecycle.writeLock();
        w.lock();
        try {
            if (!closed) {
                closed = true;
                if (forward instanceof AutoCloseable c) {
                    // A device-resident engine, or a simulation's device-resident plan: released before the backend.
                    try {
                        c.close();
                    } catch (Exception e) {
                        throw dev.zeroq.ZeroqException.internal("closing the session failed: " + e.getMessage(), e);
                    }
                }
                if (selection != null) selection.close();
            }
        } finally {
            w.unlock();
        }
    }

    @Override
    public String toString() {
        return "InferenceSession[" + model.name() + ", " + options.precision() + ", " + backend()
                + (closed ? ", closed" : "") + "]";
    }
}
