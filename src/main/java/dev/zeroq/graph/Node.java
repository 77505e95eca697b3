package dev.zeroq.graph;

import java.util.List;

/** One operation of the graph: its op, and the names of the values it reads and writes. */
public record Node(String name, Op op, List<String> inputs, List<String> outputs) {
    public Node {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
    }

    public String input(int i) {
        return inputs.get(i);
    }

    public String output() {
        return outputs.getFirst();
    }
}
