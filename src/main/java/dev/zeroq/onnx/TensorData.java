package dev.zeroq.onnx;

import dev.zeroq.ZeroqException;
import dev.zeroq.onnx.proto.TensorProto;
import dev.zeroq.onnx.proto.TensorProto.DataType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Decodes an ONNX TensorProto (raw little-endian bytes or the typed repeated fields) into a {@link Const}.
 * Float types (FLOAT, DOUBLE, FLOAT16, BFLOAT16) become floats, integer and BOOL types become longs.
 */
final class TensorData {
    private TensorData() {}

    /** @param what how to name the tensor in an error, e.g. "initializer 'w'" */
    static Const decode(TensorProto t, String what) {
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL || t.getExternalDataCount() > 0) {
            throw ZeroqException.badInput(what + " keeps its data in an external file, which zeroq does not read; "
                    + "re-save the model with all tensors inside it (onnx.save_model(..., save_as_external_data=False))");
        }
        int[] shape = new int[t.getDimsCount()];
        for (int i = 0; i < shape.length; i++) {
            long d = t.getDims(i);
            if (d < 0 || d > Integer.MAX_VALUE) {
                throw ZeroqException.badInput(what + " has an invalid dimension " + d);
            }
            shape[i] = (int) d;
        }
        // Initializers are decoded outside any node, so an overflow must become the user-facing error here.
        long count = 1;
        for (int d : shape) {
            count *= d;
            if (count > Integer.MAX_VALUE) {
                throw ZeroqException.badInput(what + " declares shape " + Arrays.toString(shape)
                        + ", more than 2^31 values; the model file is damaged");
            }
        }
        int n = (int) count;
        ByteBuffer raw = t.hasRawData() ? t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN) : null;
        DataType type = DataType.forNumber(t.getDataType());
        if (type == null) {
            throw unsupported(t, what);
        }
        Const c = switch (type) {
            case FLOAT -> {
                float[] v = new float[raw != null ? raw.remaining() / 4 : t.getFloatDataCount()];
                if (raw != null) {
                    raw.asFloatBuffer().get(v); // one bulk little-endian copy (a model's weights: tens of MB)
                } else {
                    for (int i = 0; i < v.length; i++) v[i] = t.getFloatData(i);
                }
                yield floats(shape, v, n, what);
            }
            case DOUBLE -> {
                float[] v = new float[raw != null ? raw.remaining() / 8 : t.getDoubleDataCount()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (raw != null ? raw.getDouble() : t.getDoubleData(i));
                }
                yield floats(shape, v, n, what);
            }
            // 16-bit floats sit bit-for-bit in the low half of int32_data when not in raw_data.
            case FLOAT16, BFLOAT16 -> {
                float[] v = new float[raw != null ? raw.remaining() / 2 : t.getInt32DataCount()];
                for (int i = 0; i < v.length; i++) {
                    short bits = raw != null ? raw.getShort() : (short) t.getInt32Data(i);
                    v[i] = type == DataType.FLOAT16 ? Float.float16ToFloat(bits)
                            : Float.intBitsToFloat((bits & 0xffff) << 16);
                }
                yield floats(shape, v, n, what);
            }
            case INT64 -> {
                long[] v = new long[raw != null ? raw.remaining() / 8 : t.getInt64DataCount()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = raw != null ? raw.getLong() : t.getInt64Data(i);
                }
                yield ints(shape, v, n, what);
            }
            case INT32, INT16, UINT16, INT8, UINT8, BOOL -> {
                int width = switch (type) {
                    case INT32 -> 4;
                    case INT16, UINT16 -> 2;
                    default -> 1;
                };
                long[] v = new long[raw != null ? raw.remaining() / width : t.getInt32DataCount()];
                for (int i = 0; i < v.length; i++) {
                    if (raw == null) {
                        v[i] = t.getInt32Data(i);
                    } else {
                        v[i] = switch (type) {
                            case INT32 -> raw.getInt();
                            case INT16 -> raw.getShort();
                            case UINT16 -> raw.getShort() & 0xffff;
                            case INT8 -> raw.get();
                            default -> raw.get() & 0xff;
                        };
                    }
                }
                yield ints(shape, v, n, what);
            }
            case UINT32, UINT64 -> {
                int width = type == DataType.UINT32 ? 4 : 8;
                long[] v = new long[raw != null ? raw.remaining() / width : t.getUint64DataCount()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = raw == null ? t.getUint64Data(i) : width == 4 ? raw.getInt() & 0xffffffffL : raw.getLong();
                }
                yield ints(shape, v, n, what);
            }
            default -> throw unsupported(t, what);
        };
        return c;
    }

    private static Const floats(int[] shape, float[] v, int n, String what) {
        checkCount(shape, v.length, n, what);
        return Const.ofFloats(shape, v);
    }

    private static Const ints(int[] shape, long[] v, int n, String what) {
        checkCount(shape, v.length, n, what);
        return Const.ofInts(shape, v);
    }

    private static void checkCount(int[] shape, int got, int n, String what) {
        if (got != n) {
            throw ZeroqException.badInput(what + " holds " + got + " values but its shape " + Arrays.toString(shape)
                    + " needs " + n + "; the model file is damaged");
        }
    }

    private static ZeroqException unsupported(TensorProto t, String what) {
        DataType type = DataType.forNumber(t.getDataType());
        return ZeroqException.badInput(what + " has data type " + (type != null ? type : t.getDataType())
                + ", which zeroq cannot read; convert the model to float32 weights");
    }
}
