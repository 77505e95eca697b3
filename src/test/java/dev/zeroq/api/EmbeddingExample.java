// A runnable example of zeroq inside a JVM service: load a model once, quantize it, open one session and
// serve concurrent requests from a thread pool. README.md "Embedding zeroq in a service" shows the part
// between the README markers; EmbeddingExampleTest keeps the two in sync and runs this main.
package dev.zeroq.api;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

public final class EmbeddingExample {
    private EmbeddingExample() {}

    /**
     * Usage: {@code EmbeddingExample [MODEL.onnx] [ITERATIONS]}; without a model it uses the bundled
     * Fashion-MNIST ResNet. Prints the class predicted for each request.
     */
    public static void main(String[] args) throws Exception {
        // README:begin
        // Once, at startup: load the model, quantize it data-free (or Plan.load a plan made offline).
        Model model = args.length > 0 ? Model.load(Path.of(args[0])) : Model.bundled("resnet_fmnist");
        int iterations = args.length > 1 ? Integer.parseInt(args[1]) : 500;
        Plan plan = Zeroq.quantize(model, QuantizeSettings.builder()
                .scheme(Scheme.DEPLOY)                                   // what the int8 engine runs
                .distill(DistillSettings.builder().iterations(iterations).build())
                .build());

        // One session for the whole service: run() is safe from any number of threads.
        try (InferenceSession session = model.session(SessionOptions.builder()
                .precision(Precision.INT8).plan(plan).device(Device.auto()).build())) {
            ExecutorService requests = Executors.newFixedThreadPool(8);
            List<Future<Integer>> answers = new ArrayList<>();
            for (int r = 0; r < 32; r++) {
                int request = r;
                answers.add(requests.submit(() -> {
                    // A request handler with its own off-heap buffers (e.g. filled from a network frame).
                    FloatBuffer in = ByteBuffer.allocateDirect(4 * model.inputShape().size())
                            .order(ByteOrder.nativeOrder()).asFloatBuffer();
                    FloatBuffer out = ByteBuffer.allocateDirect(4 * model.outputSize())
                            .order(ByteOrder.nativeOrder()).asFloatBuffer();
                    for (int i = 0; i < model.inputShape().size(); i++) {
                        in.put(i, (float) Math.sin(request + i * 0.01));  // stand-in for a real image
                    }
                    session.run(in, out, 1);
                    int best = 0;
                    for (int c = 1; c < model.outputSize(); c++) {
                        if (out.get(c) > out.get(best)) best = c;
                    }
                    return best;
                }));
            }
            for (int r = 0; r < answers.size(); r++) {
                System.out.println("request " + r + " -> class " + answers.get(r).get());
            }
            requests.shutdown();
        }   // close(): waits for running calls, then frees the backend (GPU memory on CUDA)
        // README:end
    }
}
