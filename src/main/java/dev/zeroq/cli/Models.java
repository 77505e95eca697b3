package dev.zeroq.cli;

import dev.zeroq.backend.Backends;
import dev.zeroq.onnx.OnnxImporter;
import dev.zeroq.onnx.OnnxModel;

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

    static Backends.Selection backend(CommonOptions common) {
        Backends.Selection s = Backends.select(common.device);
        if (s.note() != null) {
            Output.info(s.note());
        }
        return s;
    }
}
