package dev.zeroq.cli;

import dev.zeroq.distill.DistillConfig;
import picocli.CommandLine.Option;

import java.util.Locale;

/** Distillation options shared by distill, quantize and sensitivity. */
final class DistillOptions {
    @Option(names = "--batch", defaultValue = "32", description = "Distilled images per batch (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--batches", defaultValue = "1", description = "Number of distilled batches (default ${DEFAULT-VALUE}).")
    int batches;

    @Option(names = "--iters", defaultValue = "500", description = "Adam iterations per batch (default ${DEFAULT-VALUE}).")
    int iters;

    @Option(names = "--init", defaultValue = "uniform",
            description = "Starting images: uniform (official code) or gaussian (paper) (default ${DEFAULT-VALUE}).")
    String init;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of every random choice (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--tf32", description = "Allow TF32 tensor cores (sm_80+) for the CUDA backend's convolutions: faster, products "
                    + "rounded to a 10-bit mantissa (about 1e-3 relative); the convolutions --conv puts on cuDNN in cuDNN's TF32 math. "
                    + "Accepted and without effect on the CPU backends. Default: strict FP32.")
    boolean tf32;

    DistillConfig config() {
        DistillConfig.Init i = switch (init.toLowerCase(Locale.ROOT)) {
            case "uniform" -> DistillConfig.Init.UNIFORM;
            case "gaussian" -> DistillConfig.Init.GAUSSIAN;
            default -> throw dev.zeroq.ZeroqException.badInput("--init must be uniform or gaussian, got '" + init + "'");
        };
        return new DistillConfig(batch, batches, iters, i, seed);
    }
}
