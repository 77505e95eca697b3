package dev.zeroq.pipeline;

import dev.zeroq.backend.Backend;
import dev.zeroq.backend.cuda.CudaBackend;
import dev.zeroq.backend.cuda.CudaDistiller;
import dev.zeroq.distill.DistillConfig;
import dev.zeroq.distill.Distiller;
import dev.zeroq.graph.Graph;

import java.util.List;
import java.util.function.Consumer;

/**
 * Runs distillation where it is fastest: on a CUDA backend, the device-resident {@link CudaDistiller}
 * (weights, activations and the optimizer state stay on the GPU) when it supports every op on the
 * BatchNorm path; otherwise the backend-agnostic {@link Distiller}.
 */
public final class Distillation {
    private Distillation() {}

    /** Where the last run happened and, when CUDA was skipped, why (for the log). */
    public record Note(String where, String fallbackReason) {}

    public static Distiller.Result run(Graph graph, Backend backend, DistillConfig cfg,
                                       Consumer<Distiller.Iteration> progress, Consumer<Note> note) {
        if (backend instanceof CudaBackend cuda) {
            List<String> unsupported = CudaDistiller.unsupported(graph);
            if (unsupported.isEmpty()) {
                // One iteration captured as a CUDA graph and replayed (launch by launch where capture fails).
                CudaDistiller.Options o = new CudaDistiller.Options(CudaDistiller.ConvAlgorithm.AUTO, true, cuda.tf32(),
                        cuda.cudnnUse());
                try (CudaDistiller d = new CudaDistiller(graph, cfg.batch(), cuda.ordinal(), o)) {
                    note.accept(new Note(cuda.name() + " (device-resident" + (cuda.tf32() ? ", TF32" : "") + "; "
                            + d.convSummary() + "; " + d.setupSummary() + ")", null));
                    return d.distill(cfg, progress);
                }
            }
            note.accept(new Note(cuda.name() + " (op by op)", "the device-resident loop lacks " + unsupported));
        } else {
            note.accept(new Note(backend.name(), null));
        }
        return new Distiller(graph, backend).distill(cfg, progress);
    }
}
