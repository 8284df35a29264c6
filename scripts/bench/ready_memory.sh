#!/usr/bin/env bash
# Memory a ready python function holds while it waits for its request, for scripts/bench.sh
# (the "memory per pooled python sandbox" target of ARCHITECTURE.md): what the host's memory
# cgroup v1 controller charges to it (anonymous memory, memory files, page tables and other
# kernel memory) -- the memory one more ready function costs the host. Pages that are in the
# host's page cache already (python, its libraries, the image file) are charged to whoever read
# them first, not again: they are shared.
#
#   ready_memory.sh native ROOT          python3 templates/python/bootstrap.py blocked on stdin,
#                                        in a memory cgroup of its own
#   ready_memory.sh runsc DIR            runsc restores DIR/image (scripts/bench/runsc_fn.sh
#                                        prepare) into a container left waiting on stdin; runsc
#                                        puts it in a memory cgroup named after the container
#   ready_memory.sh fnbox FNBOX ROOT [N] `fnbox serve` (in a memory cgroup of its own) with the
#                                        python hello function registered, its pool grown from 0
#                                        to N (default 8) ready sandboxes: the growth / N
# Prints memory_mb=X (and, for fnbox, the parts: anon_mb= memfile_mb= kernel_mb=).
# RUNSC (default "runsc --platform=ptrace --network=none") is runsc's invocation.
set -u
MEMCG=/sys/fs/cgroup/memory
mode=${1:-}
tmp=$(mktemp -d /tmp/fnbox-ready-mem-XXXXXX) || exit 1
cg=""
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    if [ -n "$cg" ]; then
        for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$cg" 2>/dev/null && break; sleep 0.2; done
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
die() { echo "ready_memory: $*" >&2; exit 1; }
usage_b() { cat "$1/memory.usage_in_bytes"; }
mb() { awk -v b="$1" -v n="${2:-1}" 'BEGIN { printf "%.2f", b / n / 1048576 }'; }
new_cg() {
    [ -w "$MEMCG" ] || die "no writable cgroup v1 memory controller at $MEMCG"
    cg=$MEMCG/fnbox-ready-mem-$$
    mkdir "$cg" || die "cannot make $cg"
}
# The process blocked reading its stdin (fd 0): /proc/PID/syscall starts with 0 (read) and 0x0.
reading_stdin() { [[ "$(cat "/proc/$1/syscall" 2>/dev/null)" == "0 0x0 "* ]]; }

case "$mode" in
native)
    root=${2:?ROOT}
    new_cg
    mkfifo "$tmp/in" || exit 1
    exec 8<>"$tmp/in"
    (
        echo $BASHPID >"$cg/cgroup.procs"
        FNBOX_CODE_DIR=$root/templates/examples/hello exec /usr/bin/python3 -B -s \
            "$root/templates/python/bootstrap.py" main.handler <"$tmp/in" >/dev/null 8>&-
    ) &
    pid=$!
    for _ in $(seq 200); do reading_stdin "$pid" && break; sleep 0.02; done
    reading_stdin "$pid" || die "python did not reach its read of stdin"
    sleep 0.2
    echo "memory_mb=$(mb "$(usage_b "$cg")")"
    ;;
runsc)
    dir=${2:?DIR}
    read -r -a R <<<"${RUNSC:-runsc --platform=ptrace --network=none}"
    id=fnbox-bench-mem-$$
    mkfifo "$tmp/in" || exit 1
    exec 8<>"$tmp/in"
    "${R[@]}" restore -image-path="$dir/image" -bundle "$dir/bundle" -detach "$id" \
        <"$tmp/in" >/dev/null 2>"$tmp/err" 8>&- || die "runsc restore: $(tail -1 "$tmp/err")"
    sleep 0.5
    b=$(cat "$MEMCG/$id/memory.usage_in_bytes" 2>/dev/null)
    "${R[@]}" delete -force "$id" >/dev/null 2>&1
    [ -n "$b" ] || die "runsc made no memory cgroup $MEMCG/$id to read"
    echo "memory_mb=$(mb "$b")"
    ;;
fnbox)
    fnbox=${2:?FNBOX} root=${3:?ROOT} n=${4:-8}
    new_cg
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    url=http://127.0.0.1:$port
    (
        echo $BASHPID >"$cg/cgroup.procs"
        cd "$root" && exec "$fnbox" serve --listen "127.0.0.1:$port" --state-dir "$tmp/state" \
            --code-root .
    ) 2>"$tmp/server.log" &
    pid=$!
    for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.1; done
    curl -sf -X POST "$url/v1/functions" -d '{"name":"hello","template":"python",
"code":"templates/examples/hello","handler":"main.handler","pool":{"min":0,"max":64}}' \
        >/dev/null || die "registration failed: $(tail -1 "$tmp/server.log")"
    idle() { curl -s "$url/v1/functions/hello/pool" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["idle"])'; }
    stat() { awk -v k="$2" '$1 == k { print $2 }' "$1/memory.stat"; }
    sleep 0.5
    u0=$(usage_b "$cg") a0=$(stat "$cg" rss) s0=$(stat "$cg" shmem)
    curl -sf -X PUT "$url/v1/functions/hello/pool" -d "{\"min\":$n}" >/dev/null ||
        die "resizing the pool failed"
    for _ in $(seq 300); do [ "$(idle)" = "$n" ] && break; sleep 0.1; done
    [ "$(idle)" = "$n" ] || die "the pool did not reach $n ready sandboxes"
    sleep 0.5
    u1=$(usage_b "$cg") a1=$(stat "$cg" rss) s1=$(stat "$cg" shmem)
    echo "memory_mb=$(mb $((u1 - u0)) "$n") anon_mb=$(mb $((a1 - a0)) "$n")" \
        "memfile_mb=$(mb $((s1 - s0)) "$n")" \
        "kernel_mb=$(mb $((u1 - u0 - (a1 - a0) - (s1 - s0))) "$n") sandboxes=$n"
    ;;
*)
    echo "usage: ready_memory.sh native ROOT | runsc DIR | fnbox FNBOX ROOT [N]" >&2
    exit 2
    ;;
esac
