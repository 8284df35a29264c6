#!/usr/bin/env bash
# Runner for the syscall conformance programs: runs each built program natively and, when an fnbox
# binary is available, inside fnbox, and compares stdout and exit status. Part of tests/syscalls.
#
# Usage: tests/syscalls/run.sh [--fnbox PATH | --native-only] [--fnbox-args "RUN-OPTIONS"] [--label L] [NAME...]
#   run from the repository root; NAME is a program name (fs_pipe) or syscalls/fs_pipe.
#   Default fnbox: build/fnbox when it exists and is executable, else native only.
#   FNBOX_SYSCALLS_JOBS=N runs N programs at a time (default 2); output order stays stable.
#   FNBOX_SYSCALLS_TIMEOUT=S per-run timeout in seconds (default 30).
# Output: one line per program, "PASS syscalls/NAME", "FAIL syscalls/NAME: reason" (with a short
# indented diff or the failing checks below it) or "SKIP syscalls/NAME: reason".
# Exit status: 0 when nothing failed.
set -u

bindir="build/syscalls"
fnbox=""
fnbox_given=0
fnbox_args=""
label="syscalls"
names=()
while [ $# -gt 0 ]; do
    case "$1" in
    --fnbox)
        [ $# -ge 2 ] || { echo "run.sh: --fnbox needs a path" >&2; exit 2; }
        fnbox="$2"; fnbox_given=1; shift 2 ;;
    --fnbox=*) fnbox="${1#--fnbox=}"; fnbox_given=1; shift ;;
    --fnbox-args)
        [ $# -ge 2 ] || { echo "run.sh: --fnbox-args needs a value" >&2; exit 2; }
        fnbox_args="$2"; shift 2 ;;
    --fnbox-args=*) fnbox_args="${1#--fnbox-args=}"; shift ;;
    --native-only) fnbox=""; fnbox_given=1; shift ;;
    --label)
        [ $# -ge 2 ] || { echo "run.sh: --label needs a value" >&2; exit 2; }
        label="$2"; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; names+=("$@"); break ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) names+=("${1#syscalls/}"); shift ;;
    esac
done

if [ "$fnbox_given" = 0 ] && [ -x build/fnbox ]; then
    fnbox="build/fnbox"
fi
if [ -n "$fnbox" ]; then
    if [ ! -x "$fnbox" ]; then
        echo "run.sh: fnbox binary $fnbox is not executable" >&2
        exit 2
    fi
    case "$fnbox" in /*) ;; *) fnbox="$PWD/$fnbox" ;; esac
fi

jobs="${FNBOX_SYSCALLS_JOBS:-2}"
case "$jobs" in '' | *[!0-9]* | 0) jobs=2 ;; esac
limit="${FNBOX_SYSCALLS_TIMEOUT:-30}"

if [ ${#names[@]} -eq 0 ]; then
    for f in "$bindir"/*; do
        [ -f "$f" ] && [ -x "$f" ] && names+=("$(basename "$f")")
    done
    if [ ${#names[@]} -eq 0 ]; then
        echo "run.sh: no programs in $bindir (build them with make first)" >&2
        exit 2
    fi
fi

work="$(mktemp -d /tmp/fnbox-syscalls-run.XXXXXX)"
trap 'rm -rf "$work"' EXIT
absbin="$PWD/$bindir"
# shellcheck disable=SC2206
fnbox_argv=($fnbox_args)

# run_native NAME OUTFILE ERRFILE: the program in a fresh temp cwd, a minimal environment, its own
# session (so stray children can be killed as a group), stdin from /dev/null; prints exit status.
run_native() {
    local name="$1" out="$2" err="$3" cwd rc
    cwd="$(mktemp -d "$work/cwd.XXXXXX")"
    (
        cd "$cwd" || exit 125
        exec setsid env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C \
            timeout -k 5 "$limit" "$absbin/$name"
    ) </dev/null >"$out" 2>"$err" &
    local pid=$!
    wait "$pid"
    rc=$?
    kill -KILL -- "-$pid" 2>/dev/null
    rm -rf "$cwd"
    echo "$rc"
}

run_fnbox() {
    local name="$1" out="$2" err="$3" rc
    timeout -k 5 "$limit" "$fnbox" run "${fnbox_argv[@]}" --mount "$absbin:/t:ro" -- "/t/$name" \
        </dev/null >"$out" 2>"$err"
    rc=$?
    echo "$rc"
}

# Show the failing check lines of an output (or its tail), indented.
show_failures() {
    local out="$1" err="$2"
    if grep -q '^FAIL ' "$out"; then
        grep '^FAIL ' "$out" | head -n 15 | sed 's/^/    /'
    else
        tail -n 5 "$out" | sed 's/^/    | /'
    fi
    [ -s "$err" ] && tail -n 5 "$err" | sed 's/^/    stderr: /'
    return 0
}

status_word() {
    case "$1" in
    124) echo "timed out after ${limit}s" ;;
    137) echo "killed (SIGKILL) after the timeout" ;;
    *) if [ "$1" -gt 128 ]; then echo "exit $1 (signal $(($1 - 128)))"; else echo "exit $1"; fi ;;
    esac
}

# run_one INDEX NAME: writes the report for one program to $work/INDEX.out, then INDEX.done.
run_one() {
    local i="$1" name="$2" res="$work/$1.out"
    local nout="$work/$i.native" nerr="$work/$i.native.err"
    local fout="$work/$i.fnbox" ferr="$work/$i.fnbox.err"
    {
        if [ ! -x "$absbin/$name" ]; then
            echo "FAIL $label/$name: not built ($bindir/$name missing)"
        else
            local nrc frc
            nrc="$(run_native "$name" "$nout" "$nerr")"
            if [ "$nrc" = 77 ]; then
                echo "SKIP $label/$name: $(grep -m1 '^SKIP ' "$nout" | sed 's/^SKIP //')"
            elif [ "$nrc" != 0 ]; then
                echo "FAIL $label/$name: native run failed, $(status_word "$nrc") (the test is wrong)"
                show_failures "$nout" "$nerr"
            elif [ -z "$fnbox" ]; then
                echo "PASS $label/$name"
            else
                frc="$(run_fnbox "$name" "$fout" "$ferr")"
                if cmp -s "$nout" "$fout" && [ "$nrc" = "$frc" ]; then
                    echo "PASS $label/$name"
                else
                    if [ "$nrc" != "$frc" ]; then
                        echo "FAIL $label/$name: exit status native $nrc, fnbox $frc ($(status_word "$frc"))"
                    else
                        echo "FAIL $label/$name: stdout differs from native"
                    fi
                    diff -u --label native --label fnbox "$nout" "$fout" | head -n 40 | sed 's/^/    /'
                    [ -s "$ferr" ] && tail -n 5 "$ferr" | sed 's/^/    fnbox stderr: /'
                fi
            fi
        fi
    } >"$res" 2>&1
    : >"$work/$i.done"
}

total=${#names[@]}
next=0
failed=0
# Print finished reports in order, as far as they are complete.
flush_ready() {
    while [ "$next" -lt "$total" ] && [ -e "$work/$next.done" ]; do
        cat "$work/$next.out"
        grep -q '^FAIL ' "$work/$next.out" && failed=$((failed + 1))
        next=$((next + 1))
    done
}

running=0
for ((i = 0; i < total; i++)); do
    run_one "$i" "${names[$i]}" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
        flush_ready
    fi
done
wait
flush_ready

[ "$failed" -eq 0 ]
