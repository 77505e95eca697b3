package dev.zeroq.backend.cpu;

/*
 * The pure-Java fast path: the hot ops of RefBackend rewritten with the Vector API and a thread pool
 * (conv, gemm/matmul, batch norm, activations, common binary broadcasts, pooling). Data-movement ops
 * (concat, transpose, slice, reduceMean) are rare and cheap in CNNs and stay inherited from the oracle.
 */

import dev.zeroq.backend.Activation;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.GemmShape;
import dev.zeroq.backend.PoolSpec;
import dev.zeroq.backend.ref.RefBackend;
import dev.zeroq.tensor.Shapes;
import dev.zeroq.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.util.Arrays;

import static dev.zeroq.backend.cpu.Sgemm.S;
import static dev.zeroq.backend.cpu.Sgemm.V;

/**
 * NCHW float32 backend on all cores. Results match {@code ref} up to float32 summation order
 * (see BackendParityTest for the tolerance). Thread-safe: ops may be called from several threads at once.
 */
public final class CpuBackend extends RefBackend {
    private final Parallel par;

    /** One worker per available processor. */
    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    /** @param threads worker threads (1 runs every op on the caller's thread) */
    public CpuBackend(int threads) {
        this.par = new Parallel(threads);
    }

    @Override
    public String name() {
        return "cpu";
    }

    public int threads() {
        return par.threads();
    }

    /** The pool this backend's ops run on (shared with {@link FusedConv}). */
    Parallel parallel() {
        return par;
    }

    @Override
    public String toString() {
        return "cpu[threads=" + par.threads() + ", lanes=" + V + "]";
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, ConvSpec spec) {
        return ConvLowering.conv2d(par, x, w, bias, spec);
    }

    @Override
    public Tensor gemm(Tensor a, Tensor b, Tensor c, float alpha, float beta, boolean transA, boolean transB) {
        GemmShape shape = GemmShape.of(a, b, transA, transB);
        int m = shape.m(), k = shape.k(), n = shape.n();
        float[] o = new float[Math.multiplyExact(m, n)];
        float effBeta = 0f;
        if (c != null) {
            // C is broadcast (scalar, (N), (M,1), (M,N)...) into the output, then accumulated onto (beta 1).
            int[] cs = matrixStrides(c.shape(), m, n);
            float[] cd = c.data();
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    o[i * n + j] = beta * cd[i * cs[0] + j * cs[1]];
                }
            }
            effBeta = 1f;
        }
        Sgemm.gemm(par, m, n, k, alpha, a.data(), 0, a.dim(1), transA, b.data(), 0, b.dim(1), transB,
                effBeta, o, 0, n);
        return new Tensor(o, m, n);
    }

    /** Row and column strides of a C of rank ≤ 2 broadcast to (m, n); 0 along broadcast axes. */
    private static int[] matrixStrides(int[] cs, int m, int n) {
        if (cs.length > 2) {
            throw new IllegalArgumentException("gemm: C must have rank <= 2, got " + Arrays.toString(cs));
        }
        int rows = cs.length == 2 ? cs[0] : 1;
        int cols = cs.length >= 1 ? cs[cs.length - 1] : 1;
        if ((rows != 1 && rows != m) || (cols != 1 && cols != n)) {
            throw new IllegalArgumentException("gemm: C " + Arrays.toString(cs) + " does not broadcast to ("
                    + m + ", " + n + ")");
        }
        return new int[] {rows == 1 ? 0 : cols, cols == 1 ? 0 : 1};
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        dev.zeroq.backend.MatMulShape g = dev.zeroq.backend.MatMulShape.of(a.shape(), b.shape());
        int m = g.m(), k = g.k(), n = g.n(), batches = g.batches();
        int[] aIdx = g.aOffset(), bIdx = g.bOffset();
        Tensor out = Tensor.zeros(g.out());
        int mk = Math.multiplyExact(m, k), kn = Math.multiplyExact(k, n), mn = Math.multiplyExact(m, n);
        float[] ad = a.data(), bd = b.data(), o = out.data();
        if (batches >= par.threads()) {
            // Enough independent products: one serial GEMM per task, no nested splitting.
            par.forEach(batches, t -> Sgemm.gemm(m, n, k, 1f, ad, aIdx[t] * mk, k, false,
                    bd, bIdx[t] * kn, n, false, 0f, o, t * mn, n));
        } else {
            for (int t = 0; t < batches; t++) {
                Sgemm.gemm(par, m, n, k, 1f, ad, aIdx[t] * mk, k, false, bd, bIdx[t] * kn, n, false,
                        0f, o, t * mn, n);
            }
        }
        return out;
    }

    @Override
    public Tensor batchNorm(Tensor x, Tensor scale, Tensor bias, Tensor mean, Tensor var, float eps) {
        int n = x.dim(0), c = x.dim(1);
        int inner = x.size() / Math.max(1, n * c);
        // Per channel y = (x − mean)·mul + bias with mul = scale/sqrt(var + eps) folded in double: one FMA
        // per element and no cancellation beyond the reference's own (x − mean).
        float[] mul = new float[c];
        for (int ch = 0; ch < c; ch++) {
            mul[ch] = (float) (scale.data()[ch] / Math.sqrt((double) var.data()[ch] + eps));
        }
        float[] xd = x.data(), o = new float[xd.length], md = mean.data(), bd = bias.data();
        par.forChunks(n * c, par.chunksFor(xd.length), (lo, hi) -> {
            for (int plane = lo; plane < hi; plane++) {
                int ch = plane % c, off = plane * inner;
                FloatVector mv = FloatVector.broadcast(S, md[ch]);
                FloatVector sv = FloatVector.broadcast(S, mul[ch]);
                FloatVector bv = FloatVector.broadcast(S, bd[ch]);
                int i = 0;
                for (; i < S.loopBound(inner); i += V) {
                    FloatVector.fromArray(S, xd, off + i).sub(mv).fma(sv, bv).intoArray(o, off + i);
                }
                for (; i < inner; i++) {
                    o[off + i] = Math.fma(xd[off + i] - md[ch], mul[ch], bd[ch]);
                }
            }
        });
        return new Tensor(o, x.shape());
    }

    @Override
    public Tensor activation(Tensor x, Activation f) {
        float[] xd = x.data(), o = new float[xd.length];
        par.forElements(xd.length, (lo, hi) -> {
            int i = lo;
            int end = lo + S.loopBound(hi - lo);
            for (; i < end; i += V) {
                activate(f, FloatVector.fromArray(S, xd, i)).intoArray(o, i);
            }
            for (; i < hi; i++) {
                o[i] = f.apply(xd[i]);
            }
        });
        return new Tensor(o, x.shape());
    }

    /** Vector form of each activation; each formula is the scalar one lane-wise, in the same float order. */
    static FloatVector activate(Activation f, FloatVector v) {
        return switch (f) {
            // blend keeps the scalar semantics exactly: NaN and −0 map to +0 as in "x > 0 ? x : 0".
            case Activation.Relu r -> FloatVector.zero(S).blend(v, v.compare(VectorOperators.GT, 0f));
            case Activation.Clip c -> v.max(c.min()).min(c.max());
            case Activation.LeakyRelu l -> v.mul(l.alpha()).blend(v, v.compare(VectorOperators.GE, 0f));
            // EXP is a few-ulp approximation (SVML on x86); well inside the parity tolerance.
            case Activation.Sigmoid s -> FloatVector.broadcast(S, 1f)
                    .div(v.neg().lanewise(VectorOperators.EXP).add(1f));
            case Activation.HardSigmoid hs -> v.mul(hs.alpha()).add(hs.beta()).min(1f).max(0f);
            case Activation.HardSwish hw -> v.mul(v.div(6f).add(0.5f).min(1f).max(0f));
        };
    }

    @Override
    public Tensor binary(Tensor a, Tensor b, BinaryOp op) {
        int[] as = a.shape(), bs = b.shape();
        int[] shape = Shapes.broadcast(as, bs);
        float[] ad = a.data(), bd = b.data();
        if (Arrays.equals(as, bs)) {
            float[] o = new float[ad.length];
            par.forElements(o.length, (lo, hi) -> sameShape(op, ad, bd, o, lo, hi));
            return new Tensor(o, shape);
        }
        // One operand full-size, the other a scalar or per-channel (axis 1) constant: one scalar per plane.
        boolean aFull = Arrays.equals(as, shape), bFull = Arrays.equals(bs, shape);
        if (aFull || bFull) {
            int[] small = aFull ? bs : as;
            float[] full = aFull ? ad : bd, consts = aFull ? bd : ad;
            int inner;
            int channels;
            if (consts.length == 1) {
                channels = 1;
                inner = full.length;
            } else if (perChannel(small, shape)) {
                channels = shape[1];
                inner = Math.toIntExact(Shapes.size(Arrays.copyOfRange(shape, 2, shape.length)));
            } else {
                return super.binary(a, b, op);
            }
            float[] o = new float[full.length];
            int planes = inner == 0 ? 0 : full.length / inner;
            boolean constFirst = !aFull;
            if (planes < 4 * par.threads()) {
                // Few large planes (e.g. a scalar operand): split by elements instead.
                for (int pl = 0; pl < planes; pl++) {
                    int off = pl * inner;
                    float k = consts[pl % channels];
                    par.forElements(inner, (lo, hi) -> withConstant(op, full, k, constFirst, o, off + lo, off + hi));
                }
            } else {
                par.forChunks(planes, par.chunksFor(o.length), (lo, hi) -> {
                    for (int pl = lo; pl < hi; pl++) {
                        withConstant(op, full, consts[pl % channels], constFirst, o, pl * inner, (pl + 1) * inner);
                    }
                });
            }
            return new Tensor(o, shape);
        }
        return super.binary(a, b, op);
    }

    /** True when {@code small}, left-padded with 1s to the output rank ≥ 2, is (1, C, 1, …, 1). */
    private static boolean perChannel(int[] small, int[] shape) {
        int r = shape.length;
        if (r < 2 || small.length > r) {
            return false;
        }
        for (int i = 0; i < r; i++) {
            int d = i < r - small.length ? 1 : small[i - (r - small.length)];
            if (d != (i == 1 ? shape[1] : 1)) {
                return false;
            }
        }
        return true;
    }

    private static FloatVector apply(BinaryOp op, FloatVector x, FloatVector y) {
        return switch (op) {
            case ADD -> x.add(y);
            case SUB -> x.sub(y);
            case MUL -> x.mul(y);
            case DIV -> x.div(y);
        };
    }

    private static void sameShape(BinaryOp op, float[] a, float[] b, float[] o, int lo, int hi) {
        int i = lo;
        int end = lo + S.loopBound(hi - lo);
        for (; i < end; i += V) {
            apply(op, FloatVector.fromArray(S, a, i), FloatVector.fromArray(S, b, i)).intoArray(o, i);
        }
        for (; i < hi; i++) {
            o[i] = op.apply(a[i], b[i]);
        }
    }

    /** o[i] = full[i] op k, or k op full[i] when constFirst (order matters for SUB and DIV). */
    private static void withConstant(BinaryOp op, float[] full, float k, boolean constFirst, float[] o,
                                     int lo, int hi) {
        FloatVector kv = FloatVector.broadcast(S, k);
        int i = lo;
        int end = lo + S.loopBound(hi - lo);
        for (; i < end; i += V) {
            FloatVector v = FloatVector.fromArray(S, full, i);
            (constFirst ? apply(op, kv, v) : apply(op, v, kv)).intoArray(o, i);
        }
        for (; i < hi; i++) {
            o[i] = constFirst ? op.apply(k, full[i]) : op.apply(full[i], k);
        }
    }

    @Override
    public Tensor maxPool(Tensor x, PoolSpec spec) {
        return Pooling.pool(par, x, spec, true);
    }

    @Override
    public Tensor avgPool(Tensor x, PoolSpec spec) {
        return Pooling.pool(par, x, spec, false);
    }

    @Override
    public Tensor globalAvgPool(Tensor x) {
        int n = x.dim(0), c = x.dim(1);
        int hw = x.size() / Math.max(1, n * c);
        float[] xd = x.data(), o = new float[n * c];
        par.forChunks(n * c, par.chunksFor(xd.length), (lo, hi) -> {
            for (int plane = lo; plane < hi; plane++) {
                int off = plane * hw, i = 0;
                FloatVector acc = FloatVector.zero(S);
                for (; i < S.loopBound(hw); i += V) {
                    acc = acc.add(FloatVector.fromArray(S, xd, off + i));
                }
                // Lanes summed in a fixed order: reduceLanes(ADD) leaves the order open, and the interpreted
                // fallback and the JIT intrinsic differ, so the same input gave different last bits once the
                // method got compiled (SessionSoakTest saw -1.6394535 turn into -1.6394534).
                float sum = 0f;
                for (int l = 0; l < V; l++) {
                    sum += acc.lane(l);
                }
                for (; i < hw; i++) {
                    sum += xd[off + i];
                }
                o[plane] = sum / hw;
            }
        });
        return new Tensor(o, n, c, 1, 1);
    }

    /**
     * The transposed conv as a forward conv of the stride-spread gradient with flipped weights, so it runs on
     * the fast conv path (ref keeps the scatter loops as the oracle).
     */
    @Override
    public Tensor conv2dBackwardData(Tensor gradOut, Tensor w, ConvSpec spec, int[] inputShape) {
        return dev.zeroq.backend.Gradients.conv2dBackwardData(this, gradOut, w, spec, inputShape);
    }
}
