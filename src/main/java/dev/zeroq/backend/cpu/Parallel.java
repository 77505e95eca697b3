package dev.zeroq.backend.cpu;

/*
 * The one place the cpu backend runs work on several threads: a ForkJoinPool per thread count, shared by
 * every CpuBackend with that count. Work-stealing joins make nested use safe (no fixed-pool deadlock).
 */

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;
import java.util.function.IntConsumer;

final class Parallel {
    /** Pools are shared by thread count so that creating many backends does not create many pools. */
    private static final ConcurrentHashMap<Integer, ForkJoinPool> POOLS = new ConcurrentHashMap<>();

    /** A range of work items [lo, hi) run by one task. */
    @FunctionalInterface
    interface RangeBody {
        void run(int lo, int hi);
    }

    private final int threads;
    /** Null when threads == 1: everything then runs on the caller's thread. */
    private final ForkJoinPool pool;

    Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
        // FJP workers are daemon threads and retire after an idle keep-alive, so a shared pool costs nothing
        // when the backend is not in use and needs no close().
        this.pool = threads == 1 ? null : POOLS.computeIfAbsent(threads, ForkJoinPool::new);
    }

    int threads() {
        return threads;
    }

    /**
     * Runs {@code body(i)} for every i in [0, tasks) and returns when all are done. Task bodies must not
     * wait on other tasks while they hold thread-local scratch ({@link Scratch}): a joining worker may run
     * another task on the same thread.
     */
    void forEach(int tasks, IntConsumer body) {
        forChunks(tasks, tasks, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                body.accept(i);
            }
        });
    }

    /**
     * Splits [0, count) into at most {@code maxChunks} contiguous chunks, each at least {@code minChunk}
     * long where possible, and runs them in parallel.
     */
    void forChunks(int count, int maxChunks, RangeBody body) {
        if (count <= 0) {
            return;
        }
        int chunks = Math.max(1, Math.min(count, maxChunks));
        if (pool == null || chunks == 1) {
            body.run(0, count);
            return;
        }
        Chunks task = new Chunks(body, count, chunks, 0, chunks);
        if (ForkJoinTask.getPool() == pool) {
            task.invoke(); // already on one of our workers: fork/join in place instead of re-submitting
        } else {
            pool.invoke(task);
        }
    }

    /**
     * How many chunks a per-plane loop over {@code elements} values in all should use: one (the caller's thread)
     * when the whole op is small, where handing work to other threads costs more than it saves (a batch-1 layer
     * of a small CNN), else enough to balance the threads.
     */
    int chunksFor(long elements) {
        return elements < SMALL_OP_ELEMENTS ? 1 : 4 * threads;
    }

    /** About 25 µs of streaming work on one core: below this an op runs serially. */
    static final long SMALL_OP_ELEMENTS = 1L << 15;

    /** Element-wise ops: enough chunks to balance the threads, none so small that scheduling dominates. */
    void forElements(int count, RangeBody body) {
        int minChunk = 1 << 14; // 64 KiB of floats per chunk: task overhead (~µs) stays below the work
        forChunks(count, Math.min(4 * threads, Math.ceilDiv(count, minChunk)), body);
    }

    /** Binary splitting over chunk indices; leaves run {@code body} on their slice of [0, count). */
    private static final class Chunks extends RecursiveAction {
        private final RangeBody body;
        private final int count, chunks, lo, hi;

        Chunks(RangeBody body, int count, int chunks, int lo, int hi) {
            this.body = body;
            this.count = count;
            this.chunks = chunks;
            this.lo = lo;
            this.hi = hi;
        }

        @Override
        protected void compute() {
            if (hi - lo == 1) {
                long start = (long) count * lo / chunks;
                long end = (long) count * (lo + 1) / chunks;
                body.run((int) start, (int) end);
                return;
            }
            int mid = (lo + hi) >>> 1;
            invokeAll(new Chunks(body, count, chunks, lo, mid), new Chunks(body, count, chunks, mid, hi));
        }
    }
}
