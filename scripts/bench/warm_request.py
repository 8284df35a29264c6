#!/usr/bin/env python3
"""A warm sandbox's request path, outside the server: start `fnbox restore --ready-fd` on IMAGE,
wait for its "ready" line (restored, memory and page tables filled: a warm pool's sandbox),
let it sit idle for --idle-ms, write the event {} and time the first byte of its answer on
stdout and its "exit" line on the ready pipe (what `fnbox serve` waits for). Prints medians
over N sandboxes (one at a time).

    scripts/bench/warm_request.py [--fnbox build/fnbox] [--idle-ms 30] IMAGE [N]
"""
import argparse
import os
import statistics
import subprocess
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fnbox", default="build/fnbox")
    ap.add_argument("--idle-ms", type=float, default=30)
    ap.add_argument("image")
    ap.add_argument("n", nargs="?", type=int, default=20)
    a = ap.parse_args()
    ready, first, done = [], [], []
    for _ in range(a.n):
        r, w = os.pipe()
        t0 = time.monotonic()
        p = subprocess.Popen([a.fnbox, "restore", "--ready-fd", str(w), a.image],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, pass_fds=(w,),
                             stderr=subprocess.DEVNULL)
        os.close(w)
        line = os.read(r, 100)
        if not line.startswith(b"ready"):
            raise SystemExit("no ready line: %r" % line)
        t1 = time.monotonic()
        time.sleep(a.idle_ms / 1000)
        t2 = time.monotonic()
        p.stdin.write(b"{}")
        p.stdin.close()
        if not p.stdout.read(1):
            raise SystemExit("no answer")
        t3 = time.monotonic()
        ex = os.read(r, 100)
        t4 = time.monotonic()
        p.stdout.read()
        p.wait()
        os.close(r)
        if not ex.startswith(b"exit 0"):
            raise SystemExit("no exit line: %r" % ex)
        ready.append((t1 - t0) * 1e3)
        first.append((t3 - t2) * 1e3)
        done.append((t4 - t2) * 1e3)
    print("ready %.2f ms (with Popen), then after the event: first byte %.2f ms, exit line %.2f ms"
          " (medians of %d)" % (statistics.median(ready), statistics.median(first),
                                statistics.median(done), a.n))


if __name__ == "__main__":
    main()
