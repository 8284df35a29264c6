#!/usr/bin/env bash
# `make loadtest`: warm-pool invoke throughput and latency of the python hello function over
# HTTP on loopback, with wrk (Debian package). Prints wrk's latency distribution, the error
# count, the server-side split (queue / restore / run) from the server's own log, and process,
# fd and memory counts before and after. Bounded: DURATION seconds (default 10) per phase.
# Phases: paced (one connection, PACE_MS between requests: a warm invocation's latency while
# the pool keeps up), one connection flat out and CONNS connections (sustained throughput: each
# invocation costs a refill, so these measure the refill), and cold (pool min 0). Per phase, the
# CPU time per invocation: the whole machine's, and the server's process tree's (cpuacct cgroup
# v1, when it is there).
set -u
cd "$(dirname "$0")/.."
. scripts/bench/cpu.sh
FNBOX=$(realpath build/fnbox)
DURATION=${DURATION:-10}
CONNS=${CONNS:-4}
POOL=${POOL:-8}
PACE_MS=${PACE_MS:-20}
tmp=$(mktemp -d /tmp/fnbox-loadtest-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null; rm -rf "$tmp"; [ -n "$cg" ] && cpuacct_drop "$cg"' EXIT

command -v wrk >/dev/null || { echo "loadtest: wrk is missing (apt-get install wrk)" >&2; exit 1; }
# The server's process tree's CPU, if cgroup v1 has it: the server joins the group before it
# starts, so every process it ever starts is in it too; wrk is not.
cg=$(cpuacct_group fnbox-loadtest-$$)
(
    [ -n "$cg" ] && echo $BASHPID >"$cg/cgroup.procs"
    exec "$FNBOX" serve --listen 127.0.0.1:$port --state-dir "$tmp/state" --code-root . \
        --queue 1000
) 2>"$tmp/server.log" &
srv=$!
for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.1; done
curl -sf -X POST "$url/v1/functions" -d "{\"name\":\"hello\",\"template\":\"python\",\
\"code\":\"templates/examples/hello\",\"handler\":\"main.handler\",\"pool\":{\"min\":$POOL,\"max\":$((POOL * 2))}}" \
    >/dev/null || { echo "loadtest: registration failed" >&2; cat "$tmp/server.log" >&2; exit 1; }
for _ in $(seq 200); do
    [ "$(curl -s "$url/v1/functions/hello/pool" | python3 -c 'import json,sys; print(json.load(sys.stdin)["idle"])')" = "$POOL" ] && break
    sleep 0.1
done

counts() {
    local procs fds rss spare
    procs=$(pgrep -f -- "$tmp/state/" | wc -l)
    fds=$(ls /proc/$srv/fd | wc -l)
    rss=$(awk '/VmRSS/ {print $2}' /proc/$srv/status)
    spare=$(curl -s "$url/metrics" | sed -n 's/^fnbox_spare_memory_files //p')
    echo "$1: server fds $fds (of them ${spare:-?} spare memory files), server RSS ${rss} kB, sandbox processes $procs"
}

cat >"$tmp/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '{"name":"wrk"}'
wrk.headers["Content-Type"] = "application/json"
-- response() runs in each wrk thread's own Lua state and done() in the main one: each thread
-- counts in a global of its own state, and done() adds them up through the thread objects
-- setup() kept.
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args) errors = 0 end
response = function(status, headers, body)
    if status ~= 200 or not string.find(body, '"hello": "wrk"', 1, true) then errors = errors + 1 end
end
done = function(summary, latency, requests)
    local n = 0
    for _, t in ipairs(threads) do n = n + t:get("errors") end
    io.write(string.format("non-200 or wrong body: %d of %d\n", n, summary.requests))
end
EOF
: >"$tmp/server.log.mark"
counts before
# How fast the host runs this hour, which no steal figure shows on this kind of VM (the same
# build's CPU per invocation moved by 20 % between hours of 1 % steal): a native program's
# start, as make bench's python row measures it.
if [ -x build/bench/timeit ]; then
    echo "host speed reference: native /usr/bin/python3 -c pass, median of 11: $(build/bench/timeit \
        -n 11 -w 1 ::: /usr/bin/python3 -c pass | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p') ms"
fi
BUSY0=$(busy_ticks) STEAL0=$(steal_ticks)
# Each mark: the phase, the invocations logged so far, the machine's busy CPU time so far (clock
# ticks, every process: the server, the sandboxes, their refills and teardowns, wrk too).
tree() { [ -n "$cg" ] && cpuacct_ns "$cg" || echo -1; } # ns, -1 without the group
phase() { echo "$1 $(grep -c '^{"ts"' "$tmp/server.log") $(busy_ticks) $(tree)" >>"$tmp/phases"; }
sed 's/^done = /function delay() return '"$PACE_MS"' end\ndone = /' "$tmp/post.lua" >"$tmp/paced.lua"
phase paced
echo "== paced: one connection, ${PACE_MS} ms between requests (warm latency while the pool keeps up): wrk -c1 -t1 -d${DURATION}s"
wrk -c1 -t1 -d"${DURATION}s" --latency -s "$tmp/paced.lua" "$url/v1/functions/hello/invoke"
sleep 2
phase flat-out
echo "== one request at a time (latency): wrk -c1 -t1 -d${DURATION}s"
wrk -c1 -t1 -d"${DURATION}s" --latency -s "$tmp/post.lua" "$url/v1/functions/hello/invoke"
sleep 2
phase "${CONNS}-connections"
echo "== $CONNS connections (throughput with pool refill): wrk -c$CONNS -t2 -d${DURATION}s"
wrk -c"$CONNS" -t2 -d"${DURATION}s" --latency -s "$tmp/post.lua" "$url/v1/functions/hello/invoke"
sleep 3
counts after
echo "CPU time taken by the VM's host (steal) during the three warm phases: $(steal_share "$BUSY0" "$STEAL0")"
echo "== cold: pool min 0, one request at a time (each invocation restores its sandbox)"
curl -s -X PUT "$url/v1/functions/hello/pool" -d '{"min":0}' >/dev/null
sleep 1
phase cold
wrk -c1 -t1 -d"${DURATION}s" --latency -s "$tmp/post.lua" "$url/v1/functions/hello/invoke"
sleep 1 # the last refills and teardowns
phase end
echo "CPU time taken by the VM's host (steal) during the whole run: $(steal_share "$BUSY0" "$STEAL0")"
echo "== server-side split (from the invocation log; overhead = total - restore - run)"
python3 - "$tmp/server.log" "$tmp/phases" "$(getconf CLK_TCK)" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{"ts"')]
allmarks = [(l.split()[0], int(l.split()[1]), int(l.split()[2]), int(l.split()[3]))
            for l in open(sys.argv[2])]
hz = int(sys.argv[3])
marks = [(m[0], m[1]) for m in allmarks if m[0] != "end"]
def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")
for i, (name, first) in enumerate(marks):
    sel = rows[first:marks[i + 1][1] if i + 1 < len(marks) else len(rows)]
    warm = sum(1 for r in sel if r["start"] == "warm")
    print("%s: %d invocations (%d warm, %d cold)" % (name, len(sel), warm, len(sel) - warm))
    for key in ("queue_ms", "restore_ms", "run_ms", "total_ms"):
        v = [r[key] for r in sel]
        print("  %-10s p50 %8.3f ms   p99 %8.3f ms" % (key, pct(v, .5), pct(v, .99)))
    v = [r["total_ms"] - r["restore_ms"] - r["run_ms"] for r in sel]
    print("  %-10s p50 %8.3f ms   p99 %8.3f ms" % ("overhead", pct(v, .5), pct(v, .99)))
    if sel and i + 1 < len(allmarks):
        # From this phase's start to the next's: its invocations, and the refills and
        # teardowns they caused (a warm pool refills one sandbox per invocation).
        cpu = (allmarks[i + 1][2] - allmarks[i][2]) * 1000.0 / hz
        line = "  CPU per invocation, whole machine: %.1f ms" % (cpu / len(sel))
        if allmarks[i][3] >= 0 and allmarks[i + 1][3] >= 0:
            # The server's process tree alone (cpuacct cgroup): not wrk, not other tenants.
            tree = (allmarks[i + 1][3] - allmarks[i][3]) / 1e6
            line += "; the server and its sandboxes: %.1f ms" % (tree / len(sel))
        print(line)
warm = sum(1 for r in rows if r["start"] == "warm")
print("invocations %d, warm %d, cold %d, outcomes %s" % (len(rows), warm, len(rows) - warm,
      sorted(set(r["outcome"] for r in rows))))
EOF
