// The zeroq module: exports the public API only. dev.zeroq holds nothing but ZeroqException, the one exception the
// API throws, so a caller can catch it by type; every other package is internal (ModulePathTest keeps it so).
// On the class path (the zeroq launcher, the shaded zeroq.jar, the GPU bundle, the tests) this file is ignored.

/**
 * zeroq: data-free post-training quantization of CNNs (ZeroQ) and in-process inference. Import
 * {@code dev.zeroq.api}; run with {@code --enable-native-access=dev.zeroq} (the Vector API module comes with the
 * requires).
 */
@SuppressWarnings("requires-automatic") // protobuf, jline-terminal, jfreechart and JCuda ship no module descriptor
module dev.zeroq {
    exports dev.zeroq;
    exports dev.zeroq.api;

    requires jdk.incubator.vector;   // the CPU backend's SIMD kernels
    requires java.desktop;           // report charts and PNG image grids (java.awt, javax.imageio)
    requires com.google.protobuf;    // ONNX files (Automatic-Module-Name)
    requires com.fasterxml.jackson.databind; // plans and --json output
    requires info.picocli;           // the zeroq command
    requires me.tongfei.progressbar; // the command's progress bars
    requires org.jfree.jfreechart;   // report charts (Automatic-Module-Name)
    // JCuda is optional (provided scope): only dev.zeroq.api.JCudaSession and the backend class behind it use it.
    // Static: resolved only when the caller's module requires it (module name jcuda, derived from jcuda-VERSION.jar,
    // which has no Automatic-Module-Name). Not transitive, although JCudaSession's signatures name JCuda types: javac
    // would then ask every consumer for JCuda at compile time ("module not found: jcuda"); a JCudaSession user
    // requires jcuda itself, since it holds the JCuda handles it passes.
    requires static jcuda;

    // picocli builds the command tree by reflection on the annotated command classes.
    opens dev.zeroq.cli to info.picocli;
    // Jackson binds plan JSON to the QuantPlan records.
    opens dev.zeroq.quant to com.fasterxml.jackson.databind;
}
