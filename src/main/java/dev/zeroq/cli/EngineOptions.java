package dev.zeroq.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;

/** How the commands that run a model (eval, run) run it: float, quantized by a plan, and on which engine. */
final class EngineOptions {
    @Option(names = "--plan", paramLabel = "PLAN.json",
            description = "Use the model quantized as this plan says (fake-quant simulation).")
    Path plan;

    @Option(names = "--engine", defaultValue = "sim", paramLabel = "sim|int8",
            description = "With a plan or a QDQ model: sim (fake-quant simulation, any device) or int8 (the integer engine, deploy plans) (default ${DEFAULT-VALUE}).")
    String engine;
}
