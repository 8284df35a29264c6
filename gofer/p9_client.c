/* 9P2000.L client: one synchronous round trip at a time over a stream socket to the Gofer.
 * Used by the Sentry; everything received is treated as hostile (see gofer/p9_msg.c). */
#include "gofer/p9_client.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kernel/util/log.h"

#define P9C_MAX_RX_FDS 4 /* room to receive (and close) a few unexpected fds */

struct fb_p9_client {
    pthread_mutex_t lock;
    int sock;
    uint32_t msize;
    uint16_t next_tag;
    int dead;     /* 0, or the -errno every call returns once the channel is unusable */
    uint8_t *buf; /* msize bytes: the request is built here, then the reply lands here */

    /* fid allocator: numbers below next_fid are handed out; `used` is a bitmap over them so a
     * double clunk can never put one number on the free list twice. */
    uint32_t next_fid;
    uint8_t *used;
    size_t used_bytes;
    uint32_t *free_fids;
    size_t nfree, free_cap;
};

/* ---- fid numbers ----------------------------------------------------------------------- */

static bool fid_is_used(const struct fb_p9_client *c, uint32_t fid)
{
    return fid / 8 < c->used_bytes && (c->used[fid / 8] & (1u << (fid % 8)));
}

static int fid_alloc(struct fb_p9_client *c, uint32_t *fid)
{
    uint32_t f;

    if (c->nfree) {
        f = c->free_fids[--c->nfree];
    } else {
        if (c->next_fid == FB_P9_NOFID)
            return -EMFILE;
        f = c->next_fid;
        if (f / 8 >= c->used_bytes) {
            size_t n = c->used_bytes ? c->used_bytes * 2 : 64;
            uint8_t *u = realloc(c->used, n);
            if (!u)
                return -ENOMEM;
            memset(u + c->used_bytes, 0, n - c->used_bytes);
            c->used = u;
            c->used_bytes = n;
        }
        c->next_fid++;
    }
    c->used[f / 8] |= (uint8_t)(1u << (f % 8));
    *fid = f;
    return 0;
}

static void fid_release(struct fb_p9_client *c, uint32_t fid)
{
    if (!fid_is_used(c, fid))
        return;
    if (c->nfree == c->free_cap) {
        size_t n = c->free_cap ? c->free_cap * 2 : 64;
        uint32_t *p = realloc(c->free_fids, n * sizeof(*p));
        if (!p)
            return; /* leak the number, keep it marked used: never handed out twice */
        c->free_fids = p;
        c->free_cap = n;
    }
    c->used[fid / 8] &= (uint8_t) ~(1u << (fid % 8));
    c->free_fids[c->nfree++] = fid;
}

/* ---- transport ------------------------------------------------------------------------- */

static int chan_fail(struct fb_p9_client *c, int err)
{
    if (!c->dead) {
        fb_warn("9p channel to gofer failed: %s", strerror(-err));
        c->dead = (err == -EPIPE || err == -ECONNRESET) ? err : -ECONNRESET;
    }
    return err;
}

/* Send iov[0..n) completely. */
static int chan_send(struct fb_p9_client *c, struct iovec *iov, int n)
{
    struct msghdr mh = {0};

    while (n > 0) {
        ssize_t r;

        mh.msg_iov = iov;
        mh.msg_iovlen = (size_t)n;
        r = sendmsg(c->sock, &mh, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return chan_fail(c, errno == ECONNRESET ? -ECONNRESET : -EPIPE);
        }
        while (n > 0 && (size_t)r >= iov->iov_len) {
            r -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + r;
            iov->iov_len -= (size_t)r;
        }
    }
    return 0;
}

/* Collect fds from SCM_RIGHTS: keep the first in *keep (if keep != NULL and still -1), close
 * every other one. */
static void take_fds(struct msghdr *mh, int *keep)
{
    struct cmsghdr *cm;

    for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
        size_t n, i;

        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
            cm->cmsg_len < CMSG_LEN(0))
            continue;
        n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            if (fd < 0)
                continue;
            if (keep && *keep < 0)
                *keep = fd;
            else
                close(fd);
        }
    }
}

/*
 * Receive exactly one reply, scattered over segs[0..nseg) (at most 3 segments, the first at least
 * 11 bytes). Validates framing: 7 <= size <= msize, size fits the segments, and nothing beyond
 * size arrives. A received fd goes to *fd (if fd != NULL) -- the caller closes it unless the
 * reply wants it. Any framing error kills the channel: the stream position is then unknown.
 */
static int chan_recv(struct fb_p9_client *c, const struct iovec *segs, int nseg, uint32_t *size_out,
                     int *fd)
{
    size_t got = 0, total = 0;
    uint32_t size = 0;
    bool have_size = false;
    int i;

    for (i = 0; i < nseg; i++)
        total += segs[i].iov_len;
    for (;;) {
        union {
            char buf[CMSG_SPACE(sizeof(int) * P9C_MAX_RX_FDS)];
            struct cmsghdr align;
        } ctl;
        struct iovec iov[3];
        struct msghdr mh = {0};
        size_t skip = got;
        int niov = 0;
        ssize_t r;

        /* The not yet filled part of the segments. */
        for (i = 0; i < nseg; i++) {
            if (skip >= segs[i].iov_len) {
                skip -= segs[i].iov_len;
                continue;
            }
            iov[niov].iov_base = (uint8_t *)segs[i].iov_base + skip;
            iov[niov++].iov_len = segs[i].iov_len - skip;
            skip = 0;
        }
        mh.msg_iov = iov;
        mh.msg_iovlen = (size_t)niov;
        mh.msg_control = ctl.buf;
        mh.msg_controllen = sizeof(ctl.buf);
        r = recvmsg(c->sock, &mh, MSG_CMSG_CLOEXEC);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return chan_fail(c, errno == EPIPE ? -EPIPE : -ECONNRESET);
        }
        if (mh.msg_controllen)
            take_fds(&mh, fd);
        if (r == 0)
            return chan_fail(c, -ECONNRESET);
        got += (size_t)r;
        if (!have_size && got >= 4) {
            const uint8_t *h = segs[0].iov_base; /* segs[0] holds at least 11 bytes */
            if (fb_p9_frame(h, 4, c->msize, &size) < 0 || size > total) {
                fb_err("gofer sent a reply with bad size %u (max %zu)",
                       (unsigned)h[0] | h[1] << 8 | h[2] << 16 | (unsigned)h[3] << 24, total);
                return chan_fail(c, -EPROTO), -EPROTO;
            }
            have_size = true;
        }
        if (have_size && got >= size) {
            if (got > size) {
                fb_err("gofer sent %zu bytes beyond its reply", got - size);
                return chan_fail(c, -EPROTO), -EPROTO;
            }
            *size_out = size;
            return 0;
        }
    }
}

static uint16_t tag_next(struct fb_p9_client *c)
{
    uint16_t t = c->next_tag++;
    if (c->next_tag == FB_P9_NOTAG)
        c->next_tag = 1;
    return t;
}

static int lerror_code(uint32_t ecode)
{
    /* A zero or absurd error code must not turn into success or a pointer-like value. */
    if (ecode == 0 || ecode > 4095)
        return -EPROTO;
    return -(int)ecode;
}

/* A donated fd is kept only if it is what the protocol donates (gofer/p9.h): a regular file
 * open read-only -- a hostile gofer must not hand the Sentry a socket, a device or a writable
 * file. Returns fd, or -1 after closing it. */
static int donated_fd_check(int fd)
{
    struct stat st;
    int fl = fcntl(fd, F_GETFL);

    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fl < 0 || (fl & O_ACCMODE) != O_RDONLY) {
        fb_warn("gofer donated an fd that is not a read-only regular file; ignoring it");
        close(fd);
        return -1;
    }
    return fd;
}

/*
 * One round trip: encode req (tag assigned here), send, receive and decode into rep. Returns 0
 * if rep->type == rtype, the negated Rlerror code, or -EPROTO. Strings in rep point into c->buf
 * and stay valid until the lock is dropped. If fd != NULL, a donated fd that came with a reply
 * of type rtype is stored there (else closed). Caller holds c->lock.
 */
static int rpc(struct fb_p9_client *c, struct fb_p9_msg *req, uint8_t rtype, struct fb_p9_msg *rep,
               int *fd)
{
    struct iovec iov;
    uint32_t size;
    ssize_t n;
    int rx_fd = -1, err;

    if (c->dead)
        return c->dead;
    if (req->type != FB_P9_TVERSION)
        req->tag = tag_next(c);
    n = fb_p9_encode(req, c->buf, c->msize);
    if (n < 0)
        return (int)n == -EMSGSIZE ? -ENAMETOOLONG : (int)n;
    iov.iov_base = c->buf;
    iov.iov_len = (size_t)n;
    err = chan_send(c, &iov, 1);
    if (err)
        return err;
    iov.iov_base = c->buf;
    iov.iov_len = c->msize;
    err = chan_recv(c, &iov, 1, &size, &rx_fd);
    if (err)
        goto out_close_fd;
    err = fb_p9_decode(c->buf, size, rep);
    if (err) {
        fb_warn("malformed 9p reply (%d) to %s", err, fb_p9_type_name(req->type));
        err = -EPROTO;
        goto out_close_fd;
    }
    if (rep->tag != req->tag) {
        fb_err("9p reply tag %u does not match request tag %u", rep->tag, req->tag);
        err = chan_fail(c, -EPROTO);
        goto out_close_fd;
    }
    if (rep->type == FB_P9_RLERROR) {
        err = lerror_code(rep->u.rlerror.ecode);
        goto out_close_fd;
    }
    if (rep->type != rtype) {
        fb_warn("unexpected 9p reply %u to %s", rep->type, fb_p9_type_name(req->type));
        err = -EPROTO;
        goto out_close_fd;
    }
    if (fd) {
        *fd = rx_fd;
        rx_fd = -1;
    }
    err = 0;
out_close_fd:
    if (rx_fd >= 0)
        close(rx_fd);
    return err;
}

/* Names sent to the server: the client refuses what can never be valid on the wire ("", "."
 * and "..", a '/'): the Gofer treats those as a protocol violation and closes the channel, and
 * with it every file of the sandbox. */
static int check_name(const char *name)
{
    size_t n;

    if (!name)
        return -EFAULT;
    n = strlen(name);
    if (n == 0 || memchr(name, '/', n) || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return -EINVAL;
    if (n > FB_P9_NAME_MAX)
        return -ENAMETOOLONG;
    return 0;
}

/* ---- public API ------------------------------------------------------------------------ */

int fb_p9c_new(int sock, uint32_t msize, struct fb_p9_client **out)
{
    struct fb_p9_client *c;
    struct fb_p9_msg req = {0}, rep;
    int err;

    *out = NULL;
    if (sock < 0)
        return -EBADF;
    if (msize == 0)
        msize = FB_P9_DEFAULT_MSIZE;
    if (msize < FB_P9_MIN_MSIZE) {
        close(sock);
        return -EINVAL;
    }
    if (msize > FB_P9_MAX_MSIZE)
        msize = FB_P9_MAX_MSIZE;
    c = calloc(1, sizeof(*c));
    if (!c) {
        close(sock);
        return -ENOMEM;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->sock = sock;
    c->msize = msize;
    c->next_tag = 1;
    c->buf = malloc(msize);
    if (!c->buf) {
        err = -ENOMEM;
        goto out_free;
    }
    req.type = FB_P9_TVERSION;
    req.tag = FB_P9_NOTAG;
    req.u.version.msize = msize;
    req.u.version.version = fb_p9_cstr(FB_P9_VERSION_L);
    err = rpc(c, &req, FB_P9_RVERSION, &rep, NULL);
    if (err)
        goto out_free;
    if (rep.u.version.version.len != strlen(FB_P9_VERSION_L) ||
        memcmp(rep.u.version.version.s, FB_P9_VERSION_L, rep.u.version.version.len) != 0) {
        err = -EPROTONOSUPPORT;
        goto out_free;
    }
    if (rep.u.version.msize < FB_P9_MIN_MSIZE || rep.u.version.msize > msize) {
        err = -EPROTO;
        goto out_free;
    }
    c->msize = rep.u.version.msize;
    *out = c;
    return 0;
out_free:
    fb_p9c_free(c);
    return err;
}

void fb_p9c_free(struct fb_p9_client *c)
{
    if (!c)
        return;
    if (c->sock >= 0)
        close(c->sock);
    pthread_mutex_destroy(&c->lock);
    free(c->buf);
    free(c->used);
    free(c->free_fids);
    free(c);
}

uint32_t fb_p9c_msize(const struct fb_p9_client *c)
{
    return c->msize;
}

uint32_t fb_p9c_max_io(const struct fb_p9_client *c)
{
    return c->msize - FB_P9_IOHDRSZ;
}

int fb_p9c_attach(struct fb_p9_client *c, const char *aname, uint32_t *fid, struct fb_p9_qid *qid)
{
    struct fb_p9_msg req = {.type = FB_P9_TATTACH}, rep;
    uint32_t f;
    int err;

    pthread_mutex_lock(&c->lock);
    err = fid_alloc(c, &f);
    if (err)
        goto out_unlock;
    req.u.tattach.fid = f;
    req.u.tattach.afid = FB_P9_NOFID;
    req.u.tattach.uname = fb_p9_cstr("");
    req.u.tattach.aname = fb_p9_cstr(aname ? aname : "");
    req.u.tattach.n_uname = FB_P9_NOFID; /* the gofer ignores identities */
    err = rpc(c, &req, FB_P9_RATTACH, &rep, NULL);
    if (err) {
        if (err != -EPROTO) /* on a garbled reply the server may hold f: never reuse it */
            fid_release(c, f);
        goto out_unlock;
    }
    *fid = f;
    if (qid)
        *qid = rep.u.rqid.qid;
out_unlock:
    pthread_mutex_unlock(&c->lock);
    return err;
}

int fb_p9c_walk(struct fb_p9_client *c, uint32_t fid, int nwname, const char *const *names,
                uint32_t *newfid, struct fb_p9_qid *last_qid)
{
    struct fb_p9_msg req = {.type = FB_P9_TWALK}, rep;
    uint32_t f;
    int i, err;

    if (nwname < 0 || nwname > FB_P9_MAXWELEM)
        return -EINVAL;
    for (i = 0; i < nwname; i++) {
        int r = check_name(names[i]);
        if (r < 0)
            return r;
        req.u.twalk.wnames[i] = fb_p9_cstr(names[i]);
    }
    pthread_mutex_lock(&c->lock);
    err = fid_alloc(c, &f);
    if (err)
        goto out_unlock;
    req.u.twalk.fid = fid;
    req.u.twalk.newfid = f;
    req.u.twalk.nwname = (uint16_t)nwname;
    err = rpc(c, &req, FB_P9_RWALK, &rep, NULL);
    if (err) {
        if (err != -EPROTO)
            fid_release(c, f);
        goto out_unlock;
    }
    if (rep.u.rwalk.nwqid > nwname || (nwname > 0 && rep.u.rwalk.nwqid == 0)) {
        err = -EPROTO; /* f's state on the server is unknown: leave it allocated */
        goto out_unlock;
    }
    if (rep.u.rwalk.nwqid < nwname) {
        /* Partial walk: the server created no fid. Report where it stopped. */
        fid_release(c, f);
        if (last_qid)
            *last_qid = rep.u.rwalk.qids[rep.u.rwalk.nwqid - 1];
        err = -ENOENT;
        goto out_unlock;
    }
    *newfid = f;
    if (last_qid) {
        if (nwname)
            *last_qid = rep.u.rwalk.qids[nwname - 1];
        else
            memset(last_qid, 0, sizeof(*last_qid));
    }
out_unlock:
    pthread_mutex_unlock(&c->lock);
    return err;
}

int fb_p9c_walk_getattr(struct fb_p9_client *c, uint32_t fid, int nwname,
                        const char *const *names, uint32_t *newfid, struct fb_p9_attr *attr)
{
    struct fb_p9_msg req = {.type = FB_P9_TWALKGETATTR}, rep;
    uint32_t f;
    int i, err;

    if (nwname < 1 || nwname > FB_P9_MAXWELEM)
        return -EINVAL;
    for (i = 0; i < nwname; i++) {
        int r = check_name(names[i]);
        if (r < 0)
            return r;
        req.u.twalk.wnames[i] = fb_p9_cstr(names[i]);
    }
    pthread_mutex_lock(&c->lock);
    err = fid_alloc(c, &f);
    if (err)
        goto out_unlock;
    req.u.twalk.fid = fid;
    req.u.twalk.newfid = f;
    req.u.twalk.nwname = (uint16_t)nwname;
    err = rpc(c, &req, FB_P9_RWALKGETATTR, &rep, NULL);
    if (err) {
        if (err != -EPROTO)
            fid_release(c, f);
        goto out_unlock;
    }
    if (rep.u.rwalk.nwqid > nwname || rep.u.rwalk.nwqid == 0) {
        err = -EPROTO;
        goto out_unlock;
    }
    if (rep.u.rwalk.nwqid < nwname) {
        fid_release(c, f);
        err = -ENOENT;
        goto out_unlock;
    }
    *newfid = f;
    *attr = rep.u.rwalk.attr;
out_unlock:
    pthread_mutex_unlock(&c->lock);
    return err;
}

int fb_p9c_open_fd(struct fb_p9_client *c, uint32_t fid, int *host_fd)
{
    struct fb_p9_msg req = {.type = FB_P9_TLOPEN}, rep;
    int err;

    *host_fd = -1;
    req.u.tlopen.fid = fid;
    req.u.tlopen.flags = FB_P9_L_RDONLY | FB_P9_LOPEN_DONATE_FD | FB_P9_LOPEN_FD_ONLY;
    pthread_mutex_lock(&c->lock);
    err = rpc(c, &req, FB_P9_RLOPEN, &rep, host_fd);
    pthread_mutex_unlock(&c->lock);
    if (err == 0 && *host_fd >= 0 && (*host_fd = donated_fd_check(*host_fd)) < 0)
        return -EPROTO;
    if (err == 0 && *host_fd < 0)
        err = -EOPNOTSUPP;
    return err;
}

/* Several requests in one round trip: reqs[0, n) (tags assigned here) are encoded and sent
 * together, and the replies, which the server sends in order, read as they come. Each reply is
 * handed to take(arg, i, reply, fd) with the fd that came with it (-1 if none), which owns it
 * from then on; take returns 0, or -EPROTO for a reply the batch cannot have. An fd belongs to
 * the reply that ends the read that took it (a read stops after a message with fds), and such a
 * reply must end the read. Any framing error, a reply out of order or refused by take kills the
 * channel. Returns 0 once all n replies were taken, else the channel's error (replies 0..k-1
 * were taken, the others not: *taken = k). Caller holds c->lock. */
static int batch_rpc(struct fb_p9_client *c, struct fb_p9_msg *reqs, int n,
                     int (*take)(void *arg, int i, const struct fb_p9_msg *rep, int fd), void *arg,
                     int *taken)
{
    size_t len = 0, have = 0;
    int i, got = 0, err = 0;

    *taken = 0;
    if (c->dead)
        return c->dead;
    for (i = 0; i < n; i++) {
        ssize_t k;
        reqs[i].tag = tag_next(c);
        k = fb_p9_encode(&reqs[i], c->buf + len, c->msize - len);
        if (k < 0)
            return (int)k == -EMSGSIZE ? -ENAMETOOLONG : (int)k;
        len += (size_t)k;
    }
    {
        struct iovec iov = {c->buf, len};
        err = chan_send(c, &iov, 1);
        if (err)
            return err;
    }
    while (got < n) {
        union {
            char buf[CMSG_SPACE(sizeof(int) * P9C_MAX_RX_FDS)];
            struct cmsghdr align;
        } ctl;
        struct iovec iov = {c->buf + have, c->msize - have};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                            .msg_controllen = sizeof(ctl.buf)};
        size_t pos = 0;
        int fd = -1;
        ssize_t r = recvmsg(c->sock, &mh, MSG_CMSG_CLOEXEC);

        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0) {
            err = chan_fail(c, r < 0 && errno == EPIPE ? -EPIPE : -ECONNRESET);
            break;
        }
        if (mh.msg_controllen)
            take_fds(&mh, &fd); /* the first; any other is closed */
        have += (size_t)r;
        while (got < n && !err) {
            struct fb_p9_msg rep;
            uint32_t size;
            int fr = fb_p9_frame(c->buf + pos, have - pos, c->msize, &size);
            bool last;
            if (fr == -EAGAIN || (fr == 0 && have - pos < size))
                break;
            last = fr == 0 && pos + size == have;
            if (fr < 0 || fb_p9_decode(c->buf + pos, size, &rep) != 0 || rep.tag != reqs[got].tag) {
                fb_err("gofer sent a malformed or out-of-order reply in a batch");
                err = chan_fail(c, -EPROTO);
                break;
            }
            if (take(arg, got, &rep, last ? fd : -1) != 0) {
                if (last)
                    fd = -1; /* take owned it */
                fb_err("gofer sent an unexpected reply (%s) in a batch",
                       fb_p9_type_name(rep.type));
                err = chan_fail(c, -EPROTO);
                break;
            }
            if (last)
                fd = -1;
            got++;
            pos += size;
        }
        if (!err && fd >= 0) {
            fb_err("gofer sent an fd in the middle of a batch's replies");
            err = chan_fail(c, -EPROTO);
        }
        if (fd >= 0)
            close(fd);
        if (err)
            break;
        if (got == n && pos != have) {
            fb_err("gofer sent %zu bytes beyond a batch's replies", have - pos);
            err = chan_fail(c, -EPROTO);
            break;
        }
        memmove(c->buf, c->buf + pos, have - pos);
        have -= pos;
    }
    *taken = got;
    return err;
}

/* A batch of opens' replies: the fd, or the error. */
static int take_open_fd(void *arg, int i, const struct fb_p9_msg *rep, int fd)
{
    int *fds = arg;

    if (rep->type == FB_P9_RLERROR && fd < 0) {
        fds[i] = lerror_code(rep->u.rlerror.ecode);
        return 0;
    }
    if (rep->type != FB_P9_RLOPEN) {
        if (fd >= 0)
            close(fd);
        return -EPROTO;
    }
    /* A refused fd fails its entry only: that file is read the other way. */
    fds[i] = fd < 0 ? -EOPNOTSUPP : donated_fd_check(fd) < 0 ? -EPROTO : fd;
    return 0;
}

int fb_p9c_open_fds(struct fb_p9_client *c, const uint32_t *fids, int n, int *fds)
{
    struct fb_p9_msg reqs[FB_P9C_BATCH];
    int i, got, err;

    if (n < 0 || n > FB_P9C_BATCH)
        return -EINVAL;
    for (i = 0; i < n; i++) {
        reqs[i] = (struct fb_p9_msg){.type = FB_P9_TLOPEN};
        reqs[i].u.tlopen.fid = fids[i];
        reqs[i].u.tlopen.flags = FB_P9_L_RDONLY | FB_P9_LOPEN_DONATE_FD | FB_P9_LOPEN_FD_ONLY;
    }
    pthread_mutex_lock(&c->lock);
    err = batch_rpc(c, reqs, n, take_open_fd, fds, &got);
    pthread_mutex_unlock(&c->lock);
    if (err)
        for (i = 0; i < n; i++) {
            if (i < got && fds[i] >= 0)
                close(fds[i]);
            fds[i] = err;
        }
    return err;
}

/* A batch of walks' replies: the attributes, or the error (no fid made then). */
static int take_walk(void *arg, int i, const struct fb_p9_msg *rep, int fd)
{
    struct fb_p9c_walk1 *w = arg;

    if (fd >= 0) {
        close(fd);
        return -EPROTO;
    }
    if (rep->type == FB_P9_RLERROR) {
        w[i].rc = lerror_code(rep->u.rlerror.ecode);
        return 0;
    }
    if (rep->type != FB_P9_RWALKGETATTR || rep->u.rwalk.nwqid != 1)
        return -EPROTO; /* one name asked: one qid, or an error */
    w[i].rc = 0;
    w[i].attr = rep->u.rwalk.attr;
    return 0;
}

int fb_p9c_walk_getattr_many(struct fb_p9_client *c, struct fb_p9c_walk1 *w, int n)
{
    struct fb_p9_msg reqs[FB_P9C_BATCH];
    int i, got = 0, err = 0, made = 0;

    if (n < 0 || n > FB_P9C_BATCH)
        return -EINVAL;
    for (i = 0; i < n; i++) {
        int r = check_name(w[i].name);
        if (r < 0)
            return r;
        if (w[i].fid == FB_P9_NOFID && (w[i].parent < 0 || w[i].parent >= i))
            return -EINVAL;
        w[i].rc = -EIO;
    }
    pthread_mutex_lock(&c->lock);
    for (made = 0; made < n; made++) {
        err = fid_alloc(c, &w[made].newfid);
        if (err)
            break;
    }
    if (!err) {
        for (i = 0; i < n; i++) {
            reqs[i] = (struct fb_p9_msg){.type = FB_P9_TWALKGETATTR};
            reqs[i].u.twalk.fid = w[i].fid != FB_P9_NOFID ? w[i].fid : w[w[i].parent].newfid;
            reqs[i].u.twalk.newfid = w[i].newfid;
            reqs[i].u.twalk.nwname = 1;
            reqs[i].u.twalk.wnames[0] = fb_p9_cstr(w[i].name);
        }
        err = batch_rpc(c, reqs, n, take_walk, w, &got);
    }
    /* An answered walk that failed made no fid; an unanswered one made none either unless the
     * requests went out and the channel then died (batch_rpc fails before sending only with
     * the channel alive): its number stays taken then, its fate unknown. */
    for (i = 0; i < n; i++) {
        if (i >= got)
            w[i].rc = err;
        if (i < made && w[i].rc < 0 && (i < got || !c->dead))
            fid_release(c, w[i].newfid);
    }
    pthread_mutex_unlock(&c->lock);
    return err;
}

int fb_p9c_getattr(struct fb_p9_client *c, uint32_t fid, uint64_t mask, struct fb_p9_attr *out)
{
    struct fb_p9_msg req = {.type = FB_P9_TGETATTR}, rep;
    int err;

    req.u.tgetattr.fid = fid;
    req.u.tgetattr.mask = mask;
    pthread_mutex_lock(&c->lock);
    err = rpc(c, &req, FB_P9_RGETATTR, &rep, NULL);
    if (!err)
        *out = rep.u.rgetattr;
    pthread_mutex_unlock(&c->lock);
    return err;
}

int fb_p9c_setattr(struct fb_p9_client *c, uint32_t fid, const struct fb_p9_setattr *sa)
{
    struct fb_p9_msg req = {.type = FB_P9_TSETATTR}, rep;
    int err;

    req.u.tsetattr.fid = fid;
    req.u.tsetattr.sa = *sa;
    pthread_mutex_lock(&c->lock);
    err = rpc(c, &req, FB_P9_RSETATTR, &rep, NULL);
    pthread_mutex_unlock(&c->lock);
    return err;
}

int fb_p9c_lopen(struct fb_p9_client *c, uint32_t fid, uint32_t flags, struct fb_p9_qid *qid,
                 uint32_t *iounit, int *host_fd)
{
    struct fb_p9_msg req = {.type = FB_P9_TLOPEN}, rep;
    int fd = -1, err;

    if (host_fd)
        *host_fd = -1;
    req.u.tlopen.fid = fid;
    req.u.tlopen.flags = fb_p9_flags_from_host(flags) | (host_fd ? FB_P9_LOPEN_DONATE_FD : 0);
    pthread_mutex_lock(&c->lock);
    err = rpc(c, &req, FB_P9_RLOPEN, &rep, host_fd ? &fd : NULL);
    pthread_mutex_unlock(&c->lock);
    if (err)
        return err;
    if (fd >= 0)
        *host_fd = donated_fd_check(fd);
    if (qid)
        *qid = rep.u.ropen.qid;
    if (iounit)
        *iounit = rep.u.ropen.iounit;
    return 0;
}

int fb_p9c_lcreate(struct fb_p9_client *c, uint32_t fid, const char *name, uint32_t flags,
                   uint32_t mode, uint32_t gid, struct fb_p9_qid *qid, uint32_t *iounit)
{
    struct fb_p9_msg req = {.type = FB_P9_TLCREATE}, rep;
    int err = check_name(name);

    if (err)
        return err;
    req.u.tlcreate.fid = fid;
    req.u.tlcreate.name = fb_p9_cstr(name);
    req.u.tlcreate.flags = fb_p9_flags_from_host(flags);
    req.u.tlcreate.mode = mode;
    req.u.tlcreate.gid = gid;
    pthread_mutex_lock(&c->lock);
    err = rpc(c, &req, FB_P9_RLCREATE, &rep, NULL);
    if (!err) {
        if (qid)
            *qid = rep.u.ropen.qid;
        if (iounit)
            *iounit = rep.u.ropen.iounit;
    }
    pthread_mutex_unlock(&c->lock);
    return err;
}

/* Rread payload goes straight into the caller's buffer: header (11 bytes, also the exact size
 * of an Rlerror) into c->buf, data into buf. */
ssize_t fb_p9c_read(struct fb_p9_client *c, uint32_t fid, uint64_t off, void *buf, uint32_t count)
{
    struct fb_p9_msg req = {.type = FB_P9_TREAD};
    struct iovec iov, segs[3];
    uint32_t size, n;
    uint16_t tag;
    uint8_t *h;
    ssize_t len;
    int err;

    if (count > fb_p9c_max_io(c))
        count = fb_p9c_max_io(c);
    pthread_mutex_lock(&c->lock);
    err = c->dead;
    if (err)
        goto out_unlock;
    req.tag = tag_next(c);
    req.u.tread.fid = fid;
    req.u.tread.offset = off;
    req.u.tread.count = count;
    len = fb_p9_encode(&req, c->buf, c->msize);
    if (len < 0) {
        err = (int)len;
        goto out_unlock;
    }
    iov.iov_base = c->buf;
    iov.iov_len = (size_t)len;
    err = chan_send(c, &iov, 1);
    if (err)
        goto out_unlock;
    /* Header, then the caller's buffer, then spill room so that even an oversized (bogus)
     * reply is consumed whole and the channel stays in step. */
    segs[0] = (struct iovec){c->buf, FB_P9_RREAD_HDRSZ};
    segs[1] = (struct iovec){buf, count};
    segs[2] = (struct iovec){c->buf + FB_P9_RREAD_HDRSZ, c->msize - FB_P9_RREAD_HDRSZ - count};
    err = chan_recv(c, segs, 3, &size, NULL);
    if (err)
        goto out_unlock;
    h = c->buf;
    tag = (uint16_t)(h[5] | h[6] << 8);
    if (tag != req.tag) {
        err = chan_fail(c, -EPROTO);
        goto out_unlock;
    }
    if (size < FB_P9_RREAD_HDRSZ) {
        err = -EPROTO;
        goto out_unlock;
    }
    n = (uint32_t)h[7] | (uint32_t)h[8] << 8 | (uint32_t)h[9] << 16 | (uint32_t)h[10] << 24;
    if (h[4] == FB_P9_RLERROR && size == FB_P9_RREAD_HDRSZ) {
        err = lerror_code(n);
        goto out_unlock;
    }
    if (h[4] != FB_P9_RREAD || n != size - FB_P9_RREAD_HDRSZ || n > count) {
        err = -EPROTO;
        goto out_unlock;
    }
    pthread_mutex_unlock(&c->lock);
    return (ssize_t)n;
out_unlock:
    pthread_mutex_unlock(&c->lock);
    return err;
}

/* Twrite payload is sent from the caller's buffer behind a 23-byte header. */
ssize_t fb_p9c_write(struct fb_p9_client *c, uint32_t fid, uint64_t off, const void *buf,
                     uint32_t count)
{
    struct fb_p9_msg req = {.type = FB_P9_TWRITE}, rep;
    struct iovec iov[2];
    uint32_t size;
    ssize_t len;
    int err, rx_fd = -1;

    if (count > fb_p9c_max_io(c))
        count = fb_p9c_max_io(c);
    pthread_mutex_lock(&c->lock);
    err = c->dead;
    if (err)
        goto out_unlock;
    req.tag = tag_next(c);
    req.u.twrite.fid = fid;
    req.u.twrite.offset = off;
    req.u.twrite.count = count;
    req.u.twrite.data = NULL; /* header only; payload follows from buf */
    len = fb_p9_encode(&req, c->buf, c->msize);
    if (len < 0) {
        err = (int)len;
        goto out_unlock;
    }
    iov[0].iov_base = c->buf;
    iov[0].iov_len = (size_t)len;
    iov[1].iov_base = (void *)buf;
    iov[1].iov_len = count;
    err = chan_send(c, iov, count ? 2 : 1);
    if (err)
        goto out_unlock;
    iov[0].iov_base = c->buf;
    iov[0].iov_len = c->msize;
    err = chan_recv(c, iov, 1, &size, &rx_fd);
    if (rx_fd >= 0)
        close(rx_fd);
    if (err)
        goto out_unlock;
    if (fb_p9_decode(c->buf, size, &rep) < 0) {
        err = -EPROTO;
        goto out_unlock;
    }
    if (rep.tag != req.tag) {
        err = chan_fail(c, -EPROTO);
        goto out_unlock;
    }
    if (rep.type == FB_P9_RLERROR) {
        err = lerror_code(rep.u.rlerror.ecode);
        goto out_unlock;
    }
    if (rep.type != FB_P9_RWRITE || rep.u.rwrite.count > count) {
        err = -EPROTO;
        goto out_unlock;
    }
    pthread_mutex_unlock(&c->lock);
    return (ssize_t)rep.u.rwrite.count;
out_unlock:
    pthread_mutex_unlock(&c->lock);
    return err;
}

int fb_p9c_readdir(struct fb_p9_client *c, uint32_t fid, uint64_t off, struct fb_p9_dirent *ents,
                   int max)
{
    struct fb_p9_msg req = {.type = FB_P9_TREADDIR}, rep;
    uint64_t want;
    int n = 0, round, err = 0;

    if (max <= 0)
        return -EINVAL;
    /* Room for about max typical entries, and always for one of maximal length. */
    want = (uint64_t)max * 64 + 512;
    if (want > fb_p9c_max_io(c))
        want = fb_p9c_max_io(c);
    pthread_mutex_lock(&c->lock);
    /* Entries "." and ".." (which a non-fnbox server may send) are skipped; if a whole batch
     * was only those, fetch the next one. Bounded so a hostile server cannot loop us. */
    for (round = 0; round < 8 && n == 0; round++) {
        size_t pos = 0;
        int seen = 0;
        uint64_t last = off;

        req.u.tread.fid = fid;
        req.u.tread.offset = off;
        req.u.tread.count = (uint32_t)want;
        err = rpc(c, &req, FB_P9_RREADDIR, &rep, NULL);
        if (err)
            break;
        if (rep.u.rread.count > want) {
            err = -EPROTO;
            break;
        }
        while (n < max) {
            struct fb_p9_dirent *e = &ents[n];
            int r = fb_p9_dirent_decode(rep.u.rread.data, rep.u.rread.count, &pos, e);
            if (r < 0) {
                err = -EPROTO;
                break;
            }
            if (r == 0)
                break;
            seen++;
            last = e->offset;
            if (!strcmp(e->name, ".") || !strcmp(e->name, ".."))
                continue;
            n++;
        }
        if (err || seen == 0 || last == off)
            break;
        off = last;
    }
    pthread_mutex_unlock(&c->lock);
    return err ? err : n;
}

int fb_p9c_readlink(struct fb_p9_client *c, uint32_t fid, char *buf, size_t bufsz)
{
    struct fb_p9_msg req = {.type = FB_P9_TREADLINK}, rep;
    int err;

    req.u.tfid.fid = fid;
    pthread_mutex_lock(&c->lock);
    err = rpc(c, &req, FB_P9_RREADLINK, &rep, NULL);
    if (!err) {
        err = fb_p9_str_copy(buf, bufsz, rep.u.rreadlink.target);
        if (!err)
            err = (int)rep.u.rreadlink.target.len;
    }
    pthread_mutex_unlock(&c->lock);
    return err;
}

int fb_p9c_statfs(struct fb_p9_client *c, uint32_t fid, struct fb_p9_statfs *out)
{
    struct fb_p9_msg req = {.type = FB_P9_TSTATFS}, rep;
    int err;

    req.u.tfid.fid = fid;
    pthread_mutex_lock(&c->lock);
    err = rpc(c, &req, FB_P9_RSTATFS, &rep, NULL);
    if (!err)
        *out = rep.u.rstatfs;
    pthread_mutex_unlock(&c->lock);
    return err;
}

/* Shared tail of the calls answered by a bare qid (Rmkdir, Rsymlink, Rmknod). */
static int rpc_qid(struct fb_p9_client *c, struct fb_p9_msg *req, uint8_t rtype,
                   struct fb_p9_qid *qid)
{
    struct fb_p9_msg rep;
    int err;

    pthread_mutex_lock(&c->lock);
    err = rpc(c, req, rtype, &rep, NULL);
    if (!err && qid)
        *qid = rep.u.rqid.qid;
    pthread_mutex_unlock(&c->lock);
    return err;
}

/* Shared tail of the calls answered by an empty reply. */
static int rpc_empty(struct fb_p9_client *c, struct fb_p9_msg *req, uint8_t rtype)
{
    struct fb_p9_msg rep;
    int err;

    pthread_mutex_lock(&c->lock);
    err = rpc(c, req, rtype, &rep, NULL);
    pthread_mutex_unlock(&c->lock);
    return err;
}

int fb_p9c_mkdir(struct fb_p9_client *c, uint32_t dfid, const char *name, uint32_t mode,
                 uint32_t gid, struct fb_p9_qid *qid)
{
    struct fb_p9_msg req = {.type = FB_P9_TMKDIR};
    int err = check_name(name);

    if (err)
        return err;
    req.u.tmkdir.dfid = dfid;
    req.u.tmkdir.name = fb_p9_cstr(name);
    req.u.tmkdir.mode = mode;
    req.u.tmkdir.gid = gid;
    return rpc_qid(c, &req, FB_P9_RMKDIR, qid);
}

int fb_p9c_symlink(struct fb_p9_client *c, uint32_t dfid, const char *name, const char *target,
                   uint32_t gid, struct fb_p9_qid *qid)
{
    struct fb_p9_msg req = {.type = FB_P9_TSYMLINK};
    int err = check_name(name);

    if (err)
        return err;
    if (!target)
        return -EFAULT;
    if (strlen(target) >= FB_P9_PATH_MAX)
        return -ENAMETOOLONG;
    req.u.tsymlink.fid = dfid;
    req.u.tsymlink.name = fb_p9_cstr(name);
    req.u.tsymlink.target = fb_p9_cstr(target);
    req.u.tsymlink.gid = gid;
    return rpc_qid(c, &req, FB_P9_RSYMLINK, qid);
}

int fb_p9c_mknod(struct fb_p9_client *c, uint32_t dfid, const char *name, uint32_t mode,
                 uint32_t major, uint32_t minor, uint32_t gid, struct fb_p9_qid *qid)
{
    struct fb_p9_msg req = {.type = FB_P9_TMKNOD};
    int err = check_name(name);

    if (err)
        return err;
    req.u.tmknod.dfid = dfid;
    req.u.tmknod.name = fb_p9_cstr(name);
    req.u.tmknod.mode = mode;
    req.u.tmknod.major = major;
    req.u.tmknod.minor = minor;
    req.u.tmknod.gid = gid;
    return rpc_qid(c, &req, FB_P9_RMKNOD, qid);
}

int fb_p9c_link(struct fb_p9_client *c, uint32_t dfid, uint32_t fid, const char *name)
{
    struct fb_p9_msg req = {.type = FB_P9_TLINK};
    int err = check_name(name);

    if (err)
        return err;
    req.u.tlink.dfid = dfid;
    req.u.tlink.fid = fid;
    req.u.tlink.name = fb_p9_cstr(name);
    return rpc_empty(c, &req, FB_P9_RLINK);
}

int fb_p9c_unlinkat(struct fb_p9_client *c, uint32_t dfid, const char *name, uint32_t flags)
{
    struct fb_p9_msg req = {.type = FB_P9_TUNLINKAT};
    int err = check_name(name);

    if (err)
        return err;
    req.u.tunlinkat.dfid = dfid;
    req.u.tunlinkat.name = fb_p9_cstr(name);
    req.u.tunlinkat.flags = flags;
    return rpc_empty(c, &req, FB_P9_RUNLINKAT);
}

int fb_p9c_renameat(struct fb_p9_client *c, uint32_t olddfid, const char *oldname, uint32_t newdfid,
                    const char *newname)
{
    struct fb_p9_msg req = {.type = FB_P9_TRENAMEAT};
    int err = check_name(oldname);

    if (!err)
        err = check_name(newname);
    if (err)
        return err;
    req.u.trenameat.olddfid = olddfid;
    req.u.trenameat.oldname = fb_p9_cstr(oldname);
    req.u.trenameat.newdfid = newdfid;
    req.u.trenameat.newname = fb_p9_cstr(newname);
    return rpc_empty(c, &req, FB_P9_RRENAMEAT);
}

int fb_p9c_fsync(struct fb_p9_client *c, uint32_t fid)
{
    struct fb_p9_msg req = {.type = FB_P9_TFSYNC};

    req.u.tfsync.fid = fid;
    req.u.tfsync.datasync = 0;
    return rpc_empty(c, &req, FB_P9_RFSYNC);
}

int fb_p9c_clunk(struct fb_p9_client *c, uint32_t fid)
{
    struct fb_p9_msg req = {.type = FB_P9_TCLUNK}, rep;
    int err;

    req.u.tfid.fid = fid;
    pthread_mutex_lock(&c->lock);
    err = rpc(c, &req, FB_P9_RCLUNK, &rep, NULL);
    /* 9P: a clunk releases the fid whatever the reply. A garbled reply leaves its state
     * unknown, so that number is retired instead. */
    if (err != -EPROTO)
        fid_release(c, fid);
    pthread_mutex_unlock(&c->lock);
    return err;
}
