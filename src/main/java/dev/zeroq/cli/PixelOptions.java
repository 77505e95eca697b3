package dev.zeroq.cli;

import picocli.CommandLine.Option;

/** How IDX pixels are normalized, for the commands that read images from files (eval, and --calib data). */
final class PixelOptions {
    @Option(names = "--mean", defaultValue = "0", description = "Mean subtracted from IDX pixels in [0,1] (default 0).")
    float mean;

    @Option(names = "--std", defaultValue = "1", description = "Std dividing IDX pixels after the mean (default 1).")
    float std;
}
