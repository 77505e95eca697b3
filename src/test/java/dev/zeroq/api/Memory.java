// Heap and direct-memory readings for the reliability tests, taken after a full GC so that figures
// compare live data, not garbage that happens not to be collected yet.
package dev.zeroq.api;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;

record Memory(long heapUsed, long directUsed) {
    static Memory afterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        long direct = 0;
        for (BufferPoolMXBean b : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (b.getName().equals("direct")) {
                direct = b.getMemoryUsed();
            }
        }
        return new Memory(heap, direct);
    }

    @Override
    public String toString() {
        return String.format("heap %.1f MiB, direct %.1f KiB", heapUsed / 1048576.0, directUsed / 1024.0);
    }
}
