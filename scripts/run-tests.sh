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
# A checkpoint that fails for any reason but state fnbox refuses to save (ENOTSUP) ends its
# program's run, which then fails. Programs that hold such state most of their run (an open
# /proc file: fs_proc_info, fs_proc_self) or end within the first few milliseconds
# (task_prctl) may see none of their checkpoints taken; but at least nine in ten programs must
# have gone through a restore, or the torture run would pass on the plain suite's merits.
awk -F= '{n++; if ($2 > 0) r++; else { split($1, w, " "); never = never " " w[1] } s += $2}
    END {printf "torture coverage: %d of %d programs went through at least one restore (%d restores)%s%s\n", r, n, s, never ? "; never:" : "", never
         if (n > 0 && r * 10 >= n * 9) print "PASS torture/coverage"
         else printf "FAIL torture/coverage: only %d of %d programs went through a restore (at least 9 in 10 must)\n", r, n}' "$tlog" |
    tee -a "$log"
rm -f "$tlog"
if [ -n "${FNBOX_TEST_FULL:-}" ]; then
    # make test-full: checkpoints closer together (more of them land inside a system call or a
    # fault), and torture with every task interrupted every millisecond as well.
    section "syscall conformance under checkpoint torture every 2 ms (make test-full)"
    run_suite syscalls-torture-2ms \
        tests/syscalls/run.sh --label torture-2ms --fnbox-args "--checkpoint-torture=2ms"
    section "syscall conformance under checkpoint torture and an interrupt storm (make test-full)"
    run_suite syscalls-torture-storm tests/syscalls/run.sh --label torture-storm \
        --fnbox-args "--checkpoint-torture=5ms --interrupt-storm=1ms"
    # ... and the syscall fuzzer longer, with more seeds (tests/escape/run.sh reads these).
    export FUZZ_SEEDS=${FUZZ_SEEDS:-"1 2 3 4 5 6 7 8"} FUZZ_SECONDS=${FUZZ_SECONDS:-30}
fi

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
