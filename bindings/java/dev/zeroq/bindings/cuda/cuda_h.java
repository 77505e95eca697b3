// Bindings to the CUDA driver API (libcuda.so.1) in the shape jextract emits: one holder class per function
// with its FunctionDescriptor and MethodHandle, resolved once on first use. Regenerate with the command in
// bindings/README.md; see there for the two deliberate differences from jextract's output.
package dev.zeroq.bindings.cuda;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Optional;

@SuppressWarnings({"unused", "checkstyle:MethodName"})
public class cuda_h {

    cuda_h() {
        // Should not be called directly
    }

    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    public static final ValueLayout.OfLong C_LONG_LONG = ValueLayout.JAVA_LONG;
    public static final ValueLayout.OfFloat C_FLOAT = ValueLayout.JAVA_FLOAT;
    public static final AddressLayout C_POINTER = ValueLayout.ADDRESS
            .withTargetLayout(MemoryLayout.sequenceLayout(java.lang.Long.MAX_VALUE, ValueLayout.JAVA_BYTE));

    /** The shared object the driver installs (the unversioned libcuda.so comes only with development packages). */
    public static final String LIBRARY_NAME = "libcuda.so.1";

    // Difference 1 from jextract: a library that cannot be loaded is recorded, not thrown from the static
    // initializer, so callers can report why CUDA is unavailable instead of failing class initialization.
    private static final class Library {
        static final Arena ARENA = Arena.ofAuto();
        static final String ERROR;
        static final SymbolLookup LOOKUP;

        static {
            SymbolLookup lookup = name -> Optional.empty();
            String error = null;
            try {
                lookup = SymbolLookup.libraryLookup(LIBRARY_NAME, ARENA);
            } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
                error = LIBRARY_NAME + " could not be loaded: " + e.getMessage();
            }
            LOOKUP = lookup;
            ERROR = error;
        }
    }

    /** Why libcuda.so.1 could not be loaded, or empty when it was. */
    public static Optional<String> libraryLoadError() {
        return Optional.ofNullable(Library.ERROR);
    }

    /** The address of a symbol, or {@code MemorySegment.NULL} when the library or the symbol is missing. */
    public static MemorySegment findSymbol(String symbol) {
        return Library.LOOKUP.find(symbol).orElse(MemorySegment.NULL);
    }

    static MemorySegment findOrThrow(String symbol) {
        return Library.LOOKUP.find(symbol)
                .orElseThrow(() -> new UnsatisfiedLinkError("unresolved symbol: " + symbol
                        + (Library.ERROR != null ? " (" + Library.ERROR + ")" : "")));
    }

    // Difference 2 from jextract: a missing symbol yields a handle that throws UnsatisfiedLinkError when
    // called, so an older driver without one entry point fails at that call with the symbol's name.
    static MethodHandle downcall(String symbol, FunctionDescriptor desc) {
        MemorySegment addr = findSymbol(symbol);
        if (!addr.equals(MemorySegment.NULL)) {
            return Linker.nativeLinker().downcallHandle(addr, desc);
        }
        MethodType type = desc.toMethodType();
        MethodHandle thrower = MethodHandles.throwException(type.returnType(), UnsatisfiedLinkError.class);
        thrower = MethodHandles.insertArguments(thrower, 0, new UnsatisfiedLinkError("unresolved symbol: " + symbol
                + (Library.ERROR != null ? " (" + Library.ERROR + ")" : "")));
        return MethodHandles.dropArguments(thrower, 0, type.parameterList());
    }

    static RuntimeException rethrow(Throwable ex) {
        if (ex instanceof RuntimeException r) {
            throw r;
        }
        if (ex instanceof Error e) {
            throw e;
        }
        throw new AssertionError("should not reach here", ex);
    }

    private static class cuGetErrorName {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuGetErrorName", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuGetErrorName(int error, void * pStr)}
     */
    public static FunctionDescriptor cuGetErrorName$descriptor() {
        return cuGetErrorName.DESC;
    }

    public static MethodHandle cuGetErrorName$handle() {
        return cuGetErrorName.HANDLE;
    }

    public static MemorySegment cuGetErrorName$address() {
        return findSymbol("cuGetErrorName");
    }

    public static int cuGetErrorName(int error, MemorySegment pStr) {
        var mh$ = cuGetErrorName.HANDLE;
        try {
            return (int) mh$.invokeExact(error, pStr);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuGetErrorString {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuGetErrorString", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuGetErrorString(int error, void * pStr)}
     */
    public static FunctionDescriptor cuGetErrorString$descriptor() {
        return cuGetErrorString.DESC;
    }

    public static MethodHandle cuGetErrorString$handle() {
        return cuGetErrorString.HANDLE;
    }

    public static MemorySegment cuGetErrorString$address() {
        return findSymbol("cuGetErrorString");
    }

    public static int cuGetErrorString(int error, MemorySegment pStr) {
        var mh$ = cuGetErrorString.HANDLE;
        try {
            return (int) mh$.invokeExact(error, pStr);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuInit {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_INT
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuInit", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuInit(int Flags)}
     */
    public static FunctionDescriptor cuInit$descriptor() {
        return cuInit.DESC;
    }

    public static MethodHandle cuInit$handle() {
        return cuInit.HANDLE;
    }

    public static MemorySegment cuInit$address() {
        return findSymbol("cuInit");
    }

    public static int cuInit(int Flags) {
        var mh$ = cuInit.HANDLE;
        try {
            return (int) mh$.invokeExact(Flags);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuDriverGetVersion {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuDriverGetVersion", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuDriverGetVersion(void * driverVersion)}
     */
    public static FunctionDescriptor cuDriverGetVersion$descriptor() {
        return cuDriverGetVersion.DESC;
    }

    public static MethodHandle cuDriverGetVersion$handle() {
        return cuDriverGetVersion.HANDLE;
    }

    public static MemorySegment cuDriverGetVersion$address() {
        return findSymbol("cuDriverGetVersion");
    }

    public static int cuDriverGetVersion(MemorySegment driverVersion) {
        var mh$ = cuDriverGetVersion.HANDLE;
        try {
            return (int) mh$.invokeExact(driverVersion);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuDeviceGet {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_INT
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuDeviceGet", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuDeviceGet(void * device, int ordinal)}
     */
    public static FunctionDescriptor cuDeviceGet$descriptor() {
        return cuDeviceGet.DESC;
    }

    public static MethodHandle cuDeviceGet$handle() {
        return cuDeviceGet.HANDLE;
    }

    public static MemorySegment cuDeviceGet$address() {
        return findSymbol("cuDeviceGet");
    }

    public static int cuDeviceGet(MemorySegment device, int ordinal) {
        var mh$ = cuDeviceGet.HANDLE;
        try {
            return (int) mh$.invokeExact(device, ordinal);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuDeviceGetCount {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuDeviceGetCount", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuDeviceGetCount(void * count)}
     */
    public static FunctionDescriptor cuDeviceGetCount$descriptor() {
        return cuDeviceGetCount.DESC;
    }

    public static MethodHandle cuDeviceGetCount$handle() {
        return cuDeviceGetCount.HANDLE;
    }

    public static MemorySegment cuDeviceGetCount$address() {
        return findSymbol("cuDeviceGetCount");
    }

    public static int cuDeviceGetCount(MemorySegment count) {
        var mh$ = cuDeviceGetCount.HANDLE;
        try {
            return (int) mh$.invokeExact(count);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuDeviceGetName {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_INT,
            cuda_h.C_INT
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuDeviceGetName", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuDeviceGetName(void * name, int len, int dev)}
     */
    public static FunctionDescriptor cuDeviceGetName$descriptor() {
        return cuDeviceGetName.DESC;
    }

    public static MethodHandle cuDeviceGetName$handle() {
        return cuDeviceGetName.HANDLE;
    }

    public static MemorySegment cuDeviceGetName$address() {
        return findSymbol("cuDeviceGetName");
    }

    public static int cuDeviceGetName(MemorySegment name, int len, int dev) {
        var mh$ = cuDeviceGetName.HANDLE;
        try {
            return (int) mh$.invokeExact(name, len, dev);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuDeviceGetAttribute {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_INT,
            cuda_h.C_INT
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuDeviceGetAttribute", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuDeviceGetAttribute(void * pi, int attrib, int dev)}
     */
    public static FunctionDescriptor cuDeviceGetAttribute$descriptor() {
        return cuDeviceGetAttribute.DESC;
    }

    public static MethodHandle cuDeviceGetAttribute$handle() {
        return cuDeviceGetAttribute.HANDLE;
    }

    public static MemorySegment cuDeviceGetAttribute$address() {
        return findSymbol("cuDeviceGetAttribute");
    }

    public static int cuDeviceGetAttribute(MemorySegment pi, int attrib, int dev) {
        var mh$ = cuDeviceGetAttribute.HANDLE;
        try {
            return (int) mh$.invokeExact(pi, attrib, dev);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuDeviceTotalMem_v2 {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_INT
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuDeviceTotalMem_v2", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuDeviceTotalMem_v2(void * bytes, int dev)}
     */
    public static FunctionDescriptor cuDeviceTotalMem_v2$descriptor() {
        return cuDeviceTotalMem_v2.DESC;
    }

    public static MethodHandle cuDeviceTotalMem_v2$handle() {
        return cuDeviceTotalMem_v2.HANDLE;
    }

    public static MemorySegment cuDeviceTotalMem_v2$address() {
        return findSymbol("cuDeviceTotalMem_v2");
    }

    public static int cuDeviceTotalMem_v2(MemorySegment bytes, int dev) {
        var mh$ = cuDeviceTotalMem_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(bytes, dev);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuDevicePrimaryCtxRetain {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_INT
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuDevicePrimaryCtxRetain", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuDevicePrimaryCtxRetain(void * pctx, int dev)}
     */
    public static FunctionDescriptor cuDevicePrimaryCtxRetain$descriptor() {
        return cuDevicePrimaryCtxRetain.DESC;
    }

    public static MethodHandle cuDevicePrimaryCtxRetain$handle() {
        return cuDevicePrimaryCtxRetain.HANDLE;
    }

    public static MemorySegment cuDevicePrimaryCtxRetain$address() {
        return findSymbol("cuDevicePrimaryCtxRetain");
    }

    public static int cuDevicePrimaryCtxRetain(MemorySegment pctx, int dev) {
        var mh$ = cuDevicePrimaryCtxRetain.HANDLE;
        try {
            return (int) mh$.invokeExact(pctx, dev);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuDevicePrimaryCtxRelease_v2 {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_INT
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuDevicePrimaryCtxRelease_v2", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuDevicePrimaryCtxRelease_v2(int dev)}
     */
    public static FunctionDescriptor cuDevicePrimaryCtxRelease_v2$descriptor() {
        return cuDevicePrimaryCtxRelease_v2.DESC;
    }

    public static MethodHandle cuDevicePrimaryCtxRelease_v2$handle() {
        return cuDevicePrimaryCtxRelease_v2.HANDLE;
    }

    public static MemorySegment cuDevicePrimaryCtxRelease_v2$address() {
        return findSymbol("cuDevicePrimaryCtxRelease_v2");
    }

    public static int cuDevicePrimaryCtxRelease_v2(int dev) {
        var mh$ = cuDevicePrimaryCtxRelease_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dev);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuCtxSetCurrent {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuCtxSetCurrent", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuCtxSetCurrent(void * ctx)}
     */
    public static FunctionDescriptor cuCtxSetCurrent$descriptor() {
        return cuCtxSetCurrent.DESC;
    }

    public static MethodHandle cuCtxSetCurrent$handle() {
        return cuCtxSetCurrent.HANDLE;
    }

    public static MemorySegment cuCtxSetCurrent$address() {
        return findSymbol("cuCtxSetCurrent");
    }

    public static int cuCtxSetCurrent(MemorySegment ctx) {
        var mh$ = cuCtxSetCurrent.HANDLE;
        try {
            return (int) mh$.invokeExact(ctx);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuCtxSynchronize {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuCtxSynchronize", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuCtxSynchronize(void)}
     */
    public static FunctionDescriptor cuCtxSynchronize$descriptor() {
        return cuCtxSynchronize.DESC;
    }

    public static MethodHandle cuCtxSynchronize$handle() {
        return cuCtxSynchronize.HANDLE;
    }

    public static MemorySegment cuCtxSynchronize$address() {
        return findSymbol("cuCtxSynchronize");
    }

    public static int cuCtxSynchronize() {
        var mh$ = cuCtxSynchronize.HANDLE;
        try {
            return (int) mh$.invokeExact();
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuMemGetInfo_v2 {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuMemGetInfo_v2", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuMemGetInfo_v2(void * free, void * total)}
     */
    public static FunctionDescriptor cuMemGetInfo_v2$descriptor() {
        return cuMemGetInfo_v2.DESC;
    }

    public static MethodHandle cuMemGetInfo_v2$handle() {
        return cuMemGetInfo_v2.HANDLE;
    }

    public static MemorySegment cuMemGetInfo_v2$address() {
        return findSymbol("cuMemGetInfo_v2");
    }

    public static int cuMemGetInfo_v2(MemorySegment free, MemorySegment total) {
        var mh$ = cuMemGetInfo_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(free, total);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuMemAlloc_v2 {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_LONG_LONG
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuMemAlloc_v2", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuMemAlloc_v2(void * dptr, unsigned long long bytesize)}
     */
    public static FunctionDescriptor cuMemAlloc_v2$descriptor() {
        return cuMemAlloc_v2.DESC;
    }

    public static MethodHandle cuMemAlloc_v2$handle() {
        return cuMemAlloc_v2.HANDLE;
    }

    public static MemorySegment cuMemAlloc_v2$address() {
        return findSymbol("cuMemAlloc_v2");
    }

    public static int cuMemAlloc_v2(MemorySegment dptr, long bytesize) {
        var mh$ = cuMemAlloc_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dptr, bytesize);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuMemFree_v2 {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_LONG_LONG
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuMemFree_v2", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuMemFree_v2(unsigned long long dptr)}
     */
    public static FunctionDescriptor cuMemFree_v2$descriptor() {
        return cuMemFree_v2.DESC;
    }

    public static MethodHandle cuMemFree_v2$handle() {
        return cuMemFree_v2.HANDLE;
    }

    public static MemorySegment cuMemFree_v2$address() {
        return findSymbol("cuMemFree_v2");
    }

    public static int cuMemFree_v2(long dptr) {
        var mh$ = cuMemFree_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dptr);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuMemAllocHost_v2 {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_LONG_LONG
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuMemAllocHost_v2", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuMemAllocHost_v2(void * pp, unsigned long long bytesize)}
     */
    public static FunctionDescriptor cuMemAllocHost_v2$descriptor() {
        return cuMemAllocHost_v2.DESC;
    }

    public static MethodHandle cuMemAllocHost_v2$handle() {
        return cuMemAllocHost_v2.HANDLE;
    }

    public static MemorySegment cuMemAllocHost_v2$address() {
        return findSymbol("cuMemAllocHost_v2");
    }

    public static int cuMemAllocHost_v2(MemorySegment pp, long bytesize) {
        var mh$ = cuMemAllocHost_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(pp, bytesize);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuMemFreeHost {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuMemFreeHost", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuMemFreeHost(void * p)}
     */
    public static FunctionDescriptor cuMemFreeHost$descriptor() {
        return cuMemFreeHost.DESC;
    }

    public static MethodHandle cuMemFreeHost$handle() {
        return cuMemFreeHost.HANDLE;
    }

    public static MemorySegment cuMemFreeHost$address() {
        return findSymbol("cuMemFreeHost");
    }

    public static int cuMemFreeHost(MemorySegment p) {
        var mh$ = cuMemFreeHost.HANDLE;
        try {
            return (int) mh$.invokeExact(p);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuMemcpyHtoD_v2 {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_LONG_LONG,
            cuda_h.C_POINTER,
            cuda_h.C_LONG_LONG
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuMemcpyHtoD_v2", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuMemcpyHtoD_v2(unsigned long long dstDevice, void * srcHost, unsigned long long ByteCount)}
     */
    public static FunctionDescriptor cuMemcpyHtoD_v2$descriptor() {
        return cuMemcpyHtoD_v2.DESC;
    }

    public static MethodHandle cuMemcpyHtoD_v2$handle() {
        return cuMemcpyHtoD_v2.HANDLE;
    }

    public static MemorySegment cuMemcpyHtoD_v2$address() {
        return findSymbol("cuMemcpyHtoD_v2");
    }

    public static int cuMemcpyHtoD_v2(long dstDevice, MemorySegment srcHost, long ByteCount) {
        var mh$ = cuMemcpyHtoD_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dstDevice, srcHost, ByteCount);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuMemcpyDtoH_v2 {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_LONG_LONG,
            cuda_h.C_LONG_LONG
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuMemcpyDtoH_v2", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuMemcpyDtoH_v2(void * dstHost, unsigned long long srcDevice, unsigned long long ByteCount)}
     */
    public static FunctionDescriptor cuMemcpyDtoH_v2$descriptor() {
        return cuMemcpyDtoH_v2.DESC;
    }

    public static MethodHandle cuMemcpyDtoH_v2$handle() {
        return cuMemcpyDtoH_v2.HANDLE;
    }

    public static MemorySegment cuMemcpyDtoH_v2$address() {
        return findSymbol("cuMemcpyDtoH_v2");
    }

    public static int cuMemcpyDtoH_v2(MemorySegment dstHost, long srcDevice, long ByteCount) {
        var mh$ = cuMemcpyDtoH_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dstHost, srcDevice, ByteCount);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuMemcpyHtoDAsync_v2 {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_LONG_LONG,
            cuda_h.C_POINTER,
            cuda_h.C_LONG_LONG,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuMemcpyHtoDAsync_v2", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuMemcpyHtoDAsync_v2(unsigned long long dstDevice, void * srcHost, unsigned long long ByteCount, void * hStream)}
     */
    public static FunctionDescriptor cuMemcpyHtoDAsync_v2$descriptor() {
        return cuMemcpyHtoDAsync_v2.DESC;
    }

    public static MethodHandle cuMemcpyHtoDAsync_v2$handle() {
        return cuMemcpyHtoDAsync_v2.HANDLE;
    }

    public static MemorySegment cuMemcpyHtoDAsync_v2$address() {
        return findSymbol("cuMemcpyHtoDAsync_v2");
    }

    public static int cuMemcpyHtoDAsync_v2(long dstDevice, MemorySegment srcHost, long ByteCount, MemorySegment hStream) {
        var mh$ = cuMemcpyHtoDAsync_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dstDevice, srcHost, ByteCount, hStream);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuMemcpyDtoHAsync_v2 {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_LONG_LONG,
            cuda_h.C_LONG_LONG,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuMemcpyDtoHAsync_v2", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuMemcpyDtoHAsync_v2(void * dstHost, unsigned long long srcDevice, unsigned long long ByteCount, void * hStream)}
     */
    public static FunctionDescriptor cuMemcpyDtoHAsync_v2$descriptor() {
        return cuMemcpyDtoHAsync_v2.DESC;
    }

    public static MethodHandle cuMemcpyDtoHAsync_v2$handle() {
        return cuMemcpyDtoHAsync_v2.HANDLE;
    }

    public static MemorySegment cuMemcpyDtoHAsync_v2$address() {
        return findSymbol("cuMemcpyDtoHAsync_v2");
    }

    public static int cuMemcpyDtoHAsync_v2(MemorySegment dstHost, long srcDevice, long ByteCount, MemorySegment hStream) {
        var mh$ = cuMemcpyDtoHAsync_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dstHost, srcDevice, ByteCount, hStream);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuMemsetD32_v2 {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_LONG_LONG,
            cuda_h.C_INT,
            cuda_h.C_LONG_LONG
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuMemsetD32_v2", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuMemsetD32_v2(unsigned long long dstDevice, int ui, unsigned long long N)}
     */
    public static FunctionDescriptor cuMemsetD32_v2$descriptor() {
        return cuMemsetD32_v2.DESC;
    }

    public static MethodHandle cuMemsetD32_v2$handle() {
        return cuMemsetD32_v2.HANDLE;
    }

    public static MemorySegment cuMemsetD32_v2$address() {
        return findSymbol("cuMemsetD32_v2");
    }

    public static int cuMemsetD32_v2(long dstDevice, int ui, long N) {
        var mh$ = cuMemsetD32_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dstDevice, ui, N);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuModuleLoadData {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuModuleLoadData", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuModuleLoadData(void * module, void * image)}
     */
    public static FunctionDescriptor cuModuleLoadData$descriptor() {
        return cuModuleLoadData.DESC;
    }

    public static MethodHandle cuModuleLoadData$handle() {
        return cuModuleLoadData.HANDLE;
    }

    public static MemorySegment cuModuleLoadData$address() {
        return findSymbol("cuModuleLoadData");
    }

    public static int cuModuleLoadData(MemorySegment module, MemorySegment image) {
        var mh$ = cuModuleLoadData.HANDLE;
        try {
            return (int) mh$.invokeExact(module, image);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuModuleUnload {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuModuleUnload", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuModuleUnload(void * hmod)}
     */
    public static FunctionDescriptor cuModuleUnload$descriptor() {
        return cuModuleUnload.DESC;
    }

    public static MethodHandle cuModuleUnload$handle() {
        return cuModuleUnload.HANDLE;
    }

    public static MemorySegment cuModuleUnload$address() {
        return findSymbol("cuModuleUnload");
    }

    public static int cuModuleUnload(MemorySegment hmod) {
        var mh$ = cuModuleUnload.HANDLE;
        try {
            return (int) mh$.invokeExact(hmod);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuModuleGetFunction {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_POINTER,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuModuleGetFunction", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuModuleGetFunction(void * hfunc, void * hmod, void * name)}
     */
    public static FunctionDescriptor cuModuleGetFunction$descriptor() {
        return cuModuleGetFunction.DESC;
    }

    public static MethodHandle cuModuleGetFunction$handle() {
        return cuModuleGetFunction.HANDLE;
    }

    public static MemorySegment cuModuleGetFunction$address() {
        return findSymbol("cuModuleGetFunction");
    }

    public static int cuModuleGetFunction(MemorySegment hfunc, MemorySegment hmod, MemorySegment name) {
        var mh$ = cuModuleGetFunction.HANDLE;
        try {
            return (int) mh$.invokeExact(hfunc, hmod, name);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuFuncGetAttribute {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuFuncGetAttribute", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuFuncGetAttribute(void * pi, int attrib, void * hfunc)}
     */
    public static FunctionDescriptor cuFuncGetAttribute$descriptor() {
        return cuFuncGetAttribute.DESC;
    }

    public static MethodHandle cuFuncGetAttribute$handle() {
        return cuFuncGetAttribute.HANDLE;
    }

    public static MemorySegment cuFuncGetAttribute$address() {
        return findSymbol("cuFuncGetAttribute");
    }

    public static int cuFuncGetAttribute(MemorySegment pi, int attrib, MemorySegment hfunc) {
        var mh$ = cuFuncGetAttribute.HANDLE;
        try {
            return (int) mh$.invokeExact(pi, attrib, hfunc);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuLaunchKernel {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_INT,
            cuda_h.C_INT,
            cuda_h.C_INT,
            cuda_h.C_INT,
            cuda_h.C_INT,
            cuda_h.C_INT,
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_POINTER,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuLaunchKernel", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuLaunchKernel(void * f, int gridDimX, int gridDimY, int gridDimZ, int blockDimX, int blockDimY, int blockDimZ, int sharedMemBytes, void * hStream, void * kernelParams, void * extra)}
     */
    public static FunctionDescriptor cuLaunchKernel$descriptor() {
        return cuLaunchKernel.DESC;
    }

    public static MethodHandle cuLaunchKernel$handle() {
        return cuLaunchKernel.HANDLE;
    }

    public static MemorySegment cuLaunchKernel$address() {
        return findSymbol("cuLaunchKernel");
    }

    public static int cuLaunchKernel(MemorySegment f, int gridDimX, int gridDimY, int gridDimZ, int blockDimX, int blockDimY, int blockDimZ, int sharedMemBytes, MemorySegment hStream, MemorySegment kernelParams, MemorySegment extra) {
        var mh$ = cuLaunchKernel.HANDLE;
        try {
            return (int) mh$.invokeExact(f, gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ, sharedMemBytes, hStream, kernelParams, extra);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuStreamCreate {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_INT
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuStreamCreate", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuStreamCreate(void * phStream, int Flags)}
     */
    public static FunctionDescriptor cuStreamCreate$descriptor() {
        return cuStreamCreate.DESC;
    }

    public static MethodHandle cuStreamCreate$handle() {
        return cuStreamCreate.HANDLE;
    }

    public static MemorySegment cuStreamCreate$address() {
        return findSymbol("cuStreamCreate");
    }

    public static int cuStreamCreate(MemorySegment phStream, int Flags) {
        var mh$ = cuStreamCreate.HANDLE;
        try {
            return (int) mh$.invokeExact(phStream, Flags);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuStreamDestroy_v2 {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuStreamDestroy_v2", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuStreamDestroy_v2(void * hStream)}
     */
    public static FunctionDescriptor cuStreamDestroy_v2$descriptor() {
        return cuStreamDestroy_v2.DESC;
    }

    public static MethodHandle cuStreamDestroy_v2$handle() {
        return cuStreamDestroy_v2.HANDLE;
    }

    public static MemorySegment cuStreamDestroy_v2$address() {
        return findSymbol("cuStreamDestroy_v2");
    }

    public static int cuStreamDestroy_v2(MemorySegment hStream) {
        var mh$ = cuStreamDestroy_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(hStream);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuStreamSynchronize {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuStreamSynchronize", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuStreamSynchronize(void * hStream)}
     */
    public static FunctionDescriptor cuStreamSynchronize$descriptor() {
        return cuStreamSynchronize.DESC;
    }

    public static MethodHandle cuStreamSynchronize$handle() {
        return cuStreamSynchronize.HANDLE;
    }

    public static MemorySegment cuStreamSynchronize$address() {
        return findSymbol("cuStreamSynchronize");
    }

    public static int cuStreamSynchronize(MemorySegment hStream) {
        var mh$ = cuStreamSynchronize.HANDLE;
        try {
            return (int) mh$.invokeExact(hStream);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuEventCreate {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_INT
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuEventCreate", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuEventCreate(void * phEvent, int Flags)}
     */
    public static FunctionDescriptor cuEventCreate$descriptor() {
        return cuEventCreate.DESC;
    }

    public static MethodHandle cuEventCreate$handle() {
        return cuEventCreate.HANDLE;
    }

    public static MemorySegment cuEventCreate$address() {
        return findSymbol("cuEventCreate");
    }

    public static int cuEventCreate(MemorySegment phEvent, int Flags) {
        var mh$ = cuEventCreate.HANDLE;
        try {
            return (int) mh$.invokeExact(phEvent, Flags);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuEventRecord {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuEventRecord", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuEventRecord(void * hEvent, void * hStream)}
     */
    public static FunctionDescriptor cuEventRecord$descriptor() {
        return cuEventRecord.DESC;
    }

    public static MethodHandle cuEventRecord$handle() {
        return cuEventRecord.HANDLE;
    }

    public static MemorySegment cuEventRecord$address() {
        return findSymbol("cuEventRecord");
    }

    public static int cuEventRecord(MemorySegment hEvent, MemorySegment hStream) {
        var mh$ = cuEventRecord.HANDLE;
        try {
            return (int) mh$.invokeExact(hEvent, hStream);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuEventSynchronize {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuEventSynchronize", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuEventSynchronize(void * hEvent)}
     */
    public static FunctionDescriptor cuEventSynchronize$descriptor() {
        return cuEventSynchronize.DESC;
    }

    public static MethodHandle cuEventSynchronize$handle() {
        return cuEventSynchronize.HANDLE;
    }

    public static MemorySegment cuEventSynchronize$address() {
        return findSymbol("cuEventSynchronize");
    }

    public static int cuEventSynchronize(MemorySegment hEvent) {
        var mh$ = cuEventSynchronize.HANDLE;
        try {
            return (int) mh$.invokeExact(hEvent);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuEventElapsedTime_v2 {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_POINTER,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuEventElapsedTime_v2", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuEventElapsedTime_v2(void * pMilliseconds, void * hStart, void * hEnd)}
     */
    public static FunctionDescriptor cuEventElapsedTime_v2$descriptor() {
        return cuEventElapsedTime_v2.DESC;
    }

    public static MethodHandle cuEventElapsedTime_v2$handle() {
        return cuEventElapsedTime_v2.HANDLE;
    }

    public static MemorySegment cuEventElapsedTime_v2$address() {
        return findSymbol("cuEventElapsedTime_v2");
    }

    public static int cuEventElapsedTime_v2(MemorySegment pMilliseconds, MemorySegment hStart, MemorySegment hEnd) {
        var mh$ = cuEventElapsedTime_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(pMilliseconds, hStart, hEnd);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuEventDestroy_v2 {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuEventDestroy_v2", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuEventDestroy_v2(void * hEvent)}
     */
    public static FunctionDescriptor cuEventDestroy_v2$descriptor() {
        return cuEventDestroy_v2.DESC;
    }

    public static MethodHandle cuEventDestroy_v2$handle() {
        return cuEventDestroy_v2.HANDLE;
    }

    public static MemorySegment cuEventDestroy_v2$address() {
        return findSymbol("cuEventDestroy_v2");
    }

    public static int cuEventDestroy_v2(MemorySegment hEvent) {
        var mh$ = cuEventDestroy_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(hEvent);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuStreamBeginCapture_v2 {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_INT
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuStreamBeginCapture_v2", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuStreamBeginCapture_v2(void * hStream, int mode)}
     */
    public static FunctionDescriptor cuStreamBeginCapture_v2$descriptor() {
        return cuStreamBeginCapture_v2.DESC;
    }

    public static MethodHandle cuStreamBeginCapture_v2$handle() {
        return cuStreamBeginCapture_v2.HANDLE;
    }

    public static MemorySegment cuStreamBeginCapture_v2$address() {
        return findSymbol("cuStreamBeginCapture_v2");
    }

    public static int cuStreamBeginCapture_v2(MemorySegment hStream, int mode) {
        var mh$ = cuStreamBeginCapture_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(hStream, mode);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuStreamEndCapture {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuStreamEndCapture", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuStreamEndCapture(void * hStream, void * phGraph)}
     */
    public static FunctionDescriptor cuStreamEndCapture$descriptor() {
        return cuStreamEndCapture.DESC;
    }

    public static MethodHandle cuStreamEndCapture$handle() {
        return cuStreamEndCapture.HANDLE;
    }

    public static MemorySegment cuStreamEndCapture$address() {
        return findSymbol("cuStreamEndCapture");
    }

    public static int cuStreamEndCapture(MemorySegment hStream, MemorySegment phGraph) {
        var mh$ = cuStreamEndCapture.HANDLE;
        try {
            return (int) mh$.invokeExact(hStream, phGraph);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuGraphInstantiateWithFlags {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_POINTER,
            cuda_h.C_LONG_LONG
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuGraphInstantiateWithFlags", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuGraphInstantiateWithFlags(void * phGraphExec, void * hGraph, unsigned long long flags)}
     */
    public static FunctionDescriptor cuGraphInstantiateWithFlags$descriptor() {
        return cuGraphInstantiateWithFlags.DESC;
    }

    public static MethodHandle cuGraphInstantiateWithFlags$handle() {
        return cuGraphInstantiateWithFlags.HANDLE;
    }

    public static MemorySegment cuGraphInstantiateWithFlags$address() {
        return findSymbol("cuGraphInstantiateWithFlags");
    }

    public static int cuGraphInstantiateWithFlags(MemorySegment phGraphExec, MemorySegment hGraph, long flags) {
        var mh$ = cuGraphInstantiateWithFlags.HANDLE;
        try {
            return (int) mh$.invokeExact(phGraphExec, hGraph, flags);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuGraphLaunch {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuGraphLaunch", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuGraphLaunch(void * hGraphExec, void * hStream)}
     */
    public static FunctionDescriptor cuGraphLaunch$descriptor() {
        return cuGraphLaunch.DESC;
    }

    public static MethodHandle cuGraphLaunch$handle() {
        return cuGraphLaunch.HANDLE;
    }

    public static MemorySegment cuGraphLaunch$address() {
        return findSymbol("cuGraphLaunch");
    }

    public static int cuGraphLaunch(MemorySegment hGraphExec, MemorySegment hStream) {
        var mh$ = cuGraphLaunch.HANDLE;
        try {
            return (int) mh$.invokeExact(hGraphExec, hStream);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuGraphExecDestroy {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuGraphExecDestroy", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuGraphExecDestroy(void * hGraphExec)}
     */
    public static FunctionDescriptor cuGraphExecDestroy$descriptor() {
        return cuGraphExecDestroy.DESC;
    }

    public static MethodHandle cuGraphExecDestroy$handle() {
        return cuGraphExecDestroy.HANDLE;
    }

    public static MemorySegment cuGraphExecDestroy$address() {
        return findSymbol("cuGraphExecDestroy");
    }

    public static int cuGraphExecDestroy(MemorySegment hGraphExec) {
        var mh$ = cuGraphExecDestroy.HANDLE;
        try {
            return (int) mh$.invokeExact(hGraphExec);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuGraphDestroy {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuGraphDestroy", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuGraphDestroy(void * hGraph)}
     */
    public static FunctionDescriptor cuGraphDestroy$descriptor() {
        return cuGraphDestroy.DESC;
    }

    public static MethodHandle cuGraphDestroy$handle() {
        return cuGraphDestroy.HANDLE;
    }

    public static MemorySegment cuGraphDestroy$address() {
        return findSymbol("cuGraphDestroy");
    }

    public static int cuGraphDestroy(MemorySegment hGraph) {
        var mh$ = cuGraphDestroy.HANDLE;
        try {
            return (int) mh$.invokeExact(hGraph);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuCtxGetCurrent {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuCtxGetCurrent", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuCtxGetCurrent(void ** pctx)}
     */
    public static FunctionDescriptor cuCtxGetCurrent$descriptor() {
        return cuCtxGetCurrent.DESC;
    }

    public static MethodHandle cuCtxGetCurrent$handle() {
        return cuCtxGetCurrent.HANDLE;
    }

    public static MemorySegment cuCtxGetCurrent$address() {
        return findSymbol("cuCtxGetCurrent");
    }

    public static int cuCtxGetCurrent(MemorySegment pctx) {
        var mh$ = cuCtxGetCurrent.HANDLE;
        try {
            return (int) mh$.invokeExact(pctx);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuCtxGetDevice {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuCtxGetDevice", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuCtxGetDevice(int * device)}
     */
    public static FunctionDescriptor cuCtxGetDevice$descriptor() {
        return cuCtxGetDevice.DESC;
    }

    public static MethodHandle cuCtxGetDevice$handle() {
        return cuCtxGetDevice.HANDLE;
    }

    public static MemorySegment cuCtxGetDevice$address() {
        return findSymbol("cuCtxGetDevice");
    }

    public static int cuCtxGetDevice(MemorySegment device) {
        var mh$ = cuCtxGetDevice.HANDLE;
        try {
            return (int) mh$.invokeExact(device);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuMemcpyDtoDAsync_v2 {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_LONG_LONG,
            cuda_h.C_LONG_LONG,
            cuda_h.C_LONG_LONG,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuMemcpyDtoDAsync_v2", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuMemcpyDtoDAsync_v2(unsigned long long dstDevice, unsigned long long srcDevice, unsigned long long ByteCount, void * hStream)}
     */
    public static FunctionDescriptor cuMemcpyDtoDAsync_v2$descriptor() {
        return cuMemcpyDtoDAsync_v2.DESC;
    }

    public static MethodHandle cuMemcpyDtoDAsync_v2$handle() {
        return cuMemcpyDtoDAsync_v2.HANDLE;
    }

    public static MemorySegment cuMemcpyDtoDAsync_v2$address() {
        return findSymbol("cuMemcpyDtoDAsync_v2");
    }

    public static int cuMemcpyDtoDAsync_v2(long dstDevice, long srcDevice, long ByteCount, MemorySegment hStream) {
        var mh$ = cuMemcpyDtoDAsync_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dstDevice, srcDevice, ByteCount, hStream);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuPointerGetAttribute {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_INT,
            cuda_h.C_LONG_LONG
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuPointerGetAttribute", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuPointerGetAttribute(void * data, CUpointer_attribute attribute, unsigned long long ptr)}
     */
    public static FunctionDescriptor cuPointerGetAttribute$descriptor() {
        return cuPointerGetAttribute.DESC;
    }

    public static MethodHandle cuPointerGetAttribute$handle() {
        return cuPointerGetAttribute.HANDLE;
    }

    public static MemorySegment cuPointerGetAttribute$address() {
        return findSymbol("cuPointerGetAttribute");
    }

    public static int cuPointerGetAttribute(MemorySegment data, int attribute, long ptr) {
        var mh$ = cuPointerGetAttribute.HANDLE;
        try {
            return (int) mh$.invokeExact(data, attribute, ptr);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuStreamGetId {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuStreamGetId", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuStreamGetId(void * hStream, unsigned long long * streamId)}
     */
    public static FunctionDescriptor cuStreamGetId$descriptor() {
        return cuStreamGetId.DESC;
    }

    public static MethodHandle cuStreamGetId$handle() {
        return cuStreamGetId.HANDLE;
    }

    public static MemorySegment cuStreamGetId$address() {
        return findSymbol("cuStreamGetId");
    }

    public static int cuStreamGetId(MemorySegment hStream, MemorySegment streamId) {
        var mh$ = cuStreamGetId.HANDLE;
        try {
            return (int) mh$.invokeExact(hStream, streamId);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cuThreadExchangeStreamCaptureMode {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cuda_h.downcall("cuThreadExchangeStreamCaptureMode", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : CUresult cuThreadExchangeStreamCaptureMode(CUstreamCaptureMode * mode)}
     */
    public static FunctionDescriptor cuThreadExchangeStreamCaptureMode$descriptor() {
        return cuThreadExchangeStreamCaptureMode.DESC;
    }

    public static MethodHandle cuThreadExchangeStreamCaptureMode$handle() {
        return cuThreadExchangeStreamCaptureMode.HANDLE;
    }

    public static MemorySegment cuThreadExchangeStreamCaptureMode$address() {
        return findSymbol("cuThreadExchangeStreamCaptureMode");
    }

    public static int cuThreadExchangeStreamCaptureMode(MemorySegment mode) {
        var mh$ = cuThreadExchangeStreamCaptureMode.HANDLE;
        try {
            return (int) mh$.invokeExact(mode);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }
}
