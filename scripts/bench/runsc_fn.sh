#!/usr/bin/env bash
# gVisor's checkpoint/restore of the same python function, for scripts/bench.sh (the peer of
# `fnbox checkpoint` / `fnbox restore`). runsc checkpoints containers, so the function runs in an
# OCI bundle whose root is the host's / (read-only) with the repository's template and example
# bind-mounted, like fnbox serves them.
#   runsc_fn.sh prepare DIR ROOT   make DIR/bundle, run the function until it waits on stdin,
#                                  checkpoint it to DIR/image; prints checkpoint_ms= image_bytes=
#   runsc_fn.sh restore DIR        restore DIR/image into a new container, send the event {}, wait
#                                  for the answer; prints response_ms= (restore start -> answer)
# RUNSC (default "runsc --platform=ptrace --network=none") is the invocation.
set -u
read -r -a R <<<"${RUNSC:-runsc --platform=ptrace --network=none}"
cmd=$1 dir=$2
now() { date +%s%N; }

if [ "$cmd" = prepare ]; then
    root=$3
    rm -rf "$dir" && mkdir -p "$dir/bundle" "$dir/image" || exit 1
    (cd "$dir/bundle" && "${R[@]}" spec) || exit 1
    python3 - "$dir/bundle/config.json" "$root" <<'PY'
import json, sys
path, root = sys.argv[1], sys.argv[2]
c = json.load(open(path))
c["root"] = {"path": "/", "readonly": True}
c["process"]["terminal"] = False
c["process"]["args"] = ["/usr/bin/python3", "-B", "-s", "/template/bootstrap.py", "main.handler"]
c["process"]["env"] += ["FNBOX_CODE_DIR=/code"]
c["mounts"] += [
    {"destination": "/template", "type": "bind", "source": root + "/templates/python", "options": ["rbind", "ro"]},
    {"destination": "/code", "type": "bind", "source": root + "/templates/examples/hello", "options": ["rbind", "ro"]},
]
json.dump(c, open(path, "w"), indent=1)
PY
    id=fnbox-bench-ckpt-$$
    mkfifo "$dir/in" || exit 1
    exec 7<>"$dir/in"
    "${R[@]}" run -bundle "$dir/bundle" -detach "$id" <"$dir/in" >"$dir/out" 2>"$dir/err" 7>&- || exit 1
    # The bootstrap has imported the handler once python is blocked reading stdin: wait until
    # the container's process sleeps (give the import a generous second).
    sleep 2
    t0=$(now)
    if ! "${R[@]}" checkpoint -image-path="$dir/image" "$id" 2>>"$dir/err"; then
        "${R[@]}" delete -force "$id" >/dev/null 2>&1
        exit 1
    fi
    t1=$(now)
    "${R[@]}" delete -force "$id" >/dev/null 2>&1
    awk -v d=$((t1 - t0)) -v b="$(du -sb "$dir/image" | cut -f1)" \
        'BEGIN { printf "checkpoint_ms=%.1f image_bytes=%d\n", d / 1e6, b }'
    exit 0
fi

if [ "$cmd" = restore ]; then
    id=fnbox-bench-rst-$$-$RANDOM
    rm -f "$dir/in.$id" "$dir/out.$id"
    mkfifo "$dir/in.$id" || exit 1
    exec 8<>"$dir/in.$id"
    t0=$(now)
    "${R[@]}" restore -image-path="$dir/image" -bundle "$dir/bundle" -detach "$id" \
        <"$dir/in.$id" >"$dir/out.$id" 2>"$dir/err.$id" 8>&- || exit 1
    echo '{}' >&8
    exec 8>&- # the bootstrap reads the event to end of file
    while ! grep -q '"hello"' "$dir/out.$id" 2>/dev/null; do
        [ $(( ($(now) - t0) / 1000000000 )) -gt 30 ] && { echo "no answer" >&2; exit 1; }
        sleep 0.001
    done
    t1=$(now)
    "${R[@]}" delete -force "$id" >/dev/null 2>&1
    cat "$dir/out.$id"
    rm -f "$dir/in.$id" "$dir/out.$id" "$dir/err.$id"
    awk -v d=$((t1 - t0)) 'BEGIN { printf "response_ms=%.1f\n", d / 1e6 }'
    exit 0
fi
echo "usage: runsc_fn.sh prepare DIR ROOT | restore DIR" >&2
exit 2
