#!/usr/bin/env bash
# End-to-end tests of `fnbox run`: the examples from the README and the error cases a user meets.
# Each case prints "PASS e2e/NAME" or "FAIL e2e/NAME: why"; after every case no fnbox process
# may be left behind. Run from the repository root after `make`.
set -u

FNBOX=${FNBOX:-build/fnbox}
E2E=build/e2e
tmp=$(mktemp -d /tmp/fnbox-e2e-XXXXXX)
trap 'umount -R "$tmp/nscache/ns" 2>/dev/null; rm -rf "$tmp"' EXIT
failed=0

pass() { echo "PASS e2e/$1"; }
fail() {
    echo "FAIL e2e/$1: $2"
    failed=1
}

# Processes left behind are detected by running fnbox under reapcheck (a child subreaper: any
# Sentry, stub or Gofer that outlives the controller is reparented to it, named and killed; exit
# status 99). Counting fnbox-* processes machine-wide would also count, and kill, the sandboxes
# of everything else running on the host.
REAP=${REAP:-build/escape-tools/reapcheck}
if [ ! -x "$REAP" ]; then
    echo "FAIL e2e/setup: $REAP is not built (make $REAP)"
    exit 1
fi

# run NAME EXPECTED_STATUS -- fnbox args...; captures $out, $err, $status.
run() {
    local name=$1
    shift
    out=$(timeout -k 5 60 "$REAP" "$FNBOX" "$@" 2>"$tmp/err" <"${STDIN:-/dev/null}")
    status=$?
    err=$(cat "$tmp/err")
    if [ "$status" = 99 ] && grep -q '^reapcheck:' "$tmp/err"; then
        fail "$name" "$(grep '^reapcheck:' "$tmp/err")"
        return 1
    fi
    return 0
}

check() { # NAME CONDITION-DESCRIPTION TEST...
    local name=$1 what=$2
    shift 2
    if "$@"; then pass "$name"; else fail "$name" "$what (status $status, stdout '${out:0:200}', stderr '${err:0:300}')"; fi
}

# --- the README examples ----------------------------------------------------------------------
want_usr=$(ls /usr | wc -l)
if run busybox_sh run -- /bin/busybox sh -c 'echo $((6*7)); ls /usr | wc -l'; then
    check busybox_sh "42 and the entries of /usr" test "$status" = 0 -a "$out" = "$(printf '42\n%s' "$want_usr")"
fi

if run python_listdir run -- /usr/bin/python3 -c 'import os, json; print(json.dumps(sorted(os.listdir("/"))))'; then
    check python_listdir "a JSON list of the root with /usr, /etc, /proc, /tmp and no /root or /home" \
        python3 -c 'import json,sys; l=json.loads(sys.argv[1]); sys.exit(0 if {"usr","etc","proc","tmp","dev"} <= set(l) and not {"root","home"} & set(l) else 1)' "$out"
fi

echo abc >"$tmp/abc"
if STDIN="$tmp/abc" run stdin_cat run -- /bin/cat; then
    check stdin_cat "abc echoed back" test "$status" = 0 -a "$out" = abc
fi
if out=$(echo piped | timeout 30 "$FNBOX" run -- /bin/cat 2>"$tmp/err"); then
    status=0
    check stdin_pipe "data from a pipe echoed back" test "$out" = piped
else
    fail stdin_pipe "status $?"
fi

if run strace_ls run --strace -- /bin/ls /; then
    check strace_ls "ls output on stdout and syscalls with results on stderr" \
        bash -c '[ "$0" = 0 ] && grep -qx usr <<<"$1" && grep -q "openat(AT_FDCWD, \"/\"" <<<"$2" && grep -q "getdents64(" <<<"$2" && grep -q "exit_group(0)" <<<"$2"' \
        "$status" "$out" "$err"
fi

if run exit_status run -- /bin/sh -c 'exit 3'; then
    check exit_status "exit status 3" test "$status" = 3
fi

# --- errors ------------------------------------------------------------------------------------
if run missing_program run -- /nope; then
    check missing_program "127 and the message" test "$status" = 127 -a "$err" = "fnbox: /nope: No such file or directory"
fi

if run not_executable run -- /etc/passwd; then
    check not_executable "126 and Permission denied" bash -c '[ "$0" = 126 ] && grep -q "Permission denied" <<<"$1"' "$status" "$err"
fi

"$E2E/foreign_elf" "$tmp/arm64-prog" && chmod +x "$tmp/arm64-prog"
if run foreign_elf run --mount "$tmp:/x" -- /x/arm64-prog; then
    check foreign_elf "126 and a message naming the architecture" \
        bash -c '[ "$0" = 126 ] && grep -q "aarch64" <<<"$1" && grep -q "x86_64" <<<"$1"' "$status" "$err"
fi

if run bad_option run --no-such-option -- /bin/true; then
    check bad_option "usage and status 2" bash -c '[ "$0" = 2 ] && grep -q "Usage: fnbox run" <<<"$1"' "$status" "$err"
fi
if run missing_program_arg run; then
    check missing_program_arg "usage and status 2" bash -c '[ "$0" = 2 ] && grep -q "missing PROGRAM" <<<"$1"' "$status" "$err"
fi
if run unknown_command frobnicate; then
    check unknown_command "status 2" test "$status" = 2
fi
if run help run --help; then
    check help "usage on stdout, status 0" bash -c '[ "$0" = 0 ] && grep -q "Usage: fnbox run" <<<"$1"' "$status" "$out"
fi

if run segfault run --mount "$PWD/$E2E:/e" -- /e/segv; then
    check segfault "status 139" test "$status" = 139
fi

if run killed_by_signal run -- /bin/sh -c 'kill -TERM $$'; then
    check killed_by_signal "status 143" test "$status" = 143
fi

if run enosys run --strace --mount "$PWD/$E2E:/e" -- /e/enosys; then
    check enosys "ENOSYS returned and named by --strace" \
        bash -c '[ "$0" = 0 ] && [ "$1" = "io_setup: -1 ENOSYS" ] && grep -q "io_setup(.*) = -1 ENOSYS (not implemented in fnbox)" <<<"$2"' \
        "$status" "$out" "$err"
fi

if run bad_mount run --mount /does-not-exist:/x -- /bin/true; then
    check bad_mount "status 2 and the path named" bash -c '[ "$0" = 2 ] && grep -q "/does-not-exist" <<<"$1"' "$status" "$err"
fi

# --- the view hides host secrets ----------------------------------------------------------------
if run no_secrets run -- /bin/sh -c 'for f in /etc/shadow /etc/gshadow /root /home /etc/ssh; do [ -e $f ] && echo "visible: $f"; done; true'; then
    check no_secrets "no secret path visible" test "$status" = 0 -a -z "$out"
fi

# --- timeout ------------------------------------------------------------------------------------
if run timeout run --timeout 1s -- /bin/sh -c 'while :; do :; done'; then
    check timeout "status 124 and a message" bash -c '[ "$0" = 124 ] && grep -q "timed out" <<<"$1"' "$status" "$err"
fi

# --- docs/security.md shows the lock-down policy the code enforces --------------------------------
if why=$(FNBOX="$FNBOX" scripts/gen-security-tables.sh --check 2>&1); then
    pass confine_docs_current
else
    fail confine_docs_current "$why"
fi

# --- lock-down: what the host says about a running sandbox's processes ------------------------
# One field of /proc/PID/status.
proc_field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null; }
# Children of PID with the given command name.
children_named() { ps -o pid=,comm= --ppid "$1" | awk -v c="$2" '$2 == c {print $1}'; }
lockdown_check() {
    local ctl=$1 sentry gofer stub why="" i
    for i in $(seq 30); do # up to 3 s for the lock-down (the program sleeps 10 s)
        sentry=$(children_named "$ctl" fnbox-sentry)
        [ -n "$sentry" ] && [ "$(proc_field "$sentry" Seccomp)" = 2 ] && break
        sleep 0.1
    done
    stub=$( [ -n "$sentry" ] && children_named "$sentry" fnbox-stub | head -1)
    gofer=$(children_named "$ctl" fnbox-gofer)
    [ -n "$sentry" ] && [ -n "$gofer" ] && [ -n "$stub" ] || { echo "processes not found: sentry '$sentry' gofer '$gofer' stub '$stub'"; return 1; }
    for f in "Seccomp 2" "NoNewPrivs 1" "CapEff 0000000000000000" "CapPrm 0000000000000000" \
        "CapInh 0000000000000000" "CapBnd 0000000000000000" "CapAmb 0000000000000000"; do
        set -- $f
        [ "$(proc_field "$sentry" "$1")" = "$2" ] || why="$why sentry $1=$(proc_field "$sentry" "$1");"
    done
    # CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER and nothing else
    for f in "Seccomp 2" "NoNewPrivs 1" "CapEff 000000000000000f" "CapPrm 000000000000000f" \
        "CapBnd 0000000000000000"; do
        set -- $f
        [ "$(proc_field "$gofer" "$1")" = "$2" ] || why="$why gofer $1=$(proc_field "$gofer" "$1");"
    done
    # stubs: their own filter, no capability
    for f in "Seccomp 2" "NoNewPrivs 1" "CapEff 0000000000000000" "CapPrm 0000000000000000"; do
        set -- $f
        [ "$(proc_field "$stub" "$1")" = "$2" ] || why="$why stub $1=$(proc_field "$stub" "$1");"
    done
    [ -z "$why" ] || { echo "$why"; return 1; }
}
"$FNBOX" run -- /bin/busybox sleep 10 </dev/null >/dev/null 2>"$tmp/err" &
ctl=$!
if why=$(lockdown_check "$ctl"); then
    pass lockdown_proc_status
else
    fail lockdown_proc_status "$why"
fi
kill -INT "$ctl" 2>/dev/null
wait "$ctl" 2>/dev/null

# --- namespaces kept between runs (api/ns_cache.h), in a cache directory of this test's -----------
FNBOX_NS_CACHE_DIR=$tmp/nscache/ns run ns_cache_run_first run -vv -- /bin/echo one &&
    if [ "$status" = 0 ] && [ "$out" = one ] && grep -q "network made and kept, root made and kept" <<<"$err" && grep -q "view to build" <<<"$err" && grep -q "view kept" <<<"$err"; then
        pass ns_cache_run_first
    else
        fail ns_cache_run_first "status $status, out '$out', err '${err:0:300}'"
    fi
FNBOX_NS_CACHE_DIR=$tmp/nscache/ns run ns_cache_run_joined run -vv -- /bin/echo two &&
    if [ "$status" = 0 ] && [ "$out" = two ] && grep -q "network joined, root joined" <<<"$err" && grep -q "namespace cache: view joined" <<<"$err"; then
        pass ns_cache_run_joined
    else
        fail ns_cache_run_joined "status $status, out '$out', err '${err:0:300}'"
    fi
# Another --mount is another view: built, not the one above.
mkdir -p "$tmp/nsdata" && echo data >"$tmp/nsdata/f"
FNBOX_NS_CACHE_DIR=$tmp/nscache/ns run ns_cache_run_other_view run -vv --mount "$tmp/nsdata:/d" -- /bin/cat /d/f &&
    if [ "$status" = 0 ] && [ "$out" = data ] && grep -q "network joined, root joined" <<<"$err" && grep -q "namespace cache: view to build" <<<"$err"; then
        pass ns_cache_run_other_view
    else
        fail ns_cache_run_other_view "status $status, out '$out', err '${err:0:300}'"
    fi

exit $failed
