// The reductions of the device-resident passes that answer with a few bytes instead of a download: a value's min/max,
// its percentile range from a 2048-bin histogram, and the mean softmax KL between two sets of logits. Scratch lives
// in a region the caller provides (a part of CudaForward's pool), so a run allocates nothing on the device.
package dev.zeroq.backend.cuda;

import dev.zeroq.bindings.cuda.cuda_h;
import dev.zeroq.quant.Clipping;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Launches the reduction kernels (minmax.cu, histogram.cu, softmax_kl.cu) on one stream and reads their few bytes back
 * through one page-locked buffer. The context must be current on the calling thread. Not thread-safe.
 */
final class DeviceReductions implements AutoCloseable {
    static final int MINMAX_MAX_BLOCKS = 1024;
    static final long MINMAX_TARGET_CHUNK = 8192;
    /** kernels/histogram.cu's HIST_BINS; the percentile must use Clipping's resolution. */
    static final int HISTOGRAM_BINS = 2048;
    static final int HISTOGRAM_MAX_BLOCKS = 1024;
    /** Values per histogram block: enough that clearing and merging 2048 shared bins is a small part of a block's work. */
    static final long HISTOGRAM_TARGET_PER_BLOCK = 16_384;

    // Scratch layout, each part at a 256-byte boundary: min/max partials, the min/max pair, the histogram counts,
    // the KL {mean, bad rows} pair, then {KL, bad} per row.
    private static final long MINMAX_PARTIALS = 0;
    private static final long MINMAX_OUT = MINMAX_PARTIALS + 2L * MINMAX_MAX_BLOCKS * Float.BYTES;
    private static final long COUNTS = MINMAX_OUT + 256;
    private static final long KL_OUT = COUNTS + (long) HISTOGRAM_BINS * Long.BYTES;
    private static final long KL_ROWS = KL_OUT + 256;
    private static final long PINNED_BYTES = (long) HISTOGRAM_BINS * Long.BYTES; // the largest answer: the counts

    static {
        if (HISTOGRAM_BINS != Clipping.HISTOGRAM_BINS) {
            throw new AssertionError("kernels/histogram.cu has " + HISTOGRAM_BINS + " bins, Clipping "
                    + Clipping.HISTOGRAM_BINS);
        }
    }

    private final CudaModule module;
    private final CudaStream stream;
    private final long scratch;
    private final int maxRows;
    private MemorySegment pinned;

    /** Bytes of scratch for KL over up to {@code maxRows} rows (and every min/max and histogram). */
    static long scratchBytes(int maxRows) {
        return KL_ROWS + 2L * Double.BYTES * Math.max(maxRows, 1);
    }

    /** {@code scratch}: the device address of {@link #scratchBytes}(maxRows) bytes, 256-byte aligned. */
    DeviceReductions(CudaModule module, CudaStream stream, long scratch, int maxRows) {
        this.module = module;
        this.stream = stream;
        this.scratch = scratch;
        this.maxRows = Math.max(maxRows, 1);
        try (Arena t = Arena.ofConfined()) {
            MemorySegment pp = t.allocate(ValueLayout.ADDRESS);
            Cuda.check("cuMemAllocHost_v2(" + PINNED_BYTES + " bytes)", cuda_h.cuMemAllocHost_v2(pp, PINNED_BYTES));
            pinned = Cuda.readPointer(pp).reinterpret(PINNED_BYTES);
        }
    }

    /** Copies {@code bytes} from device {@code address} into the pinned buffer after the stream's work, and waits. */
    private MemorySegment fetch(long address, long bytes, String what) {
        Cuda.check("cuMemcpyDtoHAsync_v2(" + what + ")",
                cuda_h.cuMemcpyDtoHAsync_v2(pinned, address, bytes, stream.handle()));
        stream.synchronize();
        return pinned;
    }

    /** {min, max} of the n floats at {@code x}; non-finite elements throw as {@link Clipping#minMax} does. */
    float[] minMax(String name, long x, long n) {
        if (n < 1) throw new IllegalArgumentException("value '" + name + "' has no elements to take a range of");
        int blocks = (int) Math.clamp(Math.ceilDiv(n, MINMAX_TARGET_CHUNK), 1, MINMAX_MAX_BLOCKS);
        long chunk = Math.ceilDiv(n, blocks);
        long partials = scratch + MINMAX_PARTIALS, out = scratch + MINMAX_OUT;
        module.launch("minmax_partial", new int[] {blocks, 1, 1}, DevicePlan.block(), 0, stream, x, partials, n, chunk);
        module.launch("minmax_final", new int[] {1, 1, 1}, DevicePlan.block(), 0, stream, partials, out, blocks);
        MemorySegment r = fetch(out, 2L * Float.BYTES, "min/max");
        float lo = r.get(ValueLayout.JAVA_FLOAT, 0), hi = r.get(ValueLayout.JAVA_FLOAT, 4);
        if (!Float.isFinite(lo) || !Float.isFinite(hi)) {
            // As Clipping.minMax: a range built on NaN or infinity would quantize everything to one code.
            throw new IllegalArgumentException("value '" + name + "' has non-finite elements (min " + lo + ", max " + hi + ")");
        }
        return new float[] {lo, hi};
    }

    /**
     * The 2048 counts of the n floats at {@code x} (|x| when {@code absolute}) in bins min(⌊(v − lo)/width⌋, 2047), as
     * {@link Clipping#percentileByHistogram} counts them; every value must be finite and ≥ lo, width &gt; 0.
     */
    long[] histogram(long x, long n, double lo, double width, boolean absolute) {
        if (n < 1 || n > Integer.MAX_VALUE) throw new IllegalArgumentException("histogram of " + n + " values");
        if (!(width > 0) || !Double.isFinite(width)) throw new IllegalArgumentException("histogram bin width " + width);
        int blocks = (int) Math.clamp(Math.ceilDiv(n, HISTOGRAM_TARGET_PER_BLOCK), 1, HISTOGRAM_MAX_BLOCKS);
        long counts = scratch + COUNTS;
        module.launch("histogram_clear", new int[] {1, 1, 1}, DevicePlan.block(), 0, stream, counts);
        module.launch("histogram_count", new int[] {blocks, 1, 1}, DevicePlan.block(), 0, stream, x, counts, n, lo, width,
                absolute ? 1 : 0);
        MemorySegment r = fetch(counts, PINNED_BYTES, "histogram");
        long[] out = new long[HISTOGRAM_BINS];
        MemorySegment.copy(r, ValueLayout.JAVA_LONG, 0, out, 0, HISTOGRAM_BINS);
        return out;
    }

    /**
     * {@link Clipping#percentileByHistogram} of the n floats at {@code x}, from the device min/max and histogram: 8
     * bytes and 16 KiB come back instead of the value.
     */
    Clipping.Range percentileRange(String name, long x, long n, double percentile, boolean symmetric) {
        if (!(percentile > 50 && percentile <= 100)) {
            throw new IllegalArgumentException("percentile must be in (50, 100], got " + percentile);
        }
        float[] mm = minMax(name, x, n);
        Clipping.Range full = Clipping.fromMinMax(mm[0], mm[1], symmetric);
        double lo = Clipping.histogramLow(full, symmetric);
        double width = Clipping.histogramWidth(full, symmetric);
        if (width == 0) {
            return full; // all values equal (|x| all equal): Clipping answers the full range
        }
        return Clipping.percentileFromCounts(histogram(x, n, lo, width, symmetric), full, n, percentile, symmetric);
    }

    /**
     * Mean over {@code rows} of KL(softmax(p) ‖ softmax(q)) for rows of {@code classes} floats at {@code p} and
     * {@code q}, as {@link dev.zeroq.quant.Sensitivity#klDivergence} (which throws on a row whose max is not finite;
     * so does this).
     */
    double klDivergence(long p, long q, int rows, int classes) {
        if (rows < 1 || rows > maxRows || classes < 1) {
            throw new IllegalArgumentException("KL over " + rows + " rows of " + classes + " classes (at most " + maxRows
                    + " rows planned)");
        }
        long rowKl = scratch + KL_ROWS, out = scratch + KL_OUT;
        module.launch("softmax_kl_rows", new int[] {rows, 1, 1}, DevicePlan.block(), 0, stream, p, q, rowKl, classes);
        module.launch("softmax_kl_mean", new int[] {1, 1, 1}, DevicePlan.block(), 0, stream, rowKl, out, rows);
        MemorySegment r = fetch(out, 2L * Double.BYTES, "KL");
        double mean = r.get(ValueLayout.JAVA_DOUBLE, 0), bad = r.get(ValueLayout.JAVA_DOUBLE, 8);
        if (bad != 0) {
            throw new IllegalArgumentException("logits are not finite (" + (long) bad + " of " + rows
                    + " rows have a non-finite max)");
        }
        return mean;
    }

    @Override
    public void close() {
        if (pinned != null) {
            MemorySegment p = pinned;
            pinned = null;
            Cuda.check("cuMemFreeHost", cuda_h.cuMemFreeHost(p));
        }
    }
}
