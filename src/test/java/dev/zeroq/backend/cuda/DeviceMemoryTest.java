// The device-memory plan and its refusal, without a GPU: the message of a batch that does not fit, and the
// planned peak of an op-by-op FP32 pass, which grows with the batch as the activations do.
package dev.zeroq.backend.cuda;

import dev.zeroq.ZeroqException;
import dev.zeroq.graph.Graph;
import dev.zeroq.io.Bundled;
import dev.zeroq.onnx.OnnxImporter;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeviceMemoryTest {
    @Test
    void aPlanLargerThanFreeMemoryIsRefusedInOneLine() {
        DeviceMemory.check(1L << 30, 1L << 30, 80L << 30, "a batch", "cuda:0"); // exactly fits: allowed
        ZeroqException e = assertThrows(ZeroqException.class,
                () -> DeviceMemory.check(3L << 30, 1L << 30, 80L << 30, "a batch of 4096 image(s) of 'm'", "cuda:0"));
        assertEquals("a batch of 4096 image(s) of 'm' needs 3.000 GiB of device memory on cuda:0, but 1.000 GiB of "
                + "80.000 GiB is free; use a smaller batch", e.getMessage());
        assertTrue(e.badInput());
        assertFalse(e.getMessage().contains("\n"));
        assertEquals("0.031 GiB", DeviceMemory.gib(32L << 20));
    }

    @Test
    void bytesHeldByTheEngineBeingReplacedCountAsFree() {
        DeviceMemory.check(3L << 30, 1L << 30, 2L << 30, 80L << 30, "a batch", "cuda:0"); // fits once the old one is gone
        ZeroqException e = assertThrows(ZeroqException.class,
                () -> DeviceMemory.check(4L << 30, 1L << 30, 2L << 30, 80L << 30, "a batch of 64 image(s)", "cuda:0"));
        assertEquals("a batch of 64 image(s) needs 4.000 GiB of device memory on cuda:0, but 1.000 GiB of 80.000 GiB "
                + "is free and the engine it would replace holds 2.000 GiB; use a smaller batch", e.getMessage());
        assertTrue(e.badInput());
    }

    @Test
    void plannedPeakGrowsWithTheBatch() {
        Graph g = OnnxImporter.parse(Bundled.model("resnet_fmnist"), "resnet_fmnist.onnx").graph();
        long one = CudaBackend.peakOpBytes(g, 1);
        long many = CudaBackend.peakOpBytes(g, 4096);
        System.out.println("planned peak op memory of resnet_fmnist: " + one + " bytes per image, " + many
                + " bytes at batch 4096");
        // Every value of this model is batch-major, so the largest op scales exactly with the batch; and it holds at
        // least the input image and a same-sized output.
        assertEquals(4096 * one, many);
        assertTrue(one >= 2L * 784 * Float.BYTES, "peak " + one);
    }
}
