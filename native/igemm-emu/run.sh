#!/usr/bin/env bash
# Builds and runs the host emulation of the 128×128 implicit-GEMM kernels (see igemm_emu.cpp). No GPU needed.
# native/igemm-emu/run.sh            all cases
# native/igemm-emu/run.sh 7 --tsan   case 7 under ThreadSanitizer (reports data races between emulated threads)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=target/igemm-emu
mkdir -p "$OUT"
case_arg=${1:-}
flags=(-O2)
if [[ "${2:-}" == "--tsan" || "${1:-}" == "--tsan" ]]; then
  flags=(-O1 -g -fsanitize=thread)
  [[ "${1:-}" == "--tsan" ]] && case_arg=${2:-}
fi
g++ -std=c++20 "${flags[@]}" -pthread -w -I kernels -I native/igemm-emu -o "$OUT/igemm_emu" native/igemm-emu/igemm_emu.cpp
"$OUT/igemm_emu" $case_arg
