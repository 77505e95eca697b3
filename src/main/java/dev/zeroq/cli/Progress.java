package dev.zeroq.cli;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.util.function.LongConsumer;

/** A progress bar on stderr for long work; silent for short work so logs stay readable. */
final class Progress implements AutoCloseable {
    private final ProgressBar bar;

    private Progress(ProgressBar bar) {
        this.bar = bar;
    }

    /** A bar when {@code total} is at least {@code threshold}, else a no-op. */
    static Progress start(String task, long total, long threshold, String unit) {
        if (total < threshold) {
            return new Progress(null);
        }
        ProgressBar b = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(total)
                .setStyle(ProgressBarStyle.ASCII)
                .setUnit(" " + unit, 1)
                .setUpdateIntervalMillis(250)
                .showSpeed()
                .setConsumer(new ConsoleProgressBarConsumer(System.err))
                .build();
        return new Progress(b);
    }

    void stepTo(long done) {
        if (bar != null) bar.stepTo(done);
    }

    void extra(String message) {
        if (bar != null) bar.setExtraMessage(message);
    }

    LongConsumer asConsumer() {
        return this::stepTo;
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
    }
}
