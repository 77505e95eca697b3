package dev.zeroq.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Options every command shares (DESIGN.md's command-line contract). */
final class CommonOptions {
    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--json", description = "Print one JSON object instead of a table.")
    boolean json;

    String device = "auto";

    dev.zeroq.backend.cuda.CudaBackend.ConvKernels conv = dev.zeroq.backend.cuda.CudaBackend.ConvKernels.AUTO;

    /** Checked while parsing; whether cuDNN loads is checked when the backend opens (the error gives the reason). */
    @Option(names = "--conv", paramLabel = "IMPL", defaultValue = "auto",
            description = "Convolution kernels of the CUDA backend: auto, zeroq or cudnn (default: ${DEFAULT-VALUE}: in "
                    + "the device-resident passes (distillation, calibration, sensitivity) each convolution on zeroq's "
                    + "kernel or cuDNN's, whichever the device timed faster at setup, elsewhere zeroq's; cudnn: cuDNN "
                    + "wherever it can). cuDNN is "
                    + "libcudnn.so.9, found on the library path, in a Python environment, or via ZEROQ_CUDNN_PATH; "
                    + "auto without it uses zeroq's kernels.")
    void conv(String c) {
        switch (c.toLowerCase(java.util.Locale.ROOT)) {
            case "auto" -> conv = dev.zeroq.backend.cuda.CudaBackend.ConvKernels.AUTO;
            case "zeroq" -> conv = dev.zeroq.backend.cuda.CudaBackend.ConvKernels.ZEROQ;
            case "cudnn" -> conv = dev.zeroq.backend.cuda.CudaBackend.ConvKernels.CUDNN;
            default -> throw new CommandLine.ParameterException(spec.commandLine(),
                    "unknown convolution kernels '" + c + "': use auto, zeroq or cudnn");
        }
    }

    @Option(names = "--verbose", description = "Stack traces on errors, more detail on stderr.")
    boolean verbose;

    /** Checked while parsing, so a typo fails before any model is loaded. */
    @Option(names = "--device", paramLabel = "DEV", defaultValue = "auto",
            description = "cpu, cuda, cuda:N, ref or auto (default: ${DEFAULT-VALUE}: CUDA when usable, else the CPU).")
    void device(String d) {
        if (!d.matches("(?i)auto|cpu|ref|cuda|cuda:\\d+")) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "unknown device '" + d + "': use cpu, cuda, cuda:N, ref or auto");
        }
        device = d;
    }
}
