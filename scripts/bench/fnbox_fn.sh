#!/usr/bin/env bash
# fnbox's side of the restore -> response row of scripts/bench.sh: from the start of
# `fnbox restore` until the function's answer is on its stdout (build/bench/answer_ms: no shell
# or `date` process and not the sandbox's teardown after the answer, which an invocation does
# not wait for either). runsc_fn.sh stops its clock at the same point, polling the output file
# of its detached container.
#   fnbox_fn.sh FNBOX IMAGE     prints the answer and response_ms=
set -u
fnbox=$1 img=$2
exec "${BB:-$(dirname "$0")/../../build/bench}/answer_ms" -i '{}' '"hello"' "$fnbox" restore "$img"
