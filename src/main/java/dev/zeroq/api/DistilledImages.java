// The result of ZeroQ distillation through the public API: the images plus how the optimization ended.
package dev.zeroq.api;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Images optimized so that the model's BatchNorm statistics match (ZeroQ's distilled data).
 * Example: {@code Zeroq.distill(model, DistillSettings.defaults()).writeNpy(Path.of("distilled.npy"))}.
 *
 * @param images     the distilled images, batches one after another
 * @param finalLoss  the BatchNorm-statistics loss at the last iteration of each batch
 * @param seconds    wall time of the distillation
 * @param backend    where it ran, e.g. "cpu" or "cuda:0"
 */
public record DistilledImages(Images images, List<Double> finalLoss, double seconds, String backend) {
    public DistilledImages {
        Objects.requireNonNull(images, "images");
        finalLoss = List.copyOf(finalLoss);
    }

    /** A copy of the floats, NCHW. */
    public float[] data() {
        return images.data();
    }

    /** The shape of one image. */
    public ImageShape shape() {
        return images.shape();
    }

    /** Number of images. */
    public int count() {
        return images.count();
    }

    /** Writes the images as a float32 (N, C, H, W) {@code .npy} file. */
    public void writeNpy(Path path) {
        images.writeNpy(path);
    }
}
