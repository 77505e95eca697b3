// Reads the QDQ pattern of quantized ONNX models (ours and other tools'): int8 weights behind DequantizeLinear
// become float parameters plus per-channel scales, activation QuantizeLinear → DequantizeLinear pairs become
// plan activation entries; together a deploy QuantPlan for the imported graph.
package dev.zeroq.onnx;

import dev.zeroq.ZeroqException;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.graph.Op;
import dev.zeroq.onnx.proto.TensorProto.DataType;
import dev.zeroq.quant.ClipMethod;
import dev.zeroq.quant.QuantPlan;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Supported: per-tensor uint8 activations (scale scalar, zero point uint8) quantized and immediately dequantized;
 * int8 (or int32 bias) constants dequantized per tensor or per channel, weights with zero point 0 (symmetric).
 * Anything else — per-channel activations, int8 activations, uint8 or asymmetric weights, a quantized value read
 * by anything but a DequantizeLinear, a DequantizeLinear of a computed value — is a bad-input error naming the node.
 */
final class QdqReader {
    private final String source;
    private final Supplier<String> sha256; // the file's, asked for only when a plan is built
    private final Map<String, Integer> types = new HashMap<>();
    /** QuantizeLinear outputs: the value quantized and its quantizer. */
    private final Map<String, Quantized> quantized = new HashMap<>();
    /** DequantizeLinear output → the activation value it stands for. */
    private final Map<String, String> aliases = new HashMap<>();
    private final Map<String, QuantPlan.Activation> activations = new LinkedHashMap<>();
    /** DequantizeLinear outputs of int8 weights: their scales (one per channel, or one), axis and bits. */
    private final Map<String, WeightScales> weights = new HashMap<>();

    private record Quantized(String node, String value, float scale, int zeroPoint) {}

    private record WeightScales(String node, float[] scales, int axis, int bits) {}

    QdqReader(String source, Supplier<String> sha256) {
        this.source = source;
        this.sha256 = sha256;
    }

    void type(String name, int dataType) {
        types.put(name, dataType);
    }

    String resolve(String name) {
        return aliases.getOrDefault(name, name);
    }

    boolean isQuantized(String name) {
        return quantized.containsKey(name);
    }

    void checkNotQuantized(List<String> inputs, String node, String op) {
        for (String in : inputs) {
            Quantized q = quantized.get(in);
            if (q != null) {
                throw ZeroqException.badInput("node '" + node + "' (" + op + ") reads '" + in + "', the uint8 output of "
                        + "QuantizeLinear '" + q.node() + "'; zeroq supports QuantizeLinear only directly followed by "
                        + "DequantizeLinear");
            }
        }
    }

    /** An activation QuantizeLinear: per-tensor scale, uint8 zero point. */
    void quantize(String node, String value, String out, Const scale, String zpName, Const zp) {
        float s = scalarScale(node, scale);
        int z = 0;
        if (zp != null) {
            Integer t = types.get(zpName);
            if (t == null || t != DataType.UINT8_VALUE) {
                throw ZeroqException.badInput("QuantizeLinear node '" + node + "' in " + source + " has a "
                        + (t == null ? "zero point of unknown type" : DataType.forNumber(t) + " zero point")
                        + "; zeroq supports uint8 activations only");
            }
            if (zp.size() != 1) {
                throw perChannelActivation(node);
            }
            z = (int) zp.at(0);
        }
        quantized.put(out, new Quantized(node, value, s, z));
    }

    /** The DequantizeLinear of a QuantizeLinear output: the pair becomes the plan entry of the value. */
    void dequantizeActivation(String node, String in, String out, Const scale, Const zp) {
        Quantized q = quantized.get(in);
        float s = scalarScale(node, scale);
        int z = zp == null ? 0 : (int) zp.at(0);
        if (s != q.scale() || z != q.zeroPoint()) {
            throw ZeroqException.badInput("DequantizeLinear node '" + node + "' in " + source + " uses scale " + s + ", zero "
                    + "point " + z + " but its QuantizeLinear '" + q.node() + "' uses " + q.scale() + ", " + q.zeroPoint()
                    + "; zeroq supports matching Q/DQ pairs only");
        }
        // The range the quantizer covers: codes 0..255 → [(0 − zp)·s, (255 − zp)·s].
        QuantPlan.Activation a = new QuantPlan.Activation(q.value(), 8, (0 - z) * s, (255 - z) * s, s, z);
        QuantPlan.Activation before = activations.putIfAbsent(q.value(), a);
        if (before != null && !before.equals(a)) {
            throw ZeroqException.badInput("value '" + q.value() + "' in " + source + " is quantized twice with different "
                    + "scales (node '" + node + "'); zeroq supports one quantizer per value");
        }
        aliases.put(out, q.value());
    }

    /**
     * A constant dequantized: int8 weights (zero point 0) or int32 biases, per tensor or along {@code axis}.
     * Returns the float values (q − zp)·scale, computed in float as ONNX DequantizeLinear does.
     */
    Const dequantizeWeight(String node, String in, Const codes, String out, Const scale, String zpName, Const zp,
                           long axisAttr) {
        Integer type = types.get(in);
        if (type == null || (type != DataType.INT8_VALUE && type != DataType.INT32_VALUE)) {
            throw ZeroqException.badInput("DequantizeLinear node '" + node + "' in " + source + " dequantizes "
                    + (type == null ? "a constant of unknown type" : DataType.forNumber(type) + " values")
                    + "; zeroq supports symmetric int8 weights (and int32 biases) only");
        }
        if (zp != null) {
            for (int i = 0; i < zp.size(); i++) {
                if (zp.at(i) != 0) {
                    throw ZeroqException.badInput("DequantizeLinear node '" + node + "' in " + source + " has a non-zero "
                            + "weight zero point; zeroq supports symmetric weights (zero point 0) only");
                }
            }
        }
        int[] shape = codes.shape();
        float[] s = new float[scale.size()];
        for (int i = 0; i < s.length; i++) s[i] = (float) scale.at(i);
        int axis = (int) (axisAttr < 0 ? axisAttr + shape.length : axisAttr);
        if (s.length > 1 && (axis < 0 || axis >= shape.length || shape[axis] != s.length)) {
            throw ZeroqException.badInput("DequantizeLinear node '" + node + "' in " + source + " has " + s.length
                    + " scales along axis " + axisAttr + " of a tensor shaped " + java.util.Arrays.toString(shape));
        }
        int inner = 1;
        for (int d = axis + 1; s.length > 1 && d < shape.length; d++) inner *= shape[d];
        float[] v = new float[codes.size()];
        int maxAbs = 0;
        for (int i = 0; i < v.length; i++) {
            long q = (long) codes.at(i);
            float sc = s.length == 1 ? s[0] : s[(i / inner) % s.length];
            v[i] = q * sc;
            maxAbs = (int) Math.max(maxAbs, Math.abs(q));
        }
        if (type == DataType.INT8_VALUE) {
            // Symmetric k-bit codes span ±(2^(k−1) − 1); the widest channel reaches it, which gives k back.
            int bits = 2;
            while (bits < 8 && maxAbs > (1 << (bits - 1)) - 1) bits++;
            weights.put(out, new WeightScales(node, s, s.length == 1 ? -1 : axis, bits));
        }
        return Const.ofFloats(shape, v);
    }

    private float scalarScale(String node, Const scale) {
        if (scale.size() != 1) {
            throw perChannelActivation(node);
        }
        float s = (float) scale.at(0);
        if (!(s > 0) || !Float.isFinite(s)) {
            throw ZeroqException.badInput("node '" + node + "' in " + source + " has scale " + s + "; scales must be positive");
        }
        return s;
    }

    private ZeroqException perChannelActivation(String node) {
        return ZeroqException.badInput("QDQ node '" + node + "' in " + source + " quantizes an activation per channel; "
                + "zeroq supports per-tensor activations only");
    }

    /** The deploy plan the QDQ nodes describe, or null when the model has none. */
    QuantPlan plan(Graph g) {
        if (activations.isEmpty() && weights.isEmpty()) {
            return null;
        }
        List<QuantPlan.Layer> layers = new ArrayList<>();
        int maxBits = 2;
        for (Node n : g.nodes()) {
            if (n.inputs().size() < 2) continue;
            WeightScales w = weights.get(n.input(1));
            if (w == null) continue;
            int[] shape = g.param(n.input(1)).shape();
            int channelAxis = switch (n.op()) {
                case Op.Conv c -> 0;
                case Op.Gemm gm -> gm.transB() ? 0 : 1;
                case Op.MatMul m -> 1;
                default -> throw ZeroqException.badInput("node '" + n.name() + "' (" + n.op().onnxType() + ") in " + source
                        + " reads a dequantized int8 weight; zeroq quantizes Conv, Gemm and MatMul weights only");
            };
            if (n.op() instanceof Op.Gemm gm && gm.transA() || shape.length < 2 || !(n.op() instanceof Op.Conv) && shape.length != 2) {
                throw ZeroqException.badInput("node '" + n.name() + "' in " + source + " has a quantized weight zeroq cannot "
                        + "map to output channels");
            }
            int cout = shape[channelAxis];
            float[] scales;
            if (w.axis() == -1) {
                scales = new float[cout];
                java.util.Arrays.fill(scales, w.scales()[0]);
            } else if (w.axis() == channelAxis) {
                scales = w.scales();
            } else {
                throw ZeroqException.badInput("DequantizeLinear node '" + w.node() + "' in " + source + " scales weight axis "
                        + w.axis() + " but the output channels of '" + n.name() + "' are on axis " + channelAxis
                        + "; zeroq supports per-output-channel weights only");
            }
            long params = g.param(n.input(1)).size();
            layers.add(new QuantPlan.Layer(n.name(), n.op().onnxType(), w.bits(), params, null, null, scales, null));
            maxBits = Math.max(maxBits, w.bits());
        }
        // A QDQ file does not say how its ranges were chosen: recorded as min/max from data.
        return new QuantPlan(QuantPlan.FORMAT_VERSION, new QuantPlan.Model(sha256.get(), fileName()), QuantPlan.Scheme.DEPLOY,
                layers.isEmpty() ? 8 : maxBits, 8, ClipMethod.MINMAX, QuantPlan.Calibration.DATA, 0L, null, layers,
                new ArrayList<>(activations.values()), null);
    }

    private String fileName() {
        try {
            Path p = Path.of(source).getFileName();
            return p == null ? source : p.toString();
        } catch (RuntimeException e) {
            return source;
        }
    }
}
