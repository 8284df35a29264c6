/* 9P2000.L message encoding and decoding into and out of byte buffers.
 * Both ends of the Sentry<->Gofer channel parse hostile bytes here: every read is bounds-checked.
 */
#include "gofer/p9.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>

/* ---- writer ---------------------------------------------------------------------------- */

struct p9_wr {
    uint8_t *p;
    size_t cap, pos;
    int err;
};

static void wr_bytes(struct p9_wr *w, const void *src, size_t n)
{
    if (w->err)
        return;
    if (n > w->cap - w->pos) {
        w->err = -EMSGSIZE;
        return;
    }
    if (n && (const uint8_t *)src != w->p + w->pos)
        memcpy(w->p + w->pos, src, n);
    w->pos += n;
}

static void wr8(struct p9_wr *w, uint8_t v)
{
    wr_bytes(w, &v, 1);
}

static void wr16(struct p9_wr *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    wr_bytes(w, b, 2);
}

static void wr32(struct p9_wr *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    wr_bytes(w, b, 4);
}

static void wr64(struct p9_wr *w, uint64_t v)
{
    wr32(w, (uint32_t)v);
    wr32(w, (uint32_t)(v >> 32));
}

static void wrstr(struct p9_wr *w, struct fb_p9_str s)
{
    if (w->err)
        return;
    if (s.len > 0xffff) {
        w->err = -ENAMETOOLONG;
        return;
    }
    if (s.len && !s.s) {
        w->err = -EINVAL;
        return;
    }
    wr16(w, (uint16_t)s.len);
    wr_bytes(w, s.s, s.len);
}

static void wrqid(struct p9_wr *w, const struct fb_p9_qid *q)
{
    wr8(w, q->type);
    wr32(w, q->version);
    wr64(w, q->path);
}

/* ---- reader ---------------------------------------------------------------------------- */

struct p9_rd {
    const uint8_t *p;
    size_t len, pos;
    int err;
};

static const uint8_t *rd_take(struct p9_rd *r, size_t n)
{
    const uint8_t *q;

    if (r->err)
        return NULL;
    if (n > r->len - r->pos) {
        r->err = -EPROTO;
        return NULL;
    }
    q = r->p + r->pos;
    r->pos += n;
    return q;
}

static uint8_t rd8(struct p9_rd *r)
{
    const uint8_t *q = rd_take(r, 1);
    return q ? q[0] : 0;
}

static uint16_t rd16(struct p9_rd *r)
{
    const uint8_t *q = rd_take(r, 2);
    return q ? (uint16_t)(q[0] | q[1] << 8) : 0;
}

static uint32_t rd32(struct p9_rd *r)
{
    const uint8_t *q = rd_take(r, 4);
    return q ? (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24
             : 0;
}

static uint64_t rd64(struct p9_rd *r)
{
    uint64_t lo = rd32(r);
    uint64_t hi = rd32(r);
    return lo | hi << 32;
}

static struct fb_p9_str rdstr(struct p9_rd *r)
{
    struct fb_p9_str s = {"", 0};
    uint16_t n = rd16(r);
    const uint8_t *q = rd_take(r, n);

    if (!q)
        return s;
    if (memchr(q, 0, n)) {
        r->err = -EINVAL;
        return s;
    }
    s.s = (const char *)q;
    s.len = n;
    return s;
}

static void rdqid(struct p9_rd *r, struct fb_p9_qid *q)
{
    q->type = rd8(r);
    q->version = rd32(r);
    q->path = rd64(r);
}

static void wrattr(struct p9_wr *w, const struct fb_p9_attr *a)
{
    wr64(w, a->valid);
    wrqid(w, &a->qid);
    wr32(w, a->mode);
    wr32(w, a->uid);
    wr32(w, a->gid);
    wr64(w, a->nlink);
    wr64(w, a->rdev);
    wr64(w, a->size);
    wr64(w, a->blksize);
    wr64(w, a->blocks);
    wr64(w, a->atime_sec);
    wr64(w, a->atime_nsec);
    wr64(w, a->mtime_sec);
    wr64(w, a->mtime_nsec);
    wr64(w, a->ctime_sec);
    wr64(w, a->ctime_nsec);
    wr64(w, a->btime_sec);
    wr64(w, a->btime_nsec);
    wr64(w, a->gen);
    wr64(w, a->data_version);
}

static void rdattr(struct p9_rd *r, struct fb_p9_attr *a)
{
    a->valid = rd64(r);
    rdqid(r, &a->qid);
    a->mode = rd32(r);
    a->uid = rd32(r);
    a->gid = rd32(r);
    a->nlink = rd64(r);
    a->rdev = rd64(r);
    a->size = rd64(r);
    a->blksize = rd64(r);
    a->blocks = rd64(r);
    a->atime_sec = rd64(r);
    a->atime_nsec = rd64(r);
    a->mtime_sec = rd64(r);
    a->mtime_nsec = rd64(r);
    a->ctime_sec = rd64(r);
    a->ctime_nsec = rd64(r);
    a->btime_sec = rd64(r);
    a->btime_nsec = rd64(r);
    a->gen = rd64(r);
    a->data_version = rd64(r);
}

/* ---- messages -------------------------------------------------------------------------- */

ssize_t fb_p9_encode(const struct fb_p9_msg *m, void *buf, size_t cap)
{
    struct p9_wr w = {.p = buf, .cap = cap};
    uint64_t size_extra = 0; /* payload bytes counted in size[4] but not written */
    uint64_t total;
    int i;

    wr32(&w, 0); /* size, patched below */
    wr8(&w, m->type);
    wr16(&w, m->tag);

    switch (m->type) {
    case FB_P9_TVERSION:
    case FB_P9_RVERSION:
        wr32(&w, m->u.version.msize);
        wrstr(&w, m->u.version.version);
        break;
    case FB_P9_TAUTH:
        wr32(&w, m->u.tauth.afid);
        wrstr(&w, m->u.tauth.uname);
        wrstr(&w, m->u.tauth.aname);
        wr32(&w, m->u.tauth.n_uname);
        break;
    case FB_P9_TATTACH:
        wr32(&w, m->u.tattach.fid);
        wr32(&w, m->u.tattach.afid);
        wrstr(&w, m->u.tattach.uname);
        wrstr(&w, m->u.tattach.aname);
        wr32(&w, m->u.tattach.n_uname);
        break;
    case FB_P9_RAUTH:
    case FB_P9_RATTACH:
    case FB_P9_RSYMLINK:
    case FB_P9_RMKNOD:
    case FB_P9_RMKDIR:
        wrqid(&w, &m->u.rqid.qid);
        break;
    case FB_P9_RLERROR:
        wr32(&w, m->u.rlerror.ecode);
        break;
    case FB_P9_TSTATFS:
    case FB_P9_TREADLINK:
    case FB_P9_TCLUNK:
    case FB_P9_TREMOVE:
        wr32(&w, m->u.tfid.fid);
        break;
    case FB_P9_RSTATFS: {
        const struct fb_p9_statfs *s = &m->u.rstatfs;
        wr32(&w, s->type);
        wr32(&w, s->bsize);
        wr64(&w, s->blocks);
        wr64(&w, s->bfree);
        wr64(&w, s->bavail);
        wr64(&w, s->files);
        wr64(&w, s->ffree);
        wr64(&w, s->fsid);
        wr32(&w, s->namelen);
        break;
    }
    case FB_P9_TLOPEN:
        wr32(&w, m->u.tlopen.fid);
        wr32(&w, m->u.tlopen.flags);
        break;
    case FB_P9_RLOPEN:
    case FB_P9_RLCREATE:
        wrqid(&w, &m->u.ropen.qid);
        wr32(&w, m->u.ropen.iounit);
        break;
    case FB_P9_TLCREATE:
        wr32(&w, m->u.tlcreate.fid);
        wrstr(&w, m->u.tlcreate.name);
        wr32(&w, m->u.tlcreate.flags);
        wr32(&w, m->u.tlcreate.mode);
        wr32(&w, m->u.tlcreate.gid);
        break;
    case FB_P9_TSYMLINK:
        wr32(&w, m->u.tsymlink.fid);
        wrstr(&w, m->u.tsymlink.name);
        wrstr(&w, m->u.tsymlink.target);
        wr32(&w, m->u.tsymlink.gid);
        break;
    case FB_P9_TMKNOD:
        wr32(&w, m->u.tmknod.dfid);
        wrstr(&w, m->u.tmknod.name);
        wr32(&w, m->u.tmknod.mode);
        wr32(&w, m->u.tmknod.major);
        wr32(&w, m->u.tmknod.minor);
        wr32(&w, m->u.tmknod.gid);
        break;
    case FB_P9_TRENAME:
        wr32(&w, m->u.trename.fid);
        wr32(&w, m->u.trename.dfid);
        wrstr(&w, m->u.trename.name);
        break;
    case FB_P9_RREADLINK:
        wrstr(&w, m->u.rreadlink.target);
        break;
    case FB_P9_TGETATTR:
        wr32(&w, m->u.tgetattr.fid);
        wr64(&w, m->u.tgetattr.mask);
        break;
    case FB_P9_RGETATTR:
        wrattr(&w, &m->u.rgetattr);
        break;
    case FB_P9_TSETATTR: {
        const struct fb_p9_setattr *s = &m->u.tsetattr.sa;
        wr32(&w, m->u.tsetattr.fid);
        wr32(&w, s->valid);
        wr32(&w, s->mode);
        wr32(&w, s->uid);
        wr32(&w, s->gid);
        wr64(&w, s->size);
        wr64(&w, s->atime_sec);
        wr64(&w, s->atime_nsec);
        wr64(&w, s->mtime_sec);
        wr64(&w, s->mtime_nsec);
        break;
    }
    case FB_P9_TXATTRWALK:
        wr32(&w, m->u.txattrwalk.fid);
        wr32(&w, m->u.txattrwalk.newfid);
        wrstr(&w, m->u.txattrwalk.name);
        break;
    case FB_P9_RXATTRWALK:
        wr64(&w, m->u.rxattrwalk.size);
        break;
    case FB_P9_TXATTRCREATE:
        wr32(&w, m->u.txattrcreate.fid);
        wrstr(&w, m->u.txattrcreate.name);
        wr64(&w, m->u.txattrcreate.size);
        wr32(&w, m->u.txattrcreate.flags);
        break;
    case FB_P9_TREAD:
    case FB_P9_TREADDIR:
        wr32(&w, m->u.tread.fid);
        wr64(&w, m->u.tread.offset);
        wr32(&w, m->u.tread.count);
        break;
    case FB_P9_RREAD:
    case FB_P9_RREADDIR:
        wr32(&w, m->u.rread.count);
        if (m->u.rread.data)
            wr_bytes(&w, m->u.rread.data, m->u.rread.count);
        else
            size_extra = m->u.rread.count;
        break;
    case FB_P9_TWRITE:
        wr32(&w, m->u.twrite.fid);
        wr64(&w, m->u.twrite.offset);
        wr32(&w, m->u.twrite.count);
        if (m->u.twrite.data)
            wr_bytes(&w, m->u.twrite.data, m->u.twrite.count);
        else
            size_extra = m->u.twrite.count;
        break;
    case FB_P9_RWRITE:
        wr32(&w, m->u.rwrite.count);
        break;
    case FB_P9_TFSYNC:
        wr32(&w, m->u.tfsync.fid);
        wr32(&w, m->u.tfsync.datasync);
        break;
    case FB_P9_TLINK:
        wr32(&w, m->u.tlink.dfid);
        wr32(&w, m->u.tlink.fid);
        wrstr(&w, m->u.tlink.name);
        break;
    case FB_P9_TMKDIR:
        wr32(&w, m->u.tmkdir.dfid);
        wrstr(&w, m->u.tmkdir.name);
        wr32(&w, m->u.tmkdir.mode);
        wr32(&w, m->u.tmkdir.gid);
        break;
    case FB_P9_TRENAMEAT:
        wr32(&w, m->u.trenameat.olddfid);
        wrstr(&w, m->u.trenameat.oldname);
        wr32(&w, m->u.trenameat.newdfid);
        wrstr(&w, m->u.trenameat.newname);
        break;
    case FB_P9_TUNLINKAT:
        wr32(&w, m->u.tunlinkat.dfid);
        wrstr(&w, m->u.tunlinkat.name);
        wr32(&w, m->u.tunlinkat.flags);
        break;
    case FB_P9_TFLUSH:
        wr16(&w, m->u.tflush.oldtag);
        break;
    case FB_P9_TWALK:
    case FB_P9_TWALKGETATTR:
        if (m->u.twalk.nwname > FB_P9_MAXWELEM)
            return -EINVAL;
        wr32(&w, m->u.twalk.fid);
        wr32(&w, m->u.twalk.newfid);
        wr16(&w, m->u.twalk.nwname);
        for (i = 0; i < m->u.twalk.nwname; i++)
            wrstr(&w, m->u.twalk.wnames[i]);
        break;
    case FB_P9_RWALK:
    case FB_P9_RWALKGETATTR:
        if (m->u.rwalk.nwqid > FB_P9_MAXWELEM)
            return -EINVAL;
        wr16(&w, m->u.rwalk.nwqid);
        for (i = 0; i < m->u.rwalk.nwqid; i++)
            wrqid(&w, &m->u.rwalk.qids[i]);
        if (m->type == FB_P9_RWALKGETATTR)
            wrattr(&w, &m->u.rwalk.attr);
        break;
    case FB_P9_RRENAME:
    case FB_P9_RSETATTR:
    case FB_P9_RXATTRCREATE:
    case FB_P9_RFSYNC:
    case FB_P9_RLINK:
    case FB_P9_RRENAMEAT:
    case FB_P9_RUNLINKAT:
    case FB_P9_RFLUSH:
    case FB_P9_RCLUNK:
    case FB_P9_RREMOVE:
        break; /* empty body */
    default:
        return -EOPNOTSUPP;
    }
    if (w.err)
        return w.err;
    total = w.pos + size_extra;
    if (total > 0xffffffffu)
        return -EMSGSIZE;
    w.p[0] = (uint8_t)total;
    w.p[1] = (uint8_t)(total >> 8);
    w.p[2] = (uint8_t)(total >> 16);
    w.p[3] = (uint8_t)(total >> 24);
    return (ssize_t)w.pos;
}

int fb_p9_frame(const void *buf, size_t len, uint32_t msize, uint32_t *size)
{
    const uint8_t *p = buf;
    uint32_t n;

    if (len < 4)
        return -EAGAIN;
    n = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    if (n < FB_P9_HDRSZ)
        return -EPROTO;
    if (n > msize)
        return -EMSGSIZE;
    *size = n;
    return 0;
}

int fb_p9_decode(const void *buf, size_t len, struct fb_p9_msg *m)
{
    struct p9_rd r = {.p = buf, .len = len};
    uint32_t size;
    int i;

    memset(m, 0, sizeof(*m));
    size = rd32(&r);
    m->type = rd8(&r);
    m->tag = rd16(&r);
    if (r.err)
        return -EPROTO;
    if (size != len)
        return -EPROTO;

    switch (m->type) {
    case FB_P9_TVERSION:
    case FB_P9_RVERSION:
        m->u.version.msize = rd32(&r);
        m->u.version.version = rdstr(&r);
        break;
    case FB_P9_TAUTH:
        m->u.tauth.afid = rd32(&r);
        m->u.tauth.uname = rdstr(&r);
        m->u.tauth.aname = rdstr(&r);
        m->u.tauth.n_uname = rd32(&r);
        break;
    case FB_P9_TATTACH:
        m->u.tattach.fid = rd32(&r);
        m->u.tattach.afid = rd32(&r);
        m->u.tattach.uname = rdstr(&r);
        m->u.tattach.aname = rdstr(&r);
        m->u.tattach.n_uname = rd32(&r);
        break;
    case FB_P9_RAUTH:
    case FB_P9_RATTACH:
    case FB_P9_RSYMLINK:
    case FB_P9_RMKNOD:
    case FB_P9_RMKDIR:
        rdqid(&r, &m->u.rqid.qid);
        break;
    case FB_P9_RLERROR:
        m->u.rlerror.ecode = rd32(&r);
        break;
    case FB_P9_TSTATFS:
    case FB_P9_TREADLINK:
    case FB_P9_TCLUNK:
    case FB_P9_TREMOVE:
        m->u.tfid.fid = rd32(&r);
        break;
    case FB_P9_RSTATFS: {
        struct fb_p9_statfs *s = &m->u.rstatfs;
        s->type = rd32(&r);
        s->bsize = rd32(&r);
        s->blocks = rd64(&r);
        s->bfree = rd64(&r);
        s->bavail = rd64(&r);
        s->files = rd64(&r);
        s->ffree = rd64(&r);
        s->fsid = rd64(&r);
        s->namelen = rd32(&r);
        break;
    }
    case FB_P9_TLOPEN:
        m->u.tlopen.fid = rd32(&r);
        m->u.tlopen.flags = rd32(&r);
        break;
    case FB_P9_RLOPEN:
    case FB_P9_RLCREATE:
        rdqid(&r, &m->u.ropen.qid);
        m->u.ropen.iounit = rd32(&r);
        break;
    case FB_P9_TLCREATE:
        m->u.tlcreate.fid = rd32(&r);
        m->u.tlcreate.name = rdstr(&r);
        m->u.tlcreate.flags = rd32(&r);
        m->u.tlcreate.mode = rd32(&r);
        m->u.tlcreate.gid = rd32(&r);
        break;
    case FB_P9_TSYMLINK:
        m->u.tsymlink.fid = rd32(&r);
        m->u.tsymlink.name = rdstr(&r);
        m->u.tsymlink.target = rdstr(&r);
        m->u.tsymlink.gid = rd32(&r);
        break;
    case FB_P9_TMKNOD:
        m->u.tmknod.dfid = rd32(&r);
        m->u.tmknod.name = rdstr(&r);
        m->u.tmknod.mode = rd32(&r);
        m->u.tmknod.major = rd32(&r);
        m->u.tmknod.minor = rd32(&r);
        m->u.tmknod.gid = rd32(&r);
        break;
    case FB_P9_TRENAME:
        m->u.trename.fid = rd32(&r);
        m->u.trename.dfid = rd32(&r);
        m->u.trename.name = rdstr(&r);
        break;
    case FB_P9_RREADLINK:
        m->u.rreadlink.target = rdstr(&r);
        break;
    case FB_P9_TGETATTR:
        m->u.tgetattr.fid = rd32(&r);
        m->u.tgetattr.mask = rd64(&r);
        break;
    case FB_P9_RGETATTR:
        rdattr(&r, &m->u.rgetattr);
        break;
    case FB_P9_TSETATTR: {
        struct fb_p9_setattr *s = &m->u.tsetattr.sa;
        m->u.tsetattr.fid = rd32(&r);
        s->valid = rd32(&r);
        s->mode = rd32(&r);
        s->uid = rd32(&r);
        s->gid = rd32(&r);
        s->size = rd64(&r);
        s->atime_sec = rd64(&r);
        s->atime_nsec = rd64(&r);
        s->mtime_sec = rd64(&r);
        s->mtime_nsec = rd64(&r);
        break;
    }
    case FB_P9_TXATTRWALK:
        m->u.txattrwalk.fid = rd32(&r);
        m->u.txattrwalk.newfid = rd32(&r);
        m->u.txattrwalk.name = rdstr(&r);
        break;
    case FB_P9_RXATTRWALK:
        m->u.rxattrwalk.size = rd64(&r);
        break;
    case FB_P9_TXATTRCREATE:
        m->u.txattrcreate.fid = rd32(&r);
        m->u.txattrcreate.name = rdstr(&r);
        m->u.txattrcreate.size = rd64(&r);
        m->u.txattrcreate.flags = rd32(&r);
        break;
    case FB_P9_TREAD:
    case FB_P9_TREADDIR:
        m->u.tread.fid = rd32(&r);
        m->u.tread.offset = rd64(&r);
        m->u.tread.count = rd32(&r);
        break;
    case FB_P9_RREAD:
    case FB_P9_RREADDIR:
        m->u.rread.count = rd32(&r);
        m->u.rread.data = rd_take(&r, m->u.rread.count);
        break;
    case FB_P9_TWRITE:
        m->u.twrite.fid = rd32(&r);
        m->u.twrite.offset = rd64(&r);
        m->u.twrite.count = rd32(&r);
        m->u.twrite.data = rd_take(&r, m->u.twrite.count);
        break;
    case FB_P9_RWRITE:
        m->u.rwrite.count = rd32(&r);
        break;
    case FB_P9_TFSYNC:
        m->u.tfsync.fid = rd32(&r);
        /* Older 9P2000.L clients send fid only; Linux sends fid + datasync. Accept both. */
        if (r.len - r.pos >= 4)
            m->u.tfsync.datasync = rd32(&r);
        break;
    case FB_P9_TLINK:
        m->u.tlink.dfid = rd32(&r);
        m->u.tlink.fid = rd32(&r);
        m->u.tlink.name = rdstr(&r);
        break;
    case FB_P9_TMKDIR:
        m->u.tmkdir.dfid = rd32(&r);
        m->u.tmkdir.name = rdstr(&r);
        m->u.tmkdir.mode = rd32(&r);
        m->u.tmkdir.gid = rd32(&r);
        break;
    case FB_P9_TRENAMEAT:
        m->u.trenameat.olddfid = rd32(&r);
        m->u.trenameat.oldname = rdstr(&r);
        m->u.trenameat.newdfid = rd32(&r);
        m->u.trenameat.newname = rdstr(&r);
        break;
    case FB_P9_TUNLINKAT:
        m->u.tunlinkat.dfid = rd32(&r);
        m->u.tunlinkat.name = rdstr(&r);
        m->u.tunlinkat.flags = rd32(&r);
        break;
    case FB_P9_TFLUSH:
        m->u.tflush.oldtag = rd16(&r);
        break;
    case FB_P9_TWALK:
    case FB_P9_TWALKGETATTR:
        m->u.twalk.fid = rd32(&r);
        m->u.twalk.newfid = rd32(&r);
        m->u.twalk.nwname = rd16(&r);
        if (!r.err && m->u.twalk.nwname > FB_P9_MAXWELEM)
            return -EINVAL;
        for (i = 0; i < m->u.twalk.nwname && !r.err; i++)
            m->u.twalk.wnames[i] = rdstr(&r);
        break;
    case FB_P9_RWALK:
    case FB_P9_RWALKGETATTR:
        m->u.rwalk.nwqid = rd16(&r);
        if (!r.err && m->u.rwalk.nwqid > FB_P9_MAXWELEM)
            return -EINVAL;
        for (i = 0; i < m->u.rwalk.nwqid && !r.err; i++)
            rdqid(&r, &m->u.rwalk.qids[i]);
        if (m->type == FB_P9_RWALKGETATTR)
            rdattr(&r, &m->u.rwalk.attr);
        break;
    case FB_P9_RRENAME:
    case FB_P9_RSETATTR:
    case FB_P9_RXATTRCREATE:
    case FB_P9_RFSYNC:
    case FB_P9_RLINK:
    case FB_P9_RRENAMEAT:
    case FB_P9_RUNLINKAT:
    case FB_P9_RFLUSH:
    case FB_P9_RCLUNK:
    case FB_P9_RREMOVE:
        break;
    default:
        return -EOPNOTSUPP;
    }
    if (r.err)
        return r.err;
    if (r.pos != r.len)
        return -EPROTO; /* trailing bytes: a length field lied */
    return 0;
}

int fb_p9_dirent_encode(void *buf, size_t cap, size_t *pos, const struct fb_p9_qid *qid,
                        uint64_t offset, uint8_t type, const char *name, size_t namelen)
{
    struct p9_wr w = {.p = buf, .cap = cap, .pos = *pos};

    if (*pos > cap)
        return -EMSGSIZE;
    if (namelen > 0xffff)
        return -ENAMETOOLONG;
    if (FB_P9_DIRENT_HDRSZ + namelen > cap - *pos)
        return -EMSGSIZE;
    wrqid(&w, qid);
    wr64(&w, offset);
    wr8(&w, type);
    wrstr(&w, (struct fb_p9_str){name, (uint32_t)namelen});
    if (w.err)
        return w.err;
    *pos = w.pos;
    return 0;
}

int fb_p9_dirent_decode(const void *buf, size_t len, size_t *pos, struct fb_p9_dirent *out)
{
    struct p9_rd r = {.p = buf, .len = len, .pos = *pos};
    struct fb_p9_str name;

    if (*pos >= len)
        return *pos == len ? 0 : -EPROTO;
    rdqid(&r, &out->qid);
    out->offset = rd64(&r);
    out->type = rd8(&r);
    name = rdstr(&r);
    if (r.err)
        return r.err;
    if (name.len == 0 || name.len > FB_P9_NAME_MAX || memchr(name.s, '/', name.len))
        return -EINVAL;
    memcpy(out->name, name.s, name.len);
    out->name[name.len] = '\0';
    *pos = r.pos;
    return 1;
}

int fb_p9_str_copy(char *dst, size_t cap, struct fb_p9_str s)
{
    if (cap == 0 || s.len >= cap)
        return -ENAMETOOLONG;
    if (s.len)
        memcpy(dst, s.s, s.len);
    dst[s.len] = '\0';
    return 0;
}

/* Wire (Linux generic numbering) <-> host O_* flags. */
static const struct {
    uint32_t wire;
    int host;
} p9_flag_map[] = {
    {FB_P9_L_CREATE, O_CREAT},        {FB_P9_L_EXCL, O_EXCL},
    {FB_P9_L_NOCTTY, O_NOCTTY},       {FB_P9_L_TRUNC, O_TRUNC},
    {FB_P9_L_APPEND, O_APPEND},       {FB_P9_L_NONBLOCK, O_NONBLOCK},
    {FB_P9_L_DSYNC, O_DSYNC},         {FB_P9_L_FASYNC, O_ASYNC},
    {FB_P9_L_DIRECT, O_DIRECT},       {FB_P9_L_LARGEFILE, O_LARGEFILE},
    {FB_P9_L_DIRECTORY, O_DIRECTORY}, {FB_P9_L_NOFOLLOW, O_NOFOLLOW},
    {FB_P9_L_NOATIME, O_NOATIME},     {FB_P9_L_CLOEXEC, O_CLOEXEC},
    {FB_P9_L_SYNC, O_SYNC},
};

uint32_t fb_p9_flags_to_host(uint32_t wire)
{
    uint32_t host = wire & FB_P9_L_ACCMODE; /* O_RDONLY/O_WRONLY/O_RDWR are universal */
    size_t i;

    for (i = 0; i < sizeof(p9_flag_map) / sizeof(p9_flag_map[0]); i++)
        if ((wire & p9_flag_map[i].wire) == p9_flag_map[i].wire)
            host |= (uint32_t)p9_flag_map[i].host;
    return host;
}

uint32_t fb_p9_flags_from_host(uint32_t host)
{
    uint32_t wire = host & O_ACCMODE;
    size_t i;

    for (i = 0; i < sizeof(p9_flag_map) / sizeof(p9_flag_map[0]); i++)
        if (p9_flag_map[i].host && /* O_LARGEFILE is 0 on 64-bit hosts */
            (host & (uint32_t)p9_flag_map[i].host) == (uint32_t)p9_flag_map[i].host)
            wire |= p9_flag_map[i].wire;
    return wire;
}

const char *fb_p9_type_name(uint8_t type)
{
    switch (type) {
    case FB_P9_RLERROR:
        return "Rlerror";
    case FB_P9_TSTATFS:
        return "Tstatfs";
    case FB_P9_TLOPEN:
        return "Tlopen";
    case FB_P9_TLCREATE:
        return "Tlcreate";
    case FB_P9_TSYMLINK:
        return "Tsymlink";
    case FB_P9_TMKNOD:
        return "Tmknod";
    case FB_P9_TRENAME:
        return "Trename";
    case FB_P9_TREADLINK:
        return "Treadlink";
    case FB_P9_TGETATTR:
        return "Tgetattr";
    case FB_P9_TSETATTR:
        return "Tsetattr";
    case FB_P9_TXATTRWALK:
        return "Txattrwalk";
    case FB_P9_TXATTRCREATE:
        return "Txattrcreate";
    case FB_P9_TREADDIR:
        return "Treaddir";
    case FB_P9_TFSYNC:
        return "Tfsync";
    case FB_P9_TLOCK:
        return "Tlock";
    case FB_P9_TGETLOCK:
        return "Tgetlock";
    case FB_P9_TLINK:
        return "Tlink";
    case FB_P9_TMKDIR:
        return "Tmkdir";
    case FB_P9_TRENAMEAT:
        return "Trenameat";
    case FB_P9_TUNLINKAT:
        return "Tunlinkat";
    case FB_P9_TVERSION:
        return "Tversion";
    case FB_P9_TAUTH:
        return "Tauth";
    case FB_P9_TATTACH:
        return "Tattach";
    case FB_P9_TFLUSH:
        return "Tflush";
    case FB_P9_TWALK:
        return "Twalk";
    case FB_P9_TWALKGETATTR:
        return "Twalkgetattr";
    case FB_P9_TREAD:
        return "Tread";
    case FB_P9_TWRITE:
        return "Twrite";
    case FB_P9_TCLUNK:
        return "Tclunk";
    case FB_P9_TREMOVE:
        return "Tremove";
    default:
        return (type & 1) ? "R?" : "T?";
    }
}
