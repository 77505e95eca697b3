package dev.zeroq.cli;

import dev.zeroq.ZeroqException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * The {@code zeroq} command. Errors follow DESIGN.md: one line on stderr, exit 2 for bad input, 1 for an
 * internal failure, a stack trace only with {@code --verbose}.
 */
@Command(name = "zeroq", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Data-free quantization of CNNs (ZeroQ): distill, calibrate, quantize, run int8.",
        subcommands = {InfoCommand.class, RunCommand.class, EvalCommand.class, DistillCommand.class, QuantizeCommand.class,
                SensitivityCommand.class, BenchCommand.class, DoctorCommand.class, DemoCommand.class, CommandLine.HelpCommand.class})
public final class Main {
    public static final int EXIT_BAD_INPUT = 2;
    public static final int EXIT_INTERNAL = 1;

    public static void main(String[] args) {
        int code;
        try {
            code = execute(args);
        } catch (OutOfMemoryError e) {
            // picocli hands Errors straight through; one line instead of a trace, as for every other failure.
            System.err.println("zeroq: error: out of Java heap memory; use a smaller --batch or give the JVM more, e.g. JAVA_OPTS=-Xmx8g");
            code = EXIT_INTERNAL;
        }
        System.exit(code);
    }

    /** Runs the command line and returns the exit code (tests call this directly). */
    public static int execute(String... args) {
        CommandLine cl = commandLine();
        return cl.execute(args);
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, line, parseResult) -> {
            boolean verbose = parseResult.hasMatchedOption("--verbose")
                    || parseResult.subcommand() != null && parseResult.subcommand().hasMatchedOption("--verbose");
            PrintWriter err = line.getErr();
            int code;
            if (ex instanceof ZeroqException z) {
                err.println("zeroq: error: " + z.getMessage());
                code = z.badInput() ? EXIT_BAD_INPUT : EXIT_INTERNAL;
            } else {
                err.println("zeroq: internal error: " + ex + " (rerun with --verbose for the stack trace)");
                code = EXIT_INTERNAL;
            }
            if (verbose) {
                ex.printStackTrace(err);
            }
            err.flush();
            return code;
        });
        cl.setParameterExceptionHandler((ex, args) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            String sub = ex.getCommandLine().getCommandName();
            err.println("zeroq: error: " + ex.getMessage() + " (see: " + (sub.equals("zeroq") ? "zeroq" : "zeroq " + sub)
                    + " --help)");
            err.flush();
            return EXIT_BAD_INPUT;
        });
        return cl;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"zeroq " + (v == null ? "(development build)" : v) + ", Java "
                    + Runtime.version()};
        }
    }
}
