#!/usr/bin/env python3
"""Rewrite one msgpack string of an image's raw section (same length) and fix the checksums: a
hand-made hostile image with valid checksums (tests/e2e/serve_test.sh).

usage: image_patch.py IMAGE SECTION KEY OLD NEW
  KEY: the map key whose string value is OLD, #N for the Nth occurrence of OLD (from 1), or -
  for every occurrence"""
import sys
from imagelib import fix_raw_section, sections


def main():
    path, sec, key, old, new = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].encode(), sys.argv[5].encode()
    if len(old) != len(new):
        sys.exit("image_patch: OLD and NEW must have the same length")
    img = bytearray(open(path, "rb").read())
    _, off, length = sections(img)[sec]
    data = bytes(img[off:off + length])
    if key == "-":
        data = data.replace(old, new)
    elif key.startswith("#"):
        j = -1
        for _ in range(int(key[1:])):
            j = data.find(old, j + 1)
            if j < 0:
                sys.exit("image_patch: fewer than %s occurrences of %r" % (key[1:], old))
        data = data[:j] + new + data[j + len(old):]
    else:
        k = bytes([0xA0 | len(key)]) + key.encode()  # a fixstr key
        i = data.find(k)
        j = data.find(old, i) if i >= 0 else -1
        if j < 0 or j > i + len(k) + 3:
            sys.exit("image_patch: %s is not followed by %r" % (key, old))
        data = data[:j] + new + data[j + len(old):]
    img[off:off + length] = data
    fix_raw_section(img, sec)
    open(path, "wb").write(img)


main()
