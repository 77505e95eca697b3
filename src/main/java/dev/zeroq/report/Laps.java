package dev.zeroq.report;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;

/**
 * Wall time split into named parts, for the one-line breakdowns long stages print ("setup 1.23 s (plan 0.04 s, …)").
 * {@link #lap} closes the part running since the previous lap (or since construction); {@link #add} adds time measured
 * elsewhere. Parts with the same name add up. Not thread-safe.
 */
public final class Laps {
    private final Map<String, Long> nanos = new LinkedHashMap<>();
    private long since = System.nanoTime();

    /** Ends the current part as {@code name}; the next part starts now. */
    public void lap(String name) {
        long now = System.nanoTime();
        add(name, now - since);
        since = now;
    }

    /**
     * Ends the current part: {@code parts} (name to nanoseconds measured within it) are reported on their own, the rest
     * of it as {@code name}.
     */
    public void lap(String name, Map<String, Long> parts) {
        long now = System.nanoTime(), within = 0;
        for (Map.Entry<String, Long> e : parts.entrySet()) {
            add(e.getKey(), e.getValue());
            within += e.getValue();
        }
        add(name, Math.max(0, now - since - within));
        since = now;
    }

    /** Adds {@code nanoseconds} to part {@code name} (the running part is unaffected). */
    public void add(String name, long nanoseconds) {
        nanos.merge(name, nanoseconds, Long::sum);
    }

    /** Seconds of part {@code name}, 0 when it never ran. */
    public double seconds(String name) {
        return nanos.getOrDefault(name, 0L) / 1e9;
    }

    /** Seconds of all parts. */
    public double total() {
        return nanos.values().stream().mapToLong(Long::longValue).sum() / 1e9;
    }

    /** "T s (a 0.12 s, b 0.03 s)", the parts in the order they first ran. */
    @Override
    public String toString() {
        StringJoiner parts = new StringJoiner(", ", " (", ")");
        nanos.forEach((k, v) -> parts.add(k + " " + String.format(Locale.ROOT, "%.2f s", v / 1e9)));
        return String.format(Locale.ROOT, "%.2f s", total()) + (nanos.isEmpty() ? "" : parts.toString());
    }
}
