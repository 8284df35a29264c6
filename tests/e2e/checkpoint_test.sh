#!/usr/bin/env bash
# End-to-end tests of fnbox checkpoint / restore / inspect: round trips of programs, the python
# template, preserved kernel state, independence of clones, and every refusal a user can meet
# (stale code, corrupt or foreign images, programs that never reach the ready point, state that
# cannot be saved). Prints "PASS e2e/ckpt_NAME" or "FAIL e2e/ckpt_NAME: why". Run from the
# repository root after `make`.
set -u

FNBOX=${FNBOX:-build/fnbox}
E2E=$PWD/build/e2e
tmp=$(mktemp -d /tmp/fnbox-ckpt-XXXXXX)
trap 'for d in "$tmp"/nscache*/ns; do umount -R "$d"; done 2>/dev/null; rm -rf "$tmp" ${sp:+"$sp"}' EXIT
failed=0

pass() { echo "PASS e2e/ckpt_$1"; }
fail() {
    echo "FAIL e2e/ckpt_$1: $2"
    failed=1
}
# t NAME DESCRIPTION COMMAND...: pass if COMMAND succeeds.
t() {
    local name=$1 what=$2
    shift 2
    if "$@"; then pass "$name"; else fail "$name" "$what (status ${status:-?}, out '${out:0:300}', err '${err:0:400}')"; fi
}
# ended STATUS PATTERN: the last fx exited with STATUS and its stderr says PATTERN.
ended() { [ "$status" = "$1" ] && grep -q -- "$2" <<<"$err"; }
# stale WHAT: the last fx was refused (125) because WHAT changed since the checkpoint, and
# nothing of the program ran.
stale() { [ "$status" = 125 ] && grep -q -- "image is stale: $1 changed since the checkpoint" <<<"$err" && [ -z "$out" ]; }
# The answer of tests/e2e/functions/dirty_memory that found its fresh memory zero, in a sandbox
# that had served nobody before (exported: the checks below run it in bash -c).
export DIRTY_CLEAN='{"clean": true, "calls": 1, "tmp_seen": false}'
# fx STDIN-STRING fnbox-args...: run fnbox; sets $out $err $status.
fx() {
    local in=$1
    shift
    out=$(printf '%s' "$in" | timeout -k 5 120 "$FNBOX" "$@" 2>"$tmp/err")
    status=$?
    err=$(cat "$tmp/err")
}

# --- any program: the README example --------------------------------------------------------------
fx "" checkpoint -o "$tmp/sh.img" -- /bin/sh -c 'read x; echo "got $x"; exit 7'
t sh_checkpoint "image written" test "$status" = 0 -a -s "$tmp/sh.img"
t sh_no_temp_left "no temporary file next to the image" bash -c '! ls "$0"/sh.img.tmp.* 2>/dev/null' "$tmp"
fx "hi
" restore "$tmp/sh.img"
t sh_restore "got hi and the program's exit status 7" test "$status" = 7 -a "$out" = "got hi"
fx "" restore --input /dev/null "$tmp/sh.img"
t sh_input_file "--input: an empty request" test "$status" = 7 -a "$out" = "got "
echo "from a file" >"$tmp/req"
fx "" restore --input "$tmp/req" "$tmp/sh.img"
t sh_input_file2 "--input FILE is the request" test "$out" = "got from a file"

# --- event loops: the request waited for by epoll, poll or select on a non-blocking stdin ---------
# The ready point is also a wait that stdin's input can end (node, asyncio): saved there, not at
# the zero-timeout check before it (whose "init" line would then come out of every restore).
for m in epoll poll select; do
    fx "" checkpoint --mount "$E2E:/e" -o "$tmp/ev-$m.img" -- /e/ckpt_evloop $m
    t evloop_${m}_checkpoint "saved at the $m wait, after its init" test "$status" = 0 -a "$out" = "$m init"
    fx "hi $m
" restore "$tmp/ev-$m.img"
    t evloop_${m}_restore "the restored copy gets the request at its $m wait" test "$status" = 0 -a "$out" = "$m got hi $m"
done
fx "" checkpoint --mount "$E2E:/e" -o "$tmp/ev-timeout.img" -- /e/ckpt_evloop poll 600000
fx "in time
" restore "$tmp/ev-timeout.img"
t evloop_timeout "a wait with a timeout is a ready point too, and the copy gets the request" test "$status" = 0 -a "$out" = "poll got in time"
# Python's asyncio: the request read through the event loop (a pipe transport on stdin).
fx "" checkpoint -o "$tmp/aio.img" -- /usr/bin/python3 -c '
import asyncio, sys
async def main():
    loop = asyncio.get_running_loop()
    r = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(r), sys.stdin)
    print("asyncio got", (await r.readline()).decode().strip())
asyncio.run(main())'
t asyncio_checkpoint "an asyncio program is saved at its event loop's wait for stdin" test "$status" = 0
fx "aio
" restore "$tmp/aio.img"
t asyncio_restore "the restored asyncio program reads its request" test "$status" = 0 -a "$out" = "asyncio got aio"
# node: libuv sets stdin non-blocking (FIONBIO) and waits in epoll_pwait on its main thread,
# with its worker threads parked on futexes.
node=$(command -v node || command -v nodejs)
if [ -n "$node" ]; then
    fx "" checkpoint -o "$tmp/node.img" -- "$node" -e '
let b = ""; const t0 = process.hrtime.bigint();
process.stdin.on("data", d => b += d);
process.stdin.on("end", () => console.log("node got " + b.trim() + " " + (process.hrtime.bigint() > t0)));'
    t node_checkpoint "a node program is saved at its event loop's wait for stdin" test "$status" = 0
    fx "one" restore "$tmp/node.img"
    o1=$out
    fx "two" restore "$tmp/node.img"
    t node_restore "each restored node copy reads its own request to its end" test "$o1" = "node got one true" -a "$out" = "node got two true"
else
    echo "SKIP e2e/ckpt_node_checkpoint: node is not installed"
    echo "SKIP e2e/ckpt_node_restore: node is not installed"
fi

# --- lazy restore: memory outside the working set comes back when first touched ------------------
# Trained on "one" (one page touched), the working set is small: a restore reads that much up
# front and leaves the rest in the image; "check" then reads every page back through every path
# (the program's loads, the kernel's copies, tmpfs pages, a forked child's shared and own pages).
fx "" checkpoint --mount "$E2E:/e" --train-event "one
" -o "$tmp/lazy.img" -- /e/lazy_mem
t lazy_checkpoint "image with a working set" bash -c '[[ $0 == 0 ]] && "$1" inspect "$2" | grep -q "^Working set: "' "$status" "$FNBOX" "$tmp/lazy.img"
fx "check
" restore -vv "$tmp/lazy.img"
t lazy_restore "every page intact after a lazy restore" test "$status" = 0 -a "$out" = "check ok 2048"
t lazy_left_in_image "the restore left most pages in the image" bash -c '[[ $0 =~ ([0-9]+)\ left\ in\ the\ image ]] && (( BASH_REMATCH[1] > 2000 ))' "$err"
FNBOX_NO_LAZY_RESTORE=1 fx "check
" restore -vv "$tmp/lazy.img"
t lazy_off "FNBOX_NO_LAZY_RESTORE=1: everything read up front, same answer" bash -c '[[ $0 == 0 && $1 == "check ok 2048" && $2 != *"left in the image"* ]]' "$status" "$out" "$err"
fx "one
" restore "$tmp/lazy.img"
t lazy_trained_event "the training event itself" test "$status" = 0 -a "$out" = "one ok 7"
# One byte of the memory section flipped, far from the hot pages (the early reader checks the
# whole section first, on the other CPU): refused before the program runs, nothing answered.
cp "$tmp/lazy.img" "$tmp/lazy_flip.img"
python3 -c '
import sys; sys.path.insert(0, "tests/e2e"); import imagelib
p = sys.argv[1]; img = bytearray(open(p, "rb").read())
_, off, length = imagelib.sections(img)["memory"]
img[off + length - 200] ^= 0x5a
open(p, "wb").write(img)' "$tmp/lazy_flip.img"
fx "one
" restore "$tmp/lazy_flip.img"
t lazy_memory_flipped "a flipped memory byte: 125, corrupt image, no answer" bash -c '[ "$0" = 125 ] && grep -q "corrupt image" <<<"$1" && [ -z "$2" ]' "$status" "$err" "$out"
# The image overwritten in place while a restored sandbox still needs pages from it: a clear
# error (the pages' checksums), never wrong memory, no process left behind.
cp "$tmp/lazy.img" "$tmp/lazy2.img"
mkfifo "$tmp/lazy.fifo"
(timeout -k 5 60 "${REAP:-build/escape-tools/reapcheck}" "$FNBOX" restore "$tmp/lazy2.img" <"$tmp/lazy.fifo" >"$tmp/lazy.out" 2>"$tmp/lazy.err"; echo $? >"$tmp/lazy.status") &
exec 7>"$tmp/lazy.fifo"
echo go >&7
sleep 1 # restored (a restore takes tens of ms), waiting for the second line; if not yet, the
        # restore itself finds the image corrupt: the same outcome
python3 -c '
import sys; sys.path.insert(0, "tests/e2e"); import imagelib
p = sys.argv[1]; img = bytearray(open(p, "rb").read())
_, off, length = imagelib.sections(img)["memory"]
for i in range(off + 64, off + length, 97): img[i] ^= 0x5a
f = open(p, "r+b"); f.write(img); f.close()' "$tmp/lazy2.img"
echo x >&7
exec 7>&-
wait
t lazy_image_changed "refused with a message, not wrong memory" bash -c '[[ $(cat "$0") != 0 && $(cat "$1") != *"check ok"* ]] && grep -q "corrupt image" "$2"' "$tmp/lazy.status" "$tmp/lazy.out" "$tmp/lazy.err"
t lazy_image_changed_no_stray "no process left behind (reapcheck)" bash -c '! grep -q "^reapcheck:" "$0"' "$tmp/lazy.err"

# --- kernel state survives: threads, a child process, pipes, signals, timers, memory ---------------
fx "" checkpoint --mount "$E2E:/e" -o "$tmp/st.img" -- /e/ckpt_state
t state_checkpoint "image of a multi-threaded, multi-process program" test "$status" = 0
fx "one
" restore "$tmp/st.img"
o1=$out
t state_restore "every piece of state checked by the program itself" bash -c '[[ $0 == "ok before="*" line=one" ]]' "$o1"
fx "two
" restore "$tmp/st.img"
o2=$out
b1=${o1#*before=}; b1=${b1%% *}; b2=${o2#*before=}; b2=${b2%% *}
a1=${o1#*after=}; a1=${a1%% *}; a2=${o2#*after=}; a2=${a2%% *}
t state_same_past "both clones remember the same pre-checkpoint random bytes" test -n "$b1" -a "$b1" = "$b2"
t state_fresh_random "each clone draws fresh randomness after the restore" test -n "$a1" -a "$a1" != "$a2"

# Concurrent restores of one image are independent sandboxes.
for i in 1 2 3 4; do
    (echo "req$i" | timeout 60 "$FNBOX" restore "$tmp/st.img" >"$tmp/c$i.out" 2>&1; echo $? >"$tmp/c$i.rc") &
done
wait
ok=1
for i in 1 2 3 4; do
    grep -q "^ok .*line=req$i\$" "$tmp/c$i.out" && [ "$(cat "$tmp/c$i.rc")" = 0 ] || ok=0
done
status=$ok out=$(cat "$tmp"/c*.out) err=""
t concurrent "4 concurrent restores each answer their own request" test $ok = 1

# --- the python template ----------------------------------------------------------------------------
mkdir -p "$tmp/hello"
cat >"$tmp/hello/main.py" <<'PY'
import json, random
def handler(event, context):
    if event.get("boom"):
        raise ValueError("asked to fail")
    return {"hello": event.get("name", "world"), "r": random.random(),
            "fn": context.function_name, "left": context.get_remaining_time_in_millis() > 0,
            "id": context.aws_request_id}
PY
fx "" checkpoint --template python --code "$tmp/hello" --handler main.handler -o "$tmp/hello.img"
t py_checkpoint "python image written" test "$status" = 0 -a -s "$tmp/hello.img"
fx '{"name":"ada"}' restore "$tmp/hello.img"
p1=$out
t py_invoke "handler result as JSON" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d["hello"]=="ada" and d["fn"]=="hello" and d["left"] else 1)' "$p1"
fx '{"name":"ada"}' restore "$tmp/hello.img"
p2=$out
t py_fresh_prng "two invocations get different random.random() and request ids" python3 -c 'import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); sys.exit(0 if a["r"]!=b["r"] and a["id"]!=b["id"] else 1)' "$p1" "$p2"
fx '' restore "$tmp/hello.img"
t py_empty_event "an empty request is the event {}" bash -c '[ "$0" = 0 ] && grep -q "\"hello\": \"world\"" <<<"$1"' "$status" "$out"
fx '{"boom":true}' restore "$tmp/hello.img"
t py_exception "a handler exception: error body with type and stack trace, status 1" python3 -c 'import json,sys; d=json.loads(sys.argv[2]); sys.exit(0 if sys.argv[1]=="1" and d["errorType"]=="ValueError" and d["errorMessage"]=="asked to fail" and d["stackTrace"] else 1)' "$status" "$out"
fx '{"name":"lazy"}' restore -v --lazy "$tmp/hello.img"
lazy_faults=$(sed -n 's/.* \([0-9]*\) faults .*/\1/p' <<<"$err")
lazy_status=$status lazy_out=$out
fx '{"name":"pre"}' restore -v "$tmp/hello.img"
pre_faults=$(sed -n 's/.* \([0-9]*\) faults .*/\1/p' <<<"$err")
# By default memory the program had touched comes back mapped; only memory touched for the
# first time (a new heap page, a copy-on-write) may still fault. --lazy faults it back in.
t py_prefault "default restore: the answer with almost no page faults; --lazy: the same answer, faulting ($pre_faults vs $lazy_faults)" bash -c '[ "$0" = 0 ] && grep -q "\"hello\": \"pre\"" <<<"$1" && [ -n "$2" ] && [ -n "$3" ] && [ "$2" -le 5 ] && [ "$3" -ge 20 ] && [ "$4" = 0 ] && grep -q "\"hello\": \"lazy\"" <<<"$5"' "$status" "$out" "$pre_faults" "$lazy_faults" "$lazy_status" "$lazy_out"
# Large pages (fb_memfile_advise_large): where the host can give a tmpfs 2 MiB pages, the
# python working set's dense region of the memory file comes in one; FNBOX_NO_LARGE_PAGES=1
# keeps the memory file a memfd of 4 KiB pages. The same answer either way.
fx '{"name":"large"}' restore -vv "$tmp/hello.img"
large_status=$status large_out=$out large_err=$err
export FNBOX_NO_LARGE_PAGES=1
fx '{"name":"small"}' restore -vv "$tmp/hello.img"
unset FNBOX_NO_LARGE_PAGES
large_regions() { sed -n 's/.*memory pages read at .* (\([0-9]*\) regions in 2 MiB pages).*/\1/p' <<<"$1"; }
if [ "$(id -u)" != 0 ]; then
    echo "SKIP e2e/ckpt_large_pages: not root (no tmpfs of the Sentry's own)"
elif ! grep -qv '\[deny\]' /sys/kernel/mm/transparent_hugepage/shmem_enabled 2>/dev/null; then
    echo "SKIP e2e/ckpt_large_pages: the kernel gives shmem no transparent huge pages"
else
    t large_pages "a restore's working set in 2 MiB pages ($(large_regions "$large_err") regions), the answer intact" \
        bash -c '[ "$0" = 0 ] && grep -q "\"hello\": \"large\"" <<<"$1" && [ "${2:-0}" -ge 1 ]' \
        "$large_status" "$large_out" "$(large_regions "$large_err")"
fi
t large_pages_off "FNBOX_NO_LARGE_PAGES=1: no region in 2 MiB pages, the same answer" \
    bash -c '[ "$0" = 0 ] && grep -q "\"hello\": \"small\"" <<<"$1" && [ "$2" = 0 ]' \
    "$status" "$out" "$(large_regions "$err")"
# A memory file given by the caller (--memory-fd, what fnbox serve hands a pool restore): the
# same memfd to two restores in turn. The function leaves fresh memory full of 0xa5 in it; the
# second restore's fresh memory must still read zero.
fx "" checkpoint --template python --code tests/e2e/functions/dirty_memory --handler main.handler \
    -o "$tmp/dirty.img"
out=$(python3 - "$FNBOX" "$tmp/dirty.img" <<'EOF'
import os, subprocess, sys
fd = os.memfd_create("given", 0)
for _ in range(2):
    r = subprocess.run([sys.argv[1], "restore", "--memory-fd", str(fd), sys.argv[2]],
                       input=b"{}", capture_output=True, pass_fds=(fd,), timeout=60)
    print(r.returncode, r.stdout.decode().strip())
print("dirty" if any(b"\xa5" in os.pread(fd, 1 << 20, o) for o in range(0, 64 << 20, 1 << 20)) else "clean")
EOF
)
t memory_fd_reused "--memory-fd: a second restore into the first one's memory file finds its fresh memory zero" \
    test "$out" = "0 $DIRTY_CLEAN"$'\n'"0 $DIRTY_CLEAN"$'\n'dirty
fx '{}' restore --memory-fd 0 "$tmp/dirty.img"
t memory_fd_bad "--memory-fd: not an fd >= 3 is refused (2)" ended 2 "--memory-fd: expected an open fd >= 3"
fx '{}' restore --memory-fd 5 "$tmp/dirty.img" 5</dev/null
t memory_fd_not_tmpfs "--memory-fd: a file that is not tmpfs is refused (2)" ended 2 "not a tmpfs file or memfd"
# The training run: a template checkpoint restores its image once on the event {} and keeps the
# pages that invocation touched (section "workingset"); restores then prefault just those.
fx "" inspect "$tmp/hello.img"
t ws_section "a template image carries a working set, and inspect says how big" bash -c 'grep -q "^  workingset " <<<"$0" && grep -q "^Working set: [0-9]* pages" <<<"$0"' "$out"
t renumbered "a template image's pages are renumbered hot-first: a page map, and its memory in few chunks" \
    bash -c 'grep -q "^  pagemap " <<<"$0" && grep -q "format 1.1" <<<"$0" && [ "$(awk "\$1 == \"memory\" {print \$NF}" <<<"$0")" -lt 200 ]' "$out"
# A working set that claims more pages than it holds, checksums fixed: refused before anything
# of it is read or run.
cp "$tmp/hello.img" "$tmp/badws.img"
python3 -c '
import struct, sys; sys.path.insert(0, "tests/e2e"); import imagelib
p = sys.argv[1]; img = bytearray(open(p, "rb").read())
_, off, length = imagelib.sections(img)["workingset"]
struct.pack_into("<I", img, off + 4, 0xffffffff)
imagelib.fix_raw_section(img, "workingset")
open(p, "wb").write(img)' "$tmp/badws.img"
fx '{}' restore "$tmp/badws.img"
t ws_corrupt "a malformed working set (checksums valid) is refused (125)" bash -c '[ "$0" = 125 ] && grep -q "corrupt kernel state (working set)" <<<"$1" && [ -z "$2" ]' "$status" "$err" "$out"
fx "" inspect --json "$tmp/hello.img"
t ws_inspect_json "inspect --json: working_set_pages" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d["working_set_pages"] > 0 else 1)' "$out"
# Several training events: one run each, the working set their union, so that requests on
# either path read nothing beyond it; more than 8 refused.
mkdir -p "$tmp/twopath"
cat >"$tmp/twopath/main.py" <<'EOF'
A = [str(i) * 8 for i in range(30000)]
B = [str(i) * 9 for i in range(30000)]
def handler(event, context):
    return {"n": (sum(map(len, A)) if event.get("a") else 0) + (sum(map(len, B)) if event.get("b") else 0)}
EOF
ws_of() { "$FNBOX" inspect --json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["working_set_pages"])'; }
need_of() { printf '%s' "$2" | "$FNBOX" restore -v "$1" 2>&1 >/dev/null | sed -n 's/.*, \([0-9]*\) read in from the image on need.*/\1/p'; }
fx "" checkpoint --template python --code "$tmp/twopath" --train-event '{"a":1}' -o "$tmp/two-a.img"
fx "" checkpoint --template python --code "$tmp/twopath" --train-event '{"a":1}' --train-event '{"b":1}' -o "$tmp/two-ab.img"
ws_a=$(ws_of "$tmp/two-a.img") ws_ab=$(ws_of "$tmp/two-ab.img")
a_need=$(need_of "$tmp/two-a.img" '{"b":1}') ab_need_a=$(need_of "$tmp/two-ab.img" '{"a":1}') ab_need_b=$(need_of "$tmp/two-ab.img" '{"b":1}')
t train_events "two events: working set $ws_ab pages (one: $ws_a); on need: b after training on a $a_need, a $ab_need_a and b $ab_need_b after training on both" \
    test "$status" = 0 -a "${ws_ab:-0}" -gt $((${ws_a:-0} + 300)) -a "${a_need:-0}" -gt 300 -a "${ab_need_a:-999}" -lt 50 -a "${ab_need_b:-999}" -lt 50
fx "" inspect --json "$tmp/two-ab.img"
t train_events_inspect "inspect names the training events" python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1])["train_events"] != ["{\"a\":1}", "{\"b\":1}"])' "$out"
fx "" inspect "$tmp/two-ab.img"
t train_events_inspect_text "inspect's text: one line per event" bash -c 'grep -q "^Trained on:  {\"a\":1}$" <<<"$0" && grep -q "^             {\"b\":1}$" <<<"$0"' "$out"
# Strings from an image are escaped in inspect's text: a newline and an escape sequence in the
# program's arguments and a training event neither split the report nor reach the terminal.
fx "" checkpoint --train-event $'ev\n\e[2J' -o "$tmp/esc.img" -- /bin/sh -c $'read x\n: \e[31m'
fx "" inspect "$tmp/esc.img"
t inspect_escapes "control characters escaped (\\n, \\x1b)" bash -c '! grep -q $'"'"'\e'"'"' <<<"$0" && grep -q "^Program:  /bin/sh -c read x\\\\n: \\\\x1b\[31m$" <<<"$0" && grep -q "^Trained on:  ev\\\\n\\\\x1b\[2J$" <<<"$0"' "$out"
fx "" checkpoint --template python --code "$tmp/twopath" -o "$tmp/two-x.img" $(for i in 1 2 3 4 5 6 7 8 9; do printf -- '--train-event {} '; done)
t train_events_too_many "a ninth --train-event: usage error (2)" ended 2 "at most 8 events"
fx '{"name":"ws"}' restore -vv "$tmp/hello.img"
ws_line=$(grep -o 'working set: [0-9]* of [0-9]*' <<<"$err")
# (Which of them are kept is exactly the intersection: mm_save_test's test_ws_filter. Here the
# few file pages left out of the image are those python touched while importing, which the
# request does not touch again: none or almost none are kept.)
t ws_prefault "restore prefaults only the working set's file pages ($ws_line) and answers" bash -c '
    set -- $1; [ -n "$3" ] && [ "$3" -lt "$5" ] && grep -q "\"hello\": \"ws\"" <<<"$0"' "$out" "$ws_line"
# A warm sandbox (--ready-fd) has the host page tables of the program text it maps straight from
# host files filled before it says ready, for the pages of the image's working set (what the
# training invocation touched), so that the request takes almost no host fault there and the
# sandbox does not fill and tear down the page tables of all of python and its libraries; a
# plain restore leaves them all to fault. Seen in the stub's smaps: the python binary's text
# more resident once ready than without --ready-fd (the ready point runs little of it), and
# not wholly (the working set is a part of it).
text_rss() { # [restore args...]: "RSS SIZE" (kB) of the stub's python3 r-xp mapping, while it waits
    local ctl i line="" f
    rm -f "$tmp/pfifo" "$tmp/pready" && mkfifo "$tmp/pfifo"
    "$FNBOX" restore "$@" "${rss_img:-$tmp/hello.img}" <"$tmp/pfifo" >/dev/null 2>&1 7>"$tmp/pready" &
    ctl=$!
    exec 9>"$tmp/pfifo"
    # The application's stub (a child of the Sentry's first stub) is a process whose leader
    # has exited: its live thread's smaps.
    python_text() {
        local s p q f
        s=$(pgrep -P "$ctl" -x fnbox-sentry) || return
        for p in $(pgrep -P "$s"); do
            for q in $(pgrep -P "$p"); do
                for f in /proc/"$q"/task/*/smaps; do
                    awk '/r-xp .*\/python3/ {m=1; next} m && /^Size:/ {sz=$2} m && /^Rss:/ {print $2, sz; exit}' "$f" 2>/dev/null
                done
            done
        done | head -1
    }
    for i in $(seq 200); do
        if { [ "${1:-}" != --ready-fd ] || grep -q '^ready' "$tmp/pready"; } && line=$(python_text) && [ -n "$line" ]; then
            break
        fi
        sleep 0.05
    done
    echo "$line"
    echo '{}' >&9
    exec 9>&-
    wait "$ctl"
}
warm_rss=$(text_rss --ready-fd 7)
plain_rss=$(text_rss)
t text_populated "--ready-fd fills the host page tables of host-mapped text's working set only (rss/size kB: warm $warm_rss, plain $plain_rss)" \
    bash -c 'set -- $0 $1; [ -n "$4" ] && [ "$1" -gt "$3" ] && [ "$1" -lt "$2" ]' "$warm_rss" "$plain_rss"
fx "" checkpoint --no-train --template python --code "$tmp/hello" --handler main.handler -o "$tmp/hello-nt.img"
fx "" inspect "$tmp/hello-nt.img"
t ws_no_train "--no-train: no working set" bash -c '! grep -q "^  workingset " <<<"$0" && grep -q "^Working set: none" <<<"$0"' "$out"
# Without a working set to go by, a warm sandbox fills the page tables of host-mapped text whole.
nt_rss=$(rss_img="$tmp/hello-nt.img" text_rss --ready-fd 7)
t text_populated_no_ws "--ready-fd without a working set: all of the text resident (rss/size kB: $nt_rss)" \
    bash -c 'set -- $0; [ -n "$2" ] && [ "$1" = "$2" ]' "$nt_rss"
# The training run cannot touch the host: every mount is read-only then, output is dropped.
mkdir -p "$tmp/wcode" "$tmp/wout"
cat >"$tmp/wcode/main.py" <<'PY'
def handler(event, context):
    open("/out/marker", "w").write("written by an invocation")
    print("training output")
    return {"wrote": True}
PY
fx "" checkpoint --template python --code "$tmp/wcode" --mount "$tmp/wout:/out:rw" -o "$tmp/w.img"
t ws_no_side_effects "the training run wrote nothing to a read-write mount" bash -c '[ "$0" = 0 ] && [ ! -e "$1/marker" ] && [ -z "$2" ]' "$status" "$tmp/wout" "$out"
fx '{}' restore "$tmp/w.img"
t ws_rw_after "a real invocation of that image writes to the mount" bash -c '[ "$0" = 0 ] && [ -s "$1/marker" ]' "$status" "$tmp/wout"
# A training run that does not finish only leaves the working set out.
mkdir -p "$tmp/scode"
printf 'import time\ndef handler(event, context):\n    time.sleep(30)\n' >"$tmp/scode/main.py"
t0=$(date +%s)
fx "" checkpoint --template python --code "$tmp/scode" --timeout-hint 300 -o "$tmp/s.img"
t1=$(date +%s)
fx2_status=$status
fx "" inspect "$tmp/s.img"
t ws_train_timeout "a training run that times out: image written without a working set, in seconds" bash -c '[ "$0" = 0 ] && [ $(($2 - $1)) -lt 10 ] && ! grep -q "^  workingset " <<<"$3"' "$fx2_status" "$t0" "$t1" "$out"

fx 'not json' restore "$tmp/hello.img"
t py_bad_event "an event that is not JSON: Runtime.UnmarshalError" bash -c '[ "$0" = 1 ] && grep -q UnmarshalError <<<"$1"' "$status" "$out"

# 20 restores of one image: 20 different random.random() and uuid4() values, and 20 different
# reads of /dev/urandom, from an fd opened at import time (saved in the image) and a new one;
# /tmp written by one invocation is not seen by the next; a thread started at import time keeps
# working.
mkdir -p "$tmp/clones"
cat >"$tmp/clones/main.py" <<'PY'
import os, queue, random, threading, uuid
jobs, answers = queue.Queue(), queue.Queue()
def worker():
    while True:
        answers.put(jobs.get() * 2)
threading.Thread(target=worker, daemon=True).start()
urandom_at_init = open("/dev/urandom", "rb", buffering=0)
def handler(event, context):
    with open("/dev/urandom", "rb", buffering=0) as f:
        fresh = f.read(16).hex()
    seen = os.path.exists("/tmp/mark")
    with open("/tmp/mark", "w") as f:
        f.write("x")
    jobs.put(21)
    return {"r": random.random(), "u": str(uuid.uuid4()), "seen": seen, "thread": answers.get(timeout=10),
            "dev_old": urandom_at_init.read(16).hex(), "dev_new": fresh}
PY
fx "" checkpoint --template python --code "$tmp/clones" -o "$tmp/clones.img"
: >"$tmp/clones.out"
for i in $(seq 1 20); do
    echo '{}' | timeout 60 "$FNBOX" restore "$tmp/clones.img" >>"$tmp/clones.out" 2>>"$tmp/clones.err"
done
status=0 out=$(head -c 300 "$tmp/clones.out") err=$(tail -c 300 "$tmp/clones.err" 2>/dev/null)
t clones_fresh "20 restores: 20 distinct random(), uuid4() and /dev/urandom reads, /tmp never carried over, the init thread answers" python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ok = (len(rows) == 20 and len({r["r"] for r in rows}) == 20 and len({r["u"] for r in rows}) == 20
      and len({r["dev_old"] for r in rows}) == 20 and len({r["dev_new"] for r in rows}) == 20
      and not any(r["seen"] for r in rows) and all(r["thread"] == 42 for r in rows))
sys.exit(0 if ok else 1)' "$tmp/clones.out"

mkdir -p "$tmp/broken"
echo 'import no_such_module_anywhere' >"$tmp/broken/main.py"
fx "" checkpoint --template python --code "$tmp/broken" -o "$tmp/broken.img"
t py_import_error "import errors are reported at checkpoint time, no image" bash -c '[ "$0" = 1 ] && grep -q "no_such_module_anywhere" <<<"$1" && [ ! -e "$2" ]' "$status" "$err" "$tmp/broken.img"

# The shell and native templates: the event on stdin, the answer on stdout.
mkdir -p "$tmp/shfn" "$tmp/natfn"
cat >"$tmp/shfn/main.sh" <<'SH'
read -r event
echo "shell got: $event"
SH
fx "" checkpoint --template shell --code "$tmp/shfn" -o "$tmp/shfn.img"
fx '{"n":1}
' restore "$tmp/shfn.img"
t shell_template "the shell template answers from its script" test "$status" = 0 -a "$out" = 'shell got: {"n":1}'
cp "$E2E/ckpt_state" "$tmp/natfn/main"
fx "" checkpoint --template native --code "$tmp/natfn" -o "$tmp/natfn.img"
fx 'native
' restore "$tmp/natfn.img"
t native_template "the native template runs the executable from /code" bash -c '[ "$0" = 0 ] && [[ $1 == "ok before="*" line=native" ]]' "$status" "$out"

# Stale code: a changed code file makes restore refuse, naming it.
cp "$tmp/hello.img" "$tmp/hello2.img"
sleep 0.01
echo "# changed" >>"$tmp/hello/main.py"
fx '{}' restore "$tmp/hello2.img"
t stale_code "restore refuses an image whose code changed (status 125, names the file)" bash -c '[ "$0" = 125 ] && grep -q "stale" <<<"$1" && grep -q "main.py" <<<"$1"' "$status" "$err"
fx '' inspect "$tmp/hello2.img"
t stale_inspect "inspect reports the image as stale" bash -c '[ "$0" = 0 ] && grep -q "stale" <<<"$1"' "$status" "$out"

# --no-image-mounts: an image someone else made does not get the host paths it names.
fx '{}' restore --no-image-mounts "$tmp/hello.img"
t no_image_mounts "--no-image-mounts: the code directory is not served, so the image is refused" ended 125 "/code is gone"
fx '{"name":"own"}' restore --no-image-mounts --mount "$tmp/hello:/code:ro" --mount "$PWD/templates/python:/template:ro" "$tmp/hello2.img"
t no_image_mounts_own "--no-image-mounts with the caller's own mounts restores" bash -c '[ "$0" = 0 ] && grep -q "\"hello\": \"own\"" <<<"$1"' "$status" "$out"

# A file held open from a read-only mount (no --code, so no fingerprint of a code directory to
# catch it first): re-walked at restore and checked by size and mtime (snapshot/kstate.c).
mkdir -p "$tmp/ro9p"
printf 'first\nrest\n' >"$tmp/ro9p/f"
fx "" checkpoint --mount "$tmp/ro9p:/data:ro" -o "$tmp/ro9p.img" -- /bin/sh -c 'exec 3</data/f; read -r a <&3; read x; echo "$a"; cat <&3'
t open_file_checkpoint "a program holding a file of a read-only mount open is saved" test "$status" = 0
fx "go
" restore "$tmp/ro9p.img"
t open_file_unchanged "the file unchanged: restored, read on from the saved offset" test "$status" = 0 -a "$out" = "first
rest"
printf 'first\nrest, longer\n' >"$tmp/ro9p/f"
fx "go
" restore "$tmp/ro9p.img"
t open_file_stale_size "the file changed size: refused (125) as stale, naming it, nothing run" \
    stale "/data/f"
printf 'first\nrest\n' >"$tmp/ro9p/f"
touch -d @1500000000 "$tmp/ro9p/f"
fx "go
" restore "$tmp/ro9p.img"
t open_file_stale_mtime "same size and bytes, another modification time: refused as stale too" \
    stale "/data/f"

# restore --root: another root than the image's, the files the program had mapped found there
# by path and checked (busybox, its own executable, must be the same size and age).
mkdir -p "$tmp/root1/bin" "$tmp/root1/tmp"
cp -p /bin/busybox "$tmp/root1/bin/"
touch "$tmp/root1/marker1"
cp -a "$tmp/root1" "$tmp/root2" && rm "$tmp/root2/marker1" && touch "$tmp/root2/marker2"
cp -a "$tmp/root1" "$tmp/root3" && touch -d @1500000000 "$tmp/root3/bin/busybox"
fx "" checkpoint --root "$tmp/root1" -o "$tmp/root.img" -- /bin/busybox sh -c 'read x; echo "got $x"; /bin/busybox ls /'
t root_checkpoint "a program in a root of its own is saved" test "$status" = 0
fx "hi
" restore "$tmp/root.img"
t root_image "restored without --root: the image's root is served" bash -c '[ "$0" = 0 ] && grep -q "^got hi$" <<<"$1" && grep -qx marker1 <<<"$1"' "$status" "$out"
fx "hi
" restore --root "$tmp/root2" "$tmp/root.img"
t root_other "restore --root DIR: DIR is served instead" bash -c '[ "$0" = 0 ] && grep -q "^got hi$" <<<"$1" && grep -qx marker2 <<<"$1" && ! grep -qx marker1 <<<"$1"' "$status" "$out"
fx "hi
" restore --root "$tmp/root3" "$tmp/root.img"
t root_stale "restore --root with another busybox: refused as stale, naming it" \
    stale /bin/busybox
fx "hi
" restore --root "$tmp/no-such-root" "$tmp/root.img"
t root_missing "restore --root of a missing directory: a clear error" ended 125 "root directory '$tmp/no-such-root': No such file or directory"

# The python context's memory_limit_in_mb is the limit the invocation runs under (its restore's
# --memory), not the one the image was made with.
fx "" checkpoint --template python --memory 200M --code "$PWD/tests/e2e/functions/context" --handler main.handler -o "$tmp/context.img"
t context_checkpoint "the context function is saved" test "$status" = 0
fx '{}' restore "$tmp/context.img"
t context_memory_image "without --memory: the checkpoint's 200 MB" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d["memory_limit_in_mb"] == 200 and 0 < d["remaining_ms"] <= 3000 else 1)' "$out"
fx '{}' restore --memory 96M "$tmp/context.img"
t context_memory_restore "restore --memory 96M: 96 MB" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d["memory_limit_in_mb"] == 96 else 1)' "$out"

# --- inspect ------------------------------------------------------------------------------------------
fx '' inspect "$tmp/sh.img"
t inspect_text "header, sections and program" bash -c '[ "$0" = 0 ] && grep -q "format 1.0" <<<"$1" && grep -q "^  memory " <<<"$1" && grep -q "^  kernel " <<<"$1" && grep -q "read x" <<<"$1"' "$status" "$out"
fx '' inspect --json --verify "$tmp/st.img"
t inspect_json "--json --verify: valid JSON with the sections" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d["valid"] and {"meta","kernel","memory"} <= {s["name"] for s in d["sections"]} else 1)' "$out"

# --- refusals of damaged or foreign images -------------------------------------------------------------
size=$(stat -c %s "$tmp/sh.img")
head -c $((size / 2)) "$tmp/sh.img" >"$tmp/trunc.img"
fx '' restore "$tmp/trunc.img"
t truncated "a truncated image is refused (125) with a message that says so" bash -c '[ "$0" = 125 ] && grep -qi "truncat" <<<"$1"' "$status" "$err"
fx '' inspect "$tmp/trunc.img"
t truncated_inspect "inspect exits 1 on a truncated image" test "$status" = 1
# An image from a future fnbox: major version 99 with a valid header checksum (crc32c of the
# header's first 252 bytes, little endian, in its last 4).
python3 - "$tmp/sh.img" "$tmp/ver.img" <<'PY'
import struct, sys
def crc32c(data):
    c = 0xffffffff
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ (0x82f63b78 if c & 1 else 0)
    return c ^ 0xffffffff
img = bytearray(open(sys.argv[1], "rb").read())
img[8:12] = struct.pack("<I", 99)
img[252:256] = struct.pack("<I", crc32c(bytes(img[:252])))
open(sys.argv[2], "wb").write(img)
PY
fx '' restore "$tmp/ver.img"
t wrong_version "a newer major version is refused by name" bash -c '[ "$0" = 125 ] && grep -qi "version" <<<"$1"' "$status" "$err"
cp "$tmp/sh.img" "$tmp/flip.img"
printf '\xff\xee\xdd\xcc' | dd of="$tmp/flip.img" bs=1 seek=$((size - 4096)) conv=notrunc status=none
fx 'x
' restore "$tmp/flip.img"
t corrupt "a corrupted byte is caught by a checksum (125), never a crash" bash -c '[ "$0" = 125 ] && grep -qiE "checksum|corrupt" <<<"$1"' "$status" "$err"
echo "just some text" >"$tmp/text.img"
fx '' restore "$tmp/text.img"
t not_an_image "a file that is not an image" bash -c '[ "$0" = 125 ] && grep -qiE "not an fnbox image|magic|truncat" <<<"$1"' "$status" "$err"

# Hostile kernel state with valid checksums: 40 seeded mutations of the kernel section. Each
# restore refuses clearly or (when the bytes did not matter) runs; no host process may crash.
if out=$(python3 tests/e2e/image_mutate.py "$FNBOX" "$tmp/sh.img" 40 20261201 2>&1); then status=0; else status=1; fi
err=""
t mutated_kernel_state "40 mutated kernel sections: refused or run, never a crash or a hang" test "$status" = 0
# The same for the sections that describe the memory: the page reference table, the hot pages'
# renumbering and the working set of the python image (no checksum of their own past the
# section's), and the memory chunks of the shell's (each chunk checksummed; its headers too).
status=0
for sec in pagerefs pagemap workingset; do
    python3 tests/e2e/image_mutate.py "$FNBOX" "$tmp/hello.img" 30 20261203 $sec || status=1
done
python3 tests/e2e/image_mutate.py "$FNBOX" "$tmp/sh.img" 30 20261203 memory || status=1
t mutated_memory_sections "30 mutations each of pagerefs, pagemap, workingset and memory: refused or run, never a crash or a hang" test "$status" = 0
# A page reference of count 0 in the shell's image, checksums fixed (what a crafted image may
# carry): inspect --verify refuses it by name, as a restore does, before anything is loaded;
# plain inspect reads no table and shows it.
cp "$tmp/sh.img" "$tmp/zeroref.img"
python3 -c 'import sys; sys.path[:0] = ["tests/e2e"]; import imagelib; imagelib.zero_first_page_ref(sys.argv[1])' "$tmp/zeroref.img"
fx '' inspect --verify "$tmp/zeroref.img"
t verify_page_refs "inspect --verify: a page reference table with a zero count, refused by name (1)" \
    bash -c '[ "$0" = 1 ] && grep -q "page reference table" <<<"$1"' "$status" "$err"
fx '' inspect "$tmp/zeroref.img"
t inspect_no_tables "plain inspect reads no table: 0" test "$status" = 0
fx 'x
' restore "$tmp/zeroref.img"
t restore_page_refs "restore refuses the same image in the same words (125)" \
    bash -c '[ "$0" = 125 ] && grep -q "page reference table" <<<"$1"' "$status" "$err"
fx '' inspect --verify "$tmp/sh.img"
t verify_intact "inspect --verify of the image it was made from: 0" test "$status" = 0
fx '' inspect --json "$tmp/sh.img"
pages=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["memory_pages"])' <<<"$out" 2>/dev/null)
fx '' inspect "$tmp/sh.img"
t inspect_memory "inspect shows the memory in use (a restore's --memory must allow it): $pages pages" \
    bash -c '[ "$0" -gt 0 ] 2>/dev/null && grep -q "^Memory: .* in use ($0 pages" <<<"$1"' "$pages" "$out"
# A page reference table spread over the whole memory file (an entry every 1024 pages, 64 Ki
# of them: a 0.8 MB section that would have the Sentry touch 256 MiB of reference counts):
# more pages in use than the sandbox's --memory allows, refused before any is counted.
cp "$tmp/sh.img" "$tmp/sparse.img"
python3 - "$tmp/sparse.img" <<'PY'
import struct, sys
sys.path.insert(0, "tests/e2e")
from imagelib import ENTRY, HDR, crc32c, sections
img = bytearray(open(sys.argv[1], "rb").read())
e, off, length = sections(img)["pagerefs"]
old = bytes(img[off:off + length])
top = struct.unpack_from("<Q", old, length - 12)[0]
new = old + b"".join(struct.pack("<QI", p, 1) for p in range(((top >> 10) + 1) << 10, (64 << 20) - 1024, 1024))
struct.pack_into("<QQQ", img, e + 24, len(img), len(new), len(new))  # moved to the end
img += new
struct.pack_into("<I", img, e + 48, crc32c(new))
nsec, toff = struct.unpack_from("<I", img, 68)[0], struct.unpack_from("<Q", img, 72)[0]
struct.pack_into("<I", img, 80, crc32c(bytes(img[toff:toff + nsec * ENTRY])))
struct.pack_into("<I", img, HDR - 4, crc32c(bytes(img[:HDR - 4])))
open(sys.argv[1], "wb").write(img)
PY
fx 'x
' restore --memory 64M "$tmp/sparse.img"
t memory_over_limit "pages in use beyond --memory: refused (125) naming both sizes" \
    bash -c '[ "$0" = 125 ] && grep -q "its memory (256 MiB in use) is more than the sandbox.s memory limit (64 MiB)" <<<"$1"' "$status" "$err"
fx 'x
' restore --memory 1M "$tmp/sh.img"
t memory_within_limit "the shell image (well under 1 MiB in use) under --memory 1M: runs" test "$status" = 7 -a "$out" = "got x"
# Tasks: restores have a limit (--pids, default 1024 as on AWS Lambda). An image with more
# tasks than it is refused before any is made; after the restore fork fails with EAGAIN at it.
fx '' checkpoint -o "$tmp/three.img" -- /bin/sh -c 'sleep 1000 & sleep 1000 & read x; echo "got $x"'
fx 'x
' restore --pids 2 "$tmp/three.img"
t pids_image_over "3 tasks in the image under --pids 2: refused (125) by name" \
    bash -c '[ "$0" = 125 ] && grep -q "image: 3 tasks, more than the sandbox.s task limit (2, --pids)" <<<"$1"' "$status" "$err"
fx 'x
' restore --pids 3 "$tmp/three.img"
t pids_image_within "... under --pids 3: runs" test "$status" = 0 -a "$out" = "got x"
fx '' checkpoint --mount "$PWD/build/escape:/t" -o "$tmp/forkbomb.img" -- /bin/sh -c 'read x; exec /t/fork_bomb'
fx 'go
' restore --pids 32 --timeout 30s "$tmp/forkbomb.img"
t pids_after_restore "a fork bomb restored under --pids 32: EAGAIN at 32 tasks, 31 children, clean exit" \
    test "$status" = 0
fx '' restore --help
t pids_default "restore --help gives the default task limit" grep -q "default 1024" <<<"$out"
fx '' checkpoint --pids 2 -o "$tmp/three2.img" -- /bin/sh -c 'sleep 1000 & sleep 1000 & read x'
t pids_checkpoint "checkpoint --pids 2: the third task cannot be made during init (status 1, the shell's error shown)" \
    bash -c '[ "$0" = 1 ] && grep -q "fork" <<<"$1" && [ ! -e "$2" ]' "$status" "$err" "$tmp/three2.img"

# --- programs that never reach the ready point ----------------------------------------------------------
fx '' checkpoint -o "$tmp/true.img" -- /bin/true
t exit_before_ready "a program that exits first: status 1, explained, no image" bash -c '[ "$0" = 1 ] && grep -q "before its ready point" <<<"$1" && [ ! -e "$2" ]' "$status" "$err" "$tmp/true.img"
# A crash (a real SIGSEGV: a write through a null pointer) after something on stderr: status 1,
# the signal named, the program's stderr shown, no image and no temporary file.
fx '' checkpoint --mount "$E2E:/e" -o "$tmp/segv.img" -- /bin/sh -c 'echo "init went wrong" >&2; exec /e/segv'
t crash_before_ready "a program that crashes first: status 1, signal and its stderr shown, no image" \
    bash -c '[ "$0" = 1 ] && grep -q "init went wrong" <<<"$1" && grep -q "killed by signal 11 (Segmentation fault) before its ready point" <<<"$1" && [ ! -e "$2" ] && ! ls "$2".tmp.* 2>/dev/null' "$status" "$err" "$tmp/segv.img"
# (2 s, not 1: the message names what each task is doing then, and a loaded host may still be
# starting sleep or python after 1 s.)
fx '' checkpoint --init-timeout 2s -o "$tmp/slow.img" -- /bin/sh -c 'sleep 30'
t init_timeout "--init-timeout: status 124 and a message" ended 124 "init-timeout"
t init_timeout_says_why "--init-timeout: the message says what each task was doing" bash -c 'grep -q "its tasks then: 1 (sh) waiting in wait4, 2 (sleep) waiting in .*nanosleep\$" <<<"$0"' "$err"
fx '' checkpoint --init-timeout 2s -o "$tmp/spin.img" -- /usr/bin/python3 -c 'while True: pass'
t init_timeout_running "--init-timeout of a program that never waits: it is named as running" bash -c '[ "$1" = 124 ] && grep -q "its tasks then: 1 (python3) running\$" <<<"$0"' "$err" "$status"
fx '' checkpoint -o "$tmp/proc.img" -- /usr/bin/python3 -c 'f = open("/proc/self/status"); input()'
t unsupported_state "state that cannot be saved yet (an open /proc file): refused by name, no image" bash -c '[ "$0" = 125 ] && grep -q "a file on proc, which cannot be saved yet" <<<"$1" && [ ! -e "$2" ]' "$status" "$err" "$tmp/proc.img"
# A FIFO in tmpfs with bytes in it and both ends open, and one nobody holds open.
fx '' checkpoint -o "$tmp/fifo.img" --mount "$PWD/tests/e2e:/e2e:ro" -- /usr/bin/python3 -c '
import os, stat, sys
os.mkfifo("/tmp/q")
r = os.open("/tmp/q", os.O_RDONLY | os.O_NONBLOCK)
w = os.open("/tmp/q", os.O_WRONLY)
os.write(w, b"in the fifo")
os.mkfifo("/tmp/idle")
line = sys.stdin.readline().strip()
got = os.read(r, 100)
os.write(w, b"after")
got2 = os.read(r, 100)
os.close(w)
print(line, got, got2, os.read(r, 100), stat.S_ISFIFO(os.stat("/tmp/idle").st_mode))'
t fifo_ckpt "a program with FIFOs in tmpfs can be checkpointed" test "$status" = 0
fx 'ff
' restore "$tmp/fifo.img"
t fifo "a FIFO keeps its bytes and its ends; end of file when the writer closes" test "$status" = 0 -a "$out" = "ff b'in the fifo' b'after' b'' True"
# Descriptors in flight: a pipe's read end and a socket's own other end, sent and not received.
fx '' checkpoint -o "$tmp/scm.img" -- /usr/bin/python3 -c '
import os, socket, sys
a, b = socket.socketpair()
r, w = os.pipe()
os.write(w, b"through the pipe")
socket.send_fds(a, [b"m"], [r, a.fileno()])
os.close(r)
line = sys.stdin.readline().strip()
msg, fds, _, _ = socket.recv_fds(b, 10, 2)
got = os.read(fds[0], 100)
a2 = socket.socket(fileno=fds[1])
a2.sendall(b"via the passed end")
print(line, msg, got, b.recv(100))'
t scm_in_flight_ckpt "descriptors in flight can be checkpointed" test "$status" = 0
fx 'scm
' restore "$tmp/scm.img"
t scm_in_flight "after the restore the receiver gets working descriptors" test "$status" = 0 -a "$out" = "scm b'm' b'through the pipe' b'via the passed end'"

# epoll, eventfd and timerfd state survive: an interest list with a pipe and an eventfd, a
# timerfd armed before the checkpoint.
fx "" checkpoint -o "$tmp/ep.img" -- /usr/bin/python3 -c '
import os, select, sys, time
r, w = os.pipe()
efd = os.eventfd(0)
ep = select.epoll()
ep.register(r, select.EPOLLIN)
ep.register(efd, select.EPOLLIN | select.EPOLLET)
os.eventfd_write(efd, 3)
line = sys.stdin.readline().strip()
os.write(w, b"x")
got = sorted(fd for fd, ev in ep.poll(1))
print(line, got == sorted([r, efd]), os.eventfd_read(efd))'
fx 'ep
' restore "$tmp/ep.img"
t epoll_state "an epoll interest list and an eventfd counter survive" test "$status" = 0 -a "$out" = "ep True 3"

# A CPU-time interval timer armed before the checkpoint fires after the restore.
fx "" checkpoint -o "$tmp/vt.img" -- /usr/bin/python3 -c '
import signal, sys
fired = []
signal.signal(signal.SIGVTALRM, lambda s, f: fired.append(s))
signal.setitimer(signal.ITIMER_VIRTUAL, 0.05)
line = sys.stdin.readline().strip()
left = signal.getitimer(signal.ITIMER_VIRTUAL)[0]
n = 0
while not fired and n < 50000000:
    n += 1
print(line, 0 < left <= 0.05, bool(fired))'
fx 'vt
' restore "$tmp/vt.img"
t itimer_virtual "ITIMER_VIRTUAL keeps its remaining CPU time across a restore and fires" test "$status" = 0 -a "$out" = "vt True True"

# Unix sockets: named (a path in tmpfs, abstract), listening with a pending connection,
# accepted, datagrams queued from a named sender: the same behaviour natively and restored.
sktag=-$$-$RANDOM
native_sk=$(echo native | python3 tests/e2e/unix_sockets.py "$tmp" "$sktag" 2>&1)
fx "" checkpoint -o "$tmp/sk.img" --mount "$PWD/tests/e2e:/e2e:ro" -- /usr/bin/python3 /e2e/unix_sockets.py /tmp "$sktag"
t unix_sockets_ckpt "a program with named, listening and datagram unix sockets can be checkpointed" test "$status" = 0
fx 'restored
' restore "$tmp/sk.img"
t unix_sockets "unix sockets work on after a restore as natively (${native_sk:0:60}...)" test "$status" = 0 -a "${out#restored }" = "${native_sk#native }"
fx 'again
' restore "$tmp/sk.img"
t unix_sockets_twice "and in a second clone of the image" test "$status" = 0 -a "${out#again }" = "${native_sk#native }"
if out=$(python3 tests/e2e/image_mutate.py "$FNBOX" "$tmp/sk.img" 40 20261202 2>&1); then status=0; else status=1; fi
err=""
t mutated_socket_state "40 mutated kernel sections of an image with sockets: refused or run, never a crash" test "$status" = 0

# tmpfs inode numbers survive a restore (hard links stay the same inode), and files made after
# it get numbers of their own.
fx "" checkpoint -o "$tmp/ino.img" -- /usr/bin/python3 -c '
import os, sys
for i in range(5):  # numbers with gaps: a restore that renumbered would not keep them
    open("/tmp/x%d" % i, "w").close()
    os.unlink("/tmp/x%d" % i)
os.mkdir("/tmp/d")
open("/tmp/d/f", "w").close()
os.link("/tmp/d/f", "/tmp/d/g")
before = {n: os.stat("/tmp/d/" + n).st_ino for n in ("f", "g")}
before["d"] = os.stat("/tmp/d").st_ino
line = sys.stdin.readline().strip()
after = {n: os.stat("/tmp/d/" + n).st_ino for n in ("f", "g")}
after["d"] = os.stat("/tmp/d").st_ino
open("/tmp/d/h", "w").close()
h = os.stat("/tmp/d/h").st_ino
print(line, before == after, after["f"] == after["g"], h not in after.values())'
fx 'ino
' restore "$tmp/ino.img"
t tmpfs_inode_numbers "tmpfs inode numbers are kept; new files get new ones" test "$status" = 0 -a "$out" = "ino True True True"

# A POSIX timer on the process CPU clock (timer_create through ctypes) armed before the
# checkpoint keeps its remaining CPU time, does not run down while the image waits, and fires.
fx "" checkpoint -o "$tmp/ct.img" -- /usr/bin/python3 -c '
import ctypes, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
fired = []
signal.signal(signal.SIGALRM, lambda s, f: fired.append(s))
tid = ctypes.c_void_p()
assert libc.timer_create(2, None, ctypes.byref(tid)) == 0  # CLOCK_PROCESS_CPUTIME_ID, SIGALRM
spec = (ctypes.c_long * 4)(0, 0, 0, 60000000)             # it_value 60 ms
assert libc.timer_settime(tid, 0, spec, None) == 0
line = sys.stdin.readline().strip()
cur = (ctypes.c_long * 4)()
libc.timer_gettime(tid, cur)
left = cur[2] + cur[3] / 1e9
n = 0
while not fired and n < 50000000:
    n += 1
print(line, 0 < left <= 0.06, bool(fired))'
t cpu_timer_ckpt "a process with a CPU-clock POSIX timer can be checkpointed" test "$status" = 0 -a -s "$tmp/ct.img"
sleep 0.2
fx 'ct
' restore "$tmp/ct.img"
t cpu_posix_timer "a CPU-clock POSIX timer keeps its remaining CPU time across a restore and fires" test "$status" = 0 -a "$out" = "ct True True"

# A socketpair with bytes queued before the checkpoint and a shutdown after it.
fx "" checkpoint -o "$tmp/sp.img" -- /usr/bin/python3 -c '
import socket, sys
a, b = socket.socketpair()
a.sendall(b"before ")
line = sys.stdin.readline().strip()
a.sendall(line.encode())
a.shutdown(socket.SHUT_WR)
print(b.recv(100).decode() + b.recv(100).decode(), b.recv(100) == b"")'
fx 'after
' restore "$tmp/sp.img"
t socketpair_state "a socketpair keeps its queued bytes and works after a restore" test "$status" = 0 -a "$out" = "before after True"

# Started with stdin (or stdout) closed, fnbox's own fds must not take their numbers: the
# program gets an empty request, not one of fnbox's files (it used to read the image).
out=$(timeout -k 5 60 "$FNBOX" restore "$tmp/sh.img" <&- 2>"$tmp/err")
status=$?
err=$(cat "$tmp/err")
t closed_stdin "restore with stdin closed: an empty request" test "$status" = 7 -a "$out" = "got "
timeout -k 5 60 "$FNBOX" run -- /bin/sh -c 'read x; echo "[$x]" >&2' <&- >&- 2>"$tmp/err"
status=$?
t closed_stdio "run with stdin and stdout closed: the program sees end of file" \
    bash -c '[ "$0" = 0 ] && [ "$1" = "[]" ]' "$status" "$(cat "$tmp/err")"

# --- restore options --------------------------------------------------------------------------------------
fx '' checkpoint -o "$tmp/loop.img" -- /bin/sh -c 'read x; while :; do :; done'
fx 'go
' restore --timeout 1s "$tmp/loop.img"
t restore_timeout "--timeout kills the restored sandbox: 124" ended 124 "timed out"
exec 7>"$tmp/ready"
fx 'x
' restore --ready-fd 7 "$tmp/sh.img"
exec 7>&-
t ready_fd "--ready-fd reports ready (and the Gofer's pid) once restored, then the exit status (and no page read on need: an image without a working set loads whole) before the teardown" \
    bash -c '[[ "$(cat "$0")" =~ ^ready\ [0-9]+$'"'"'\n'"'"'exit\ $2\ image_pages\ 0$ ]] && [ "$1" = "got x" ]' "$tmp/ready" "$out" "$status"
# --netns-fd: the Sentry and the Gofer join the given namespace (seen while the sandbox waits
# for its request); without it the Sentry has one of its own. Refusals: not a namespace, or
# the caller's own network namespace.
netns_of_restore() { # [restore args...]: "SENTRY-NS GOFER-NS OUTPUT" (NS=ipc: IPC namespaces)
    local ctl s g i
    rm -f "$tmp/nsfifo" && mkfifo "$tmp/nsfifo"
    "$FNBOX" restore "$@" "$tmp/sh.img" <"$tmp/nsfifo" >"$tmp/nsout" 2>&1 &
    ctl=$!
    exec 9>"$tmp/nsfifo"
    for i in $(seq 100); do
        s=$(pgrep -P "$ctl" -x fnbox-sentry) && g=$(pgrep -P "$ctl" -x fnbox-gofer) && break
        sleep 0.05
    done
    echo "$(readlink /proc/$s/ns/${NS:-net}) $(readlink /proc/$g/ns/${NS:-net})"
    echo z >&9
    exec 9>&-
    wait "$ctl"
    cat "$tmp/nsout"
}
unshare -n sleep 120 &
nsholder=$!
for _ in $(seq 50); do [ "$(readlink /proc/$nsholder/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break; sleep 0.05; done
given=$(readlink /proc/$nsholder/ns/net)
own=$(readlink /proc/self/ns/net)
got=$(netns_of_restore --netns-fd 8 8</proc/$nsholder/ns/net)
t netns_fd "--netns-fd: the Sentry and the Gofer join the given network namespace" \
    test "$got" = "$given $given
got z"
got=$(FNBOX_NS_CACHE=0 netns_of_restore)
sentry_ns=${got%% *}
t netns_own "without --netns-fd (and no namespace cache) the Sentry makes its own network namespace" \
    bash -c '[ "$0" != "$1" ] && [ "$0" != "$2" ] && [ "${3#* }" = "$1
got z" ]' "$sentry_ns" "$own" "$given" "$got"
got=$(FNBOX_NS_CACHE_DIR=$tmp/nscache2/ns netns_of_restore)
sentry_ns=${got%% *}
t netns_cached "with the namespace cache the Sentry and the Gofer join its empty network namespace" \
    bash -c '[ "$0" != "$1" ] && [ "$0" != "$2" ] && [ "${3#* }" = "$0
got z" ]' "$sentry_ns" "$own" "$given" "$got"
kill "$nsholder"
# The same for the IPC namespace (--ipcns-fd, the cache's "ipc.1"); without either, each of
# the Sentry and the Gofer has one of its own.
unshare -i sleep 120 &
nsholder=$!
for _ in $(seq 50); do [ "$(readlink /proc/$nsholder/ns/ipc)" != "$(readlink /proc/self/ns/ipc)" ] && break; sleep 0.05; done
given=$(readlink /proc/$nsholder/ns/ipc)
own=$(readlink /proc/self/ns/ipc)
got=$(NS=ipc netns_of_restore --ipcns-fd 8 8</proc/$nsholder/ns/ipc)
t ipcns_fd "--ipcns-fd: the Sentry and the Gofer join the given IPC namespace" \
    test "$got" = "$given $given
got z"
got=$(NS=ipc FNBOX_NS_CACHE=0 netns_of_restore)
t ipcns_own "without --ipcns-fd (and no namespace cache) each makes its own IPC namespace" \
    bash -c 's=${0%% *}; g=${0#* }; g=${g%%$'"'"'\n'"'"'*}; [ "$s" != "$1" ] && [ "$g" != "$1" ] && [ "$s" != "$g" ]' "$got" "$own"
got=$(NS=ipc FNBOX_NS_CACHE_DIR=$tmp/nscache3/ns netns_of_restore)
cached="ipc:[$(stat -L -c %i "$(ls -d "$tmp"/nscache3/ns/ipc.1.* | head -1)")]"
t ipcns_cached "with the namespace cache both join its empty IPC namespace" \
    test "$got" = "$cached $cached
got z"
kill "$nsholder"
fx '' restore --ipcns-fd 8 "$tmp/sh.img" 8</proc/self/ns/ipc
t ipcns_fd_host "--ipcns-fd with the caller's own IPC namespace is refused (2)" \
    ended 2 "own IPC namespace"
fx '' restore --ipcns-fd 8 "$tmp/sh.img" 8</proc/self/ns/net
t ipcns_fd_not_ipc "--ipcns-fd with a network namespace is refused (2)" \
    ended 2 "not an IPC namespace"
fx '' restore --netns-fd 8 "$tmp/sh.img" 8</etc/hostname
t netns_fd_not_ns "--netns-fd with a plain file is refused (2)" \
    ended 2 "not a namespace"
fx '' restore --netns-fd 8 "$tmp/sh.img" 8</proc/self/ns/net
t netns_fd_host "--netns-fd with the caller's own network namespace is refused (2)" \
    ended 2 "own network namespace"
# --empty-root-fd: the Sentry checks the root it joins (the serve tests cover the real one).
fx '' restore --empty-root-fd 8 "$tmp/sh.img" 8</proc/self/ns/mnt
t empty_root_fd_host "--empty-root-fd with the host's mount namespace: refused by the Sentry (125)" \
    ended 125 "not an empty read-only directory"
fx '' restore --empty-root-fd 8 "$tmp/sh.img" 8</proc/self/ns/net
t empty_root_fd_not_mnt "--empty-root-fd with a network namespace is refused (2)" \
    ended 2 "not a mount namespace"
# --- namespaces kept between restores (api/ns_cache.h), in a cache directory of this test's -------
nsc=$tmp/nscache/ns
mkdir -p "$tmp/nsfn"
cp "$tmp/shfn/main.sh" "$tmp/nsfn/main.sh"
fx "" checkpoint --template shell --code "$tmp/nsfn" -o "$tmp/nsfn.img"
FNBOX_NS_CACHE_DIR=$nsc fx '{"n":2}
' restore -vv "$tmp/nsfn.img"
t ns_cache_first "the first restore makes the namespaces and keeps them" bash -c '[ "$0" = 0 ] && [ "$1" = "shell got: {\"n\":2}" ] && grep -q "network made and kept, root made and kept" <<<"$2" && grep -q "view to build" <<<"$2" && grep -q "view kept" <<<"$2"' "$status" "$out" "$err"
FNBOX_NS_CACHE_DIR=$nsc fx '{"n":3}
' restore -vv "$tmp/nsfn.img"
t ns_cache_joined "the next one joins all three and answers the same" bash -c '[ "$0" = 0 ] && [ "$1" = "shell got: {\"n\":3}" ] && grep -q "network joined, root joined" <<<"$2" && grep -q "namespace cache: view joined" <<<"$2"' "$status" "$out" "$err"
t ns_cache_private "the cache directory is a private mount of its own" bash -c 'grep -q " $0 $0 .* - " /proc/self/mountinfo && ! grep " $0 $0 " /proc/self/mountinfo | grep -q shared:' "$nsc"
# The code directory replaced by a copy (same content and times, another inode), the original
# deleted: a cached view would serve the deleted directory, whose files are gone.
mv "$tmp/nsfn" "$tmp/nsfn.old"
cp -a "$tmp/nsfn.old" "$tmp/nsfn"
rm -rf "$tmp/nsfn.old"
FNBOX_NS_CACHE_DIR=$nsc fx '{"n":4}
' restore -vv "$tmp/nsfn.img"
t ns_cache_replaced_code "a replaced code directory gets a fresh view, not the cached one" bash -c '[ "$0" = 0 ] && [ "$1" = "shell got: {\"n\":4}" ] && grep -q "network joined, root joined" <<<"$2" && grep -q "namespace cache: view to build" <<<"$2"' "$status" "$out" "$err"
FNBOX_NS_CACHE=0 FNBOX_NS_CACHE_DIR=$nsc fx '{"n":5}
' restore -vv "$tmp/nsfn.img"
t ns_cache_off "FNBOX_NS_CACHE=0: no cache, the same answer" bash -c '[ "$0" = 0 ] && [ "$1" = "shell got: {\"n\":5}" ] && ! grep -q "namespace cache" <<<"$2"' "$status" "$out" "$err"

# --- image memory kept decompressed between restores (api/mem_cache.h), in a directory of this test's
mc=$tmp/memcache
mkdir -m 700 "$mc"
mcount() { find "$mc" -maxdepth 1 -name 'v1-*' | wc -l; }
FNBOX_MEM_CACHE_DIR=$mc fx "" checkpoint --template python --code "$tmp/hello" --handler main.handler -o "$tmp/mc.img"
mentry=$(find "$mc" -maxdepth 1 -name 'v1-*' | head -1)
t mem_cache_checkpoint "the checkpoint keeps its image's memory: one read-only entry of whole pages" \
    bash -c '[ "$0" = 0 ] && [ "$1" = 1 ] && [ "$(stat -c %a "$2")" = 400 ] && (( $(stat -c %s "$2") % 4096 == 0 && $(stat -c %s "$2") > 1000000 ))' "$status" "$(mcount)" "$mentry"
FNBOX_MEM_CACHE_DIR=$mc fx '{"name":"ada"}' restore -vv "$tmp/mc.img"
t mem_cache_hit "a restore takes the image's memory from the entry and answers" \
    bash -c '[ "$0" = 0 ] && grep -q "\"hello\": \"ada\"" <<<"$1" && grep -q "memory cache: image memory from entry" <<<"$2" && grep -q "restored in .* (the image.s memory from the memory cache)" <<<"$2"' "$status" "$out" "$err"
# What the restored program runs on really is the entry's: its strings changed there, the
# answer changes (as root the 0400 entry can be written in place; its name stays).
python3 -c '
import sys; p = sys.argv[1]; b = open(p, "rb").read()
assert b.count(b"hello") > 0
open(p, "r+b").write(b.replace(b"hello", b"HELLO"))' "$mentry"
FNBOX_MEM_CACHE_DIR=$mc fx '{"name":"ada"}' restore "$tmp/mc.img"
t mem_cache_used "the restore runs on the entry's memory (changed there, the answer changes)" \
    bash -c '[ "$0" = 0 ] && grep -q "\"HELLO\": \"ada\"" <<<"$1"' "$status" "$out"
# The image touched (its times changed, so its change time): the entry is not for it any more.
touch "$tmp/mc.img"
FNBOX_MEM_CACHE_DIR=$mc fx '{"name":"bob"}' restore -vv "$tmp/mc.img"
t mem_cache_image_changed "a changed image file does not use the entry made from it; a new one is made" \
    bash -c '[ "$0" = 0 ] && grep -q "\"hello\": \"bob\"" <<<"$1" && grep -q "memory cache: none for this image" <<<"$2" && grep -q "memory cache: entry .* made" <<<"$2" && grep -q "restored in .* no memory cache entry for it yet" <<<"$2" && [ "$3" = 2 ]' "$status" "$out" "$err" "$(mcount)"
# A copy of the image is another file: its own entry, made by its first restore.
cp "$tmp/mc.img" "$tmp/mc2.img"
FNBOX_MEM_CACHE_DIR=$mc fx '{"name":"cy"}' restore "$tmp/mc2.img"
FNBOX_MEM_CACHE_DIR=$mc fx '{"name":"di"}' restore -vv "$tmp/mc2.img"
t mem_cache_copy "a copied image gets its entry at its first restore, used by the next" \
    bash -c '[ "$0" = 0 ] && grep -q "\"hello\": \"di\"" <<<"$1" && grep -q "memory cache: image memory from entry" <<<"$2" && [ "$3" = 3 ]' "$status" "$out" "$err" "$(mcount)"
# An entry others could change is not used.
chmod 600 "$mc"/v1-*
FNBOX_MEM_CACHE_DIR=$mc fx '{"name":"ed"}' restore -vv "$tmp/mc2.img"
t mem_cache_writable_entry "an entry that is not read-only is not used (the image is read)" \
    bash -c '[ "$0" = 0 ] && grep -q "\"hello\": \"ed\"" <<<"$1" && grep -q "is not a read-only file" <<<"$2"' "$status" "$out" "$err"
chmod 400 "$mc"/v1-*
# The bound: a cache of 1 MiB keeps nothing of a 6 MiB memory, and makes room for what it would
# keep by removing the least recently used.
cp "$tmp/mc.img" "$tmp/mc3.img"
FNBOX_MEM_CACHE_MB=1 FNBOX_MEM_CACHE_DIR=$mc fx '{"name":"fy"}' restore -vv "$tmp/mc3.img"
t mem_cache_bound "an image memory larger than FNBOX_MEM_CACHE_MB is not kept" \
    bash -c '[ "$0" = 0 ] && grep -q "\"hello\": \"fy\"" <<<"$1" && grep -q "larger than the cache" <<<"$2" && [ "$3" = 3 ]' "$status" "$out" "$err" "$(mcount)"
FNBOX_MEM_CACHE_MB=14 FNBOX_MEM_CACHE_DIR=$mc fx '{"name":"gu"}' restore -vv "$tmp/mc3.img"
t mem_cache_lru "room made by removing the least recently used entries" \
    bash -c '[ "$0" = 0 ] && grep -q "\"hello\": \"gu\"" <<<"$1" && grep -q "memory cache: entry .* removed" <<<"$2" && [ "$3" = 2 ]' "$status" "$out" "$err" "$(mcount)"
cp "$tmp/mc.img" "$tmp/mc4.img"
FNBOX_MEM_CACHE=0 FNBOX_MEM_CACHE_DIR=$mc fx '{"name":"hal"}' restore -vv "$tmp/mc4.img"
t mem_cache_off "FNBOX_MEM_CACHE=0: nothing looked up or kept, the same answer" \
    bash -c '[ "$0" = 0 ] && grep -q "\"hello\": \"hal\"" <<<"$1" && ! grep -q "memory cache" <<<"$2" && [ "$3" = 2 ]' "$status" "$out" "$err" "$(mcount)"

# --- memory files handed from one restore of an image to the next (api/mem_cache.h): spares in a
# directory of this test's on a tmpfs. The function checks that its fresh memory reads zero and
# leaves 8 MiB of 0xa5 in its memory file at its exit.
sp=$(mktemp -d /dev/shm/fnbox-spare-test-XXXXXX)
scount() { find "$sp" -maxdepth 1 -name 's-v1-*' | wc -l; }
spx() { FNBOX_MEM_SPARE_DIR=$sp FNBOX_MEM_CACHE_DIR=$mc fx "$@"; }
spx "" checkpoint --template python --code tests/e2e/functions/dirty_memory --handler main.handler -o "$tmp/spare.img"
spx '{}' restore -vv "$tmp/spare.img"
t mem_spare_new "a restore with a memory cache entry makes its memory file in the spares' directory and leaves it there" \
    bash -c '[ "$0" = 0 ] && [ "$1" = "$DIRTY_CLEAN" ] && grep -q "memory files: a new one" <<<"$2" && [ "$3" = 1 ]' "$status" "$out" "$err" "$(scount)"
spare=$(find "$sp" -maxdepth 1 -name 's-v1-*' | head -1)
entry=$mc/$(basename "$spare" | sed 's/^s-//; s/-[0-9]*$//') # the cache entry it is named after
t mem_spare_punched "the spare is the user's alone (0600) and holds no more than the image's hot pages, not the 8 MiB the function left" \
    bash -c '[ "$(stat -c %a "$0")" = 600 ] && [ -n "$1" ] && (( $(stat -c %b "$0") * 512 <= $(stat -c %s "$1") ))' "$spare" "$entry"
spx '{}' restore -vv "$tmp/spare.img"
t mem_spare_reused "the next restore takes it, finds its fresh memory zero, and gives it back" \
    bash -c '[ "$0" = 0 ] && [ "$1" = "$DIRTY_CLEAN" ] && grep -q "memory files: a spare of an earlier restore" <<<"$2" && grep -q "memory file given: [1-9][0-9]* KiB of it kept" <<<"$2" && [ "$3" = 1 ]' "$status" "$out" "$err" "$(scount)"
spare=$(find "$sp" -maxdepth 1 -name 's-v1-*' | head -1)
chmod 644 "$spare"
spx '{}' restore -vv "$tmp/spare.img"
t mem_spare_open_to_others "a spare others could read is removed, not used" \
    bash -c '[ "$0" = 0 ] && [ "$1" = "$DIRTY_CLEAN" ] && grep -q "is not a read-write file of this user.s alone" <<<"$2" && grep -q "memory files: a new one" <<<"$2" && [ "$3" = 1 ]' "$status" "$out" "$err" "$(scount)"
spare=$(find "$sp" -maxdepth 1 -name 's-v1-*' | head -1)
ln "$spare" "$sp/other-name"
spx '{}' restore -vv "$tmp/spare.img"
t mem_spare_two_links "a spare with another name as well is removed, not used" \
    bash -c '[ "$0" = 0 ] && [ "$1" = "$DIRTY_CLEAN" ] && grep -q "is not a read-write file of this user.s alone" <<<"$2" && grep -q "memory files: a new one" <<<"$2"' "$status" "$out" "$err"
rm -f "$sp/other-name"
spx '{"mb": 512}' restore --memory 64M "$tmp/spare.img"
t mem_spare_failed "a sandbox that did not end by itself (out of memory) gives nothing back" \
    bash -c '[ "$0" = 137 ] && [ "$1" = 0 ] && [ -z "$(ls -A "$2")" ]' "$status" "$(scount)" "$sp"
spx '{}' restore "$tmp/spare.img"
FNBOX_MEM_SPARE=0 spx '{}' restore -vv "$tmp/spare.img"
t mem_spare_off "FNBOX_MEM_SPARE=0: no spare taken or kept, the same answer" \
    bash -c '[ "$0" = 0 ] && [ "$1" = "$DIRTY_CLEAN" ] && ! grep -q "memory files" <<<"$2" && [ "$3" = 1 ]' "$status" "$out" "$err" "$(scount)"
# A spare unused for a minute is removed by the next restore that gives one back (of any image).
touch -a -d '-2 min' "$sp"/s-v1-*
spx '{"name":"x"}' restore "$tmp/mc.img"
spx '{"name":"y"}' restore "$tmp/mc.img"
t mem_spare_stale "a spare unused for a minute is removed; the other image's is kept" \
    bash -c '[ "$0" = 0 ] && [ "$1" = 1 ] && [ -z "$(find "$2" -maxdepth 1 -name "s-${3}-*")" ]' "$status" "$(scount)" "$sp" "$(basename "$entry")"
mkdir -m 700 "$tmp/spare-disk"
FNBOX_MEM_SPARE_DIR=$tmp/spare-disk FNBOX_MEM_CACHE_DIR=$mc fx '{}' restore -vv "$tmp/spare.img"
t mem_spare_not_tmpfs "a spares' directory that is not a tmpfs is not used" \
    bash -c '[ "$0" = 0 ] && [ "$1" = "$DIRTY_CLEAN" ] && grep -q "is not a tmpfs that allows mapping code" <<<"$2" && [ -z "$(ls -A "$3")" ]' "$status" "$out" "$err" "$tmp/spare-disk"
rm -rf "$sp"

# --view-fd: the Gofer checks that what it joins is a view (a read-only tmpfs root).
fx '' restore --view-fd 8 "$tmp/sh.img" 8</proc/self/ns/mnt
t view_fd_host "--view-fd with the host's mount namespace: refused by the Gofer (125)" \
    ended 125 "not a view"
fx '' restore --view-fd 8 "$tmp/sh.img" 8</proc/self/ns/net
t view_fd_not_mnt "--view-fd with a network namespace is refused (2)" \
    ended 2 "not a mount namespace"
# --hot-fd: only a memory file sealed against change (what fnbox serve makes) is taken.
fx '' restore --hot-fd 8 "$tmp/sh.img" 8<"$tmp/sh.img"
t hot_fd_unsealed "--hot-fd with a plain file is refused (2)" \
    ended 2 "not a sealed memory file"
fx '' restore --help
t restore_help "--help" bash -c '[ "$0" = 0 ] && grep -q "Usage: fnbox restore" <<<"$1"' "$status" "$out"
# checkpoint and inspect --help: status 0, the usage on stdout, every long option their parsers
# accept (the option tables of api/cmd_image.c) named in it.
helpopts() { # COMMAND: the long options of fb_cmd_COMMAND's table
    awk -v fn="fb_cmd_$1" '$0 ~ "^int " fn "\\(" {f = 1} f && /struct option opts/ {g = 1}
        g && /^ *\{"/ {match($0, /"[^"]*"/); print "--" substr($0, RSTART + 1, RLENGTH - 2)}
        g && /};/ {exit}' api/cmd_image.c
}
for c in checkpoint inspect; do
    fx '' $c --help
    opts=$(helpopts $c)
    missing=$(for o in $opts; do grep -q -- "$o" <<<"$out" || echo "$o"; done)
    t ${c}_help "$c --help: status 0, usage naming every option ($(echo $opts); missing: $(echo ${missing:-none}))" \
        bash -c '[ "$0" = 0 ] && grep -q "^Usage: fnbox $3 " <<<"$1" && [ -z "$2" ] && [ $(wc -w <<<"$4") -ge 3 ] && [ -z "$5" ]' \
        "$status" "$out" "$err" "$c" "$opts" "$missing"
done
fx '' checkpoint --template python -o "$tmp/x.img"
t usage_error "--template without --code is a usage error (2)" test "$status" = 2

exit $failed
