#!/usr/bin/env python3
"""Hostile image sections for `fnbox restore`: rewrite one section of an image (default the
kernel state) with random byte mutations, fix every checksum so the image container is valid,
and restore it. Each restore must end with a clear refusal (status 125 and an "image" message)
or, if the mutation happened to be harmless, run; never a crash of a host process ("fatal", a
signal) or a hang. A section whose chunks carry checksums of their own (memory) mostly tests
those; the page tables beside it (pagerefs, pagemap, workingset) have none.

usage: image_mutate.py FNBOX IMAGE N SEED [SECTION]   prints one line per failure, exit 1 if any.
       image_mutate.py --write DIR IMAGE N SEED [SECTION]   only writes the mutations, DIR/m<k>.img
       (for a server: tests/e2e/serve_test.sh uploads them)."""
import os, random, struct, subprocess, sys, tempfile

from imagelib import ENTRY, HDR, crc32c


def main():
    args = sys.argv[1:]
    outdir = None
    if args[:1] == ["--write"]:
        outdir, args = args[1], args[2:]
    fnbox, image, n, seed = (None if outdir else args.pop(0)), args[0], int(args[1]), int(args[2])
    name = args[3] if len(args) > 3 else "kernel"
    rnd = random.Random(seed)
    img = bytearray(open(image, "rb").read())
    nsec, toff = struct.unpack_from("<I", img, 68)[0], struct.unpack_from("<Q", img, 72)[0]
    sec = None
    for i in range(nsec):
        e = toff + i * ENTRY
        if img[e:e + 16].rstrip(b"\0") == name.encode():
            sec = (e, struct.unpack_from("<Q", img, e + 24)[0], struct.unpack_from("<Q", img, e + 32)[0])
    if not sec or sec[2] == 0:
        print(f"no {name} section")
        return 1
    entry, off, length = sec
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.img")
        for k in range(n):
            m = bytearray(img)
            for _ in range(rnd.randint(1, 8)):
                p = off + rnd.randrange(length)
                m[p] = rnd.choice([0, 0xFF, 0x7F, 0x80, 0xC0, 0xDC, 0xDD, rnd.randrange(256)])
            struct.pack_into("<I", m, entry + 48, crc32c(bytes(m[off:off + length])))
            struct.pack_into("<I", m, 80, crc32c(bytes(m[toff:toff + nsec * ENTRY])))
            struct.pack_into("<I", m, HDR - 4, crc32c(bytes(m[:HDR - 4])))
            if outdir:
                open(os.path.join(outdir, f"m{k}.img"), "wb").write(m)
                continue
            open(path, "wb").write(m)
            try:
                r = subprocess.run([fnbox, "restore", "--timeout", "5s", path], input=b"x\n",
                                   capture_output=True, timeout=30)
            except subprocess.TimeoutExpired:
                print(f"mutation {k}: restore hung")
                failures += 1
                continue
            err = r.stderr.decode(errors="replace")
            if "fatal" in err or "died unexpectedly" in err or r.returncode < 0:
                print(f"mutation {k}: host process crashed (status {r.returncode}): {err.strip()[-300:]}")
                failures += 1
            elif r.returncode == 125 and "image" not in err and "restore" not in err:
                print(f"mutation {k}: refused without saying why: {err.strip()[-200:]}")
                failures += 1
    return 1 if failures else 0


sys.exit(main())
