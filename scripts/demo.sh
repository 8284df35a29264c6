#!/usr/bin/env bash
# `make run`: a short tour of fnbox on its built-in defaults (every command below runs an
# unmodified host program on fnbox's application kernel), then `fnbox serve` on
# 127.0.0.1:8080 (FNBOX_PORT to change) with the example functions registered and their pools
# warm, in the foreground until Ctrl-C or SIGTERM (FNBOX_DEMO_STATE: its state directory).
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
bold() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

echo "fnbox demo: programs below run in a sandbox; their system calls never reach the host."
step $FNBOX run -- /bin/busybox sh -c 'echo $((6*7)); ls /usr | wc -l'
step $FNBOX run -- /usr/bin/python3 -c 'import os, json; print(json.dumps(sorted(os.listdir("/"))))'
bold "echo abc | $FNBOX run -- /bin/cat"
echo abc | $FNBOX run -- /bin/cat
step $FNBOX run -- /bin/sh -c 'ls /root /etc/shadow 2>&1; echo "host secrets are not in the view"'

# ---- fnbox serve: functions as checkpoint images, warm pools, HTTP ----------------------------
PORT=${FNBOX_PORT:-8080}
URL=http://127.0.0.1:$PORT
STATE=${FNBOX_DEMO_STATE:-build/demo-state} # the tests run it with a state directory of theirs
rm -rf "$STATE"
if curl -s -o /dev/null "$URL/healthz"; then
    echo "fnbox demo: something already listens on port $PORT (set FNBOX_PORT to use another)" >&2
    exit 1
fi
bold "$FNBOX serve --listen 127.0.0.1:$PORT --state-dir $STATE --code-root ."
$FNBOX serve --listen "127.0.0.1:$PORT" --state-dir "$STATE" --code-root . &
srv=$!
trap 'kill -TERM $srv 2>/dev/null; wait $srv; exit 0' INT TERM
for _ in $(seq 100); do curl -sf "$URL/healthz" >/dev/null && break; sleep 0.1; done

register() {
    bold "curl -s -X POST $URL/v1/functions -d '$1'"
    curl -s -X POST "$URL/v1/functions" -d "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(json.dumps({k: d[k] for k in ("name", "image", "pool", "error") if k in d}))'
}
register '{"name":"hello","template":"python","code":"templates/examples/hello","handler":"main.handler","memory_mb":128,"timeout_ms":3000,"pool":{"min":4}}'
register '{"name":"wordcount","template":"python","code":"templates/examples/wordcount","handler":"main.handler","pool":{"min":2}}'
for _ in $(seq 100); do
    idle=$(curl -s "$URL/v1/functions/hello/pool" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("idle"))' 2>/dev/null)
    [ "$idle" = 4 ] && break
    sleep 0.1
done
bold "curl -si -X POST $URL/v1/functions/hello/invoke -d '{\"name\":\"ada\"}'"
curl -si -X POST "$URL/v1/functions/hello/invoke" -d '{"name":"ada"}' |
    grep -iE '^(x-fnbox-(start|queue|restore|run|outcome)|\{)'
echo
cat <<EOF

fnbox serve is running on $URL with the functions "hello" and "wordcount" (warm pools of 4
and 2). Try, from another terminal:

  curl -s -X POST $URL/v1/functions/hello/invoke -d '{"name":"ada"}'
  curl -s -D - -X POST $URL/v1/functions/wordcount/invoke -H 'X-Fnbox-Log: tail' -d '{"text":"to be or not to be"}'
  curl -s -X PUT  $URL/v1/functions/hello/pool -d '{"min":16}'
  curl -s $URL/v1/functions | python3 -m json.tool
  curl -s $URL/metrics | grep fnbox_invocations_total
  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_DEFAULT_REGION=us-east-1 \\
    aws lambda invoke --endpoint-url $URL --function-name hello \\
    --cli-binary-format raw-in-base64-out --payload '{"name":"ada"}' out.json && cat out.json

The API reference is docs/api.md. Ctrl-C stops the server (in-flight invocations finish first).
EOF
wait $srv
