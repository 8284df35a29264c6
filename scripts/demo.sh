#!/usr/bin/env bash
# `make run`: a short tour of fnbox on its built-in defaults. Every command below runs an
# unmodified host program on fnbox's application kernel.
set -u
cd "$(dirname "$0")/.."
FNBOX=build/fnbox

step() {
    printf '\n\033[1m$ %s\033[0m\n' "$*"
    "$@"
    local rc=$?
    [ $rc -ne 0 ] && printf '(exit status %d)\n' "$rc"
    return 0
}

echo "fnbox demo: programs below run in a sandbox; their system calls never reach the host."
step $FNBOX run -- /bin/busybox sh -c 'echo $((6*7)); ls /usr | wc -l'
step $FNBOX run -- /usr/bin/python3 -c 'import os, json; print(json.dumps(sorted(os.listdir("/"))))'
printf '\n\033[1m$ echo abc | %s run -- /bin/cat\033[0m\n' "$FNBOX"
echo abc | $FNBOX run -- /bin/cat
step $FNBOX run -- /bin/sh -c 'echo "pid inside: $$"; cat /proc/self/status | head -4; uname -a'
step $FNBOX run -- /bin/sh -c 'ls /root /etc/shadow 2>&1; echo "host secrets are not in the view"'
printf '\n\033[1m$ %s run --strace -- /bin/true 2>&1 | tail -5\033[0m\n' "$FNBOX"
$FNBOX run --strace -- /bin/true 2>&1 | tail -5
step $FNBOX run -- /bin/sh -c 'exit 3'
echo
echo "More: $FNBOX run --help, and README.md."
