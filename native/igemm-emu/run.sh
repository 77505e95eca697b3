#!/usr/bin/env bash
# Builds and runs the host emulation of the 128×128 implicit-GEMM kernels, strict FP32 and TF32 (see igemm_emu.cpp).
# No GPU needed.
# native/igemm-emu/run.sh              all cases, both kernel families
# native/igemm-emu/run.sh 7 tf32       case 7, TF32 kernels only (fp32: the strict kernels only)
# native/igemm-emu/run.sh 7 --tsan     case 7 under ThreadSanitizer (reports data races between emulated threads)
# native/igemm-emu/run.sh ops          the int8 engine's quantize and max-pool kernels (int8_ops_emu.cpp), bit for bit
# native/igemm-emu/run.sh im2col       int8_im2col_nhwc against its reference instead (see im2col_emu.cpp)
# native/igemm-emu/run.sh binary       binary_same / binary_backward_same against binary / broadcast_reduce, bit for bit
# native/igemm-emu/run.sh pool         maxpool2d_argmax + maxpool2d_backward_argmax against maxpool2d_backward, bit for bit
# native/igemm-emu/run.sh bnstat       bn_stat_loss_warp against bn_stat_loss and the formula (bn_stat_emu.cpp)
# native/igemm-emu/run.sh fused        the fused BatchNorm/Add + activation kernels against the kernels they replace, bit for bit
# native/igemm-emu/run.sh windows      common.cuh's zq_windows_of against the per-tap division it replaced, visit for visit
# (the int8 tensor-core conv kernel has its own: native/igemm-emu/run-int8.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=target/igemm-emu
mkdir -p "$OUT"
if [[ "${1:-}" == "ops" ]]; then
  g++ -std=c++20 -O2 -ffp-contract=off -pthread -w -I kernels -I native/igemm-emu -o "$OUT/int8_ops_emu" \
    native/igemm-emu/int8_ops_emu.cpp
  exec "$OUT/int8_ops_emu"
fi
if [[ "${1:-}" == "binary" ]]; then
  g++ -std=c++20 -O2 -ffp-contract=off -w -I kernels -I native/igemm-emu -o "$OUT/binary_same_emu" \
    native/igemm-emu/binary_same_emu.cpp
  exec "$OUT/binary_same_emu"
fi
if [[ "${1:-}" == "pool" ]]; then
  g++ -std=c++20 -O2 -ffp-contract=off -w -I kernels -I native/igemm-emu -o "$OUT/maxpool_emu" native/igemm-emu/maxpool_emu.cpp
  exec "$OUT/maxpool_emu"
fi
if [[ "${1:-}" == "bnstat" ]]; then
  g++ -std=c++20 -O2 -ffp-contract=off -pthread -w -I kernels -I native/igemm-emu -o "$OUT/bn_stat_emu" native/igemm-emu/bn_stat_emu.cpp
  exec "$OUT/bn_stat_emu"
fi
if [[ "${1:-}" == "fused" ]]; then
  g++ -std=c++20 -O2 -ffp-contract=off -w -I kernels -I native/igemm-emu -o "$OUT/fused_emu" native/igemm-emu/fused_emu.cpp
  exec "$OUT/fused_emu"
fi
if [[ "${1:-}" == "windows" ]]; then
  g++ -std=c++20 -O2 -w -I kernels -I native/igemm-emu -o "$OUT/windows_of_check" native/igemm-emu/windows_of_check.cpp
  exec "$OUT/windows_of_check"
fi
if [[ "${1:-}" == "im2col" ]]; then
  g++ -std=c++20 -O2 -pthread -w -I kernels -I native/igemm-emu -o "$OUT/im2col_emu" native/igemm-emu/im2col_emu.cpp
  exec "$OUT/im2col_emu"
fi
flags=(-O2)
args=()
for a in "$@"; do
  if [[ "$a" == "--tsan" ]]; then flags=(-O1 -g -fsanitize=thread); else args+=("$a"); fi
done
g++ -std=c++20 "${flags[@]}" -pthread -w -I kernels -I native/igemm-emu -o "$OUT/igemm_emu" native/igemm-emu/igemm_emu.cpp
"$OUT/igemm_emu" "${args[@]}"
