package dev.zeroq.cli;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.Backends;
import dev.zeroq.onnx.OnnxImporter;
import dev.zeroq.onnx.OnnxModel;
import dev.zeroq.quant.QuantPlan;

import java.nio.file.Path;

/** Loading a model and choosing a backend the way every command does, with warnings on stderr. */
final class Models {
    private Models() {}

    static OnnxModel load(Path path) {
        OnnxModel m = OnnxImporter.load(path);
        for (String w : m.warnings()) {
            Output.warn(w);
        }
        return m;
    }

    /** Reads a plan and checks it was made for this model file. */
    static QuantPlan plan(Path plan, Path model) {
        QuantPlan p = QuantPlan.read(plan);
        p.requireModel(QuantPlan.sha256(model), model.getFileName().toString());
        return p;
    }

    /**
     * The model function a plan asks for: the fake-quant simulation ({@code sim}) or the integer engine
     * ({@code int8}, deploy plans), from {@code --plan} or, for a QDQ model, the plan it encodes; null for FP32.
     */
    static Quantized quantized(OnnxModel m, Path model, Path planPath, String engine, dev.zeroq.backend.Backend b) {
        QuantPlan p = planPath != null ? plan(planPath, model) : m.qdqPlan();
        String e = engine.toLowerCase(java.util.Locale.ROOT);
        if (!e.equals("sim") && !e.equals("int8")) {
            throw ZeroqException.badInput("--engine must be sim or int8, got '" + engine + "'");
        }
        if (p == null) {
            if (e.equals("int8")) {
                throw ZeroqException.badInput("--engine int8 needs a quantized model: give --plan PLAN.json (made with --scheme deploy) or a QDQ model");
            }
            return null;
        }
        if (e.equals("int8")) {
            if (!b.name().equals("cpu")) Output.info("the integer engine runs on the CPU; --device " + b.name() + " applies to float ops only");
            return new Quantized(dev.zeroq.int8.IntegerModel.compile(m.graph(), p), null);
        }
        dev.zeroq.pipeline.Simulation sim = new dev.zeroq.pipeline.Simulation(m.graph(), p, b);
        return new Quantized(sim, sim);
    }

    /** A quantized model function and what must be closed after it (a simulation holding device memory). */
    record Quantized(java.util.function.UnaryOperator<dev.zeroq.tensor.Tensor> fn, dev.zeroq.pipeline.Simulation owned)
            implements java.util.function.UnaryOperator<dev.zeroq.tensor.Tensor>, AutoCloseable {
        @Override
        public dev.zeroq.tensor.Tensor apply(dev.zeroq.tensor.Tensor x) {
            return fn.apply(x);
        }

        @Override
        public void close() {
            if (owned != null) owned.close();
        }
    }

    /** FILE.onnx → FILE{suffix} in the same folder. */
    static Path sibling(Path model, String suffix) {
        String name = model.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String stem = dot > 0 ? name.substring(0, dot) : name;
        Path dir = model.toAbsolutePath().getParent();
        return dir.resolve(stem + suffix);
    }

    /** Fails before long work starts when an output cannot be written. */
    static void checkWritable(Path out) {
        Path dir = out.toAbsolutePath().getParent();
        if (dir != null && java.nio.file.Files.exists(dir) && !java.nio.file.Files.isWritable(dir)) {
            throw ZeroqException.badInput("cannot write " + out + ": folder " + dir + " is not writable");
        }
        if (java.nio.file.Files.isDirectory(out)) {
            throw ZeroqException.badInput("cannot write " + out + ": it is a folder; give a file name");
        }
    }

    static Backends.Selection backend(CommonOptions common) {
        return backend(common, false);
    }

    /** As {@link #backend(CommonOptions)}; {@code tf32} (--tf32) allows TF32 tensor cores on a CUDA backend. */
    static Backends.Selection backend(CommonOptions common, boolean tf32) {
        Backends.Selection s = Backends.select(common.device, common.conv, tf32);
        if (s.note() != null) {
            Output.info(s.note());
        }
        return s;
    }
}
