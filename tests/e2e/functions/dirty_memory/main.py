# A function for the memory-file reuse tests (checkpoint_test.sh, serve_test.sh): it checks that
# fresh memory reads zero, then leaves it full of 0xa5 in its sandbox's memory file, for a later
# restore given that file to find if it were not cleared.
import mmap

KEEP = []


def handler(event, context):
    n = event.get("mb", 8) << 20
    m = mmap.mmap(-1, n)  # fresh anonymous memory, which python does not clear itself
    for i in range(0, n, 4096):  # written first: a page of its own, not the zero page
        m[i] = 1
    clean = m[:].count(0) == n - n // 4096
    m[:] = b"\xa5" * n
    KEEP.append(m)  # still held when the sandbox exits: left in its memory file
    return {"clean": clean}
