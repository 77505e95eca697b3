package dev.zeroq.io;

import dev.zeroq.ZeroqException;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;

/**
 * The fixture models shipped inside the jar (trained by tools/fixtures/train_fixtures.py, provenance in
 * dev/zeroq/models/MODELS.md), so the demo and the tests need no download.
 */
public final class Bundled {
    private Bundled() {}

    /** Names accepted by {@link #model(String)}, in a stable order. */
    public static final List<String> MODEL_NAMES = List.of("resnet_fmnist", "mobilenet_fmnist");

    private static final String MODELS_DIR = "/dev/zeroq/models/";

    /** The ONNX bytes of a bundled model, e.g. {@code model("resnet_fmnist")}. */
    public static byte[] model(String name) {
        if (!MODEL_NAMES.contains(name)) {
            throw ZeroqException.badInput("no bundled model named '" + name + "': choose one of " + MODEL_NAMES);
        }
        String resource = MODELS_DIR + name + ".onnx";
        try (InputStream in = Bundled.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw ZeroqException.internal("bundled model " + resource + " is missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw ZeroqException.internal("cannot read bundled model " + resource, e);
        }
    }
}
