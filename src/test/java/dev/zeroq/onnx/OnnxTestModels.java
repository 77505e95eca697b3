package dev.zeroq.onnx;

import com.google.protobuf.ByteString;
import dev.zeroq.onnx.proto.AttributeProto;
import dev.zeroq.onnx.proto.AttributeProto.AttributeType;
import dev.zeroq.onnx.proto.GraphProto;
import dev.zeroq.onnx.proto.ModelProto;
import dev.zeroq.onnx.proto.NodeProto;
import dev.zeroq.onnx.proto.OperatorSetIdProto;
import dev.zeroq.onnx.proto.TensorProto;
import dev.zeroq.onnx.proto.TensorShapeProto;
import dev.zeroq.onnx.proto.TypeProto;
import dev.zeroq.onnx.proto.ValueInfoProto;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Builds small ONNX models in memory for tests: an input with a shape (a negative dimension becomes the
 * symbolic batch "N"), float initializers, nodes with attributes and an opset, serialized to bytes.
 * Example: {@code model(13).input("x", -1, 3, 7, 5).node("Relu", List.of("x"), List.of("y")).output("y").bytes()}.
 */
public final class OnnxTestModels {
    private OnnxTestModels() {}

    public static Builder model(long opset) {
        return new Builder(opset);
    }

    public static final class Builder {
        private final ModelProto.Builder model = ModelProto.newBuilder();
        private final GraphProto.Builder graph = GraphProto.newBuilder().setName("test");
        private int count;

        private Builder(long opset) {
            // ONNX Runtime checks that the IR version is recent enough for the opset.
            model.setIrVersion(opset >= 21 ? 10 : opset >= 19 ? 9 : 8).setProducerName("zeroq-tests").setProducerVersion("1")
                    .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset));
        }

        /** A float32 graph input; a dimension below 0 is written as the symbolic "N". */
        public Builder input(String name, long... dims) {
            graph.addInput(valueInfo(name, dims));
            return this;
        }

        /** A graph input without any type information. */
        public Builder rawInput(ValueInfoProto v) {
            graph.addInput(v);
            return this;
        }

        public Builder output(String name) {
            graph.addOutput(ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                    .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE))));
            return this;
        }

        public Builder initializer(String name, float[] data, long... dims) {
            graph.addInitializer(floatTensor(name, data, dims));
            return this;
        }

        public Builder initializer(TensorProto t) {
            graph.addInitializer(t);
            return this;
        }

        /** Seeded uniform values in [-1, 1). */
        public Builder randomInitializer(String name, long seed, long... dims) {
            return initializer(name, random(seed, (int) numel(dims)), dims);
        }

        public Builder intInitializer(String name, long[] data, long... dims) {
            graph.addInitializer(intTensor(name, data, dims));
            return this;
        }

        /** A node named {@code <op lowercase>_<index>}. */
        public Builder node(String op, List<String> ins, List<String> outs, AttributeProto... attrs) {
            return namedNode(op.toLowerCase() + "_" + count, op, ins, outs, attrs);
        }

        public Builder namedNode(String name, String op, List<String> ins, List<String> outs, AttributeProto... attrs) {
            count++;
            graph.addNode(NodeProto.newBuilder().setName(name).setOpType(op).addAllInput(ins).addAllOutput(outs)
                    .addAllAttribute(List.of(attrs)));
            return this;
        }

        public ModelProto build() {
            return model.clone().setGraph(graph).build();
        }

        public byte[] bytes() {
            return build().toByteArray();
        }
    }

    public static ValueInfoProto valueInfo(String name, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(d < 0 ? TensorShapeProto.Dimension.newBuilder().setDimParam("N")
                    : TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
    }

    /** Float tensor stored as little-endian raw_data, the way most exporters write weights. */
    public static TensorProto floatTensor(String name, float[] data, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : data) {
            b.putFloat(v);
        }
        return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addAllDims(longs(dims)).setRawData(ByteString.copyFrom(b.array())).build();
    }

    /** INT64 tensor in the typed int64_data field. */
    public static TensorProto intTensor(String name, long[] data, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE)
                .addAllDims(longs(dims));
        for (long v : data) {
            t.addInt64Data(v);
        }
        return t.build();
    }

    public static AttributeProto attr(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeType.INT).setI(v).build();
    }

    public static AttributeProto attr(String name, float v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeType.FLOAT).setF(v).build();
    }

    public static AttributeProto attr(String name, String v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeType.STRING)
                .setS(ByteString.copyFromUtf8(v)).build();
    }

    public static AttributeProto attr(String name, TensorProto t) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeType.TENSOR).setT(t).build();
    }

    public static AttributeProto ints(String name, long... v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeType.INTS);
        for (long x : v) {
            a.addInts(x);
        }
        return a.build();
    }

    public static float[] random(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return v;
    }

    public static long numel(long... dims) {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    private static List<Long> longs(long... v) {
        return java.util.Arrays.stream(v).boxed().toList();
    }
}
