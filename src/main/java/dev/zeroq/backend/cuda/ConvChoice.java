// Which way each convolution step of a planned device pass runs: zeroq's kernel, or the same convolution on cuDNN
// (CudaDistiller, CudaForward). Chosen at setup by device timing (FASTEST: every step's two ways timed together, after
// all of cuDNN's first runs) or always cuDNN (ALWAYS). Timings are kept for the process by device, math and step, as
// cuDNN's algorithm choices are (CudnnConv), so a pass planned over shapes already timed (the sensitivity and
// calibration passes after the distillation) times nothing again.
package dev.zeroq.backend.cuda;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.cuda.CudaDistiller.Cudnn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/** The cuDNN handle of one planned pass (or the reason there is none) and the choice for each convolution step. */
final class ConvChoice implements AutoCloseable {
    private record Times(double zeroqMs, double cudnnMs) {}

    private static final Map<String, Times> TIMES = new ConcurrentHashMap<>();
    private static final AtomicLong timings = new AtomicLong();
    /** -Dzeroq.cudnn.searchAhead=false: each step searches for its shape itself, on the owner's thread. */
    public static final String SEARCH_AHEAD_PROPERTY = "zeroq.cudnn.searchAhead";
    /** timeAll's rounds: 3 before the runners-up were timed too cost 0.48 s of an H100's strict setup (run 16). */
    private static final int ROUNDS = 2;

    private final Cudnn use;
    private final CudaStream stream;
    private final String device;
    private final String unit; // what the summary's per-step times add up to: "iteration", "pass"
    private CudnnConv cudnn; // null: OFF, or cuDNN could not start (summary says why)
    private String summary;
    private int forward, forwardOnCudnn, backward, backwardOnCudnn, refusedByCudnn, timedHere;
    private String firstRefusal;
    private double zeroqMs, chosenMs;
    private final List<Chosen> undecided = new ArrayList<>();
    private long firstRunNanos, timingNanos; // this choice's cuDNN first runs (algorithm choice included), its timings
    private Thread search; // searchAhead's, until the first step waits for it
    private Thread relaxed; // the owner's thread while its capture mode is relaxed for the search, else null
    private int ownerCaptureMode; // the mode to give it back
    private long searchNanos, searchWaitNanos; // the search's own wall time; what the first step waited for it

    private ConvChoice(Cudnn use, CudaStream stream, String device, String unit) {
        this.use = use;
        this.stream = stream;
        this.device = device;
        this.unit = unit;
    }

    /**
     * Refuses ALWAYS where cuDNN cannot load, before any device work: the caller asked for it ({@code --conv cudnn}).
     */
    static void checkUsable(Cudnn use) {
        if (use == Cudnn.ALWAYS && !CudnnConv.available().usable()) {
            throw ZeroqException.badInput("convolutions on cuDNN were asked for, but cuDNN is not usable: "
                    + CudnnConv.available().reason() + "; use --conv zeroq or --conv auto");
        }
    }

    /**
     * Opens cuDNN on {@code stream} (the current context's, on device {@code context}) unless {@code use} is OFF.
     * FASTEST: a library that is missing or cannot make a handle leaves every step on zeroq's kernels, and
     * {@link #summary()} says why. ALWAYS: that throws. {@code unit} names what one run of all the steps is, for the
     * summary ("iteration").
     */
    static ConvChoice open(Cudnn use, boolean tf32, CudaContext context, CudaStream stream, String unit) {
        ConvChoice c = new ConvChoice(use, stream, context.ordinal() + " " + context.name(), unit);
        c.summary = "convolutions on zeroq's kernels";
        if (use == Cudnn.OFF) return c;
        CudnnConv.Availability a = CudnnConv.available();
        if (!a.usable()) {
            checkUsable(use);
            c.summary += " (cuDNN not usable: " + a.reason() + ")";
            return c;
        }
        try {
            c.cudnn = CudnnConv.open(stream, tf32 ? CudnnConv.MathMode.TF32 : CudnnConv.MathMode.STRICT_FP32, c.device);
        } catch (CudnnConv.CudnnException | IllegalStateException e) {
            if (use == Cudnn.ALWAYS) throw e;
            // FASTEST: a library that loads but cannot make a handle (e.g. too old a driver) is no reason to fail.
            c.summary += " (cuDNN could not start: " + e.getMessage() + ")";
        }
        return c;
    }

    /**
     * Starts cuDNN's algorithm search (cudnnFind) for every shape among {@code calls} on another thread, with a handle
     * and stream of its own on {@code context}, so that it runs beside the caller's work (filling the pool) instead of
     * in the first {@link #step}s, which wait for it. Its choices are the process's (CudnnConv shares them by device).
     * A shape it cannot search is searched again by its step, which then says what is wrong. Nothing with cuDNN off.
     *
     * <p>cuDNN may capture a CUDA graph on its stream while it searches (TF32 on an H100 did, GPU run 16), and in the
     * default capture mode a driver call of another thread that could disturb a capture (a context synchronize, a
     * synchronous copy) then fails with CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED. Until the search ends the calling
     * thread's mode is relaxed: it captures nothing meanwhile, and its uploads do not touch cuDNN's stream.
     */
    void searchAhead(CudaContext context, List<DevicePlan.ConvCall> calls) {
        if (cudnn == null || calls.isEmpty() || search != null
                || "false".equals(System.getProperty(SEARCH_AHEAD_PROPERTY))) {
            return;
        }
        CudnnConv.MathMode mode = cudnn.mathMode();
        ownerCaptureMode = Cuda.exchangeCaptureMode(Cuda.CU_STREAM_CAPTURE_MODE_RELAXED);
        relaxed = Thread.currentThread();
        search = Thread.ofPlatform().daemon().name("zeroq-cudnn-search").start(() -> {
            long t0 = System.nanoTime();
            try {
                context.makeCurrent();
                try (CudaStream s = CudaStream.create(true); CudnnConv c = CudnnConv.open(s, mode, device)) {
                    for (DevicePlan.ConvCall call : calls) {
                        try {
                            c.search(call.forward(), call.xs(), call.ws(), call.spec());
                        } catch (RuntimeException e) {
                            // left to the step: it searches again, on the caller's thread, and reports what fails
                        }
                    }
                }
            } catch (RuntimeException e) {
                // no handle or stream here: every step searches for itself
            } finally {
                searchNanos = System.nanoTime() - t0;
            }
        });
    }

    /** Waits for {@link #searchAhead}'s thread, if one runs, then gives the owner's thread its capture mode back. */
    private void awaitSearch() {
        if (search != null) {
            long t0 = System.nanoTime();
            boolean interrupted = false;
            while (true) {
                try {
                    search.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true; // the search holds a device handle: it must end before anything is closed
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
            search = null;
            searchWaitNanos += System.nanoTime() - t0;
        }
        if (relaxed == Thread.currentThread()) {
            relaxed = null;
            Cuda.exchangeCaptureMode(ownerCaptureMode);
        }
    }

    /**
     * The step to run for {@code zeroq}, a planned launch, whose convolution as a cuDNN call is {@code call} (null when
     * cuDNN cannot run it): the launch itself, the call (ALWAYS), or a step that runs whichever of the two
     * {@link #decide()} finds faster. The call runs once here either way, so its algorithm and workspace exist before a
     * loop that must not allocate, or a graph capture.
     */
    DeviceStep step(CudaModule.Prepared zeroq, DevicePlan.ConvCall call, DevicePlan p) {
        if (call == null || cudnn == null) return zeroq;
        awaitSearch();
        CudnnConv.Call lib = new CudnnConv.Call(cudnn, call.forward(), p.address(call.x()), call.xs(),
                p.address(call.w()), call.ws(), call.bias() == null ? 0 : p.address(call.bias()), call.spec(),
                p.address(call.y()), call.accumulate());
        long t0 = System.nanoTime();
        try {
            lib.run(stream); // cudnnFind* for a new shape, and the workspace grown to its final size
        } catch (CudnnConv.CudnnException | IllegalStateException | CudaException e) {
            // FASTEST: a step cuDNN refuses (no algorithm for the shape, no memory for its workspace) stays on
            // zeroq's kernel; any other CUDA failure is not cuDNN's to absorb. ALWAYS: the caller asked for cuDNN.
            boolean refused = !(e instanceof CudaException c) || c.outOfMemory();
            if (use == Cudnn.ALWAYS || !refused) throw e;
            refusedByCudnn++;
            if (firstRefusal == null) firstRefusal = e.getMessage();
            count(lib.forward(), false);
            return zeroq;
        } finally {
            firstRunNanos += System.nanoTime() - t0;
        }
        if (use == Cudnn.ALWAYS) {
            count(lib.forward(), true);
            return lib;
        }
        Chosen c = new Chosen(zeroq, lib, key(zeroq, lib));
        undecided.add(c);
        return c;
    }

    /**
     * Decides every step {@link #step} returned since the last call: each runs cuDNN's call when that timed faster than
     * zeroq's launch. Shapes not timed before in this process are timed here, all together ({@link #timeAll}).
     */
    void decide() {
        if (undecided.isEmpty()) return;
        long t0 = System.nanoTime();
        Map<String, Chosen> untimed = new LinkedHashMap<>();
        for (Chosen c : undecided) {
            if (!TIMES.containsKey(c.key)) untimed.putIfAbsent(c.key, c);
        }
        if (!untimed.isEmpty()) {
            List<Chosen> list = List.copyOf(untimed.values());
            double[][] ms = timeAll(list);
            int[] kept = settle(list, ms);
            for (int i = 0; i < list.size(); i++) {
                TIMES.put(list.get(i).key, new Times(ms[i][0], ms[i][1 + kept[i]]));
                timedHere++;
                timings.incrementAndGet();
            }
        }
        timingNanos += System.nanoTime() - t0;
        for (Chosen c : undecided) {
            Times t = TIMES.get(c.key);
            boolean onCudnn = t.cudnnMs() < t.zeroqMs();
            c.way = onCudnn ? c.lib : c.zeroq;
            count(c.lib.forward(), onCudnn);
            zeroqMs += t.zeroqMs();
            chosenMs += Math.min(t.zeroqMs(), t.cudnnMs());
        }
        undecided.clear();
    }

    /** A convolution step that runs zeroq's launch until {@link #decide()} has chosen, then the faster way. */
    private static final class Chosen implements DeviceStep {
        final CudaModule.Prepared zeroq;
        final CudnnConv.Call lib;
        final String key;
        DeviceStep way;

        Chosen(CudaModule.Prepared zeroq, CudnnConv.Call lib, String key) {
            this.zeroq = zeroq;
            this.lib = lib;
            this.key = key;
            this.way = zeroq;
        }

        @Override
        public void run(CudaStream stream) {
            way.run(stream);
        }

        @Override
        public String label() {
            return way.label();
        }
    }

    private void count(boolean isForward, boolean onCudnn) {
        if (isForward) {
            forward++;
            if (onCudnn) forwardOnCudnn++;
        } else {
            backward++;
            if (onCudnn) backwardOnCudnn++;
        }
    }

    /** The step's identity for the timings: device, math, the convolution and zeroq's launch of it. */
    private String key(CudaModule.Prepared zeroq, CudnnConv.Call lib) {
        ConvSpec s = lib.spec();
        return device + " " + cudnn.mathMode() + " " + lib.forward() + " " + Arrays.toString(lib.xs())
                + Arrays.toString(lib.ws()) + Arrays.toString(s.strides()) + Arrays.toString(s.pads())
                + Arrays.toString(s.dilations()) + s.group() + " " + lib.accumulate() + (lib.bias() != 0) + " "
                + zeroq.name() + Arrays.toString(zeroq.grid());
    }

    /**
     * Device milliseconds of one run of each step's zeroq launch ([i][0]) and of its cuDNN call with each algorithm
     * cudnnFind kept for the shape ([i][1 + j], CudnnConv.CANDIDATES at most). Every way runs once first (cuDNN's kernels
     * are loaded by then, and the device is busy and at its working clocks); then 2 rounds run each step's ways in turn,
     * 2 runs each between events, with one wait per round (no idle gap between two timings); the best round counts.
     * A runner-up cuDNN refuses to run, or whose workspace does not fit, is never timed (infinite).
     */
    private double[][] timeAll(List<Chosen> list) {
        int n = list.size();
        double[][] best = new double[n][];
        int[] first = new int[n + 1]; // step i's ways are events pairs first[i] .. first[i + 1] - 1
        for (int i = 0; i < n; i++) {
            best[i] = new double[1 + list.get(i).lib.candidates()];
            Arrays.fill(best[i], Double.POSITIVE_INFINITY);
            first[i + 1] = first[i] + best[i].length;
        }
        CudaEvent[] events = new CudaEvent[2 * first[n]];
        try {
            for (int e = 0; e < events.length; e++) events[e] = CudaEvent.create();
            boolean[][] skip = new boolean[n][];
            for (int i = 0; i < n; i++) {
                skip[i] = new boolean[best[i].length];
                for (int way = 0; way < best[i].length; way++) {
                    try {
                        run(list.get(i), way);
                    } catch (CudnnConv.CudnnException | CudaException e) {
                        // Ways 0 and 1 ran when the step was made; a runner-up may not run at all.
                        if (way < 2 || e instanceof CudaException c && !c.outOfMemory()) throw e;
                        skip[i][way] = true;
                    }
                }
            }
            for (int round = 0; round < ROUNDS; round++) {
                for (int i = 0; i < n; i++) {
                    for (int way = 0; way < best[i].length; way++) {
                        if (skip[i][way]) continue;
                        int e = 2 * (first[i] + way);
                        events[e].record(stream);
                        run(list.get(i), way);
                        run(list.get(i), way);
                        events[e + 1].record(stream);
                    }
                }
                stream.synchronize(); // the last pair may be a skipped way's, never recorded
                for (int i = 0; i < n; i++) {
                    for (int way = 0; way < best[i].length; way++) {
                        if (skip[i][way]) continue;
                        int e = 2 * (first[i] + way);
                        best[i][way] = Math.min(best[i][way], CudaEvent.elapsedMillis(events[e], events[e + 1]) / 2.0);
                    }
                }
            }
        } finally {
            for (CudaEvent e : events) {
                if (e != null) e.close();
            }
        }
        return best;
    }

    /** Way 0: zeroq's launch; way 1 + j: the cuDNN call with the shape's candidate j. */
    private void run(Chosen c, int way) {
        if (way == 0) {
            c.zeroq.run(stream);
        } else {
            c.lib.tryCandidate(way - 1);
            c.lib.run(stream);
        }
    }

    /**
     * Keeps for each cuDNN shape the candidate with the least time summed over the timed steps of that shape (steps of
     * one shape share its algorithm: a stored and an accumulating backward-data step, say), and returns each step's.
     */
    private static int[] settle(List<Chosen> list, double[][] ms) {
        Map<Object, double[]> sums = new IdentityHashMap<>();
        for (int i = 0; i < list.size(); i++) {
            int candidates = ms[i].length - 1;
            double[] sum = sums.computeIfAbsent(list.get(i).lib.shape(), k -> new double[candidates]);
            for (int j = 0; j < sum.length; j++) sum[j] += ms[i][1 + j];
        }
        Map<Object, Integer> kept = new IdentityHashMap<>();
        int[] out = new int[list.size()];
        for (int i = 0; i < list.size(); i++) {
            Chosen c = list.get(i);
            out[i] = kept.computeIfAbsent(c.lib.shape(), shape -> {
                double[] sum = sums.get(shape);
                int j = 0;
                for (int k = 1; k < sum.length; k++) if (sum[k] < sum[j]) j = k;
                c.lib.settle(j);
                return j;
            });
        }
        return out;
    }

    /**
     * Where this choice's wall time went, for a setup report: "cuDNN first runs" (each call's first run, which chooses
     * its algorithm for a new shape and grows the workspace) and "convolution timing" (zeroq's kernel against the
     * call); empty when cuDNN is not open.
     */
    Map<String, Long> setupNanos() {
        if (cudnn == null) return Map.of();
        Map<String, Long> parts = new LinkedHashMap<>();
        if (searchNanos > 0) parts.put("waiting for cuDNN's search", searchWaitNanos);
        parts.put("cuDNN first runs", firstRunNanos);
        parts.put("convolution timing", timingNanos);
        return parts;
    }

    /** Step timings made so far by this process (for tests: a second pass over timed shapes makes none). */
    static long timings() {
        return timings.get();
    }

    /**
     * "convolutions on cuDNN (STRICT_FP32): 43 of 53 forward and 0 of 0 backward-data steps, the faster at setup
     * (…)", or why every step is on zeroq's kernels.
     */
    String summary() {
        if (cudnn == null || forward + backward == 0) return summary;
        String steps = "convolutions on cuDNN (" + cudnn.mathMode() + "): " + forwardOnCudnn + " of " + forward
                + " forward" + (backward == 0 ? "" : " and " + backwardOnCudnn + " of " + backward + " backward-data")
                + " steps";
        if (use == Cudnn.ALWAYS) return steps + " (every one cuDNN can run)";
        String refused = refusedByCudnn == 0 ? "" : "; " + refusedByCudnn + " step(s) cuDNN could not run stay on "
                + "zeroq's kernels (first: " + firstRefusal + ")";
        String timed = (timedHere == 0 ? ", timed earlier in this process" : "") + (searchNanos == 0 ? ""
                : String.format(Locale.ROOT, "; cuDNN's algorithm search took %.2f s beside the upload", searchNanos / 1e9));
        return steps + String.format(Locale.ROOT, ", the faster at setup (convolution steps %.2f ms per %s on "
                + "zeroq's kernels alone, %.2f ms as chosen%s)", zeroqMs, unit, chosenMs, timed) + refused;
    }

    /** Closes the cuDNN handle (before the stream it is bound to). */
    @Override
    public void close() {
        awaitSearch();
        if (cudnn != null) {
            CudnnConv c = cudnn;
            cudnn = null;
            c.close();
        }
    }
}
