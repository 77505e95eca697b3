#!/usr/bin/env bash
# Builds and runs the host emulation of the int8 tensor-core conv conv2d_int8_igemm_chain (see int8_emu.cpp), bit-exact
# against a host reference. No GPU needed. -no-pie: shared-memory addresses are the 32-bit bits of static pointers
# (int8_emu.h); -ffp-contract=off: the epilogue's float multiply and add must not become an FMA.
# native/igemm-emu/run-int8.sh            all cases
# native/igemm-emu/run-int8.sh 3          case 3 only
# native/igemm-emu/run-int8.sh 3 --tsan   case 3 under ThreadSanitizer (reports data races between emulated threads)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=target/igemm-emu
mkdir -p "$OUT"
flags=(-O2)
args=()
for a in "$@"; do
  if [[ "$a" == "--tsan" ]]; then flags=(-O1 -g -fsanitize=thread); else args+=("$a"); fi
done
g++ -std=c++20 "${flags[@]}" -no-pie -ffp-contract=off -pthread -w -I kernels -I native/igemm-emu -o "$OUT/int8_emu" native/igemm-emu/int8_emu.cpp
"$OUT/int8_emu" "${args[@]}"
