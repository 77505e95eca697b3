// The sensitivity table with the KL reduced on the device (ForwardRunner.OnCuda: reference logits uploaded once, 16
// bytes back per pass) against Sensitivity.klDivergence on the logits of the very same device passes, and against the
// Executor path on the CPU backend, on the bundled resnet_fmnist; and percentile calibration through the runner.
package dev.zeroq.pipeline;

import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.backend.cuda.CudaBackend;
import dev.zeroq.backend.cuda.CudnnConv;
import dev.zeroq.backend.cuda.GpuTests;
import dev.zeroq.graph.Graph;
import dev.zeroq.io.Bundled;
import dev.zeroq.onnx.OnnxImporter;
import dev.zeroq.quant.ClipMethod;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.quant.Sensitivity;
import dev.zeroq.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Tag("gpu")
class SensitivityCudaTest {
    private static final long SEED = 20251126L;
    private static final int IMAGES = 16;
    private static final String SHA = "0".repeat(64); // the plans are compared, never matched to a file
    private static CudaBackend cuda;
    private static Graph graph;

    @BeforeAll
    static void open() {
        GpuTests.requireCuda();
        cuda = new CudaBackend(0);
        graph = OnnxImporter.parse(Bundled.model("resnet_fmnist"), "resnet_fmnist.onnx").graph();
    }

    @AfterAll
    static void close() {
        if (cuda != null) cuda.close();
    }

    private static Tensor images(int n) {
        int[] chw = graph.inputShape();
        SplittableRandom r = new SplittableRandom(SEED);
        float[] x = new float[n * chw[0] * chw[1] * chw[2]];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        return new Tensor(x, n, chw[0], chw[1], chw[2]);
    }

    private static QuantizeConfig config() {
        return QuantizeConfig.defaults().withMixed(new QuantizeConfig.MixedTarget.AverageBits(4)); // 2, 4, 8 bits
    }

    @Test
    void deviceKlTableMatchesHostKlAndTheExecutorPath() {
        QuantizeConfig cfg = config();
        Tensor images = images(IMAGES);
        Stages stages = new Stages();
        ZeroQ.SensitivityTable onDevice = new ZeroQ(graph, cuda).sensitivity(cfg, images, stages);
        assertTrue(stages.lines.stream().anyMatch(l -> l.contains("device-resident")), "device-resident passes: " + stages.lines);

        // The same passes, the logits downloaded and reduced by Sensitivity.klDivergence: the pipeline's path before
        // the KL kernel. Same device, same deterministic kernels, so the logits are the same bits; only the KL
        // arithmetic differs (tree order and exp/log ulps), ~1e-15 absolute against entries ≥ ~1e-6.
        Graph working = Simulation.workingGraph(graph, cfg.scheme());
        List<WeightLayer> layers = WeightLayer.of(working);
        int[] bits = cfg.bitChoices();
        assertEquals(layers.size(), onDevice.omega().length);
        double worstHost = 0;
        try (ForwardRunner f = ForwardRunner.open(working, cuda, IMAGES)) {
            Tensor reference = f.run(images);
            int classes = reference.size() / reference.dim(0);
            for (int i = 0; i < layers.size(); i++) {
                WeightLayer l = layers.get(i);
                for (int j = 0; j < bits.length; j++) {
                    FakeQuant.Weight w = FakeQuant.weight(cfg.scheme(), l, l.outputMajor(working), bits[j], cfg.clip());
                    f.replaceParam(l.weight(), w.dequantized());
                    double host = Sensitivity.klDivergence(reference.data(), f.run(images).data(), classes);
                    double device = f.klDivergence(reference, images);
                    f.restoreParam(l.weight());
                    double table = onDevice.omega()[i][j];
                    String what = l.name() + " at " + bits[j] + " bits";
                    // 1e-6 relative (the bound asked of this table) plus 1e-15 so that an exact 0 must stay ~0.
                    assertTrue(Math.abs(device - host) <= 1e-6 * host + 1e-15, what + ": host KL " + host + ", device " + device);
                    assertTrue(Math.abs(table - host) <= 1e-6 * host + 1e-15, what + ": host KL " + host + ", table " + table);
                    if (host > 0) {
                        worstHost = Math.max(worstHost, Math.max(Math.abs(device - host), Math.abs(table - host)) / host);
                    }
                }
            }
        }

        // The Executor path on the CPU backend: the same KL on logits summed in another float order. On this table the
        // CPU and ref backends (both Java, different summation order) already differ by up to 6.5e-5 relative at 8 bits
        // (small entries, ~1e-6, where a 1e-6 change of a logit is a large part of the quantization's effect); the
        // device's implicit-GEMM sums may differ a few times more. 2, 4 bits stay far closer.
        ZeroQ.SensitivityTable onCpu = new ZeroQ(graph, new CpuBackend()).sensitivity(cfg, images, ZeroQ.Listener.NONE);
        assertEquals(onCpu.layers(), onDevice.layers());
        double worstCpu = 0;
        for (int i = 0; i < layers.size(); i++) {
            for (int j = 0; j < bits.length; j++) {
                double want = onCpu.omega()[i][j], got = onDevice.omega()[i][j];
                double rel = Math.abs(got - want) / want;
                worstCpu = Math.max(worstCpu, rel);
                assertTrue(rel <= 1e-2, onCpu.layers().get(i) + " at " + bits[j] + " bits: cpu " + want + ", cuda " + got);
            }
        }
        System.out.printf("SensitivityCudaTest: device KL vs host KL on the same logits, worst relative %.3e; "
                + "vs the CPU Executor path %.3e (%d entries)%n", worstHost, worstCpu, layers.size() * bits.length);
    }

    @Test
    void repeatedPassesMatchWholeDevicePassesBitForBit() {
        checkRepeats(cuda);
    }

    /**
     * With --conv auto the forward convolutions may run on cuDNN (each where it was the faster at setup): cuDNN's
     * forward algorithms are deterministic, so repeats still give the whole passes' doubles, and the table still
     * matches the CPU's as zeroq's kernels do.
     */
    @Test
    void passesWithConvolutionsOnCudnnRepeatBitForBitAndMatchTheCpu() {
        CudnnConv.Availability a = CudnnConv.available();
        Assumptions.assumeTrue(a.usable(), "cuDNN not usable: " + a.reason());
        try (CudaBackend auto = new CudaBackend(0, CudaBackend.ConvKernels.AUTO);
             CudaBackend always = new CudaBackend(0, CudaBackend.ConvKernels.CUDNN)) {
            for (CudaBackend b : List.of(auto, always)) {
                Stages stages = new Stages();
                ZeroQ.SensitivityTable onDevice = new ZeroQ(graph, b).sensitivity(config(), images(IMAGES), stages);
                assertTrue(stages.lines.stream().anyMatch(l -> l.startsWith("sensitivity passes on")
                        && l.contains("convolutions on cuDNN (STRICT_FP32)")), b.convKernels() + ": " + stages.lines);
                ZeroQ.SensitivityTable onCpu = new ZeroQ(graph, new CpuBackend()).sensitivity(config(), images(IMAGES),
                        ZeroQ.Listener.NONE);
                for (int i = 0; i < onCpu.omega().length; i++) {
                    for (int j = 0; j < onCpu.omega()[i].length; j++) {
                        double want = onCpu.omega()[i][j], got = onDevice.omega()[i][j];
                        assertTrue(Math.abs(got - want) <= 1e-2 * want, b.convKernels() + " " + onCpu.layers().get(i)
                                + " column " + j + ": cpu " + want + ", cuda " + got);
                    }
                }
                checkRepeats(b);
            }
        }
    }

    private void checkRepeats(CudaBackend backend) {
        // CudaForward.klDivergenceAgain reruns only the steps from the changed layer on, reading the earlier values
        // left in the pool; the kernels are deterministic (the KL reduction too), so the answer is the same double.
        QuantizeConfig cfg = config();
        Tensor images = images(IMAGES);
        Graph working = Simulation.workingGraph(graph, cfg.scheme());
        List<WeightLayer> layers = new java.util.ArrayList<>(WeightLayer.of(working));
        java.util.Collections.shuffle(layers, new java.util.Random(5)); // any order is right; backwards is fastest
        try (ForwardRunner f = ForwardRunner.open(working, backend, IMAGES)) {
            Tensor reference = f.reference(images);
            assertEquals(0.0, f.klDivergenceAgain(reference), 0.0, "nothing changed");
            for (WeightLayer l : layers) {
                for (int bits : new int[] {2, 8}) {
                    f.replaceParam(l.weight(), FakeQuant.weight(cfg.scheme(), l, l.outputMajor(working), bits,
                            cfg.clip()).dequantized());
                    double again = f.klDivergenceAgain(reference);
                    double whole = f.klDivergence(reference, images);
                    double againAfterWhole = f.klDivergenceAgain(reference); // nothing to rerun: the kept logits
                    f.restoreParam(l.weight());
                    String what = l.name() + " at " + bits + " bits";
                    assertEquals(whole, again, 0.0, what);
                    assertEquals(whole, againAfterWhole, 0.0, what + ", repeated with nothing changed");
                }
            }
            // A pass with quantized sites changes values in place: the next repeat is a whole pass over the kept images.
            f.run(images, QuantPlan.Scheme.PAPER, java.util.Set.of(working.inputName()),
                    (name, v) -> FakeQuant.activation(QuantPlan.Scheme.PAPER, name, new dev.zeroq.quant.Clipping.Range(-1, 1), 4));
            assertEquals(0.0, f.klDivergenceAgain(reference), 0.0, "after a fake-quantized pass");
        }
    }

    @Test
    void percentileCalibrationMatchesTheCpu() {
        // Percentile clipping through the runner on 96 images: the largest activations then have more than
        // Clipping.EXACT_PERCENTILE_LIMIT elements, so the device answers them from its histogram and the CPU from its
        // own (the smaller ones exactly, from a download). Values differ by float summation order, so a value can
        // cross a bin edge or a rounding boundary: ranges agree within a few 8-bit steps, not bit for bit.
        int n = 96;
        Tensor calib = images(n);
        QuantizeConfig cfg = QuantizeConfig.defaults().withClip(ClipMethod.PERCENTILE);
        ZeroQ.Outcome cpu = new ZeroQ(graph, new CpuBackend()).quantize(cfg, calib, null, SHA, "resnet_fmnist.onnx", ZeroQ.Listener.NONE);
        Stages stages = new Stages();
        ZeroQ.Outcome dev = new ZeroQ(graph, cuda).quantize(cfg, calib, null, SHA, "resnet_fmnist.onnx", stages);
        assertTrue(stages.lines.stream().anyMatch(l -> l.contains("device-resident")), "device-resident passes: " + stages.lines);
        var a = cpu.plan().activations();
        var b = dev.plan().activations();
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).value(), b.get(i).value());
            float tol = 0.02f * (a.get(i).max() - a.get(i).min()) + 1e-4f;
            assertEquals(a.get(i).min(), b.get(i).min(), tol, a.get(i).value() + " min");
            assertEquals(a.get(i).max(), b.get(i).max(), tol, a.get(i).value() + " max");
        }
    }
}
