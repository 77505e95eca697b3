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
