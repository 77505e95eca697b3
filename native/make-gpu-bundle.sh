#!/usr/bin/env bash
# Builds bundle/ (git-ignored): everything native/gpu-check.sh needs on a GPU host that may have no JDK and no
# network — a jlinked Java runtime, the shaded zeroq jar (with the kernels fatbin), the test classes, their
# test-scope jars (ONNX Runtime left out: ~100 MB) and the JUnit console launcher. Must stay under 60 MB.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${JAVA_HOME:=/usr/lib/jvm/temurin-25-jdk-amd64}"
export JAVA_HOME
MVN="mvn -B -q"
CONSOLE_VERSION=1.14.1   # JUnit Platform of junit-jupiter 5.14.1 (pom.xml junit.version)
# jdeps on target/zeroq.jar also lists java.desktop (jfreechart) and java.sql (jackson, optional); nothing the GPU
# checks load needs them, and java.desktop alone would add ~12 MB. Add them here when a GPU check draws charts.
# The JUnit console launcher needs java.logging (its logger), java.xml (the XML reports) and jdk.zipfs (to scan
# zeroq.jar for test classes: "Provider jar not found" without it); jdeps also lists
# java.sql for it, used only for optional type conversions the GPU tests do not use.
# `zeroq doctor` (table and --json), `info` and `distill` run on exactly these modules (checked with bundle/jre).
# So do `zeroq quantize --scheme deploy --calib gaussian` and `zeroq bench --json`, which gpu-check.sh runs (checked on
# the build machine with a runtime jlinked from this list, on the CPU).
# gpu-check.sh writes bundle/models/*.onnx on the GPU host (ResNet-50 alone is ~100 MB): never bundle those here.
MODULES=java.base,jdk.incubator.vector,jdk.unsupported,java.logging,java.xml,jdk.zipfs

echo "== building zeroq.jar and test classes (kernels via nvcc)"
$MVN package -DskipTests
test -f target/zeroq.jar
if ! "$JAVA_HOME/bin/jar" tf target/zeroq.jar | grep -c 'dev/zeroq/kernels/zeroq_kernels.fatbin' >/dev/null; then  # grep -c reads all: no SIGPIPE under pipefail
  echo "ERROR: target/zeroq.jar has no kernels fatbin (is nvcc installed? see native/build-kernels.sh)" >&2
  exit 1
fi

rm -rf bundle
mkdir -p bundle/lib/test
echo "== jlink runtime ($MODULES)"
# zip-9 shrinks lib/modules from ~27 to ~12 MB; stripping libjvm.so's symbol table saves another ~5 MB (hs_err
# crash logs then show fewer JVM-internal names, which the GPU checks can live with).
"$JAVA_HOME/bin/jlink" --add-modules "$MODULES" --strip-debug --no-header-files --no-man-pages --compress zip-9 \
  --output bundle/jre 2> >(grep -v 'Using incubator modules' >&2)
if command -v strip >/dev/null 2>&1; then
  strip --strip-unneeded bundle/jre/lib/server/libjvm.so
fi
bundle/jre/bin/java --version | head -n 1
# libjvm.so is the largest file (~24 MB stripped) and packs to ~40 % with gzip: it travels packed, and gpu-check.sh
# unpacks it before the first java call (gzip is on every Linux host). This leaves room under the limit for kernels.
gzip -9 bundle/jre/lib/server/libjvm.so

cp target/zeroq.jar bundle/zeroq.jar
cp -r target/test-classes bundle/test-classes
# JMH benchmarks are CPU benchmarks run with Maven's classpath; the GPU host needs neither them nor JMH's jars.
rm -rf bundle/test-classes/dev/zeroq/bench/jmh_generated bundle/test-classes/META-INF/BenchmarkList

echo "== test-scope jars (without ONNX Runtime, and without the JUnit jars the console launcher already has)"
$MVN dependency:copy-dependencies -DincludeScope=test -DoutputDirectory="$PWD/bundle/lib/test" \
  -DexcludeArtifactIds=onnxruntime,jmh-core,jopt-simple,commons-math3,jmh-generator-annprocess,junit-jupiter,junit-jupiter-api,junit-jupiter-engine,junit-jupiter-params,junit-platform-commons,junit-platform-engine,junit-platform-launcher,opentest4j,apiguardian-api \
  -DexcludeGroupIds=com.google.protobuf,info.picocli,me.tongfei,com.fasterxml.jackson.core,org.jfree,org.jline
# JCuda (provided scope, for JCudaInteropTest) arrives with its natives jar: drop the NVPTX compiler natives (~24 MB
# unpacked, ~8 MB packed) that nothing here loads; the driver, runtime and NVRTC natives stay.
for j in bundle/lib/test/jcuda-natives-*.jar; do
  [[ -e "$j" ]] || continue
  if command -v zip >/dev/null 2>&1; then zip -q -d "$j" 'lib/libJNvPTXCompiler-*' || true
  else echo "WARNING: no zip: $j keeps its NVPTX compiler natives (~8 MB)" >&2; fi
done
$MVN dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:$CONSOLE_VERSION \
  -DoutputDirectory="$PWD/bundle/lib"
mv bundle/lib/junit-platform-console-standalone-$CONSOLE_VERSION.jar bundle/lib/junit-platform-console-standalone.jar

git describe --always --dirty --abbrev=40 > bundle/COMMIT 2>/dev/null || echo unknown > bundle/COMMIT
size_kb=$(du -sk bundle | cut -f1)
echo "bundle/: $((size_kb / 1024)) MB ($size_kb KiB), commit $(cat bundle/COMMIT)"
du -sh bundle/* | sort -h
if (( size_kb > 60 * 1024 )); then
  echo "ERROR: bundle is over 60 MB" >&2
  exit 1
fi
