# A function for the memory-file reuse tests (checkpoint_test.sh, serve_test.sh): it checks that
# fresh memory reads zero, then leaves it full of 0xa5 in its sandbox's memory file, for a later
# restore given that file to find if it were not cleared. It also says whether its sandbox served
# an invocation before (a call count kept in memory, a file left in /tmp): each sandbox must
# serve exactly one.
import mmap
import os

KEEP = []
CALLS = 0


def handler(event, context):
    global CALLS
    CALLS += 1
    tmp_seen = os.path.exists("/tmp/dirty-mark")
    with open("/tmp/dirty-mark", "w") as f:
        f.write("an earlier invocation")
    n = event.get("mb", 8) << 20
    m = mmap.mmap(-1, n)  # fresh anonymous memory, which python does not clear itself
    for i in range(0, n, 4096):  # written first: a page of its own, not the zero page
        m[i] = 1
    clean = m[:].count(0) == n - n // 4096
    m[:] = b"\xa5" * n
    KEEP.append(m)  # still held when the sandbox exits: left in its memory file
    return {"clean": clean, "calls": CALLS, "tmp_seen": tmp_seen}
