// The planning shared by the device-resident CUDA loops (CudaDistiller, CudaForward): every value's and parameter's
// place in one device pool, and every forward kernel launch with its arguments, decided once before any run.
// Addresses are symbolic (Region + offset) until allocate() lays the pool out; prepare() then marshals each launch.
package dev.zeroq.backend.cuda;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.Activation;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.PoolSpec;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.graph.Op;
import dev.zeroq.tensor.Shapes;
import dev.zeroq.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A pool layout and the forward launches of a graph's nodes, for one batch size. Not thread-safe; used by the
 * constructors of the device-resident classes only, then kept for its addresses and parameter uses.
 */
final class DevicePlan {
    static final int THREADS = 256;
    static final int MAX_BLOCKS = 65535;
    static final long ALIGN = 256;

    /** A piece of the device pool: its size, where it lands, and what is uploaded into it once. */
    static final class Region {
        long bytes;
        long offset;
        float[] floats;
        java.util.function.Supplier<float[]> later; // floats computed when the pool is filled (materialize)
        int[] ints;

        Region(long bytes) {
            this.bytes = bytes;
        }
    }

    /** A region plus a byte offset, resolved to a device address once the pool exists. */
    record At(Region region, long byteOffset) {
        static At of(Region r) {
            return new At(r, 0);
        }
    }

    /**
     * A launch to prepare once the pool exists; {@code into} says which list of the owner it belongs to (null: main);
     * {@code cudnn}: the same convolution as a cuDNN call, where the owner asked for those (else null).
     */
    record Pending(List<DeviceStep> into, String kernel, int[] grid, int[] block, Object[] args, ConvCall cudnn) {
        Pending(List<DeviceStep> into, String kernel, int[] grid, int[] block, Object[] args) {
            this(into, kernel, grid, block, args, null);
        }
    }

    /**
     * A convolution as cuDNN computes it, in symbolic addresses: forward (x → y, plus bias when not null; w in the
     * graph's (Cout, Cin/group, kh, kw) layout) or backward-data (dy at {@code y} → dx at {@code x}, added to dx when
     * {@code accumulate}); {@code xs} is x's (or dx's) shape.
     */
    record ConvCall(boolean forward, At x, int[] xs, At w, int[] ws, At bias, ConvSpec spec, At y, boolean accumulate) {}

    /**
     * Where a parameter's values live on the device, and how they are laid out there: as stored ({@code reorder} null)
     * or reordered.
     */
    record ParamUse(Region region, Reorder reorder) {}

    /**
     * A reordering of a parameter that strided_copy does on the device: dst[Σ c_d·dstStrides_d] =
     * src[Σ c_d·srcStrides_d] for every coordinate c of {@code dims} (rank ≤ 6). {@link #apply} is the same copy on the
     * host (the first upload), so both places hold the same floats.
     */
    record Reorder(int[] dims, int[] srcStrides, int[] dstStrides) {
        Reorder {
            if (dims.length != srcStrides.length || dims.length != dstStrides.length || dims.length > 6) {
                throw new IllegalArgumentException("reorder of rank " + dims.length + " with strides of rank "
                        + srcStrides.length + " and " + dstStrides.length);
            }
        }

        int count() {
            return size(dims);
        }

        float[] apply(float[] src) {
            float[] dst = new float[src.length];
            int rank = dims.length, n = count();
            if (n == 0) return dst;
            int inner = dims[rank - 1], ss = srcStrides[rank - 1], ds = dstStrides[rank - 1];
            int[] c = new int[rank]; // the outer coordinates (the last one stays 0)
            for (int done = 0; done < n; done += inner) {
                int so = 0, dof = 0;
                for (int d = 0; d < rank - 1; d++) {
                    so += c[d] * srcStrides[d];
                    dof += c[d] * dstStrides[d];
                }
                for (int x = 0; x < inner; x++) dst[dof + x * ds] = src[so + x * ss];
                for (int d = rank - 2; d >= 0 && ++c[d] == dims[d]; d--) c[d] = 0; // the next row
            }
            return dst;
        }
    }

    final Graph graph;
    final Map<String, int[]> shapes;
    private final CudaDistiller.ConvAlgorithm conv;
    private final boolean tf32; // the 128×128 layers on the TF32 tensor-core twin (IgemmLayout.choose)
    /**
     * True: Flatten/Reshape/Identity whose input other nodes also read get their own copy instead of an alias, so a
     * value can be changed in place (fake quantization) without changing what the input's other readers see.
     */
    private final boolean privateViews;
    /** True: every convolution cuDNN can run also gets its {@link ConvCall} ({@link #attachCudnn}). */
    boolean cudnnAlternatives;
    private final Map<String, String> alias = new HashMap<>();
    private final Map<String, Region> values = new HashMap<>();
    private final Map<String, Region> params = new HashMap<>();
    private final Map<String, List<ParamUse>> paramUses = new LinkedHashMap<>();
    private final Map<String, Integer> readers = new HashMap<>();
    final List<Region> regions = new ArrayList<>();
    final List<Pending> pending = new ArrayList<>();
    private DeviceBuffer pool;
    private long base; // the pool's first byte: on the device (allocate), or in host memory (allocateHost, tests)
    private MemorySegment host; // the pool in host memory (allocateHost), else null

    DevicePlan(Graph graph, Map<String, int[]> shapes, CudaDistiller.ConvAlgorithm conv, boolean privateViews) {
        this(graph, shapes, conv, false, privateViews);
    }

    DevicePlan(Graph graph, Map<String, int[]> shapes, CudaDistiller.ConvAlgorithm conv, boolean tf32,
               boolean privateViews) {
        this.graph = graph;
        this.shapes = shapes;
        this.conv = conv;
        this.tf32 = tf32;
        this.privateViews = privateViews;
        for (Node n : graph.nodes()) {
            for (String in : n.inputs()) readers.merge(in, 1, Integer::sum);
        }
        readers.merge(graph.outputName(), 1, Integer::sum); // the caller reads the output too
    }

    // ---- forward launches ----

    /** Plans node {@code n}'s forward launches (ops as {@link CudaDistiller#unsupported} and MatMul). */
    void forward(Node n) {
        String out = n.output();
        int[] os = shapes.get(out);
        switch (n.op()) {
            case Op.Flatten f -> view(out, n.input(0));
            case Op.Reshape r -> view(out, n.input(0));
            case Op.Identity i -> view(out, n.input(0));
            case Op.Conv c -> conv(n, c.spec());
            case Op.BatchNorm bn -> {
                int[] xs = shapes.get(n.input(0));
                int total = size(xs), ch = xs[1], hw = total / (xs[0] * ch);
                launch("batchnorm_inference", grid1d(total), block(), operand(n.input(0)), operand(n.input(1)),
                        operand(n.input(2)), operand(n.input(3)), operand(n.input(4)), bn.epsilon(), At.of(value(out)),
                        total, ch, hw);
            }
            case Op.Unary u -> {
                float[] ab = activationArgs(u.fn());
                int total = size(os);
                launch("activation", grid1d(total), block(), operand(n.input(0)), At.of(value(out)), total,
                        (int) ab[2], ab[0], ab[1]);
            }
            case Op.Binary b -> {
                int[] sa = shapeOf(n.input(0)), sb = shapeOf(n.input(1));
                int total = size(os);
                if (Arrays.equals(sa, os) && Arrays.equals(sb, os)) {
                    // No broadcasting (a residual Add): the four-per-thread kernel without rank-6 index arithmetic.
                    launch("binary_same", grid1d(Math.ceilDiv(total, 4)), block(), operand(n.input(0)), operand(n.input(1)),
                            At.of(value(out)), total, b.kind().ordinal());
                } else {
                    launch("binary", grid1d(total), block(), operand(n.input(0)), operand(n.input(1)), At.of(value(out)),
                            total, pad(os, 1), pad(CudaBackend.broadcastStrides(sa, os), 0),
                            pad(CudaBackend.broadcastStrides(sb, os), 0), b.kind().ordinal());
                }
            }
            case Op.MaxPool p -> {
                int[] xs = shapes.get(n.input(0));
                PoolSpec s = p.spec();
                int[] k = s.kernel(), st = s.strides(), pd = s.pads(), d = s.dilations();
                launch("maxpool2d", grid1d(size(os)), block(), operand(n.input(0)), At.of(value(out)), xs[0] * xs[1],
                        xs[2], xs[3], os[2], os[3], k[0], k[1], st[0], st[1], pd[0], pd[1], d[0], d[1]);
            }
            case Op.AveragePool p -> {
                int[] xs = shapes.get(n.input(0));
                PoolSpec s = p.spec();
                int[] k = s.kernel(), st = s.strides(), pd = s.pads();
                launch("avgpool2d", grid1d(size(os)), block(), operand(n.input(0)), At.of(value(out)), xs[0] * xs[1],
                        xs[2], xs[3], os[2], os[3], k[0], k[1], st[0], st[1], pd[0], pd[1], pd[2], pd[3],
                        s.countIncludePad() ? 1 : 0);
            }
            case Op.GlobalAveragePool g -> {
                int[] xs = shapes.get(n.input(0));
                int nc = Math.multiplyExact(xs[0], xs[1]);
                launch("global_avg_pool", new int[] {Math.min(nc, MAX_BLOCKS), 1, 1}, block(), operand(n.input(0)),
                        At.of(value(out)), nc, size(xs) / nc);
            }
            case Op.ReduceMean r -> {
                // Over H and W of (N, C, H, W) only (CudaForward.unsupported checks): the global average pool, whose
                // output layout is the same with or without the kept unit dimensions.
                int[] xs = shapes.get(n.input(0));
                int nc = Math.multiplyExact(xs[0], xs[1]);
                launch("global_avg_pool", new int[] {Math.min(nc, MAX_BLOCKS), 1, 1}, block(), operand(n.input(0)),
                        At.of(value(out)), nc, size(xs) / nc);
            }
            case Op.Gemm gm -> {
                int[] as = shapeOf(n.input(0)), bs = shapeOf(n.input(1));
                int m = gm.transA() ? as[1] : as[0], k = gm.transA() ? as[0] : as[1];
                int nn = gm.transB() ? bs[0] : bs[1];
                Object c = n.inputs().size() > 2 && !n.input(2).isEmpty() ? operand(n.input(2)) : null;
                int[] cs = c == null ? new int[] {0, 0} : CudaBackend.broadcastStrides(shapeOf(n.input(2)), new int[] {m, nn});
                gemm(operand(n.input(0)), operand(n.input(1)), c, At.of(value(out)), m, nn, k, gm.transA() ? 1 : k,
                        gm.transA() ? m : 1, gm.transB() ? 1 : nn, gm.transB() ? k : 1, cs[0], cs[1], gm.alpha(), gm.beta());
            }
            case Op.MatMul mm -> {
                // Rank 2 only (CudaForward.unsupported checks): (M, K)·(K, N), row-major, no bias.
                int[] as = shapeOf(n.input(0)), bs = shapeOf(n.input(1));
                int m = as[0], k = as[1], nn = bs[1];
                gemm(operand(n.input(0)), operand(n.input(1)), null, At.of(value(out)), m, nn, k, k, 1, nn, 1, 0, 0, 1f, 0f);
            }
            case Op.Concat c -> {
                int[] outStrides = Shapes.strides(os);
                int offset = 0;
                for (String in : n.inputs()) {
                    int[] is = shapeOf(in);
                    int cnt = size(is);
                    launch("strided_copy", grid1d(cnt), block(), operand(in), At.of(value(out)), cnt, pad(is, 1),
                            pad(Shapes.strides(is), 0), pad(outStrides, 0), 0, Math.multiplyExact(offset, outStrides[c.axis()]));
                    offset += is[c.axis()];
                }
            }
            default -> throw new IllegalStateException("unreachable: " + n.op().onnxType() + " passed unsupported()");
        }
    }

    /** A reshaping op: an alias of its input, or (privateViews, input read elsewhere too) a copy of it. */
    private void view(String out, String in) {
        if (!privateViews || readers.getOrDefault(in, 0) <= 1) {
            alias(out, in);
            return;
        }
        int cnt = size(shapeOf(in));
        int[] flat = {cnt};
        launch("strided_copy", grid1d(cnt), block(), operand(in), At.of(value(out)), cnt, pad(flat, 1), pad(new int[] {1}, 0),
                pad(new int[] {1}, 0), 0, 0);
    }

    private void conv(Node n, ConvSpec s) {
        int[] xs = shapes.get(n.input(0)), os = shapes.get(n.output());
        Tensor w = graph.param(n.input(1));
        if (w == null) throw ZeroqException.badInput("Conv node '" + n.name() + "': weights must be an initializer");
        int nb = xs[0], cin = xs[1], h = xs[2], wd = xs[3];
        int cout = w.dim(0), cinG = w.dim(1), kh = w.dim(2), kw = w.dim(3), g = s.group();
        int oh = os[2], ow = os[3];
        int[] st = s.strides(), p = s.pads(), d = s.dilations();
        At bias = n.inputs().size() > 2 && !n.input(2).isEmpty() ? operand(n.input(2)) : null;
        Region out = value(n.output());
        int coutG = cout / g, k = cinG * kh * kw;
        long pixels = (long) nb * oh * ow;
        IgemmLayout.Kernel kn = convKernel(coutG, k, pixels, g);
        if (kn != IgemmLayout.Kernel.DIRECT) {
            // (Cout, K) → (group, K, Cout/group), the same for every implicit-GEMM kernel.
            Region wt = paramDerived(n.input(1), IgemmLayout.forwardWeightsReorder(g, coutG, k));
            int[] tab = IgemmLayout.forwardTable(cinG, kh, kw, h, wd, d);
            launch(kn.forward, IgemmLayout.forwardGrid(kn, pixels, coutG, g), block(), operand(n.input(0)), At.of(wt),
                    At.of(uploadInts(tab)), bias, At.of(out), nb, cin, h, wd, cout, oh, ow, g, k, st[0], st[1], p[0], p[1]);
        } else {
            checkGrid(cout, nb, n);
            launch("conv2d_forward", new int[] {Math.ceilDiv(oh * ow, 256), cout, nb}, block(), operand(n.input(0)),
                    At.of(param(n.input(1))), bias, At.of(out), cin, h, wd, cout, oh, ow, kh, kw, st[0], st[1], p[0], p[1],
                    d[0], d[1], g);
        }
        attachCudnn(n, s, true, operand(n.input(0)), xs, bias, At.of(out), false);
    }

    /**
     * When {@link #cudnnAlternatives} is on and cuDNN can run {@code n}'s convolution, gives the launch just planned
     * (its zeroq kernel) the same convolution as a {@link ConvCall}; the owner then picks one of the two.
     */
    void attachCudnn(Node n, ConvSpec s, boolean forward, At x, int[] xs, At bias, At y, boolean accumulate) {
        if (!cudnnAlternatives || CudnnConv.unsupported(s) != null) return;
        Pending last = pending.removeLast();
        Tensor w = graph.param(n.input(1));
        pending.add(new Pending(last.into(), last.kernel(), last.grid(), last.block(), last.args(),
                new ConvCall(forward, x, xs, At.of(param(n.input(1))), w.shape(), bias, s, y, accumulate)));
    }

    /** The kernel family for a GEMM of m rows and reduction k over {@code slices} slices of {@code pixels} pixels. */
    IgemmLayout.Kernel convKernel(int m, int k, long pixels, int slices) {
        return IgemmLayout.choose(conv, tf32, m, k, pixels, slices);
    }

    void gemm(Object a, Object b, Object c, Object out, int m, int n, int k, int sAi, int sAk, int sBk, int sBj,
              int sCi, int sCj, float alpha, float beta) {
        if (Math.ceilDiv(m, 16) > MAX_BLOCKS) throw new IllegalArgumentException("gemm: M = " + m + " exceeds the grid's y limit");
        launch("gemm", new int[] {Math.ceilDiv(n, 16), Math.ceilDiv(m, 16), 1}, new int[] {16, 16, 1}, a, b, c, out, m, n, k,
                sAi, sAk, sBk, sBj, sCi, sCj, alpha, beta);
    }

    // ---- values and parameters ----

    String root(String name) {
        String r = name;
        while (alias.containsKey(r)) r = alias.get(r);
        return r;
    }

    private void alias(String out, String in) {
        if (!isValue(in)) throw ZeroqException.badInput("'" + out + "' reshapes a parameter; not supported on CUDA");
        alias.put(out, in);
    }

    boolean isValue(String name) {
        return !name.isEmpty() && !graph.isParam(name);
    }

    Region value(String name) {
        return values.computeIfAbsent(root(name), r -> floats(size(shapes.get(r))));
    }

    /** Whether a launch planned so far produces value {@code name} (or the value it is a view of). */
    boolean produced(String name) {
        return values.containsKey(root(name));
    }

    /** The region of a value planned earlier (after planning: a new value would have no place in the pool). */
    Region planned(String name) {
        Region r = values.get(root(name));
        if (r == null) throw new IllegalStateException("value '" + name + "' was not planned");
        return r;
    }

    /**
     * A forward operand: a value planned earlier (its producer's launch comes before the reader's; a value no launch
     * writes, say one fused away, is a planning error here rather than an unwritten region on the device) or an
     * uploaded parameter.
     */
    At operand(String name) {
        return At.of(graph.isParam(name) ? param(name) : planned(name));
    }

    /** A parameter as stored in the graph, uploaded once however many launches read it. */
    Region param(String name) {
        return params.computeIfAbsent(name, k -> {
            Region r = uploadFloats(graph.param(k).data());
            paramUses.computeIfAbsent(k, x -> new ArrayList<>()).add(new ParamUse(r, null));
            return r;
        });
    }

    /** A parameter in another layout (e.g. a transposed conv weight), remembered so that replacing it reorders again. */
    Region paramDerived(String name, Reorder reorder) {
        Tensor w = graph.param(name);
        Region r = uploadFloatsLater(w.size(), () -> reorder.apply(w.data()));
        paramUses.computeIfAbsent(name, x -> new ArrayList<>()).add(new ParamUse(r, reorder));
        return r;
    }

    /** Each place the plan keeps parameter {@code name}, in planning order (none when no launch reads it). */
    List<ParamUse> paramUses(String name) {
        return paramUses.getOrDefault(name, List.of());
    }

    /**
     * Floats of the largest parameter that the plan keeps only reordered (no launch reads it as stored): the scratch a
     * replacement of it is uploaded into before the device reorders it (0 when there is none).
     */
    int reorderedOnlyFloats() {
        int most = 0;
        for (Map.Entry<String, List<ParamUse>> e : paramUses.entrySet()) {
            if (e.getValue().stream().allMatch(u -> u.reorder() != null)) {
                most = Math.max(most, graph.param(e.getKey()).data().length);
            }
        }
        return most;
    }

    int[] shapeOf(String name) {
        int[] s = shapes.get(name);
        if (s == null) throw new IllegalStateException("no shape for '" + name + "'");
        return s;
    }

    Region region(long bytes) {
        Region r = new Region(bytes);
        regions.add(r);
        return r;
    }

    Region floats(long count) {
        return region(Math.multiplyExact(count, Float.BYTES));
    }

    Region uploadFloats(float[] data) {
        Region r = floats(data.length);
        r.floats = data;
        return r;
    }

    /**
     * A region of {@code count} floats whose data {@code data} computes when the pool is filled, alongside the other
     * such regions: the weight reorderings are most of the planning, and a dry plan needs none of them.
     */
    Region uploadFloatsLater(long count, java.util.function.Supplier<float[]> data) {
        Region r = floats(count);
        r.later = data;
        return r;
    }

    /** Computes every region's deferred data ({@link #uploadFloatsLater}), in parallel. */
    private void materialize() {
        regions.parallelStream().filter(r -> r.later != null).forEach(r -> {
            float[] d = r.later.get();
            if ((long) d.length * Float.BYTES != r.bytes) {
                throw new IllegalStateException("deferred data of " + d.length + " floats for a region of " + r.bytes
                        + " bytes");
            }
            r.floats = d;
            r.later = null;
        });
    }

    Region uploadInts(int[] data) {
        Region r = region(Math.multiplyExact((long) data.length, Integer.BYTES));
        r.ints = data;
        return r;
    }

    void launch(String kernel, int[] grid, int[] block, Object... args) {
        pending.add(new Pending(null, kernel, grid, block, args));
    }

    // ---- the pool ----

    /** Bytes the pool will take: every region rounded up to {@link #ALIGN}. */
    long layout() {
        long total = 0;
        for (Region r : regions) {
            r.offset = total;
            total = Math.addExact(total, Math.multiplyExact(Math.ceilDiv(Math.max(r.bytes, 1), ALIGN), ALIGN));
        }
        return total;
    }

    /** Lays out and allocates the one pool (in the current context) and uploads every region's initial data. */
    DeviceBuffer allocate(CudaContext context) {
        return allocate(context, null, () -> {});
    }

    /**
     * As {@link #allocate(CudaContext)}; {@code whenAllocated} runs as soon as the pool exists, before the deferred data
     * is computed and everything uploaded: work that can go on beside that and must not compete with the pool for
     * memory (cuDNN's algorithm search, ConvChoice.searchAhead). With {@code stream}, the uploads are enqueued on it
     * and only it is waited for: cuDNN may capture a CUDA graph on its own stream meanwhile, and a context
     * synchronize then fails (CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, GPU run 17). A failure after the allocation frees
     * the pool.
     */
    DeviceBuffer allocate(CudaContext context, CudaStream stream, Runnable whenAllocated) {
        long total = layout();
        context.makeCurrent();
        // The whole pass lives in this one pool: check it against free memory first, so that a batch too large
        // fails with what to do instead of a bare CUDA_ERROR_OUT_OF_MEMORY.
        int[] in = shapes.get(graph.inputName());
        DeviceMemory.requireFree(context, Math.max(total, ALIGN), "the device-resident pass of '" + graph.name()
                + "' for a batch of " + (in == null || in.length == 0 ? "?" : in[0]) + " image(s)");
        DeviceBuffer allocated = DeviceBuffer.allocate(Math.max(total, ALIGN));
        try {
            whenAllocated.run();
            materialize();
            base = allocated.address();
            if (stream == null) {
                for (Region r : regions) {
                    if (r.floats != null) DeviceBuffer.uploadFloats(address(r), r.floats);
                    if (r.ints != null) DeviceBuffer.uploadInts(address(r), r.ints);
                }
                context.synchronize(); // synchronous uploads may still be in flight to the device: finish before any kernel
            } else {
                try (Arena staging = Arena.ofConfined()) {
                    try {
                        for (Region r : regions) {
                            if (r.floats != null) DeviceBuffer.uploadFloats(staging, address(r), r.floats, stream);
                            if (r.ints != null) DeviceBuffer.uploadInts(staging, address(r), r.ints, stream);
                        }
                    } finally {
                        stream.synchronize(); // before the staging memory goes (a copy may be queued), and any kernel
                    }
                }
            }
            for (Region r : regions) {
                r.floats = null; // the graph (or a temporary) holds these; the plan need not keep them alive
                r.ints = null;
            }
        } catch (RuntimeException | Error e) {
            allocated.close();
            throw e;
        }
        pool = allocated;
        return pool;
    }

    /** Runs one planned kernel launch on host memory: a CPU emulation of the kernels, for tests without a GPU. */
    interface HostLauncher {
        /** {@code args} as the device launch would take them, with addresses resolved to host addresses. */
        void launch(String kernel, int[] grid, int[] block, Object[] args);
    }

    /**
     * Lays the pool out in host memory from {@code arena} instead, with every region's initial data, for running the
     * planned launches through a CPU emulation of the kernels (tests without a GPU); {@link #address} then gives host
     * addresses. The regions keep their data.
     */
    void allocateHost(Arena arena) {
        host = arena.allocate(Math.max(layout(), ALIGN), ALIGN);
        base = host.address();
        materialize();
        for (Region r : regions) {
            if (r.floats != null) MemorySegment.copy(r.floats, 0, host, ValueLayout.JAVA_FLOAT, r.offset, r.floats.length);
            if (r.ints != null) MemorySegment.copy(r.ints, 0, host, ValueLayout.JAVA_INT, r.offset, r.ints.length);
        }
    }

    /** Region {@code r} of the host pool ({@link #allocateHost}). */
    MemorySegment hostRegion(Region r) {
        if (host == null) throw new IllegalStateException("no host pool: allocateHost first");
        return host.asSlice(r.offset, r.bytes);
    }

    long address(Region r) {
        return base + r.offset;
    }

    long address(At at) {
        return address(at.region()) + at.byteOffset();
    }

    /** Marshals a launch with its symbolic addresses resolved; {@code arena} must outlive the result. */
    CudaModule.Prepared prepare(CudaModule module, Arena arena, Pending p) {
        return module.prepare(arena, p.kernel(), p.grid(), p.block(), 0, resolved(p));
    }

    /** A launch's arguments with every symbolic address ({@link At}) resolved to an address in the pool. */
    Object[] resolved(Pending p) {
        Object[] args = p.args().clone();
        for (int i = 0; i < args.length; i++) {
            if (args[i] instanceof At at) args[i] = address(at);
        }
        return args;
    }

    // ---- launch shapes ----

    /** {a, b, op code} of activation.cu / activation_backward.cu. */
    static float[] activationArgs(Activation f) {
        return switch (f) {
            case Activation.Relu r -> new float[] {0, 0, 0};
            case Activation.Clip c -> new float[] {c.min(), c.max(), 1};
            case Activation.LeakyRelu l -> new float[] {l.alpha(), 0, 2};
            case Activation.Sigmoid s -> new float[] {0, 0, 3};
            case Activation.HardSigmoid h -> new float[] {h.alpha(), h.beta(), 4};
            case Activation.HardSwish h -> new float[] {0, 0, 5};
        };
    }

    static void checkGrid(int cout, int n, Node node) {
        if (cout > MAX_BLOCKS) {
            throw ZeroqException.badInput("Conv node '" + node.name() + "': Cout " + cout
                    + " must be <= 65535 for the direct kernel");
        }
        if (n > MAX_BLOCKS) throw new BatchBeyondKernels("Conv node '" + node.name() + "' runs on the direct kernel, "
                + "which takes at most 65535 images");
    }

    /**
     * A batch beyond what a kernel's launch can address (a grid dimension): like a 32-bit element count that
     * overflows, a property of the batch, not of the model, so callers refuse it as a batch too large
     * (CudaForward) and extrapolate its memory (CudaForward.plannedPoolBytes).
     */
    static final class BatchBeyondKernels extends ArithmeticException {
        BatchBeyondKernels(String message) {
            super(message);
        }
    }

    /** Why a plan for a batch failed with {@code e}, for a "too large for the CUDA kernels" message. */
    static String tooLarge(ArithmeticException e) {
        return e instanceof BatchBeyondKernels ? e.getMessage() : "a tensor of more than 2^31 - 1 elements";
    }

    static int gridX(long blocks) {
        if (blocks > Integer.MAX_VALUE) throw new IllegalArgumentException("grid of " + blocks + " blocks is too large");
        return (int) Math.max(blocks, 1);
    }

    static int[] grid1d(long n) {
        return new int[] {(int) Math.clamp(Math.ceilDiv(n, THREADS), 1, MAX_BLOCKS), 1, 1};
    }

    static int[] block() {
        return new int[] {THREADS, 1, 1};
    }

    static int size(int[] shape) {
        return Math.toIntExact(Shapes.size(shape));
    }

    /** Right-aligns {@code v} into 6 entries, the leading ones {@code fill} (the kernels' Shape6). */
    static int[] pad(int[] v, int fill) {
        if (v.length > 6) throw new IllegalArgumentException("rank " + v.length + " exceeds the CUDA kernels' 6");
        int[] out = new int[6];
        Arrays.fill(out, 0, 6 - v.length, fill);
        System.arraycopy(v, 0, out, 6 - v.length, v.length);
        return out;
    }
}
