package dev.zeroq.cli;

import picocli.CommandLine.Option;

/** Options every command shares (DESIGN.md's command-line contract). */
final class CommonOptions {
    @Option(names = "--json", description = "Print one JSON object instead of a table.")
    boolean json;

    @Option(names = "--device", paramLabel = "DEV", defaultValue = "auto",
            description = "cpu, cuda, cuda:N, ref or auto (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--verbose", description = "Stack traces on errors, more detail on stderr.")
    boolean verbose;
}
