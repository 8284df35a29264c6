#!/usr/bin/env bash
# The escape suite: every program in build/escape/ attacks the sandbox from inside and checks its
# own documented outcome; this runner gives each its fnbox options and expected exit status, and
# checks the host side after every run. Prints "PASS escape/NAME" or "FAIL escape/NAME: why".
# Usage: tests/escape/run.sh [NAME...]   (from anywhere; FNBOX=path overrides build/fnbox)
#        tests/escape/run.sh --fuzz-only    (only the syscall fuzzer: scripts/fuzz.sh)
# The syscall fuzzer (tests/fuzz/sysfuzz.c) runs last, with the same host checks, as
# "fuzz/sysfuzz-seed-N": FUZZ_SEEDS (default "1 2 3 4") for FUZZ_SECONDS each (default 5).
#
# Host-side checks after every program:
#   - the canary (a host process whose pid the sandbox is told in /info/host_pid) is alive;
#   - no file named fnbox-escape-marker* appeared in the host's /, /tmp, /etc, /usr or the
#     runner's scratch directory outside the read-write mount; the "outside" tree is unchanged;
#   - no host process is left behind: fnbox runs under reapcheck, a child subreaper that names
#     and kills any process (Sentry, stub, Gofer) that outlives the controller;
#   - no crash report of the Sentry ("fnbox[sentry] fatal") and no exit 125.
set -u
cd "$(dirname "$0")/../.."

FNBOX=${FNBOX:-build/fnbox}
BIN=build/escape
REAP=build/escape-tools/reapcheck
tmp=$(mktemp -d /tmp/fnbox-escape-XXXXXX)
sleep 100000 &
canary=$!
trap 'kill $canary 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/info" "$tmp/outside"
echo "$canary" >"$tmp/info/host_pid"
"$FNBOX" syscalls >"$tmp/info/syscalls.txt"
echo "host secret" >"$tmp/outside/secret"
outside_sum() { find "$tmp/outside" -printf '%p %s %T@\n' | sort | md5sum; }
outside0=$(outside_sum)
shadow0=$(stat -c '%s %Y' /etc/shadow 2>/dev/null)

fuzz_only=0
if [ "${1:-}" = --fuzz-only ]; then
    fuzz_only=1
    shift
fi
want=("$@")
failed=0

selected() {
    [ ${#want[@]} -eq 0 ] && return 0
    local w
    for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done
    return 1
}

markers() {
    ls -d /fnbox-escape-marker* /tmp/fnbox-escape-marker* /etc/fnbox-escape-marker* \
        /usr/fnbox-escape-marker* "$tmp"/fnbox-escape-marker* 2>/dev/null
}

# t NAME STATUS [FNBOX_OPTIONS [STDERR_REGEX [MAX_SECONDS]]]
# Run build/escape/NAME; it must exit with STATUS (the fnbox run exit status), its stderr must
# match STDERR_REGEX if given, and it must finish within MAX_SECONDS (default 60).
# With LABEL, BIN and ARGS set, runs $BIN/NAME ARGS... reported as LABEL (the fuzzer).
t() {
    local name=$1 want_status=$2 opts=${3:-} errre=${4:-} maxs=${5:-60}
    local status t0 t1 why="" label=${LABEL:-escape/$1} bin=${BIN_DIR:-$BIN}
    [ $fuzz_only = 1 ] && [ -z "${LABEL:-}" ] && return 0
    selected "$name" || [ -n "${LABEL:-}" ] || return 0
    if [ ! -x "$bin/$name" ]; then
        echo "FAIL $label: not built ($bin/$name missing)"
        failed=1
        return
    fi
    rm -rf "$tmp/rw"
    mkdir -p "$tmp/rw"
    case " $opts " in *" --timeout "*) ;; *) opts="$opts --timeout 60s" ;; esac
    t0=$(date +%s%N)
    # shellcheck disable=SC2086
    timeout -k 5 $((maxs + 30)) "$REAP" "$FNBOX" run $opts --mount "$PWD/$bin:/t:ro" \
        --mount "$tmp/rw:/rw:rw" --mount "$tmp/info:/info:ro" -- "/t/$name" ${ARGS:-} \
        </dev/null >"$tmp/out" 2>"$tmp/err"
    status=$?
    t1=$(date +%s%N)
    elapsed_ms=$(((t1 - t0) / 1000000))
    local note=""
    # The fuzzer's random calls may fill the sandbox's memory within one worker (sendfile from
    # /dev/zero into tmpfs, then any page fault): the sandbox then ends at its --memory limit,
    # as it must. Not a failure of the Sentry; the run just ends early.
    if [ -n "${LABEL:-}" ] && [ "$status" = 137 ] && [ "$want_status" = 0 ] &&
        grep -q "out of memory: the sandbox exceeded --memory" "$tmp/err"; then
        status=0 note=" (ended early, at its memory limit)"
    fi
    [ "$status" = "$want_status" ] || why="exit status $status, expected $want_status"
    [ "$status" = 99 ] && why="host processes left behind: $(grep reapcheck "$tmp/err")"
    if [ -n "$errre" ] && ! grep -qE "$errre" "$tmp/err"; then
        why="${why:+$why; }stderr does not match /$errre/"
    fi
    grep -q 'fnbox\[sentry\] fatal' "$tmp/err" && why="${why:+$why; }the Sentry crashed"
    [ $elapsed_ms -le $((maxs * 1000)) ] || why="${why:+$why; }took ${elapsed_ms} ms (limit ${maxs} s)"
    kill -0 "$canary" 2>/dev/null || why="${why:+$why; }the host canary process was killed"
    [ -z "$(markers)" ] || why="${why:+$why; }marker on the host: $(markers | tr '\n' ' ')"
    [ "$(outside_sum)" = "$outside0" ] || why="${why:+$why; }the host tree outside the mounts changed"
    [ "$(stat -c '%s %Y' /etc/shadow 2>/dev/null)" = "$shadow0" ] || why="${why:+$why; }/etc/shadow changed"
    if declare -F "check_$name" >/dev/null; then
        local extra
        extra=$("check_$name") || why="${why:+$why; }$extra"
    fi
    if [ -z "$why" ]; then
        echo "PASS $label$note"
        if [ -n "${LABEL:-}" ]; then
            sed 's/^/    /' "$tmp/out"
            # Not failures by themselves, but each is worth a look: the Sentry's own complaints.
            grep -E 'fnbox\[sentry\] (error|warning)' "$tmp/err" | sed 's/([a-z_]*:[0-9]*)$//' |
                sort | uniq -c | sort -rn | head -n 5 | sed 's/^/    sentry log: /'
        fi
    else
        echo "FAIL $label: $why"
        grep -E '^FAIL' "$tmp/out" | head -n 15 | sed 's/^/    /'
        tail -n 4 "$tmp/err" | sed 's/^/    stderr: /'
        failed=1
        markers | xargs -r rm -rf
        if [ -z "$(kill -0 "$canary" 2>&1)" ]; then :; else
            sleep 100000 &
            canary=$!
            echo "$canary" >"$tmp/info/host_pid"
        fi
    fi
}

# Extra checks of some programs (print why and return 1 on failure).
check_output_flood() {
    local size want
    size=$(stat -c %s "$tmp/out")
    want=$((1048576 + ${#marker_line}))
    [ "$size" = "$want" ] || { echo "stdout has $size bytes, expected $want (1 MiB + marker)"; return 1; }
    [ "$(tail -c ${#marker_line} "$tmp/out")" = "$(printf '%s' "$marker_line")" ] || { echo "no marker line at the end of stdout"; return 1; }
}
check_output_flood_ignored() { check_output_flood; }
check_output_flood_sendfile() {
    local size want=$((100000 + ${#marker_100k}))
    size=$(($(stat -c %s "$tmp/out") + $(grep -v '^reapcheck' "$tmp/err" | wc -c)))
    [ "$size" = "$want" ] || { echo "stdout+stderr have $size bytes, expected $want"; return 1; }
    grep -qF '[fnbox: output truncated at 100000 bytes]' "$tmp/out" || { echo "no marker"; return 1; }
}
marker_100k=$'\n[fnbox: output truncated at 100000 bytes]\n'
check_memory_bomb() {
    grep -q survived "$tmp/out" && { echo "the program survived the limit"; return 1; }
    return 0
}
check_memory_bomb_child() { check_memory_bomb; }
# --cpu 0.05 must have throttled a spinning program (a low quota, so that it holds even when
# other load leaves the sandbox less than a CPU) (fnbox -v prints the cgroup's cpu.stat). Hosts
# without a writable cgroup v1 cpu controller get a warning instead, which is checked then.
check_endless_loop() {
    if [ -w /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
        grep -qE 'cpu cgroup: .*nr_throttled [1-9]' "$tmp/err" || { echo "--cpu 0.05 did not throttle"; return 1; }
    else
        grep -q 'warning: --cpu ignored' "$tmp/err" || { echo "no warning for --cpu without cgroups"; return 1; }
    fi
}
marker_line=$'\n[fnbox: output truncated at 1048576 bytes]\n'

# --- host files outside the view ----------------------------------------------------------------
t host_secrets 0
t root_listing 0
t proc_root 0
t proc_self_exe 0
# --- read-write mount: "..", symlinks, links, the rename race -------------------------------------
t dotdot_rw_mount 0
t symlink_abs 0
t symlink_rel 0
t symlink_loop 0
t rename_race 0
t hardlink_mknod 0
# --- other processes and the host's -----------------------------------------------------------
t proc_mem 0
t kill_all 0
t kill_host_pids 0
t ptrace_all 0
# --- host resources: each documented error ----------------------------------------------------
t sys_mount 0
t sys_umount 0
t sys_pivot_root 0
t sys_chroot 0
t sys_unshare 0
t sys_setns 0
t sys_bpf 0
t sys_perf_event_open 0
t sys_userfaultfd 0
t sys_io_uring 0
t sys_kexec 0
t sys_modules 0
t sys_host_admin 0
t sys_ioport 0
t raw_socket 0
t packet_socket 0
t clone_ns 0
t clone_settls 0
# --- machine-level tricks ----------------------------------------------------------------------
t exec_data 0
t vsyscall 0
t int80 0
t sigreturn_forged 0
t sigreturn_xstate 0
t stub_page 0 "" "" 120
t arch_prctl_kernel 0
t mmap_hostile 0
t tty_inject 0
# --- hostile arguments to every syscall number --------------------------------------------------
t hostile_args 0 "--cpu 1" "" 120
# --- fd passing -------------------------------------------------------------------------------
t fd_pass_dirfd 0
t fd_pass_cycle 0
t fd_pass_cmsg 0
# --- limits -----------------------------------------------------------------------------------
t fork_bomb 0 "--pids 32"
t rlimit_pids 0 "--pids 8"
# CPU burners run under --cpu 0.5: this machine's CPU is shared, and a sandbox burning every core
# stalls everything else (the reason --cpu exists). Time limits leave room for a loaded host.
t fork_bomb_forever 124 "--pids 64 --timeout 3s --cpu 0.5" "timed out" 30
t memory_bomb 137 "--memory 64M" "out of memory: the sandbox exceeded --memory" 20
t memory_bomb_child 137 "--memory 64M" "out of memory: the sandbox exceeded --memory" 20
t tmpfs_bomb 0 "--memory 64M"
t endless_loop 124 "--timeout 1s --cpu 0.05 -v" "timed out after 1000 ms" 15
t endless_threads 124 "--timeout 1s --cpu 0.5" "timed out after 1000 ms" 15
t output_flood 141 "--output-limit 1M" "" 20
t output_flood_ignored 0 "--output-limit 1M" "" 20
t output_flood_sendfile 0 "--output-limit 100000" "" 20

# --- the syscall fuzzer -------------------------------------------------------------------------
# A Sentry crash shows as status 125 and a crash report, a hang as 124 from --timeout; the host
# checks above apply. Reproduce one: build/fnbox run ... -- build/fuzz/sysfuzz SEED SECONDS.
fuzz_seconds=${FUZZ_SECONDS:-5}
if [ ${#want[@]} -eq 0 ] || [ $fuzz_only = 1 ]; then
    for seed in ${FUZZ_SEEDS:-1 2 3 4}; do
        LABEL="fuzz/sysfuzz-seed-$seed" BIN_DIR=build/fuzz ARGS="$seed $fuzz_seconds" \
            t sysfuzz 0 "--cpu 1 --pids 64 --memory 512M --timeout $((fuzz_seconds + 30))s" "" \
            $((fuzz_seconds + 40))
    done
fi

exit $failed
