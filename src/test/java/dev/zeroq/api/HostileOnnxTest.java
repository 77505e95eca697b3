// Hand-made hostile ONNX models: declared sizes that overflow or that folding would turn into huge
// constants. Random byte flips rarely build these, so they are written out here.
package dev.zeroq.api;

import dev.zeroq.ZeroqException;
import dev.zeroq.io.Bundled;
import dev.zeroq.onnx.proto.GraphProto;
import dev.zeroq.onnx.proto.ModelProto;
import dev.zeroq.onnx.proto.NodeProto;
import dev.zeroq.onnx.proto.TensorProto;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HostileOnnxTest {
    private static ModelProto bundled() throws Exception {
        return ModelProto.parseFrom(Bundled.model("resnet_fmnist"));
    }

    private static void rejected(ModelProto m, String expect) {
        ZeroqException e = assertThrows(ZeroqException.class, () -> Model.fromBytes(m.toByteArray(), "hostile.onnx"));
        assertTrue(e.getMessage().contains(expect), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void initializerDimsOverflow() throws Exception {
        ModelProto m = bundled();
        GraphProto.Builder g = m.getGraph().toBuilder();
        TensorProto t = g.getInitializer(0).toBuilder().clearDims()
                .addAllDims(List.of(2147483647L, 2147483647L, 2147483647L)).build();
        g.setInitializer(0, t);
        rejected(m.toBuilder().setGraph(g).build(), "damaged");
    }

    @Test
    void initializerDimsBeyondTheBytes() throws Exception {
        ModelProto m = bundled();
        GraphProto.Builder g = m.getGraph().toBuilder();
        g.setInitializer(0, g.getInitializer(0).toBuilder().clearDims().addAllDims(List.of(65536L, 65536L)).build());
        rejected(m.toBuilder().setGraph(g).build(), "damaged");
    }

    /** ConstantOfShape with a constant shape of 4·10^8 values: folding must refuse, not allocate 3.2 GB. */
    @Test
    void constantOfShapeHuge() throws Exception {
        ModelProto m = bundled();
        GraphProto.Builder g = m.getGraph().toBuilder();
        g.addInitializer(TensorProto.newBuilder().setName("hostile_shape").setDataType(TensorProto.DataType.INT64_VALUE)
                .addDims(2).addInt64Data(20000).addInt64Data(20000));
        g.addNode(0, NodeProto.newBuilder().setOpType("ConstantOfShape").setName("hostile").addInput("hostile_shape")
                .addOutput("hostile_out"));
        rejected(m.toBuilder().setGraph(g).build(), "folds constants up to");
    }

    /** Concat of one initializer with itself thousands of times: a small file, a huge folded constant. */
    @Test
    void concatBlowUp() throws Exception {
        ModelProto m = bundled();
        GraphProto.Builder g = m.getGraph().toBuilder();
        TensorProto w = g.getInitializerList().stream().max((a, b) -> Integer.compare(a.getRawData().size(),
                b.getRawData().size())).orElseThrow();
        NodeProto.Builder n = NodeProto.newBuilder().setOpType("Concat").setName("hostile").addOutput("hostile_out")
                .addAttribute(dev.zeroq.onnx.proto.AttributeProto.newBuilder().setName("axis").setI(0)
                        .setType(dev.zeroq.onnx.proto.AttributeProto.AttributeType.INT));
        for (int i = 0; i < 2000; i++) {
            n.addInput(w.getName());
        }
        g.addNode(0, n);
        rejected(m.toBuilder().setGraph(g).build(), "folds constants up to");
    }
}
