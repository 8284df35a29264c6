/* 9P2000.L wire protocol: message numbers, constant bits and the decoded message structure.
 * Shared by the Sentry's client (gofer/p9_client.c) and the Gofer server (gofer/server.c). */
#ifndef FB_GOFER_P9_H
#define FB_GOFER_P9_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Framing: every message is size[4] type[1] tag[2] body, little-endian; size counts the whole
 * message. Strings are len[2] bytes (no NUL on the wire; fnbox rejects embedded NULs). A qid is
 * type[1] version[4] path[8]. Only the 9P2000.L subset below is spoken; anything else gets
 * Rlerror(EOPNOTSUPP).
 *
 * fnbox extension -- host fd donation:
 *   The client sets FB_P9_LOPEN_DONATE_FD (bit 31, unused by every Linux open flag) in the flags
 *   of Tlopen. The server always strips the bit before opening. If donation is enabled in the
 *   server, the file is a regular file and the open is O_RDONLY without O_TRUNC, the server sends
 *   the Rlopen with one SCM_RIGHTS control message carrying the opened host fd, on the same
 *   sendmsg(2) as the reply bytes. No ancillary data means "not donated"; Rlopen itself is
 *   unchanged, so a server without the extension simply ignores the bit after masking. Any fd
 *   arriving with any other reply is closed by the client.
 */

#define FB_P9_VERSION_L "9P2000.L"
#define FB_P9_NOTAG     0xffffu
#ifndef FB_P9_NOFID
#define FB_P9_NOFID 0xffffffffu
#endif
#define FB_P9_MAXWELEM      16 /* max names in one Twalk */
#define FB_P9_HDRSZ         7  /* size[4] type[1] tag[2] */
#define FB_P9_IOHDRSZ       24 /* Twrite header (23) rounded: room kept in msize for I/O */
#define FB_P9_RREAD_HDRSZ   11 /* size[4] type[1] tag[2] count[4] */
#define FB_P9_QIDSZ         13
#define FB_P9_DIRENT_HDRSZ  24   /* qid[13] offset[8] type[1] namelen[2] */
#define FB_P9_NAME_MAX      255  /* longest file name accepted in either direction */
#define FB_P9_PATH_MAX      4096 /* longest symlink target (with NUL) */
#define FB_P9_DEFAULT_MSIZE ((1u << 20) + 64)
#define FB_P9_MIN_MSIZE     8192 /* must hold a Tsymlink with a PATH_MAX target */
#define FB_P9_MAX_MSIZE     ((8u << 20) + 64)

/* Message types (Linux include/net/9p/9p.h numbering). */
enum fb_p9_type {
    FB_P9_TLERROR = 6,
    FB_P9_RLERROR = 7,
    FB_P9_TSTATFS = 8,
    FB_P9_RSTATFS = 9,
    FB_P9_TLOPEN = 12,
    FB_P9_RLOPEN = 13,
    FB_P9_TLCREATE = 14,
    FB_P9_RLCREATE = 15,
    FB_P9_TSYMLINK = 16,
    FB_P9_RSYMLINK = 17,
    FB_P9_TMKNOD = 18,
    FB_P9_RMKNOD = 19,
    FB_P9_TRENAME = 20,
    FB_P9_RRENAME = 21,
    FB_P9_TREADLINK = 22,
    FB_P9_RREADLINK = 23,
    FB_P9_TGETATTR = 24,
    FB_P9_RGETATTR = 25,
    FB_P9_TSETATTR = 26,
    FB_P9_RSETATTR = 27,
    FB_P9_TXATTRWALK = 30,
    FB_P9_RXATTRWALK = 31,
    FB_P9_TXATTRCREATE = 32,
    FB_P9_RXATTRCREATE = 33,
    FB_P9_TREADDIR = 40,
    FB_P9_RREADDIR = 41,
    FB_P9_TFSYNC = 50,
    FB_P9_RFSYNC = 51,
    FB_P9_TLOCK = 52,
    FB_P9_RLOCK = 53,
    FB_P9_TGETLOCK = 54,
    FB_P9_RGETLOCK = 55,
    FB_P9_TLINK = 70,
    FB_P9_RLINK = 71,
    FB_P9_TMKDIR = 72,
    FB_P9_RMKDIR = 73,
    FB_P9_TRENAMEAT = 74,
    FB_P9_RRENAMEAT = 75,
    FB_P9_TUNLINKAT = 76,
    FB_P9_RUNLINKAT = 77,
    FB_P9_TVERSION = 100,
    FB_P9_RVERSION = 101,
    FB_P9_TAUTH = 102,
    FB_P9_RAUTH = 103,
    FB_P9_TATTACH = 104,
    FB_P9_RATTACH = 105,
    FB_P9_TERROR = 106,
    FB_P9_RERROR = 107,
    FB_P9_TFLUSH = 108,
    FB_P9_RFLUSH = 109,
    FB_P9_TWALK = 110,
    FB_P9_RWALK = 111,
    FB_P9_TOPEN = 112,
    FB_P9_ROPEN = 113,
    FB_P9_TCREATE = 114,
    FB_P9_RCREATE = 115,
    FB_P9_TREAD = 116,
    FB_P9_RREAD = 117,
    FB_P9_TWRITE = 118,
    FB_P9_RWRITE = 119,
    FB_P9_TCLUNK = 120,
    FB_P9_RCLUNK = 121,
    FB_P9_TREMOVE = 122,
    FB_P9_RREMOVE = 123,
};

/* qid.type bits */
#define FB_P9_QTDIR     0x80
#define FB_P9_QTAPPEND  0x40
#define FB_P9_QTEXCL    0x20
#define FB_P9_QTMOUNT   0x10
#define FB_P9_QTAUTH    0x08
#define FB_P9_QTTMP     0x04
#define FB_P9_QTSYMLINK 0x02
#define FB_P9_QTLINK    0x01
#define FB_P9_QTFILE    0x00

/* Tgetattr request_mask / Rgetattr valid bits */
#define FB_P9_GETATTR_MODE         0x00000001ull
#define FB_P9_GETATTR_NLINK        0x00000002ull
#define FB_P9_GETATTR_UID          0x00000004ull
#define FB_P9_GETATTR_GID          0x00000008ull
#define FB_P9_GETATTR_RDEV         0x00000010ull
#define FB_P9_GETATTR_ATIME        0x00000020ull
#define FB_P9_GETATTR_MTIME        0x00000040ull
#define FB_P9_GETATTR_CTIME        0x00000080ull
#define FB_P9_GETATTR_INO          0x00000100ull
#define FB_P9_GETATTR_SIZE         0x00000200ull
#define FB_P9_GETATTR_BLOCKS       0x00000400ull
#define FB_P9_GETATTR_BTIME        0x00000800ull
#define FB_P9_GETATTR_GEN          0x00001000ull
#define FB_P9_GETATTR_DATA_VERSION 0x00002000ull
#define FB_P9_GETATTR_BASIC        0x000007ffull
#define FB_P9_GETATTR_ALL          0x00003fffull

/* Tsetattr valid bits */
#define FB_P9_SETATTR_MODE      0x00000001u
#define FB_P9_SETATTR_UID       0x00000002u
#define FB_P9_SETATTR_GID       0x00000004u
#define FB_P9_SETATTR_SIZE      0x00000008u
#define FB_P9_SETATTR_ATIME     0x00000010u
#define FB_P9_SETATTR_MTIME     0x00000020u
#define FB_P9_SETATTR_CTIME     0x00000040u
#define FB_P9_SETATTR_ATIME_SET 0x00000080u
#define FB_P9_SETATTR_MTIME_SET 0x00000100u

/* Tlopen/Tlcreate flags: Linux generic (x86-64) open(2) numbers, as 9P2000.L defines them.
 * fb_p9_flags_to_host()/fb_p9_flags_from_host() translate for hosts whose numbers differ. */
#define FB_P9_L_RDONLY    00000000u
#define FB_P9_L_WRONLY    00000001u
#define FB_P9_L_RDWR      00000002u
#define FB_P9_L_NOACCESS  00000003u
#define FB_P9_L_ACCMODE   00000003u
#define FB_P9_L_CREATE    00000100u
#define FB_P9_L_EXCL      00000200u
#define FB_P9_L_NOCTTY    00000400u
#define FB_P9_L_TRUNC     00001000u
#define FB_P9_L_APPEND    00002000u
#define FB_P9_L_NONBLOCK  00004000u
#define FB_P9_L_DSYNC     00010000u
#define FB_P9_L_FASYNC    00020000u
#define FB_P9_L_DIRECT    00040000u
#define FB_P9_L_LARGEFILE 00100000u
#define FB_P9_L_DIRECTORY 00200000u
#define FB_P9_L_NOFOLLOW  00400000u
#define FB_P9_L_NOATIME   01000000u
#define FB_P9_L_CLOEXEC   02000000u
#define FB_P9_L_SYNC      04000000u
/* fnbox extension, see the comment at the top of this file. */
#define FB_P9_LOPEN_DONATE_FD 0x80000000u
/* fnbox extension: with DONATE_FD, donate a fresh read-only fd and leave the fid unopened (one
 * round trip instead of walk-clone + open + clunk for the Sentry's page cache). */
#define FB_P9_LOPEN_FD_ONLY 0x40000000u

/* fnbox extension messages (outside the 9P2000.L numbering):
 *   Twalkgetattr: like Twalk (fid, newfid, nwname, wnames).
 *   Rwalkgetattr: like Rwalk (nwqid, qids) followed by an Rgetattr body for the last element
 *                 (all zero when the walk stopped early).
 * A lookup then costs one round trip instead of two. */
#define FB_P9_TWALKGETATTR 200
#define FB_P9_RWALKGETATTR 201

/* Tunlinkat flags (Linux AT_REMOVEDIR) */
#define FB_P9_AT_REMOVEDIR 0x200u

/* Decoded values. These are also the client's public types (gofer/p9_client.h). */
struct fb_p9_qid {
    uint8_t type;
    uint32_t version;
    uint64_t path;
};

struct fb_p9_attr { /* Rgetattr */
    uint64_t valid;
    struct fb_p9_qid qid;
    uint32_t mode, uid, gid;
    uint64_t nlink, rdev, size, blksize, blocks;
    uint64_t atime_sec, atime_nsec, mtime_sec, mtime_nsec, ctime_sec, ctime_nsec, btime_sec,
        btime_nsec, gen, data_version;
};

struct fb_p9_statfs {
    uint32_t type, bsize;
    uint64_t blocks, bfree, bavail, files, ffree, fsid;
    uint32_t namelen;
};

struct fb_p9_dirent {
    struct fb_p9_qid qid;
    uint64_t offset;
    uint8_t type;
    char name[256];
};

struct fb_p9_setattr {
    uint32_t valid, mode, uid, gid;
    uint64_t size, atime_sec, atime_nsec, mtime_sec, mtime_nsec;
};

/* A counted string. Decoded strings point into the message buffer and are NOT NUL-terminated;
 * len is at most 65535 after decoding. For encoding, len may be anything (too long -> error). */
struct fb_p9_str {
    const char *s;
    uint32_t len;
};

/* One decoded (or to-be-encoded) message. Pointers (strings, data) alias the buffer. */
struct fb_p9_msg {
    uint8_t type;
    uint16_t tag;
    union {
        struct {
            uint32_t msize;
            struct fb_p9_str version;
        } version; /* Tversion, Rversion */
        struct {
            uint32_t fid, afid;
            struct fb_p9_str uname, aname;
            uint32_t n_uname;
        } tattach;
        struct {
            uint32_t afid;
            struct fb_p9_str uname, aname;
            uint32_t n_uname;
        } tauth;
        struct {
            struct fb_p9_qid qid;
        } rqid; /* Rattach, Rauth, Rsymlink, Rmknod, Rmkdir */
        struct {
            uint32_t ecode;
        } rlerror;
        struct {
            uint32_t fid;
        } tfid; /* Tstatfs, Treadlink, Tclunk, Tremove */
        struct fb_p9_statfs rstatfs;
        struct {
            uint32_t fid, flags;
        } tlopen;
        struct {
            struct fb_p9_qid qid;
            uint32_t iounit;
        } ropen; /* Rlopen, Rlcreate */
        struct {
            uint32_t fid;
            struct fb_p9_str name;
            uint32_t flags, mode, gid;
        } tlcreate;
        struct {
            uint32_t fid;
            struct fb_p9_str name, target;
            uint32_t gid;
        } tsymlink;
        struct {
            uint32_t dfid;
            struct fb_p9_str name;
            uint32_t mode, major, minor, gid;
        } tmknod;
        struct {
            uint32_t fid, dfid;
            struct fb_p9_str name;
        } trename;
        struct {
            struct fb_p9_str target;
        } rreadlink;
        struct {
            uint32_t fid;
            uint64_t mask;
        } tgetattr;
        struct fb_p9_attr rgetattr;
        struct {
            uint32_t fid;
            struct fb_p9_setattr sa;
        } tsetattr;
        struct {
            uint32_t fid, newfid;
            struct fb_p9_str name;
        } txattrwalk;
        struct {
            uint64_t size;
        } rxattrwalk;
        struct {
            uint32_t fid;
            struct fb_p9_str name;
            uint64_t size;
            uint32_t flags;
        } txattrcreate;
        struct {
            uint32_t fid;
            uint64_t offset;
            uint32_t count;
        } tread; /* Tread, Treaddir */
        /* Rread, Rreaddir. When encoding with data == NULL only the 11-byte header is written
         * (its size field still counts `count` payload bytes the caller sends next); when data
         * already sits at buf+11 it is not copied. */
        struct {
            uint32_t count;
            const uint8_t *data;
        } rread;
        /* Twrite; same data == NULL convention as rread (23-byte header). */
        struct {
            uint32_t fid;
            uint64_t offset;
            uint32_t count;
            const uint8_t *data;
        } twrite;
        struct {
            uint32_t count;
        } rwrite;
        struct {
            uint32_t fid, datasync;
        } tfsync;
        struct {
            uint32_t dfid, fid;
            struct fb_p9_str name;
        } tlink;
        struct {
            uint32_t dfid;
            struct fb_p9_str name;
            uint32_t mode, gid;
        } tmkdir;
        struct {
            uint32_t olddfid;
            struct fb_p9_str oldname;
            uint32_t newdfid;
            struct fb_p9_str newname;
        } trenameat;
        struct {
            uint32_t dfid;
            struct fb_p9_str name;
            uint32_t flags;
        } tunlinkat;
        struct {
            uint16_t oldtag;
        } tflush;
        struct {
            uint32_t fid, newfid;
            uint16_t nwname;
            struct fb_p9_str wnames[FB_P9_MAXWELEM];
        } twalk;
        struct {
            uint16_t nwqid;
            struct fb_p9_qid qids[FB_P9_MAXWELEM];
            struct fb_p9_attr attr; /* Rwalkgetattr only */
        } rwalk;                    /* Rwalk, Rwalkgetattr; Twalkgetattr uses twalk */
    } u;
};

/* Encode m into buf (capacity cap). Returns the number of bytes written (see the rread/twrite
 * data == NULL note), -EMSGSIZE if it does not fit, -ENAMETOOLONG for a string over 65535 bytes,
 * -EINVAL for too many walk elements, -EOPNOTSUPP for a type this library does not speak. */
ssize_t fb_p9_encode(const struct fb_p9_msg *m, void *buf, size_t cap);

/* Decode exactly one message occupying all of buf[0..len). Never reads outside the buffer.
 * Returns 0, or -EPROTO (truncated, size field != len, trailing bytes, counts overrunning),
 * -EINVAL (NUL inside a string, more than 16 walk elements), -EOPNOTSUPP (unknown type; m->type
 * and m->tag are still filled when the 7-byte header is present). */
int fb_p9_decode(const void *buf, size_t len, struct fb_p9_msg *m);

/* Framing: read the size field of a message starting at buf (len bytes available so far).
 * Returns 0 and *size, -EAGAIN if fewer than 4 bytes are available, -EPROTO if size < 7,
 * -EMSGSIZE if size > msize. */
int fb_p9_frame(const void *buf, size_t len, uint32_t msize, uint32_t *size);

/* Append one Rreaddir entry at *pos in buf[0..cap). -EMSGSIZE if it does not fit (nothing
 * written), -ENAMETOOLONG if namelen > 65535. */
int fb_p9_dirent_encode(void *buf, size_t cap, size_t *pos, const struct fb_p9_qid *qid,
                        uint64_t offset, uint8_t type, const char *name, size_t namelen);

/* Decode the entry at *pos in an Rreaddir payload buf[0..len), advancing *pos. Returns 1 for an
 * entry, 0 at the end of the payload, -EPROTO for an entry overrunning the payload, -EINVAL for
 * a name that is empty, longer than 255 bytes, or holds a NUL or '/'. */
int fb_p9_dirent_decode(const void *buf, size_t len, size_t *pos, struct fb_p9_dirent *out);

/* Copy a counted string into dst as a C string. -ENAMETOOLONG if it does not fit with its NUL. */
int fb_p9_str_copy(char *dst, size_t cap, struct fb_p9_str s);

/* A C string as a counted string (for encoding). */
static inline struct fb_p9_str fb_p9_cstr(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return (struct fb_p9_str){s, n > 0xffffffffu ? 0xffffffffu : (uint32_t)n};
}

/* Wire open flags <-> host open flags (identity on x86-64). Unknown bits are dropped. */
uint32_t fb_p9_flags_to_host(uint32_t wire);
uint32_t fb_p9_flags_from_host(uint32_t host);

/* "Twalk", "Rlerror"... for logs; "T?" style fallback for unknown types. */
const char *fb_p9_type_name(uint8_t type);

#endif
