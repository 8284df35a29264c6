/* Unit tests for the 9P2000.L codec (gofer/p9_msg.c): round trips of every message type and
 * malformed input of every kind. Run also under -fsanitize=address,undefined (docs/gofer.md). */
#include "gofer/p9.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fbtest.h"
#include "kernel/util/le.h"

static struct fb_p9_str S(const char *s) {
    return fb_p9_cstr(s);
}

static const uint8_t payload[] = "0123456789abcdef";

/* One representative of every message type the codec speaks. */
static int samples(struct fb_p9_msg *out, int max)
{
    struct fb_p9_msg m;
    int n = 0, i;

#define ADD(...)                                                                                   \
    do {                                                                                           \
        memset(&m, 0, sizeof(m));                                                                  \
        m.tag = (uint16_t)(0x1234 + n);                                                            \
        __VA_ARGS__;                                                                               \
        if (n < max)                                                                               \
            out[n] = m;                                                                            \
        n++;                                                                                       \
    } while (0)

    ADD(m.type = FB_P9_TVERSION; m.u.version.msize = 1 << 20; m.u.version.version = S("9P2000.L"));
    ADD(m.type = FB_P9_RVERSION; m.u.version.msize = 8192; m.u.version.version = S("9P2000.L"));
    ADD(m.type = FB_P9_TAUTH; m.u.tauth.afid = 9; m.u.tauth.uname = S("u");
        m.u.tauth.aname = S("/a"); m.u.tauth.n_uname = 1000);
    ADD(m.type = FB_P9_TATTACH; m.u.tattach.fid = 1; m.u.tattach.afid = FB_P9_NOFID;
        m.u.tattach.uname = S("root"); m.u.tattach.aname = S("/code"); m.u.tattach.n_uname = 0);
    ADD(m.type = FB_P9_RATTACH;
        m.u.rqid.qid = (struct fb_p9_qid){FB_P9_QTDIR, 7, 0x0102030405060708ull});
    ADD(m.type = FB_P9_RAUTH; m.u.rqid.qid.path = 3);
    ADD(m.type = FB_P9_RSYMLINK; m.u.rqid.qid = (struct fb_p9_qid){FB_P9_QTSYMLINK, 0, 42});
    ADD(m.type = FB_P9_RMKNOD; m.u.rqid.qid.path = 43);
    ADD(m.type = FB_P9_RMKDIR; m.u.rqid.qid = (struct fb_p9_qid){FB_P9_QTDIR, 1, 44});
    ADD(m.type = FB_P9_RLERROR; m.u.rlerror.ecode = ENOENT);
    ADD(m.type = FB_P9_TSTATFS; m.u.tfid.fid = 5);
    ADD(m.type = FB_P9_TREADLINK; m.u.tfid.fid = 6);
    ADD(m.type = FB_P9_TCLUNK; m.u.tfid.fid = 7);
    ADD(m.type = FB_P9_TREMOVE; m.u.tfid.fid = 8);
    ADD(m.type = FB_P9_RSTATFS; m.u.rstatfs = (struct fb_p9_statfs){0x01021994, 4096, 1, 2, 3, 4, 5,
                                                                    0xdeadbeefcafeull, 255});
    ADD(m.type = FB_P9_TLOPEN; m.u.tlopen.fid = 9;
        m.u.tlopen.flags = FB_P9_L_RDONLY | FB_P9_LOPEN_DONATE_FD);
    ADD(m.type = FB_P9_RLOPEN; m.u.ropen.qid.path = 99; m.u.ropen.iounit = 1 << 20);
    ADD(m.type = FB_P9_RLCREATE; m.u.ropen.qid.path = 98; m.u.ropen.iounit = 4096);
    ADD(m.type = FB_P9_TLCREATE; m.u.tlcreate.fid = 10; m.u.tlcreate.name = S("new.txt");
        m.u.tlcreate.flags = FB_P9_L_RDWR | FB_P9_L_TRUNC; m.u.tlcreate.mode = 0644;
        m.u.tlcreate.gid = 100);
    ADD(m.type = FB_P9_TSYMLINK; m.u.tsymlink.fid = 11; m.u.tsymlink.name = S("l");
        m.u.tsymlink.target = S("../x/y"); m.u.tsymlink.gid = 0);
    ADD(m.type = FB_P9_TMKNOD; m.u.tmknod.dfid = 12; m.u.tmknod.name = S("fifo");
        m.u.tmknod.mode = 010644; m.u.tmknod.major = 1; m.u.tmknod.minor = 3; m.u.tmknod.gid = 5);
    ADD(m.type = FB_P9_TRENAME; m.u.trename.fid = 13; m.u.trename.dfid = 14;
        m.u.trename.name = S("renamed"));
    ADD(m.type = FB_P9_RREADLINK; m.u.rreadlink.target = S("/usr/lib/os-release"));
    ADD(m.type = FB_P9_TGETATTR; m.u.tgetattr.fid = 15; m.u.tgetattr.mask = FB_P9_GETATTR_ALL);
    ADD(m.type = FB_P9_RGETATTR; {
        struct fb_p9_attr *a = &m.u.rgetattr;
        a->valid = FB_P9_GETATTR_BASIC;
        a->qid = (struct fb_p9_qid){0, 1, 2};
        a->mode = 0100644;
        a->uid = 1;
        a->gid = 2;
        a->nlink = 3;
        a->rdev = 4;
        a->size = 5;
        a->blksize = 6;
        a->blocks = 7;
        a->atime_sec = 8;
        a->atime_nsec = 9;
        a->mtime_sec = 10;
        a->mtime_nsec = 11;
        a->ctime_sec = 12;
        a->ctime_nsec = 13;
        a->btime_sec = 14;
        a->btime_nsec = 15;
        a->gen = 16;
        a->data_version = 17;
    });
    ADD(m.type = FB_P9_TSETATTR; m.u.tsetattr.fid = 16;
        m.u.tsetattr.sa = (struct fb_p9_setattr){FB_P9_SETATTR_MODE | FB_P9_SETATTR_SIZE, 0600, 1,
                                                 2, 12345, 1, 2, 3, 4});
    ADD(m.type = FB_P9_TXATTRWALK; m.u.txattrwalk.fid = 1; m.u.txattrwalk.newfid = 2;
        m.u.txattrwalk.name = S("user.x"));
    ADD(m.type = FB_P9_RXATTRWALK; m.u.rxattrwalk.size = 77);
    ADD(m.type = FB_P9_TXATTRCREATE; m.u.txattrcreate.fid = 1; m.u.txattrcreate.name = S("user.y");
        m.u.txattrcreate.size = 3; m.u.txattrcreate.flags = 1);
    ADD(m.type = FB_P9_TREAD; m.u.tread.fid = 17; m.u.tread.offset = 1ull << 40;
        m.u.tread.count = 65536);
    ADD(m.type = FB_P9_TREADDIR; m.u.tread.fid = 18; m.u.tread.offset = 77; m.u.tread.count = 8192);
    ADD(m.type = FB_P9_RREAD; m.u.rread.count = 16; m.u.rread.data = payload);
    ADD(m.type = FB_P9_RREAD; m.u.rread.count = 0; m.u.rread.data = payload);
    ADD(m.type = FB_P9_RREADDIR; m.u.rread.count = 5; m.u.rread.data = payload);
    ADD(m.type = FB_P9_TWRITE; m.u.twrite.fid = 19; m.u.twrite.offset = 3; m.u.twrite.count = 10;
        m.u.twrite.data = payload);
    ADD(m.type = FB_P9_RWRITE; m.u.rwrite.count = 10);
    ADD(m.type = FB_P9_TFSYNC; m.u.tfsync.fid = 20; m.u.tfsync.datasync = 1);
    ADD(m.type = FB_P9_TLINK; m.u.tlink.dfid = 21; m.u.tlink.fid = 22; m.u.tlink.name = S("hard"));
    ADD(m.type = FB_P9_TMKDIR; m.u.tmkdir.dfid = 23; m.u.tmkdir.name = S("d");
        m.u.tmkdir.mode = 0755; m.u.tmkdir.gid = 0);
    ADD(m.type = FB_P9_TRENAMEAT; m.u.trenameat.olddfid = 24; m.u.trenameat.oldname = S("a");
        m.u.trenameat.newdfid = 25; m.u.trenameat.newname = S("b"));
    ADD(m.type = FB_P9_TUNLINKAT; m.u.tunlinkat.dfid = 26; m.u.tunlinkat.name = S("gone");
        m.u.tunlinkat.flags = FB_P9_AT_REMOVEDIR);
    ADD(m.type = FB_P9_TFLUSH; m.u.tflush.oldtag = 0x55);
    ADD(m.type = FB_P9_TWALK; m.u.twalk.fid = 27; m.u.twalk.newfid = 28; m.u.twalk.nwname = 0);
    ADD(m.type = FB_P9_TWALK; m.u.twalk.fid = 27; m.u.twalk.newfid = 29; m.u.twalk.nwname = 3;
        m.u.twalk.wnames[0] = S("usr"); m.u.twalk.wnames[1] = S("bin");
        m.u.twalk.wnames[2] = S("python3"));
    ADD(m.type = FB_P9_TWALK; m.u.twalk.fid = 1; m.u.twalk.newfid = 2;
        m.u.twalk.nwname = FB_P9_MAXWELEM;
        for (i = 0; i < FB_P9_MAXWELEM; i++) m.u.twalk.wnames[i] = S("component"));
    ADD(m.type = FB_P9_RWALK; m.u.rwalk.nwqid = 2;
        m.u.rwalk.qids[0] = (struct fb_p9_qid){FB_P9_QTDIR, 0, 1};
        m.u.rwalk.qids[1] = (struct fb_p9_qid){FB_P9_QTSYMLINK, 0, 2});
    ADD(m.type = FB_P9_RWALK; m.u.rwalk.nwqid = 0);
    ADD(m.type = FB_P9_RRENAME);
    ADD(m.type = FB_P9_RSETATTR);
    ADD(m.type = FB_P9_RXATTRCREATE);
    ADD(m.type = FB_P9_RFSYNC);
    ADD(m.type = FB_P9_RLINK);
    ADD(m.type = FB_P9_RRENAMEAT);
    ADD(m.type = FB_P9_RUNLINKAT);
    ADD(m.type = FB_P9_RFLUSH);
    ADD(m.type = FB_P9_RCLUNK);
    ADD(m.type = FB_P9_RREMOVE);
#undef ADD
    return n;
}

#define NSAMPLES 80

/* Decode from an exactly-sized heap copy, so that any over-read trips AddressSanitizer. */
static int decode_exact(const uint8_t *buf, size_t len, struct fb_p9_msg *m)
{
    uint8_t *copy = malloc(len ? len : 1);
    int r;

    memcpy(copy, buf, len);
    r = fb_p9_decode(copy, len, m);
    free(copy);
    return r;
}

static void test_roundtrip_all_types(void)
{
    struct fb_p9_msg ms[NSAMPLES], d;
    uint8_t a[4096], b[4096];
    int n = samples(ms, NSAMPLES), i, types = 0;

    FBT_CHECK(n <= NSAMPLES);
    for (i = 0; i < n; i++) {
        ssize_t la = fb_p9_encode(&ms[i], a, sizeof(a)), lb;
        FBT_CHECK(la >= FB_P9_HDRSZ);
        FBT_CHECK_EQ(fb_get_le32(a), la);
        FBT_CHECK_EQ(fb_p9_decode(a, (size_t)la, &d), 0);
        FBT_CHECK_EQ(d.type, ms[i].type);
        FBT_CHECK_EQ(d.tag, ms[i].tag);
        /* Decoding then re-encoding reproduces the bytes exactly: every field survived. */
        lb = fb_p9_encode(&d, b, sizeof(b));
        FBT_CHECK_EQ(lb, la);
        FBT_CHECK(memcmp(a, b, (size_t)la) == 0);
        types++;
    }
    FBT_CHECK(types >= 50);
}

static void test_roundtrip_fields(void)
{
    struct fb_p9_msg m = {.type = FB_P9_TWALK, .tag = 7}, d;
    uint8_t buf[512];
    ssize_t len;

    m.u.twalk.fid = 3;
    m.u.twalk.newfid = 4;
    m.u.twalk.nwname = 2;
    m.u.twalk.wnames[0] = S("etc");
    m.u.twalk.wnames[1] = S("passwd");
    len = fb_p9_encode(&m, buf, sizeof(buf));
    FBT_CHECK_EQ(len, 7 + 4 + 4 + 2 + 2 + 3 + 2 + 6);
    FBT_CHECK_EQ(fb_p9_decode(buf, (size_t)len, &d), 0);
    FBT_CHECK_EQ(d.u.twalk.fid, 3);
    FBT_CHECK_EQ(d.u.twalk.newfid, 4);
    FBT_CHECK_EQ(d.u.twalk.nwname, 2);
    FBT_CHECK_EQ(d.u.twalk.wnames[1].len, 6);
    FBT_CHECK(memcmp(d.u.twalk.wnames[1].s, "passwd", 6) == 0);

    memset(&m, 0, sizeof(m));
    m.type = FB_P9_RGETATTR;
    m.u.rgetattr.size = 0xfedcba9876543210ull;
    m.u.rgetattr.mode = 040755;
    m.u.rgetattr.qid = (struct fb_p9_qid){FB_P9_QTDIR, 0xabcdef01, 0x1122334455667788ull};
    len = fb_p9_encode(&m, buf, sizeof(buf));
    FBT_CHECK_EQ(len, 7 + 8 + 13 + 3 * 4 + 15 * 8);
    FBT_CHECK_EQ(fb_p9_decode(buf, (size_t)len, &d), 0);
    FBT_CHECK(d.u.rgetattr.size == 0xfedcba9876543210ull);
    FBT_CHECK_EQ(d.u.rgetattr.mode, 040755);
    FBT_CHECK_EQ(d.u.rgetattr.qid.type, FB_P9_QTDIR);
    FBT_CHECK(d.u.rgetattr.qid.version == 0xabcdef01u);
    FBT_CHECK(d.u.rgetattr.qid.path == 0x1122334455667788ull);
}

/* Tfsync from clients that send only the fid (no datasync) is accepted too. */
static void test_tfsync_short_form(void)
{
    uint8_t buf[] = {11, 0, 0, 0, FB_P9_TFSYNC, 1, 0, 5, 0, 0, 0};
    struct fb_p9_msg d;

    FBT_CHECK_EQ(fb_p9_decode(buf, sizeof(buf), &d), 0);
    FBT_CHECK_EQ(d.u.tfsync.fid, 5);
    FBT_CHECK_EQ(d.u.tfsync.datasync, 0);
}

/* Every strict prefix is rejected, both with the original size field (size != length) and with
 * the size field patched to the prefix length (so the body parser itself must notice). */
static void test_truncated_every_offset(void)
{
    struct fb_p9_msg ms[NSAMPLES], d;
    uint8_t buf[4096], cut[4096];
    int n = samples(ms, NSAMPLES), i;

    for (i = 0; i < n; i++) {
        ssize_t len = fb_p9_encode(&ms[i], buf, sizeof(buf)), k;
        FBT_CHECK(len > 0);
        for (k = 0; k < len; k++) {
            int r = decode_exact(buf, (size_t)k, &d);
            FBT_CHECK(r == -EPROTO);
            if (k >= 7) {
                memcpy(cut, buf, (size_t)k);
                fb_put_le32(cut, (uint32_t)k);
                r = decode_exact(cut, (size_t)k, &d);
                /* Only messages whose body is legitimately shorter may decode: Tfsync (4-byte
                 * form), and empty-body R messages never get here (len == 7). */
                if (r == 0) {
                    FBT_CHECK(ms[i].type == FB_P9_TFSYNC && k == len - 4);
                    continue;
                }
                FBT_CHECK(r == -EPROTO || r == -EINVAL);
            }
        }
    }
}

static void test_size_field_mismatch(void)
{
    struct fb_p9_msg m = {.type = FB_P9_TCLUNK}, d;
    uint8_t buf[64];
    ssize_t len;

    m.u.tfid.fid = 1;
    len = fb_p9_encode(&m, buf, sizeof(buf));
    FBT_CHECK(len == 11);
    fb_put_le32(buf, 12); /* larger than the buffer */
    FBT_CHECK_EQ(decode_exact(buf, 11, &d), -EPROTO);
    fb_put_le32(buf, 10); /* smaller than the buffer */
    FBT_CHECK_EQ(decode_exact(buf, 11, &d), -EPROTO);
    fb_put_le32(buf, 0xffffffffu);
    FBT_CHECK_EQ(decode_exact(buf, 11, &d), -EPROTO);
    /* Trailing byte after a complete body, size field honest about it. */
    buf[11] = 0;
    fb_put_le32(buf, 12);
    FBT_CHECK_EQ(decode_exact(buf, 12, &d), -EPROTO);
}

static void test_frame(void)
{
    uint8_t b[4] = {0};
    uint32_t size = 0;

    FBT_CHECK_EQ(fb_p9_frame(b, 3, 8192, &size), -EAGAIN);
    fb_put_le32(b, 6);
    FBT_CHECK_EQ(fb_p9_frame(b, 4, 8192, &size), -EPROTO);
    fb_put_le32(b, 8193);
    FBT_CHECK_EQ(fb_p9_frame(b, 4, 8192, &size), -EMSGSIZE);
    fb_put_le32(b, 0xffffffffu);
    FBT_CHECK_EQ(fb_p9_frame(b, 4, 8192, &size), -EMSGSIZE);
    fb_put_le32(b, 8192);
    FBT_CHECK_EQ(fb_p9_frame(b, 4, 8192, &size), 0);
    FBT_CHECK_EQ(size, 8192);
}

static void test_string_length_overflow(void)
{
    struct fb_p9_msg m = {.type = FB_P9_TWALK}, d;
    uint8_t buf[128];
    ssize_t len;

    m.u.twalk.nwname = 1;
    m.u.twalk.wnames[0] = S("abc");
    len = fb_p9_encode(&m, buf, sizeof(buf));
    FBT_CHECK(len == 7 + 10 + 2 + 3);
    /* The string claims 0xffff bytes but only 3 follow. */
    buf[17] = 0xff;
    buf[18] = 0xff;
    FBT_CHECK_EQ(decode_exact(buf, (size_t)len, &d), -EPROTO);
    /* Claims 4: one byte short. */
    buf[17] = 4;
    buf[18] = 0;
    FBT_CHECK_EQ(decode_exact(buf, (size_t)len, &d), -EPROTO);
    /* Claims 2: one byte left over. */
    buf[17] = 2;
    FBT_CHECK_EQ(decode_exact(buf, (size_t)len, &d), -EPROTO);
}

static void test_string_with_nul(void)
{
    struct fb_p9_msg m = {.type = FB_P9_TLCREATE}, d;
    uint8_t buf[128];
    ssize_t len;

    m.u.tlcreate.name = (struct fb_p9_str){"a\0b", 3};
    len = fb_p9_encode(&m, buf, sizeof(buf));
    FBT_CHECK(len > 0);
    FBT_CHECK_EQ(decode_exact(buf, (size_t)len, &d), -EINVAL);

    memset(&m, 0, sizeof(m));
    m.type = FB_P9_RREADLINK;
    m.u.rreadlink.target = (struct fb_p9_str){"/etc\0/shadow", 12};
    len = fb_p9_encode(&m, buf, sizeof(buf));
    FBT_CHECK_EQ(decode_exact(buf, (size_t)len, &d), -EINVAL);
}

static void test_nwname_limits(void)
{
    struct fb_p9_msg m = {.type = FB_P9_TWALK}, d;
    uint8_t buf[1024];
    ssize_t len;
    int i;

    m.u.twalk.nwname = FB_P9_MAXWELEM + 1;
    for (i = 0; i < FB_P9_MAXWELEM; i++)
        m.u.twalk.wnames[i] = S("x");
    FBT_CHECK_EQ(fb_p9_encode(&m, buf, sizeof(buf)), -EINVAL);

    /* Hand-build a Twalk claiming 17 names (and carrying 17). */
    m.u.twalk.nwname = FB_P9_MAXWELEM;
    len = fb_p9_encode(&m, buf, sizeof(buf));
    FBT_CHECK(len > 0);
    buf[15] = FB_P9_MAXWELEM + 1;
    buf[len] = 1;
    buf[len + 1] = 0;
    buf[len + 2] = 'y';
    fb_put_le32(buf, (uint32_t)len + 3);
    FBT_CHECK_EQ(decode_exact(buf, (size_t)len + 3, &d), -EINVAL);
    /* And a huge count with nothing behind it. */
    buf[15] = 0xff;
    buf[16] = 0xff;
    FBT_CHECK_EQ(decode_exact(buf, (size_t)len + 3, &d), -EINVAL);

    memset(&m, 0, sizeof(m));
    m.type = FB_P9_RWALK;
    m.u.rwalk.nwqid = 1;
    len = fb_p9_encode(&m, buf, sizeof(buf));
    buf[7] = 17;
    FBT_CHECK_EQ(decode_exact(buf, (size_t)len, &d), -EINVAL);
    buf[7] = 2; /* claims 2 qids, carries 1 */
    FBT_CHECK_EQ(decode_exact(buf, (size_t)len, &d), -EPROTO);
}

static void test_rread_count_overrun(void)
{
    struct fb_p9_msg m = {.type = FB_P9_RREAD}, d;
    uint8_t buf[64];
    ssize_t len;

    m.u.rread.count = 4;
    m.u.rread.data = payload;
    len = fb_p9_encode(&m, buf, sizeof(buf));
    FBT_CHECK_EQ(len, 15);
    fb_put_le32(buf + 7, 5); /* one more than carried */
    FBT_CHECK_EQ(decode_exact(buf, (size_t)len, &d), -EPROTO);
    fb_put_le32(buf + 7, 0xffffffffu);
    FBT_CHECK_EQ(decode_exact(buf, (size_t)len, &d), -EPROTO);
    fb_put_le32(buf + 7, 3); /* one less: trailing byte */
    FBT_CHECK_EQ(decode_exact(buf, (size_t)len, &d), -EPROTO);
}

static void test_unknown_type(void)
{
    uint8_t buf[] = {7, 0, 0, 0, 250, 9, 0};
    struct fb_p9_msg d;

    FBT_CHECK_EQ(decode_exact(buf, sizeof(buf), &d), -EOPNOTSUPP);
    FBT_CHECK_EQ(d.type, 250);
    FBT_CHECK_EQ(d.tag, 9);
    buf[4] = FB_P9_TLOCK; /* known number, not spoken */
    FBT_CHECK_EQ(decode_exact(buf, sizeof(buf), &d), -EOPNOTSUPP);
}

/* fnbox's Twalkgetattr/Rwalkgetattr extension round-trips, and a truncated attr is refused. */
static void test_walkgetattr_roundtrip(void)
{
    uint8_t buf[512];
    struct fb_p9_msg m = {.type = FB_P9_TWALKGETATTR, .tag = 3}, d;
    ssize_t len;

    m.u.twalk.fid = 1;
    m.u.twalk.newfid = 2;
    m.u.twalk.nwname = 2;
    m.u.twalk.wnames[0] = fb_p9_cstr("usr");
    m.u.twalk.wnames[1] = fb_p9_cstr("bin");
    len = fb_p9_encode(&m, buf, sizeof(buf));
    FBT_CHECK(len > 0);
    FBT_CHECK_EQ(decode_exact(buf, (size_t)len, &d), 0);
    FBT_CHECK_EQ(d.type, FB_P9_TWALKGETATTR);
    FBT_CHECK_EQ(d.u.twalk.nwname, 2);
    FBT_CHECK_EQ(d.u.twalk.wnames[1].len, 3);

    memset(&m, 0, sizeof(m));
    m.type = FB_P9_RWALKGETATTR;
    m.u.rwalk.nwqid = 1;
    m.u.rwalk.qids[0].path = 77;
    m.u.rwalk.attr.size = 123456;
    m.u.rwalk.attr.mode = 0100755;
    len = fb_p9_encode(&m, buf, sizeof(buf));
    FBT_CHECK(len > 0);
    FBT_CHECK_EQ(decode_exact(buf, (size_t)len, &d), 0);
    FBT_CHECK_EQ(d.u.rwalk.qids[0].path, 77);
    FBT_CHECK_EQ(d.u.rwalk.attr.size, 123456);
    FBT_CHECK_EQ(d.u.rwalk.attr.mode, 0100755);
    /* Cut the attr short (fixing the size field): rejected. */
    buf[0] = (uint8_t)(len - 8);
    FBT_CHECK(decode_exact(buf, (size_t)len - 8, &d) < 0);
}

static void test_encode_overflow(void)
{
    struct fb_p9_msg ms[NSAMPLES];
    uint8_t buf[4096];
    int n = samples(ms, NSAMPLES), i;

    for (i = 0; i < n; i++) {
        ssize_t len = fb_p9_encode(&ms[i], buf, sizeof(buf)), cap;
        for (cap = 0; cap < len; cap++) {
            uint8_t *small = malloc((size_t)cap + 1);
            FBT_CHECK_EQ(fb_p9_encode(&ms[i], small, (size_t)cap), -EMSGSIZE);
            free(small);
        }
    }
}

static void test_encode_long_string(void)
{
    static char big[70000];
    struct fb_p9_msg m = {.type = FB_P9_TMKDIR};
    static uint8_t buf[80000];

    memset(big, 'a', sizeof(big) - 1);
    m.u.tmkdir.name = S(big);
    FBT_CHECK_EQ(fb_p9_encode(&m, buf, sizeof(buf)), -ENAMETOOLONG);
}

/* data == NULL: header only, size counts the payload the caller sends separately. */
static void test_encode_header_only(void)
{
    struct fb_p9_msg m = {.type = FB_P9_TWRITE};
    uint8_t buf[64];

    m.u.twrite.count = 1000;
    FBT_CHECK_EQ(fb_p9_encode(&m, buf, sizeof(buf)), 23);
    FBT_CHECK_EQ(fb_get_le32(buf), 1023);
    memset(&m, 0, sizeof(m));
    m.type = FB_P9_RREAD;
    m.u.rread.count = 50;
    FBT_CHECK_EQ(fb_p9_encode(&m, buf, sizeof(buf)), FB_P9_RREAD_HDRSZ);
    FBT_CHECK_EQ(fb_get_le32(buf), 61);
}

static void test_dirent_roundtrip(void)
{
    uint8_t buf[1024];
    size_t pos = 0, rpos = 0;
    struct fb_p9_qid q = {FB_P9_QTDIR, 0, 77};
    struct fb_p9_dirent e;
    char longname[256];

    memset(longname, 'n', 255);
    longname[255] = 0;
    FBT_CHECK_EQ(fb_p9_dirent_encode(buf, sizeof(buf), &pos, &q, 1, 4, "dir", 3), 0);
    q.type = 0;
    FBT_CHECK_EQ(fb_p9_dirent_encode(buf, sizeof(buf), &pos, &q, 2, 8, longname, 255), 0);
    FBT_CHECK_EQ(pos, 24 + 3 + 24 + 255);
    /* Does not fit: nothing written, pos unchanged. */
    FBT_CHECK_EQ(fb_p9_dirent_encode(buf, pos + 26, &pos, &q, 3, 8, "abc", 3), -EMSGSIZE);
    FBT_CHECK_EQ(pos, 24 + 3 + 24 + 255);

    FBT_CHECK_EQ(fb_p9_dirent_decode(buf, pos, &rpos, &e), 1);
    FBT_CHECK_STR(e.name, "dir");
    FBT_CHECK_EQ(e.qid.type, FB_P9_QTDIR);
    FBT_CHECK_EQ(e.qid.path, 77);
    FBT_CHECK_EQ(e.offset, 1);
    FBT_CHECK_EQ(e.type, 4);
    FBT_CHECK_EQ(fb_p9_dirent_decode(buf, pos, &rpos, &e), 1);
    FBT_CHECK_STR(e.name, longname);
    FBT_CHECK_EQ(fb_p9_dirent_decode(buf, pos, &rpos, &e), 0);
}

static void test_dirent_malformed(void)
{
    uint8_t buf[512];
    size_t pos = 0, rpos, k, total;
    struct fb_p9_qid q = {0, 0, 1};
    struct fb_p9_dirent e;

    FBT_CHECK_EQ(fb_p9_dirent_encode(buf, sizeof(buf), &pos, &q, 1, 8, "first", 5), 0);
    FBT_CHECK_EQ(fb_p9_dirent_encode(buf, sizeof(buf), &pos, &q, 2, 8, "second", 6), 0);
    total = pos;
    /* A payload cut anywhere inside the second entry: first decodes, then -EPROTO. */
    for (k = 29 + 1; k < total; k++) {
        uint8_t *copy = malloc(k);
        memcpy(copy, buf, k);
        rpos = 0;
        FBT_CHECK_EQ(fb_p9_dirent_decode(copy, k, &rpos, &e), 1);
        FBT_CHECK_EQ(fb_p9_dirent_decode(copy, k, &rpos, &e), -EPROTO);
        free(copy);
    }
    /* Name length pointing past the payload. */
    buf[22] = 0xff;
    rpos = 0;
    FBT_CHECK_EQ(fb_p9_dirent_decode(buf, total, &rpos, &e), -EPROTO);
    buf[22] = 5;
    /* Bad names: '/', NUL, empty, > 255. */
    buf[24] = '/';
    rpos = 0;
    FBT_CHECK_EQ(fb_p9_dirent_decode(buf, total, &rpos, &e), -EINVAL);
    buf[24] = 0;
    rpos = 0;
    FBT_CHECK_EQ(fb_p9_dirent_decode(buf, total, &rpos, &e), -EINVAL);
    pos = 0;
    FBT_CHECK_EQ(fb_p9_dirent_encode(buf, sizeof(buf), &pos, &q, 1, 8, "", 0), 0);
    rpos = 0;
    FBT_CHECK_EQ(fb_p9_dirent_decode(buf, pos, &rpos, &e), -EINVAL);
    {
        char n300[300];
        memset(n300, 'x', sizeof(n300));
        pos = 0;
        FBT_CHECK_EQ(fb_p9_dirent_encode(buf, sizeof(buf), &pos, &q, 1, 8, n300, 300), 0);
        rpos = 0;
        FBT_CHECK_EQ(fb_p9_dirent_decode(buf, pos, &rpos, &e), -EINVAL);
    }
    /* Position beyond the payload. */
    rpos = total + 1;
    FBT_CHECK_EQ(fb_p9_dirent_decode(buf, total, &rpos, &e), -EPROTO);
}

static void test_str_copy(void)
{
    char out[4];

    FBT_CHECK_EQ(fb_p9_str_copy(out, sizeof(out), S("abc")), 0);
    FBT_CHECK_STR(out, "abc");
    FBT_CHECK_EQ(fb_p9_str_copy(out, sizeof(out), S("abcd")), -ENAMETOOLONG);
    FBT_CHECK_EQ(fb_p9_str_copy(out, 0, S("")), -ENAMETOOLONG);
}

static void test_flags_translation(void)
{
    uint32_t host = O_RDWR | O_TRUNC | O_APPEND | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    uint32_t wire = fb_p9_flags_from_host(host);

    FBT_CHECK_EQ(wire, FB_P9_L_RDWR | FB_P9_L_TRUNC | FB_P9_L_APPEND | FB_P9_L_DIRECTORY |
                           FB_P9_L_NOFOLLOW | FB_P9_L_CLOEXEC);
    FBT_CHECK_EQ(fb_p9_flags_to_host(wire), host);
    /* The donation bit is not an open flag: it never reaches the host flags. */
    FBT_CHECK_EQ(fb_p9_flags_to_host(FB_P9_LOPEN_DONATE_FD | FB_P9_L_RDONLY), O_RDONLY);
    FBT_CHECK_EQ(fb_p9_flags_from_host(O_RDONLY), 0);
}

/* Deterministic mutation fuzzing: flip, insert, truncate. Any message that decodes must
 * re-encode to exactly the same bytes (the codec is canonical), and nothing may crash. */
static void test_mutation_fuzz(void)
{
    struct fb_p9_msg ms[NSAMPLES], d;
    uint8_t orig[4096], buf[4200], re[4200];
    int n = samples(ms, NSAMPLES), iter, accepted = 0;
    uint64_t x = 0x9e3779b97f4a7c15ull;

    for (iter = 0; iter < 200000; iter++) {
        const struct fb_p9_msg *s = &ms[iter % n];
        ssize_t len = fb_p9_encode(s, orig, sizeof(orig)), rl;
        size_t L;
        int k, muts;

        memcpy(buf, orig, (size_t)len);
        L = (size_t)len;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        muts = 1 + (int)(x % 4);
        for (k = 0; k < muts; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            switch (x % 5) {
            case 0: /* flip a byte */
                buf[(x >> 8) % L] ^= (uint8_t)(1u << ((x >> 40) % 8));
                break;
            case 1: /* random byte */
                buf[(x >> 8) % L] = (uint8_t)(x >> 32);
                break;
            case 2: /* truncate */
                if (L > 1)
                    L = 1 + (x >> 8) % (L - 1);
                break;
            case 3: /* append */
                if (L < sizeof(buf) - 1)
                    buf[L++] = (uint8_t)(x >> 16);
                break;
            case 4: /* make the size field honest, so the body parser is reached */
                if (L >= 4)
                    fb_put_le32(buf, (uint32_t)L);
                break;
            }
        }
        {
            /* Exactly-sized copy that outlives the decoded pointers into it. */
            uint8_t *copy = malloc(L);
            int r;

            memcpy(copy, buf, L);
            r = fb_p9_decode(copy, L, &d);
            if (r == 0 && !(d.type == FB_P9_TFSYNC && L == 11)) {
                /* (the short Tfsync form re-encodes long) */
                rl = fb_p9_encode(&d, re, sizeof(re));
                accepted++;
                if (rl != (ssize_t)L || memcmp(re, buf, L) != 0) {
                    free(copy);
                    FBT_CHECK(!"decoded message does not re-encode to the same bytes");
                }
            }
            free(copy);
        }
    }
    FBT_CHECK(accepted > 0);
}

int main(void)
{
    FBT_RUN(test_roundtrip_all_types);
    FBT_RUN(test_roundtrip_fields);
    FBT_RUN(test_tfsync_short_form);
    FBT_RUN(test_truncated_every_offset);
    FBT_RUN(test_size_field_mismatch);
    FBT_RUN(test_frame);
    FBT_RUN(test_string_length_overflow);
    FBT_RUN(test_string_with_nul);
    FBT_RUN(test_nwname_limits);
    FBT_RUN(test_rread_count_overrun);
    FBT_RUN(test_unknown_type);
    FBT_RUN(test_walkgetattr_roundtrip);
    FBT_RUN(test_encode_overflow);
    FBT_RUN(test_encode_long_string);
    FBT_RUN(test_encode_header_only);
    FBT_RUN(test_dirent_roundtrip);
    FBT_RUN(test_dirent_malformed);
    FBT_RUN(test_str_copy);
    FBT_RUN(test_flags_translation);
    FBT_RUN(test_mutation_fuzz);
    FBT_EXIT();
}
