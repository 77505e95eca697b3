package dev.zeroq.report;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LapsTest {
    @Test
    void partsAddUpByNameInTheOrderTheyFirstRan() throws InterruptedException {
        Laps l = new Laps();
        Thread.sleep(20);
        l.lap("a");
        l.add("b", 1_500_000_000L);
        l.add("a", 1_000_000_000L);
        assertTrue(l.seconds("a") >= 1.02 && l.seconds("a") < 1.5, "a " + l.seconds("a"));
        assertEquals(1.5, l.seconds("b"), 1e-12);
        assertEquals(0, l.seconds("c"));
        assertEquals(l.seconds("a") + 1.5, l.total(), 1e-9);
        assertTrue(l.toString().matches("2\\.5[0-9] s \\(a 1\\.0[0-9] s, b 1\\.50 s\\)"), l.toString());
        assertEquals("0.00 s", new Laps().toString());
    }
}
