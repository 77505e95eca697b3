package dev.zeroq.report;

import dev.zeroq.tensor.Tensor;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Path;

/**
 * Writes a batch of images (N, C, H, W) as one PNG grid. Each image is stretched to its own min..max,
 * since distilled images span much wider ranges than real inputs and a shared scale would hide most of them.
 */
public final class ImageGrid {
    private ImageGrid() {}

    /** Grayscale for C = 1, RGB from the first three channels otherwise; small images are scaled up. */
    public static void write(Tensor images, Path png) {
        int n = images.dim(0), c = images.dim(1), h = images.dim(2), w = images.dim(3);
        int cols = (int) Math.ceil(Math.sqrt(n));
        int rows = (n + cols - 1) / cols;
        int scale = Math.max(1, 96 / Math.max(h, w));
        int gap = 2;
        int cw = w * scale + gap, ch = h * scale + gap;
        BufferedImage img = new BufferedImage(cols * cw + gap, rows * ch + gap, BufferedImage.TYPE_INT_RGB);
        float[] d = images.data();
        int per = c * h * w;
        for (int i = 0; i < n; i++) {
            float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
            for (int k = 0; k < per; k++) {
                lo = Math.min(lo, d[i * per + k]);
                hi = Math.max(hi, d[i * per + k]);
            }
            float range = hi > lo ? hi - lo : 1f;
            int ox = gap + (i % cols) * cw, oy = gap + (i / cols) * ch;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int[] rgb = new int[3];
                    for (int k = 0; k < 3; k++) {
                        int cc = c >= 3 ? k : 0;
                        float v = (d[i * per + (cc * h + y) * w + x] - lo) / range;
                        rgb[k] = Math.round(255 * Math.clamp(v, 0f, 1f));
                    }
                    int pixel = (rgb[0] << 16) | (rgb[1] << 8) | rgb[2];
                    for (int sy = 0; sy < scale; sy++) {
                        for (int sx = 0; sx < scale; sx++) {
                            img.setRGB(ox + x * scale + sx, oy + y * scale + sy, pixel);
                        }
                    }
                }
            }
        }
        Reports.atomicWrite(png, tmp -> ImageIO.write(img, "png", tmp.toFile()));
    }
}
