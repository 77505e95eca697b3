package dev.zeroq.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.zeroq.ZeroqException;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Human tables on stdout, or one JSON object with --json; notes and warnings on stderr. */
final class Output {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Output() {}

    static void json(PrintStream out, Map<String, ?> object) {
        try {
            out.println(JSON.writeValueAsString(object));
        } catch (JsonProcessingException e) {
            throw ZeroqException.internal("could not write JSON: " + e.getMessage(), e);
        }
    }

    static void info(String line) {
        System.err.println("INFO  " + line);
    }

    static void warn(String line) {
        System.err.println("WARN  " + line);
    }

    /** A left-aligned text table; numbers are formatted by the caller. */
    static final class Table {
        private final List<String[]> rows = new ArrayList<>();
        private final String[] header;

        Table(String... header) {
            this.header = header;
        }

        Table row(Object... cells) {
            String[] r = new String[cells.length];
            for (int i = 0; i < cells.length; i++) {
                r[i] = String.valueOf(cells[i]);
            }
            rows.add(r);
            return this;
        }

        void print(PrintStream out) {
            int[] w = new int[header.length];
            for (int i = 0; i < header.length; i++) {
                w[i] = header[i].length();
            }
            for (String[] r : rows) {
                for (int i = 0; i < r.length; i++) {
                    w[i] = Math.max(w[i], r[i].length());
                }
            }
            out.println(line(header, w));
            StringBuilder sep = new StringBuilder();
            for (int i = 0; i < w.length; i++) {
                sep.append(i == 0 ? "" : "  ").append("-".repeat(w[i]));
            }
            out.println(sep);
            for (String[] r : rows) {
                out.println(line(r, w));
            }
        }

        private static String line(String[] cells, int[] w) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < cells.length; i++) {
                if (i > 0) b.append("  ");
                b.append(i == cells.length - 1 ? cells[i] : String.format("%-" + w[i] + "s", cells[i]));
            }
            return b.toString();
        }
    }
}
