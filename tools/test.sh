#!/usr/bin/env bash
# The test command (README, .ci/run): the whole suite on Java 25, no GPU and no network needed.
# GPU-tagged tests are excluded here; native/gpu-check.sh runs them on a GPU host.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
. "$root/tools/java-env.sh"
zeroq_find_java || exit 2
cd "$root"
exec mvn -B test "$@"
