#!/usr/bin/env bash
# `make fuzz`: the longer fuzzing runs. Each target below runs for FUZZ_SECONDS (default 300) and
# prints PASS/FAIL lines like make test. Targets:
#   sysfuzz  random syscalls with hostile arguments inside the sandbox (tests/fuzz/sysfuzz.c),
#            under the escape suite's host checks; seeds from FUZZ_SEEDS (default: one random
#            seed, printed so that a failure can be replayed with FUZZ_SEEDS=N).
set -u
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-300}
seeds=${FUZZ_SEEDS:-$((RANDOM * 32768 + RANDOM))}
status=0

echo "== sysfuzz: seeds $seeds, $seconds s each"
FUZZ_SECONDS=$seconds FUZZ_SEEDS=$seeds tests/escape/run.sh --fuzz-only || status=1

exit $status
