package dev.zeroq.onnx;

import dev.zeroq.ZeroqException;
import dev.zeroq.onnx.proto.AttributeProto;
import dev.zeroq.onnx.proto.NodeProto;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/** Typed access to a node's attributes with the ONNX defaults supplied by the caller. */
final class Attributes {
    private final Map<String, AttributeProto> byName = new HashMap<>();
    private final String node;

    Attributes(NodeProto n, String nodeName) {
        for (AttributeProto a : n.getAttributeList()) {
            byName.put(a.getName(), a);
        }
        this.node = nodeName;
    }

    boolean has(String name) {
        return byName.containsKey(name);
    }

    long getInt(String name, long dflt) {
        AttributeProto a = byName.get(name);
        return a == null ? dflt : a.getI();
    }

    float getFloat(String name, float dflt) {
        AttributeProto a = byName.get(name);
        return a == null ? dflt : a.getF();
    }

    String getString(String name, String dflt) {
        AttributeProto a = byName.get(name);
        return a == null ? dflt : a.getS().toStringUtf8();
    }

    /** The ints of a list attribute, or null when absent. */
    long[] getInts(String name) {
        AttributeProto a = byName.get(name);
        if (a == null) {
            return null;
        }
        long[] v = new long[a.getIntsCount()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.getInts(i);
        }
        return v;
    }

    /** A list attribute as ints of a given length, or {@code dflt} when absent. */
    int[] getInts(String name, int length, int dflt) {
        long[] v = getInts(name);
        int[] out = new int[length];
        if (v == null) {
            Arrays.fill(out, dflt);
            return out;
        }
        if (v.length != length) {
            throw ZeroqException.badInput("node '" + node + "': attribute " + name + " needs " + length
                    + " values, got " + v.length);
        }
        for (int i = 0; i < length; i++) {
            out[i] = Math.toIntExact(v[i]);
        }
        return out;
    }

    AttributeProto get(String name) {
        return byName.get(name);
    }
}
