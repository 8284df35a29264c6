#!/usr/bin/env bash
# CPU cost of one restore, all processes together: system-wide busy time from /proc/stat around
# N sequential `fnbox restore IMAGE` runs (event {} on stdin), divided by N. Includes every
# process a restore makes and tears down (controller, Gofer, Sentry, stubs, kernel workers) and
# the shell's fork/exec; run on an otherwise idle machine.
#   restore_cpu.sh FNBOX IMAGE [N]      prints restore_cpu_ms=
set -u
fnbox=$1 img=$2 n=${3:-40}
busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
b0=$(busy)
for _ in $(seq "$n"); do
    echo '{}' | "$fnbox" restore "$img" >/dev/null || exit 1
done
b1=$(busy)
awk -v d=$((b1 - b0)) -v hz="$(getconf CLK_TCK)" -v n="$n" \
    'BEGIN { printf "restore_cpu_ms=%.1f\n", d * 1000 / hz / n }'
