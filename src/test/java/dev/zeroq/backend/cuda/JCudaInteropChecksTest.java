// The argument checks of zeroq on JCuda memory that need no GPU: buffer ranges and contexts (pure functions of what
// the driver reports), and opening a session where CUDA is unusable, which must fail cleanly before any JCuda call.
package dev.zeroq.backend.cuda;

import dev.zeroq.ZeroqException;
import dev.zeroq.api.JCudaSession;
import dev.zeroq.api.Model;
import jcuda.driver.CUcontext;
import jcuda.driver.CUstream;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class JCudaInteropChecksTest {
    @Test
    void aBufferMustHoldTheBytesFromItsAddressToTheEndOfItsAllocation() {
        // The whole allocation, and the tail of one (an offset CUdeviceptr): the bytes left are returned.
        assertEquals(9408, JCudaInterop.requireRange("input", 0x1000, 0x1000, 9408, 9408, "3 images"));
        assertEquals(10000 - 0x100, JCudaInterop.requireRange("input", 0x1100, 0x1000, 10000, 9408, "3 images"));

        ZeroqException e = assertThrows(ZeroqException.class, () -> JCudaInterop.requireRange("input", 0x1000, 0x1000,
                4096, 9408, "3 image(s) of (1, 28, 28) floats"));
        assertTrue(e.badInput());
        assertEquals("the input buffer holds 4096 bytes from 0x1000 to the end of its allocation, but 3 image(s) of "
                + "(1, 28, 28) floats take 9408 bytes; allocate at least 9408 bytes from that address", e.getMessage());
        // An offset that leaves too little, although the allocation itself is large enough.
        e = assertThrows(ZeroqException.class, () -> JCudaInterop.requireRange("output", 0x1000 + 100, 0x1000, 120, 40,
                "the output [1, 10] in floats"));
        assertTrue(e.getMessage().startsWith("the output buffer holds 20 bytes from 0x1064"), e.getMessage());
        // The driver placing an address outside its own range would be zeroq's bug, not the caller's.
        e = assertThrows(ZeroqException.class, () -> JCudaInterop.requireRange("input", 0x500, 0x1000, 4096, 4, "x"));
        assertFalse(e.badInput());
    }

    @Test
    void aBufferOfAnotherContextIsRefusedAndOneOfUnknownContextAccepted() {
        assertDoesNotThrow(() -> JCudaInterop.requireContext("input", 0xabc, 0xabc));
        assertDoesNotThrow(() -> JCudaInterop.requireContext("input", 0, 0xabc)); // e.g. virtually mapped memory
        ZeroqException e = assertThrows(ZeroqException.class, () -> JCudaInterop.requireContext("output", 0xdef, 0xabc));
        assertTrue(e.badInput());
        assertEquals("the output buffer was allocated in CUDA context 0xdef, but the session runs in 0xabc; allocate it"
                + " in the session's context, or open a session on its context", e.getMessage());
    }

    @Test
    void openingChecksItsArgumentsBeforeTouchingTheDevice() {
        Model model = Model.bundled("resnet_fmnist");
        assertThrows(NullPointerException.class, () -> JCudaSession.open(null, new CUcontext(), new CUstream(), 1));
        assertThrows(NullPointerException.class, () -> JCudaSession.open(model, null, new CUstream(), 1));
        assertThrows(NullPointerException.class, () -> JCudaSession.open(model, new CUcontext(), null, 1));
        ZeroqException e = assertThrows(ZeroqException.class,
                () -> JCudaSession.open(model, new CUcontext(), new CUstream(), 0));
        assertEquals("maxBatch must be at least 1, got 0", e.getMessage());
    }

    @Test
    void withoutCudaOpeningFailsWithTheReasonAndNoJCudaNativeCall() {
        CudaAvailability a = CudaAvailability.probe();
        assumeFalse(a.usable(), "CUDA is usable here; JCudaInteropTest covers this machine");
        // JCudaDriver's natives would fail to load here (no libcuda): an UnsatisfiedLinkError would mean a JCuda call
        // ran before the availability check.
        ZeroqException e = assertThrows(ZeroqException.class,
                () -> JCudaSession.open(Model.bundled("resnet_fmnist"), new CUcontext(), new CUstream(), 4));
        assertTrue(e.getMessage().startsWith("CUDA unavailable: "), e.getMessage());
    }
}
