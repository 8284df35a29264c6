#!/usr/bin/env bash
# End-to-end tests of `fnbox serve` with clients nobody here wrote: curl, Python's urllib, the
# Debian awscli and python3-boto3 packages (dummy credentials) against the Lambda-compatible
# paths. Each case prints "PASS serve/NAME" or "FAIL serve/NAME: why". Run from the repository
# root after `make`. The leak test runs 10 000 invocations (FNBOX_SERVE_LEAK_N to change it).
set -u

FNBOX=${FNBOX:-build/fnbox}
FNBOX=$(realpath "$FNBOX")
AWS=/usr/bin/aws
PY=/usr/bin/python3
tmp=$(mktemp -d /tmp/fnbox-serve-e2e-XXXXXX)
state=$tmp/state
codedir=$tmp/code
srv_pid=
failed=0
export AWS_ACCESS_KEY_ID=fnbox-test AWS_SECRET_ACCESS_KEY=x AWS_DEFAULT_REGION=us-east-1
export AWS_PAGER="" AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE=/dev/null

pass() { echo "PASS serve/$1"; }
fail() {
    echo "FAIL serve/$1: $2"
    failed=1
}
check() { # NAME WHAT TEST... (a single TEST argument is a shell expression, evaluated)
    local name=$1 what=$2 ok
    shift 2
    if [ $# = 1 ]; then eval "$1" && ok=1 || ok=0; else "$@" && ok=1 || ok=0; fi
    if [ $ok = 1 ]; then pass "$name"; else fail "$name" "$what (status $code, body '${body:0:300}')"; fi
}

# Every process of a server started here carries the state directory on its command line
# (restores name an image under it; Sentry and Gofer are forks of those).
sandboxes() { pgrep -f -- "$state/" | grep -vx "${srv_pid:-none}" | wc -l; }

cleanup() {
    [ -n "$srv_pid" ] && kill -9 "$srv_pid" 2>/dev/null
    pkill -9 -f -- "$state/" 2>/dev/null
    [ -n "${demo_pid:-}" ] && kill -9 "$demo_pid" 2>/dev/null
    pkill -9 -f -- "$tmp/demo-state" 2>/dev/null # make run's server and sandboxes
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_server [extra args]: starts fnbox serve on a free port, waits for /healthz.
start_server() {
    port=$(free_port)
    url=http://127.0.0.1:$port
    "$FNBOX" serve --listen 127.0.0.1:$port --state-dir "$state" --code-root "$codedir" \
        --max-body 256k --queue 2 --queue-timeout 5s --drain-timeout 10s "$@" \
        >>"$tmp/server.log" 2>&1 &
    srv_pid=$!
    for _ in $(seq 100); do
        curl -sf "$url/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

stop_server() { # waits for a clean exit; sets stop_status
    kill -TERM "$srv_pid" 2>/dev/null
    for _ in $(seq 200); do
        kill -0 "$srv_pid" 2>/dev/null || break
        sleep 0.1
    done
    wait "$srv_pid" 2>/dev/null
    stop_status=$?
    srv_pid=
}

# req METHOD PATH [curl args...]: sets $code, $body and $hdrs (lower-cased header lines).
req() {
    local m=$1 p=$2
    shift 2
    code=$(curl -s -o "$tmp/body" -D "$tmp/hdrs" -w '%{http_code}' -X "$m" "$@" "$url$p")
    body=$(cat "$tmp/body")
    hdrs=$(sed 's/^[^:]*/\L&/' "$tmp/hdrs" | tr -d '\r')
}
hdr() { printf '%s\n' "$hdrs" | sed -n "s/^$1: //p" | head -1; }
metric() { # NAME [curl args...]: a metric without labels from /metrics
    local name=$1
    shift
    curl -s "$@" "$url/metrics" | sed -n "s/^$name //p"
}
jget() { printf '%s' "$body" | $PY -c "import json,sys; d=json.load(sys.stdin); print(eval('d'+sys.argv[1]))" "$1" 2>/dev/null; }

# ---- functions used below ---------------------------------------------------------------------
mkdir -p "$codedir"
# The command line's memory cache (api/mem_cache.h) in a directory of this test's: the images the
# server builds must leave nothing there (the server holds their memory itself).
export FNBOX_MEM_CACHE_DIR=$tmp/memcache
mkdir -m 700 "$FNBOX_MEM_CACHE_DIR"
cp -r templates/examples/hello "$codedir/hello"
mkdir -p "$codedir/boom" "$codedir/slow" "$codedir/logger" "$codedir/hog" "$codedir/v1" "$codedir/v2" "$codedir/broken" "$codedir/walker"
printf 'def handler(event, context):\n    raise ValueError("boom: " + str(event.get("n")))\n' >"$codedir/boom/main.py"
cat >"$codedir/slow/main.py" <<'EOF'
import time
def handler(event, context):
    time.sleep(event.get("sleep", 1.0))
    return {"slept": event.get("sleep", 1.0)}
EOF
cat >"$codedir/logger/main.py" <<'EOF'
import sys
def handler(event, context):
    for i in range(300):
        print("log line %d" % i, file=sys.stderr)
    print("the end of the log", file=sys.stderr)
    if event.get("pad"):
        return {"logged": True, "pad": "x" * event["pad"]}
    return {"logged": True}
EOF
printf 'def handler(event, context):\n    x = bytearray(event.get("mb", 200) << 20)\n    return {"n": len(x)}\n' >"$codedir/hog/main.py"
# Fresh memory must read zero, whatever an earlier invocation left in the memory file a
# restore was handed (fnbox serve reuses them): each invocation checks, then dirties it.
cp -r tests/e2e/functions/dirty_memory "$codedir/dirty"
cp -r tests/e2e/functions/context "$codedir/context"
printf 'import time\ndef handler(event, context):\n    time.sleep(event.get("sleep", 0))\n    return {"version": 1}\n' >"$codedir/v1/main.py"
printf 'def handler(event, context):\n    return {"version": 2}\n' >"$codedir/v2/main.py"
printf 'import no_such_module_here\ndef handler(event, context):\n    return 1\n' >"$codedir/broken/main.py"
# Memory made at import (so in the image) that only an event with "walk" touches.
cat >"$codedir/walker/main.py" <<'EOF'
BIG = [str(i) * 8 for i in range(60000)]
def handler(event, context):
    return {"n": sum(len(s) for s in BIG) if event.get("walk") else 0}
EOF

register() { # NAME DIR [json extra]
    req POST /v1/functions -H 'Content-Type: application/json' \
        -d "{\"name\":\"$1\",\"template\":\"python\",\"code\":\"$2\",\"handler\":\"main.handler\"${3:+,$3}}"
}

# ---- start ------------------------------------------------------------------------------------
code=0 body=
if "$FNBOX" serve --help | grep -q -- '--state-dir'; then pass help; else fail help "no --help text"; fi
"$FNBOX" serve --listen nonsense >/dev/null 2>&1
st=$?
if [ $st = 2 ]; then pass bad_option; else fail bad_option "exit status $st, expected 2"; fi

if ! start_server; then
    fail start "the server did not answer /healthz"; cat "$tmp/server.log"; exit 1
fi
pass start

req GET /healthz
check healthz "200 {status:ok}" [ "$code" = 200 -a "$(jget "['status']")" = ok ]

# ---- registration -----------------------------------------------------------------------------
register hello hello '"memory_mb":128,"timeout_ms":3000,"pool":{"min":2}'
ck_ms=$(grep -o '"checkpoint_ms":[^,}]*' <<<"$body")
check register "201 with image size and checkpoint time (in ms, one decimal: $ck_ms)" \
    [ "$code" = 201 -a "$(jget "['image']['size_bytes'] > 0")" = True -a "$(jget "['image']['checkpoint_ms'] > 0")" = True -a "$(jget "['pool']['min']")" = 2 -a -n "$(grep -E '^"checkpoint_ms":[0-9]+\.[0-9]$' <<<"$ck_ms")" ]
register hello hello
check register_duplicate "409 conflict" \
    [ "$code" = 409 -a "$(jget "['error']['code']")" = conflict ]
register outside /etc
check register_outside_code_root "400 naming --code-root" \
    '[ "$code" = 400 ] && [[ "$body" == *code-root* ]]'
register broken broken
check register_import_error "422 with the import error" \
    '[ "$code" = 422 ] && [[ "$body" == *"failed"* ]]'
req GET /v1/functions/broken
check failed_build_not_registered "404" [ "$code" = 404 ]
# The training run's event decides the working set kept in the image (fnbox inspect --json).
ws_pages() { "$FNBOX" inspect --json "$1" | $PY -c 'import json,sys; print(json.load(sys.stdin)["working_set_pages"])'; }
register walker_default walker
ws_default=$(ws_pages "$(jget "['image']['path']")")
register walker walker '"train_event":{"walk":true}'
ws_walk=$(ws_pages "$(jget "['image']['path']")")
check train_event "201, kept in the description; working set $ws_default pages trained on {}, $ws_walk on the event" \
    [ "$code" = 201 -a "$(jget "['train_event']['walk']")" = True -a "${ws_walk:-0}" -gt $((${ws_default:-0} + 300)) ]
# Each answer says how many pages it read from the image beyond its working set (cold starts
# here: pool min 0), and the metrics sum them.
req POST /v1/functions/walker_default/invoke -d '{"walk":true}'
pages_default=$(hdr x-fnbox-image-pages)
req POST /v1/functions/walker/invoke -d '{"walk":true}'
pages_walk=$(hdr x-fnbox-image-pages)
check train_event_invoke "the trained function answers, reading $pages_walk pages beyond its working set (untrained: $pages_default)" \
    [ "$code" = 200 -a "$(jget "['n']")" = 2311120 -a "${pages_default:-0}" -gt 300 -a "${pages_walk:-999}" -lt 50 ]
# Several events: one training run each, the working set their union.
register walker2 walker '"train_events":[{"name":"x"},{"walk":true}]'
check train_events "201, both kept in the description" [ "$code" = 201 -a "$(jget "['train_events'].__len__()")" = 2 ]
req POST /v1/functions/walker2/invoke -d '{"walk":true}'
check train_events_invoke "the second event's path read $(hdr x-fnbox-image-pages) pages beyond the working set" \
    [ "$code" = 200 -a "$(jget "['n']")" = 2311120 -a "$(hdr x-fnbox-image-pages)" -lt 50 ]
req DELETE /v1/functions/walker2
req GET /metrics
check image_pages_metric "fnbox_image_pages_total of the untrained function" \
    '[ -n "$pages_default" ] && grep -qxF "fnbox_image_pages_total{function=\"walker_default\"} $pages_default" <<<"$body"'
check train_hint "the server's log says once what would help the untrained function, nothing for the trained one" \
    '[ "$(grep -c "function walker_default: an invocation read [0-9]* memory pages beyond" "$tmp/server.log")" = 1 ] && ! grep -q "function walker: an invocation read" "$tmp/server.log"'
req DELETE /v1/functions/walker_default
req POST /v1/functions -d '{"name":"ok","template":"python","code":"hello","handler":"main.handler","train_event":"'"$(printf '%070000d' 0)"'"}'
check train_event_too_long "400 naming train_event" '[ "$code" = 400 ] && [[ "$body" == *train_event* ]]'
req POST /v1/functions -d '{"name":"x","template":"python"'
check bad_json "400 JSON error" [ "$code" = 400 -a "$(jget "['error']['code']")" = bad_request ]
req POST /v1/functions -d '{"name":"../etc","template":"python","code":"hello","handler":"main.handler"}'
check bad_name_in_body "400" [ "$code" = 400 ]
req POST /v1/functions -d '{"name":"ok","template":"cobol","code":"hello","handler":"main.handler"}'
check bad_template "400" '[ "$code" = 400 ] && [[ "$body" == *template* ]]'
req POST /v1/functions -d '{"name":"ok","template":"python","code":"hello","handler":"main.handler","memory_mb":"lots"}'
check bad_type "400 naming memory_mb" '[ "$code" = 400 ] && [[ "$body" == *memory_mb* ]]'
req GET '/v1/functions/bad%20name'
check bad_name_in_path "400" [ "$code" = 400 ]
req GET /v1/nothing
check unknown_path "404 JSON" [ "$code" = 404 -a "$(jget "['error']['code']")" = not_found ]
req DELETE /v1/functions
check wrong_method "405" [ "$code" = 405 ]
head -c 300000 /dev/zero | tr '\0' 'a' >"$tmp/big"
req POST /v1/functions/hello/invoke --data-binary @"$tmp/big"
check body_too_large "413" [ "$code" = 413 -a "$(jget "['error']['code']")" = payload_too_large ]

for f in boom slow logger hog; do register $f $f '"timeout_ms":3000' >/dev/null; done
register v v1 '"pool":{"min":1}'
req GET /v1/functions
check list "five functions plus hello and walker" [ "$code" = 200 -a "$(jget "['functions'].__len__()")" = 7 ]

# ---- invoke -----------------------------------------------------------------------------------
for _ in $(seq 50); do
    req GET /v1/functions/hello/pool
    [ "$(jget "['idle']")" = 2 ] && break
    sleep 0.1
done
check pool_warms_up "2 idle sandboxes" [ "$(jget "['idle']")" = 2 ]
# The pools' sandboxes (Sentry and Gofer of each, at least hello's two) share one network
# namespace the server made, which is not the host's.
netns=$(for p in $(pgrep -f -- "$state/" | grep -vx "$srv_pid"); do
    case "$(cat /proc/$p/comm 2>/dev/null)" in fnbox-sentry | fnbox-gofer) readlink /proc/$p/ns/net ;; esac
done | sort | uniq -c)
check shared_netns "one network namespace for the pool's Sentries and Gofers, not the host's ($netns)" \
    '[ "$(wc -l <<<"$netns")" = 1 ] && [ "$(awk "{print \$1}" <<<"$netns")" -ge 4 ] && [ "$(awk "{print \$2}" <<<"$netns")" != "$(readlink /proc/self/ns/net)" ]'
# ... and one mount namespace (an empty read-only root) for the pools' Sentries, not the host's.
mntns=$(for p in $(pgrep -f -- "$state/" | grep -vx "$srv_pid"); do
    [ "$(cat /proc/$p/comm 2>/dev/null)" = fnbox-sentry ] && readlink /proc/$p/ns/mnt
done | sort | uniq -c)
check shared_empty_root "one mount namespace for the pool's Sentries, not the host's ($mntns)" \
    '[ "$(wc -l <<<"$mntns")" = 1 ] && [ "$(awk "{print \$1}" <<<"$mntns")" -ge 2 ] && [ "$(awk "{print \$2}" <<<"$mntns")" != "$(readlink /proc/self/ns/mnt)" ]'
# fd hygiene: only the controller holds its ready pipe (a Sentry or Gofer writing "exit 0" on
# it would end an invocation early); the Gofer does not hold the request and response pipes.
ctl=$(pgrep -P "$srv_pid" -f -- "restore .*$state/" | head -1)
ready=$(readlink /proc/$ctl/fd/3)
leaks=$(for c in $(pgrep -P "$ctl"); do
    for f in /proc/$c/fd/*; do
        t=$(readlink "$f")
        [ "$t" = "$ready" ] && echo "$(cat /proc/$c/comm):$f"
        [ "$(cat /proc/$c/comm)" = fnbox-gofer ] && case "$f" in */fd/0 | */fd/1) [ "$t" = /dev/null ] || echo "gofer:$f=$t" ;; esac
    done
done)
check sandbox_fds "no ready pipe in the Sentry or Gofer, the Gofer's stdin/stdout /dev/null (controller $ctl, ready $ready; $leaks)" \
    '[ -n "$ctl" ] && [ "${ready#pipe:}" != "$ready" ] && [ -z "$leaks" ] && [ "$(pgrep -P "$ctl" | wc -l)" = 2 ]'

req POST /v1/functions/hello/invoke -d '{"name":"ada"}'
check invoke "200 {hello: ada}, warm" \
    [ "$code" = 200 -a "$(jget "['hello']")" = ada -a "$(hdr x-fnbox-start)" = warm ]
check invoke_headers "queue/restore/run durations and outcome" \
    [ -n "$(hdr x-fnbox-queue-ms)" -a -n "$(hdr x-fnbox-restore-ms)" -a -n "$(hdr x-fnbox-run-ms)" -a "$(hdr x-fnbox-outcome)" = ok ]
req POST /v1/functions/hello/invoke
check invoke_empty_event "200 {hello: world}" [ "$code" = 200 -a "$(jget "['hello']")" = world ]
# After those two invocations the pool refilled: the refills' Gofers joined the view the
# first ready sandbox of the image built (one mount namespace, not the host's) instead of
# building their own.
for _ in $(seq 50); do
    req GET /v1/functions/hello/pool
    [ "$(jget "['idle']")" = 2 ] && break
    sleep 0.1
done
views=$(for p in $(pgrep -f -- "$state/images/hello-"); do
    [ "$(cat /proc/$p/comm 2>/dev/null)" = fnbox-gofer ] && readlink /proc/$p/ns/mnt
done | sort | uniq -c | sort -rn)
check shared_view "the refilled Gofers of hello share one view ($views)" \
    '[ "$(head -1 <<<"$views" | awk "{print \$1}")" -ge 2 ] && [ "$(head -1 <<<"$views" | awk "{print \$2}")" != "$(readlink /proc/self/ns/mnt)" ]'
req POST /v1/functions/boom/invoke -d '{"n":7}'
check cold_start "cold header and a restore time" \
    '[ "$(hdr x-fnbox-start)" = cold ] && [ "$(hdr x-fnbox-restore-ms)" != 0.000 ]'
check function_error "200 + X-Fnbox-Function-Error + errorType" \
    '[ "$code" = 200 -a "$(hdr x-fnbox-function-error)" = Unhandled -a "$(jget "['\''errorType'\'']")" = ValueError ] && [[ "$body" == *"boom: 7"* ]]'
req POST /v1/functions/nope/invoke -d '{}'
check invoke_missing "404" [ "$code" = 404 ]

t0=$(date +%s%N)
req POST '/v1/functions/slow/invoke?timeout_ms=400' -d '{"sleep":5}'
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check timeout "outcome timeout, 200 with function error, within 3 s" \
    [ "$code" = 200 -a "$(hdr x-fnbox-outcome)" = timeout -a "$(hdr x-fnbox-function-error)" = Unhandled -a "$(hdr x-fnbox-timeout-ms)" = 400 -a $ms -lt 3000 ]
req POST '/v1/functions/slow/invoke?timeout_ms=abc' -d '{}'
check bad_timeout "400" [ "$code" = 400 ]
req POST '/v1/functions/hog/invoke?memory_mb=64' -d '{"mb":200}'
check memory_limit "outcome out_of_memory with memory_mb reported" \
    [ "$code" = 200 -a "$(hdr x-fnbox-outcome)" = out_of_memory -a "$(hdr x-fnbox-memory-mb)" = 64 ]
req POST /v1/functions/hog/invoke -d '{"mb":16}'
check memory_ok "a small allocation passes" [ "$code" = 200 -a "$(hdr x-fnbox-outcome)" = ok ]
# The python context's memory_limit_in_mb is the limit the invocation runs under: the
# function's memory_mb from a warm sandbox, an invocation's own memory_mb from its dedicated one.
register context context '"memory_mb":160,"pool":{"min":1}' >/dev/null
req POST /v1/functions/context/invoke -d '{}'
ctx_fn=$(jget "['memory_limit_in_mb']") ctx_name=$(jget "['function_name']")
req POST '/v1/functions/context/invoke?memory_mb=96' -d '{}'
ctx_inv=$(jget "['memory_limit_in_mb']")
check context_memory "context.memory_limit_in_mb: the function's 160 ($ctx_fn), the invocation's 96 ($ctx_inv); function_name $ctx_name" \
    [ "$ctx_fn" = 160 -a "$ctx_inv" = 96 -a "$ctx_name" = context ]
req DELETE /v1/functions/context
register dirty dirty '"pool":{"min":2}' >/dev/null
reused0=$(metric fnbox_memory_files_reused_total)
dirty_ok=0 one_each=0
for i in $(seq 12); do
    req POST /v1/functions/dirty/invoke -d '{"mb":8}'
    [ "$code" = 200 ] && [ "$(jget "['clean']")" = True ] && dirty_ok=$((dirty_ok + 1))
    [ "$code" = 200 ] && [ "$(jget "['calls']")" = 1 ] && [ "$(jget "['tmp_seen']")" = False ] &&
        one_each=$((one_each + 1))
done
reused1=$(metric fnbox_memory_files_reused_total)
check memory_reuse "12 invocations, each finding its fresh memory zero ($dirty_ok), restores given earlier sandboxes' memory files (${reused0:-?} -> ${reused1:-?})" \
    '[ $dirty_ok = 12 ] && [ "${reused1:-0}" -gt "${reused0:-0}" ]'
check one_invocation_per_sandbox "the same 12: each the first its sandbox served (call count 1, nothing left in /tmp): $one_each of 12" \
    [ $one_each = 12 ]
req DELETE /v1/functions/dirty
req POST /v1/functions/logger/invoke -H 'X-Fnbox-Log: tail' -d '{}'
tail_txt=$(hdr x-fnbox-log-tail | base64 -d 2>/dev/null)
check log_tail "base64 tail of stderr, at most 4 KB, ending with the last line" \
    '[ "$code" = 200 -a ${#tail_txt} -le 4096 -a ${#tail_txt} -gt 1000 ] && [[ "$tail_txt" == *"the end of the log"* ]]'
# The answer is taken when the sandbox reports its exit, before its teardown: an answer many
# pipe buffers long, written while the log fills the other pipe, still arrives whole.
req POST /v1/functions/logger/invoke -H 'X-Fnbox-Log: tail' -d '{"pad":1000000}'
tail_txt=$(hdr x-fnbox-log-tail | base64 -d 2>/dev/null)
check big_answer "a 1 MB answer and the log, both complete" \
    '[ "$code" = 200 ] && [ "$(jget "['\''pad'\''].__len__()")" = 1000000 ] && [[ "$tail_txt" == *"the end of the log"* ]]'

# urllib: a client library of the standard distribution, not curl
out=$($PY - "$url" <<'EOF'
import json, sys, urllib.request
url = sys.argv[1]
r = urllib.request.urlopen(urllib.request.Request(url + "/v1/functions/hello/invoke",
        data=json.dumps({"name": "urllib"}).encode(), method="POST",
        headers={"Content-Type": "application/json"}))
print(r.status, json.load(r)["hello"], r.headers["X-Fnbox-Outcome"])
try:
    urllib.request.urlopen(url + "/v1/functions/nope")
except urllib.error.HTTPError as e:
    print(e.code, json.load(e)["error"]["code"])
EOF
)
check urllib "200 urllib ok / 404 not_found" [ "$out" = "200 urllib ok
404 not_found" ]

# ---- pools and queueing -----------------------------------------------------------------------
req PUT /v1/functions/hello/pool -d '{"min":3,"max":5}'
check pool_put "200 with min 3 max 5" \
    [ "$code" = 200 -a "$(jget "['min']")" = 3 -a "$(jget "['max']")" = 5 ]
req PUT /v1/functions/hello/pool -d '{"min":6,"max":5}'
check pool_put_invalid "400" [ "$code" = 400 ]
for _ in $(seq 50); do
    req GET /v1/functions/hello/pool
    [ "$(jget "['idle']")" = 3 ] && break
    sleep 0.1
done
check pool_refills "3 idle after raising min" [ "$(jget "['idle']")" = 3 ]

req PUT /v1/functions/slow/pool -d '{"min":0,"max":1}'
qpids=
for i in 1 2 3 4 5 6; do
    curl -s -o /dev/null -D "$tmp/q$i" -X POST "$url/v1/functions/slow/invoke" -d '{"sleep":1.5}' &
    qpids="$qpids $!"
done
wait $qpids
n429=$(grep -l '^HTTP/1.1 429' "$tmp"/q? | wc -l)
n200=$(grep -l '^HTTP/1.1 200' "$tmp"/q? | wc -l)
ra=$(cat "$tmp"/q? | tr -d '\r' | grep -i '^retry-after:' | head -1)
check queue_429 "max 1 and queue 2: some 200, some 429 with Retry-After ($n200 ok, $n429 throttled)" \
    [ "$n429" -ge 1 -a "$n200" -ge 2 -a -n "$ra" ]

# ---- code update while an invocation runs on the old image -----------------------------------
old_img=$(curl -s "$url/v1/functions/v" | $PY -c 'import json,sys; print(json.load(sys.stdin)["image"]["path"])')
curl -s -o "$tmp/old_out" -X POST "$url/v1/functions/v/invoke" -d '{"sleep":2}' &
inflight=$!
sleep 0.7
req PUT /v1/functions/v/code -d '{"code":"v2"}'
check code_update "200 with a new image generation" \
    '[ "$code" = 200 ] && [ "$(jget "['\''image'\'']['\''path'\'']")" != "$old_img" ]'
req POST /v1/functions/v/invoke -d '{}'
check code_update_new "new invocations run version 2" [ "$(jget "['version']")" = 2 ]
wait $inflight
body=$(cat "$tmp/old_out")
check code_update_inflight "the in-flight invocation finished on version 1" \
    [ "$(jget "['version']")" = 1 ]
sleep 0.3
check old_image_released "the old image file is deleted once unused" [ ! -e "$old_img" ]

# ---- archives ---------------------------------------------------------------------------------
mkdir -p "$tmp/zipsrc" && printf 'def handler(e, c):\n    return {"zipped": e.get("x")}\n' >"$tmp/zipsrc/app.py"
(cd "$tmp/zipsrc" && zip -q "$tmp/fn.zip" app.py)
req POST '/v1/functions?name=zipped&template=python&handler=app.handler' \
    -H 'Content-Type: application/zip' --data-binary @"$tmp/fn.zip"
check zip_upload "201" [ "$code" = 201 ]
req POST /v1/functions/zipped/invoke -d '{"x":5}'
check zip_invoke "runs the uploaded code" [ "$(jget "['zipped']")" = 5 ]
$PY - "$tmp/evil.zip" "$tmp/link.tar" <<'EOF'
import sys, zipfile, tarfile, io
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("../../escaped.py", "x = 1\n")
with tarfile.open(sys.argv[2], "w") as t:
    i = tarfile.TarInfo("app.py"); i.type = tarfile.SYMTYPE; i.linkname = "/etc/shadow"; t.addfile(i)
EOF
req POST '/v1/functions?name=evil&template=python&handler=app.handler' \
    -H 'Content-Type: application/zip' --data-binary @"$tmp/evil.zip"
check zip_dotdot "400 and nothing written outside" \
    '[ "$code" = 400 ] && ! ls "$state"/../escaped.py "$state"/escaped.py 2>/dev/null'
req POST '/v1/functions?name=evil&template=python&handler=app.handler' \
    -H 'Content-Type: application/x-tar' --data-binary @"$tmp/link.tar"
check tar_symlink "400 (no links)" '[ "$code" = 400 ] && [[ "$body" == *link* ]]'
b64=$(base64 -w0 "$tmp/fn.zip")
req PUT /v1/functions/hello/code -d "{\"code_archive\":\"$b64\",\"handler\":\"app.handler\"}"
req POST /v1/functions/hello/invoke -d '{"x":"b64"}'
check code_archive_json "PUT code with a base64 archive" [ "$(jget "['zipped']")" = b64 ]
req PUT /v1/functions/hello/code -d '{"code":"hello","handler":"main.handler"}'

# ---- images and restore -----------------------------------------------------------------------
img=$(curl -s "$url/v1/functions/zipped" | $PY -c 'import json,sys; print(json.load(sys.stdin)["image"]["path"])')
cp "$img" "$tmp/copy.img"
req POST '/v1/images?name=fromimage' -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/copy.img"
check image_upload "201" [ "$code" = 201 -a "$(jget "['template']")" = image ]
# An image that names a host directory the server did not make (here /etc, read-write) would
# get it served at restore: refused at upload.
mkdir -p "$tmp/hostdir"
"$FNBOX" checkpoint --mount "$tmp/hostdir:/host:rw" -o "$tmp/hostile.img" -- /bin/sh -c 'read x' 2>/dev/null
req POST '/v1/images?name=hostile' -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/hostile.img"
check image_foreign_mount "400 naming the host directory" '[ "$code" = 400 ] && [[ "$body" == *hostdir* ]]'
# Hand-edited images (checksums fixed): a path that climbs out of the server's code directory
# at its end ("CODE//////.."), as a mount and as the code directory that restores walk.
cpath=$("$FNBOX" inspect --json "$tmp/copy.img" | $PY -c 'import json,sys; print(json.load(sys.stdin)["code"])')
climb=$($PY -c 'import sys; p = sys.argv[1]; b, last = p.rsplit("/", 1); print(b + "/" * (len(last) - 1) + "..")' "$cpath")
cp "$tmp/copy.img" "$tmp/climb-mount.img"
$PY tests/e2e/image_patch.py "$tmp/climb-mount.img" meta '#2' "$cpath" "$climb" # the mount, not "code"
req POST '/v1/images?name=climbmount' -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/climb-mount.img"
check image_mount_climbs_out "400: a mount ending in /.. out of the code directory" '[ "$code" = 400 ] && [[ "$body" == *"may only use"* ]]'
cp "$tmp/copy.img" "$tmp/climb-code.img"
$PY tests/e2e/image_patch.py "$tmp/climb-code.img" meta code "$cpath" "$climb"
req POST '/v1/images?name=climbcode' -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/climb-code.img"
check image_code_climbs_out "400: a code directory out of the code directory" '[ "$code" = 400 ] && [[ "$body" == *"may only name code"* ]]'
head -c 5000 /dev/urandom >"$tmp/garbage.img"
req POST '/v1/images?name=garbage' -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/garbage.img"
check image_invalid "400 naming the problem" '[ "$code" = 400 ] && [[ "$body" == *"not valid"* ]]'
# A page reference table with a zero count, checksums fixed: refused at upload by name, not
# accepted to fail every restore later.
cp "$tmp/copy.img" "$tmp/zeroref.img"
$PY -c 'import sys; sys.path[:0] = ["tests/e2e"]; import imagelib; imagelib.zero_first_page_ref(sys.argv[1])' "$tmp/zeroref.img"
req POST '/v1/images?name=zeroref' -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/zeroref.img"
check image_page_refs "400 naming the page reference table" '[ "$code" = 400 ] && [[ "$body" == *"page reference table"* ]]'
# Crafted images whose checksums are all valid: seeded mutations of the kernel state and of the
# tables describing the memory (reference counts, hot pages' renumbering, working set). Each is
# refused at upload (400) or registered; each registered one restores or fails that one
# request; the server stays up, and the functions registered before still answer.
mkdir -p "$tmp/mut"
for sec in kernel pagerefs pagemap workingset; do
    rm -f "$tmp/mut"/*.img
    $PY tests/e2e/image_mutate.py --write "$tmp/mut" "$tmp/copy.img" 6 20261203 $sec
    for f in "$tmp/mut"/*.img; do
        n=mut-$sec-$(basename "$f" .img)
        req POST "/v1/images?name=$n" -H 'Content-Type: application/octet-stream' --data-binary @"$f"
        echo "$sec $(basename "$f"): upload $code" >>"$tmp/mut/log"
        if [ "$code" = 201 ]; then
            req POST "/v1/restore?image=$n" -d '{"x":"m"}'
            echo "  restore $code" >>"$tmp/mut/log"
            req DELETE "/v1/functions/$n"
        fi
    done
done
req POST /v1/functions/hello/invoke -d '{"name":"after"}'
after=$(jget "['hello']")
check image_mutated "24 crafted images: refused or run, the server up and answering ($(tr '\n' ' ' <"$tmp/mut/log"))" \
    '[ "$code" = 200 ] && [ "$after" = after ] && kill -0 "$srv_pid" && ! grep -q " 000$" "$tmp/mut/log"'
req POST '/v1/restore?image=fromimage' -d '{"x":"restored"}'
check restore "200, cold, runs the image" \
    [ "$code" = 200 -a "$(jget "['zipped']")" = restored -a "$(hdr x-fnbox-start)" = cold ]
req POST '/v1/restore?image=nope' -d '{}'
check restore_missing "404" [ "$code" = 404 ]
# An uploaded image carries the memory limit its maker set -- none for this one, made without
# --memory -- and the function's memory_mb is what holds: 200 MB is out of memory under 64.
"$FNBOX" checkpoint -o "$tmp/nolimit.img" -- /usr/bin/python3 -c 'import json, sys
e = json.loads(sys.stdin.read() or "{}")
print(len(bytearray(e.get("mb", 1) << 20)) >> 20)' 2>/dev/null
req POST '/v1/images?name=nolimit&memory_mb=64' -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/nolimit.img"
req POST /v1/functions/nolimit/invoke -d '{"mb":200}'
check image_memory_limit "an image made without a limit runs under the function's memory_mb: out_of_memory at 64" \
    [ "$code" = 200 -a "$(hdr x-fnbox-outcome)" = out_of_memory -a "$(hdr x-fnbox-memory-mb)" = 64 ]
req POST /v1/functions/nolimit/invoke -d '{"mb":8}'
check image_memory_within "... and 8 MB fits" [ "$code" = 200 -a "$body" = 8 -a "$(hdr x-fnbox-outcome)" = ok ]

# ---- AWS Lambda compatibility: aws CLI (Debian awscli) ------------------------------------------
A() { timeout 60 $AWS --endpoint-url "$url" lambda "$@"; }
out=$(A invoke --function-name hello --cli-binary-format raw-in-base64-out --payload '{"name":"aws"}' \
    --log-type Tail "$tmp/aws.json" 2>&1)
body=$(cat "$tmp/aws.json" 2>/dev/null)
check aws_invoke "StatusCode 200 and the response" \
    '[ "$(jget "['\''hello'\'']")" = aws ] && [[ "$out" == *'\''"StatusCode": 200'\''* ]]'
# --log-type Tail: LogResult is the base64 of the end of what the function wrote to stderr.
out=$(A invoke --function-name logger --cli-binary-format raw-in-base64-out --payload '{}' \
    --log-type Tail "$tmp/aws5.json" 2>"$tmp/aws5.err")
tail_txt=$(printf '%s' "$out" | $PY -c 'import base64, json, sys
print(base64.b64decode(json.load(sys.stdin)["LogResult"]).decode())' 2>/dev/null)
check aws_log_tail "LogResult decodes to the end of the function's stderr, ExecutedVersion \$LATEST ($(tail -c 200 <<<"$out$(cat "$tmp/aws5.err")"))" \
    '[[ "$tail_txt" == *"log line 299"*"the end of the log"* && "$out" == *'\''"ExecutedVersion": "$LATEST"'\''* ]]'
out=$(A invoke --function-name boom --cli-binary-format raw-in-base64-out --payload '{"n":1}' "$tmp/aws2.json" 2>&1)
body=$(cat "$tmp/aws2.json" 2>/dev/null)
check aws_function_error "FunctionError Unhandled, error body" \
    '[[ "$out" == *'\''"FunctionError": "Unhandled"'\''* ]] && [ "$(jget "['\''errorType'\'']")" = ValueError ]'
# An Event is answered 202 at once and runs afterwards, once: hello's ok invocations go up by
# one, and so do the server's log lines of them.
ok_count() { metric "fnbox_invocations_total{function=\"$1\",outcome=\"ok\"}"; }
ok_logged() { grep -c "\"function\":\"$1\",\"outcome\":\"ok\"" "$tmp/server.log"; }
ok0=$(ok_count hello) ev0=$(ok_logged hello)
out=$(A invoke --function-name hello --invocation-type Event --cli-binary-format raw-in-base64-out --payload '{}' "$tmp/aws3.json" 2>&1)
for _ in $(seq 100); do [ "$(ok_count hello)" -gt "${ok0:-0}" ] 2>/dev/null && break; sleep 0.1; done
sleep 0.3 # a second run of the event would show by now
ok1=$(ok_count hello) ev1=$(ok_logged hello)
check aws_event "StatusCode 202, then the event ran once: hello's ok invocations ${ok0:-?} -> ${ok1:-?}, its log lines $ev0 -> $ev1" \
    '[[ "$out" == *'\''"StatusCode": 202'\''* ]] && [ -n "$ok0" ] && [ "$ok1" = $((ok0 + 1)) ] && [ "$ev1" = $((ev0 + 1)) ]'
out=$(A invoke --function-name hello --invocation-type DryRun "$tmp/aws3.json" 2>&1)
check aws_dryrun "StatusCode 204" '[[ "$out" == *'\''"StatusCode": 204'\''* ]]'
out=$(A invoke --function-name nope "$tmp/aws3.json" 2>&1)
check aws_not_found "ResourceNotFoundException" '[[ "$out" == *ResourceNotFoundException* ]]'
mkdir -p "$tmp/awsfn" && printf 'import os\ndef handler(e, c):\n    return {"from": "aws", "env": os.environ.get("GREETING")}\n' >"$tmp/awsfn/lambda_function.py"
(cd "$tmp/awsfn" && zip -q "$tmp/aws.zip" lambda_function.py)
out=$(A create-function --function-name awsfn --runtime python3.11 --handler lambda_function.handler \
    --role arn:aws:iam::000000000000:role/x --zip-file "fileb://$tmp/aws.zip" --timeout 5 \
    --memory-size 256 --environment 'Variables={GREETING=hi}' 2>&1)
check aws_create "FunctionName awsfn, MemorySize 256" \
    '[[ "$out" == *'\''"FunctionName": "awsfn"'\''* && "$out" == *'\''"MemorySize": 256'\''* ]]'
out=$(A create-function --function-name awsfn --runtime python3.11 --handler lambda_function.handler \
    --role arn:aws:iam::000000000000:role/x --zip-file "fileb://$tmp/aws.zip" 2>&1)
check aws_create_conflict "ResourceConflictException" '[[ "$out" == *ResourceConflictException* ]]'
out=$(A list-functions --query 'Functions[].FunctionName' --output text 2>&1)
check aws_list "lists awsfn and hello" '[[ "$out" == *awsfn* && "$out" == *hello* ]]'
out=$(A get-function --function-name awsfn --query 'Configuration.Timeout' --output text 2>&1)
check aws_get "Timeout 5" [ "$out" = 5 ]
A invoke --function-name awsfn "$tmp/aws4.json" >/dev/null 2>&1
body=$(cat "$tmp/aws4.json" 2>/dev/null)
check aws_env "the environment reached the function" [ "$(jget "['env']")" = hi ]
A delete-function --function-name awsfn >/dev/null 2>&1
out=$(A get-function --function-name awsfn 2>&1)
check aws_delete "gone after delete-function" '[[ "$out" == *ResourceNotFoundException* ]]'

# ---- AWS Lambda compatibility: headers and platform errors, with curl ---------------------------
L=/2015-03-31/functions
# ok_line RID FUNCTION [FILE]: the server's log lines (numbered) of request RID, ended ok.
ok_line() { grep -nF "\"request_id\":\"${1:-none}\",\"function\":\"$2\",\"outcome\":\"ok\"" "${3:-$tmp/server.log}"; }
req POST $L/hello/invocations -d '{"name":"lam"}'
rid=$(hdr x-amzn-requestid)
logged=$(ok_line "$rid" hello | wc -l)
check lambda_headers "200, X-Amz-Executed-Version \$LATEST, x-amzn-RequestId ($rid) the request id of the invocation's log line ($logged)" \
    [ "$code" = 200 -a "$(jget "['hello']")" = lam -a "$(hdr x-amz-executed-version)" = '$LATEST' -a -n "$rid" -a "$logged" = 1 ]
req POST $L/hello/invocations -H 'X-Amz-Invocation-Type: Event' -d '{}'
rid=$(hdr x-amzn-requestid) event_code=$code
for _ in $(seq 100); do [ -n "$(ok_line "$rid" hello)" ] && break; sleep 0.1; done
logged=$(ok_line "$rid" hello | wc -l)
check lambda_event_headers "202 with an x-amzn-RequestId ($rid), the request id of the event's log line when it ran ($logged)" \
    [ "$event_code" = 202 -a -n "$rid" -a "$logged" = 1 ]
lambda_error() { # NAME STATUS TYPE: the last answer is a Lambda platform error
    local t m
    t=$(jget "['Type']") m=$(jget "['Message']")
    check "$1" "$2, x-amzn-ErrorType $3 (got '$(hdr x-amzn-errortype)'), JSON Type User and a Message" \
        [ "$code" = "$2" -a "$(hdr x-amzn-errortype)" = "$3" -a "$t" = User -a -n "$m" ]
}
req POST $L/hello/invocations -H 'X-Amz-Invocation-Type: Sometimes' -d '{}'
lambda_error lambda_bad_invocation_type 400 InvalidParameterValueException
req POST "$L/hello/invocations?timeout_ms=abc" -d '{}'
lambda_error lambda_bad_timeout 400 InvalidParameterValueException
req POST $L/bad%20name/invocations -d '{}'
lambda_error lambda_bad_name 400 InvalidParameterValueException
req POST $L/hello/invocations --data-binary @"$tmp/big" # 300 000 bytes, --max-body 256k
lambda_error lambda_too_large 413 RequestTooLargeException
# slow: concurrency 1 and a queue of 2 (queue_429 above): six at once, some throttled.
qpids=
for i in 1 2 3 4 5 6; do
    curl -s -o "$tmp/lq$i.body" -D "$tmp/lq$i" -X POST "$url$L/slow/invocations" -d '{"sleep":1.5}' &
    qpids="$qpids $!"
done
wait $qpids
thr=$(grep -l '^HTTP/1.1 429' "$tmp"/lq? | head -1)
n429=$(grep -l '^HTTP/1.1 429' "$tmp"/lq? | wc -l)
if [ -n "$thr" ]; then
    code=429 hdrs=$(sed 's/^[^:]*/\L&/' "$thr" | tr -d '\r') body=$(cat "$thr.body")
    lambda_error lambda_throttled 429 TooManyRequestsException
    check lambda_throttled_retry_after "Retry-After on the 429 ($n429 of 6 throttled)" [ -n "$(hdr retry-after)" ]
else
    fail lambda_throttled "none of 6 concurrent invocations of a function of concurrency 1 was throttled"
fi

# ---- boto3 (Debian python3-boto3) ---------------------------------------------------------------
out=$($PY - "$url" <<'EOF' 2>&1
import base64, json, sys, boto3
c = boto3.client("lambda", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id="x", aws_secret_access_key="x")
r = c.invoke(FunctionName="hello", Payload=json.dumps({"name": "boto"}))
print(r["StatusCode"], json.load(r["Payload"])["hello"])
r = c.invoke(FunctionName="logger", Payload=b"{}", LogType="Tail")
print("tail" if "the end of the log" in base64.b64decode(r["LogResult"]).decode() else "notail")
r = c.invoke(FunctionName="boom", Payload=b"{}")
print(r["StatusCode"], r.get("FunctionError"), json.load(r["Payload"])["errorType"])
r = c.invoke(FunctionName="arn:aws:lambda:us-east-1:000000000000:function:hello", Payload=b"{}")
print("arn", json.load(r["Payload"])["hello"])
try:
    c.get_function(FunctionName="nope")
except c.exceptions.ResourceNotFoundException:
    print("notfound")
EOF
)
check boto3 "invoke, tail, function error, ARN, not found" [ "$out" = "200 boto
tail
200 Unhandled ValueError
arn world
notfound" ]
[ "$failed" = 1 ] && printf '%s\n' "$out" | head -5

# ---- auth: a second server with a token ---------------------------------------------------------
main_pid=$srv_pid main_url=$url main_port=$port
start_server --token s3cret --state-dir "$tmp/state2" --no-memory-reuse || fail token_start "no healthz"
req GET /v1/functions
check token_missing "401" [ "$code" = 401 -a "$(jget "['error']['code']")" = unauthorized ]
req GET /v1/functions -H 'Authorization: Bearer wrong'
check token_wrong "401" [ "$code" = 401 ]
req GET /v1/functions -H 'Authorization: Bearer s3cret'
check token_ok "200" [ "$code" = 200 ]
out=$(AWS_ACCESS_KEY_ID=s3cret timeout 60 $AWS --endpoint-url "$url" lambda list-functions 2>&1)
check token_aws "the access key id carries the token" '[[ "$out" == *Functions* ]]'
out=$(AWS_ACCESS_KEY_ID=other timeout 60 $AWS --endpoint-url "$url" lambda list-functions 2>&1)
check token_aws_wrong "refused" '[[ "$out" == *UnrecognizedClient* ]]'
# --no-memory-reuse: every restore gets a new memory file.
req POST /v1/functions -H 'Authorization: Bearer s3cret' \
    -d '{"name":"hello","template":"python","code":"hello","handler":"main.handler","pool":{"min":1}}'
no_reuse_ok=0
for i in 1 2 3 4; do
    req POST /v1/functions/hello/invoke -H 'Authorization: Bearer s3cret' -d '{"name":"n"}'
    [ "$code" = 200 ] && [ "$(jget "['hello']")" = n ] && no_reuse_ok=$((no_reuse_ok + 1))
done
reused=$(metric fnbox_memory_files_reused_total -H 'Authorization: Bearer s3cret')
check no_memory_reuse "--no-memory-reuse: 4 answers ($no_reuse_ok), no memory file reused (${reused:-?})" \
    '[ $no_reuse_ok = 4 ] && [ "$reused" = 0 ]'
stop_server
srv_pid=$main_pid url=$main_url port=$main_port

# ---- garbage on the wire ------------------------------------------------------------------------
$PY - "$port" <<'EOF'
import os, socket, sys, random
random.seed(4)
cases = [b"\x00\xff" * 100, b"GET /" + b"A" * 100000 + b" HTTP/1.1\r\n\r\n",
         b"POST /v1/functions HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
         b"POST /v1/functions/hello/invoke HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
         b"GET /v1/functions HTTP/1.1\r\n" + b"X: y\r\n" * 5000 + b"\r\n"]
cases += [os.urandom(random.randint(1, 3000)) for _ in range(40)]
for c in cases:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    try:
        s.sendall(c); s.shutdown(socket.SHUT_WR); s.recv(65536)
    except OSError:
        pass
    s.close()
EOF
req GET /healthz
check garbage_http "still healthy after malformed requests" [ "$code" = 200 ]
for b in '[' '{"a":' '{"name":1}' '"str"' '{"name":"x","template":"python","code":"hello","handler":"m.h","env":{"1BAD":"x"}}' \
    '{"name":"x","template":"python","code":"hello","handler":"m.h","pool":{"min":-1}}' \
    "$($PY -c 'print("[" * 100000)')"; do
    req POST /v1/functions -d "$b"
    [ "$code" = 400 ] || { fail hostile_json "status $code for ${b:0:40}"; break; }
done
[ "$code" = 400 ] && pass hostile_json

# ---- a sandbox dying mid-invocation fails only that invocation ---------------------------------
curl -s -o "$tmp/died" -D "$tmp/died_h" -X POST "$url/v1/functions/slow/invoke" -d '{"sleep":3}' &
victim_req=$!
sleep 1
victim=$(pgrep -P "$srv_pid" -f -- "slow-" | head -1)
[ -n "$victim" ] && kill -9 "$victim"
wait $victim_req
req POST /v1/functions/hello/invoke -d '{"name":"after"}'
check sandbox_death "502 for that invocation only" \
    '[ -n "$victim" ] && grep -q '\''^HTTP/1.1 502'\'' "$tmp/died_h" && [ "$code" = 200 -a "$(jget "['\''hello'\'']")" = after ]'

# ---- metrics ------------------------------------------------------------------------------------
req GET /metrics
check metrics "Prometheus text with the required families" \
    '[[ "$body" == *'\''fnbox_invocations_total{function="hello",outcome="ok"}'\''* && "$body" == *fnbox_invocation_duration_seconds_bucket* && "$body" == *fnbox_restore_duration_seconds_count* && "$body" == *'\''fnbox_cold_starts_total{function='\''* && "$body" == *'\''fnbox_warm_pool_sandboxes{function="hello"}'\''* && "$body" == *fnbox_build_info* ]]'
check invocation_log "one JSON log line per invocation" \
    grep -q '"event":"invoke".*"function":"hello".*"outcome":"ok"' "$tmp/server.log"
# Warm restores copy the image's hot pages from the server's one decompressed copy.
hot_seen=0
for _ in $(seq 50); do # a pool sandbox exists most of the time; wait for one if not
    ps -eo args | grep -F -- "$state/" | grep -q -- "restore --ready-fd 3 .*--hot-fd 7 " &&
        { hot_seen=1; break; }
    sleep 0.1
done
check hot_pages_shared "pool sandboxes restored with --hot-fd" [ $hot_seen = 1 ]

# ---- leaks over many invocations ----------------------------------------------------------------
# 10 000 invocations (~30 s at this host's ~400/s; FNBOX_SERVE_LEAK_N to change it), at most
# 300 s: then the case fails saying how far it got instead of hanging.
n=${FNBOX_SERVE_LEAK_N:-10000}
req PUT /v1/functions/hello/pool -d '{"min":2,"max":8}'
settle() { # wait for the pool to be back at 2 idle and nothing busy
    for _ in $(seq 100); do
        req GET /v1/functions/hello/pool
        [ "$(jget "['idle']")" = 2 -a "$(jget "['busy']")" = 0 -a "$(jget "['starting']")" = 0 ] && break
        sleep 0.1
    done
    sleep 0.3
}
# The server's fds and memory files (memfds, and the unnamed files of its own tmpfs that hold
# sandbox memory), less the spare memory files it keeps for the next restores (a cache of at
# most 8, in /metrics): those come and go with the pool's turnover. And the memfds held by
# the sandbox processes (a pool's sandboxes each hold the image's hot pages).
spares() { metric fnbox_spare_memory_files; }
fd_targets() { for f in /proc/$1/fd/*; do readlink "$f"; done 2>/dev/null; }
fd_census() { # "fds memfds memory_files spares sandbox_memfds" of the server and its sandboxes
    local t sp sbm=0 p
    t=$(fd_targets "$srv_pid")
    sp=$(spares)
    for p in $(pgrep -f -- "$state/" | grep -vx "$srv_pid"); do
        sbm=$((sbm + $(fd_targets "$p" | grep -c '^/memfd:')))
    done
    echo "$(wc -l <<<"$t") $(grep -c '^/memfd:' <<<"$t") $(grep -cE '^/memfd:|^/#[0-9]+ \(deleted\)$' <<<"$t") ${sp:-x} $sbm"
}
settle
read -r fds0 memfd0 mfiles0 spares0 sbmemfd0 <<<"$(fd_census)"
procs0=$(sandboxes)
t0=$(date +%s)
timeout 310 $PY - "$url" "$n" 300 >"$tmp/leak" <<'EOF'
import http.client, json, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1]); n = int(sys.argv[2])
deadline = time.monotonic() + float(sys.argv[3])
bad = done = 0
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
for i in range(n):
    if time.monotonic() > deadline:
        break
    try:
        conn.request("POST", "/v1/functions/hello/invoke", body=json.dumps({"name": str(i)}))
        r = conn.getresponse(); d = r.read()
        ok = r.status == 200 and json.loads(d).get("hello") == str(i)
    except (OSError, ValueError, http.client.HTTPException):
        ok = False
        conn.close()
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    bad += not ok
    done += 1
print(done, bad)
EOF
leak_s=$(($(date +%s) - t0))
read -r leak_done leak_bad <"$tmp/leak"
settle
read -r fds1 memfd1 mfiles1 spares1 sbmemfd1 <<<"$(fd_census)"
procs1=$(sandboxes)
spare_growth=$((spares1 - spares0 > 0 ? spares1 - spares0 : 0))
leak_msg="${leak_done:-0} of $n invocations in ${leak_s} s, ${leak_bad:-?} wrong; server fds $fds0 -> $fds1, memory files $mfiles0 -> $mfiles1 (of them memfds $memfd0 -> $memfd1), spare memory files $spares0 -> $spares1; sandbox processes $procs0 -> $procs1, their memfds $sbmemfd0 -> $sbmemfd1"
echo "  leak check: $leak_msg"
check "leaks_$n" "all ok, nothing left beyond the spare memory files: $leak_msg" \
    [ "${leak_done:-0}" = "$n" -a "${leak_bad:-1}" = 0 -a "$spares1" -le 8 \
    -a $((fds1 - spares1)) -le $((fds0 - spares0)) -a $((mfiles1 - spares1)) -le $((mfiles0 - spares0)) \
    -a "$memfd1" -le $((memfd0 + spare_growth)) -a "$procs1" -le "$procs0" -a "$sbmemfd1" -le "$sbmemfd0" ]

# ---- SIGTERM drains, reaps, and the registry survives a restart ---------------------------------
req PUT /v1/functions/slow/pool -d '{"min":0,"max":4}'
curl -s -o "$tmp/drained" -w '%{http_code}' -X POST "$url/v1/functions/slow/invoke" -d '{"sleep":1.5}' >"$tmp/drained_code" &
drained=$!
sleep 0.7
# An Event still running when SIGTERM comes (sent right after its 202) is waited for too: it
# ends after the request above, and its log line comes before the server's last words.
log_at=$(wc -l <"$tmp/server.log")
req POST /2015-03-31/functions/slow/invocations -H 'X-Amz-Invocation-Type: Event' -d '{"sleep":1.0}'
event_code=$code event_rid=$(hdr x-amzn-requestid)
stop_server
wait $drained
sleep 0.3
left=$(pgrep -f -- "$state/" | wc -l)
check sigterm_drain "in-flight invocation finished ($(cat "$tmp/drained_code")), exit $stop_status, no sandbox left ($left)" \
    [ "$(cat "$tmp/drained_code")" = 200 -a "$stop_status" = 0 -a "$left" = 0 ]
drain_log=$(tail -n +$((log_at + 1)) "$tmp/server.log")
ev_line=$(ok_line "$event_rid" slow <(printf '%s\n' "$drain_log") | head -1)
ev_run=$(sed -n 's/.*"run_ms":\([0-9]*\).*/\1/p' <<<"$ev_line")
stopped_line=$(grep -n '^fnbox serve: stopped' <<<"$drain_log" | head -1)
check sigterm_drain_event "an Event (answered $event_code) running at SIGTERM finished ok (run ${ev_run:-?} ms) before the server stopped (log lines ${ev_line%%:*} < ${stopped_line%%:*}), exit $stop_status" \
    '[ "$event_code" = 202 -a "$stop_status" = 0 -a "${ev_run:-0}" -ge 900 ] && [ "${ev_line%%:*}" -lt "${stopped_line%%:*}" ]'

FNBOX_SPARE_MEMORY_IDLE_MS=1500 start_server || fail restart "no healthz after restart"
req GET /v1/functions
check restart_registry "functions reloaded from --state-dir" \
    '[ "$code" = 200 ] && [[ "$body" == *'\''"hello"'\''* && "$body" == *'\''"zipped"'\''* && "$body" == *'\''"fromimage"'\''* ]]'
req POST /v1/functions/v/invoke -d '{}'
check restart_invoke "the reloaded image runs (version 2)" \
    [ "$code" = 200 -a "$(jget "['version']")" = 2 ]
# Spare memory files nobody takes are closed after a while (1.5 s here, 60 s by default).
for i in 1 2 3 4; do req POST /v1/functions/v/invoke -d '{}'; done
for _ in $(seq 30); do [ "$(spares)" -gt 0 ] 2>/dev/null && break; sleep 0.1; done
spares_kept=$(spares)
sleep 2.5
check spares_idle "spare memory files kept after invocations (${spares_kept:-?}), closed when idle ($(spares))" \
    '[ "${spares_kept:-0}" -gt 0 ] && [ "$(spares)" = 0 ]'
req GET /v1/functions/walker
check restart_train_event "the training event is kept across a restart" \
    [ "$code" = 200 -a "$(jget "['train_event']")" = "{'walk': True}" ]
req DELETE /v1/functions/zipped
check delete "204" [ "$code" = 204 ]
req GET /v1/functions/zipped
check delete_gone "404 afterwards" [ "$code" = 404 ]
check registry_file "registry.json is valid JSON without the deleted function" \
    $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit("zipped" in [f["name"] for f in d["functions"]])' "$state/registry.json"

# ---- crash safety: kill -9, and a temporary registry file torn by a crash mid-write -------------
register crashy hello '"pool":{"min":1}'
crashy_code=$code
req PUT /v1/functions/v/pool -d '{"min":0,"max":3}'
kill -9 "$srv_pid"
wait "$srv_pid" 2>/dev/null
srv_pid=
for _ in $(seq 50); do [ "$(pgrep -f -- "$state/" | wc -l)" = 0 ] && break; sleep 0.1; done
orphans=$(pgrep -f -- "$state/" | wc -l)
check kill9_no_orphans "no sandbox outlives a server killed with SIGKILL ($orphans left)" [ "$orphans" = 0 ]
for p in $(pgrep -f -- "$state/"); do kill -9 "$p"; done
# What fb_serve_write_atomic leaves when the host dies between its open and its rename: a
# registry.json.tmp holding the first half of the registry.
head -c $(($(stat -c %s "$state/registry.json") / 2)) "$state/registry.json" >"$state/registry.json.tmp"
start_server || fail kill9_restart "no healthz after kill -9 and a torn registry.json.tmp"
req GET /v1/functions
check kill9_registry "registered before the kill ($crashy_code), all back after it" \
    '[ "$code" = 200 ] && [[ "$body" == *'\''"crashy"'\''* && "$body" == *'\''"hello"'\''* && "$body" == *'\''"walker"'\''* ]]'
req GET /v1/functions/v/pool
check kill9_pool "the pool set before the kill is back (max $(jget "['max']"))" [ "$code" = 200 -a "$(jget "['max']")" = 3 ]
req POST /v1/functions/crashy/invoke -d '{"name":"again"}'
check kill9_invoke "the function registered before the kill answers" [ "$code" = 200 -a "$(jget "['hello']")" = again ]
req DELETE /v1/functions/crashy
check kill9_rewrite "the next write replaces the torn temporary file: registry.json valid, without crashy, no .tmp left" \
    '[ "$code" = 204 ] && [ ! -e "$state/registry.json.tmp" ] && $PY -c '\''import json,sys; d=json.load(open(sys.argv[1])); sys.exit("crashy" in [f["name"] for f in d["functions"]])'\'' "$state/registry.json"'
stop_server
left=$(pgrep -f -- "$state/" | wc -l)
check final_reap "no process left after the final stop" [ "$left" = 0 -a "$stop_status" = 0 ]
check no_mem_cache "the images the server built kept no memory cache entry ($(ls "$FNBOX_MEM_CACHE_DIR" | wc -l) there)" \
    [ -z "$(ls -A "$FNBOX_MEM_CACHE_DIR")" ]

# ---- make run: scripts/demo.sh on a free port and a state directory of this test's ---------------
port=$(free_port) url=http://127.0.0.1:$port
mkdir -m 700 "$tmp/demo-memcache"
FNBOX_PORT=$port FNBOX_DEMO_STATE=$tmp/demo-state FNBOX_MEM_CACHE_DIR=$tmp/demo-memcache \
    scripts/demo.sh >"$tmp/demo.log" 2>&1 &
demo_pid=$!
for _ in $(seq 1200); do # its tour, two images built, pools warm: at most 120 s
    grep -q 'fnbox serve is running' "$tmp/demo.log" && break
    kill -0 $demo_pid 2>/dev/null || break
    sleep 0.1
done
demo_srv=$(pgrep -P $demo_pid -f -- "serve --listen 127.0.0.1:$port")
req POST /v1/functions/hello/invoke -d '{"name":"ada"}'
check demo_hello "make run's hello answers {hello: ada} from its warm pool" \
    [ "$code" = 200 -a "$(jget "['hello']")" = ada -a "$(hdr x-fnbox-start)" = warm ]
req POST /v1/functions/wordcount/invoke -H 'X-Fnbox-Log: tail' -d '{"text":"to be or not to be"}'
check demo_wordcount "make run's wordcount counts 6 words and logs it" \
    '[ "$code" = 200 -a "$(jget "['\''words'\'']")" = 6 ] && [[ "$(hdr x-fnbox-log-tail | base64 -d)" == *"counting 6 words"* ]]'
kill -TERM $demo_pid
for _ in $(seq 300); do kill -0 $demo_pid 2>/dev/null || break; sleep 0.1; done
wait $demo_pid 2>/dev/null
demo_status=$?
demo_pid=
demo_left=$(pgrep -f -- "$tmp/demo-state" | wc -l)
check demo_stop "SIGTERM stops make run: exit $demo_status, its server ($demo_srv) drained ($(grep -c '^fnbox serve: stopped' "$tmp/demo.log") 'stopped'), $demo_left processes left" \
    '[ "$demo_status" = 0 -a -n "$demo_srv" -a "$demo_left" = 0 ] && ! kill -0 "$demo_srv" 2>/dev/null && grep -q "^fnbox serve: stopped" "$tmp/demo.log"'
[ $failed = 1 ] && ! grep -q 'fnbox serve is running' "$tmp/demo.log" && tail -20 "$tmp/demo.log"

[ $failed = 1 ] && { echo "--- server log (tail)"; grep -v "\"outcome\":\"ok\"" "$tmp/server.log" | tail -30 | cut -c1-400; }
exit $failed
