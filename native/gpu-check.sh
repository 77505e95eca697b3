#!/usr/bin/env bash
# The one GPU check (shared/GPU.md): run from the repository root on a GPU host, from the bundle made by
# native/make-gpu-bundle.sh (no JDK or network needed). Prints the card, runs `zeroq doctor` when the jar has it,
# the GPU-tagged tests, exports torchvision ResNet-18/50 to bundle/models (when python3 has torch, torchvision and
# onnx), zeroq's distillation benchmarks on them, the PyTorch peer on the same models, and zeroq/torch ratios; then the
# inference benchmarks (zeroq bench FP32 vs int8 and the PyTorch FP16 peer), the int8 engine's per-launch profile and,
# where ncu exists, Nsight Compute on its conv kernel.
# Usage: native/gpu-check.sh OUTDIR        (exit status: 0 when every step that ran passed)
#        GPU_CHECK_ONLY='gpu-tests|export|bench-infer|peer-infer|int8-profile' native/gpu-check.sh OUTDIR
#        runs only the steps whose row names match (a short rerun after a fix); the others get "skip" rows.
#        GPU_CHECK_DISTILL='--graph on --cudnn fastest' narrows the two distillation benchmarks (default: graph replay,
#        with zeroq's kernels alone and with cuDNN where faster, each with the fused BatchNorm+activation kernels and
#        deferred statistics gradients, and with the separate kernels and stored gradients).
# OUTDIR receives few files (a GPU host returns at most 8): summary.txt (also printed last), doctor.log (host, java,
# python and `zeroq doctor`), gpu-tests.log, junit-jupiter.xml, bench.log (every benchmark's output, one after
# another), bench-infer.json (`zeroq bench --device cuda --json` on ResNet-50) and details.tgz (each step's own log,
# model provenance, the JUnit report folder).
# Every step runs under `timeout`, and all of them share one time budget (GPU_CHECK_BUDGET seconds, default 480): a
# step that would start with too little time left is skipped with a row saying so, so a hang cannot eat the device.
set -uo pipefail
cd "$(dirname "$0")/.."

OUT="${1:?usage: native/gpu-check.sh OUTDIR}"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PARTS="$OUT/details"            # per-step logs; packed into details.tgz at the end
mkdir -p "$PARTS"
SUMMARY="$OUT/summary.txt"
ROWS="$PARTS/summary.rows"
: > "$ROWS"
: > "$OUT/bench.log"
: > "$OUT/doctor.log"
row() { printf '%-14s %-5s %s\n' "$1" "$2" "$3" >> "$ROWS"; }

BUDGET=${GPU_CHECK_BUDGET:-480}
DEADLINE=$((SECONDS + BUDGET))
# cap N: the seconds a step may take, N or what is left of the budget (less a margin for packing the results);
# prints nothing (and the caller skips the step) when under 20 s would be left.
cap() {
  local left=$((DEADLINE - SECONDS - 15))
  (( left < 20 )) && return 1
  echo $(( $1 < left ? $1 : left ))
}
# GPU_CHECK_ONLY: an extended regex of step (row) names to run, e.g. 'gpu-tests|export|bench-infer|peer-infer|int8-.*'
# (the card, doctor and the summary always run); unset: every step. A step left out gets a "skip" row.
selected() {
  [[ -z "${GPU_CHECK_ONLY:-}" ]] && return 0
  [[ "$1" =~ ^(${GPU_CHECK_ONLY})$ ]] && return 0
  row "$1" skip "not selected (GPU_CHECK_ONLY)"
  return 1
}
# state of a finished step from its exit status (124/137: `timeout` stopped it)
state_of() { case $1 in 0) echo ok ;; *) echo FAIL ;; esac; }
why() { case $1 in 0) echo "exit 0" ;; 124|137) echo "TIMED OUT after $2 s" ;; *) echo "exit $1" ;; esac; }
# Appends a step's own log to bench.log under a header, and prints it.
to_bench() { { echo "==== $1"; cat "$2"; echo; } >> "$OUT/bench.log"; cat "$2"; }
# The first error line of a failed step's log (Java exception or Python error), shortened for its summary row.
first_error() { grep -m 1 -E 'Exception|Error|FAIL|error:' "$1" 2>/dev/null | cut -c 1-160; }

B=bundle
# make-gpu-bundle.sh packs the runtime's libjvm.so (the bundle's largest file); unpack it once on this host.
if [[ -f "$B/jre/lib/server/libjvm.so.gz" && ! -f "$B/jre/lib/server/libjvm.so" ]]; then
  gzip -dk "$B/jre/lib/server/libjvm.so.gz" || echo "WARNING: could not unpack $B/jre/lib/server/libjvm.so.gz" >&2
fi
JAVA="$B/jre/bin/java"
if [[ ! -x "$JAVA" ]]; then
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then JAVA="$JAVA_HOME/bin/java"; else JAVA=""; fi
fi
FLAGS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED)
HAVE_JAR=1
[[ -z "$JAVA" || ! -f "$B/zeroq.jar" ]] && HAVE_JAR=0
PY=${PYTHON:-python3}

# 1. the card, the bundle, the runtimes (head of doctor.log)
echo "== nvidia-smi"
{
  echo "== host $(hostname 2>/dev/null), $(date -u +%Y-%m-%dT%H:%M:%SZ), bundle commit $(cat "$B/COMMIT" 2>/dev/null || echo unknown)"
  if command -v nvidia-smi >/dev/null 2>&1; then
    timeout -k 5 30 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv > "$PARTS/nvidia-smi.csv" 2>&1
    cat "$PARTS/nvidia-smi.csv"
  fi
} | tee -a "$OUT/doctor.log"
if [[ -s "$PARTS/nvidia-smi.csv" ]] && [[ $(wc -l < "$PARTS/nvidia-smi.csv") -ge 2 ]]; then
  row nvidia-smi ok "$(sed -n 2p "$PARTS/nvidia-smi.csv")"
else
  row nvidia-smi FAIL "nvidia-smi not found or failed"
fi
if [[ $HAVE_JAR == 0 ]]; then
  echo "ERROR: no bundle/ here (run native/make-gpu-bundle.sh on the build machine and copy bundle/ next to native/)" | tee -a "$OUT/doctor.log"
  row bundle FAIL "bundle/jre or bundle/zeroq.jar missing: every zeroq step skipped"
else
  { echo "== java"; timeout -k 5 30 "$JAVA" -version 2>&1; } | tee -a "$OUT/doctor.log"
fi

# 2. zeroq doctor, only if this jar's CLI has it
echo "== zeroq doctor"
if [[ $HAVE_JAR == 0 ]]; then
  row doctor skip "no bundle"
elif ! t=$(cap 90); then
  row doctor skip "time budget spent"
elif timeout -k 5 60 "$JAVA" "${FLAGS[@]}" -jar "$B/zeroq.jar" --help > "$PARTS/zeroq-help.txt" 2>&1 && grep -qw doctor "$PARTS/zeroq-help.txt"; then
  echo "== zeroq doctor" >> "$OUT/doctor.log"
  timeout -k 10 "$t" "$JAVA" "${FLAGS[@]}" -jar "$B/zeroq.jar" doctor >> "$OUT/doctor.log" 2>&1
  rc=$?
  sed -n '/^== zeroq doctor/,$p' "$OUT/doctor.log"
  row doctor "$(state_of $rc)" "$(why $rc "$t") (doctor.log)"
else
  echo "skipped: this zeroq.jar has no 'doctor' command"
  row doctor skip "no 'doctor' command in this jar"
fi

# 3. GPU-tagged tests with the JUnit console launcher
echo "== GPU tests"
if ! selected gpu-tests; then
  :
elif [[ $HAVE_JAR == 0 ]]; then
  row gpu-tests skip "no bundle"
elif ! t=$(cap 210); then
  row gpu-tests skip "time budget spent"
else
  CP="$B/test-classes:$B/zeroq.jar"
  for j in "$B"/lib/test/*.jar; do [[ -e "$j" ]] && CP="$CP:$j"; done
  timeout -k 10 "$t" "$JAVA" "${FLAGS[@]}" -Xmx4g -jar "$B/lib/junit-platform-console-standalone.jar" execute \
    --class-path "$CP" --select-package dev.zeroq --include-tag gpu \
    --reports-dir "$PARTS/junit" --details tree --disable-banner --disable-ansi-colors > "$OUT/gpu-tests.log" 2>&1
  rc=$?
  cat "$OUT/gpu-tests.log"
  # The console launcher's closing counts: "[  N tests successful ]" etc.
  counts=$(grep -E '^\[ *[0-9]+ (tests|containers) (found|successful|failed|skipped|aborted)' "$OUT/gpu-tests.log" | grep tests \
    | sed -E 's/^\[ *([0-9]+) tests ([a-z]+).*/\2 \1/' | tr '\n' ' ')
  count() { grep -E "^\[ *[0-9]+ $1 $2" "$OUT/gpu-tests.log" | grep -oE '[0-9]+' | head -n 1; }
  succeeded=$(count tests successful); aborted=$(( $(count tests aborted || echo 0) + $(count containers aborted || echo 0) ))
  status=$(state_of $rc)
  # Aborted = an assumption failed: on a GPU host that means CUDA was reported unusable (the reason is in the log),
  # so a run where no GPU test passed is a failure of this check, not a pass.
  if [[ $status == ok && ( "${succeeded:-0}" == 0 || $aborted != 0 ) ]]; then status=FAIL; fi
  row gpu-tests "$status" "$(why $rc "$t"); ${counts:-no counts}; containers aborted ${aborted} (gpu-tests.log, junit-jupiter.xml)"
  grep -E "CUDA unavailable|first mismatch|CudaException|✘" "$OUT/gpu-tests.log" | head -n 40 > "$PARTS/gpu-test-problems.txt" || true
  # The reliability tests' figures (device faults, CUDA load and soak) for benchmarks/RESULTS.md: one row, state
  # "info" (their pass or fail is already in the gpu-tests row above).
  rel=$(grep -E '^RELIABILITY ' "$OUT/gpu-tests.log" | sed -E 's/^RELIABILITY //' | tr '\n' ';' | cut -c 1-2000)
  row reliability info "${rel:-no RELIABILITY lines in gpu-tests.log}"
  # JCudaInteropTest (run above, JCuda from bundle/lib/test) prints one JCUDA line when the in-place run passed.
  jc=$(grep -E '^JCUDA ' "$OUT/gpu-tests.log" | head -n 1 | sed -E 's/^JCUDA //' | cut -c 1-400)
  row jcuda info "${jc:-no JCUDA line in gpu-tests.log: JCudaInteropTest was skipped or failed (see gpu-tests.log)}"
  [[ -f "$PARTS/junit/TEST-junit-jupiter.xml" ]] && cp "$PARTS/junit/TEST-junit-jupiter.xml" "$OUT/junit-jupiter.xml"
fi

# 4. torchvision ResNet-18/50 with random weights and BN statistics from smooth noise, exported to ONNX (BN kept)
#    into bundle/models, where the benchmarks below look; when python3 has torch, torchvision and onnx.
echo "== python and torchvision export"
MODELS=(resnet18 resnet50)
HAVE_TORCH=0
if ! command -v "$PY" >/dev/null 2>&1; then
  row python skip "no $PY"
elif ! t=$(cap 60); then
  row python skip "time budget spent"
elif timeout -k 10 "$t" "$PY" -c 'import torch, torchvision, onnx
print("python: torch", torch.__version__, "torchvision", torchvision.__version__, "onnx", onnx.__version__,
      "cuda", torch.cuda.is_available(), "cudnn", torch.backends.cudnn.version())' > "$PARTS/python.txt" 2>&1; then
  HAVE_TORCH=1
  cat "$PARTS/python.txt" | tee -a "$OUT/doctor.log"
  row python ok "$(tail -n 1 "$PARTS/python.txt" | sed 's/^python: //')"
else
  tail -n 3 "$PARTS/python.txt"
  row python skip "$PY cannot import torch, torchvision and onnx (details/python.txt)"
fi
mkdir -p "$B/models"
missing=()
for m in "${MODELS[@]}"; do [[ -f "$B/models/$m.onnx" ]] || missing+=("$m"); done
if ! selected export; then
  :
elif [[ ${#missing[@]} == 0 ]]; then
  row export ok "reused ${MODELS[*]} already in $B/models"
elif [[ $HAVE_TORCH == 0 ]]; then
  row export skip "no torch/torchvision/onnx: ${missing[*]} not made"
elif ! t=$(cap 180); then
  row export skip "time budget spent"
else
  list=$(IFS=,; echo "${missing[*]}")
  timeout -k 10 "$t" "$PY" benchmarks/peers/export_torchvision.py --models "$list" --out "$B/models" --device cuda > "$PARTS/export.log" 2>&1
  rc=$?
  to_bench "export_torchvision.py --models $list --out $B/models --device cuda" "$PARTS/export.log"
  cp "$B"/models/*.provenance.json "$PARTS/" 2>/dev/null
  res=$(grep -E '^EXPORT' "$PARTS/export.log" | sed -E 's/ file=[^ ]+//; s/ ort_max_abs_diff=skipped[^ ]*( no onnxruntime)?//; s/^EXPORT //' | tr '\n' ';')
  [[ $rc != 0 && -z "$res" ]] && res=$(first_error "$PARTS/export.log")
  reused=$(comm -23 <(printf '%s\n' "${MODELS[@]}" | sort) <(printf '%s\n' "${missing[@]}" | sort) | tr '\n' ' ')
  row export "$(state_of $rc)" "$(why $rc "$t"); ${res}${reused:+ reused: $reused}"
fi

# 5. zeroq's distillation benchmarks (batch 32, 224x224: 20 warm-up + 100 timed iterations, eager and CUDA-graph
#    replay, each with zeroq's kernels alone (--cudnn off) and with each convolution step on zeroq's kernel or cuDNN,
#    whichever setup timed faster (--cudnn fastest, what --conv auto runs); a full 500-iteration run for ResNet-18; a
#    2-iteration CPU loss check on ResNet-18 at batch 1, where the Java reference is fast enough).
echo "== distillation benchmarks"
BENCH_CP="$B/zeroq.jar:$B/test-classes"
bench() { # name, timeout seconds, log, DistillBench arguments...
  local name=$1 limit=$2 log=$3; shift 3
  local t
  selected "$name" || return 0
  if ! t=$(cap "$limit"); then row "$name" skip "time budget spent"; return; fi
  timeout -k 10 "$t" "$JAVA" "${FLAGS[@]}" -Xmx8g -cp "$BENCH_CP" dev.zeroq.bench.DistillBench "$@" > "$PARTS/$log" 2>&1
  local rc=$?
  to_bench "DistillBench $*" "$PARTS/$log"
  local res
  res=$(grep -E '^(RESULT|FULL|CPUCHECK|SETUP)' "$PARTS/$log" | sed -E 's/model=[^ ]+ //' | tr '\n' ';')
  [[ $rc != 0 && -z "$res" ]] && res=$(first_error "$PARTS/$log")
  row "$name" "$(state_of $rc)" "$(why $rc "$t")${res:+; $res} ($log)"
}
for m in "${MODELS[@]}"; do
  if [[ $HAVE_JAR == 0 ]]; then
    row "bench-$m" skip "no bundle"
  elif [[ -f "$B/models/$m.onnx" ]]; then
    # GPU_CHECK_DISTILL: other DistillBench settings for these two runs (a short rerun, e.g. '--graph on --cudnn fastest').
    # --fuse both: the fused BatchNorm+activation kernels with deferred statistics gradients, and the separate kernels
    # with stored ones, in the same run (fuse=on, fuse=off).
    # --profile-steps 3: each setting's device time per kernel / cuDNN call (STEP lines in the log), without ncu.
    # shellcheck disable=SC2086
    bench "bench-$m" 150 "distill-bench-$m.log" "$B/models/$m.onnx" --batch 32 --warmup 20 --iters 100 \
      ${GPU_CHECK_DISTILL:---graph on --cudnn off,fastest --fuse both} --profile-steps 3
  else
    echo "skipped: $B/models/$m.onnx not found"
    row "bench-$m" skip "$B/models/$m.onnx not found"
  fi
done

# 6. the PyTorch peer: the same ZeroQ distillation on the same models and batch (TF32 off: zeroq computes in strict
#    FP32; TF32 on for ResNet-50 as a reference), 20 warm-up + 100 timed iterations between CUDA events.
echo "== PyTorch peer"
peer() { # name, timeout seconds, model, extra arguments...
  local name=$1 limit=$2 m=$3; shift 3
  local t log="$name.log"
  selected "$name" || return 0
  if [[ $HAVE_TORCH == 0 ]]; then row "$name" skip "no torch/torchvision/onnx"; return; fi
  if [[ ! -f "$B/models/$m.onnx" ]]; then row "$name" skip "$B/models/$m.onnx not found"; return; fi
  if ! t=$(cap "$limit"); then row "$name" skip "time budget spent"; return; fi
  timeout -k 10 "$t" "$PY" benchmarks/peers/zeroq_distill_torch.py "$B/models/$m.onnx" --batch 32 --warmup 20 --iters 100 "$@" \
    > "$PARTS/$log" 2>&1
  local rc=$?
  to_bench "zeroq_distill_torch.py $m --batch 32 --warmup 20 --iters 100 $*" "$PARTS/$log"
  local res
  res=$(grep -E '^(RESULT|FULL|PEER FAIL)' "$PARTS/$log" | sed -E 's/peer=torch //; s/ (mean|min|max)_ms=[^ ]+//g' | tr '\n' ';')
  [[ $rc != 0 && -z "$res" ]] && res=$(first_error "$PARTS/$log")
  row "$name" "$(state_of $rc)" "$(why $rc "$t")${res:+; $res} ($log)"
}
peer peer-r18 90 resnet18 --tf32 off
peer peer-r50 120 resnet50 --tf32 off

# A comparison benchmark, a dev.zeroq.bench main: row name, timeout seconds, log, the log lines that go into the row
# (grep -E), the sed -E expression that shortens them, the character that joins them, the header in bench.log, then
# the main's simple class name and its arguments. Running out of time is a skip, not a failure: a comparison only.
# Returns 1, running nothing, when the time budget is spent.
compare_bench() {
  local name=$1 limit=$2 log=$3 lines=$4 shorten=$5 sep=$6 header=$7 main=$8; shift 8
  local t rc res st gap=' '
  selected "$name" || return 0
  t=$(cap "$limit") || return 1
  timeout -k 10 "$t" "$JAVA" "${FLAGS[@]}" -Xmx8g -cp "$BENCH_CP" "dev.zeroq.bench.$main" "$@" > "$PARTS/$log" 2>&1
  rc=$?
  to_bench "$header" "$PARTS/$log"
  res=$(grep -E "$lines" "$PARTS/$log" | sed -E "$shorten" | tr '\n' "$sep")
  [[ $rc != 0 && -z "$res" ]] && res=$(first_error "$PARTS/$log")
  st=$(state_of $rc); [[ $rc == 124 || $rc == 137 ]] && st=skip
  [[ $sep == ' ' ]] && gap='' # the joined lines end with the space already
  row "$name" "$st" "$(why $rc "$t")${res:+; $res}$gap($log)"
}

# 7b. the whole pipeline (distill 500 iterations + calibrate + sensitivity at 2/4/8 bits + Pareto, MP4/A8 paper)
#     on ResNet-50; its row is named bench-* so that a failure fails the check.
if ! selected bench-pipeline; then
  :
elif [[ $HAVE_JAR == 1 && -f "$B/models/resnet50.onnx" ]]; then
  echo "== pipeline benchmark (resnet50)"
  if t=$(cap 240); then
    timeout -k 10 "$t" "$JAVA" "${FLAGS[@]}" -Xmx8g -cp "$BENCH_CP" dev.zeroq.bench.PipelineBench "$B/models/resnet50.onnx" \
      --device cuda --iters 500 --batch 32 > "$PARTS/pipeline-bench-resnet50.log" 2>&1
    rc=$?
    to_bench "PipelineBench resnet50 --device cuda --iters 500 --batch 32" "$PARTS/pipeline-bench-resnet50.log"
    res=$(grep -E '^(STAGE|DETAIL|RESULT)' "$PARTS/pipeline-bench-resnet50.log" | sed -E 's/model=[^ ]+ //' | tr '\n' ';')
    [[ $rc != 0 && -z "$res" ]] && res=$(first_error "$PARTS/pipeline-bench-resnet50.log")
    row bench-pipeline "$(state_of $rc)" "$(why $rc "$t")${res:+; $res} (pipeline-bench-resnet50.log)"
  else
    row bench-pipeline skip "time budget spent"
  fi
else
  row bench-pipeline skip "no bundle or $B/models/resnet50.onnx not found"
fi

# 7b'. the same pipeline with --tf32 (TF32 tensor cores for the convolutions, cuDNN with TF32 math where faster): the
#      figure issue 4's 10-second aim turns on, so it runs right after the strict one. A comparison only.
if [[ $HAVE_JAR == 1 && -f "$B/models/resnet50.onnx" ]]; then
  compare_bench pipeline-tf32 150 pipeline-bench-resnet50-tf32.log '^(STAGE|DETAIL|RESULT)' 's/model=[^ ]+ //' ';' \
    "PipelineBench resnet50 --device cuda --iters 500 --batch 32 --tf32 on" \
    PipelineBench "$B/models/resnet50.onnx" --device cuda --iters 500 --batch 32 --tf32 on \
    || row pipeline-tf32 skip "time budget spent"
fi

# 7c. int8 tensor-core convolution (CudaInt8ConvBench: ResNet-50 conv shapes, batch 128, fused epilogue); when
#     cuobjdump is on the host, also whether the int8 igemm's SASS has IMMA instructions.
if [[ $HAVE_JAR == 1 ]] && selected bench-int8conv; then
  echo "== int8 conv benchmark"
  if t=$(cap 120); then
    timeout -k 10 "$t" "$JAVA" "${FLAGS[@]}" -Xmx4g -cp "$BENCH_CP" dev.zeroq.bench.CudaInt8ConvBench --batch 128 \
      > "$PARTS/int8conv-bench.log" 2>&1
    rc=$?
    if command -v cuobjdump >/dev/null 2>&1 && unzip -o -q "$B/zeroq.jar" dev/zeroq/kernels/zeroq_kernels.fatbin -d "$PARTS/fatbin" 2>/dev/null; then
      cuobjdump --dump-sass --function conv2d_int8_igemm "$PARTS/fatbin/dev/zeroq/kernels/zeroq_kernels.fatbin" > "$PARTS/int8-igemm.sass" 2>&1
      echo "int8 igemm SASS: $(grep -c IMMA "$PARTS/int8-igemm.sass") IMMA lines over all targets" >> "$PARTS/int8conv-bench.log"
    fi
    to_bench "CudaInt8ConvBench --batch 128" "$PARTS/int8conv-bench.log"
    res=$(grep -E '^(INT8CONV|int8 igemm SASS)' "$PARTS/int8conv-bench.log" | sed -E 's/  +/ /g' | tr '\n' ';' | cut -c 1-600)
    [[ $rc != 0 && -z "$res" ]] && res=$(first_error "$PARTS/int8conv-bench.log")
    row bench-int8conv "$(state_of $rc)" "$(why $rc "$t")${res:+; $res} (int8conv-bench.log)"
  else
    row bench-int8conv skip "time budget spent"
  fi
fi

# 7d. per-layer convolutions of ResNet-50 (batch 32), zeroq's kernels vs cuDNN, forward and backward-data (at most
#     120 s). cuDNN comes from the host: libcudnn.so.9 on the library path or a Python environment's nvidia/cudnn/lib
#     (ZEROQ_CUDNN_PATH overrides); without it the cuDNN columns read NaN and the log's second line says why.
echo "== conv layer benchmark (zeroq vs cuDNN)"
if ! selected conv-bench; then
  :
elif [[ $HAVE_JAR == 0 ]]; then
  row conv-bench skip "no bundle"
elif ! t=$(cap 120); then
  row conv-bench skip "time budget spent"
else
  timeout -k 10 "$t" "$JAVA" "${FLAGS[@]}" -Xmx8g -cp "$BENCH_CP" dev.zeroq.bench.ConvLayerBench --batch 32 \
    > "$PARTS/conv-layer-bench.log" 2>&1
  rc=$?
  to_bench "ConvLayerBench --batch 32" "$PARTS/conv-layer-bench.log"
  res=$(grep -E '^RESULT' "$PARTS/conv-layer-bench.log" | sed -E 's/^RESULT conv-resnet50 //' | tr '\n' ' ')
  [[ $rc != 0 && -z "$res" ]] && res=$(first_error "$PARTS/conv-layer-bench.log")
  row conv-bench "$(state_of $rc)" "$(why $rc "$t")${res:+; $res}(conv-layer-bench.log)"
fi

# 7f. inference on the GPU, FP32 vs int8, through the command line: `zeroq quantize` makes a quick W8A8 deploy plan
#     of ResNet-50 (gaussian calibration on 8 images, no distillation: its accuracy does not matter to a timing, at
#     most 60 s), then `zeroq bench --device cuda` times CudaForward (FP32, BN folded) against CudaIntegerModel at batch
#     1/32/128 with CUDA events, int8 TOPS against the card's nominal peak (at most 150 s; its JSON is OUTDIR's
#     bench-infer.json); then the PyTorch FP16 channels-last peer (torch_infer.py, same batches, at most 60 s).
#     Rows bench-infer, peer-infer.
echo "== inference benchmark (zeroq bench --device cuda, fp32 vs int8) and the PyTorch fp16 peer"
# One summary row from zeroq bench's --json (Jackson's indented output: one key per line), without jq or python.
infer_row() {
  awk 'function val(l) { sub(/^[^:]*: /, "", l); sub(/,$/, "", l); gsub(/"/, "", l); return l }
    /"name" :/ && card == "" { card = val($0) }
    /"nominalInt8Tops" :/ { peak = val($0) }
    /"precision" :/ { p = val($0) }
    /"batch" :/ { b = val($0) }
    /"p50Ms" :/ { p50 = val($0) }
    /"imagesPerSecond" :/ { ips = val($0) }
    /"tops" :/ { t = val($0); s = s sprintf("%s b%s p50 %.3f ms %.0f img/s", p, b, p50, ips)
                 if (t != "null") { s = s sprintf(" %.1f TOPS", t)
                   if (peak != "null" && peak != "") s = s sprintf(" (%.2f%% of nominal %.0f)", 100 * t / peak, peak) }
                 s = s "; " }
    /"speedup" :/ { s = s sprintf("speedup b%s %.2fx; ", b, val($0)) }
    /"passed" :/ { s = s "int8 check " (val($0) == "true" ? "ok" : "FAILED") "; " }
    END { if (card != "") printf "%s: %s", card, s; else printf "%s", s }' "$1"
}
ZQ=("$JAVA" "${FLAGS[@]}" -Xmx8g -jar "$B/zeroq.jar")
INFER_PLAN="$PARTS/resnet50.deploy-gaussian.plan.json"
if ! selected bench-infer; then
  :
elif [[ $HAVE_JAR == 0 ]]; then
  row bench-infer skip "no bundle"
elif [[ ! -f "$B/models/resnet50.onnx" ]]; then
  row bench-infer skip "$B/models/resnet50.onnx not found"
elif ! t=$(cap 60); then
  row bench-infer skip "time budget spent"
else
  timeout -k 10 "$t" "${ZQ[@]}" quantize "$B/models/resnet50.onnx" --scheme deploy --calib gaussian --batch 8 \
    --device cuda --out "$INFER_PLAN" > "$PARTS/infer-plan.log" 2>&1
  rc=$?
  to_bench "zeroq quantize resnet50 --scheme deploy --calib gaussian --batch 8 --device cuda" "$PARTS/infer-plan.log"
  if [[ $rc != 0 ]]; then
    row bench-infer FAIL "zeroq quantize (the deploy plan): $(why $rc "$t"); $(first_error "$PARTS/infer-plan.log") (infer-plan.log)"
  elif ! t=$(cap 150); then
    row bench-infer skip "time budget spent (after the plan)"
  else
    timeout -k 10 "$t" "${ZQ[@]}" bench "$B/models/resnet50.onnx" --plan "$INFER_PLAN" --device cuda --batch 1,32,128 \
      --seconds 1 --json > "$OUT/bench-infer.json" 2> "$PARTS/infer-bench.err"
    rc=$?
    { cat "$OUT/bench-infer.json"; cat "$PARTS/infer-bench.err"; } > "$PARTS/infer-bench.log"
    to_bench "zeroq bench resnet50 --plan (deploy, gaussian) --device cuda --batch 1,32,128 --seconds 1 --json" \
      "$PARTS/infer-bench.log"
    res=$(infer_row "$OUT/bench-infer.json" | cut -c 1-900)
    [[ $rc != 0 ]] && res="${res}$(grep -m 1 '^zeroq: ' "$PARTS/infer-bench.err" | cut -c 1-200)"
    [[ $rc != 0 && -z "$res" ]] && res=$(first_error "$PARTS/infer-bench.err")
    row bench-infer "$(state_of $rc)" "$(why $rc "$t")${res:+; $res} (bench-infer.json)"
  fi
fi
if ! selected peer-infer; then
  :
elif [[ $HAVE_TORCH == 0 ]]; then
  row peer-infer skip "no torch/torchvision/onnx"
elif ! t=$(cap 60); then
  row peer-infer skip "time budget spent"
else
  timeout -k 10 "$t" "$PY" benchmarks/peers/torch_infer.py --arch resnet50 --batches 1,32,128 --warmup 10 --iters 30 \
    > "$PARTS/peer-infer.log" 2>&1
  rc=$?
  to_bench "torch_infer.py --arch resnet50 --batches 1,32,128 --warmup 10 --iters 30" "$PARTS/peer-infer.log"
  res=$(grep -E '^(RESULT|PEER FAIL)' "$PARTS/peer-infer.log" | sed -E 's/ arch=[^ ]+//; s/ min_ms=[^ ]+//' | tr '\n' ';')
  [[ $rc != 0 && -z "$res" ]] && res=$(first_error "$PARTS/peer-infer.log")
  row peer-infer "$(state_of $rc)" "$(why $rc "$t")${res:+; $res} (peer-infer.log)"
fi

# 7g. where the device int8 engine's batch-128 time goes (Int8ProfileBench: an event between every two launches; per
#     kernel totals and the largest launches), on the deploy plan 7f made; first (--ab 1) the whole run on the chain
#     kernels' epilogue against the lean kernels' (same process, logits compared bit for bit). A comparison only
#     (timeout: skip).
if [[ $HAVE_JAR == 1 && -f "$INFER_PLAN" ]]; then
  compare_bench int8-profile 90 int8-profile.log '^PROFILE-(AB|TOTAL|KIND)' 's/^PROFILE-(AB|TOTAL|KIND) //' ';' \
    "Int8ProfileBench resnet50 (deploy, gaussian) --batch 128 --ab 1" \
    Int8ProfileBench "$B/models/resnet50.onnx" "$INFER_PLAN" --batch 128 --warmup 10 --iters 20 --top 40 --ab 1 \
    || row int8-profile skip "time budget spent"
fi

# Nsight Compute over a dev.zeroq.bench main, when ncu is on the host (it reads the hardware counters on some hosts
# only; clocks left alone): row name, timeout seconds, log (in details.tgz), the log lines that go into the row
# (grep -E), then ncu's options, "--", the main's simple class name and its arguments. A diagnostic: a failure is a skip.
NCU=$(command -v ncu 2>/dev/null || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -n 1)
ncu_step() {
  local name=$1 limit=$2 log=$3 lines=$4; shift 4
  local opts=() t rc res st
  while [[ $1 != -- ]]; do opts+=("$1"); shift; done
  shift
  local main=$1; shift
  selected "$name" || return 0
  if [[ -z "$NCU" ]]; then row "$name" skip "no ncu on this host"; return 0; fi
  if ! t=$(cap "$limit"); then row "$name" skip "time budget spent"; return 0; fi
  timeout -k 10 "$t" "$NCU" --clock-control none "${opts[@]}" \
    "$JAVA" "${FLAGS[@]}" -Xmx8g -cp "$BENCH_CP" "dev.zeroq.bench.$main" "$@" > "$PARTS/$log" 2>&1
  rc=$?
  res=$(grep -E "$lines" "$PARTS/$log" | sed -E 's/  +/ /g' | head -n 40 | tr '\n' ';' | cut -c 1-1200)
  [[ $rc != 0 && -z "$res" ]] && res=$(tail -n 3 "$PARTS/$log" | tr '\n' ' ' | cut -c 1-300)
  st=ok; [[ $rc != 0 ]] && st=skip
  row "$name" "$st" "$(why $rc "$t"); ${res} ($log in details.tgz)"
}

# 7h. Nsight Compute on the first 8 int8 conv launches (conv2d_int8_igemm_chain* or _lean*) of that run (the stem and
#     ResNet-50's first blocks, batch 128: float and codes outputs and residuals): throughput, memory, occupancy and
#     warp-stall sections.
if [[ $HAVE_JAR == 1 && -f "$INFER_PLAN" ]]; then
  ncu_step ncu-int8 90 ncu-int8.log \
    'conv2d_int8_igemm_(chain|lean)|Duration|Memory Throughput|Compute \(SM\) Throughput|Achieved Occupancy' \
    --kernel-name regex:'conv2d_int8_igemm_(chain|lean)' --launch-count 8 --section SpeedOfLight --section MemoryWorkloadAnalysis \
    --section Occupancy --section LaunchStats --section WarpStateStats --section ComputeWorkloadAnalysis \
    -- Int8ProfileBench "$B/models/resnet50.onnx" "$INFER_PLAN" --batch 128 --warmup 0 --iters 1 --top 10
fi

# 7i. Nsight Compute over one ResNet-50 distillation iteration (batch 32, eager): the GPU time of every kernel launch
#     (one metric, gpu__time_duration.sum; a summary per kernel name), for where distillation's 58 ms go.
if [[ $HAVE_JAR == 1 && -f "$B/models/resnet50.onnx" ]]; then
  ncu_step ncu-distill 120 ncu-distill.log 'gpu__time_duration.sum' \
    --metrics gpu__time_duration.sum --print-summary per-kernel \
    -- DistillBench "$B/models/resnet50.onnx" --batch 32 --warmup 0 --iters 1 --graph off --cudnn off
fi

# 7e. lower-priority runs, in what is left of the budget: the TF32 peer for reference, the per-layer benchmark on the
#     64×128 and on the 128×128 implicit GEMM everywhere (--conv igemm, --conv igemm128: what AUTO chose between, on
#     the same card),
#     the full 500-iteration ResNet-18 distillation and the CPU loss cross-check; then the ratios of what ran.
peer peer-r50-tf32 90 resnet50 --tf32 on

# 7e'. zeroq with --tf32 (the 128×128 layers on TF32 tensor cores; cuDNN with TF32 math in ConvLayerBench), so that
#      TF32 is compared with TF32 in the same run: ResNet-50 distillation (graph replay, 20 + 100 iterations), the
#      per-layer benchmark (10 iterations); the whole pipeline with --tf32 ran at 7b'. Short, and skipped when the
#      budget is spent.
if [[ $HAVE_JAR == 1 && -f "$B/models/resnet50.onnx" ]]; then
  bench bench-r50-tf32 60 distill-bench-resnet50-tf32.log "$B/models/resnet50.onnx" --batch 32 --warmup 20 --iters 100 \
    --graph on --tf32 on --profile-steps 3
  compare_bench conv-tf32 60 conv-layer-bench-tf32.log '^RESULT' 's/^RESULT conv-resnet50 //' ' ' \
    "ConvLayerBench --batch 32 --tf32 true --warmup 2 --iters 10" \
    ConvLayerBench --batch 32 --tf32 true --warmup 2 --iters 10 || row conv-tf32 skip "time budget spent"
fi

for algo in igemm igemm128; do
  [[ $HAVE_JAR == 1 ]] || break
  compare_bench "conv-$algo" 90 "conv-layer-bench-$algo.log" '^RESULT' 's/^RESULT conv-resnet50 //' ' ' \
    "ConvLayerBench --batch 32 --conv $algo" ConvLayerBench --batch 32 --conv "$algo" || break
done

if [[ $HAVE_JAR == 1 && -f "$B/models/resnet18.onnx" ]]; then
  bench full-r18 90 distill-full-resnet18.log "$B/models/resnet18.onnx" --batch 32 --warmup 0 --iters 1 --graph off --full 500
  bench cpucheck-r18 90 distill-cpucheck-resnet18.log "$B/models/resnet18.onnx" --batch 1 --warmup 0 --iters 1 --graph off --cpu-check 2
fi

# 7. ratios: zeroq it/s over torch it/s (both 1000 / median ms of 100 timed iterations at batch 32)
field() { grep -oE "(^| )$1=[^ ]+" | head -n 1 | sed 's/.*=//'; } # value of key=value on stdin's lines
for m in "${MODELS[@]}"; do
  short=r${m#resnet}
  zlog="$PARTS/distill-bench-$m.log"
  # cudnn=fastest: what `zeroq quantize` runs (--conv auto); cudnn=off: zeroq's kernels alone, in the same run
  # fuse=on: the fused BatchNorm+activation kernels, the default.
  z_eager=$(grep -E '^RESULT .*graph=false .*cudnn=fastest .*fuse=on' "$zlog" 2>/dev/null | field iter_per_s)
  z_graph=$(grep -E '^RESULT .*graph=true .*cudnn=fastest .*fuse=on' "$zlog" 2>/dev/null | field iter_per_s)
  z_own=$(grep -E '^RESULT .*graph=true .*cudnn=off .*fuse=on' "$zlog" 2>/dev/null | field iter_per_s)
  t_off=$(grep -E '^RESULT .*tf32=off' "$PARTS/peer-$short.log" 2>/dev/null | field it_per_s)
  t_on=$(grep -E '^RESULT .*tf32=on' "$PARTS/peer-$short-tf32.log" 2>/dev/null | field it_per_s)
  if [[ -z "$t_off" || ( -z "$z_eager" && -z "$z_graph" ) ]]; then
    row "ratio-$short" skip "needs both RESULT lines (zeroq: ${z_graph:-${z_eager:-none}}, torch: ${t_off:-none})"
    continue
  fi
  detail=$(awk -v ze="$z_eager" -v zg="$z_graph" -v zo="$z_own" -v to="$t_off" -v tn="$t_on" 'BEGIN {
    s = "zeroq/torch(tf32 off):";
    if (zg != "") s = s sprintf(" graph %.2fx", zg / to);
    if (ze != "") s = s sprintf(" eager %.2fx", ze / to);
    if (tn != "") s = s sprintf("; vs torch(tf32 on): %.2fx", (zg != "" ? zg : ze) / tn);
    if (zo != "") s = s sprintf("; zeroq kernels only (graph): %.2fx", zo / to);
    s = s sprintf(" (it/s zeroq graph %s eager %s own %s, torch off %s", zg == "" ? "-" : zg, ze == "" ? "-" : ze,
                  zo == "" ? "-" : zo, to);
    if (tn != "") s = s " on " tn;
    print s ")" }')
  row "ratio-$short" ok "$detail"
done
# TF32 against TF32: zeroq --tf32 (graph replay) over PyTorch with TF32 on, ResNet-50.
z_tf=$(grep -E '^RESULT .*tf32=on' "$PARTS/distill-bench-resnet50-tf32.log" 2>/dev/null | field iter_per_s)
t_tf=$(grep -E '^RESULT .*tf32=on' "$PARTS/peer-r50-tf32.log" 2>/dev/null | field it_per_s)
if [[ -n "$z_tf" && -n "$t_tf" ]]; then
  row ratio-r50-tf32 ok "$(awk -v z="$z_tf" -v t="$t_tf" 'BEGIN { printf "zeroq tf32 / torch tf32: %.2fx (it/s %s vs %s)", z / t, z, t }')"
else
  row ratio-r50-tf32 skip "needs both TF32 RESULT lines (zeroq: ${z_tf:-none}, torch: ${t_tf:-none})"
fi

# 8. summary, printed last; everything but the main files packed into details.tgz
{
  echo "zeroq GPU check, $(date -u +%Y-%m-%dT%H:%MZ), commit $(cat "$B/COMMIT" 2>/dev/null || echo unknown), ${SECONDS} s"
  printf '%-14s %-5s %s\n' step state detail
  cat "$ROWS"
} > "$SUMMARY"
if [[ -s "$PARTS/gpu-test-problems.txt" ]]; then
  echo; echo "== problems (first lines; full log in $OUT/gpu-tests.log)"; cat "$PARTS/gpu-test-problems.txt"
fi
rm -f "$ROWS"
tar -czf "$OUT/details.tgz" -C "$OUT" details 2>/dev/null && rm -rf "$PARTS"
echo
cat "$SUMMARY"
awk 'NR > 2 && $2 == "FAIL" { bad = 1 } END { exit bad }' "$SUMMARY"
