#!/usr/bin/env bash
# Restore -> response of two builds on one image, run by run in turn (A, B, A, B, ...) with the
# bench's untimed pause before each, so that a host whose speed drifts from minute to minute
# slows both alike: for A/B comparisons of a change, on this noisy kind of VM. Prints the
# medians and first quartiles of each, and the share of CPU time the VM's host took meanwhile.
#
#   scripts/bench/restore_ab.sh FNBOX_A FNBOX_B IMAGE [N]      N runs of each (default 21)
# Environment: BENCH_PAUSE_MS (default 100), as make bench; the event is {} on stdin and the
# answer the python example's ("hello"), as scripts/bench/fnbox_fn.sh.
set -u
[ $# -ge 3 ] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
cd "$(dirname "$0")/../.."
. scripts/bench/cpu.sh
a=$1 b=$2 img=$3 n=${4:-21}
pause=$(awk -v p="${BENCH_PAUSE_MS:-100}" 'BEGIN { print p / 1000 }')
busy0=$(busy_ticks) steal0=$(steal_ticks)
one() {
    sleep "$pause"
    build/bench/answer_ms -i '{}' '"hello"' "$1" restore "$img" | sed -n 's/^response_ms=//p'
}
runs=$(for _ in $(seq "$n"); do
    echo "A $(one "$a")"
    echo "B $(one "$b")"
done)
echo "$runs" | awk -v steal="$(steal_share "$busy0" "$steal0")" '
    NF == 2 { v[$1, ++k[$1]] = $2 }
    function stats(x,   i, j, t, m) {
        m = k[x]
        for (i = 1; i <= m; i++) s[i] = v[x, i]
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (s[j] < s[i]) { t = s[i]; s[i] = s[j]; s[j] = t }
        return sprintf("median %.2f ms, p25 %.2f ms (%d runs)", s[int((m + 1) / 2)], s[int(m / 4) + 1], m)
    }
    END { print "A " stats("A"); print "B " stats("B"); print "host steal meanwhile: " steal }'
