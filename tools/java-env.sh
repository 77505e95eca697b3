# Sourced by the zeroq launcher and tools/test.sh: finds a Java 25 JDK and sets JAVA_HOME, or explains.
# Order: $JAVA_HOME if it is Java 25 or newer, then the Temurin 25 install path, then `java` on PATH.

zeroq_java_version() { # prints the feature version of $1/bin/java, or nothing
    "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p'
}

zeroq_find_java() {
    local cand v
    for cand in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25-jdk-arm64 \
                /usr/lib/jvm/java-25-openjdk-amd64 \
                "$(dirname "$(dirname "$(readlink -f "$(command -v java 2>/dev/null || echo /nonexistent)")")")"; do
        [ -n "$cand" ] && [ -x "$cand/bin/java" ] || continue
        v=$(zeroq_java_version "$cand")
        if [ -n "$v" ] && [ "$v" -ge 25 ]; then
            export JAVA_HOME="$cand"
            return 0
        fi
    done
    echo "zeroq: error: Java 25 is needed; install a JDK 25 (e.g. Temurin 25) and set JAVA_HOME to it" >&2
    return 1
}

# Flags every zeroq JVM needs: the Vector API (incubator) and native access for the FFM bindings.
ZEROQ_JVM_FLAGS="--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow"
