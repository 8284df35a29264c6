#!/usr/bin/env bash
# fnbox's side of the "checkpoint: save" row of scripts/bench.sh: run the python hello function
# to its ready point and checkpoint it (no training run); prints how long the save took, from
# the ready point until the image is written and synced, as save_ms= -- the step comparable
# with the `runsc checkpoint` command, which checkpoints a container already running.
#   fnbox_save.sh FNBOX CODE_DIR OUT_IMAGE
set -u
json=$("$1" checkpoint --no-train --json --template python --code "$2" -o "$3" 2>/dev/null) ||
    exit 1
sed -n 's/.*"save_ms":\([0-9.]*\).*/save_ms=\1/p' <<<"$json"
