// An INT8 session's forward pass on a GPU: the device-resident integer engine (CudaIntegerModel), built for the
// largest batch seen so far and rebuilt, the old one closed first, when a larger batch arrives.
package dev.zeroq.api;

import dev.zeroq.backend.cuda.CudaIntegerModel;
import dev.zeroq.int8.IntegerModel;
import dev.zeroq.tensor.Tensor;

import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Not thread-safe: {@link InferenceSession} serializes CUDA calls with its device lock. The engine's logits equal
 * the CPU integer engine's (CudaIntegerModelTest); a batch that does not fit the free device memory is refused with
 * one line before anything is allocated, and the session stays usable for smaller batches (the previous engine
 * is closed first, so its memory counts as free; the next smaller batch builds a fresh one).
 */
final class CudaInt8Forward implements UnaryOperator<Tensor>, AutoCloseable {
    private final IntegerModel engine;
    private final int ordinal;
    private CudaIntegerModel device; // null until the first run, and after a refused rebuild

    /** Checks that the device engine supports every layer of {@code engine}; opens nothing yet. */
    CudaInt8Forward(IntegerModel engine, int ordinal) {
        List<String> bad = CudaIntegerModel.unsupported(engine);
        if (!bad.isEmpty()) {
            throw dev.zeroq.ZeroqException.badInput("INT8 on CUDA does not support " + String.join(", ", bad)
                    + "; use Device.cpu() for this model's INT8 session");
        }
        this.engine = engine;
        this.ordinal = ordinal;
    }

    @Override
    public Tensor apply(Tensor x) {
        int batch = x.dim(0);
        if (device == null || device.maxBatch() < batch) {
            close();
            device = new CudaIntegerModel(engine, batch, ordinal);
        }
        return device.apply(x);
    }

    @Override
    public void close() {
        if (device != null) {
            CudaIntegerModel d = device;
            device = null;
            d.close();
        }
    }
}
