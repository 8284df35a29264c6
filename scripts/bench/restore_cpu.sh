#!/usr/bin/env bash
# CPU cost of one restore, all processes together: system-wide busy time from /proc/stat around
# N sequential `fnbox restore IMAGE` runs (event {} on stdin), divided by N. Includes every
# process a restore makes and tears down (controller, Gofer, Sentry, stubs, kernel workers) and
# the shell's fork/exec; run on an otherwise idle machine. Where cgroup v1 has a cpuacct
# controller, also the restores' own process trees alone (a group of its own around the loop:
# not the host's kernel workers, such as the network namespace's cleanup, nor other tenants).
#   restore_cpu.sh FNBOX IMAGE [N]      prints restore_cpu_ms= [restore_tree_cpu_ms=]
set -u
fnbox=$1 img=$2 n=${3:-40}
. "$(dirname "$0")/cpu.sh"
cg=$(cpuacct_group fnbox-restore-cpu-$$ $$)
[ -n "$cg" ] && trap 'echo $$ >"$CPUACCT_ROOT/cgroup.procs"; cpuacct_drop "$cg"' EXIT
u0=$([ -n "$cg" ] && cpuacct_ns "$cg")
b0=$(busy_ticks)
for _ in $(seq "$n"); do
    echo '{}' | "$fnbox" restore "$img" >/dev/null || exit 1
done
b1=$(busy_ticks)
awk -v d=$((b1 - b0)) -v hz="$(getconf CLK_TCK)" -v n="$n" \
    'BEGIN { printf "restore_cpu_ms=%.1f\n", d * 1000 / hz / n }'
if [ -n "$cg" ]; then
    u1=$(cpuacct_ns "$cg")
    awk -v d=$((u1 - u0)) -v n="$n" 'BEGIN { printf "restore_tree_cpu_ms=%.1f\n", d / 1e6 / n }'
fi
