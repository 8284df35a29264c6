/* The Gofer's 9P2000.L server: answers the Sentry's requests from host fds of the view.
 * Single-threaded, one buffer per direction; every request is validated before it is acted on. */
#include "gofer/gofer.h"
#include "gofer/p9.h"

#include <dirent.h>
#include <linux/openat2.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kernel/util/cleanup.h"
#include "kernel/util/log.h"

#define SRV_PREVERSION_MSIZE 8192       /* largest message accepted before Tversion */
#define SRV_MAX_FIDS         (1u << 20) /* per connection; each costs at least one host fd */
#define SRV_STATX_MASK       (STATX_BASIC_STATS | STATX_BTIME | STATX_MNT_ID)
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

/*
 * A node is one file of the view, held by an O_PATH|O_NOFOLLOW fd. Nodes form a tree through
 * `parent` (refcounted), because a regular file is reopened as openat(parent->fd, name) --
 * there is no /proc in the view to reopen an O_PATH fd through. Directories reopen themselves
 * with openat(fd, "."). Fids share nodes (a clone is a reference, not a new fd).
 */
struct gnode {
    int fd;
    unsigned refs;
    struct gnode *parent; /* NULL for the root */
    char *name;           /* name in parent; NULL for the root */
    uint64_t dev, ino;
    uint32_t mode; /* st_mode at walk time; the file type never changes */
    bool rw;       /* lies in a tree served read-write */
};

struct gfid {
    uint32_t fid;
    struct gnode *node;
    int open_fd;  /* -1 until Tlopen/Tlcreate */
    int open_acc; /* O_RDONLY/O_WRONLY/O_RDWR of open_fd */
    struct gfid *next;
};

struct qid_ovf {
    uint64_t dev, ino, id; /* id 0 = empty slot */
};

struct gsrv {
    int sock;
    const struct fb_gofer_config *cfg;
    uint32_t msize;
    uint32_t resize_to; /* msize to switch buffers to after the current message */
    bool versioned;
    uint8_t *rbuf, *sbuf, *dbuf; /* requests in, replies out, getdents64 scratch */
    size_t rlen;
    int reply_fd;               /* fd to donate with the reply being sent, or -1 */
    bool reply_fd_close;        /* close reply_fd once sent (it belongs to no fid) */
    const char *protocol_error; /* set when a request breaks the protocol: the channel closes */

    struct gfid **fids;
    size_t nbuckets, nfids;
    struct gnode *root;

    uint64_t *rw_mnt; /* mount ids of the trees served read-write */
    size_t nrw;

    /* qid.path = (device index + 1) << 56 | inode; inodes that do not fit and devices beyond
     * the index get sequential ids in the overflow table (top byte 0xff). */
    uint64_t devs[254];
    size_t ndevs;
    struct qid_ovf *ovf;
    size_t novf, ovf_cap;
};

/* ---- nodes ----------------------------------------------------------------------------- */

static int xstatx(int dirfd, const char *name, int flags, struct statx *stx)
{
    if (statx(dirfd, name, flags | AT_SYMLINK_NOFOLLOW, SRV_STATX_MASK, stx) < 0)
        return -errno;
    return 0;
}

static uint64_t stx_dev(const struct statx *stx)
{
    return makedev(stx->stx_dev_major, stx->stx_dev_minor);
}

static bool mnt_is_rw(const struct gsrv *s, const struct statx *stx)
{
    size_t i;

    if (!(stx->stx_mask & STATX_MNT_ID))
        return false;
    for (i = 0; i < s->nrw; i++)
        if (s->rw_mnt[i] == stx->stx_mnt_id)
            return true;
    return false;
}

static uint64_t qid_ovf_path(struct gsrv *s, uint64_t dev, uint64_t ino)
{
    uint64_t h = (dev * 0x9e3779b97f4a7c15ull) ^ ino;
    size_t i;

    if (s->novf * 2 >= s->ovf_cap) {
        size_t ncap = s->ovf_cap ? s->ovf_cap * 2 : 64;
        struct qid_ovf *n = calloc(ncap, sizeof(*n));
        if (!n)
            return 0xffull << 56 | (h & ((1ull << 56) - 1)); /* degrade: hashed path */
        for (i = 0; i < s->ovf_cap; i++) {
            struct qid_ovf *o = &s->ovf[i];
            size_t j;
            if (!o->id)
                continue;
            for (j = ((o->dev * 0x9e3779b97f4a7c15ull) ^ o->ino) & (ncap - 1); n[j].id;
                 j = (j + 1) & (ncap - 1))
                ;
            n[j] = *o;
        }
        free(s->ovf);
        s->ovf = n;
        s->ovf_cap = ncap;
    }
    for (i = h & (s->ovf_cap - 1); s->ovf[i].id; i = (i + 1) & (s->ovf_cap - 1))
        if (s->ovf[i].dev == dev && s->ovf[i].ino == ino)
            return s->ovf[i].id;
    s->ovf[i].dev = dev;
    s->ovf[i].ino = ino;
    s->ovf[i].id = 0xffull << 56 | ++s->novf;
    return s->ovf[i].id;
}

static uint64_t qid_path(struct gsrv *s, uint64_t dev, uint64_t ino)
{
    size_t i;

    for (i = 0; i < s->ndevs; i++)
        if (s->devs[i] == dev)
            break;
    if (i == s->ndevs && s->ndevs < FB_ARRAY_SIZE(s->devs))
        s->devs[s->ndevs++] = dev;
    if (i < s->ndevs && ino < (1ull << 56))
        return (uint64_t)(i + 1) << 56 | ino;
    return qid_ovf_path(s, dev, ino);
}

static uint8_t qid_type_of(uint32_t mode)
{
    if (S_ISDIR(mode))
        return FB_P9_QTDIR;
    if (S_ISLNK(mode))
        return FB_P9_QTSYMLINK;
    return FB_P9_QTFILE;
}

static struct fb_p9_qid stx_qid(struct gsrv *s, const struct statx *stx)
{
    return (struct fb_p9_qid){.type = qid_type_of(stx->stx_mode),
                              .version = 0,
                              .path = qid_path(s, stx_dev(stx), stx->stx_ino)};
}

static struct fb_p9_qid node_qid(struct gsrv *s, const struct gnode *n)
{
    return (struct fb_p9_qid){
        .type = qid_type_of(n->mode), .version = 0, .path = qid_path(s, n->dev, n->ino)};
}

static struct gnode *node_get(struct gnode *n)
{
    n->refs++;
    return n;
}

static void node_put(struct gnode *n)
{
    while (n && --n->refs == 0) {
        struct gnode *p = n->parent;
        close(n->fd);
        free(n->name);
        free(n);
        n = p;
    }
}

/* Wrap fd (taken over) as a node named name under parent (may be NULL for the root). */
static int node_new(struct gsrv *s, struct gnode *parent, const char *name, int fd,
                    struct gnode **out)
{
    struct statx stx;
    struct gnode *n;
    int err = xstatx(fd, "", AT_EMPTY_PATH, &stx);

    if (err) {
        close(fd);
        return err;
    }
    n = calloc(1, sizeof(*n));
    if (!n || (name && !(n->name = strdup(name)))) {
        free(n);
        close(fd);
        return -ENOMEM;
    }
    n->fd = fd;
    n->refs = 1;
    n->parent = parent ? node_get(parent) : NULL;
    n->dev = stx_dev(&stx);
    n->ino = stx.stx_ino;
    n->mode = stx.stx_mode;
    n->rw = mnt_is_rw(s, &stx);
    *out = n;
    return 0;
}

/* Open `name` (one checked component, or ".") under dirfd, never following a symlink. openat2
 * makes the host enforce it too: RESOLVE_BENEATH (nothing above dirfd, no absolute path),
 * RESOLVE_NO_SYMLINKS and RESOLVE_NO_MAGICLINKS (no link of any kind on the way; a trailing
 * symlink opened O_PATH|O_NOFOLLOW is returned as itself). Plain openat with O_NOFOLLOW only
 * where the host has no openat2. Returns an fd or -errno. */
static int open_beneath(int dirfd, const char *name, int flags, mode_t mode)
{
    static bool no_openat2;
    struct open_how how = {
        .flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
        .mode = (flags & O_CREAT) ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    int fd;

    if (!no_openat2) {
        fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
        if (fd >= 0 || errno != ENOSYS)
            return fd < 0 ? -errno : fd;
        no_openat2 = true;
    }
    fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    return fd < 0 ? -errno : fd;
}

/* One walk step: never follows a symlink, crosses into mounts (that is what the view is). */
static int node_walk(struct gsrv *s, struct gnode *dir, const char *name, struct gnode **out)
{
    int fd;

    if (!S_ISDIR(dir->mode))
        return -ENOTDIR;
    fd = open_beneath(dir->fd, name, O_PATH, 0);
    if (fd < 0)
        return fd;
    return node_new(s, dir, name, fd, out);
}

/* Is (dirfd, name) still the file n? Guards every by-name operation against a rename race. */
static int node_check_name(const struct gnode *n)
{
    struct stat st;

    if (!n->parent)
        return -EBUSY;
    if (fstatat(n->parent->fd, n->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? -ESTALE : -errno;
    if ((uint64_t)st.st_dev != n->dev || (uint64_t)st.st_ino != n->ino)
        return -ESTALE;
    return 0;
}

/* Reopen node n for I/O. Directories through their own fd ("."), regular files by name in the
 * parent with O_NOFOLLOW|O_NONBLOCK (a FIFO swapped in cannot block us) and an identity check. */
static int node_reopen(const struct gnode *n, int flags)
{
    struct stat st;
    int fd;

    if (S_ISDIR(n->mode)) {
        return open_beneath(n->fd, ".", flags | O_DIRECTORY, 0);
    }
    if (!S_ISREG(n->mode))
        return S_ISLNK(n->mode) ? -ELOOP : -ENXIO;
    if (!n->parent)
        return -EINVAL;
    fd = open_beneath(n->parent->fd, n->name, flags | O_NONBLOCK, 0);
    if (fd < 0)
        return fd == -ENOENT ? -ESTALE : fd;
    if (fstat(fd, &st) < 0 || (uint64_t)st.st_dev != n->dev || (uint64_t)st.st_ino != n->ino) {
        close(fd);
        return -ESTALE;
    }
    return fd;
}

/* ---- fid table ------------------------------------------------------------------------- */

static size_t fid_hash(const struct gsrv *s, uint32_t fid)
{
    return (fid * 2654435761u) & (s->nbuckets - 1);
}

static struct gfid *fid_find(struct gsrv *s, uint32_t fid)
{
    struct gfid *f;

    for (f = s->fids[fid_hash(s, fid)]; f; f = f->next)
        if (f->fid == fid)
            return f;
    return NULL;
}

static int fid_grow(struct gsrv *s)
{
    size_t nb = s->nbuckets * 2, i;
    struct gfid **n = calloc(nb, sizeof(*n));

    if (!n)
        return -ENOMEM;
    for (i = 0; i < s->nbuckets; i++) {
        struct gfid *f = s->fids[i], *next;
        for (; f; f = next) {
            size_t h = (f->fid * 2654435761u) & (nb - 1);
            next = f->next;
            f->next = n[h];
            n[h] = f;
        }
    }
    free(s->fids);
    s->fids = n;
    s->nbuckets = nb;
    return 0;
}

/* Bind fid to node (reference taken over). Fails if fid is in use or the table is full. */
static int fid_add(struct gsrv *s, uint32_t fid, struct gnode *node)
{
    struct gfid *f;
    size_t h;

    if (fid == FB_P9_NOFID || fid_find(s, fid))
        return -EBADF;
    if (s->nfids >= SRV_MAX_FIDS)
        return -ENFILE;
    if (s->nfids >= s->nbuckets && fid_grow(s) < 0)
        return -ENOMEM;
    f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->fid = fid;
    f->node = node;
    f->open_fd = -1;
    h = fid_hash(s, fid);
    f->next = s->fids[h];
    s->fids[h] = f;
    s->nfids++;
    return 0;
}

static void fid_drop(struct gsrv *s, uint32_t fid)
{
    struct gfid **pp, *f;

    for (pp = &s->fids[fid_hash(s, fid)]; (f = *pp); pp = &f->next) {
        if (f->fid != fid)
            continue;
        *pp = f->next;
        if (f->open_fd >= 0)
            close(f->open_fd);
        node_put(f->node);
        free(f);
        s->nfids--;
        return;
    }
}

static void fid_drop_all(struct gsrv *s)
{
    size_t i;

    for (i = 0; i < s->nbuckets; i++)
        while (s->fids[i])
            fid_drop(s, s->fids[i]->fid);
}

/* ---- request helpers ------------------------------------------------------------------- */

/* A single path component from the wire: not empty, no '/', not "." or "..", <= NAME_MAX. The
 * Sentry resolves "." and ".." itself and checks lengths, so it never sends such a name: one
 * that arrives is a protocol violation (a buggy or subverted Sentry) and closes the channel. */
static int name_get(struct gsrv *srv, struct fb_p9_str s, char out[NAME_MAX + 1])
{
    int err;

    if (s.len == 0)
        srv->protocol_error = "empty name";
    else if (memchr(s.s, '/', s.len))
        srv->protocol_error = "name containing '/'";
    else if ((s.len == 1 && s.s[0] == '.') || (s.len == 2 && s.s[0] == '.' && s.s[1] == '.'))
        srv->protocol_error = "name '.' or '..'";
    if (srv->protocol_error)
        return -EINVAL;
    err = fb_p9_str_copy(out, NAME_MAX + 1, s);
    if (err)
        srv->protocol_error = "name longer than NAME_MAX";
    return err;
}

/* Every name a request carries, checked before the request is acted on (and whatever its fids):
 * a bad one is a protocol violation whether or not the operation would have been allowed. */
static bool names_ok(struct gsrv *s, const struct fb_p9_msg *m)
{
    const struct fb_p9_str *names[FB_P9_MAXWELEM];
    char tmp[NAME_MAX + 1];
    int n = 0, i;

    switch (m->type) {
    case FB_P9_TWALK:
    case FB_P9_TWALKGETATTR:
        for (i = 0; i < m->u.twalk.nwname && i < FB_P9_MAXWELEM; i++)
            names[n++] = &m->u.twalk.wnames[i];
        break;
    case FB_P9_TLCREATE:
        names[n++] = &m->u.tlcreate.name;
        break;
    case FB_P9_TSYMLINK:
        names[n++] = &m->u.tsymlink.name; /* the target is a path: stored, never resolved */
        break;
    case FB_P9_TMKNOD:
        names[n++] = &m->u.tmknod.name;
        break;
    case FB_P9_TMKDIR:
        names[n++] = &m->u.tmkdir.name;
        break;
    case FB_P9_TLINK:
        names[n++] = &m->u.tlink.name;
        break;
    case FB_P9_TUNLINKAT:
        names[n++] = &m->u.tunlinkat.name;
        break;
    case FB_P9_TRENAMEAT:
        names[n++] = &m->u.trenameat.oldname;
        names[n++] = &m->u.trenameat.newname;
        break;
    case FB_P9_TRENAME:
        names[n++] = &m->u.trename.name;
        break;
    default:
        break;
    }
    for (i = 0; i < n; i++)
        if (name_get(s, *names[i], tmp) < 0)
            return false;
    return true;
}

static int get_fid(struct gsrv *s, uint32_t fid, struct gfid **out)
{
    *out = fid_find(s, fid);
    return *out ? 0 : -EBADF;
}

/* A directory fid that may be modified: not opened, a directory, in a read-write tree. */
static int get_wdir(struct gsrv *s, uint32_t fid, struct gfid **out)
{
    int err = get_fid(s, fid, out);

    if (err)
        return err;
    if (!S_ISDIR((*out)->node->mode))
        return -ENOTDIR;
    if (!(*out)->node->rw)
        return -EROFS;
    return 0;
}

/* Modes for new files: permission bits and sticky only. Set-id bits are dropped: the gofer runs
 * as root, and a set-id file written by the sandbox must never appear on the host. */
static uint32_t create_mode(uint32_t mode)
{
    return mode & (S_IRWXU | S_IRWXG | S_IRWXO | S_ISVTX);
}

static void chown_gid_at(int dirfd, const char *name, uint32_t gid)
{
    if (gid != FB_P9_NOFID && fchownat(dirfd, name, (uid_t)-1, (gid_t)gid, AT_SYMLINK_NOFOLLOW))
        fb_dbg("chown gid %u of %s: %s", gid, name, strerror(errno));
}

static ssize_t put_reply(struct gsrv *s, struct fb_p9_msg *r)
{
    return fb_p9_encode(r, s->sbuf, s->msize);
}

static ssize_t put_qid(struct gsrv *s, uint8_t type, const struct fb_p9_qid *qid)
{
    struct fb_p9_msg r = {.type = type};

    r.u.rqid.qid = *qid;
    return put_reply(s, &r);
}

static ssize_t put_empty(struct gsrv *s, uint8_t type)
{
    struct fb_p9_msg r = {.type = type};

    return put_reply(s, &r);
}

/* Qid of dirfd/name just created. */
static ssize_t put_created(struct gsrv *s, uint8_t type, int dirfd, const char *name)
{
    struct statx stx;
    struct fb_p9_qid qid;
    int err = xstatx(dirfd, name, 0, &stx);

    if (err)
        return err;
    qid = stx_qid(s, &stx);
    return put_qid(s, type, &qid);
}

/* ---- operations: each returns the reply length in s->sbuf or -errno --------------------- */

static ssize_t op_version(struct gsrv *s, const struct fb_p9_msg *m)
{
    struct fb_p9_msg r = {.type = FB_P9_RVERSION};
    const struct fb_p9_str *v = &m->u.version.version;
    uint32_t msize = FB_MIN(m->u.version.msize, FB_P9_MAX_MSIZE);
    bool ok = v->len == strlen(FB_P9_VERSION_L) && !memcmp(v->s, FB_P9_VERSION_L, v->len);

    /* A new Tversion starts a new session: every fid is released. */
    fid_drop_all(s);
    s->versioned = false;
    r.u.version.msize = msize;
    if (!ok || msize < FB_P9_MIN_MSIZE) {
        fb_warn("refusing 9P version '%.*s' msize %u", (int)v->len, v->s, m->u.version.msize);
        r.u.version.version = fb_p9_cstr("unknown");
        return put_reply(s, &r);
    }
    r.u.version.version = fb_p9_cstr(FB_P9_VERSION_L);
    s->versioned = true;
    s->resize_to = msize;
    return put_reply(s, &r);
}

static ssize_t op_attach(struct gsrv *s, const struct fb_p9_msg *m)
{
    const struct fb_p9_str *a = &m->u.tattach.aname;
    struct gnode *n = node_get(s->root);
    struct fb_p9_qid qid;
    size_t i = 0;
    int err;

    if (m->u.tattach.afid != FB_P9_NOFID) {
        node_put(n);
        return -EINVAL; /* no authentication */
    }
    if (fid_find(s, m->u.tattach.fid)) {
        node_put(n);
        return -EBADF;
    }
    if (a->len && a->s[0] != '/') {
        node_put(n);
        return -EINVAL;
    }
    /* aname "/a/b": walked like Twalk, one component at a time, never following symlinks. */
    while (i < a->len) {
        char name[NAME_MAX + 1];
        struct fb_p9_str c;
        struct gnode *child;

        while (i < a->len && a->s[i] == '/')
            i++;
        if (i == a->len)
            break;
        c.s = a->s + i;
        while (i < a->len && a->s[i] != '/')
            i++;
        c.len = (uint32_t)(a->s + i - c.s);
        err = name_get(s, c, name);
        if (!err)
            err = node_walk(s, n, name, &child);
        if (err) {
            node_put(n);
            return err;
        }
        node_put(n);
        n = child;
    }
    if (!S_ISDIR(n->mode)) {
        node_put(n);
        return -ENOTDIR;
    }
    qid = node_qid(s, n);
    err = fid_add(s, m->u.tattach.fid, n);
    if (err) {
        node_put(n);
        return err;
    }
    return put_qid(s, FB_P9_RATTACH, &qid);
}

static int fill_attr(struct gsrv *s, struct gnode *n, struct fb_p9_attr *a);

/* Twalk and Twalkgetattr (the fnbox extension that also answers getattr of the last node). */
static ssize_t op_walk(struct gsrv *s, const struct fb_p9_msg *m)
{
    char names[FB_P9_MAXWELEM][NAME_MAX + 1];
    bool with_attr = m->type == FB_P9_TWALKGETATTR;
    struct fb_p9_msg r = {.type = with_attr ? FB_P9_RWALKGETATTR : FB_P9_RWALK};
    struct gfid *f;
    struct gnode *cur;
    int i, nw = m->u.twalk.nwname, err;

    err = get_fid(s, m->u.twalk.fid, &f);
    if (err)
        return err;
    if (m->u.twalk.newfid != m->u.twalk.fid && fid_find(s, m->u.twalk.newfid))
        return -EBADF;
    if (m->u.twalk.newfid == m->u.twalk.fid && f->open_fd >= 0)
        return -EBUSY; /* would silently drop the open file */
    if (m->u.twalk.newfid == FB_P9_NOFID)
        return -EBADF;
    /* Every name is checked before anything is walked: ".." anywhere is an error, not a
     * partial walk. */
    for (i = 0; i < nw; i++) {
        err = name_get(s, m->u.twalk.wnames[i], names[i]);
        if (err)
            return err;
    }
    cur = node_get(f->node);
    for (i = 0; i < nw; i++) {
        struct gnode *child;

        err = node_walk(s, cur, names[i], &child);
        if (err)
            break;
        node_put(cur);
        cur = child;
        r.u.rwalk.qids[i] = node_qid(s, cur);
    }
    r.u.rwalk.nwqid = (uint16_t)i;
    if (i < nw) {
        node_put(cur);
        if (i == 0)
            return err;          /* the first element failed: Rlerror */
        return put_reply(s, &r); /* partial: no fid created */
    }
    if (with_attr) {
        err = fill_attr(s, cur, &r.u.rwalk.attr);
        if (err) {
            node_put(cur);
            return err;
        }
    }
    if (m->u.twalk.newfid == m->u.twalk.fid) {
        node_put(f->node);
        f->node = cur;
    } else {
        err = fid_add(s, m->u.twalk.newfid, cur);
        if (err) {
            node_put(cur);
            return err;
        }
    }
    return put_reply(s, &r);
}

/* Fill an Rgetattr body for node n. Returns 0 or -errno. */
static int fill_attr(struct gsrv *s, struct gnode *n, struct fb_p9_attr *a)
{
    struct statx stx;
    int err = xstatx(n->fd, "", AT_EMPTY_PATH, &stx);

    if (err)
        return err;
    a->valid = FB_P9_GETATTR_BASIC;
    a->qid = stx_qid(s, &stx);
    a->mode = stx.stx_mode;
    a->uid = stx.stx_uid;
    a->gid = stx.stx_gid;
    a->nlink = stx.stx_nlink;
    a->rdev = makedev(stx.stx_rdev_major, stx.stx_rdev_minor);
    a->size = stx.stx_size;
    a->blksize = stx.stx_blksize;
    a->blocks = stx.stx_blocks;
    a->atime_sec = (uint64_t)stx.stx_atime.tv_sec;
    a->atime_nsec = stx.stx_atime.tv_nsec;
    a->mtime_sec = (uint64_t)stx.stx_mtime.tv_sec;
    a->mtime_nsec = stx.stx_mtime.tv_nsec;
    a->ctime_sec = (uint64_t)stx.stx_ctime.tv_sec;
    a->ctime_nsec = stx.stx_ctime.tv_nsec;
    if (stx.stx_mask & STATX_BTIME) {
        a->valid |= FB_P9_GETATTR_BTIME;
        a->btime_sec = (uint64_t)stx.stx_btime.tv_sec;
        a->btime_nsec = stx.stx_btime.tv_nsec;
    }
    return 0;
}

static ssize_t op_getattr(struct gsrv *s, const struct fb_p9_msg *m)
{
    struct fb_p9_msg r = {.type = FB_P9_RGETATTR};
    struct gfid *f;
    int err = get_fid(s, m->u.tgetattr.fid, &f);

    if (err)
        return err;
    err = fill_attr(s, f->node, &r.u.rgetattr);
    if (err)
        return err;
    return put_reply(s, &r);
}

/* Where a by-path operation on n can be aimed: a directory at itself ("."), anything else at
 * its name in the parent after an identity check. */
static int node_at(const struct gnode *n, int *dirfd, const char **name)
{
    int err;

    if (S_ISDIR(n->mode)) {
        *dirfd = n->fd;
        *name = ".";
        return 0;
    }
    err = node_check_name(n);
    if (err)
        return err;
    *dirfd = n->parent->fd;
    *name = n->name;
    return 0;
}

static int setattr_mode(const struct gnode *n, uint32_t mode)
{
    const char *name;
    int dirfd, err;

    mode &= 07777 & ~(uint32_t)(S_ISUID | S_ISGID); /* see create_mode() */
    if (S_ISLNK(n->mode))
        return -EOPNOTSUPP;
    if (syscall(SYS_fchmodat2, n->fd, "", (mode_t)mode, AT_EMPTY_PATH) == 0)
        return 0;
    if (errno != ENOSYS && errno != EINVAL)
        return -errno;
    /* Kernels before 6.6: by name, after checking the name still is this file. */
    err = node_at(n, &dirfd, &name);
    if (err)
        return err;
    return fchmodat(dirfd, name, (mode_t)mode, 0) < 0 ? -errno : 0;
}

static int setattr_size(struct gfid *f, uint64_t size)
{
    int fd, err = 0;

    if (S_ISDIR(f->node->mode))
        return -EISDIR;
    if (!S_ISREG(f->node->mode))
        return -EINVAL;
    if (size > INT64_MAX)
        return -EFBIG;
    if (f->open_fd >= 0 && f->open_acc != O_RDONLY)
        return ftruncate(f->open_fd, (off_t)size) < 0 ? -errno : 0;
    fd = node_reopen(f->node, O_WRONLY);
    if (fd < 0)
        return fd;
    if (ftruncate(fd, (off_t)size) < 0)
        err = -errno;
    close(fd);
    return err;
}

static int setattr_times(const struct gnode *n, const struct fb_p9_setattr *sa)
{
    struct timespec ts[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    const char *name;
    int dirfd, err;

    if (sa->valid & FB_P9_SETATTR_ATIME) {
        if (sa->valid & FB_P9_SETATTR_ATIME_SET) {
            if (sa->atime_nsec >= 1000000000ull || sa->atime_sec > INT64_MAX)
                return -EINVAL;
            ts[0] = (struct timespec){(time_t)sa->atime_sec, (long)sa->atime_nsec};
        } else {
            ts[0].tv_nsec = UTIME_NOW;
        }
    }
    if (sa->valid & FB_P9_SETATTR_MTIME) {
        if (sa->valid & FB_P9_SETATTR_MTIME_SET) {
            if (sa->mtime_nsec >= 1000000000ull || sa->mtime_sec > INT64_MAX)
                return -EINVAL;
            ts[1] = (struct timespec){(time_t)sa->mtime_sec, (long)sa->mtime_nsec};
        } else {
            ts[1].tv_nsec = UTIME_NOW;
        }
    }
    if (utimensat(n->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOENT)
        return -errno;
    err = node_at(n, &dirfd, &name);
    if (err)
        return err;
    return utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static ssize_t op_setattr(struct gsrv *s, const struct fb_p9_msg *m)
{
    const struct fb_p9_setattr *sa = &m->u.tsetattr.sa;
    struct gfid *f;
    int err = get_fid(s, m->u.tsetattr.fid, &f);

    if (err)
        return err;
    if (sa->valid == 0)
        return put_empty(s, FB_P9_RSETATTR);
    if (!f->node->rw)
        return -EROFS;
    if (sa->valid & FB_P9_SETATTR_MODE) {
        err = setattr_mode(f->node, sa->mode);
        if (err)
            return err;
    }
    if (sa->valid & (FB_P9_SETATTR_UID | FB_P9_SETATTR_GID)) {
        uid_t uid = (sa->valid & FB_P9_SETATTR_UID) ? (uid_t)sa->uid : (uid_t)-1;
        gid_t gid = (sa->valid & FB_P9_SETATTR_GID) ? (gid_t)sa->gid : (gid_t)-1;
        if (fchownat(f->node->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
            return -errno;
    }
    if (sa->valid & FB_P9_SETATTR_SIZE) {
        err = setattr_size(f, sa->size);
        if (err)
            return err;
    }
    if (sa->valid & (FB_P9_SETATTR_ATIME | FB_P9_SETATTR_MTIME)) {
        err = setattr_times(f->node, sa);
        if (err)
            return err;
    }
    return put_empty(s, FB_P9_RSETATTR);
}

/* Wire open flags -> the host flags the gofer is willing to use for the sandbox. */
static int open_flags(uint32_t wire, int *acc)
{
    uint32_t h = fb_p9_flags_to_host(wire & ~(FB_P9_LOPEN_DONATE_FD | FB_P9_LOPEN_FD_ONLY));

    *acc = (int)(h & O_ACCMODE);
    if (*acc == O_ACCMODE)
        return -EINVAL;
    /* Dropped on purpose: O_CREAT/O_EXCL (Tlcreate creates), O_DIRECT (the reply buffer is not
     * aligned), O_NONBLOCK/O_ASYNC/O_NOCTTY (meaningless or harmful for the gofer's own fds). */
    return (int)(h & (O_ACCMODE | O_TRUNC | O_APPEND | O_DSYNC | O_SYNC | O_NOATIME));
}

static ssize_t op_lopen(struct gsrv *s, const struct fb_p9_msg *m)
{
    struct fb_p9_msg r = {.type = FB_P9_RLOPEN};
    uint32_t wire = m->u.tlopen.flags;
    struct gfid *f;
    struct gnode *n;
    int flags, acc, fd, err = get_fid(s, m->u.tlopen.fid, &f);
    bool writes;

    if (err)
        return err;
    if (f->open_fd >= 0 && !(wire & FB_P9_LOPEN_FD_ONLY))
        return -EINVAL;
    n = f->node;
    flags = open_flags(wire, &acc);
    if (flags < 0)
        return flags;
    writes = acc != O_RDONLY || (flags & O_TRUNC);
    if (S_ISDIR(n->mode)) {
        if (writes)
            return -EISDIR;
        flags = O_RDONLY;
    } else if (fb_p9_flags_to_host(wire) & O_DIRECTORY) {
        return -ENOTDIR;
    }
    if (writes && !n->rw)
        return -EROFS;
    if (wire & FB_P9_LOPEN_FD_ONLY) {
        /* Donate a fresh read-only fd; the fid stays as it was. */
        if (!(wire & FB_P9_LOPEN_DONATE_FD) || !s->cfg->donate_fds || !S_ISREG(n->mode) || writes)
            return -EINVAL;
        fd = node_reopen(n, flags);
        if (fd < 0)
            return fd;
        r.u.ropen.qid = node_qid(s, n);
        r.u.ropen.iounit = s->msize - FB_P9_IOHDRSZ;
        s->reply_fd = fd;
        s->reply_fd_close = true;
        return put_reply(s, &r);
    }
    fd = node_reopen(n, flags);
    if (fd < 0)
        return fd;
    f->open_fd = fd;
    f->open_acc = acc;
    r.u.ropen.qid = node_qid(s, n);
    r.u.ropen.iounit = s->msize - FB_P9_IOHDRSZ;
    if ((wire & FB_P9_LOPEN_DONATE_FD) && s->cfg->donate_fds && S_ISREG(n->mode) &&
        acc == O_RDONLY && !(flags & O_TRUNC))
        s->reply_fd = fd;
    return put_reply(s, &r);
}

static ssize_t op_lcreate(struct gsrv *s, const struct fb_p9_msg *m)
{
    struct fb_p9_msg r = {.type = FB_P9_RLCREATE};
    char name[NAME_MAX + 1];
    struct gfid *f;
    struct gnode *child;
    int flags, acc, fd, pfd, err;
    struct stat st;

    err = get_wdir(s, m->u.tlcreate.fid, &f);
    if (!err && f->open_fd >= 0)
        err = -EINVAL;
    if (!err)
        err = name_get(s, m->u.tlcreate.name, name);
    if (err)
        return err;
    flags = open_flags(m->u.tlcreate.flags, &acc);
    if (flags < 0)
        return flags;
    /* Always exclusive: the Sentry looks the name up first; an existing file (or a FIFO or
     * device someone put there) is never opened by create. */
    fd = open_beneath(f->node->fd, name, flags | O_CREAT | O_EXCL, create_mode(m->u.tlcreate.mode));
    if (fd < 0)
        return fd;
    if (m->u.tlcreate.gid != FB_P9_NOFID && fchown(fd, (uid_t)-1, (gid_t)m->u.tlcreate.gid))
        fb_dbg("chown gid of %s: %s", name, strerror(errno));
    pfd = open_beneath(f->node->fd, name, O_PATH, 0);
    if (pfd < 0) {
        close(fd);
        return pfd;
    }
    err = node_new(s, f->node, name, pfd, &child);
    if (!err && (fstat(fd, &st) < 0 || (uint64_t)st.st_ino != child->ino)) {
        node_put(child);
        err = -ESTALE;
    }
    if (err) {
        close(fd);
        return err;
    }
    node_put(f->node);
    f->node = child;
    f->open_fd = fd;
    f->open_acc = acc;
    r.u.ropen.qid = node_qid(s, child);
    r.u.ropen.iounit = s->msize - FB_P9_IOHDRSZ;
    return put_reply(s, &r);
}

static ssize_t op_read(struct gsrv *s, const struct fb_p9_msg *m)
{
    struct fb_p9_msg r = {.type = FB_P9_RREAD};
    uint32_t count = FB_MIN(m->u.tread.count, s->msize - FB_P9_RREAD_HDRSZ);
    struct gfid *f;
    ssize_t n;
    int err = get_fid(s, m->u.tread.fid, &f);

    if (err)
        return err;
    if (f->open_fd < 0 || f->open_acc == O_WRONLY)
        return -EBADF;
    if (S_ISDIR(f->node->mode))
        return -EISDIR;
    if (m->u.tread.offset > INT64_MAX)
        return -EINVAL;
    /* Straight from the host fd into the reply buffer, behind the 11-byte header. */
    n = pread(f->open_fd, s->sbuf + FB_P9_RREAD_HDRSZ, count, (off_t)m->u.tread.offset);
    if (n < 0)
        return -errno;
    r.u.rread.count = (uint32_t)n;
    r.u.rread.data = s->sbuf + FB_P9_RREAD_HDRSZ;
    return put_reply(s, &r);
}

static ssize_t op_write(struct gsrv *s, const struct fb_p9_msg *m)
{
    struct fb_p9_msg r = {.type = FB_P9_RWRITE};
    struct gfid *f;
    ssize_t n;
    int err = get_fid(s, m->u.twrite.fid, &f);

    if (err)
        return err;
    if (f->open_fd < 0 || f->open_acc == O_RDONLY)
        return -EBADF;
    if (!f->node->rw)
        return -EROFS;
    if (m->u.twrite.offset > INT64_MAX)
        return -EINVAL;
    n = pwrite(f->open_fd, m->u.twrite.data, m->u.twrite.count, (off_t)m->u.twrite.offset);
    if (n < 0)
        return -errno;
    r.u.rwrite.count = (uint32_t)n;
    return put_reply(s, &r);
}

static uint8_t dtype_qid(unsigned char t)
{
    return t == DT_DIR ? FB_P9_QTDIR : t == DT_LNK ? FB_P9_QTSYMLINK : FB_P9_QTFILE;
}

/* Treaddir: getdents64 from the given cookie (the d_off of the last entry the client saw) into
 * the scratch buffer, re-encoded into the reply. "." and ".." are left out. */
static ssize_t op_readdir(struct gsrv *s, const struct fb_p9_msg *m)
{
    struct fb_p9_msg r = {.type = FB_P9_RREADDIR};
    uint32_t count = FB_MIN(m->u.tread.count, s->msize - FB_P9_RREAD_HDRSZ);
    uint8_t *out = s->sbuf + FB_P9_RREAD_HDRSZ;
    size_t pos = 0;
    bool full = false, skipped_big = false;
    struct gfid *f;
    int err = get_fid(s, m->u.tread.fid, &f);

    if (err)
        return err;
    if (f->open_fd < 0)
        return -EBADF;
    if (!S_ISDIR(f->node->mode))
        return -ENOTDIR;
    if (m->u.tread.offset > INT64_MAX)
        return -EINVAL;
    if (lseek(f->open_fd, (off_t)m->u.tread.offset, SEEK_SET) < 0)
        return -errno;
    while (!full) {
        long n = syscall(SYS_getdents64, f->open_fd, s->dbuf, (size_t)s->msize);
        long off = 0;

        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        while (off < n) {
            struct {
                uint64_t d_ino;
                int64_t d_off;
                unsigned short d_reclen;
                unsigned char d_type;
                char d_name[];
            } *d = (void *)(s->dbuf + off);
            size_t len = strlen(d->d_name);
            struct fb_p9_qid qid;

            off += d->d_reclen;
            if ((len == 1 && d->d_name[0] == '.') ||
                (len == 2 && d->d_name[0] == '.' && d->d_name[1] == '.'))
                continue;
            if (len > FB_P9_NAME_MAX) {
                skipped_big = true;
                continue;
            }
            qid.type = dtype_qid(d->d_type);
            qid.version = 0;
            qid.path = qid_path(s, f->node->dev, d->d_ino);
            if (fb_p9_dirent_encode(out, count, &pos, &qid, (uint64_t)d->d_off, d->d_type,
                                    d->d_name, len) < 0) {
                full = true;
                break;
            }
        }
    }
    if (pos == 0 && full)
        return -EINVAL; /* count too small for even one entry */
    if (skipped_big)
        fb_dbg("readdir: skipped names longer than %d bytes", FB_P9_NAME_MAX);
    r.u.rread.count = (uint32_t)pos;
    r.u.rread.data = out;
    return put_reply(s, &r);
}

static ssize_t op_readlink(struct gsrv *s, const struct fb_p9_msg *m)
{
    struct fb_p9_msg r = {.type = FB_P9_RREADLINK};
    char target[FB_P9_PATH_MAX];
    struct gfid *f;
    ssize_t n;
    int err = get_fid(s, m->u.tfid.fid, &f);

    if (err)
        return err;
    if (!S_ISLNK(f->node->mode))
        return -EINVAL;
    n = readlinkat(f->node->fd, "", target, sizeof(target));
    if (n < 0)
        return -errno;
    if ((size_t)n >= sizeof(target))
        return -ENAMETOOLONG;
    r.u.rreadlink.target = (struct fb_p9_str){target, (uint32_t)n};
    return put_reply(s, &r);
}

static ssize_t op_statfs(struct gsrv *s, const struct fb_p9_msg *m)
{
    struct fb_p9_msg r = {.type = FB_P9_RSTATFS};
    struct statfs sf;
    struct gfid *f;
    int err = get_fid(s, m->u.tfid.fid, &f);

    if (err)
        return err;
    if (fstatfs(f->node->fd, &sf) < 0)
        return -errno;
    r.u.rstatfs.type = (uint32_t)sf.f_type;
    r.u.rstatfs.bsize = (uint32_t)sf.f_bsize;
    r.u.rstatfs.blocks = sf.f_blocks;
    r.u.rstatfs.bfree = sf.f_bfree;
    r.u.rstatfs.bavail = sf.f_bavail;
    r.u.rstatfs.files = sf.f_files;
    r.u.rstatfs.ffree = sf.f_ffree;
    r.u.rstatfs.fsid =
        (uint64_t)(uint32_t)sf.f_fsid.__val[0] | (uint64_t)(uint32_t)sf.f_fsid.__val[1] << 32;
    r.u.rstatfs.namelen = (uint32_t)sf.f_namelen;
    return put_reply(s, &r);
}

static ssize_t op_mkdir(struct gsrv *s, const struct fb_p9_msg *m)
{
    char name[NAME_MAX + 1];
    struct gfid *d;
    int err = get_wdir(s, m->u.tmkdir.dfid, &d);

    if (!err)
        err = name_get(s, m->u.tmkdir.name, name);
    if (err)
        return err;
    if (mkdirat(d->node->fd, name, create_mode(m->u.tmkdir.mode)) < 0)
        return -errno;
    chown_gid_at(d->node->fd, name, m->u.tmkdir.gid);
    return put_created(s, FB_P9_RMKDIR, d->node->fd, name);
}

static ssize_t op_symlink(struct gsrv *s, const struct fb_p9_msg *m)
{
    char name[NAME_MAX + 1], target[FB_P9_PATH_MAX];
    struct gfid *d;
    int err = get_wdir(s, m->u.tsymlink.fid, &d);

    if (!err)
        err = name_get(s, m->u.tsymlink.name, name);
    if (!err)
        err = fb_p9_str_copy(target, sizeof(target), m->u.tsymlink.target);
    if (err)
        return err;
    if (!target[0])
        return -ENOENT;
    if (symlinkat(target, d->node->fd, name) < 0)
        return -errno;
    chown_gid_at(d->node->fd, name, m->u.tsymlink.gid);
    return put_created(s, FB_P9_RSYMLINK, d->node->fd, name);
}

static ssize_t op_mknod(struct gsrv *s, const struct fb_p9_msg *m)
{
    char name[NAME_MAX + 1];
    uint32_t type = m->u.tmknod.mode & S_IFMT;
    struct gfid *d;
    int err = get_wdir(s, m->u.tmknod.dfid, &d);

    if (!err)
        err = name_get(s, m->u.tmknod.name, name);
    if (err)
        return err;
    if (type == 0)
        type = S_IFREG;
    /* No device nodes from the sandbox on the host, ever. */
    if (type == S_IFCHR || type == S_IFBLK)
        return -EPERM;
    if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK)
        return -EINVAL;
    if (mknodat(d->node->fd, name, type | create_mode(m->u.tmknod.mode), 0) < 0)
        return -errno;
    chown_gid_at(d->node->fd, name, m->u.tmknod.gid);
    return put_created(s, FB_P9_RMKNOD, d->node->fd, name);
}

static ssize_t op_link(struct gsrv *s, const struct fb_p9_msg *m)
{
    char name[NAME_MAX + 1];
    struct gfid *d, *f;
    int err = get_wdir(s, m->u.tlink.dfid, &d);

    if (!err)
        err = get_fid(s, m->u.tlink.fid, &f);
    if (!err)
        err = name_get(s, m->u.tlink.name, name);
    if (err)
        return err;
    if (S_ISDIR(f->node->mode))
        return -EPERM;
    if (!f->node->rw)
        return -EROFS;
    if (linkat(f->node->fd, "", d->node->fd, name, AT_EMPTY_PATH) == 0)
        return put_empty(s, FB_P9_RLINK);
    if (errno != ENOENT || !f->node->parent)
        return -errno;
    /* Without CAP_DAC_READ_SEARCH AT_EMPTY_PATH fails with ENOENT: link by name instead. */
    err = node_check_name(f->node);
    if (err)
        return err;
    if (linkat(f->node->parent->fd, f->node->name, d->node->fd, name, 0) < 0)
        return -errno;
    return put_empty(s, FB_P9_RLINK);
}

static ssize_t op_unlinkat(struct gsrv *s, const struct fb_p9_msg *m)
{
    char name[NAME_MAX + 1];
    struct gfid *d;
    int err = get_wdir(s, m->u.tunlinkat.dfid, &d);

    if (!err)
        err = name_get(s, m->u.tunlinkat.name, name);
    if (err)
        return err;
    if (m->u.tunlinkat.flags & ~FB_P9_AT_REMOVEDIR)
        return -EINVAL;
    if (unlinkat(d->node->fd, name, (m->u.tunlinkat.flags & FB_P9_AT_REMOVEDIR) ? AT_REMOVEDIR : 0))
        return -errno;
    return put_empty(s, FB_P9_RUNLINKAT);
}

/* After a rename, nodes known by (old dir, old name) are re-pointed at (new dir, new name) so
 * that reopening them keeps working. */
static void nodes_renamed(struct gsrv *s, struct gnode *od, const char *oname, struct gnode *nd,
                          const char *nname)
{
    size_t i;

    for (i = 0; i < s->nbuckets; i++) {
        struct gfid *f;
        for (f = s->fids[i]; f; f = f->next) {
            struct gnode *n = f->node;
            char *dup;

            if (!n->parent || n->parent->dev != od->dev || n->parent->ino != od->ino ||
                strcmp(n->name, oname) != 0)
                continue;
            dup = strdup(nname);
            if (!dup)
                continue; /* the node goes stale; reopen will report ESTALE */
            free(n->name);
            n->name = dup;
            node_get(nd);
            node_put(n->parent);
            n->parent = nd;
        }
    }
}

static ssize_t op_renameat(struct gsrv *s, const struct fb_p9_msg *m)
{
    char oname[NAME_MAX + 1], nname[NAME_MAX + 1];
    struct gfid *od, *nd;
    int err = get_wdir(s, m->u.trenameat.olddfid, &od);

    if (!err)
        err = get_wdir(s, m->u.trenameat.newdfid, &nd);
    if (!err)
        err = name_get(s, m->u.trenameat.oldname, oname);
    if (!err)
        err = name_get(s, m->u.trenameat.newname, nname);
    if (err)
        return err;
    if (renameat(od->node->fd, oname, nd->node->fd, nname) < 0)
        return -errno;
    nodes_renamed(s, od->node, oname, nd->node, nname);
    return put_empty(s, FB_P9_RRENAMEAT);
}

static ssize_t op_rename(struct gsrv *s, const struct fb_p9_msg *m)
{
    char nname[NAME_MAX + 1], oname[NAME_MAX + 1];
    struct gfid *f, *nd;
    struct gnode *op;
    int err = get_fid(s, m->u.trename.fid, &f);

    if (!err)
        err = get_wdir(s, m->u.trename.dfid, &nd);
    if (!err)
        err = name_get(s, m->u.trename.name, nname);
    if (err)
        return err;
    if (!f->node->parent)
        return -EBUSY;
    if (!f->node->parent->rw || !f->node->rw)
        return -EROFS;
    err = node_check_name(f->node);
    if (err)
        return err;
    op = node_get(f->node->parent);
    snprintf(oname, sizeof(oname), "%s", f->node->name);
    if (renameat(op->fd, oname, nd->node->fd, nname) < 0)
        err = -errno;
    else
        nodes_renamed(s, op, oname, nd->node, nname);
    node_put(op);
    return err ? err : put_empty(s, FB_P9_RRENAME);
}

static ssize_t op_remove(struct gsrv *s, const struct fb_p9_msg *m)
{
    struct gfid *f;
    struct gnode *n;
    int err = get_fid(s, m->u.tfid.fid, &f);

    if (err)
        return err;
    n = f->node;
    if (!n->parent)
        err = -EBUSY;
    else if (!n->parent->rw)
        err = -EROFS;
    else if (!(err = node_check_name(n)) &&
             unlinkat(n->parent->fd, n->name, S_ISDIR(n->mode) ? AT_REMOVEDIR : 0) < 0)
        err = -errno;
    fid_drop(s, m->u.tfid.fid); /* Tremove clunks the fid even when the remove fails */
    return err ? err : put_empty(s, FB_P9_RREMOVE);
}

static ssize_t op_fsync(struct gsrv *s, const struct fb_p9_msg *m)
{
    struct gfid *f;
    int err = get_fid(s, m->u.tfsync.fid, &f);

    if (err)
        return err;
    if (f->open_fd < 0)
        return -EBADF;
    if ((m->u.tfsync.datasync ? fdatasync(f->open_fd) : fsync(f->open_fd)) < 0)
        return -errno;
    return put_empty(s, FB_P9_RFSYNC);
}

static ssize_t op_clunk(struct gsrv *s, const struct fb_p9_msg *m)
{
    if (!fid_find(s, m->u.tfid.fid))
        return -EBADF;
    fid_drop(s, m->u.tfid.fid);
    return put_empty(s, FB_P9_RCLUNK);
}

static ssize_t srv_dispatch(struct gsrv *s, const struct fb_p9_msg *m)
{
    if (m->type == FB_P9_TVERSION)
        return op_version(s, m);
    if (!s->versioned)
        return -EPROTO; /* Tversion must come first */
    switch (m->type) {
    case FB_P9_TATTACH:
        return op_attach(s, m);
    case FB_P9_TWALK:
    case FB_P9_TWALKGETATTR:
        return op_walk(s, m);
    case FB_P9_TGETATTR:
        return op_getattr(s, m);
    case FB_P9_TSETATTR:
        return op_setattr(s, m);
    case FB_P9_TLOPEN:
        return op_lopen(s, m);
    case FB_P9_TLCREATE:
        return op_lcreate(s, m);
    case FB_P9_TREAD:
        return op_read(s, m);
    case FB_P9_TWRITE:
        return op_write(s, m);
    case FB_P9_TREADDIR:
        return op_readdir(s, m);
    case FB_P9_TREADLINK:
        return op_readlink(s, m);
    case FB_P9_TSTATFS:
        return op_statfs(s, m);
    case FB_P9_TMKDIR:
        return op_mkdir(s, m);
    case FB_P9_TSYMLINK:
        return op_symlink(s, m);
    case FB_P9_TMKNOD:
        return op_mknod(s, m);
    case FB_P9_TLINK:
        return op_link(s, m);
    case FB_P9_TUNLINKAT:
        return op_unlinkat(s, m);
    case FB_P9_TRENAMEAT:
        return op_renameat(s, m);
    case FB_P9_TRENAME:
        return op_rename(s, m);
    case FB_P9_TREMOVE:
        return op_remove(s, m);
    case FB_P9_TFSYNC:
        return op_fsync(s, m);
    case FB_P9_TCLUNK:
        return op_clunk(s, m);
    case FB_P9_TFLUSH:
        return put_empty(s, FB_P9_RFLUSH); /* nothing is ever pending */
    default:
        return -EOPNOTSUPP; /* Tauth, xattrs, locks, 9P2000 messages, R-messages */
    }
}

/* ---- transport ------------------------------------------------------------------------- */

/* Forget the fd donated with a reply, closing it if no fid owns it. */
static void drop_reply_fd(struct gsrv *s)
{
    if (s->reply_fd >= 0 && s->reply_fd_close)
        close(s->reply_fd);
    s->reply_fd = -1;
    s->reply_fd_close = false;
}

/* Send len bytes of s->sbuf; the donated fd (if any) rides on the first sendmsg. Returns 0,
 * 1 if the peer is gone, or -errno. */
static int srv_send(struct gsrv *s, size_t len)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    size_t done = 0;

    while (done < len) {
        struct iovec iov = {s->sbuf + done, len - done};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n;

        if (s->reply_fd >= 0) {
            struct cmsghdr *cm;
            memset(&ctl, 0, sizeof(ctl));
            mh.msg_control = ctl.buf;
            mh.msg_controllen = sizeof(ctl.buf);
            cm = CMSG_FIRSTHDR(&mh);
            cm->cmsg_level = SOL_SOCKET;
            cm->cmsg_type = SCM_RIGHTS;
            cm->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(cm), &s->reply_fd, sizeof(int));
        }
        n = sendmsg(s->sock, &mh, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            drop_reply_fd(s);
            return (errno == EPIPE || errno == ECONNRESET) ? 1 : -errno;
        }
        drop_reply_fd(s);
        done += (size_t)n;
    }
    return 0;
}

/* Handle one framed message buf[0..size). Returns 0, 1 if the peer is gone, -EPROTO after a
 * protocol violation (logged; the channel must close), or -errno. */
static int srv_handle(struct gsrv *s, const uint8_t *buf, uint32_t size)
{
    struct fb_p9_msg m;
    uint16_t tag = (uint16_t)(buf[5] | buf[6] << 8);
    ssize_t len = 0;
    int err;

    s->reply_fd = -1;
    s->reply_fd_close = false;
    err = fb_p9_decode(buf, size, &m);
    if (err == -EOPNOTSUPP) {
        len = err; /* a well-framed message of a type we do not serve: answered */
    } else if (err < 0) {
        /* Counts, lengths or strings that lie: the Sentry's client never sends this. */
        fb_err("malformed 9P message (type %u, %u bytes): %s; closing the channel", buf[4], size,
               strerror(-err));
        return -EPROTO;
    } else if (names_ok(s, &m)) {
        len = srv_dispatch(s, &m);
    }
    if (s->protocol_error) {
        fb_err("9P protocol violation in message type %u: %s; closing the channel", buf[4],
               s->protocol_error);
        drop_reply_fd(s);
        return -EPROTO;
    }
    if (len < 0) {
        struct fb_p9_msg r = {.type = FB_P9_RLERROR, .tag = tag};
        r.u.rlerror.ecode = (uint32_t)-len;
        drop_reply_fd(s);
        len = fb_p9_encode(&r, s->sbuf, s->msize);
    } else {
        /* Handlers encode with tag 0; patch in the request's tag. */
        s->sbuf[5] = (uint8_t)tag;
        s->sbuf[6] = (uint8_t)(tag >> 8);
    }
    if (len < 0) {
        fb_err("cannot encode reply: %s", strerror((int)-len));
        drop_reply_fd(s);
        return (int)len;
    }
    return srv_send(s, (size_t)len);
}

static int srv_set_msize(struct gsrv *s, uint32_t msize)
{
    uint8_t *r, *w, *d;

    if (s->rlen > msize) {
        fb_err("client sent %zu bytes beyond the negotiated msize %u", s->rlen, msize);
        return -EPROTO;
    }
    r = realloc(s->rbuf, msize);
    if (!r)
        return -ENOMEM;
    s->rbuf = r;
    w = realloc(s->sbuf, msize);
    if (!w)
        return -ENOMEM;
    s->sbuf = w;
    d = realloc(s->dbuf, msize);
    if (!d)
        return -ENOMEM;
    s->dbuf = d;
    s->msize = msize;
    return 0;
}

/* Read-write trees are recognized by mount id, so that no path check is needed per request. */
static int srv_find_rw_mounts(struct gsrv *s)
{
    size_t i;

    s->rw_mnt = calloc(s->cfg->nmounts ? s->cfg->nmounts : 1, sizeof(*s->rw_mnt));
    if (!s->rw_mnt)
        return -ENOMEM;
    for (i = 0; i < s->cfg->nmounts; i++) {
        const struct fb_gofer_mount *mt = &s->cfg->mounts[i];
        struct statx stx;

        if (mt->ro || !mt->dst)
            continue;
        if (statx(AT_FDCWD, mt->dst, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0 ||
            !(stx.stx_mask & STATX_MNT_ID)) {
            fb_warn("read-write mount %s not found in the view; serving it read-only", mt->dst);
            continue;
        }
        if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) ||
            !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
            fb_warn("%s is not a mount point in the view; serving it read-only", mt->dst);
            continue;
        }
        s->rw_mnt[s->nrw++] = stx.stx_mnt_id;
    }
    return 0;
}

static void srv_free(struct gsrv *s)
{
    if (s->fids)
        fid_drop_all(s);
    free(s->fids);
    node_put(s->root);
    free(s->rbuf);
    free(s->sbuf);
    free(s->dbuf);
    free(s->rw_mnt);
    free(s->ovf);
}

int fb_gofer_serve(int sock, const struct fb_gofer_config *cfg)
{
    struct gsrv s = {.sock = sock, .cfg = cfg, .reply_fd = -1};
    struct rlimit rl;
    int fd, ret;

    fb_log_role = "gofer";
    umask(0);
    /* Each fid pins a host fd: allow as many as the hard limit permits. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    s.nbuckets = 64;
    s.fids = calloc(s.nbuckets, sizeof(*s.fids));
    ret = s.fids ? srv_find_rw_mounts(&s) : -ENOMEM;
    if (!ret)
        ret = srv_set_msize(&s, SRV_PREVERSION_MSIZE);
    if (ret)
        goto out;
    fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    ret = fd < 0 ? -errno : node_new(&s, NULL, NULL, fd, &s.root);
    if (ret) {
        fb_err("cannot open the view root: %s", strerror(-ret));
        goto out;
    }
    if (cfg->confine) {
        struct fb_error err = {0};
        if (cfg->confine(&err) < 0) {
            fb_err("%s", err.msg);
            ret = err.code ? -err.code : -EPERM;
            goto out_fatal;
        }
    }

    for (;;) {
        uint32_t size;
        ssize_t n;

        /* Every complete message already buffered. */
        while ((ret = fb_p9_frame(s.rbuf, s.rlen, s.msize, &size)) == 0 && s.rlen >= size) {
            ret = srv_handle(&s, s.rbuf, size);
            if (ret == -EPROTO)
                goto out_fatal; /* logged by srv_handle */
            if (ret)
                goto out_peer;
            s.rlen -= size;
            memmove(s.rbuf, s.rbuf + size, s.rlen);
            if (s.resize_to) {
                ret = srv_set_msize(&s, s.resize_to);
                s.resize_to = 0;
                if (ret)
                    goto out_fatal;
            }
        }
        if (ret && ret != -EAGAIN) {
            fb_err("bad 9P framing from the Sentry (%s); closing the channel", strerror(-ret));
            goto out_fatal;
        }
        n = recv(sock, s.rbuf + s.rlen, s.msize - s.rlen, 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            if (errno == ECONNRESET) {
                ret = 0;
                goto out;
            }
            ret = -errno;
            fb_err("receiving from the Sentry: %s", strerror(errno));
            goto out;
        }
        if (n == 0) {
            if (s.rlen)
                fb_warn("channel closed in the middle of a message (%zu bytes)", s.rlen);
            ret = 0;
            goto out;
        }
        s.rlen += (size_t)n;
    }

out_peer:
    if (ret == 1) { /* the peer went away while we replied */
        ret = 0;
        goto out;
    }
    fb_err("sending to the Sentry: %s", strerror(-ret));
out_fatal:
    shutdown(sock, SHUT_RDWR);
out:
    srv_free(&s);
    return ret;
}
