#!/usr/bin/env bash
# End-to-end tests of `fnbox run`: the examples from the README and the error cases a user meets.
# Each case prints "PASS e2e/NAME" or "FAIL e2e/NAME: why"; after every case no fnbox process
# may be left behind. Run from the repository root after `make`.
set -u

# Run as a child subreaper (preserved across exec): a sandbox process our cases leave behind is
# reparented to this shell, so the stray check below sees only ours. Counting every fnbox
# process on the machine instead failed (and killed) other users' concurrent test runs.
if [ -z "${FNBOX_E2E_SUBREAPER:-}" ]; then
    exec env FNBOX_E2E_SUBREAPER=1 python3 -c 'import ctypes, os, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
os.execv("/bin/bash", ["bash"] + sys.argv[1:])' "$0" "$@"
fi

FNBOX=${FNBOX:-build/fnbox}
E2E=build/e2e
tmp=$(mktemp -d /tmp/fnbox-e2e-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failed=0

pass() { echo "PASS e2e/$1"; }
fail() {
    echo "FAIL e2e/$1: $2"
    failed=1
}


# Our fnbox processes (descendants of this shell, zombies excluded: they are dead and only wait
# for a parent), one pid per line.
stray_pids() {
    ps -eo pid=,ppid=,stat=,comm= | awk -v root=$$ '
        { ppid[$1] = $2; st[$1] = $3; comm[$1] = $4 }
        END {
            for (p in ppid) {
                if (st[p] ~ /^Z/ || comm[p] !~ /^fnbox-(sentry|gofer|stub)$/) continue
                q = p
                for (i = 0; i < 64 && (q in ppid) && q != root && q > 1; i++) q = ppid[q]
                if (q == root) print p
            }
        }'
}
strays() { stray_pids | wc -l; }

# run NAME EXPECTED_STATUS -- fnbox args...; captures $out, $err, $status.
run() {
    local name=$1
    shift
    out=$(timeout -k 5 60 "$FNBOX" "$@" 2>"$tmp/err" <"${STDIN:-/dev/null}")
    status=$?
    err=$(cat "$tmp/err")
    local n
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        n=$(strays)
        [ "$n" = 0 ] && break
        sleep 0.2
    done
    if [ "$n" != 0 ]; then
        fail "$name" "$n fnbox processes left behind"
        stray_pids | xargs -r kill -9
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

exit $failed
