package dev.zeroq.cli;

import dev.zeroq.backend.Backend;
import dev.zeroq.backend.SelfTest;
import dev.zeroq.backend.cpu.CpuBackend;
import dev.zeroq.backend.cuda.CudaAvailability;
import dev.zeroq.backend.cuda.CudaBackend;
import dev.zeroq.backend.cuda.CudnnConv;
import dev.zeroq.pipeline.DeviceSelfTest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code zeroq doctor}: what this machine offers zeroq, a self-test of every backend found, and on CUDA of the
 * device-resident engines (forward pass, distillation, int8) against the CPU.
 */
@Command(name = "doctor", description = "Show devices, driver and kernels, and self-test each backend against the reference.")
final class DoctorCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Override
    public Integer call() {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("java", Runtime.version().toString());
        o.put("cpuThreads", Runtime.getRuntime().availableProcessors());
        CudaAvailability cuda = CudaAvailability.probe();
        o.put("cuda", Map.of("usable", cuda.usable(), "reason", cuda.reason() == null ? "" : cuda.reason(),
                "devices", cuda.deviceCount(), "driverVersion", cuda.driverVersion()));
        CudnnConv.Availability cudnn = CudnnConv.available();
        o.put("cudnn", Map.of("usable", cudnn.usable(), "reason", cudnn.reason(), "version", cudnn.version(),
                "library", cudnn.library()));
        List<Map<String, Object>> tests = new ArrayList<>();
        boolean allOk = selfTest(new CpuBackend(), tests);
        String cudaDevice = null;
        if (cuda.usable()) {
            try (CudaBackend b = new CudaBackend(0)) {
                cudaDevice = b.name();
                allOk &= selfTest(b, tests);
            }
            // The device-resident engines (forward pass, distillation, int8) against the CPU on the bundled fixture.
            allOk &= rows(cudaDevice + " engine", DeviceSelfTest.run(0), tests);
        }
        o.put("selfTest", tests);
        if (common.json) {
            Output.json(System.out, o);
            return allOk ? 0 : 1;
        }
        System.out.printf("java        %s, %d CPU threads%n", Runtime.version(), Runtime.getRuntime().availableProcessors());
        System.out.printf("cuda        %s%n", cuda.usable()
                ? cuda.deviceCount() + " device(s), driver " + cuda.driverVersion() / 1000 + "." + cuda.driverVersion() % 1000 / 10
                  + (cudaDevice != null ? ", self-test on " + cudaDevice : "")
                : "not usable: " + cuda.reason());
        System.out.printf("cudnn       %s%n", cudnn.usable()
                ? "version " + cudnn.version() + " from " + cudnn.library()
                        + " (--conv auto: per convolution where faster; --conv cudnn: everywhere)"
                : "not usable: " + cudnn.reason());
        System.out.println();
        Output.Table t = new Output.Table("backend", "op", "max |error|", "result");
        for (Map<String, Object> row : tests) {
            t.row(row.get("backend"), row.get("op"), row.get("maxError"), row.get("result"));
        }
        t.print(System.out);
        System.out.println(allOk ? "\nall self-tests passed" : "\nSOME SELF-TESTS FAILED (see the table)");
        return allOk ? 0 : 1;
    }

    private static boolean selfTest(Backend b, List<Map<String, Object>> rows) {
        return rows(b.name(), SelfTest.run(b), rows);
    }

    private static boolean rows(String backend, List<SelfTest.Check> checks, List<Map<String, Object>> rows) {
        boolean ok = true;
        for (SelfTest.Check c : checks) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("backend", backend);
            row.put("op", c.op());
            row.put("maxError", Double.isNaN(c.maxError()) ? "-" : String.format("%.2e", c.maxError()));
            row.put("result", c.ok() ? "ok" : "FAIL" + (c.error() != null ? ": " + c.error() : ""));
            rows.add(row);
            ok &= c.ok();
        }
        return ok;
    }
}
