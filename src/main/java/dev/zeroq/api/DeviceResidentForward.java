// A CUDA session's forward pass on one of the device-resident engines (CudaForward for FP32, CudaIntegerModel for
// INT8): built for the largest batch seen so far, and rebuilt when a larger batch arrives, the old one closed first
// but only once the new one's planned memory fits.
package dev.zeroq.api;

import dev.zeroq.backend.cuda.CudaDeviceInfo;
import dev.zeroq.backend.cuda.CudaForward;
import dev.zeroq.backend.cuda.CudaIntegerModel;
import dev.zeroq.graph.Graph;
import dev.zeroq.int8.IntegerModel;
import dev.zeroq.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.function.BiFunction;
import java.util.function.BiPredicate;
import java.util.function.IntFunction;
import java.util.function.IntToLongFunction;
import java.util.function.UnaryOperator;

/**
 * Not thread-safe: {@link InferenceSession} serializes CUDA calls with its device lock. Each engine plans its device
 * memory for a batch; a larger batch is refused in one line, before anything is closed or allocated, when its plan
 * exceeds the free memory plus what the current engine holds, so the session keeps its engine and stays usable.
 * Otherwise the current engine is closed first and the new one built (which checks the free memory again). A
 * smaller batch than the engine's runs on the same engine where the engine takes it (any batch up to its maximum,
 * except an FP32 model that reshapes across the batch, whose engine is rebuilt for each new batch size).
 */
final class DeviceResidentForward<E extends AutoCloseable> implements UnaryOperator<Tensor>, AutoCloseable {
    private final IntFunction<E> build;
    private final IntToLongFunction planned; // device bytes an engine for a batch allocates, planned without a device
    private final String what;               // "the device-resident pass of 'g'": the refusal's subject
    private final int ordinal;
    private final BiPredicate<E, Integer> runs;
    private final BiFunction<E, Tensor, Tensor> run;
    private final Direct<E> direct;
    private E engine; // null until the first run, and after a failed build
    private int engineBatch;

    /** A run from native memory into native memory (NCHW floats in, the logits out), no Java-heap copy. */
    @FunctionalInterface
    interface Direct<E> {
        void run(E engine, MemorySegment in, int batch, MemorySegment out);
    }

    private DeviceResidentForward(IntFunction<E> build, IntToLongFunction planned, String what, int ordinal,
                                  BiPredicate<E, Integer> runs, BiFunction<E, Tensor, Tensor> run, Direct<E> direct) {
        this.build = build;
        this.planned = planned;
        this.what = what;
        this.ordinal = ordinal;
        this.runs = runs;
        this.run = run;
        this.direct = direct;
    }

    /** FP32 on device {@code ordinal}: {@link CudaForward} over {@code graph} (the caller checked it is supported). */
    static DeviceResidentForward<CudaForward> fp32(Graph graph, int ordinal) {
        return new DeviceResidentForward<>(b -> new CudaForward(graph, b, ordinal),
                b -> CudaForward.plannedPoolBytes(graph, b), "the device-resident pass of '" + graph.name() + "'", ordinal,
                CudaForward::runs, CudaForward::run, CudaForward::run);
    }

    /** INT8 on device {@code ordinal}: {@link CudaIntegerModel} of the compiled engine; refuses unsupported layers now. */
    static DeviceResidentForward<CudaIntegerModel> int8(IntegerModel compiled, int ordinal) {
        java.util.List<String> bad = CudaIntegerModel.unsupported(compiled);
        if (!bad.isEmpty()) {
            throw dev.zeroq.ZeroqException.badInput("INT8 on CUDA does not support " + String.join(", ", bad)
                    + "; use Device.cpu() for this model's INT8 session");
        }
        return new DeviceResidentForward<>(b -> new CudaIntegerModel(compiled, b, ordinal),
                b -> CudaIntegerModel.plannedBytes(compiled, b),
                "the CUDA integer engine of '" + compiled.graph().name() + "'", ordinal, (e, n) -> n <= e.maxBatch(),
                CudaIntegerModel::apply, CudaIntegerModel::apply);
    }

    @Override
    public Tensor apply(Tensor x) {
        return run.apply(engineFor(x.dim(0)), x);
    }

    /** {@code batch} images from native memory {@code in} to the logits in native memory {@code out}. */
    void run(MemorySegment in, int batch, MemorySegment out) {
        direct.run(engineFor(batch), in, batch, out);
    }

    /** The engine, built (or rebuilt, larger) for {@code batch} when the current one does not run it. */
    private E engineFor(int batch) {
        if (engine == null || !runs.test(engine, batch)) {
            if (engine != null) {
                // The current engine stays unless the new one can fit once it is gone.
                CudaDeviceInfo.query(ordinal).requireFree(planned.applyAsLong(batch), planned.applyAsLong(engineBatch),
                        what + " for a batch of " + batch + " image(s)");
            }
            close();
            engine = build.apply(batch);
            engineBatch = batch;
        }
        return engine;
    }

    @Override
    public void close() {
        if (engine != null) {
            E e = engine;
            engine = null;
            try {
                e.close();
            } catch (Exception ex) {
                throw dev.zeroq.ZeroqException.internal("closing the device engine failed: " + ex.getMessage(), ex);
            }
        }
    }
}
