// Enforces "only dev.zeroq.api is public API" for signatures (module-info does it for packages): every type reachable
// from a public signature in the package must be the package's own, ZeroqException, or plain JDK (not FFM); JCudaSession
// may also name the caller's JCuda handles.
package dev.zeroq.api;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

class ApiSurfaceTest {
    @Test
    void publicSignaturesUseOnlyApiAndJdkTypes() throws Exception {
        TreeSet<String> offenders = new TreeSet<>();
        List<Class<?>> types = apiClasses();
        assertTrue(types.size() >= 12, "found only " + types);
        for (Class<?> c : types) {
            if (!Modifier.isPublic(c.getModifiers())) {
                continue;
            }
            String at = c.getSimpleName();
            // JCudaSession is the API's JCuda bridge: its signatures take the caller's JCuda handles.
            Set<String> extra = c == JCudaSession.class ? JCUDA_TYPES : Set.of();
            check(c.getGenericSuperclass(), at + " extends", offenders, extra);
            for (Type t : c.getGenericInterfaces()) check(t, at + " implements", offenders, extra);
            for (Constructor<?> k : c.getConstructors()) {
                for (Type t : k.getGenericParameterTypes()) check(t, at + "(...)", offenders, extra);
            }
            for (Method m : c.getMethods()) {
                if (m.getDeclaringClass() == Object.class || m.getDeclaringClass().getName().startsWith("java.")) continue;
                String where = at + "." + m.getName();
                check(m.getGenericReturnType(), where, offenders, extra);
                for (Type t : m.getGenericParameterTypes()) check(t, where, offenders, extra);
                for (Type t : m.getGenericExceptionTypes()) check(t, where, offenders, extra);
            }
            for (Field f : c.getFields()) check(f.getGenericType(), at + "." + f.getName(), offenders, extra);
        }
        assertTrue(offenders.isEmpty(), "non-API types in public signatures: " + offenders);
    }

    /** The caller's JCuda handles that JCudaSession takes, and nothing else of JCuda. */
    private static final Set<String> JCUDA_TYPES = Set.of("jcuda.driver.CUcontext", "jcuda.driver.CUstream",
            "jcuda.driver.CUdeviceptr");

    private static void check(Type t, String where, TreeSet<String> offenders, Set<String> extra) {
        switch (t) {
            case null -> { }
            case Class<?> c -> {
                Class<?> e = c;
                while (e.isArray()) e = e.getComponentType();
                if (!allowed(e) && !extra.contains(e.getName())) offenders.add(where + ": " + e.getName());
            }
            case ParameterizedType p -> {
                check(p.getRawType(), where, offenders, extra);
                for (Type a : p.getActualTypeArguments()) check(a, where, offenders, extra);
            }
            case GenericArrayType g -> check(g.getGenericComponentType(), where, offenders, extra);
            case WildcardType w -> {
                for (Type b : w.getUpperBounds()) check(b, where, offenders, extra);
                for (Type b : w.getLowerBounds()) check(b, where, offenders, extra);
            }
            case TypeVariable<?> v -> {
                for (Type b : v.getBounds()) check(b, where, offenders, extra);
            }
            default -> offenders.add(where + ": unknown type " + t);
        }
    }

    /** API types, ZeroqException, primitives and JDK types other than native memory (FFM) ones. */
    private static boolean allowed(Class<?> c) {
        String n = c.getName();
        if (c.isPrimitive() || n.equals("dev.zeroq.ZeroqException")) return true;
        if (n.startsWith("dev.zeroq.api.")) return Modifier.isPublic(c.getModifiers());
        return (n.startsWith("java.") || n.startsWith("javax.")) && !n.startsWith("java.lang.foreign.");
    }

    /** Every class of the package, listed from the compiled classes directory (or jar) holding Model. */
    private static List<Class<?>> apiClasses() throws IOException, URISyntaxException, ClassNotFoundException {
        Path root = Path.of(Model.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<Class<?>> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(root.resolve("dev/zeroq/api"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".class")).sorted().toList()) {
                String simple = f.getFileName().toString().replace(".class", "");
                if (simple.equals("package-info")) continue;
                out.add(Class.forName("dev.zeroq.api." + simple, false, Model.class.getClassLoader()));
            }
        }
        return out;
    }
}
