package dev.zeroq.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.zeroq.ZeroqException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The bundled fixture models are in the jar, small, and look like ONNX files with BatchNormalization kept. */
class BundledTest {
    @Test
    void everyNamedModelIsBundled() {
        assertEquals(2, Bundled.MODEL_NAMES.size());
        for (String name : Bundled.MODEL_NAMES) {
            byte[] onnx = Bundled.model(name);
            assertTrue(onnx.length > 10_000 && onnx.length < 2_000_000, name + ": " + onnx.length + " bytes");
            // No ONNX parser at this layer: the op type strings are plain in the protobuf bytes.
            String text = new String(onnx, StandardCharsets.ISO_8859_1);
            assertTrue(text.contains("BatchNormalization"), name + " lost its BatchNormalization nodes");
            assertTrue(text.contains("Conv") && text.contains("logits") && text.contains("input"), name);
        }
    }

    @Test
    void unknownNameIsBadInput() {
        ZeroqException e = assertThrows(ZeroqException.class, () -> Bundled.model("vgg"));
        assertTrue(e.badInput());
        assertTrue(e.getMessage().contains("resnet_fmnist"), e.getMessage());
    }
}
