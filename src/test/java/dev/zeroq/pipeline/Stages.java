// A ZeroQ.Listener that keeps every stage line, for the GPU pipeline tests (PipelineCudaTest, SensitivityCudaTest) to
// check that a CUDA run really ran device-resident.
package dev.zeroq.pipeline;

import java.util.ArrayList;
import java.util.List;

final class Stages implements ZeroQ.Listener {
    final List<String> lines = new ArrayList<>();

    @Override
    public void stage(String description) {
        lines.add(description);
    }
}
