// The public Java API of zeroq: the only package a service should import. Everything else in the jar is
// internal and may change between versions.
/**
 * zeroq's public API: load an ONNX CNN, distill calibration images, quantize it data-free (ZeroQ), and run
 * it in-process from any number of threads.
 *
 * <p>Every type here is a record, an enum, a sealed interface or a small final class; no signature mentions
 * a native memory type or one of zeroq's internal classes. Errors a caller can fix are
 * {@link dev.zeroq.ZeroqException}s with a one-line message that says what to do.
 *
 * <pre>{@code
 * Model model = Model.load(Path.of("model.onnx"));
 * Plan plan = Zeroq.quantize(model, QuantizeSettings.builder().scheme(Scheme.DEPLOY).build());
 * try (InferenceSession s = model.session(SessionOptions.builder().precision(Precision.INT8).plan(plan).build())) {
 *     float[] logits = s.run(images, 8);   // images: 8 × C × H × W floats, NCHW
 * }
 * }</pre>
 */
package dev.zeroq.api;
