// The forward passes of the pipeline's calibration, sensitivity and simulation, behind one small interface: the
// Executor on any backend, or the device-resident CudaForward when the backend is CUDA and supports the graph.
// open() is the one place that chooses; both give the same values up to float summation order.
package dev.zeroq.pipeline;

import dev.zeroq.backend.Backend;
import dev.zeroq.backend.cuda.CudaBackend;
import dev.zeroq.backend.cuda.CudaForward;
import dev.zeroq.graph.Executor;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Transforms;
import dev.zeroq.quant.AffineQuantizer;
import dev.zeroq.quant.Clipping;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.quant.QuantPlan.Scheme;
import dev.zeroq.quant.Sensitivity;
import dev.zeroq.quant.SymmetricQuantizer;
import dev.zeroq.tensor.Tensor;

import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Forward passes of one graph, with weights that can be swapped and activations fake-quantized as produced. */
interface ForwardRunner extends AutoCloseable {

    /** A quantization site's value as it is produced: its range, or all of it. */
    interface Values {
        /** {min, max}; throws on non-finite values, as {@link Clipping#minMax}. */
        float[] minMax();

        /** {@link Clipping#percentile} of the values (exact or by histogram, as Clipping chooses by their number). */
        Clipping.Range percentile(double percentile, boolean symmetric);

        float[] data();
    }

    /** Given a site's name and value, the activation entry to fake-quantize it with, or null to leave it. */
    @FunctionalInterface
    interface SiteHook {
        QuantPlan.Activation at(String value, Values v);
    }

    /** Where the passes run, for the progress log (with the reason when CUDA was not used). */
    String description();

    /** The graph's output for a batch. */
    Tensor run(Tensor input);

    /**
     * A forward pass in which each value of {@code sites}, as soon as it is produced, goes to {@code hook}, and is
     * replaced by its fake-quantized self (under {@code scheme}) when the hook returns an entry.
     */
    Tensor run(Tensor input, Scheme scheme, Set<String> sites, SiteHook hook);

    /**
     * {@link Sensitivity#klDivergence}(reference, run(input)) over the images of {@code input}: the sensitivity
     * measure of one pass, with {@code reference} the logits of the unchanged model for the same images. Runners that
     * keep the reference on the device take the same tensor again without uploading it again.
     */
    double klDivergence(Tensor reference, Tensor input);

    /**
     * {@link #run(Tensor)}, after which {@link #klDivergenceAgain} can repeat the pass over the same images running
     * only what a parameter change reaches.
     */
    Tensor reference(Tensor input);

    /**
     * {@link #klDivergence}(reference, the images of the last {@link #reference} call), with the parameters as they
     * are now, and the same value: the nodes before the first one that reads a parameter changed since that pass are
     * not run again (their values are kept from it). Replacing the parameters of later layers first keeps the repeats
     * short on every runner.
     *
     * @throws IllegalStateException before any {@link #reference} call
     */
    double klDivergenceAgain(Tensor reference);

    /** Uses {@code value} instead of parameter {@code name} until {@link #restoreParam}. */
    void replaceParam(String name, Tensor value);

    void restoreParam(String name);

    @Override
    void close();

    /**
     * The runner for {@code graph} on {@code backend}, for batches of up to {@code maxBatch} images in one pass
     * (larger plain batches run in chunks): CudaForward on a CUDA backend that supports the graph, else the Executor.
     */
    static ForwardRunner open(Graph graph, Backend backend, int maxBatch) {
        if (backend instanceof CudaBackend cuda) {
            List<String> unsupported = CudaForward.unsupported(graph);
            if (unsupported.isEmpty()) {
                return new OnCuda(new CudaForward(graph, maxBatch, cuda.ordinal(), cuda.tf32(), cuda.cudnnUse()),
                        cuda.name());
            }
            return new OnExecutor(graph, backend, "the device-resident forward pass lacks " + unsupported);
        }
        return new OnExecutor(graph, backend, null);
    }

    /** Min/max of host values, exactly as {@link FakeQuant#activationRange} takes them. */
    private static float[] hostMinMax(float[] v) {
        Clipping.Range r = Clipping.minMax(v, 0, v.length, false);
        return new float[] {r.min(), r.max()};
    }

    /** The Executor on any backend; replaced parameters make a new graph view per change. */
    final class OnExecutor implements ForwardRunner {
        private final Graph graph;
        private final Backend backend;
        private final String fallbackReason;
        private final Map<String, Tensor> replaced = new HashMap<>();
        private Executor executor;
        private Map<String, Tensor> kept; // the values of the last reference pass that a repeat may read
        private Map<String, Tensor> keptParams; // the replaced parameters of that pass
        private boolean keptAll; // false: only the input was kept (the values were too large), repeats start at node 0
        private final long keepBudget;

        OnExecutor(Graph graph, Backend backend, String fallbackReason) {
            this(graph, backend, fallbackReason, Runtime.getRuntime().maxMemory() / 4);
        }

        /** With {@code keepBudget}: the most bytes of values {@link #reference} keeps for repeats (tests set it). */
        OnExecutor(Graph graph, Backend backend, String fallbackReason, long keepBudget) {
            this.graph = graph;
            this.backend = backend;
            this.fallbackReason = fallbackReason;
            this.keepBudget = keepBudget;
        }

        @Override
        public String description() {
            return backend.name() + " (op by op" + (fallbackReason == null ? ")" : ": " + fallbackReason + ")");
        }

        private Executor executor() {
            if (executor == null) {
                executor = new Executor(replaced.isEmpty() ? graph : Transforms.withParams(graph, replaced), backend);
            }
            return executor;
        }

        @Override
        public Tensor run(Tensor input) {
            return executor().run(input);
        }

        @Override
        public Tensor run(Tensor input, Scheme scheme, Set<String> sites, SiteHook hook) {
            Tensor x = input;
            if (sites.contains(graph.inputName())) {
                x = site(graph.inputName(), x, scheme, hook);
            }
            return executor().run(x, (node, i, value) -> {
                String name = node.outputs().get(i);
                return sites.contains(name) ? site(name, value, scheme, hook) : value;
            });
        }

        private static Tensor site(String name, Tensor value, Scheme scheme, SiteHook hook) {
            QuantPlan.Activation a = hook.at(name, new Values() {
                @Override
                public float[] minMax() {
                    return hostMinMax(value.data());
                }

                @Override
                public Clipping.Range percentile(double percentile, boolean symmetric) {
                    return Clipping.percentile(value.data(), 0, value.size(), percentile, symmetric);
                }

                @Override
                public float[] data() {
                    return value.data();
                }
            });
            return a == null ? value : FakeQuant.apply(scheme, a, value);
        }

        @Override
        public double klDivergence(Tensor reference, Tensor input) {
            return Sensitivity.klDivergence(reference.data(), run(input).data(), reference.size() / reference.dim(0));
        }

        /**
         * Keeps the values a repeat can start from: those read at or after a node that reads a parameter (the only
         * places a repeat starts), and the output; unless they would take more than the keep budget (a quarter of the
         * heap's limit), in which case only the input is kept and every repeat is a whole pass.
         */
        @Override
        public Tensor reference(Tensor input) {
            Executor e = executor();
            Set<String> keep = new HashSet<>(e.readFrom(graph.nodes().size()));
            for (int i : new TreeSet<>(graph.firstReaders().values())) keep.addAll(e.readFrom(i));
            Map<String, Tensor> values = new HashMap<>();
            Set<float[]> arrays = Collections.newSetFromMap(new IdentityHashMap<>());
            long budget = keepBudget;
            long[] bytes = {0};
            Tensor out = e.run(input, (node, i, value) -> {
                String name = node.outputs().get(i);
                if (bytes[0] <= budget && keep.contains(name)) {
                    values.put(name, value);
                    if (arrays.add(value.data())) bytes[0] += (long) value.data().length * Float.BYTES;
                    if (bytes[0] > budget) values.clear(); // too large to keep: repeats run whole passes
                }
                return value;
            });
            keptAll = bytes[0] <= budget;
            values.put(graph.inputName(), input); // runFrom takes the batch size from it, and nodes may read it
            kept = values;
            keptParams = Map.copyOf(replaced);
            return out;
        }

        @Override
        public double klDivergenceAgain(Tensor reference) {
            if (kept == null) throw new IllegalStateException("no reference pass to repeat: call reference(images) first");
            int first = keptAll ? graph.nodes().size() : 0;
            Set<String> changed = new HashSet<>(replaced.keySet());
            changed.addAll(keptParams.keySet());
            for (String p : changed) {
                if (replaced.get(p) != keptParams.get(p)) first = Math.min(first, graph.firstReaders().getOrDefault(p, first));
            }
            Tensor out = executor().runFrom(first, kept);
            return Sensitivity.klDivergence(reference.data(), out.data(), reference.size() / reference.dim(0));
        }

        @Override
        public void replaceParam(String name, Tensor value) {
            replaced.put(name, value);
            executor = null;
        }

        @Override
        public void restoreParam(String name) {
            replaced.remove(name);
            executor = null;
        }

        @Override
        public void close() {}
    }

    /** The device-resident {@link CudaForward}: only the images go up and only the logits (and ranges) come back. */
    final class OnCuda implements ForwardRunner {
        private final CudaForward forward;
        private final String device;
        private Tensor reference; // the logits last given to forward.setReference (compared by identity)
        private Tensor kept; // the images of the last reference pass
        private boolean holdsKept; // whether the device's values are still a pass over them (no other pass since)

        OnCuda(CudaForward forward, String device) {
            this.forward = forward;
            this.device = device;
        }

        @Override
        public String description() {
            return device + " (device-resident; " + forward.convSummary() + ")";
        }

        @Override
        public Tensor run(Tensor input) {
            holdsKept = false;
            return chunked(input, forward::run);
        }

        @Override
        public Tensor reference(Tensor input) {
            Tensor out = run(input);
            kept = input;
            holdsKept = input.dim(0) <= forward.maxBatch(); // a chunked pass leaves only its last chunk
            return out;
        }

        /** CudaForward.klDivergenceAgain while the device still holds the reference pass; else a whole pass. */
        @Override
        public double klDivergenceAgain(Tensor reference) {
            if (kept == null) throw new IllegalStateException("no reference pass to repeat: call reference(images) first");
            if (!holdsKept) {
                double kl = klDivergence(reference, kept);
                holdsKept = kept.dim(0) <= forward.maxBatch();
                return kl;
            }
            useReference(reference);
            return forward.klDivergenceAgain();
        }

        /**
         * Batches beyond the planned size run in chunks; only the simulation asks for that, whose hooks do not
         * depend on the values (calibration plans for its whole batch, so its ranges see every image at once).
         */
        @Override
        public Tensor run(Tensor input, Scheme scheme, Set<String> sites, SiteHook hook) {
            CudaForward.SiteHandler handler = v -> {
                QuantPlan.Activation a = hook.at(v.name(), new Values() {
                    @Override
                    public float[] minMax() {
                        return v.minMax();
                    }

                    @Override
                    public Clipping.Range percentile(double percentile, boolean symmetric) {
                        // Clipping's own split: up to the limit the exact answer needs every value (a download);
                        // above it the histogram runs on the device and the same range comes back in 16 KiB.
                        if (v.size() > Clipping.EXACT_PERCENTILE_LIMIT) {
                            return v.percentileRange(percentile, symmetric);
                        }
                        float[] all = v.download().data();
                        return Clipping.percentile(all, 0, all.length, percentile, symmetric);
                    }

                    @Override
                    public float[] data() {
                        return v.download().data();
                    }
                });
                return a == null ? null : spec(scheme, a);
            };
            holdsKept = false;
            return chunked(input, x -> forward.run(x, handler, sites));
        }

        /** The quantizer FakeQuant.apply uses for an entry, for the device kernels that reproduce it. */
        private static CudaForward.FakeQuantSpec spec(Scheme scheme, QuantPlan.Activation a) {
            return scheme == Scheme.DEPLOY
                    ? new CudaForward.FakeQuantSpec.Deploy(
                            new SymmetricQuantizer.ActivationParams(a.scale(), a.zeroPoint(), a.bits(), false))
                    : new CudaForward.FakeQuantSpec.Affine(AffineQuantizer.params(a.min(), a.max(), a.bits()));
        }

        private Tensor chunked(Tensor input, java.util.function.UnaryOperator<Tensor> pass) {
            int n = input.dim(0), max = forward.maxBatch();
            if (n <= max) {
                return pass.apply(input);
            }
            int per = input.size() / n;
            float[] out = null;
            int[] shape = null;
            int outPer = 0;
            for (int start = 0; start < n; start += max) {
                int b = Math.min(max, n - start);
                int[] s = input.shape();
                s[0] = b;
                Tensor y = pass.apply(new Tensor(Arrays.copyOfRange(input.data(), start * per, (start + b) * per), s));
                if (out == null) {
                    outPer = y.size() / b;
                    shape = y.shape();
                    shape[0] = n;
                    out = new float[Math.multiplyExact(outPer, n)];
                }
                System.arraycopy(y.data(), 0, out, start * outPer, b * outPer);
            }
            return new Tensor(out, shape);
        }

        /**
         * On the device when the batch fits one pass: the reference is uploaded once (the sensitivity passes give the
         * same tensor every time) and each pass returns its mean KL instead of the logits.
         */
        @Override
        public double klDivergence(Tensor reference, Tensor input) {
            if (input.dim(0) > forward.maxBatch()) {
                return Sensitivity.klDivergence(reference.data(), run(input).data(), reference.size() / reference.dim(0));
            }
            useReference(reference);
            holdsKept = false;
            double kl = forward.klDivergence(input);
            holdsKept = input == kept; // a plain pass over the kept images is what a repeat starts from
            return kl;
        }

        private void useReference(Tensor reference) {
            if (reference != this.reference) {
                forward.setReference(reference);
                this.reference = reference;
            }
        }

        @Override
        public void replaceParam(String name, Tensor value) {
            forward.replaceParam(name, value);
        }

        @Override
        public void restoreParam(String name) {
            forward.restoreParam(name);
        }

        @Override
        public void close() {
            forward.close();
        }
    }
}
