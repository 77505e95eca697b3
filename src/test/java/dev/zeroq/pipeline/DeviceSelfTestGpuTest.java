// zeroq doctor's engine checks on a real device: all three pass on cuda:0.
package dev.zeroq.pipeline;

import dev.zeroq.backend.SelfTest;
import dev.zeroq.backend.cuda.GpuTests;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Tag("gpu")
class DeviceSelfTestGpuTest {
    @BeforeAll
    static void requireCuda() {
        GpuTests.requireCuda();
    }

    @Test
    void theDeviceEnginesAgreeWithTheCpu() {
        List<SelfTest.Check> checks = DeviceSelfTest.run(0);
        assertEquals(3, checks.size());
        for (SelfTest.Check c : checks) {
            System.out.println("DOCTOR " + c);
            assertTrue(c.ok(), c.toString());
        }
    }
}
