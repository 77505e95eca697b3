package dev.zeroq.cli;

import dev.zeroq.distill.Distiller;
import dev.zeroq.pipeline.ZeroQ;

/** Shows the ZeroQ pipeline's progress on stderr: stage lines, an iteration bar with the loss. */
final class DistillProgress implements ZeroQ.Listener, AutoCloseable {
    private Progress bar;
    private final boolean quiet;

    DistillProgress(boolean quiet) {
        this.quiet = quiet;
    }

    @Override
    public void stage(String description) {
        closeBar();
        if (!quiet) Output.info(description);
    }

    @Override
    public void distillIteration(Distiller.Iteration it, int iterationsPerBatch, int batches) {
        if (quiet) return;
        if (bar == null) {
            bar = Progress.start("distill", (long) iterationsPerBatch * batches, 1, "it");
        }
        bar.stepTo((long) it.batchIndex() * iterationsPerBatch + it.iteration() + 1);
        bar.extra(String.format(" loss %.4g lr %.2g", it.loss(), it.lr()));
    }

    @Override
    public void sensitivityStep(int done, int total) {
        if (quiet) return;
        if (bar == null) {
            bar = Progress.start("sensitivity", total, 1, "runs");
        }
        bar.stepTo(done);
    }

    private void closeBar() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }

    @Override
    public void close() {
        closeBar();
    }
}
