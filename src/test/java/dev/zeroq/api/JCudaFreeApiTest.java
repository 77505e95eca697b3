// JCuda is optional: the API, loaded by a class loader that sees zeroq and its runtime dependencies but not JCuda,
// resolves every public signature except JCudaSession's and runs the bundled model. So no API path loads JCuda.
package dev.zeroq.api;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JCudaFreeApiTest {
    @Test
    void theApiWorksWithoutJCudaOnTheClassPath() throws Exception {
        Path classes = Path.of(Model.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<URL> urls = new ArrayList<>();
        urls.add(classes.toUri().toURL());
        // zeroq's non-static requires, followed through this JVM's class path: JCuda (requires static) is left out.
        for (Path jar : ModulePathTest.runtimeModules(
                java.lang.module.ModuleFinder.of(classes).find("dev.zeroq").orElseThrow().descriptor())) {
            assertTrue(!jar.getFileName().toString().startsWith("jcuda"), "JCuda among the runtime jars: " + jar);
            urls.add(jar.toUri().toURL());
        }
        try (URLClassLoader loader = new URLClassLoader("no-jcuda", urls.toArray(URL[]::new),
                ClassLoader.getPlatformClassLoader())) {
            assertThrows(ClassNotFoundException.class, () -> loader.loadClass("jcuda.driver.CUdeviceptr"));

            // Every public signature of the API resolves, except JCudaSession's, which names JCuda types.
            List<String> names;
            try (Stream<Path> files = Files.list(classes.resolve("dev/zeroq/api"))) {
                names = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".class") && !n.contains("$")
                        && !n.equals("package-info.class")).map(n -> n.substring(0, n.length() - 6)).sorted().toList();
            }
            for (String n : names) {
                Class<?> c = loader.loadClass("dev.zeroq.api." + n);
                assertEquals(loader, c.getClassLoader());
                if (n.equals("JCudaSession")) {
                    NoClassDefFoundError e = assertThrows(NoClassDefFoundError.class, c::getMethods);
                    assertTrue(e.getMessage().startsWith("jcuda/"), e.getMessage());
                } else {
                    c.getMethods();
                    c.getConstructors();
                }
            }

            // A session on the bundled model, through reflection on the isolated classes.
            Class<?> model = loader.loadClass("dev.zeroq.api.Model");
            Class<?> options = loader.loadClass("dev.zeroq.api.SessionOptions");
            Object m = model.getMethod("bundled", String.class).invoke(null, "resnet_fmnist");
            Object shape = model.getMethod("inputShape").invoke(m);
            int size = (int) shape.getClass().getMethod("size").invoke(shape);
            int outputs = (int) model.getMethod("outputSize").invoke(m);
            Object session = model.getMethod("session", options).invoke(m, options.getMethod("defaults").invoke(null));
            try {
                Method run = session.getClass().getMethod("run", float[].class, int.class);
                float[] y = (float[]) run.invoke(session, new float[2 * size], 2);
                assertEquals(2 * outputs, y.length);
            } finally {
                ((AutoCloseable) session).close();
            }
        }
    }
}
