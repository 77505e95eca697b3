package dev.zeroq;

/**
 * The one exception zeroq throws for anything a user can act on. The message is a single line that says
 * what is wrong and what to do; {@link #badInput()} tells the command line to exit with 2 rather than 1.
 */
public class ZeroqException extends RuntimeException {
    private final boolean badInput;

    private ZeroqException(String message, Throwable cause, boolean badInput) {
        super(message, cause);
        this.badInput = badInput;
    }

    /** Bad input from the user (file, model, option): exit code 2. */
    public static ZeroqException badInput(String message) {
        return new ZeroqException(message, null, true);
    }

    public static ZeroqException badInput(String message, Throwable cause) {
        return new ZeroqException(message, cause, true);
    }

    /** Something went wrong inside zeroq or on the device: exit code 1. */
    public static ZeroqException internal(String message, Throwable cause) {
        return new ZeroqException(message, cause, false);
    }

    public static ZeroqException internal(String message) {
        return new ZeroqException(message, null, false);
    }

    public boolean badInput() {
        return badInput;
    }
}
