#!/usr/bin/env bash
# Run fnbox's fuzzers: the libFuzzer targets (built by `make fuzz-targets` from
# tests/fuzz/*_fuzz.c) and the in-sandbox syscall fuzzer (tests/fuzz/sysfuzz.c, run by
# tests/escape/run.sh --fuzz-only under the escape suite's host checks).
#
# Usage: scripts/fuzz.sh [--replay] [NAME...]      (from the repository root)
#   default:  fuzz each target for FUZZ_SECONDS (default 60). Seeds come from the committed
#             corpus tests/fuzz/corpus/NAME and, for targets with a seed maker (SEEDERS below),
#             from build/fuzz/seeds/NAME, made afresh on this host; new inputs go to
#             build/fuzz/corpus/NAME (copy the interesting ones into the committed corpus by
#             hand), crashes to build/fuzz/artifacts/.
#   --replay: run every seed once and stop (bounded; part of `make test`).
#   NAME...:  only these targets (also FUZZ_TARGETS="a b"); "sysfuzz" names the syscall fuzzer,
#             whose seeds come from FUZZ_SEEDS (default: one random seed, printed so that a
#             failure can be replayed with FUZZ_SEEDS=N). It is not part of --replay (make test
#             runs fixed seeds of it in the escape suite).
# Output: "PASS fuzz/NAME..." or "FAIL fuzz/NAME...: why" per target; exit status 0 when none failed.
set -u
cd "$(dirname "$0")/.."

# One line per target: NAME BINARY [LIBFUZZER-FLAGS...]. Add new targets here (and their build
# rule in the Makefile's FUZZ_BIN).
TARGETS=(
    "p9 build/fuzz/p9_fuzz -max_len=65536"
    "image build/fuzz/image_fuzz -max_len=262144"
    "serve build/fuzz/serve_fuzz -max_len=4096"
    "serve_http build/fuzz/serve_http_fuzz -max_len=65536"
)

# Seed makers: NAME PROGRAM, run as `PROGRAM build/fuzz/seeds/NAME` before each run of target
# NAME; it fails if a seed no longer reaches the check it was made for. The image seeds are made
# here, not committed: an image records its maker's CPU features, and the reader refuses a host
# without them before it looks at any section.
SEEDERS=(
    "image build/fuzz/make_image_corpus"
)

replay=0
want=()
for a in "$@"; do
    case "$a" in
    --replay) replay=1 ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $a" >&2; exit 2 ;;
    *) want+=("$a") ;;
    esac
done
[ ${#want[@]} -eq 0 ] && [ -n "${FUZZ_TARGETS:-}" ] && read -r -a want <<<"$FUZZ_TARGETS"
seconds=${FUZZ_SECONDS:-60}
failed=0

selected() {
    local n
    [ ${#want[@]} -eq 0 ] && return 0
    for n in "${want[@]}"; do [ "$n" = "$1" ] && return 0; done
    return 1
}

for t in "${TARGETS[@]}"; do
    read -r -a f <<<"$t"
    name=${f[0]} bin=${f[1]} flags=("${f[@]:2}")
    selected "$name" || continue
    seeds=(tests/fuzz/corpus/$name)
    if [ ! -x "$bin" ]; then
        echo "FAIL fuzz/$name: $bin not built (make fuzz-targets)"
        failed=1
        continue
    fi
    log=$(mktemp /tmp/fnbox-fuzz-XXXXXX)
    mkdir -p build/fuzz/artifacts
    for s in "${SEEDERS[@]}"; do
        read -r sname smaker <<<"$s"
        [ "$sname" = "$name" ] || continue
        made=build/fuzz/seeds/$name
        rm -rf "$made" && mkdir -p "$made"
        if ! "$smaker" "$made" >"$log" 2>&1; then
            echo "FAIL fuzz/${name}_seeds: $smaker $made failed$([ -x "$smaker" ] || echo " (not built: make fuzz-targets)"):"
            sed 's/^/    /' "$log" | tail -5
            rm -f "$log"
            failed=1
            continue 2
        fi
        seeds+=("$made")
    done
    nseeds=$(find "${seeds[@]}" -type f | wc -l)
    if [ "$replay" = 1 ]; then
        label="fuzz/${name}_corpus_replay"
        timeout -k 5 60 "$bin" "${flags[@]}" -runs=0 -artifact_prefix=build/fuzz/artifacts/ \
            "${seeds[@]}" >"$log" 2>&1
    else
        label="fuzz/$name"
        mkdir -p "build/fuzz/corpus/$name"
        timeout -k 10 $((seconds + 60)) "$bin" "${flags[@]}" -max_total_time="$seconds" \
            -artifact_prefix=build/fuzz/artifacts/ -print_final_stats=1 \
            "build/fuzz/corpus/$name" "${seeds[@]}" >"$log" 2>&1
    fi
    rc=$?
    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
    # A replay runs every seed file (and the empty input): fewer runs means some were not read.
    if [ "$replay" = 1 ] && [ -n "$runs" ] && [ "$runs" -lt "$nseeds" ]; then
        echo "FAIL $label: $runs inputs run of $nseeds seed files in ${seeds[*]}"
        failed=1
    elif [ $rc -eq 0 ] && [ -n "$runs" ]; then
        echo "PASS $label: $runs inputs run$([ "$replay" = 1 ] || echo " in ${seconds} s")"
    else
        echo "FAIL $label: exit status $rc; last lines of the log:"
        grep -E 'ERROR|SUMMARY|Test unit written|artifact|==[0-9]+==' "$log" | head -20 | sed 's/^/    /'
        tail -5 "$log" | sed 's/^/    /'
        failed=1
    fi
    rm -f "$log"
done

if [ "$replay" = 0 ] && selected sysfuzz; then
    fseeds=${FUZZ_SEEDS:-$((RANDOM * 32768 + RANDOM))}
    echo "== sysfuzz: seeds $fseeds, $seconds s each"
    FUZZ_SECONDS=$seconds FUZZ_SEEDS=$fseeds tests/escape/run.sh --fuzz-only || failed=1
fi
exit $failed
