#!/usr/bin/env python3
"""Where a restore's time goes: run `fnbox restore -vv IMAGE` N times (event {} on stdin) and
print the median (and 25th percentile) of every timed line the controller, Gofer and Sentry log:
"+X ms: PHASE" lines are ms since the controller started, "PHASE in/at X ms" lines are the
Sentry's restore steps, ms since the restore began.

    scripts/bench/restore_phases.py [--fnbox build/fnbox] IMAGE [N] [-- RESTORE-OPTIONS...]
"""
import argparse
import re
import statistics
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fnbox", default="build/fnbox")
    ap.add_argument("image")
    ap.add_argument("n", nargs="?", type=int, default=20)
    ap.add_argument("options", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    opts = a.options[1:] if a.options[:1] == ["--"] else a.options
    since_start, restore_steps = {}, {}
    for _ in range(a.n):
        p = subprocess.run([a.fnbox, "restore", "-vv", *opts, a.image], input=b"{}",
                           capture_output=True)
        if p.returncode != 0:
            sys.exit("restore failed: " + p.stderr.decode(errors="replace")[-500:])
        for line in p.stderr.decode(errors="replace").splitlines():
            m = re.search(r"debug: \+([0-9.]+) ms: (.*?)(?: \(built in [0-9.]+ ms\))? \(", line)
            if m:
                since_start.setdefault(m.group(2), []).append(float(m.group(1)))
                continue
            m = re.search(r"debug: (.*?) (?:in|at) ([0-9.]+) ms", line)
            if m and "mapped" not in line:
                restore_steps.setdefault(re.sub(r"[0-9]+", "N", m.group(1)), []).append(
                    float(m.group(2)))
    print("ms since the controller started (median, p25) over %d restores:" % a.n)
    for k, v in sorted(since_start.items(), key=lambda kv: statistics.median(kv[1])):
        print("  %7.2f %7.2f  %s" % (statistics.median(v), sorted(v)[len(v) // 4], k))
    print("the Sentry's restore, ms since it began:")
    for k, v in sorted(restore_steps.items(), key=lambda kv: statistics.median(kv[1])):
        print("  %7.2f %7.2f  %s" % (statistics.median(v), sorted(v)[len(v) // 4], k))


if __name__ == "__main__":
    main()
