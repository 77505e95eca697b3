package dev.zeroq.eval;

import dev.zeroq.graph.Executor;
import dev.zeroq.tensor.Tensor;

import java.util.Arrays;
import java.util.function.IntConsumer;

/** Top-1 accuracy of a model on labelled images, batch by batch. */
public final class Accuracy {
    private Accuracy() {}

    /** Result of an evaluation: correct predictions out of {@code total}. */
    public record Top1(int correct, int total) {
        public double top1() {
            return total == 0 ? 0 : (double) correct / total;
        }
    }

    /**
     * @param images (N, C, H, W)
     * @param labels N class indices
     * @param progress called with the number of images done after each batch (may be a no-op)
     */
    public static Top1 top1(Executor exec, Tensor images, int[] labels, int batchSize, IntConsumer progress) {
        int n = images.dim(0);
        if (labels.length != n) {
            throw new IllegalArgumentException(n + " images but " + labels.length + " labels");
        }
        int per = images.size() / n;
        int[] shape = images.shape();
        int correct = 0;
        for (int start = 0; start < n; start += batchSize) {
            int b = Math.min(batchSize, n - start);
            shape[0] = b;
            Tensor batch = new Tensor(Arrays.copyOfRange(images.data(), start * per, (start + b) * per), shape);
            int[] pred = argmax(exec.run(batch));
            for (int i = 0; i < b; i++) {
                if (pred[i] == labels[start + i]) {
                    correct++;
                }
            }
            progress.accept(start + b);
        }
        return new Top1(correct, n);
    }

    /** Row-wise argmax of (N, K) logits; the first maximum wins. */
    public static int[] argmax(Tensor logits) {
        int n = logits.dim(0);
        int k = logits.size() / n;
        int[] out = new int[n];
        float[] d = logits.data();
        for (int i = 0; i < n; i++) {
            int best = 0;
            for (int j = 1; j < k; j++) {
                if (d[i * k + j] > d[i * k + best]) {
                    best = j;
                }
            }
            out[i] = best;
        }
        return out;
    }
}
