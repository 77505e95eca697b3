// The (C, H, W) shape of one image a model takes; the batch size is chosen per call.
package dev.zeroq.api;

import dev.zeroq.ZeroqException;

/**
 * The shape of one input image in NCHW layout, without the batch dimension.
 * Example: a Fashion-MNIST model takes {@code ImageShape(1, 28, 28)}, so a batch of 8 images is
 * {@code 8 * size() = 6272} floats.
 *
 * @param channels C
 * @param height   H
 * @param width    W
 */
public record ImageShape(int channels, int height, int width) {
    public ImageShape {
        if (channels < 1 || height < 1 || width < 1) {
            throw ZeroqException.badInput("image shape (" + channels + ", " + height + ", " + width
                    + ") must have every dimension >= 1");
        }
        size(channels, height, width);
    }

    /** Floats per image, C·H·W. Example: {@code new ImageShape(3, 32, 32).size()} is 3072. */
    public int size() {
        return size(channels, height, width);
    }

    private static int size(int c, int h, int w) {
        long n = (long) c * h * w;
        if (n > Integer.MAX_VALUE) {
            throw ZeroqException.badInput("image shape (" + c + ", " + h + ", " + w + ") has more than 2^31 floats");
        }
        return (int) n;
    }

    @Override
    public String toString() {
        return "(" + channels + ", " + height + ", " + width + ")";
    }
}
