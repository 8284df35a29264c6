#!/usr/bin/env bash
# CPU per warm invocation under `fnbox serve`, for A/B comparisons of two builds run
# alternately (the machine-wide figure of `make loadtest` also counts wrk and other tenants):
# starts a server on loopback with the python hello function (pool 8 / max 16), drives it
# with wrk, CONNS connections for DURATION seconds, and prints requests/s, the invocations
# that did not end "ok", and the CPU time of the server's whole process tree (a cpuacct cgroup
# v1 group of its own, joined before it starts any sandbox) per invocation.
#
#   scripts/bench/serve_cpu.sh [CONNS [DURATION]]      FNBOX=path/to/build/fnbox to pick a build
set -u
cd "$(dirname "$0")/../.."
. scripts/bench/cpu.sh
conns=${1:-4}
dur=${2:-8}
fnbox=$(realpath "${FNBOX:-build/fnbox}")
command -v wrk >/dev/null || { echo "serve_cpu: wrk is missing (apt-get install wrk)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/fnbox-serve-cpu-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
cg=$(cpuacct_group fnbox-serve-cpu-$$) # joined by the server before it starts anything
(
    [ -n "$cg" ] && echo $BASHPID >"$cg/cgroup.procs"
    exec "$fnbox" serve --listen 127.0.0.1:$port --state-dir "$tmp/state" --code-root . \
        --queue 1000
) 2>"$tmp/server.log" &
srv=$!
trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null; rm -rf "$tmp"; [ -n "$cg" ] && cpuacct_drop "$cg"' EXIT
[ -n "$cg" ] || { echo "serve_cpu: no cgroup v1 cpuacct controller to measure with" >&2; exit 1; }
for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.1; done
curl -sf -X POST "$url/v1/functions" -d '{"name":"hello","template":"python",
"code":"templates/examples/hello","handler":"main.handler","pool":{"min":8,"max":16}}' \
    >/dev/null || { echo "serve_cpu: registration failed" >&2; cat "$tmp/server.log" >&2; exit 1; }
for _ in $(seq 200); do
    [ "$(curl -s "$url/v1/functions/hello/pool" | python3 -c 'import json,sys; print(json.load(sys.stdin)["idle"])')" = 8 ] && break
    sleep 0.1
done
printf 'wrk.method = "POST"\nwrk.body = %s\n' "'{\"name\":\"wrk\"}'" >"$tmp/post.lua"
n0=$(grep -c '^{"ts"' "$tmp/server.log")
u0=$(cpuacct_ns "$cg")
rps=$(wrk -t1 -c"$conns" -d"${dur}s" -s "$tmp/post.lua" "$url/v1/functions/hello/invoke" |
      awk '/Requests\/sec/ {print $2}')
u1=$(cpuacct_ns "$cg")
n1=$(grep -c '^{"ts"' "$tmp/server.log")
bad=$(tail -n +$((n0 + 1)) "$tmp/server.log" | grep '^{"ts"' | grep -vc '"outcome": *"ok"')
python3 -c 'import sys; n = int(sys.argv[3]); print("req/s %s, invocations %d, not ok %s, CPU per invocation (server tree) %.2f ms" % (sys.argv[1], n, sys.argv[4], (int(sys.argv[2]) / 1e6) / max(n, 1)))' \
    "$rps" "$((u1 - u0))" "$((n1 - n0))" "$bad"
