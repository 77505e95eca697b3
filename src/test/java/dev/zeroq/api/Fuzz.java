// Byte-level mutations for the loader fuzz tests: flips, insertions, deletions, truncations and varint
// extremes, from a seeded Random so every failing case can be replayed by its index.
package dev.zeroq.api;

import dev.zeroq.ZeroqException;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

final class Fuzz {
    private Fuzz() {}

    /** A mutated copy of {@code src}; {@code hot} bytes at the start are where the format's structure lives. */
    static byte[] mutate(byte[] src, Random r, int hot) {
        byte[] b = src.clone();
        int kind = r.nextInt(6);
        switch (kind) {
            case 0 -> { // flip 1..8 bytes
                int k = 1 + r.nextInt(8);
                for (int i = 0; i < k; i++) {
                    b[pos(b.length, r, hot)] ^= (byte) (1 + r.nextInt(255));
                }
            }
            case 1 -> { // insert 1..16 random bytes
                int at = pos(b.length + 1, r, hot);
                byte[] ins = new byte[1 + r.nextInt(16)];
                r.nextBytes(ins);
                b = splice(b, at, 0, ins);
            }
            case 2 -> { // delete 1..64 bytes
                int at = pos(b.length, r, hot);
                b = splice(b, at, Math.min(b.length - at, 1 + r.nextInt(64)), new byte[0]);
            }
            case 3 -> b = Arrays.copyOf(b, r.nextInt(b.length)); // truncate
            case 4 -> { // overwrite with a maximal varint / all-ones run: huge lengths and counts
                int at = pos(b.length, r, hot);
                int n = Math.min(b.length - at, 1 + r.nextInt(10));
                Arrays.fill(b, at, at + n, r.nextBoolean() ? (byte) 0xff : (byte) 0x7f);
            }
            default -> { // set one byte to an extreme value
                byte[] extremes = {0, 1, (byte) 0x7f, (byte) 0x80, (byte) 0xff};
                b[pos(b.length, r, hot)] = extremes[r.nextInt(extremes.length)];
            }
        }
        return b;
    }

    private static int pos(int len, Random r, int hot) {
        return r.nextInt(4) < 3 && hot > 0 ? r.nextInt(Math.min(hot, len)) : r.nextInt(len);
    }

    static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
        byte[] out = new byte[b.length - remove + insert.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(b, at + remove, out, at + insert.length, b.length - at - remove);
        return out;
    }

    /** One case's body; returns normally when the input was accepted. */
    interface Case {
        void run(int index) throws Exception;
    }

    /** What a fuzz run saw. */
    record Report(int cases, int accepted, int rejected, List<String> failures, long maxAllocatedBytes, long millis) {}

    /**
     * Runs {@code count} cases. A case fails when it throws anything but a ZeroqException, allocates more than
     * {@code maxBytes} on its thread (a guard against sizes taken from the file without checking them against
     * the bytes present), or takes longer than {@code maxMillis}.
     */
    static Report run(int count, long maxBytes, long maxMillis, Case c) {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().threadId();
        List<String> failures = new ArrayList<>();
        int accepted = 0, rejected = 0;
        long maxAlloc = 0;
        long start = System.nanoTime();
        for (int i = 0; i < count; i++) {
            long a0 = mx.getThreadAllocatedBytes(tid);
            long t0 = System.nanoTime();
            try {
                c.run(i);
                accepted++;
            } catch (ZeroqException e) {
                rejected++;
                if (e.getMessage() == null || e.getMessage().isBlank() || e.getMessage().contains("\n")) {
                    failures.add("case " + i + ": message is not one line: " + e.getMessage());
                }
            } catch (Throwable t) {
                failures.add("case " + i + ": " + t);
            }
            long alloc = mx.getThreadAllocatedBytes(tid) - a0;
            long ms = (System.nanoTime() - t0) / 1_000_000;
            maxAlloc = Math.max(maxAlloc, alloc);
            if (alloc > maxBytes) {
                failures.add("case " + i + ": allocated " + alloc + " bytes (limit " + maxBytes + ")");
            }
            if (ms > maxMillis) {
                failures.add("case " + i + ": took " + ms + " ms (limit " + maxMillis + ")");
            }
        }
        return new Report(count, accepted, rejected, failures, maxAlloc, (System.nanoTime() - start) / 1_000_000);
    }
}
