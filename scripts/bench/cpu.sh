# Sourced by scripts/bench.sh, scripts/loadtest.sh and scripts/bench/{restore,serve}_cpu.sh: CPU
# time to divide by the work done.
#   busy_ticks               the whole machine's busy time so far (clock ticks, /proc/stat)
#   steal_ticks, steal_share what a VM's host took of the time it wanted (see below)
#   cpuacct_group NAME PID   a cgroup v1 cpuacct group of its own for PID (and every process it
#                            starts from then on); prints its directory, fails (nothing left
#                            behind) where there is no such controller to write to
#   cpuacct_group NAME       the same, empty: a process joins it itself before it starts
#                            anything (echo $BASHPID >DIR/cgroup.procs; exec ...), so that no
#                            helper it starts at start-up is left outside
#   cpuacct_ns DIR           the group's CPU time so far (ns)
#   cpuacct_drop DIR         remove the group once its processes are gone (or moved out)
CPUACCT_ROOT=/sys/fs/cgroup/cpuacct

busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
# steal_ticks: the time the host ran something else while this VM wanted its CPUs (clock ticks)
steal_ticks() { awk '/^cpu / { print $9 }' /proc/stat; }
# steal_share BUSY0 STEAL0: the share of the wanted CPU time the host took since then ("12 %")
steal_share() {
    awk -v b=$(( $(busy_ticks) - $1 )) -v s=$(( $(steal_ticks) - $2 )) \
        'BEGIN { printf "%.0f %%", (b + s > 0 ? 100 * s / (b + s) : 0) }'
}

cpuacct_group() {
    local dir=$CPUACCT_ROOT/$1
    mkdir "$dir" 2>/dev/null || return 1
    if [ -n "${2:-}" ] && ! echo "$2" >"$dir/cgroup.procs" 2>/dev/null; then
        rmdir "$dir"
        return 1
    fi
    echo "$dir"
}

cpuacct_ns() { cat "$1/cpuacct.usage"; }

cpuacct_drop() {
    local i
    for i in 1 2 3 4 5 6 7 8 9 10; do # its last processes may still be exiting
        rmdir "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
