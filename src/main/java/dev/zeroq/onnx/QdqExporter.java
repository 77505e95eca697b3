// Writes a deploy-scheme plan as a QDQ ONNX model (opset 13): int8 weights and int32 biases with
// DequantizeLinear, and a QuantizeLinear → DequantizeLinear pair on every quantized activation.
package dev.zeroq.onnx;

import com.google.protobuf.ByteString;
import dev.zeroq.ZeroqException;
import dev.zeroq.io.AtomicFiles;
import dev.zeroq.backend.Activation;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.PoolSpec;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.graph.Op;
import dev.zeroq.graph.ShapeInference;
import dev.zeroq.onnx.proto.AttributeProto;
import dev.zeroq.onnx.proto.AttributeProto.AttributeType;
import dev.zeroq.onnx.proto.GraphProto;
import dev.zeroq.onnx.proto.ModelProto;
import dev.zeroq.onnx.proto.NodeProto;
import dev.zeroq.onnx.proto.OperatorSetIdProto;
import dev.zeroq.onnx.proto.TensorProto;
import dev.zeroq.onnx.proto.TensorProto.DataType;
import dev.zeroq.onnx.proto.TensorShapeProto;
import dev.zeroq.onnx.proto.TypeProto;
import dev.zeroq.onnx.proto.ValueInfoProto;
import dev.zeroq.pipeline.Simulation;
import dev.zeroq.pipeline.WeightLayer;
import dev.zeroq.quant.QuantPlan;
import dev.zeroq.quant.SymmetricQuantizer;
import dev.zeroq.tensor.Tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The QDQ convention ONNX Runtime and TensorRT accept: every Conv/Gemm/MatMul weight of the plan is an int8
 * initializer (symmetric, zero point 0, per output channel: axis 0, or 1 for Gemm without transB and MatMul)
 * dequantized by a DequantizeLinear; its bias an int32 initializer at scale s_x·s_w[c]; every quantized
 * activation value passes QuantizeLinear(scale, uint8 zero point) → DequantizeLinear right after its producer
 * (or at the graph input), and every consumer reads the DequantizeLinear output. BatchNorm is folded as in the
 * deploy scheme. Opset 13, IR version 7, the original input/output names, batch dimension "N".
 */
public final class QdqExporter {
    public static final int OPSET = 13;
    public static final int IR_VERSION = 7;

    private QdqExporter() {}

    /** Writes the model atomically (temporary file beside the target, then moved over it). */
    public static void export(Graph original, QuantPlan plan, Path out) {
        byte[] bytes = toModel(original, plan).toByteArray();
        AtomicFiles.write(out, "QDQ model", tmp -> Files.write(tmp, bytes));
    }

    /** The QDQ model as a protobuf message. */
    public static ModelProto toModel(Graph original, QuantPlan plan) {
        if (plan.scheme() != QuantPlan.Scheme.DEPLOY) {
            throw ZeroqException.badInput("plan for " + plan.model().fileName() + " has scheme 'paper'; QDQ export needs a "
                    + "deploy plan: re-run zeroq quantize with --scheme deploy");
        }
        Graph g = Simulation.workingGraph(original, plan.scheme());
        return new Writer(g, plan).write();
    }

    private static final class Writer {
        final Graph g;
        final QuantPlan plan;
        final GraphProto.Builder gp = GraphProto.newBuilder();
        final Map<String, QuantPlan.Activation> acts = new HashMap<>();
        /** What consumers read instead of a value: the DequantizeLinear output of a quantized activation. */
        final Map<String, String> reads = new HashMap<>();
        final Map<String, String> replacedParams = new HashMap<>();

        Writer(Graph g, QuantPlan plan) {
            this.g = g;
            this.plan = plan;
            for (QuantPlan.Activation a : plan.activations()) {
                if (a.scale() == null || a.zeroPoint() == null) {
                    throw ZeroqException.badInput("plan activation " + a.value() + " has no scale/zero point; re-run "
                            + "zeroq quantize with --scheme deploy");
                }
                if (a.bits() != 8) {
                    throw ZeroqException.badInput("plan activation " + a.value() + " has " + a.bits() + " bits; QDQ ONNX "
                            + "holds uint8 activations only: quantize with --abits 8 to export");
                }
                acts.put(a.value(), a);
            }
        }

        ModelProto write() {
            gp.setName(g.name());
            int[] chw = g.inputShape();
            gp.addInput(valueInfo(g.inputName(), new long[] {-1, chw[0], chw[1], chw[2]}));
            Map<String, int[]> s1 = ShapeInference.infer(g, 1), s2 = ShapeInference.infer(g, 2);
            int[] o1 = s1.get(g.outputName()), o2 = s2.get(g.outputName());
            long[] od = new long[o1.length];
            for (int i = 0; i < od.length; i++) od[i] = o1[i] == o2[i] ? o1[i] : -1;
            gp.addOutput(valueInfo(g.outputName(), od));

            quantizedWeights();
            for (Map.Entry<String, Tensor> p : g.params().entrySet()) {
                if (!replacedParams.containsKey(p.getKey())) {
                    gp.addInitializer(floats(p.getKey(), p.getValue().data(), p.getValue().shape()));
                }
            }
            qdq(g.inputName());
            for (Node n : g.nodes()) {
                node(n);
                for (String o : n.outputs()) {
                    if (!o.equals(g.outputName())) qdq(o);
                }
            }
            return ModelProto.newBuilder().setIrVersion(IR_VERSION).setProducerName("zeroq").setProducerVersion("0.1.0")
                    .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                    .setGraph(gp).build();
        }

        /** int8 weights and int32 biases of every plan layer, each behind a DequantizeLinear named as the param. */
        void quantizedWeights() {
            Map<String, QuantPlan.Layer> byNode = new HashMap<>();
            for (QuantPlan.Layer l : plan.layers()) byNode.put(l.node(), l);
            for (WeightLayer wl : WeightLayer.of(g)) {
                QuantPlan.Layer entry = byNode.get(wl.name());
                QuantPlan.Activation in = acts.get(wl.node().input(0));
                if (entry == null || in == null) continue;
                Tensor w = wl.outputMajor(g);
                int cout = w.dim(0), k = w.size() / cout;
                float[] sw = entry.scales();
                if (sw == null || sw.length != cout) {
                    throw ZeroqException.badInput("plan layer " + entry.node() + " does not fit the model's " + cout
                            + " output channels; the plan belongs to another model");
                }
                byte[] q = new byte[w.size()];
                for (int c = 0; c < cout; c++) {
                    for (int i = c * k; i < (c + 1) * k; i++) {
                        q[i] = (byte) SymmetricQuantizer.quantizeSymmetric(w.data()[i], sw[c], entry.weightBits());
                    }
                }
                int[] stored = g.param(wl.weight()).shape();
                if (!wl.outputMajor()) q = transpose(q, cout, k); // back to (K, Cout)
                int axis = wl.outputMajor() ? 0 : 1;
                dequantized(wl.weight(), tensor(wl.weight() + "_quantized", DataType.INT8, stored, q),
                        sw, new byte[cout], DataType.INT8, axis);
                if (wl.bias() != null) {
                    Tensor b = g.param(wl.bias());
                    int[] qb = SymmetricQuantizer.quantizeBias(b.data(), in.scale(), sw);
                    float[] sb = new float[cout];
                    for (int c = 0; c < cout; c++) sb[c] = in.scale() * sw[c]; // the float the integer engine uses
                    dequantized(wl.bias(), tensor(wl.bias() + "_quantized", DataType.INT32, b.shape(), ints(qb)),
                            sb, new byte[4 * cout], DataType.INT32, 0);
                }
            }
        }

        void dequantized(String name, TensorProto codes, float[] scale, byte[] zeroPoint, DataType zpType, int axis) {
            gp.addInitializer(codes);
            gp.addInitializer(floats(name + "_scale", scale, new int[] {scale.length}));
            gp.addInitializer(tensor(name + "_zero_point", zpType, new int[] {scale.length}, zeroPoint));
            gp.addNode(NodeProto.newBuilder().setName(name + "_DequantizeLinear").setOpType("DequantizeLinear")
                    .addInput(codes.getName()).addInput(name + "_scale").addInput(name + "_zero_point")
                    .addOutput(name).addAttribute(intAttr("axis", axis)));
            replacedParams.put(name, name);
        }

        /** QuantizeLinear → DequantizeLinear on a quantized activation value; consumers then read the DQ output. */
        void qdq(String v) {
            QuantPlan.Activation a = acts.get(v);
            if (a == null) return;
            String scale = v + "_scale", zp = v + "_zero_point";
            gp.addInitializer(floats(scale, new float[] {a.scale()}, new int[0]));
            gp.addInitializer(tensor(zp, DataType.UINT8, new int[0], new byte[] {(byte) (int) a.zeroPoint()}));
            gp.addNode(NodeProto.newBuilder().setName(v + "_QuantizeLinear").setOpType("QuantizeLinear")
                    .addInput(v).addInput(scale).addInput(zp).addOutput(v + "_quantized"));
            gp.addNode(NodeProto.newBuilder().setName(v + "_DequantizeLinear").setOpType("DequantizeLinear")
                    .addInput(v + "_quantized").addInput(scale).addInput(zp).addOutput(v + "_dequantized"));
            reads.put(v, v + "_dequantized");
        }

        String in(String v) {
            return v.isEmpty() ? v : reads.getOrDefault(v, v);
        }

        void node(Node n) {
            NodeProto.Builder b = NodeProto.newBuilder().setName(n.name()).setOpType(n.op().onnxType());
            for (String i : n.inputs()) b.addInput(in(i));
            b.addAllOutput(n.outputs());
            switch (n.op()) {
                case Op.Conv c -> {
                    ConvSpec s = c.spec();
                    b.addAttribute(intsAttr("kernel_shape", s.kernel())).addAttribute(intsAttr("strides", s.strides()))
                            .addAttribute(intsAttr("pads", s.pads())).addAttribute(intsAttr("dilations", s.dilations()))
                            .addAttribute(intAttr("group", s.group()));
                }
                case Op.BatchNorm bn -> b.addAttribute(floatAttr("epsilon", bn.epsilon()));
                case Op.Unary u -> {
                    switch (u.fn()) {
                        case Activation.Clip cl -> {
                            // Opset 13 takes the bounds as scalar inputs.
                            b.addInput(scalarParam(n.name() + "_min", cl.min())).addInput(scalarParam(n.name() + "_max", cl.max()));
                        }
                        case Activation.LeakyRelu l -> b.addAttribute(floatAttr("alpha", l.alpha()));
                        case Activation.HardSigmoid h -> b.addAttribute(floatAttr("alpha", h.alpha()))
                                .addAttribute(floatAttr("beta", h.beta()));
                        case Activation.HardSwish h -> {
                            // HardSwish is opset 14: x · HardSigmoid(x; 1/6, 1/2) is the same function in opset 13.
                            String hs = n.output() + "_hardsigmoid";
                            gp.addNode(NodeProto.newBuilder().setName(n.name() + "_HardSigmoid").setOpType("HardSigmoid")
                                    .addInput(in(n.input(0))).addOutput(hs).addAttribute(floatAttr("alpha", 1f / 6))
                                    .addAttribute(floatAttr("beta", 0.5f)));
                            b.setOpType("Mul").addInput(hs);
                        }
                        default -> { }
                    }
                }
                case Op.MaxPool p -> pool(b, p.spec(), true);
                case Op.AveragePool p -> pool(b, p.spec(), false);
                case Op.ReduceMean r -> b.addAttribute(intsAttr("axes", r.axes())).addAttribute(intAttr("keepdims", r.keepDims() ? 1 : 0));
                case Op.Flatten f -> b.addAttribute(intAttr("axis", f.axis()));
                case Op.Reshape r -> {
                    long[] shape = new long[r.shape().length];
                    boolean inferred = false;
                    for (int v : r.shape()) inferred |= v == -1;
                    for (int i = 0; i < shape.length; i++) {
                        int v = r.shape()[i];
                        if (v == Op.Reshape.BATCH) {
                            // The batch size: copy dimension 0 (ONNX 0 = "as in the input"), or let ONNX infer it.
                            if (i == 0) shape[i] = 0;
                            else if (!inferred) {
                                shape[i] = -1;
                                inferred = true;
                            } else {
                                throw ZeroqException.badInput("Reshape node " + n.name() + " has a batch-sized dimension "
                                        + "that opset 13 cannot express; QDQ export does not support it");
                            }
                        } else {
                            shape[i] = v;
                        }
                    }
                    b.addInput(int64Param(n.name() + "_shape", shape));
                }
                case Op.Transpose t -> b.addAttribute(intsAttr("perm", t.perm()));
                case Op.Split s -> {
                    long[] sizes = new long[s.sizes().length];
                    for (int i = 0; i < sizes.length; i++) sizes[i] = s.sizes()[i];
                    b.addInput(int64Param(n.name() + "_split", sizes)).addAttribute(intAttr("axis", s.axis()));
                }
                case Op.Slice s -> {
                    long[] axes = new long[s.axes().length];
                    for (int i = 0; i < axes.length; i++) axes[i] = s.axes()[i];
                    b.addInput(int64Param(n.name() + "_starts", s.starts())).addInput(int64Param(n.name() + "_ends", s.ends()))
                            .addInput(int64Param(n.name() + "_axes", axes)).addInput(int64Param(n.name() + "_steps", s.steps()));
                }
                case Op.Concat c -> b.addAttribute(intAttr("axis", c.axis()));
                case Op.Gemm gm -> b.addAttribute(floatAttr("alpha", gm.alpha())).addAttribute(floatAttr("beta", gm.beta()))
                        .addAttribute(intAttr("transA", gm.transA() ? 1 : 0)).addAttribute(intAttr("transB", gm.transB() ? 1 : 0));
                case Op.Binary bin -> { }
                case Op.GlobalAveragePool gap -> { }
                case Op.MatMul m -> { }
                case Op.Identity i -> { }
            }
            gp.addNode(b);
        }

        void pool(NodeProto.Builder b, PoolSpec s, boolean max) {
            b.addAttribute(intsAttr("kernel_shape", s.kernel())).addAttribute(intsAttr("strides", s.strides()))
                    .addAttribute(intsAttr("pads", s.pads())).addAttribute(intAttr("ceil_mode", s.ceilMode() ? 1 : 0));
            if (max) {
                b.addAttribute(intsAttr("dilations", s.dilations()));
            } else {
                b.addAttribute(intAttr("count_include_pad", s.countIncludePad() ? 1 : 0));
            }
        }

        String scalarParam(String name, float v) {
            gp.addInitializer(floats(name, new float[] {v}, new int[0]));
            return name;
        }

        String int64Param(String name, long[] v) {
            ByteBuffer bb = ByteBuffer.allocate(Math.multiplyExact(8, v.length)).order(ByteOrder.LITTLE_ENDIAN);
            for (long x : v) bb.putLong(x);
            gp.addInitializer(tensor(name, DataType.INT64, new int[] {v.length}, bb.array()));
            return name;
        }
    }

    static byte[] transpose(byte[] q, int rows, int cols) {
        byte[] t = new byte[q.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) t[c * rows + r] = q[r * cols + c];
        }
        return t;
    }

    static byte[] ints(int[] v) {
        ByteBuffer bb = ByteBuffer.allocate(Math.multiplyExact(4, v.length)).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : v) bb.putInt(x);
        return bb.array();
    }

    static TensorProto floats(String name, float[] v, int[] shape) {
        ByteBuffer bb = ByteBuffer.allocate(Math.multiplyExact(4, v.length)).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) bb.putFloat(x);
        return tensor(name, DataType.FLOAT, shape, bb.array());
    }

    /** A tensor with little-endian raw data, as ONNX stores it. */
    static TensorProto tensor(String name, DataType type, int[] shape, byte[] raw) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(type.getNumber())
                .setRawData(ByteString.copyFrom(raw));
        for (int d : shape) t.addDims(d);
        return t.build();
    }

    static ValueInfoProto valueInfo(String name, long[] dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (long d : dims) {
            s.addDim(d < 0 ? TensorShapeProto.Dimension.newBuilder().setDimParam("N")
                    : TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(DataType.FLOAT_VALUE).setShape(s))).build();
    }

    static AttributeProto intAttr(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeType.INT).setI(v).build();
    }

    static AttributeProto floatAttr(String name, float v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeType.FLOAT).setF(v).build();
    }

    static AttributeProto intsAttr(String name, int[] v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeType.INTS);
        for (int x : v) a.addInts(x);
        return a.build();
    }
}
