#!/usr/bin/env bash
# The one GPU check (shared/GPU.md): run from the repository root on a GPU host, from the bundle made by
# native/make-gpu-bundle.sh (no JDK or network needed). Prints the card, runs `zeroq doctor` when the jar has it,
# runs the GPU-tagged tests and the distillation benchmarks (when bundle/models has the ONNX files), writes logs and a summary table under OUTDIR and prints the table last.
# Usage: native/gpu-check.sh OUTDIR        (exit status: 0 when every step that ran passed)
set -uo pipefail
cd "$(dirname "$0")/.."

OUT="${1:?usage: native/gpu-check.sh OUTDIR}"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY.rows"
row() { printf '%-12s %-5s %s\n' "$1" "$2" "$3" >> "$SUMMARY.rows"; }

B=bundle
JAVA="$B/jre/bin/java"
if [[ ! -x "$JAVA" ]]; then
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then JAVA="$JAVA_HOME/bin/java"; else JAVA=""; fi
fi
FLAGS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED)

# 1. the card
echo "== nvidia-smi"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 | tee "$OUT/nvidia-smi.csv"
  row nvidia-smi ok "$(sed -n 2p "$OUT/nvidia-smi.csv")"
else
  echo "nvidia-smi not found" | tee "$OUT/nvidia-smi.csv"
  row nvidia-smi FAIL "nvidia-smi not found"
fi
echo "bundle commit: $(cat "$B/COMMIT" 2>/dev/null || echo unknown)" | tee "$OUT/commit.txt"

if [[ -z "$JAVA" || ! -f "$B/zeroq.jar" ]]; then
  echo "ERROR: no bundle/ here (run native/make-gpu-bundle.sh on the build machine and copy bundle/ next to native/)"
  row bundle FAIL "bundle/jre or bundle/zeroq.jar missing"
  cp "$SUMMARY.rows" "$SUMMARY"
  cat "$SUMMARY"
  exit 1
fi
"$JAVA" -version > "$OUT/java-version.txt" 2>&1

# 2. zeroq doctor, only if this jar's CLI has it (the CLI is developed separately)
echo "== zeroq doctor"
if "$JAVA" "${FLAGS[@]}" -jar "$B/zeroq.jar" --help > "$OUT/zeroq-help.txt" 2>&1 && grep -qw doctor "$OUT/zeroq-help.txt"; then
  "$JAVA" "${FLAGS[@]}" -jar "$B/zeroq.jar" doctor > "$OUT/doctor.log" 2>&1
  rc=$?
  cat "$OUT/doctor.log"
  row doctor "$([[ $rc == 0 ]] && echo ok || echo FAIL)" "exit $rc (doctor.log)"
else
  echo "skipped: this zeroq.jar has no 'doctor' command"
  row doctor skip "no 'doctor' command in this jar"
fi

# 3. GPU-tagged tests with the JUnit console launcher
echo "== GPU tests"
CP="$B/test-classes:$B/zeroq.jar"
for j in "$B"/lib/test/*.jar; do [[ -e "$j" ]] && CP="$CP:$j"; done
"$JAVA" "${FLAGS[@]}" -Xmx4g -jar "$B/lib/junit-platform-console-standalone.jar" execute \
  --class-path "$CP" --select-package dev.zeroq --include-tag gpu \
  --reports-dir "$OUT/junit" --details tree --disable-banner --disable-ansi-colors > "$OUT/gpu-tests.log" 2>&1
rc=$?
cat "$OUT/gpu-tests.log"
# The console launcher's closing counts: "[  N tests successful ]" etc.
counts=$(grep -E '^\[ *[0-9]+ (tests|containers) (found|successful|failed|skipped|aborted)' "$OUT/gpu-tests.log" | grep tests \
  | sed -E 's/^\[ *([0-9]+) tests ([a-z]+).*/\2 \1/' | tr '\n' ' ')
count() { grep -E "^\[ *[0-9]+ $1 $2" "$OUT/gpu-tests.log" | grep -oE '[0-9]+' | head -n 1; }
succeeded=$(count tests successful); aborted=$(( $(count tests aborted || echo 0) + $(count containers aborted || echo 0) ))
status=ok
[[ $rc != 0 ]] && status=FAIL
# Aborted = an assumption failed: on a GPU host that means CUDA was reported unusable (the reason is in the log),
# so a run where no GPU test passed is a failure of this check, not a pass.
if [[ $status == ok && ( "${succeeded:-0}" == 0 || $aborted != 0 ) ]]; then status=FAIL; fi
row gpu-tests "$status" "exit $rc; ${counts:-no counts}; containers aborted ${aborted} (gpu-tests.log, junit/)"
grep -E "CUDA unavailable|first mismatch|CudaException|✘" "$OUT/gpu-tests.log" | head -n 40 > "$OUT/gpu-test-problems.txt" || true

# 4. distillation benchmarks on torchvision models, when a separate script has exported them into bundle/models
#    (batch 32, 224x224: 20 warm-up + 100 timed iterations, eager and CUDA-graph replay; a full 500-iteration run for
#    ResNet-18; a 2-iteration CPU loss check on ResNet-18 at batch 1, where the Java reference is fast enough).
#    Each run is capped by `timeout` so the whole check stays within about 6 minutes.
echo "== distillation benchmarks"
BENCH_CP="$B/zeroq.jar:$B/test-classes"
bench() { # name, timeout seconds, log, DistillBench arguments...
  local name=$1 limit=$2 log=$3; shift 3
  timeout "$limit" "$JAVA" "${FLAGS[@]}" -Xmx8g -cp "$BENCH_CP" dev.zeroq.bench.DistillBench "$@" > "$OUT/$log" 2>&1
  local rc=$?
  cat "$OUT/$log"
  local res
  res=$(grep -E '^(RESULT|FULL|CPUCHECK)' "$OUT/$log" | sed -E 's/model=[^ ]+ //' | tr '\n' ';')
  row "$name" "$([[ $rc == 0 ]] && echo ok || echo FAIL)" "exit $rc${res:+; $res} ($log)"
}
for m in resnet18 resnet50; do
  if [[ -f "$B/models/$m.onnx" ]]; then
    bench "bench-$m" 120 "distill-bench-$m.log" "$B/models/$m.onnx" --batch 32 --warmup 20 --iters 100 --graph both
  else
    echo "skipped: $B/models/$m.onnx not found"
    row "bench-$m" skip "$B/models/$m.onnx not found"
  fi
done
if [[ -f "$B/models/resnet18.onnx" ]]; then
  bench full-r18 90 distill-full-resnet18.log "$B/models/resnet18.onnx" --batch 32 --warmup 0 --iters 1 --graph off --full 500
  bench cpucheck-r18 90 distill-cpucheck-resnet18.log "$B/models/resnet18.onnx" --batch 1 --warmup 0 --iters 1 --graph off --cpu-check 2
fi

# 4b. per-layer convolution benchmark, zeroq kernels vs cuDNN (ResNet-50 shapes, batch 32), capped at 120 s.
#     cuDNN comes from the host (libcudnn.so.9 on the library path or a Python environment's nvidia/cudnn/lib;
#     ZEROQ_CUDNN_PATH overrides); without it the cuDNN columns read NaN and the log says why.
echo "== conv layer benchmark (zeroq vs cuDNN)"
timeout 120 "$JAVA" "${FLAGS[@]}" -Xmx8g -cp "$BENCH_CP" dev.zeroq.bench.ConvLayerBench --batch 32 > "$OUT/conv-layer-bench.log" 2>&1
rc=$?
cat "$OUT/conv-layer-bench.log"
row conv-bench "$([[ $rc == 0 ]] && echo ok || echo FAIL)" "exit $rc; $(grep -E '^RESULT' "$OUT/conv-layer-bench.log" | sed -E 's/^RESULT conv-resnet50 //' | tr '\n' ' ')(conv-layer-bench.log)"

# 5. summary, printed last
{
  echo "zeroq GPU check, $(date -u +%Y-%m-%dT%H:%MZ), commit $(cat "$B/COMMIT" 2>/dev/null || echo unknown)"
  printf '%-12s %-5s %s\n' step state detail
  cat "$SUMMARY.rows"
} > "$SUMMARY"
rm -f "$SUMMARY.rows"
if [[ -s "$OUT/gpu-test-problems.txt" ]]; then
  echo; echo "== problems (first lines; full log in $OUT/gpu-tests.log)"; cat "$OUT/gpu-test-problems.txt"
fi
echo
cat "$SUMMARY"
grep -qE '^(nvidia-smi|doctor|gpu-tests|bench-[a-z0-9]+|full-r18|cpucheck-r18|conv-bench) +FAIL' "$SUMMARY" && exit 1
exit 0
