package dev.zeroq.onnx;

import dev.zeroq.ZeroqException;
import dev.zeroq.backend.Activation;
import dev.zeroq.backend.Backend.BinaryOp;
import dev.zeroq.backend.ConvSpec;
import dev.zeroq.backend.PoolSpec;
import dev.zeroq.graph.Graph;
import dev.zeroq.graph.Node;
import dev.zeroq.graph.Op;
import dev.zeroq.graph.ShapeInference;
import dev.zeroq.onnx.proto.AttributeProto;
import dev.zeroq.onnx.proto.GraphProto;
import dev.zeroq.onnx.proto.ModelProto;
import dev.zeroq.onnx.proto.NodeProto;
import dev.zeroq.onnx.proto.OperatorSetIdProto;
import dev.zeroq.onnx.proto.TensorProto;
import dev.zeroq.onnx.proto.TensorProto.DataType;
import dev.zeroq.onnx.proto.TensorShapeProto;
import dev.zeroq.onnx.proto.TypeProto;
import dev.zeroq.onnx.proto.ValueInfoProto;
import dev.zeroq.tensor.Shapes;
import dev.zeroq.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.function.Supplier;

/**
 * One import: walks the ONNX nodes in order, folds those whose inputs are all known constants, and turns the
 * rest into IR nodes. Shapes are inferred as it goes at two nominal batch sizes (1 and 2): a dimension that is
 * 1 at the first and 2 at the second is the batch, which is how Shape of a real tensor folds to a vector
 * holding the {@link Const#BATCH} marker, and how auto_pad and Squeeze/Unsqueeze get resolved.
 */
final class Converter {
    private static final int B1 = 1;
    private static final int B2 = 2;

    private final ModelProto model;
    private final String source;
    private final List<String> warnings = new ArrayList<>();
    private final Map<String, Const> consts = new HashMap<>();
    private final Map<String, int[]> shape1 = new HashMap<>();
    private final Map<String, int[]> shape2 = new HashMap<>();
    private final Map<String, Tensor> params = new LinkedHashMap<>();
    /** Values computed from the image at run time (the input and IR node outputs), as opposed to constants. */
    private final Set<String> computed = new HashSet<>();
    private final List<Node> nodes = new ArrayList<>();
    /** Outputs zeroq does not compute (e.g. Dropout's mask), with what they were, to fail if something reads them. */
    private final Map<String, String> dropped = new HashMap<>();

    /** QDQ models: QuantizeLinear/DequantizeLinear read into plan entries (see {@link QdqReader}). */
    private final QdqReader qdq;

    Converter(ModelProto model, String source, Supplier<String> sha256) {
        this.model = model;
        this.source = source;
        this.qdq = new QdqReader(source, sha256);
    }

    OnnxModel convert() {
        long opset = opset();
        GraphProto g = model.getGraph();
        if (g.getNodeCount() == 0) {
            throw ZeroqException.badInput(source + " has an empty graph (no nodes); export the model again with its layers");
        }
        Set<String> initNames = new HashSet<>();
        for (TensorProto t : g.getInitializerList()) {
            Const c = TensorData.decode(t, "initializer '" + t.getName() + "'");
            consts.put(t.getName(), c);
            qdq.type(t.getName(), t.getDataType());
            initNames.add(t.getName());
            if (!c.isInt()) {
                int bad = 0;
                for (float v : c.floats()) {
                    if (!Float.isFinite(v)) {
                        bad++;
                    }
                }
                if (bad > 0) {
                    warnings.add("initializer '" + t.getName() + "' holds " + bad + " NaN/Inf value"
                            + (bad == 1 ? "" : "s") + "; outputs that depend on it will not be finite");
                }
            }
        }
        List<ValueInfoProto> images = g.getInputList().stream().filter(v -> !initNames.contains(v.getName())).toList();
        checkNodes(g, images);
        if (images.size() != 1) {
            throw ZeroqException.badInput(source + " has " + images.size() + " image inputs ("
                    + images.stream().map(ValueInfoProto::getName).collect(Collectors.joining(", "))
                    + "); zeroq needs exactly one (N, C, H, W) input");
        }
        if (g.getOutputCount() != 1) {
            throw ZeroqException.badInput(source + " has " + g.getOutputCount() + " outputs ("
                    + g.getOutputList().stream().map(ValueInfoProto::getName).collect(Collectors.joining(", "))
                    + "); zeroq needs exactly one");
        }
        ValueInfoProto image = images.getFirst();
        int[] chw = imageShape(image);
        shape1.put(image.getName(), new int[] {B1, chw[0], chw[1], chw[2]});
        shape2.put(image.getName(), new int[] {B2, chw[0], chw[1], chw[2]});
        computed.add(image.getName());

        for (int i = 0; i < g.getNodeCount(); i++) {
            NodeProto n = g.getNode(i);
            String name = nodeName(n, i);
            try {
                convertNode(n, name, new Attributes(n, name));
            } catch (IllegalArgumentException | ArithmeticException e) {
                throw ZeroqException.badInput("cannot import node '" + name + "' (" + n.getOpType() + "): "
                        + e.getMessage(), e);
            }
        }

        String output = qdq.resolve(g.getOutput(0).getName());
        if (!computed.contains(output) && !dropped.containsKey(output)) {
            throw ZeroqException.badInput("graph output '" + output + "' is a constant that does not depend on the "
                    + "image; zeroq needs a model whose output is computed from its input");
        }
        if (dropped.containsKey(output)) {
            throw ZeroqException.badInput("graph output '" + output + "' is " + dropped.get(output)
                    + ", which zeroq does not compute; export the model for inference");
        }
        List<Node> live = liveNodes(output);
        Map<String, Tensor> liveParams = new LinkedHashMap<>();
        Set<String> read = new HashSet<>();
        for (Node n : live) {
            read.addAll(n.inputs());
        }
        params.forEach((k, v) -> {
            if (read.contains(k)) {
                liveParams.put(k, v);
            }
        });
        String name = g.getName().isEmpty() ? source : g.getName();
        Graph graph = new Graph(name, image.getName(), chw, output, live, liveParams);
        String producer = (model.getProducerName() + " " + model.getProducerVersion()).trim();
        return new OnnxModel(graph, opset, producer, warnings, qdq.plan(graph));
    }

    private long opset() {
        for (OperatorSetIdProto o : model.getOpsetImportList()) {
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) {
                long v = o.getVersion();
                if (v < 11 || v > 21) {
                    warnings.add("opset " + v + " is outside the range zeroq is tested with (11-21); "
                            + "check the imported model's outputs");
                }
                return v;
            }
        }
        throw ZeroqException.badInput(source + " declares no ai.onnx opset (opset_import); export it again with a "
                + "standard exporter");
    }

    private static String nodeName(NodeProto n, int index) {
        return n.getName().isEmpty() ? n.getOpType() + "_" + index : n.getName();
    }

    /** Fails, before converting anything, on unsupported ops (all listed at once) and dangling inputs. */
    private void checkNodes(GraphProto g, List<ValueInfoProto> images) {
        Map<String, List<String>> unsupported = new TreeMap<>();
        for (int i = 0; i < g.getNodeCount(); i++) {
            NodeProto n = g.getNode(i);
            String domain = n.getDomain();
            boolean standard = domain.isEmpty() || domain.equals("ai.onnx");
            if (!standard || !OnnxImporter.SUPPORTED_OPS.contains(n.getOpType())) {
                String type = standard ? n.getOpType() : domain + "." + n.getOpType();
                unsupported.computeIfAbsent(type, k -> new ArrayList<>()).add(nodeName(n, i));
            }
        }
        if (!unsupported.isEmpty()) {
            String list = unsupported.entrySet().stream()
                    .map(e -> e.getKey() + " (node" + (e.getValue().size() > 1 ? "s " : " ")
                            + String.join(", ", e.getValue()) + ")")
                    .collect(Collectors.joining(", "));
            throw ZeroqException.badInput("unsupported ONNX ops: " + list + "; zeroq supports: "
                    + String.join(", ", OnnxImporter.SUPPORTED_OPS));
        }
        Set<String> known = new HashSet<>(consts.keySet());
        images.forEach(v -> known.add(v.getName()));
        for (int i = 0; i < g.getNodeCount(); i++) {
            NodeProto n = g.getNode(i);
            for (String in : n.getInputList()) {
                if (!in.isEmpty() && !known.contains(in)) {
                    throw ZeroqException.badInput("missing initializer '" + in + "' read by node '" + nodeName(n, i)
                            + "' (" + n.getOpType() + "); the model file is incomplete, export it again");
                }
            }
            known.addAll(n.getOutputList());
        }
    }

    /** (C, H, W) of the image input; the batch dimension may be symbolic, 0, -1 or any fixed value. */
    private static int[] imageShape(ValueInfoProto v) {
        String fix = "; zeroq needs a float32 (N, C, H, W) image input with fixed C, H, W";
        TypeProto t = v.getType();
        if (!t.hasTensorType()) {
            throw ZeroqException.badInput("input '" + v.getName() + "' is not a tensor" + fix);
        }
        TypeProto.Tensor tt = t.getTensorType();
        if (tt.getElemType() != DataType.FLOAT_VALUE) {
            DataType dt = DataType.forNumber(tt.getElemType());
            throw ZeroqException.badInput("input '" + v.getName() + "' has element type "
                    + (dt != null ? dt : tt.getElemType()) + fix);
        }
        if (!tt.hasShape() || tt.getShape().getDimCount() != 4) {
            throw ZeroqException.badInput("input '" + v.getName() + "' has "
                    + (tt.hasShape() ? "rank " + tt.getShape().getDimCount() : "no shape") + fix);
        }
        int[] chw = new int[3];
        for (int i = 1; i < 4; i++) {
            TensorShapeProto.Dimension d = tt.getShape().getDim(i);
            if (!d.hasDimValue() || d.getDimValue() <= 0 || d.getDimValue() > Integer.MAX_VALUE) {
                throw ZeroqException.badInput("input '" + v.getName() + "' has dimension " + i + " = "
                        + (d.hasDimParam() ? "'" + d.getDimParam() + "'" : d.hasDimValue() ? d.getDimValue() : "unknown")
                        + fix);
            }
            chw[i - 1] = (int) d.getDimValue();
        }
        return chw;
    }

    /** Nodes the output depends on, in order; drops what only fed folded constants or nothing. */
    private List<Node> liveNodes(String output) {
        Set<String> needed = new HashSet<>();
        needed.add(output);
        boolean[] keep = new boolean[nodes.size()];
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Node n = nodes.get(i);
            if (n.outputs().stream().anyMatch(needed::contains)) {
                keep[i] = true;
                needed.addAll(n.inputs());
            }
        }
        List<Node> live = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            if (keep[i]) {
                live.add(nodes.get(i));
            }
        }
        return live;
    }

    // ---- one node ------------------------------------------------------------------------------------------

    private void convertNode(NodeProto n, String name, Attributes at) {
        // A DequantizeLinear of an activation is the value itself: readers of its output read the value.
        List<String> ins = n.getInputList().stream().map(qdq::resolve).toList();
        if (!n.getOpType().equals("DequantizeLinear")) {
            qdq.checkNotQuantized(ins, name, n.getOpType());
        }
        for (String in : ins) {
            if (dropped.containsKey(in)) {
                throw new IllegalArgumentException("it reads '" + in + "', " + dropped.get(in)
                        + ", which zeroq does not compute; export the model for inference");
            }
        }
        String out = n.getOutputCount() > 0 ? n.getOutput(0) : "";
        String op = n.getOpType();
        boolean folded = allConst(ins);
        switch (op) {
            case "Constant" -> {
                consts.put(out, constantValue(at));
                if (at.get("value") != null) {
                    qdq.type(out, at.get("value").getT().getDataType());
                }
            }
            case "QuantizeLinear" -> {
                if (folded) {
                    throw new IllegalArgumentException("QuantizeLinear of a constant is unsupported: zeroq reads QDQ "
                            + "weights stored as int8 initializers behind DequantizeLinear");
                }
                qdq.quantize(name, real(ins.get(0)), out, konst(ins.get(1), "its scale input"),
                        ins.size() > 2 && !ins.get(2).isEmpty() ? ins.get(2) : null,
                        ins.size() > 2 && !ins.get(2).isEmpty() ? konst(ins.get(2), "its zero point input") : null);
            }
            case "DequantizeLinear" -> {
                Const zp = ins.size() > 2 && !ins.get(2).isEmpty() ? konst(ins.get(2), "its zero point input") : null;
                if (qdq.isQuantized(ins.get(0))) {
                    qdq.dequantizeActivation(name, ins.get(0), out, konst(ins.get(1), "its scale input"), zp);
                } else if (consts.containsKey(ins.get(0)) && !computed.contains(ins.get(0))) {
                    consts.put(out, qdq.dequantizeWeight(name, ins.get(0), konst(ins.get(0)), out,
                            konst(ins.get(1), "its scale input"), zp == null ? null : ins.get(2), zp, at.getInt("axis", 1)));
                } else {
                    throw new IllegalArgumentException("it reads '" + ins.get(0) + "', which is neither a constant int8 "
                            + "weight nor the output of a QuantizeLinear; this QDQ pattern is unsupported");
                }
            }
            case "Identity", "Dropout" -> {
                dropExtraOutputs(n, 1, "the mask output of Dropout '" + name + "'");
                if (folded) {
                    consts.put(out, konst(ins.getFirst()));
                } else {
                    emit(name, new Op.Identity(), List.of(real(ins.getFirst())), List.of(out));
                }
            }
            case "Shape" -> consts.put(out, shapeOf(ins.getFirst(), at));
            case "Gather" -> {
                requireConst(ins, "Gather on a computed tensor");
                consts.put(out, Folding.gather(konst(ins.get(0)), konst(ins.get(1)), (int) at.getInt("axis", 0)));
            }
            case "ConstantOfShape" -> consts.put(out, constantOfShape(konst(ins.getFirst(), "its shape input"), at));
            case "Cast" -> cast(name, ins.getFirst(), out, (int) at.getInt("to", DataType.FLOAT_VALUE), folded);
            case "Add", "Sub", "Mul", "Div" -> binary(name, op, ins, out, folded);
            case "Unsqueeze", "Squeeze" -> squeeze(name, op, ins, out, at, folded);
            case "Reshape" -> reshape(name, ins, out, at);
            case "Concat" -> concat(name, ins, out, at, folded);
            case "Slice" -> slice(name, ins, out, at, folded);
            case "Conv" -> conv(name, ins, out, at);
            case "BatchNormalization" -> {
                dropExtraOutputs(n, 1, null);
                if (at.getInt("training_mode", 0) != 0) {
                    throw new IllegalArgumentException("training_mode=1; export the model in eval mode");
                }
                List<String> xs = new ArrayList<>();
                for (int i = 0; i < 5; i++) {
                    xs.add(real(ins.get(i)));
                }
                emit(name, new Op.BatchNorm(at.getFloat("epsilon", 1e-5f)), xs, List.of(out));
            }
            case "Relu" -> unary(name, new Activation.Relu(), ins, out);
            case "Sigmoid" -> unary(name, new Activation.Sigmoid(), ins, out);
            case "HardSwish" -> unary(name, new Activation.HardSwish(), ins, out);
            case "LeakyRelu" -> unary(name, new Activation.LeakyRelu(at.getFloat("alpha", 0.01f)), ins, out);
            case "HardSigmoid" -> unary(name, new Activation.HardSigmoid(at.getFloat("alpha", 0.2f),
                    at.getFloat("beta", 0.5f)), ins, out);
            case "Clip" -> {
                // Opset < 11 carries min/max as attributes, later opsets as optional scalar inputs.
                float lo = ins.size() > 1 && !ins.get(1).isEmpty() ? scalar(ins.get(1), "min")
                        : at.getFloat("min", Float.NEGATIVE_INFINITY);
                float hi = ins.size() > 2 && !ins.get(2).isEmpty() ? scalar(ins.get(2), "max")
                        : at.getFloat("max", Float.POSITIVE_INFINITY);
                unary(name, new Activation.Clip(lo, hi), ins, out);
            }
            case "MaxPool", "AveragePool" -> pool(n, name, op, ins, out, at);
            case "GlobalAveragePool" -> emit(name, new Op.GlobalAveragePool(), List.of(real(ins.getFirst())), List.of(out));
            case "ReduceMean" -> reduceMean(name, ins, out, at);
            case "Flatten" -> {
                int r = shape1(ins.getFirst()).length;
                int axis = (int) at.getInt("axis", 1);
                int a = axis < 0 ? axis + r : axis;
                if (a < 0 || a > r) {
                    throw new IllegalArgumentException("axis " + axis + " out of range for rank " + r);
                }
                emit(name, new Op.Flatten(a), List.of(real(ins.getFirst())), List.of(out));
            }
            case "Transpose" -> {
                int r = shape1(ins.getFirst()).length;
                int[] perm = new int[r];
                long[] p = at.getInts("perm");
                for (int i = 0; i < r; i++) {
                    perm[i] = p == null ? r - 1 - i : Shapes.axis(Math.toIntExact(p[i]), r);
                }
                if (p != null && p.length != r) {
                    throw new IllegalArgumentException("perm has " + p.length + " entries for rank " + r);
                }
                emit(name, new Op.Transpose(perm), List.of(real(ins.getFirst())), List.of(out));
            }
            case "Split" -> split(n, name, ins, at);
            case "Gemm" -> {
                List<String> xs = new ArrayList<>(List.of(real(ins.get(0)), real(ins.get(1))));
                if (ins.size() > 2 && !ins.get(2).isEmpty()) {
                    xs.add(real(ins.get(2)));
                }
                emit(name, new Op.Gemm(at.getFloat("alpha", 1f), at.getFloat("beta", 1f),
                        at.getInt("transA", 0) != 0, at.getInt("transB", 0) != 0), xs, List.of(out));
            }
            case "MatMul" -> emit(name, new Op.MatMul(), List.of(real(ins.get(0)), real(ins.get(1))), List.of(out));
            default -> throw new IllegalStateException("op " + op + " passed the support check but has no converter");
        }
    }

    private void unary(String name, Activation fn, List<String> ins, String out) {
        emit(name, new Op.Unary(fn), List.of(real(ins.getFirst())), List.of(out));
    }

    /** Marks outputs past {@code keep} as not computed; {@code why == null} means they must not exist at all. */
    private void dropExtraOutputs(NodeProto n, int keep, String why) {
        for (int i = keep; i < n.getOutputCount(); i++) {
            String o = n.getOutput(i);
            if (o.isEmpty()) {
                continue;
            }
            if (why == null) {
                throw new IllegalArgumentException("output " + i + " ('" + o + "') is only produced in training; "
                        + "export the model in eval mode");
            }
            dropped.put(o, why);
        }
    }

    private void conv(String name, List<String> ins, String out, Attributes at) {
        int[] x = shape1(ins.get(0));
        int[] w = shape1(ins.get(1));
        if (x.length != 4 || w.length != 4) {
            throw new IllegalArgumentException("only 2-D convolutions are supported (input rank " + x.length + ")");
        }
        int[] k = at.has("kernel_shape") ? at.getInts("kernel_shape", 2, 1) : new int[] {w[2], w[3]};
        int[] strides = at.getInts("strides", 2, 1);
        int[] dil = at.getInts("dilations", 2, 1);
        int[] pads = pads(at, x, k, strides, dil);
        ConvSpec spec = new ConvSpec(k, strides, pads, dil, (int) at.getInt("group", 1));
        List<String> xs = new ArrayList<>(List.of(real(ins.get(0)), real(ins.get(1))));
        if (ins.size() > 2 && !ins.get(2).isEmpty()) {
            xs.add(real(ins.get(2)));
        }
        emit(name, new Op.Conv(spec), xs, List.of(out));
    }

    /** Explicit (top, left, bottom, right) pads from pads or auto_pad, for the inferred input size. */
    private static int[] pads(Attributes at, int[] x, int[] k, int[] s, int[] d) {
        String auto = at.getString("auto_pad", "NOTSET");
        switch (auto) {
            case "NOTSET", "" -> {
                return at.getInts("pads", 4, 0);
            }
            case "VALID" -> {
                return new int[4];
            }
            case "SAME_UPPER", "SAME_LOWER" -> {
                // SAME keeps out = ceil(in / stride); the odd pixel of padding goes at the end (UPPER) or start.
                int[] p = new int[4];
                for (int i = 0; i < 2; i++) {
                    int in = x[2 + i];
                    int outSize = (in + s[i] - 1) / s[i];
                    int total = Math.max(0, (outSize - 1) * s[i] + (k[i] - 1) * d[i] + 1 - in);
                    int small = total / 2;
                    p[i] = auto.equals("SAME_UPPER") ? small : total - small;
                    p[i + 2] = total - p[i];
                }
                return p;
            }
            default -> throw new IllegalArgumentException("unknown auto_pad '" + auto + "'");
        }
    }

    private void pool(NodeProto n, String name, String op, List<String> ins, String out, Attributes at) {
        if (n.getOutputCount() > 1 && !n.getOutput(1).isEmpty()) {
            throw new IllegalArgumentException("the Indices output ('" + n.getOutput(1) + "') is unsupported; "
                    + "export MaxPool without return_indices");
        }
        int[] x = shape1(ins.getFirst());
        if (x.length != 4) {
            throw new IllegalArgumentException("only 2-D pooling is supported (input rank " + x.length + ")");
        }
        if (!at.has("kernel_shape")) {
            throw new IllegalArgumentException("kernel_shape is missing");
        }
        int[] k = at.getInts("kernel_shape", 2, 1);
        int[] strides = at.getInts("strides", 2, 1);
        int[] dil = at.getInts("dilations", 2, 1);
        boolean ceil = at.getInt("ceil_mode", 0) != 0;
        int[] pads = pads(at, x, k, strides, dil);
        Op o;
        if (op.equals("MaxPool")) {
            o = new Op.MaxPool(new PoolSpec(k, strides, pads, dil, ceil, false));
        } else {
            if (dil[0] != 1 || dil[1] != 1) {
                throw new IllegalArgumentException("dilated average pooling is unsupported");
            }
            o = new Op.AveragePool(new PoolSpec(k, strides, pads, dil, ceil, at.getInt("count_include_pad", 0) != 0));
        }
        emit(name, o, List.of(real(ins.getFirst())), List.of(out));
    }

    private void reduceMean(String name, List<String> ins, String out, Attributes at) {
        int r = shape1(ins.getFirst()).length;
        long[] axes = ins.size() > 1 && !ins.get(1).isEmpty() ? konst(ins.get(1), "its axes input").asLongs()
                : at.getInts("axes");
        if (axes == null || axes.length == 0) {
            if (at.getInt("noop_with_empty_axes", 0) != 0) {
                emit(name, new Op.Identity(), List.of(real(ins.getFirst())), List.of(out));
                return;
            }
            axes = new long[r];
            for (int i = 0; i < r; i++) {
                axes[i] = i;
            }
        }
        int[] norm = Arrays.stream(axes).mapToInt(a -> Shapes.axis(Math.toIntExact(a), r))
                .sorted().distinct().toArray();
        emit(name, new Op.ReduceMean(norm, at.getInt("keepdims", 1) != 0), List.of(real(ins.getFirst())), List.of(out));
    }

    private void split(NodeProto n, String name, List<String> ins, Attributes at) {
        int[] x = shape1(ins.getFirst());
        int[] x2 = shape2(ins.getFirst());
        int axis = Shapes.axis((int) at.getInt("axis", 0), x.length);
        if (x[axis] != x2[axis]) {
            throw new IllegalArgumentException("splitting along the batch axis is unsupported");
        }
        int dim = x[axis];
        int count = n.getOutputCount();
        long[] sizes;
        if (ins.size() > 1 && !ins.get(1).isEmpty()) {
            sizes = konst(ins.get(1), "its split input").asLongs();
        } else if (at.has("split")) {
            sizes = at.getInts("split");
        } else {
            // Equal parts; opset 18's num_outputs lets the last part be smaller (chunk = ceil(dim / n)).
            int parts = at.has("num_outputs") ? (int) at.getInt("num_outputs", count) : count;
            if (!at.has("num_outputs") && dim % parts != 0) {
                throw new IllegalArgumentException("dimension " + dim + " does not split into " + parts + " equal parts");
            }
            int chunk = (dim + parts - 1) / parts;
            sizes = new long[parts];
            for (int i = 0; i < parts; i++) {
                sizes[i] = Math.min(chunk, dim - (long) chunk * i);
            }
        }
        if (sizes.length != count) {
            throw new IllegalArgumentException(sizes.length + " split sizes for " + count + " outputs");
        }
        long total = Arrays.stream(sizes).sum();
        if (total != dim) {
            throw new IllegalArgumentException("split sizes add up to " + total + ", dimension is " + dim);
        }
        emit(name, new Op.Split(axis, Arrays.stream(sizes).mapToInt(Math::toIntExact).toArray()),
                List.of(real(ins.getFirst())), n.getOutputList());
    }

    private void binary(String name, String op, List<String> ins, String out, boolean folded) {
        if (folded) {
            Folding.Arith a = Folding.Arith.valueOf(op.toUpperCase());
            consts.put(out, Folding.arith(konst(ins.get(0)), konst(ins.get(1)), a));
            return;
        }
        BinaryOp kind = BinaryOp.valueOf(op.toUpperCase());
        emit(name, new Op.Binary(kind), List.of(real(ins.get(0)), real(ins.get(1))), List.of(out));
    }

    private void cast(String name, String in, String out, int to, boolean folded) {
        DataType type = DataType.forNumber(to);
        boolean toFloat = type == DataType.FLOAT || type == DataType.DOUBLE || type == DataType.FLOAT16
                || type == DataType.BFLOAT16;
        if (!folded) {
            if (type != DataType.FLOAT) {
                throw new IllegalArgumentException("Cast of a computed tensor to " + type + " is unsupported; "
                        + "zeroq computes in float32");
            }
            emit(name, new Op.Identity(), List.of(real(in)), List.of(out));
            return;
        }
        Const c = konst(in);
        if (toFloat) {
            if (c.hasBatch()) {
                throw new IllegalArgumentException("casting the batch size to float is unsupported");
            }
            consts.put(out, Const.ofFloats(c.shape(), c.asFloats()));
        } else if (type == DataType.BOOL) {
            long[] v = c.asLongs();
            for (int i = 0; i < v.length; i++) {
                v[i] = c.at(i) != 0 ? 1 : 0;
            }
            consts.put(out, Const.ofInts(c.shape(), v));
        } else {
            consts.put(out, Const.ofInts(c.shape(), c.asLongs()));
        }
    }

    private void squeeze(String name, String op, List<String> ins, String out, Attributes at, boolean folded) {
        long[] axes = ins.size() > 1 && !ins.get(1).isEmpty() ? konst(ins.get(1), "its axes input").asLongs()
                : at.getInts("axes");
        boolean unsq = op.equals("Unsqueeze");
        if (unsq && axes == null) {
            throw new IllegalArgumentException("axes are missing");
        }
        String x = ins.getFirst();
        if (folded) {
            Const c = konst(x);
            int[] s = unsq ? Folding.unsqueezeShape(c.shape(), axes) : Folding.squeezeShape(c.shape(), axes);
            consts.put(out, c.withShape(s));
            return;
        }
        int[] s1 = shape1(x);
        int[] s2 = shape2(x);
        if (axes == null) {
            // Without axes Squeeze drops every size-1 dimension; the batch is not one of them at run time.
            List<Long> ones = new ArrayList<>();
            for (int i = 0; i < s1.length; i++) {
                if (s1[i] == 1 && s2[i] == 1) {
                    ones.add((long) i);
                }
            }
            axes = ones.stream().mapToLong(Long::longValue).toArray();
        }
        int[] t1 = unsq ? Folding.unsqueezeShape(s1, axes) : Folding.squeezeShape(s1, axes);
        int[] t2 = unsq ? Folding.unsqueezeShape(s2, axes) : Folding.squeezeShape(s2, axes);
        emit(name, new Op.Reshape(batchTarget(t1, t2)), List.of(real(x)), List.of(out));
    }

    /** A Reshape target for a shape known at two batch sizes: equal dims stay, batch dims become BATCH. */
    private static int[] batchTarget(int[] t1, int[] t2) {
        int[] t = new int[t1.length];
        for (int i = 0; i < t.length; i++) {
            if (t1[i] == t2[i]) {
                t[i] = t1[i];
            } else if (t1[i] == B1 && t2[i] == B2) {
                t[i] = Op.Reshape.BATCH;
            } else {
                throw new IllegalArgumentException("dimension " + i + " grows with the batch size but is not the batch");
            }
        }
        return t;
    }

    private void reshape(String name, List<String> ins, String out, Attributes at) {
        Const target = konst(ins.get(1), "its shape input");
        long[] t = target.asLongs();
        boolean allowZero = at.getInt("allowzero", 0) != 0;
        int[] shape = new int[t.length];
        for (int i = 0; i < t.length; i++) {
            if (t[i] == Const.BATCH) {
                shape[i] = Op.Reshape.BATCH;
            } else if (t[i] == 0 && allowZero) {
                throw new IllegalArgumentException("allowzero=1 with a 0 in the target shape makes an empty tensor");
            } else {
                shape[i] = Math.toIntExact(t[i]);
            }
        }
        String x = ins.getFirst();
        if (!computed.contains(x)) {
            Const c = konst(x);
            if (target.hasBatch()) {
                throw new IllegalArgumentException("reshaping a constant to a batch-sized shape is unsupported");
            }
            consts.put(out, c.withShape(ShapeInference.reshape(c.shape(), shape, B1)));
            return;
        }
        emit(name, new Op.Reshape(shape), List.of(real(x)), List.of(out));
    }

    private void concat(String name, List<String> ins, String out, Attributes at, boolean folded) {
        if (!at.has("axis")) {
            throw new IllegalArgumentException("axis is missing");
        }
        int axis = (int) at.getInt("axis", 0);
        List<String> xs = ins.stream().filter(s -> !s.isEmpty()).toList();
        if (folded) {
            consts.put(out, Folding.concat(xs.stream().map(this::konst).toList(), axis));
            return;
        }
        int r = shape1(xs.getFirst()).length;
        List<String> reals = xs.stream().map(this::real).toList();
        emit(name, new Op.Concat(Shapes.axis(axis, r)), reals, List.of(out));
    }

    private void slice(String name, List<String> ins, String out, Attributes at, boolean folded) {
        String x = ins.getFirst();
        int r = shape1(x).length;
        long[] starts;
        long[] ends;
        long[] axes = null;
        long[] steps = null;
        if (ins.size() > 1) {
            starts = konst(ins.get(1), "its starts input").asLongs();
            ends = konst(ins.get(2), "its ends input").asLongs();
            if (ins.size() > 3 && !ins.get(3).isEmpty()) {
                axes = konst(ins.get(3), "its axes input").asLongs();
            }
            if (ins.size() > 4 && !ins.get(4).isEmpty()) {
                steps = konst(ins.get(4), "its steps input").asLongs();
            }
        } else {
            // Opset < 10 form.
            starts = at.getInts("starts");
            ends = at.getInts("ends");
            axes = at.getInts("axes");
            if (starts == null || ends == null) {
                throw new IllegalArgumentException("starts/ends are missing");
            }
        }
        int k = starts.length;
        if (ends.length != k || (axes != null && axes.length != k) || (steps != null && steps.length != k)) {
            throw new IllegalArgumentException("starts, ends, axes and steps differ in length");
        }
        int[] ax = new int[k];
        for (int i = 0; i < k; i++) {
            ax[i] = axes == null ? i : Shapes.axis(Math.toIntExact(axes[i]), r);
        }
        if (steps == null) {
            steps = new long[k];
            Arrays.fill(steps, 1);
        }
        for (long s : steps) {
            if (s == 0) {
                throw new IllegalArgumentException("a step is 0");
            }
        }
        if (folded) {
            consts.put(out, Folding.slice(konst(x), starts, ends, ax, steps));
            return;
        }
        emit(name, new Op.Slice(starts, ends, ax, steps), List.of(real(x)), List.of(out));
    }

    // ---- constants -----------------------------------------------------------------------------------------

    private Const constantValue(Attributes at) {
        AttributeProto a;
        if ((a = at.get("value")) != null) {
            return TensorData.decode(a.getT(), "the value of Constant");
        }
        if ((a = at.get("value_float")) != null) {
            return Const.ofFloats(new int[0], a.getF());
        }
        if ((a = at.get("value_floats")) != null) {
            float[] v = new float[a.getFloatsCount()];
            for (int i = 0; i < v.length; i++) {
                v[i] = a.getFloats(i);
            }
            return Const.ofFloats(new int[] {v.length}, v);
        }
        if ((a = at.get("value_int")) != null) {
            return Const.ofInts(new int[0], a.getI());
        }
        if ((a = at.get("value_ints")) != null) {
            return Const.ofInts(new int[] {a.getIntsCount()}, at.getInts("value_ints"));
        }
        throw new IllegalArgumentException("only tensor, float and int Constant values are supported");
    }

    private Const constantOfShape(Const shape, Attributes at) {
        if (shape.hasBatch()) {
            throw new IllegalArgumentException("a batch-sized constant is unsupported");
        }
        int[] s = Arrays.stream(shape.asLongs()).mapToInt(Math::toIntExact).toArray();
        int n = Const.foldedSize(s);
        AttributeProto v = at.get("value");
        Const fill = v == null ? Const.ofFloats(new int[] {1}, 0f) : TensorData.decode(v.getT(), "the value of ConstantOfShape");
        if (fill.isInt()) {
            long[] out = new long[n];
            Arrays.fill(out, fill.ints()[0]);
            return Const.ofInts(s, out);
        }
        float[] out = new float[n];
        Arrays.fill(out, fill.floats()[0]);
        return Const.ofFloats(s, out);
    }

    /** Shape of a constant, or of a computed value with its batch dimension as {@link Const#BATCH}. */
    private Const shapeOf(String x, Attributes at) {
        long[] dims;
        if (computed.contains(x)) {
            int[] s1 = shape1(x);
            int[] s2 = shape2(x);
            dims = new long[s1.length];
            for (int i = 0; i < s1.length; i++) {
                if (s1[i] == s2[i]) {
                    dims[i] = s1[i];
                } else if (s1[i] == B1 && s2[i] == B2) {
                    dims[i] = Const.BATCH;
                } else {
                    throw new IllegalArgumentException("dimension " + i + " of '" + x + "' grows with the batch size "
                            + "but is not the batch; zeroq cannot fold its shape");
                }
            }
        } else {
            dims = Arrays.stream(konst(x).shape()).asLongStream().toArray();
        }
        int r = dims.length;
        // Opset 15 added start/end to take a range of the dimensions.
        int start = (int) Math.clamp(norm(at.getInt("start", 0), r), 0, r);
        int end = (int) Math.clamp(norm(at.getInt("end", r), r), 0, r);
        long[] picked = Arrays.copyOfRange(dims, start, Math.max(start, end));
        return Const.ofInts(new int[] {picked.length}, picked);
    }

    private static long norm(long axis, int r) {
        return axis < 0 ? axis + r : axis;
    }

    private float scalar(String name, String what) {
        Const c = konst(name, "its " + what + " input");
        if (c.size() != 1 || c.hasBatch()) {
            throw new IllegalArgumentException(what + " must be a scalar");
        }
        return (float) c.at(0);
    }

    private boolean allConst(List<String> ins) {
        boolean any = false;
        for (String in : ins) {
            if (in.isEmpty()) {
                continue;
            }
            if (!consts.containsKey(in) || computed.contains(in)) {
                return false;
            }
            any = true;
        }
        return any;
    }

    private void requireConst(List<String> ins, String what) {
        if (!allConst(ins)) {
            throw new IllegalArgumentException(what + " is unsupported; zeroq folds it only on constant inputs");
        }
    }

    private Const konst(String name) {
        return konst(name, "'" + name + "'");
    }

    private Const konst(String name, String what) {
        Const c = consts.get(name);
        if (c == null) {
            throw new IllegalArgumentException(what + " must be a constant (an initializer or computed from shapes)");
        }
        return c;
    }

    // ---- IR nodes ------------------------------------------------------------------------------------------

    /** The value name for an IR node input; a constant it names becomes a float parameter. */
    private String real(String name) {
        if (shape1.containsKey(name)) {
            return name;
        }
        Const c = konst(name);
        if (c.hasBatch()) {
            throw new IllegalArgumentException("'" + name + "' holds the batch size, which zeroq cannot use as data");
        }
        params.put(name, new Tensor(c.asFloats(), c.shape()));
        shape1.put(name, c.shape());
        shape2.put(name, c.shape());
        return name;
    }

    private int[] shape1(String name) {
        int[] s = shape1.get(name);
        return s != null ? s : konst(name).shape();
    }

    private int[] shape2(String name) {
        int[] s = shape2.get(name);
        return s != null ? s : konst(name).shape();
    }

    /** Adds an IR node and records its output shapes at both nominal batch sizes. */
    private void emit(String name, Op op, List<String> ins, List<String> outs) {
        int[][] in1 = new int[ins.size()][];
        int[][] in2 = new int[ins.size()][];
        for (int i = 0; i < in1.length; i++) {
            in1[i] = shape1.get(ins.get(i));
            in2[i] = shape2.get(ins.get(i));
        }
        int[][] out1 = ShapeInference.outputShapes(op, in1, B1);
        int[][] out2 = ShapeInference.outputShapes(op, in2, B2);
        nodes.add(new Node(name, op, ins, outs));
        for (int i = 0; i < outs.size(); i++) {
            shape1.put(outs.get(i), out1[i]);
            shape2.put(outs.get(i), out2[i]);
            computed.add(outs.get(i));
        }
    }
}
