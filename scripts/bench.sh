#!/usr/bin/env bash
# Benchmark driver: runs each workload natively, under gVisor's runsc (ptrace) and under fnbox
# (ptrace) in one run, and prints one table of medians and cost ratios. Called by `make bench`.
#
# Every number is measured now: wall times by build/bench/timeit (fork/exec, no shell in the
# timed path), per-call costs and throughput inside the static programs of scripts/bench/.
# The three columns of a row run the same host binary on the same input, interleaved round by
# round so that the drift of this noisy shared machine hits them alike. A column that cannot
# run prints "n/a" or "FAILED (...)" and the reason below the table; the script goes on.
#
# Environment: BENCH_RUNS (runs of start workloads, default 11), BENCH_INNER_RUNS (runs of the
# self-timed workloads, default 7), BENCH_DATA_DIR (default /var/tmp/fnbox-bench),
# BENCH_GETPPID_NATIVE / BENCH_GETPPID_SANDBOX (iterations, default 100000 / 20000),
# BENCH_PAUSE_MS (untimed pause before each run, default 100), BENCH_RESTORE_RUNS (runs of the
# restore -> response row, default 20), BENCH_MEM_RUNS (runs of the ready-memory row, default
# 3), BENCH_NO_RUNSC=1 (skip runsc),
# BENCH_VERBOSE_STATS=0 (skip the fnbox -v section).
# shellcheck disable=SC2034 # NATIVE_CMD, RUNSC_CMD, FNBOX_CMD are read through a nameref
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
BB=$ROOT/build/bench
FNBOX=$ROOT/build/fnbox
RUNS=${BENCH_RUNS:-11}
INNER_RUNS=${BENCH_INNER_RUNS:-7}
DATA_DIR=${BENCH_DATA_DIR:-/var/tmp/fnbox-bench}
DATA=$DATA_DIR/200mib
DATA_BYTES=$((200 * 1024 * 1024))
N_NATIVE=${BENCH_GETPPID_NATIVE:-100000}
N_SANDBOX=${BENCH_GETPPID_SANDBOX:-20000}
PAUSE_MS=${BENCH_PAUSE_MS:-100}
PY=/usr/bin/python3 # not `python3`: on some hosts that is a pyenv shell shim
# Inside fnbox the bench programs and the data directory are served read-only at these paths.
FB_BIN=/fnbox-bench-bin
FB_DATA=/bench
VARIANTS=(native runsc fnbox)

WORK=$(mktemp -d /tmp/fnbox-bench.XXXXXX) || exit 1
trap 'rm -rf "$WORK"' EXIT
log() { printf 'bench: %s\n' "$*" >&2; }

for p in timeit getppid_loop readfile spawn answer_ms; do
    if [ ! -x "$BB/$p" ]; then
        echo "bench: $BB/$p is missing; run \`make bench\`" >&2
        exit 1
    fi
done

declare -A NA   # variant -> reason it cannot run at all
declare -A CELL # row,variant -> numeric value, or failure text starting with a letter
declare -A SPREAD
declare -A FAILNOTE
ROWS=()
declare -A ROW_LABEL ROW_UNIT ROW_TARGET ROW_HIGHER

# --- machine and versions --------------------------------------------------------------------
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
. "$ROOT/scripts/bench/cpu.sh"
BUSY_START=$(busy_ticks) STEAL_START=$(steal_ticks)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)

# --- runsc: find an invocation that works, or say why not -----------------------------------
# As root `runsc do` needs no extra flag (state under /var/run/runsc). Without root it needs
# --rootless (user namespaces) and a writable --root state directory.
RUNSC=(runsc --platform=ptrace --network=none)
if [ "$(id -u)" != 0 ]; then
    RUNSC=(runsc --rootless "--root=$WORK/runsc-state" --platform=ptrace --network=none)
fi
RUNSC_VER=n/a
if [ "${BENCH_NO_RUNSC:-0}" = 1 ]; then
    NA[runsc]="skipped (BENCH_NO_RUNSC=1)"
elif ! command -v runsc >/dev/null; then
    NA[runsc]="runsc not installed (scripts/deps.sh bench installs it)"
else
    RUNSC_VER=$(runsc --version 2>/dev/null | head -1)
    if ! timeout -k 5 120 "${RUNSC[@]}" "do" /bin/true >"$WORK/runsc-probe" 2>&1; then
        NA[runsc]="\`${RUNSC[*]} do /bin/true\` failed: $(grep -v '^$' "$WORK/runsc-probe" |
            tail -1 | cut -c1-150)"
    fi
fi
if [ ! -x "$FNBOX" ]; then
    NA[fnbox]="$FNBOX not built"
fi
for v in runsc fnbox; do
    [ -n "${NA[$v]:-}" ] && log "$v unusable: ${NA[$v]}"
done

# --- the 200 MiB input file, made once and reused --------------------------------------------
mkdir -p "$DATA_DIR" || exit 1
if [ "$(stat -c %s "$DATA" 2>/dev/null)" != "$DATA_BYTES" ]; then
    log "creating $DATA (200 MiB from /dev/urandom)"
    head -c "$DATA_BYTES" /dev/urandom >"$DATA.tmp" && mv "$DATA.tmp" "$DATA" || exit 1
fi
cat "$DATA" >/dev/null # every reader starts with the file in the host page cache

# --- helpers ---------------------------------------------------------------------------------
# median/min/max of numbers on stdin, one per line: prints "MEDIAN MIN MAX" or nothing.
stats3() {
    sort -g | awk '{a[NR] = $1}
        END { if (NR == 0) exit 1
              m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
              print m, a[1], a[NR] }'
}

# add_row ID LABEL UNIT TARGET HIGHER_IS_BETTER
add_row() {
    ROWS+=("$1")
    ROW_LABEL[$1]=$2 ROW_UNIT[$1]=$3 ROW_TARGET[$1]=$4 ROW_HIGHER[$1]=$5
}

# fail_cell ROW VARIANT TEXT ERRFILE: record a failure and the tail of its stderr.
fail_cell() {
    CELL[$1,$2]=$3
    local err=""
    [ -s "$4" ] && err=$(grep -v '^$' "$4" | tail -3 | cut -c1-200 | sed 's/^/        /')
    FAILNOTE[$1,$2]="${ROW_LABEL[$1]} under $2: $3${err:+$'\n'$err}"
}

# measure ROW RUNS TIMEOUT FIELD SCALE: run the commands in NATIVE_CMD, RUNSC_CMD, FNBOX_CMD
# (arrays) interleaved with timeit. FIELD empty: the cell is timeit's median wall ms. Else it
# is the median of "FIELD=X" printed by the program, times SCALE.
measure() {
    local row=$1 runs=$2 tmo=$3 field=$4 scale=$5
    local args=() idx=() v k line
    for v in "${VARIANTS[@]}"; do
        if [ -n "${NA[$v]:-}" ]; then
            CELL[$row,$v]="n/a"
            continue
        fi
        local -n cmd="${v^^}_CMD"
        args+=(::: "${cmd[@]}")
        idx+=("$v")
    done
    [ ${#idx[@]} -eq 0 ] && return
    log "$row: ${#idx[@]} commands x $runs runs (+1 warm-up each)"
    "$BB/timeit" -n "$runs" -w 1 -t "$tmo" -p "$PAUSE_MS" -o "$WORK/$row.out" -e "$WORK/$row.err" \
        "${args[@]}" >"$WORK/$row.timeit" 2>"$WORK/$row.timeit-err"
    if [ ! -s "$WORK/$row.timeit" ]; then
        for v in "${idx[@]}"; do
            fail_cell "$row" "$v" "FAILED (timeit)" "$WORK/$row.timeit-err"
        done
        return
    fi
    while read -r k line; do
        v=${idx[$k]}
        local status reason median min max
        status=$(sed -n 's/.*status=\([^ ]*\).*/\1/p' <<<"$line")
        if [ "$status" != ok ]; then
            reason=$(sed -n 's/.*reason=\([^ ]*\).*/\1/p' <<<"$line")
            fail_cell "$row" "$v" "FAILED (${reason//_/ })" "$WORK/$row.err.$k"
            continue
        fi
        if [ -z "$field" ]; then
            read -r median min max < <(for f in median min max; do
                sed -n "s/.* ${f}_ms=\([^ ]*\).*/\1/p" <<<"$line"
            done | paste -sd' ')
        else
            read -r median min max < <(grep -o "${field}=[0-9.]*" "$WORK/$row.out.$k" 2>/dev/null |
                cut -d= -f2 | awk -v s="$scale" '{print $1 * s}' | stats3)
            if [ -z "${median:-}" ]; then
                fail_cell "$row" "$v" "FAILED (no output)" "$WORK/$row.err.$k"
                continue
            fi
        fi
        CELL[$row,$v]=$median
        SPREAD[$row,$v]=$(awk -v a="$min" -v b="$max" '
            function f(x) { return sprintf(x >= 100 ? "%.0f" : "%.3g", x) }
            BEGIN { printf "%s..%s", f(a), f(b) }')
    done <"$WORK/$row.timeit"
}

is_num() { [[ $1 =~ ^[0-9.eE+-]+$ ]]; }

fmt_val() { # VALUE UNIT
    is_num "$1" || { printf '%s' "$1"; return; }
    awk -v x="$1" -v u="$2" 'BEGIN {
        if (u == "MB/s") printf "%.0f MB/s", x
        else if (x >= 100) printf "%.0f %s", x, u
        else if (x >= 10) printf "%.1f %s", x, u
        else printf "%.2f %s", x, u }'
}

# ratio ROW A B: cost of A relative to B (time ratio; for throughput rows B/A).
ratio() {
    local a=${CELL[$1,$2]:-} b=${CELL[$1,$3]:-} fmt=$4
    if ! is_num "$a" || ! is_num "$b"; then
        printf -- '-'
        return
    fi
    awk -v a="$a" -v b="$b" -v hi="${ROW_HIGHER[$1]}" -v f="$fmt" 'BEGIN {
        r = hi ? b / a : a / b
        if (f == "x") printf(r >= 10 ? "%.0fx" : "%.1fx", r); else printf "%.2f", r }'
}

target_cell() {
    local row=$1 t=${ROW_TARGET[$1]} x=${CELL[$1,fnbox]:-}
    [ -z "$t" ] && { printf -- '-'; return; }
    if ! is_num "$x"; then
        printf '<= %s %s' "$t" "${ROW_UNIT[$row]}"
        return
    fi
    awk -v x="$x" -v t="$t" -v u="${ROW_UNIT[$row]}" \
        'BEGIN { printf "<= %s %s %s", t, u, (x <= t ? "(met)" : "(missed)") }'
}

# --- workloads -------------------------------------------------------------------------------
# Each workload sets NATIVE_CMD, RUNSC_CMD and FNBOX_CMD, which measure() reads by name.
FB_RUN=("$FNBOX" run)
FB_BINMOUNT=(--mount "$BB:$FB_BIN:ro")
# shellcheck disable=SC2016 # expanded by the sandboxed sh, not here
LOOP='i=0; while [ $i -lt 20 ]; do /bin/true; i=$((i+1)); done'

add_row getppid "getppid syscall (per call)" us 20 0
NATIVE_CMD=("$BB/getppid_loop" "$N_NATIVE")
RUNSC_CMD=("${RUNSC[@]}" "do" "$BB/getppid_loop" "$N_SANDBOX")
FNBOX_CMD=("${FB_RUN[@]}" "${FB_BINMOUNT[@]}" -- "$FB_BIN/getppid_loop" "$N_SANDBOX")
measure getppid "$INNER_RUNS" 120 ns_per_call 0.001

add_row true "start /bin/true (wall)" ms 10 0
NATIVE_CMD=(/bin/true)
RUNSC_CMD=("${RUNSC[@]}" "do" /bin/true)
FNBOX_CMD=("${FB_RUN[@]}" -- /bin/true)
measure true "$RUNS" 60 "" 1

add_row python "start python3 -c pass (wall)" ms 40 0
NATIVE_CMD=("$PY" -c pass)
RUNSC_CMD=("${RUNSC[@]}" "do" "$PY" -c pass)
FNBOX_CMD=("${FB_RUN[@]}" -- "$PY" -c pass)
measure python "$RUNS" 60 "" 1

add_row shloop "sh: 20x fork+exec /bin/true (wall)" ms "" 0
NATIVE_CMD=(/bin/sh -c "$LOOP")
RUNSC_CMD=("${RUNSC[@]}" "do" /bin/sh -c "$LOOP")
FNBOX_CMD=("${FB_RUN[@]}" -- /bin/sh -c "$LOOP")
measure shloop "$RUNS" 120 "" 1

add_row spawn "fork+exec+wait /bin/true (per spawn)" ms "" 0
NATIVE_CMD=("$BB/spawn" 20 /bin/true)
RUNSC_CMD=("${RUNSC[@]}" "do" "$BB/spawn" 20 /bin/true)
FNBOX_CMD=("${FB_RUN[@]}" "${FB_BINMOUNT[@]}" -- "$FB_BIN/spawn" 20 /bin/true)
measure spawn "$INNER_RUNS" 120 us_per_spawn 0.001

add_row read "read 200 MiB file (1 MiB reads, cached)" "MB/s" "" 1
NATIVE_CMD=("$BB/readfile" "$DATA")
RUNSC_CMD=("${RUNSC[@]}" "do" "$BB/readfile" "$DATA")
FNBOX_CMD=("${FB_RUN[@]}" "${FB_BINMOUNT[@]}" --mount "$DATA_DIR:$FB_DATA:ro" --
    "$FB_BIN/readfile" "$FB_DATA/200mib")
measure read "$INNER_RUNS" 300 mb_per_s 1
# Every reader must have seen the same bytes: compare the sampled checksums with native's.
ref=$(grep -o 'checksum=[0-9a-f]*' "$WORK"/read.out.0 2>/dev/null | head -1)
k=0
for v in "${VARIANTS[@]}"; do
    [ -n "${NA[$v]:-}" ] && continue
    if is_num "${CELL[read,$v]:-}"; then
        bad=$(grep -o 'checksum=[0-9a-f]*' "$WORK/read.out.$k" | grep -vxc "$ref")
        if [ -z "$ref" ] || [ "$bad" != 0 ]; then
            fail_cell read "$v" "WRONG DATA" /dev/null
        fi
    fi
    k=$((k + 1))
done

# --- functions: an invocation from an image, and making the image ------------------------------
# The same python function (templates/examples/hello through templates/python/bootstrap.py,
# event {} on stdin): natively and under runsc it is a cold start (python starts, imports the
# handler, answers); fnbox restores the image made by `fnbox checkpoint` and answers.
HELLO=$ROOT/templates/examples/hello
PYBOOT=$ROOT/templates/python/bootstrap.py
IMG=$WORK/hello.img
if [ -z "${NA[fnbox]:-}" ] && ! "$FNBOX" checkpoint --template python --code "$HELLO" -o "$IMG" \
    2>"$WORK/ckpt.err"; then
    log "fnbox checkpoint failed: $(tail -1 "$WORK/ckpt.err")"
fi
add_row pyinvoke "python fn invoke: cold start / restore" ms 5 0
NATIVE_CMD=(env "FNBOX_CODE_DIR=$HELLO" "$PY" -B -s "$PYBOOT" main.handler)
RUNSC_CMD=("${RUNSC[@]}" "do" env "FNBOX_CODE_DIR=$HELLO" "$PY" -B -s "$PYBOOT" main.handler)
FNBOX_CMD=("$FNBOX" restore "$IMG")
measure pyinvoke "$RUNS" 60 "" 1
k=0
for v in "${VARIANTS[@]}"; do # every answer must be the function's
    [ -n "${NA[$v]:-}" ] && continue
    if is_num "${CELL[pyinvoke,$v]:-}" && ! grep -q '"hello": "world"' "$WORK/pyinvoke.out.$k"; then
        fail_cell pyinvoke "$v" "WRONG OUTPUT" "$WORK/pyinvoke.err.$k"
    fi
    k=$((k + 1))
done

# Restore -> response, for both (scripts/bench/*_fn.sh): from the start of the restore until
# the answer is complete (fnbox: on its stdout, by build/bench/answer_ms; runsc: in the output
# file of its detached container, polled). runsc checkpoints a container (runsc_fn.sh prepare
# runs the function in an OCI bundle until it waits on stdin, then `runsc checkpoint`).
RUNSC_FN=$WORK/runsc-fn
RUNSC_CKPT="n/a"
if [ -z "${NA[runsc]:-}" ]; then
    RUNSC_CKPT=$(RUNSC="${RUNSC[*]}" "$ROOT/scripts/bench/runsc_fn.sh" prepare "$RUNSC_FN" "$ROOT" \
        2>"$WORK/runsc-fn.err") || RUNSC_CKPT="FAILED ($(tail -1 "$WORK/runsc-fn.err"))"
fi
add_row pyrestore "python fn: restore -> response" ms 5 0
saved_native=${NA[native]:-}
NA[native]="(nothing to restore)"
NATIVE_CMD=()
RUNSC_CMD=(env "RUNSC=${RUNSC[*]}" "$ROOT/scripts/bench/runsc_fn.sh" restore "$RUNSC_FN")
FNBOX_CMD=("$ROOT/scripts/bench/fnbox_fn.sh" "$FNBOX" "$IMG")
[[ $RUNSC_CKPT == checkpoint_ms=* ]] || NA_RUNSC_SAVED=${NA[runsc]:-} NA[runsc]="runsc checkpoint failed"
measure pyrestore "${BENCH_RESTORE_RUNS:-20}" 120 response_ms 1 # a median of 20, as issue 3 asks
NA[native]=$saved_native
[ -z "${NA[native]}" ] && unset 'NA[native]'
if [ -n "${NA_RUNSC_SAVED+x}" ]; then
    NA[runsc]=$NA_RUNSC_SAVED
    [ -z "${NA[runsc]}" ] && unset 'NA[runsc]'
fi

# Memory of a ready function, waiting for its request (scripts/bench/ready_memory.sh): what the
# host's memory cgroup charges to it. Native: python blocked on stdin; runsc: the image above
# restored into a container; fnbox: one more sandbox in a warm pool of `fnbox serve`.
add_row pymem "python fn ready: memory per sandbox" MB 5 0
saved_runsc=${NA[runsc]:-}
[[ $RUNSC_CKPT == checkpoint_ms=* ]] || NA[runsc]="runsc checkpoint failed"
NATIVE_CMD=("$ROOT/scripts/bench/ready_memory.sh" native "$ROOT")
RUNSC_CMD=(env "RUNSC=${RUNSC[*]}" "$ROOT/scripts/bench/ready_memory.sh" runsc "$RUNSC_FN")
FNBOX_CMD=("$ROOT/scripts/bench/ready_memory.sh" fnbox "$FNBOX" "$ROOT" 8)
measure pymem "${BENCH_MEM_RUNS:-3}" 120 memory_mb 1
NA[runsc]=$saved_runsc
[ -z "${NA[runsc]}" ] && unset 'NA[runsc]'
MEM_PARTS=$(grep -ho 'anon_mb=.*' "$WORK"/pymem.out.* 2>/dev/null | tail -1)

# 20 restores of the image at once (fnbox): wall time until all 20 have answered.
CONC_MS=n/a
if [ -z "${NA[fnbox]:-}" ]; then
    t0=$(date +%s%N)
    for i in $(seq 1 20); do
        (echo '{}' | "$FNBOX" restore "$IMG" >"$WORK/conc.$i" 2>&1) &
    done
    wait
    t1=$(date +%s%N)
    ok=$(grep -l '"hello": "world"' "$WORK"/conc.* | wc -l)
    CONC_MS=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.0f", d / 1e6 }')" ms ($ok of 20 answered)"
fi

# CPU of one restore, every process together (system-wide /proc/stat over 40 restores).
RESTORE_CPU=n/a
if [ -z "${NA[fnbox]:-}" ]; then
    rc_out=$("$ROOT/scripts/bench/restore_cpu.sh" "$FNBOX" "$IMG" 40 2>/dev/null)
    RESTORE_CPU=$(sed -n 's/^restore_cpu_ms=//p' <<<"$rc_out")
    RESTORE_CPU=${RESTORE_CPU:-n/a}" ms"
    tree=$(sed -n 's/^restore_tree_cpu_ms=//p' <<<"$rc_out")
    [ -n "$tree" ] && RESTORE_CPU="$RESTORE_CPU (the restores' own processes alone, cpuacct cgroup: $tree ms)"
fi

# The same restore with the image's memory read from the image (as the first restore of an image
# file that no checkpoint or restore on this host has kept the memory of: api/mem_cache.h).
UNCACHED_MS=n/a
if [ -z "${NA[fnbox]:-}" ]; then
    UNCACHED_MS=$(for _ in $(seq "$RUNS"); do
        sleep "$(awk -v p="$PAUSE_MS" 'BEGIN { print p / 1000 }')"
        FNBOX_MEM_CACHE=0 "$ROOT/scripts/bench/fnbox_fn.sh" "$FNBOX" "$IMG" 2>/dev/null |
            sed -n 's/^response_ms=//p'
    done | sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%.2f ms (median of %d)", v[int((NR + 1) / 2)], NR; else print "n/a" }')
fi

# Checkpoint of the running function (the save at its ready point), beside the `runsc
# checkpoint` command on the same function in a container (one run, made by runsc_fn.sh
# prepare above); then the whole `fnbox checkpoint` command, python's start included.
add_row pysave "checkpoint python fn: save (ready fn)" ms 50 0
saved_native=${NA[native]:-} saved_runsc=${NA[runsc]:-}
NA[native]="(no image to make)" NA[runsc]="(one run, below)"
NATIVE_CMD=() RUNSC_CMD=()
FNBOX_CMD=("$ROOT/scripts/bench/fnbox_save.sh" "$FNBOX" "$HELLO" "$WORK/bench-save.img")
measure pysave "$RUNS" 60 save_ms 1
if [[ $RUNSC_CKPT == checkpoint_ms=* ]]; then
    CELL[pysave,runsc]=$(sed -n 's/^checkpoint_ms=\([0-9.]*\).*/\1/p' <<<"$RUNSC_CKPT")
    SPREAD[pysave,runsc]="(1 run)"
fi
add_row pyckpt "checkpoint command (start+init+save)" ms "" 0
NA[runsc]="(not measured: runsc checkpoint needs an OCI container)"
FNBOX_CMD=("$FNBOX" checkpoint --no-train --template python --code "$HELLO" -o "$WORK/bench-ckpt.img")
measure pyckpt "$RUNS" 60 "" 1
NA[native]=$saved_native NA[runsc]=$saved_runsc
[ -z "${NA[native]}" ] && unset 'NA[native]'
[ -z "${NA[runsc]}" ] && unset 'NA[runsc]'
IMG_SIZE=$(stat -c %s "$IMG" 2>/dev/null || echo 0)
CKPT_JSON=$("$FNBOX" checkpoint --json --template python --code "$HELLO" -o "$WORK/bench-ckpt2.img" \
    2>/dev/null)
SAVE_MS=$(sed -n 's/.*"save_ms":\([0-9.]*\).*/\1/p' <<<"$CKPT_JSON")
TRAIN_MS=$(sed -n 's/.*"train_ms":\([0-9.]*\).*/\1/p' <<<"$CKPT_JSON")

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
STEAL=$(steal_share "$BUSY_START" "$STEAL_START")

# --- the table -------------------------------------------------------------------------------
echo "fnbox benchmark, $DATE; fnbox $REV; ${RUNSC_VER}"
echo "machine: $(nproc) CPUs ($CPU), kernel $(uname -r), load average at start $LOAD_START," \
    "at end $LOAD_END; CPU time taken by the VM's host (steal) during the run: $STEAL"
echo
FMT='%-38s %11s %20s %20s %13s %13s %12s  %s\n'
# shellcheck disable=SC2059
printf "$FMT" workload native "runsc (ptrace)" "fnbox (ptrace)" fnbox/native runsc/native \
    fnbox/runsc "fnbox target"
for row in "${ROWS[@]}"; do
    u=${ROW_UNIT[$row]}
    # shellcheck disable=SC2059
    printf "$FMT" "${ROW_LABEL[$row]}" "$(fmt_val "${CELL[$row,native]}" "$u")" \
        "$(fmt_val "${CELL[$row,runsc]}" "$u")" "$(fmt_val "${CELL[$row,fnbox]}" "$u")" \
        "$(ratio "$row" fnbox native x)" "$(ratio "$row" runsc native x)" \
        "$(ratio "$row" fnbox runsc r)" "$(target_cell "$row")"
done
echo
echo "Cells are medians: start rows and the sh loop of $RUNS runs (wall time of the whole command," \
    "by build/bench/timeit), restore -> response of ${BENCH_RESTORE_RUNS:-20};"
echo "getppid, spawn and read of $INNER_RUNS runs each timed inside the program (sandbox start" \
    "excluded). One warm-up run each, not counted;"
echo "the commands of a row alternate run by run, with an untimed ${PAUSE_MS} ms pause before each."
echo "Ratios are cost ratios (how many times longer; for MB/s, the inverse of throughput):" \
    "fnbox/runsc < 1 means fnbox is faster."
echo "getppid: $N_NATIVE calls natively, $N_SANDBOX in the sandboxes. Spawn: 20 fork+execve+wait" \
    "per run by build/bench/spawn."
echo "runsc: \`${RUNSC[*]} do CMD\`; fnbox: \`build/fnbox run [--mount build/bench:$FB_BIN:ro]" \
    "[--mount $DATA_DIR:$FB_DATA:ro] -- CMD\`."
echo "python fn: templates/examples/hello via templates/python/bootstrap.py, event {} on stdin;" \
    "native and runsc start python cold, fnbox runs \`fnbox restore IMAGE\` (image" \
    "$((IMG_SIZE / 1024)) KiB, made by \`fnbox checkpoint --template python\`, with its working" \
    "set from the training run)."
echo "checkpoint rows: 'save' is the checkpoint of the function already running and waiting for" \
    "its request (fnbox: from the ready point until the image is written and synced, as" \
    "\`fnbox checkpoint --json\` reports it, scripts/bench/fnbox_save.sh; runsc: the" \
    "\`runsc checkpoint\` command alone on the same function in a container, one run:" \
    "$RUNSC_CKPT); 'command' is the whole \`fnbox checkpoint --no-train\` (sandbox start," \
    "python start and import, then the save). The training run that templates add by default" \
    "(restore once on {}, record the working set) took ${TRAIN_MS:-?} ms in one more run" \
    "(save ${SAVE_MS:-?} ms)."
echo "restore -> response: scripts/bench/fnbox_fn.sh and runsc_fn.sh, from the restore's start" \
    "until the answer is complete: fnbox's on its stdout (build/bench/answer_ms; the teardown" \
    "after it is not timed, as an invocation does not wait for it), runsc's in its detached" \
    "container's output file (polled; runsc restores the image made by \`runsc checkpoint\`)."
echo "memory per sandbox: what the host's memory cgroup (v1) charges to a ready python function" \
    "waiting for its request (scripts/bench/ready_memory.sh; pages already in the page cache," \
    "such as python's own, count where they were first read): native, python blocked on" \
    "stdin; runsc, its image restored into a container (runsc's own cgroup for it); fnbox, a" \
    "warm pool of \`fnbox serve\` grown from 0 to 8 ready sandboxes, the growth / 8 (last run:" \
    "${MEM_PARTS:-n/a}: anonymous memory of its processes, the memory file's pages restored" \
    "so far, kernel memory such as page tables)."
echo "fnbox restores use the image's memory kept decompressed by its checkpoint (/run/fnbox/mem," \
    "api/mem_cache.h) and the namespaces kept by the first restore (/run/fnbox/ns), as every" \
    "restore of an unchanged image file after its first does; restore -> response with the" \
    "memory read from the image instead (FNBOX_MEM_CACHE=0): $UNCACHED_MS."
echo "20 fnbox restores of the python image at once: $CONC_MS." 
echo "CPU per restore of the python image, every process together (scripts/bench/restore_cpu.sh," \
    "system-wide busy time over 40 sequential restores): $RESTORE_CPU." 
echo
echo "spread (min..max of the counted runs, same units):"
for row in "${ROWS[@]}"; do
    printf '  %-40s' "${ROW_LABEL[$row]}"
    for v in "${VARIANTS[@]}"; do
        printf ' %-6s %-20s' "$v" "${SPREAD[$row,$v]:-${CELL[$row,$v]}}"
    done
    echo " ${ROW_UNIT[$row]}"
done

notes=0
for v in runsc fnbox; do
    if [ -n "${NA[$v]:-}" ]; then
        [ $notes = 0 ] && { echo; echo "problems:"; }
        notes=1
        echo "  $v n/a: ${NA[$v]}"
    fi
done
for row in "${ROWS[@]}"; do
    for v in "${VARIANTS[@]}"; do
        if [ -n "${FAILNOTE[$row,$v]:-}" ]; then
            [ $notes = 0 ] && { echo; echo "problems:"; }
            notes=1
            echo "  ${FAILNOTE[$row,$v]}"
        fi
    done
done

# --- where fnbox's time goes: one more run of each workload with -v -------------------------
if [ "${BENCH_VERBOSE_STATS:-1}" = 1 ] && [ -z "${NA[fnbox]:-}" ]; then
    echo
    echo "fnbox -v counters (one extra run each; 'in the kernel' includes time blocked in a call" \
        "such as wait4; 'application' is time inside the platform's switch: the program's own" \
        "work plus each ptrace round trip):"
    vrow() { # LABEL CMD...
        local label=$1 wall stats
        shift
        wall=$("$BB/timeit" -n 1 -w 0 -t 120 -e "$WORK/v.err" ::: "${FB_RUN[@]}" -v "$@" |
            sed -n 's/.*median_ms=\([^ ]*\).*/\1/p')
        stats=$(grep -o 'stats: .*' "$WORK/v.err.0" 2>/dev/null | sed 's/ (fb_[a-z_]*:[0-9]*)$//' |
            tail -1)
        [ -n "$wall" ] && wall="$(fmt_val "$wall" ms)" || wall=FAILED
        printf '  %-22s wall %9s; %s\n' "$label" "$wall" "${stats:-no stats line}"
    }
    vrow "getppid x $N_SANDBOX" "${FB_BINMOUNT[@]}" -- "$FB_BIN/getppid_loop" "$N_SANDBOX"
    vrow "/bin/true" -- /bin/true
    vrow "python3 -c pass" -- "$PY" -c pass
    vrow "sh: 20x /bin/true" -- /bin/sh -c "$LOOP"
    vrow "spawn 20x /bin/true" "${FB_BINMOUNT[@]}" -- "$FB_BIN/spawn" 20 /bin/true
    vrow "read 200 MiB" "${FB_BINMOUNT[@]}" --mount "$DATA_DIR:$FB_DATA:ro" -- \
        "$FB_BIN/readfile" "$FB_DATA/200mib"
    # The start-up timeline that fnbox logs at -vv ("+X ms: phase"), in time order.
    echo
    echo "fnbox start phases of /bin/true (one extra run with -vv, ms since fnbox started):"
    "$FNBOX" run -vv -- /bin/true 2>&1 >/dev/null |
        sed -n 's/^fnbox\[\([a-z]*\)\] [a-z]*: +\([0-9.]*\) ms: \(.*\) (.*)$/\2 \1: \3/p' |
        sort -g | awk '{ printf "  %7.1f  %s\n", $1, substr($0, length($1) + 2) }'
fi
exit 0
