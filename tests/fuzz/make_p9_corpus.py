#!/usr/bin/env python3
"""Writes the seed corpus of the 9P fuzz target (tests/fuzz/p9_fuzz.c) to tests/fuzz/corpus/p9/.

Each seed is a stream of 9P2000.L requests sent after the harness's own Tversion and Tattach
(fid 0 = the root of the fuzz view: file, dir/inner, link -> file, escape -> ../../etc/shadow,
and /data served read-write). Seeds cover every request type the Gofer serves, the fnbox
extensions, and the malformed shapes it must refuse. Run from the repository root; the files
are committed, so this only needs re-running when the seeds change."""
import os
import struct

OUT = "tests/fuzz/corpus/p9"
tag = [10]


def msg(mtype, body=b""):
    tag[0] += 1
    return struct.pack("<IBH", 7 + len(body), mtype, tag[0] & 0xFFFF) + body


def s(text):
    b = text.encode() if isinstance(text, str) else text
    return struct.pack("<H", len(b)) + b


u8 = lambda v: struct.pack("<B", v)
u16 = lambda v: struct.pack("<H", v)
u32 = lambda v: struct.pack("<I", v & 0xFFFFFFFF)
u64 = lambda v: struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)

TSTATFS, TLOPEN, TLCREATE, TSYMLINK, TMKNOD, TRENAME, TREADLINK = 8, 12, 14, 16, 18, 20, 22
TGETATTR, TSETATTR, TXATTRWALK, TREADDIR, TFSYNC, TLOCK = 24, 26, 30, 40, 50, 52
TLINK, TMKDIR, TRENAMEAT, TUNLINKAT, TVERSION, TAUTH, TATTACH = 70, 72, 74, 76, 100, 102, 104
TFLUSH, TWALK, TREAD, TWRITE, TCLUNK, TREMOVE, TWALKGETATTR = 108, 110, 116, 118, 120, 122, 200
DONATE, FD_ONLY = 0x80000000, 0x40000000
O_RDONLY, O_RDWR, O_DIRECTORY, O_TRUNC = 0, 2, 0o200000, 0o1000


def walk(fid, newfid, *names, mtype=TWALK):
    return msg(mtype, u32(fid) + u32(newfid) + u16(len(names)) + b"".join(s(n) for n in names))


def tread(fid, off, count, mtype=TREAD):
    return msg(mtype, u32(fid) + u64(off) + u32(count))


seeds = {
    "read_file": walk(0, 1, "file") + msg(TLOPEN, u32(1) + u32(O_RDONLY | DONATE))
    + tread(1, 0, 100) + tread(1, 5, 4096) + msg(TCLUNK, u32(1)),
    "read_nested": walk(0, 1, "dir", "inner") + msg(TLOPEN, u32(1) + u32(O_RDONLY))
    + tread(1, 0, 8192) + msg(TCLUNK, u32(1)),
    "readdir": walk(0, 2, "dir") + msg(TLOPEN, u32(2) + u32(O_RDONLY | O_DIRECTORY))
    + tread(2, 0, 4096, TREADDIR) + tread(2, 1, 64, TREADDIR) + msg(TCLUNK, u32(2))
    + msg(TLOPEN, u32(0) + u32(O_RDONLY)) + tread(0, 0, 8192, TREADDIR),
    "symlinks": walk(0, 3, "link") + msg(TREADLINK, u32(3)) + walk(0, 4, "link", "x")
    + walk(0, 5, "escape") + msg(TREADLINK, u32(5)) + msg(TLOPEN, u32(5) + u32(O_RDONLY)),
    "getattr_statfs": msg(TGETATTR, u32(0) + u64(0x3FFF)) + msg(TSTATFS, u32(0))
    + walk(0, 1, "file", mtype=TWALKGETATTR) + msg(TGETATTR, u32(1) + u64(0x7FF)),
    "clone_fd_only": walk(0, 1) + walk(1, 1, "file") + msg(TLOPEN, u32(1) + u32(O_RDONLY))
    + msg(TLOPEN, u32(1) + u32(O_RDONLY | FD_ONLY | DONATE)) + msg(TCLUNK, u32(1)),
    "rw_create_write": walk(0, 5, "data") + msg(TLCREATE, s("new") and (u32(5) + s("new") + u32(O_RDWR) + u32(0o644) + u32(0)))
    + msg(TWRITE, u32(5) + u64(0) + u32(5) + b"hello") + tread(5, 0, 5)
    + msg(TFSYNC, u32(5) + u32(1)) + msg(TCLUNK, u32(5)),
    "rw_tree_ops": walk(0, 6, "data")
    + msg(TMKDIR, u32(6) + s("d") + u32(0o755) + u32(0))
    + msg(TSYMLINK, u32(6) + s("s") + s("../../etc/passwd") + u32(0))
    + msg(TMKNOD, u32(6) + s("fifo") + u32(0o10644) + u32(0) + u32(0) + u32(0))
    + walk(6, 7, "w") + msg(TLINK, u32(6) + u32(7) + s("hard"))
    + msg(TRENAMEAT, u32(6) + s("hard") + u32(6) + s("hard2"))
    + walk(6, 8, "hard2") + msg(TRENAME, u32(8) + u32(6) + s("hard3"))
    + msg(TSETATTR, u32(7) + u32(0x1 | 0x8 | 0x20 | 0x40) + u32(0o600) + u32(0) + u32(0) + u64(3) + u64(1) + u64(0) + u64(2) + u64(0))
    + msg(TUNLINKAT, u32(6) + s("hard3") + u32(0)) + msg(TUNLINKAT, u32(6) + s("d") + u32(0x200))
    + msg(TUNLINKAT, u32(6) + s("fifo") + u32(0)) + msg(TUNLINKAT, u32(6) + s("s") + u32(0))
    + msg(TREMOVE, u32(8)),
    "erofs": walk(0, 1, "file") + msg(TLOPEN, u32(1) + u32(O_RDWR | O_TRUNC))
    + msg(TMKDIR, u32(0) + s("x") + u32(0o755) + u32(0))
    + msg(TWRITE, u32(1) + u64(0) + u32(1) + b"x"),
    "unsupported": msg(TAUTH, u32(1) + s("") + s("") + u32(0)) + msg(TXATTRWALK, u32(0) + u32(1) + s("user.x"))
    + msg(TLOCK, u32(0) + u8(0) + u32(0) + u64(0) + u64(0) + u32(0) + s("")) + msg(TFLUSH, u16(3)) + msg(250),
    "reversion": msg(TVERSION, u32(8192) + s("9P2000.L")) + msg(TATTACH, u32(0) + u32(0xFFFFFFFF) + s("") + s("/dir") + u32(0))
    + walk(0, 1, "inner") + msg(TVERSION, u32(4096) + s("9P2000.u")) + msg(TGETATTR, u32(0) + u64(1)),
    "fid_errors": msg(TCLUNK, u32(99)) + walk(0, 0, "file") + walk(0, 1) + walk(1, 0) + msg(TREAD, u32(1) + u64(1 << 63) + u32(10)),
    "bad_name_dotdot": walk(0, 1, "dir", ".."),
    "bad_name_slash": walk(0, 1, "dir/inner"),
    "bad_name_empty": msg(TMKDIR, u32(0) + s("") + u32(0o755) + u32(0)),
    "bad_walk_17": msg(TWALK, u32(0) + u32(1) + u16(17) + s("a") * 17),
    "bad_short_body": msg(TGETATTR, u32(0)),
    "bad_trailing": msg(TCLUNK, u32(0) + b"junk"),
    "bad_string_len": msg(TMKDIR, u32(0) + u16(500) + b"abc"),
    "bad_nul_name": walk(0, 1, b"fi\0le"),
    "bad_frame_size": struct.pack("<IBH", 0x7FFFFFFF, TCLUNK, 1) + u32(0),
}

os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds written to {OUT}")
