#!/usr/bin/env bash
# Run every fnbox test and print one summary line: "N passed, N failed, N skipped".
# Called by `make test` (and `make test-full` with FNBOX_TEST_FULL=1) after the build.
# Every test program prints lines "PASS name", "FAIL name: why" or "SKIP name: why"; a test
# program that dies without reporting counts as one failure.
set -u
cd "$(dirname "$0")/.."

log=$(mktemp /tmp/fnbox-tests-XXXXXX)
# The caches `fnbox restore` keeps between runs go to a directory of this run, removed at the
# end, not to the host's /run/fnbox: the tests restore hundreds of images, and their memory
# cache entries (tmpfs: memory, up to 256 MiB) and namespace cache entries (bind mounts) would
# outlive the run by an hour. Tests that look at a cache name their own directory anyway.
caches=$(mktemp -d /dev/shm/fnbox-test-caches-XXXXXX 2>/dev/null ||
    mktemp -d /tmp/fnbox-test-caches-XXXXXX)
[ -n "$caches" ] || { echo "run-tests: cannot make a directory for the caches" >&2; exit 1; }
export FNBOX_MEM_CACHE_DIR=$caches/mem FNBOX_NS_CACHE_DIR=$caches/ns FNBOX_MEM_SPARE_DIR=$caches/spare
trap 'rm -f "$log"; umount -R -l "$caches/ns" "$caches/spare" 2>/dev/null; rm -rf "$caches"' EXIT
# Memory files handed from restore to restore want a tmpfs as the default /run/fnbox/spare is:
# huge=advise (the working set's 2 MiB pages), no size bound of its own, code mapped from it.
mkdir -m 700 "$caches/spare" &&
    mount -t tmpfs -o mode=0700,huge=advise,size=0,nosuid,nodev fnbox-test-spare "$caches/spare" ||
    echo "run-tests: no tmpfs of its own for the spare memory files ($caches/spare used as it is)" >&2

section() { printf '\n== %s\n' "$1"; }

# run_suite NAME COMMAND...: run, echo its output, keep the result lines, count a crash.
run_suite() {
    local name=$1 out rc
    shift
    out=$("$@" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    printf '%s\n' "$out" | grep -E '^(PASS|FAIL|SKIP) ' >>"$log"
    if [ $rc -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^FAIL '; then
        echo "FAIL $name: exited with status $rc without reporting a failure" | tee -a "$log"
    fi
}

section "unit tests"
for t in $(find build/unit -type f -perm -u+x 2>/dev/null | sort); do
    run_suite "unit/${t#build/unit/}" timeout -k 5 300 "$t"
done

section "syscall conformance (native and fnbox)"
run_suite syscalls tests/syscalls/run.sh

section "syscall conformance under an interrupt storm (every task interrupted every 1 ms)"
run_suite syscalls-storm tests/syscalls/run.sh --label storm --fnbox-args "--interrupt-storm=1ms"

section "syscall conformance under checkpoint torture (checkpoint, tear down, restore every few ms)"
# Every conformance program must still give its native output when its sandbox is checkpointed
# and restored into a fresh one over and over (checkpoints of state fnbox cannot save yet are
# skipped, never faked).
tlog=$(mktemp /tmp/fnbox-torture-XXXXXX)
# (Much below 5 ms a program with several processes spends most of each interval faulting its
# memory back in after the restore, and the longest ones stop making progress.)
FNBOX_TORTURE_LOG=$tlog run_suite syscalls-torture \
    tests/syscalls/run.sh --label torture --fnbox-args "--checkpoint-torture=5ms"
# Every program must have gone through at least one restore: a torture run whose checkpoints
# were all skipped (or never happened) would otherwise pass on the plain suite's merits.
awk -F= '{n++; if ($2 > 0) r++; s += $2}
    END {printf "torture coverage: %d of %d programs went through at least one restore (%d restores)\n", r, n, s
         if (n > 0 && r == n) print "PASS torture/coverage"
         else printf "FAIL torture/coverage: %d of %d programs were never restored\n", n - r, n}' "$tlog" |
    tee -a "$log"
rm -f "$tlog"

section "end-to-end: fnbox run"
run_suite e2e tests/e2e/cli_test.sh

section "end-to-end: fnbox serve (curl, urllib, awscli, boto3)"
run_suite e2e-serve timeout -k 5 900 tests/e2e/serve_test.sh
run_suite e2e-checkpoint tests/e2e/checkpoint_test.sh

section "fuzz corpus replay (each committed or generated input once, under ASan/UBSan)"
run_suite fuzz-replay scripts/fuzz.sh --replay

section "escape suite and syscall fuzzer (tests/escape/run.sh)"
run_suite escape tests/escape/run.sh

passed=$(grep -c '^PASS ' "$log")
failed=$(grep -c '^FAIL ' "$log")
skipped=$(grep -c '^SKIP ' "$log")
echo
if [ "$failed" -gt 0 ]; then
    echo "Failures:"
    grep '^FAIL ' "$log" | sed 's/^/  /'
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
