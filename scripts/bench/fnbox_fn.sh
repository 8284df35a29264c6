#!/usr/bin/env bash
# fnbox's side of the restore -> response row of scripts/bench.sh, timed the same way as
# runsc_fn.sh: from the start of the restore until the function's answer is complete.
#   fnbox_fn.sh FNBOX IMAGE     prints the answer and response_ms=
set -u
fnbox=$1 img=$2
t0=$(date +%s%N)
out=$(echo '{}' | "$fnbox" restore "$img") || exit 1
t1=$(date +%s%N)
printf '%s\n' "$out"
awk -v d=$((t1 - t0)) 'BEGIN { printf "response_ms=%.1f\n", d / 1e6 }'
