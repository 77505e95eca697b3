// Bindings to cuDNN 9's legacy convolution API (libcudnn.so.9) in the shape jextract emits: one holder class per
// function with its FunctionDescriptor and MethodHandle, resolved once on first use. Regenerate with the command
// in bindings/README.md; see there for the deliberate differences from jextract's output (library search, no throw).
package dev.zeroq.bindings.cudnn;

import java.io.IOException;
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
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

@SuppressWarnings({"unused", "checkstyle:MethodName"})
public class cudnn_h {

    cudnn_h() {
        // Should not be called directly
    }

    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    public static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;
    public static final ValueLayout.OfFloat C_FLOAT = ValueLayout.JAVA_FLOAT;
    public static final AddressLayout C_POINTER = ValueLayout.ADDRESS
            .withTargetLayout(MemoryLayout.sequenceLayout(java.lang.Long.MAX_VALUE, ValueLayout.JAVA_BYTE));

    /** The shim every cuDNN 9 install has; it forwards the legacy API to libcudnn_cnn / libcudnn_ops. */
    public static final String LIBRARY_NAME = "libcudnn.so.9";
    /** System property naming libcudnn.so.9 or the folder holding it; wins over everything else. */
    public static final String PATH_PROPERTY = "zeroq.cudnn.path";
    /** Environment variable with the same meaning as {@link #PATH_PROPERTY}. */
    public static final String PATH_ENV = "ZEROQ_CUDNN_PATH";

    /**
     * cuDNN 9's shim dlopens these by bare soname when first needed; outside the loader's search path (a pip wheel's
     * nvidia/cudnn/lib) that fails late, as CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED. Loading them first from the same
     * folder makes the later dlopen find the already-loaded object by its soname. Dependency order: graph first.
     */
    static final List<String> SUBLIBRARIES = List.of("libcudnn_graph.so.9", "libcudnn_ops.so.9", "libcudnn_cnn.so.9",
            "libcudnn_adv.so.9", "libcudnn_heuristic.so.9", "libcudnn_engines_precompiled.so.9",
            "libcudnn_engines_runtime_compiled.so.9");

    // Difference 1 from jextract: the library is searched for (property/env, the system path, Python environments)
    // and a failure is recorded, not thrown from the static initializer, so callers can report why cuDNN is
    // unavailable. cuDNN is optional: nothing in zeroq needs it.
    private static final class Library {
        static final Arena ARENA = Arena.ofAuto();
        static final String ERROR;
        static final SymbolLookup LOOKUP;
        static final String LOADED_FROM;
        static final List<String> NOTES = new ArrayList<>();

        static {
            SymbolLookup lookup = name -> Optional.empty();
            String error = null, from = null;
            String explicit = System.getProperty(PATH_PROPERTY);
            String source = "-D" + PATH_PROPERTY;
            if (explicit == null || explicit.isBlank()) {
                explicit = System.getenv(PATH_ENV);
                source = PATH_ENV;
            }
            if (explicit != null && !explicit.isBlank()) {
                // An explicit choice is not second-guessed: if it fails, that failure is the reason.
                Path p = Path.of(explicit);
                Path file = Files.isDirectory(p) ? p.resolve(LIBRARY_NAME) : p;
                try {
                    lookup = loadWithSublibraries(file, ARENA, NOTES);
                    from = file.toString();
                } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
                    error = LIBRARY_NAME + " could not be loaded from " + file + " (" + source + "): " + e.getMessage();
                }
            } else {
                List<String> tried = new ArrayList<>();
                try {
                    lookup = SymbolLookup.libraryLookup(LIBRARY_NAME, ARENA); // LD_LIBRARY_PATH, ld.so.cache
                    from = LIBRARY_NAME + " (system library path)";
                } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
                    tried.add("system library path: " + e.getMessage());
                    for (Path file : pythonCandidates(System.getenv(), System.getProperty("user.home"))) {
                        try {
                            lookup = loadWithSublibraries(file, ARENA, NOTES);
                            from = file.toString();
                            break;
                        } catch (IllegalArgumentException | UnsatisfiedLinkError e2) {
                            tried.add(file + ": " + e2.getMessage());
                        }
                    }
                    if (from == null) {
                        error = LIBRARY_NAME + " not found (set -D" + PATH_PROPERTY + " or " + PATH_ENV
                                + " to it or its folder, e.g. a Python environment's site-packages/nvidia/cudnn/lib); tried "
                                + String.join("; ", tried);
                    }
                }
            }
            LOOKUP = lookup;
            ERROR = error;
            LOADED_FROM = from;
        }
    }

    /** Loads the sub-libraries beside {@code shim} (those present; a failure is noted, not fatal), then the shim. */
    static SymbolLookup loadWithSublibraries(Path shim, Arena arena, List<String> notes) {
        if (!Files.isRegularFile(shim)) {
            throw new IllegalArgumentException("no such file");
        }
        Path dir = shim.toAbsolutePath().getParent();
        for (String sub : SUBLIBRARIES) {
            Path p = dir.resolve(sub);
            if (Files.isRegularFile(p)) {
                try {
                    SymbolLookup.libraryLookup(p, arena);
                } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
                    notes.add(sub + " did not load: " + e.getMessage());
                }
            }
        }
        return SymbolLookup.libraryLookup(shim, arena);
    }

    /**
     * Where a Python environment's cuDNN wheel (nvidia-cudnn-cu12/cu13) puts libcudnn.so.9, existing files only, in
     * search order: $VIRTUAL_ENV, $CONDA_PREFIX, the environment of each python on $PATH (a venv's bin/), ~/.local,
     * /usr/local, /usr, /opt/conda and /opt/*. Found by listing folders, without running Python.
     */
    static List<Path> pythonCandidates(Map<String, String> env, String home) {
        Set<Path> prefixes = new LinkedHashSet<>();
        for (String var : List.of("VIRTUAL_ENV", "CONDA_PREFIX")) {
            String v = env.get(var);
            if (v != null && !v.isBlank()) {
                prefixes.add(Path.of(v));
            }
        }
        String path = env.getOrDefault("PATH", "");
        for (String dir : path.split(":")) {
            if (!dir.isBlank() && dir.endsWith("bin") && Files.isRegularFile(Path.of(dir, "python3"))) {
                Path parent = Path.of(dir).getParent();
                if (parent != null) {
                    prefixes.add(parent);
                }
            }
        }
        if (home != null) {
            prefixes.add(Path.of(home, ".local"));
        }
        prefixes.add(Path.of("/usr/local"));
        prefixes.add(Path.of("/usr"));
        prefixes.add(Path.of("/opt/conda"));
        prefixes.addAll(children(Path.of("/opt"), "*"));
        List<Path> found = new ArrayList<>();
        for (Path prefix : prefixes) {
            for (Path py : children(prefix.resolve("lib"), "python3*")) {
                for (String packages : List.of("site-packages", "dist-packages")) {
                    Path lib = py.resolve(packages).resolve("nvidia/cudnn/lib").resolve(LIBRARY_NAME);
                    if (Files.isRegularFile(lib) && !found.contains(lib)) {
                        found.add(lib);
                    }
                }
            }
        }
        // Debian's python3-* packages use lib/python3/dist-packages, without a version.
        Path debian = Path.of("/usr/lib/python3/dist-packages/nvidia/cudnn/lib", LIBRARY_NAME);
        if (Files.isRegularFile(debian) && !found.contains(debian)) {
            found.add(debian);
        }
        return found;
    }

    private static List<Path> children(Path dir, String glob) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, glob)) {
            for (Path p : ds) {
                if (Files.isDirectory(p)) {
                    out.add(p);
                }
            }
        } catch (IOException | SecurityException e) {
            // An unreadable folder is simply not a candidate.
        }
        out.sort(null); // deterministic order (python3.10 before python3.12)
        return out;
    }

    /** Why libcudnn.so.9 could not be loaded, or empty when it was. */
    public static Optional<String> libraryLoadError() {
        return Optional.ofNullable(Library.ERROR);
    }

    /** The file (or soname) libcudnn.so.9 was loaded from, or empty when it was not. */
    public static Optional<String> loadedFrom() {
        return Optional.ofNullable(Library.LOADED_FROM);
    }

    /** Sub-libraries that were present beside the shim but did not load (they may fail later, on first use). */
    public static List<String> loadNotes() {
        return List.copyOf(Library.NOTES);
    }

    /** The address of a symbol, or {@code MemorySegment.NULL} when the library or the symbol is missing. */
    public static MemorySegment findSymbol(String symbol) {
        return Library.LOOKUP.find(symbol).orElse(MemorySegment.NULL);
    }

    // Difference 2 from jextract: a missing symbol yields a handle that throws UnsatisfiedLinkError when called.
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

    private static class cudnnGetVersion {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_LONG
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnGetVersion", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : size_t cudnnGetVersion(void)}
     */
    public static FunctionDescriptor cudnnGetVersion$descriptor() {
        return cudnnGetVersion.DESC;
    }

    public static MethodHandle cudnnGetVersion$handle() {
        return cudnnGetVersion.HANDLE;
    }

    public static MemorySegment cudnnGetVersion$address() {
        return findSymbol("cudnnGetVersion");
    }

    public static long cudnnGetVersion() {
        var mh$ = cudnnGetVersion.HANDLE;
        try {
            return (long) mh$.invokeExact();
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnGetErrorString {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_POINTER,
            cudnn_h.C_INT
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnGetErrorString", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : const char * cudnnGetErrorString(cudnnStatus_t status)}
     */
    public static FunctionDescriptor cudnnGetErrorString$descriptor() {
        return cudnnGetErrorString.DESC;
    }

    public static MethodHandle cudnnGetErrorString$handle() {
        return cudnnGetErrorString.HANDLE;
    }

    public static MemorySegment cudnnGetErrorString$address() {
        return findSymbol("cudnnGetErrorString");
    }

    public static MemorySegment cudnnGetErrorString(int status) {
        var mh$ = cudnnGetErrorString.HANDLE;
        try {
            return (MemorySegment) mh$.invokeExact(status);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnCreate {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnCreate", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnCreate(cudnnHandle_t *handle)}
     */
    public static FunctionDescriptor cudnnCreate$descriptor() {
        return cudnnCreate.DESC;
    }

    public static MethodHandle cudnnCreate$handle() {
        return cudnnCreate.HANDLE;
    }

    public static MemorySegment cudnnCreate$address() {
        return findSymbol("cudnnCreate");
    }

    public static int cudnnCreate(MemorySegment handle) {
        var mh$ = cudnnCreate.HANDLE;
        try {
            return (int) mh$.invokeExact(handle);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnDestroy {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnDestroy", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnDestroy(cudnnHandle_t handle)}
     */
    public static FunctionDescriptor cudnnDestroy$descriptor() {
        return cudnnDestroy.DESC;
    }

    public static MethodHandle cudnnDestroy$handle() {
        return cudnnDestroy.HANDLE;
    }

    public static MemorySegment cudnnDestroy$address() {
        return findSymbol("cudnnDestroy");
    }

    public static int cudnnDestroy(MemorySegment handle) {
        var mh$ = cudnnDestroy.HANDLE;
        try {
            return (int) mh$.invokeExact(handle);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnSetStream {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnSetStream", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t streamId)}
     */
    public static FunctionDescriptor cudnnSetStream$descriptor() {
        return cudnnSetStream.DESC;
    }

    public static MethodHandle cudnnSetStream$handle() {
        return cudnnSetStream.HANDLE;
    }

    public static MemorySegment cudnnSetStream$address() {
        return findSymbol("cudnnSetStream");
    }

    public static int cudnnSetStream(MemorySegment handle, MemorySegment streamId) {
        var mh$ = cudnnSetStream.HANDLE;
        try {
            return (int) mh$.invokeExact(handle, streamId);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnCreateTensorDescriptor {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnCreateTensorDescriptor", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *tensorDesc)}
     */
    public static FunctionDescriptor cudnnCreateTensorDescriptor$descriptor() {
        return cudnnCreateTensorDescriptor.DESC;
    }

    public static MethodHandle cudnnCreateTensorDescriptor$handle() {
        return cudnnCreateTensorDescriptor.HANDLE;
    }

    public static MemorySegment cudnnCreateTensorDescriptor$address() {
        return findSymbol("cudnnCreateTensorDescriptor");
    }

    public static int cudnnCreateTensorDescriptor(MemorySegment tensorDesc) {
        var mh$ = cudnnCreateTensorDescriptor.HANDLE;
        try {
            return (int) mh$.invokeExact(tensorDesc);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnSetTensor4dDescriptor {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_INT,
            cudnn_h.C_INT,
            cudnn_h.C_INT,
            cudnn_h.C_INT,
            cudnn_h.C_INT,
            cudnn_h.C_INT
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnSetTensor4dDescriptor", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t tensorDesc, cudnnTensorFormat_t format, cudnnDataType_t dataType, int n, int c, int h, int w)}
     */
    public static FunctionDescriptor cudnnSetTensor4dDescriptor$descriptor() {
        return cudnnSetTensor4dDescriptor.DESC;
    }

    public static MethodHandle cudnnSetTensor4dDescriptor$handle() {
        return cudnnSetTensor4dDescriptor.HANDLE;
    }

    public static MemorySegment cudnnSetTensor4dDescriptor$address() {
        return findSymbol("cudnnSetTensor4dDescriptor");
    }

    public static int cudnnSetTensor4dDescriptor(MemorySegment tensorDesc, int format, int dataType, int n, int c, int h, int w) {
        var mh$ = cudnnSetTensor4dDescriptor.HANDLE;
        try {
            return (int) mh$.invokeExact(tensorDesc, format, dataType, n, c, h, w);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnDestroyTensorDescriptor {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnDestroyTensorDescriptor", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t tensorDesc)}
     */
    public static FunctionDescriptor cudnnDestroyTensorDescriptor$descriptor() {
        return cudnnDestroyTensorDescriptor.DESC;
    }

    public static MethodHandle cudnnDestroyTensorDescriptor$handle() {
        return cudnnDestroyTensorDescriptor.HANDLE;
    }

    public static MemorySegment cudnnDestroyTensorDescriptor$address() {
        return findSymbol("cudnnDestroyTensorDescriptor");
    }

    public static int cudnnDestroyTensorDescriptor(MemorySegment tensorDesc) {
        var mh$ = cudnnDestroyTensorDescriptor.HANDLE;
        try {
            return (int) mh$.invokeExact(tensorDesc);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnAddTensor {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnAddTensor", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnAddTensor(cudnnHandle_t handle, const void *alpha, const cudnnTensorDescriptor_t aDesc, const void *A, const void *beta, const cudnnTensorDescriptor_t cDesc, void *C)}
     */
    public static FunctionDescriptor cudnnAddTensor$descriptor() {
        return cudnnAddTensor.DESC;
    }

    public static MethodHandle cudnnAddTensor$handle() {
        return cudnnAddTensor.HANDLE;
    }

    public static MemorySegment cudnnAddTensor$address() {
        return findSymbol("cudnnAddTensor");
    }

    public static int cudnnAddTensor(MemorySegment handle, MemorySegment alpha, MemorySegment aDesc, MemorySegment A, MemorySegment beta, MemorySegment cDesc, MemorySegment C) {
        var mh$ = cudnnAddTensor.HANDLE;
        try {
            return (int) mh$.invokeExact(handle, alpha, aDesc, A, beta, cDesc, C);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnCreateFilterDescriptor {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnCreateFilterDescriptor", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *filterDesc)}
     */
    public static FunctionDescriptor cudnnCreateFilterDescriptor$descriptor() {
        return cudnnCreateFilterDescriptor.DESC;
    }

    public static MethodHandle cudnnCreateFilterDescriptor$handle() {
        return cudnnCreateFilterDescriptor.HANDLE;
    }

    public static MemorySegment cudnnCreateFilterDescriptor$address() {
        return findSymbol("cudnnCreateFilterDescriptor");
    }

    public static int cudnnCreateFilterDescriptor(MemorySegment filterDesc) {
        var mh$ = cudnnCreateFilterDescriptor.HANDLE;
        try {
            return (int) mh$.invokeExact(filterDesc);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnSetFilter4dDescriptor {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_INT,
            cudnn_h.C_INT,
            cudnn_h.C_INT,
            cudnn_h.C_INT,
            cudnn_h.C_INT,
            cudnn_h.C_INT
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnSetFilter4dDescriptor", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t filterDesc, cudnnDataType_t dataType, cudnnTensorFormat_t format, int k, int c, int h, int w)}
     */
    public static FunctionDescriptor cudnnSetFilter4dDescriptor$descriptor() {
        return cudnnSetFilter4dDescriptor.DESC;
    }

    public static MethodHandle cudnnSetFilter4dDescriptor$handle() {
        return cudnnSetFilter4dDescriptor.HANDLE;
    }

    public static MemorySegment cudnnSetFilter4dDescriptor$address() {
        return findSymbol("cudnnSetFilter4dDescriptor");
    }

    public static int cudnnSetFilter4dDescriptor(MemorySegment filterDesc, int dataType, int format, int k, int c, int h, int w) {
        var mh$ = cudnnSetFilter4dDescriptor.HANDLE;
        try {
            return (int) mh$.invokeExact(filterDesc, dataType, format, k, c, h, w);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnDestroyFilterDescriptor {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnDestroyFilterDescriptor", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t filterDesc)}
     */
    public static FunctionDescriptor cudnnDestroyFilterDescriptor$descriptor() {
        return cudnnDestroyFilterDescriptor.DESC;
    }

    public static MethodHandle cudnnDestroyFilterDescriptor$handle() {
        return cudnnDestroyFilterDescriptor.HANDLE;
    }

    public static MemorySegment cudnnDestroyFilterDescriptor$address() {
        return findSymbol("cudnnDestroyFilterDescriptor");
    }

    public static int cudnnDestroyFilterDescriptor(MemorySegment filterDesc) {
        var mh$ = cudnnDestroyFilterDescriptor.HANDLE;
        try {
            return (int) mh$.invokeExact(filterDesc);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnCreateConvolutionDescriptor {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnCreateConvolutionDescriptor", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *convDesc)}
     */
    public static FunctionDescriptor cudnnCreateConvolutionDescriptor$descriptor() {
        return cudnnCreateConvolutionDescriptor.DESC;
    }

    public static MethodHandle cudnnCreateConvolutionDescriptor$handle() {
        return cudnnCreateConvolutionDescriptor.HANDLE;
    }

    public static MemorySegment cudnnCreateConvolutionDescriptor$address() {
        return findSymbol("cudnnCreateConvolutionDescriptor");
    }

    public static int cudnnCreateConvolutionDescriptor(MemorySegment convDesc) {
        var mh$ = cudnnCreateConvolutionDescriptor.HANDLE;
        try {
            return (int) mh$.invokeExact(convDesc);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnSetConvolution2dDescriptor {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_INT,
            cudnn_h.C_INT,
            cudnn_h.C_INT,
            cudnn_h.C_INT,
            cudnn_h.C_INT,
            cudnn_h.C_INT,
            cudnn_h.C_INT,
            cudnn_h.C_INT
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnSetConvolution2dDescriptor", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t convDesc, int pad_h, int pad_w, int u, int v, int dilation_h, int dilation_w, cudnnConvolutionMode_t mode, cudnnDataType_t computeType)}
     */
    public static FunctionDescriptor cudnnSetConvolution2dDescriptor$descriptor() {
        return cudnnSetConvolution2dDescriptor.DESC;
    }

    public static MethodHandle cudnnSetConvolution2dDescriptor$handle() {
        return cudnnSetConvolution2dDescriptor.HANDLE;
    }

    public static MemorySegment cudnnSetConvolution2dDescriptor$address() {
        return findSymbol("cudnnSetConvolution2dDescriptor");
    }

    public static int cudnnSetConvolution2dDescriptor(MemorySegment convDesc, int pad_h, int pad_w, int u, int v, int dilation_h, int dilation_w, int mode, int computeType) {
        var mh$ = cudnnSetConvolution2dDescriptor.HANDLE;
        try {
            return (int) mh$.invokeExact(convDesc, pad_h, pad_w, u, v, dilation_h, dilation_w, mode, computeType);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnSetConvolutionGroupCount {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_INT
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnSetConvolutionGroupCount", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t convDesc, int groupCount)}
     */
    public static FunctionDescriptor cudnnSetConvolutionGroupCount$descriptor() {
        return cudnnSetConvolutionGroupCount.DESC;
    }

    public static MethodHandle cudnnSetConvolutionGroupCount$handle() {
        return cudnnSetConvolutionGroupCount.HANDLE;
    }

    public static MemorySegment cudnnSetConvolutionGroupCount$address() {
        return findSymbol("cudnnSetConvolutionGroupCount");
    }

    public static int cudnnSetConvolutionGroupCount(MemorySegment convDesc, int groupCount) {
        var mh$ = cudnnSetConvolutionGroupCount.HANDLE;
        try {
            return (int) mh$.invokeExact(convDesc, groupCount);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnSetConvolutionMathType {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_INT
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnSetConvolutionMathType", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t convDesc, cudnnMathType_t mathType)}
     */
    public static FunctionDescriptor cudnnSetConvolutionMathType$descriptor() {
        return cudnnSetConvolutionMathType.DESC;
    }

    public static MethodHandle cudnnSetConvolutionMathType$handle() {
        return cudnnSetConvolutionMathType.HANDLE;
    }

    public static MemorySegment cudnnSetConvolutionMathType$address() {
        return findSymbol("cudnnSetConvolutionMathType");
    }

    public static int cudnnSetConvolutionMathType(MemorySegment convDesc, int mathType) {
        var mh$ = cudnnSetConvolutionMathType.HANDLE;
        try {
            return (int) mh$.invokeExact(convDesc, mathType);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnDestroyConvolutionDescriptor {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnDestroyConvolutionDescriptor", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t convDesc)}
     */
    public static FunctionDescriptor cudnnDestroyConvolutionDescriptor$descriptor() {
        return cudnnDestroyConvolutionDescriptor.DESC;
    }

    public static MethodHandle cudnnDestroyConvolutionDescriptor$handle() {
        return cudnnDestroyConvolutionDescriptor.HANDLE;
    }

    public static MemorySegment cudnnDestroyConvolutionDescriptor$address() {
        return findSymbol("cudnnDestroyConvolutionDescriptor");
    }

    public static int cudnnDestroyConvolutionDescriptor(MemorySegment convDesc) {
        var mh$ = cudnnDestroyConvolutionDescriptor.HANDLE;
        try {
            return (int) mh$.invokeExact(convDesc);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnGetConvolution2dForwardOutputDim {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnGetConvolution2dForwardOutputDim", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t inputTensorDesc, const cudnnFilterDescriptor_t filterDesc, int *n, int *c, int *h, int *w)}
     */
    public static FunctionDescriptor cudnnGetConvolution2dForwardOutputDim$descriptor() {
        return cudnnGetConvolution2dForwardOutputDim.DESC;
    }

    public static MethodHandle cudnnGetConvolution2dForwardOutputDim$handle() {
        return cudnnGetConvolution2dForwardOutputDim.HANDLE;
    }

    public static MemorySegment cudnnGetConvolution2dForwardOutputDim$address() {
        return findSymbol("cudnnGetConvolution2dForwardOutputDim");
    }

    public static int cudnnGetConvolution2dForwardOutputDim(MemorySegment convDesc, MemorySegment inputTensorDesc, MemorySegment filterDesc, MemorySegment n, MemorySegment c, MemorySegment h, MemorySegment w) {
        var mh$ = cudnnGetConvolution2dForwardOutputDim.HANDLE;
        try {
            return (int) mh$.invokeExact(convDesc, inputTensorDesc, filterDesc, n, c, h, w);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnGetConvolutionForwardAlgorithm_v7 {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnGetConvolutionForwardAlgorithm_v7", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc, const cudnnFilterDescriptor_t filterDesc, const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t destDesc, const int requestedAlgoCount, int *returnedAlgoCount, cudnnConvolutionFwdAlgoPerf_t *perfResults)}
     */
    public static FunctionDescriptor cudnnGetConvolutionForwardAlgorithm_v7$descriptor() {
        return cudnnGetConvolutionForwardAlgorithm_v7.DESC;
    }

    public static MethodHandle cudnnGetConvolutionForwardAlgorithm_v7$handle() {
        return cudnnGetConvolutionForwardAlgorithm_v7.HANDLE;
    }

    public static MemorySegment cudnnGetConvolutionForwardAlgorithm_v7$address() {
        return findSymbol("cudnnGetConvolutionForwardAlgorithm_v7");
    }

    public static int cudnnGetConvolutionForwardAlgorithm_v7(MemorySegment handle, MemorySegment srcDesc, MemorySegment filterDesc, MemorySegment convDesc, MemorySegment destDesc, int requestedAlgoCount, MemorySegment returnedAlgoCount, MemorySegment perfResults) {
        var mh$ = cudnnGetConvolutionForwardAlgorithm_v7.HANDLE;
        try {
            return (int) mh$.invokeExact(handle, srcDesc, filterDesc, convDesc, destDesc, requestedAlgoCount, returnedAlgoCount, perfResults);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnFindConvolutionForwardAlgorithm {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnFindConvolutionForwardAlgorithm", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnFindConvolutionForwardAlgorithm(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const cudnnFilterDescriptor_t wDesc, const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t yDesc, const int requestedAlgoCount, int *returnedAlgoCount, cudnnConvolutionFwdAlgoPerf_t *perfResults)}
     */
    public static FunctionDescriptor cudnnFindConvolutionForwardAlgorithm$descriptor() {
        return cudnnFindConvolutionForwardAlgorithm.DESC;
    }

    public static MethodHandle cudnnFindConvolutionForwardAlgorithm$handle() {
        return cudnnFindConvolutionForwardAlgorithm.HANDLE;
    }

    public static MemorySegment cudnnFindConvolutionForwardAlgorithm$address() {
        return findSymbol("cudnnFindConvolutionForwardAlgorithm");
    }

    public static int cudnnFindConvolutionForwardAlgorithm(MemorySegment handle, MemorySegment xDesc, MemorySegment wDesc, MemorySegment convDesc, MemorySegment yDesc, int requestedAlgoCount, MemorySegment returnedAlgoCount, MemorySegment perfResults) {
        var mh$ = cudnnFindConvolutionForwardAlgorithm.HANDLE;
        try {
            return (int) mh$.invokeExact(handle, xDesc, wDesc, convDesc, yDesc, requestedAlgoCount, returnedAlgoCount, perfResults);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnGetConvolutionForwardWorkspaceSize {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_INT,
            cudnn_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnGetConvolutionForwardWorkspaceSize", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const cudnnFilterDescriptor_t wDesc, const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t yDesc, cudnnConvolutionFwdAlgo_t algo, size_t *sizeInBytes)}
     */
    public static FunctionDescriptor cudnnGetConvolutionForwardWorkspaceSize$descriptor() {
        return cudnnGetConvolutionForwardWorkspaceSize.DESC;
    }

    public static MethodHandle cudnnGetConvolutionForwardWorkspaceSize$handle() {
        return cudnnGetConvolutionForwardWorkspaceSize.HANDLE;
    }

    public static MemorySegment cudnnGetConvolutionForwardWorkspaceSize$address() {
        return findSymbol("cudnnGetConvolutionForwardWorkspaceSize");
    }

    public static int cudnnGetConvolutionForwardWorkspaceSize(MemorySegment handle, MemorySegment xDesc, MemorySegment wDesc, MemorySegment convDesc, MemorySegment yDesc, int algo, MemorySegment sizeInBytes) {
        var mh$ = cudnnGetConvolutionForwardWorkspaceSize.HANDLE;
        try {
            return (int) mh$.invokeExact(handle, xDesc, wDesc, convDesc, yDesc, algo, sizeInBytes);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnConvolutionForward {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_LONG,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnConvolutionForward", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void *alpha, const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnFilterDescriptor_t wDesc, const void *w, const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo, void *workSpace, size_t workSpaceSizeInBytes, const void *beta, const cudnnTensorDescriptor_t yDesc, void *y)}
     */
    public static FunctionDescriptor cudnnConvolutionForward$descriptor() {
        return cudnnConvolutionForward.DESC;
    }

    public static MethodHandle cudnnConvolutionForward$handle() {
        return cudnnConvolutionForward.HANDLE;
    }

    public static MemorySegment cudnnConvolutionForward$address() {
        return findSymbol("cudnnConvolutionForward");
    }

    public static int cudnnConvolutionForward(MemorySegment handle, MemorySegment alpha, MemorySegment xDesc, MemorySegment x, MemorySegment wDesc, MemorySegment w, MemorySegment convDesc, int algo, MemorySegment workSpace, long workSpaceSizeInBytes, MemorySegment beta, MemorySegment yDesc, MemorySegment y) {
        var mh$ = cudnnConvolutionForward.HANDLE;
        try {
            return (int) mh$.invokeExact(handle, alpha, xDesc, x, wDesc, w, convDesc, algo, workSpace, workSpaceSizeInBytes, beta, yDesc, y);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnGetConvolutionBackwardDataAlgorithm_v7 {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnGetConvolutionBackwardDataAlgorithm_v7", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t handle, const cudnnFilterDescriptor_t filterDesc, const cudnnTensorDescriptor_t diffDesc, const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t gradDesc, const int requestedAlgoCount, int *returnedAlgoCount, cudnnConvolutionBwdDataAlgoPerf_t *perfResults)}
     */
    public static FunctionDescriptor cudnnGetConvolutionBackwardDataAlgorithm_v7$descriptor() {
        return cudnnGetConvolutionBackwardDataAlgorithm_v7.DESC;
    }

    public static MethodHandle cudnnGetConvolutionBackwardDataAlgorithm_v7$handle() {
        return cudnnGetConvolutionBackwardDataAlgorithm_v7.HANDLE;
    }

    public static MemorySegment cudnnGetConvolutionBackwardDataAlgorithm_v7$address() {
        return findSymbol("cudnnGetConvolutionBackwardDataAlgorithm_v7");
    }

    public static int cudnnGetConvolutionBackwardDataAlgorithm_v7(MemorySegment handle, MemorySegment filterDesc, MemorySegment diffDesc, MemorySegment convDesc, MemorySegment gradDesc, int requestedAlgoCount, MemorySegment returnedAlgoCount, MemorySegment perfResults) {
        var mh$ = cudnnGetConvolutionBackwardDataAlgorithm_v7.HANDLE;
        try {
            return (int) mh$.invokeExact(handle, filterDesc, diffDesc, convDesc, gradDesc, requestedAlgoCount, returnedAlgoCount, perfResults);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnFindConvolutionBackwardDataAlgorithm {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnFindConvolutionBackwardDataAlgorithm", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithm(cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc, const cudnnTensorDescriptor_t dyDesc, const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t dxDesc, const int requestedAlgoCount, int *returnedAlgoCount, cudnnConvolutionBwdDataAlgoPerf_t *perfResults)}
     */
    public static FunctionDescriptor cudnnFindConvolutionBackwardDataAlgorithm$descriptor() {
        return cudnnFindConvolutionBackwardDataAlgorithm.DESC;
    }

    public static MethodHandle cudnnFindConvolutionBackwardDataAlgorithm$handle() {
        return cudnnFindConvolutionBackwardDataAlgorithm.HANDLE;
    }

    public static MemorySegment cudnnFindConvolutionBackwardDataAlgorithm$address() {
        return findSymbol("cudnnFindConvolutionBackwardDataAlgorithm");
    }

    public static int cudnnFindConvolutionBackwardDataAlgorithm(MemorySegment handle, MemorySegment wDesc, MemorySegment dyDesc, MemorySegment convDesc, MemorySegment dxDesc, int requestedAlgoCount, MemorySegment returnedAlgoCount, MemorySegment perfResults) {
        var mh$ = cudnnFindConvolutionBackwardDataAlgorithm.HANDLE;
        try {
            return (int) mh$.invokeExact(handle, wDesc, dyDesc, convDesc, dxDesc, requestedAlgoCount, returnedAlgoCount, perfResults);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnGetConvolutionBackwardDataWorkspaceSize {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_INT,
            cudnn_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnGetConvolutionBackwardDataWorkspaceSize", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc, const cudnnTensorDescriptor_t dyDesc, const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t dxDesc, cudnnConvolutionBwdDataAlgo_t algo, size_t *sizeInBytes)}
     */
    public static FunctionDescriptor cudnnGetConvolutionBackwardDataWorkspaceSize$descriptor() {
        return cudnnGetConvolutionBackwardDataWorkspaceSize.DESC;
    }

    public static MethodHandle cudnnGetConvolutionBackwardDataWorkspaceSize$handle() {
        return cudnnGetConvolutionBackwardDataWorkspaceSize.HANDLE;
    }

    public static MemorySegment cudnnGetConvolutionBackwardDataWorkspaceSize$address() {
        return findSymbol("cudnnGetConvolutionBackwardDataWorkspaceSize");
    }

    public static int cudnnGetConvolutionBackwardDataWorkspaceSize(MemorySegment handle, MemorySegment wDesc, MemorySegment dyDesc, MemorySegment convDesc, MemorySegment dxDesc, int algo, MemorySegment sizeInBytes) {
        var mh$ = cudnnGetConvolutionBackwardDataWorkspaceSize.HANDLE;
        try {
            return (int) mh$.invokeExact(handle, wDesc, dyDesc, convDesc, dxDesc, algo, sizeInBytes);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }

    private static class cudnnConvolutionBackwardData {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_INT,
            cudnn_h.C_POINTER,
            cudnn_h.C_LONG,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER,
            cudnn_h.C_POINTER
        );

        public static final MethodHandle HANDLE = cudnn_h.downcall("cudnnConvolutionBackwardData", DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c : cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t handle, const void *alpha, const cudnnFilterDescriptor_t wDesc, const void *w, const cudnnTensorDescriptor_t dyDesc, const void *dy, const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionBwdDataAlgo_t algo, void *workSpace, size_t workSpaceSizeInBytes, const void *beta, const cudnnTensorDescriptor_t dxDesc, void *dx)}
     */
    public static FunctionDescriptor cudnnConvolutionBackwardData$descriptor() {
        return cudnnConvolutionBackwardData.DESC;
    }

    public static MethodHandle cudnnConvolutionBackwardData$handle() {
        return cudnnConvolutionBackwardData.HANDLE;
    }

    public static MemorySegment cudnnConvolutionBackwardData$address() {
        return findSymbol("cudnnConvolutionBackwardData");
    }

    public static int cudnnConvolutionBackwardData(MemorySegment handle, MemorySegment alpha, MemorySegment wDesc, MemorySegment w, MemorySegment dyDesc, MemorySegment dy, MemorySegment convDesc, int algo, MemorySegment workSpace, long workSpaceSizeInBytes, MemorySegment beta, MemorySegment dxDesc, MemorySegment dx) {
        var mh$ = cudnnConvolutionBackwardData.HANDLE;
        try {
            return (int) mh$.invokeExact(handle, alpha, wDesc, w, dyDesc, dy, convDesc, algo, workSpace, workSpaceSizeInBytes, beta, dxDesc, dx);
        } catch (Throwable ex$) {
            throw rethrow(ex$);
        }
    }
}
