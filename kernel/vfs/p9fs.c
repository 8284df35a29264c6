/* The 9P-backed filesystem: host trees served by the Gofer. Each inode holds a walked fid;
 * regular files are read through a host fd the Gofer donates (read-only) or through 9P, and are
 * mapped through a page cache in the memory file. Symlinks are resolved by the VFS, never by
 * the Gofer or the host. */
#include "kernel/vfs/vfs.h"
#include "kernel/vfs/vfs_save.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "gofer/p9_client.h"
#include "kernel/util/cleanup.h"
#include "kernel/util/log.h"

#define CACHE_CHUNK_PAGES 32

struct p9_sb {
    struct fb_p9_client *c;
    uint32_t root_fid;
};

struct p9_inode {
    struct fb_p9_client *c;
    uint32_t fid;       /* walked (not opened) */
    int host_fd;        /* donated read-only fd, -1 if none yet */
    bool host_fd_checked, host_fd_ro; /* map_host_fd: access mode looked at, and read-only */
    uint32_t io_fid;    /* opened read-only fid when no fd was donated, FB_P9_NOFID if none */
    struct fb_radix cache; /* page index -> memory-file offset (one reference each) */
    char *link;         /* cached symlink target */
    struct fb_mappable mappable;
    struct fb_inode *ino;
};

struct p9_dir {
    uint32_t fid; /* opened directory */
    struct fb_p9_dirent *ents;
    int n;
    bool loaded;
};

struct p9_file {
    uint32_t fid; /* opened for the file's access mode, FB_P9_NOFID when reading via host_fd */
};

static const struct fb_inode_ops p9_iops;
static const struct fb_file_ops p9_file_ops, p9_dir_ops;
static const struct fb_mappable_ops p9_map_ops;

static struct p9_inode *P(struct fb_inode *ino)
{
    return ino->priv;
}

static void attr_to_stat(struct fb_sb *sb, const struct fb_p9_attr *a, struct fb_stat *st)
{
    st->dev = sb->dev;
    st->ino = a->qid.path;
    st->mode = a->mode;
    st->uid = a->uid;
    st->gid = a->gid;
    st->nlink = a->nlink;
    st->rdev = a->rdev;
    st->size = a->size;
    st->blksize = a->blksize ? (uint32_t)a->blksize : 4096;
    st->blocks = a->blocks;
    st->atime.tv_sec = (time_t)a->atime_sec;
    st->atime.tv_nsec = (long)a->atime_nsec;
    st->mtime.tv_sec = (time_t)a->mtime_sec;
    st->mtime.tv_nsec = (long)a->mtime_nsec;
    st->ctime.tv_sec = (time_t)a->ctime_sec;
    st->ctime.tv_nsec = (long)a->ctime_nsec;
    st->btime.tv_sec = (time_t)a->btime_sec;
    st->btime.tv_nsec = (long)a->btime_nsec;
}

static int refresh(struct fb_inode *ino)
{
    struct fb_p9_attr a;
    int r = fb_p9c_getattr(P(ino)->c, P(ino)->fid, FB_P9_GETATTR_BASIC, &a);
    if (r < 0)
        return r;
    attr_to_stat(ino->sb, &a, &ino->st);
    return 0;
}

/* Wrap a walked fid into an inode (takes the fid); attr, if known, saves a getattr. */
static int make_inode(struct fb_sb *sb, struct fb_p9_client *c, uint32_t fid,
                      const struct fb_p9_attr *attr, struct fb_inode **out)
{
    struct p9_inode *pi = calloc(1, sizeof(*pi));
    struct fb_inode *ino;
    int r;

    if (!pi) {
        fb_p9c_clunk(c, fid);
        return -ENOMEM;
    }
    ino = fb_inode_new(sb, &p9_iops, 0);
    if (!ino) {
        free(pi);
        fb_p9c_clunk(c, fid);
        return -ENOMEM;
    }
    pi->c = c;
    pi->fid = fid;
    pi->host_fd = -1;
    pi->io_fid = FB_P9_NOFID;
    pi->ino = ino;
    pi->mappable.ops = &p9_map_ops;
    ino->priv = pi;
    if (attr) {
        attr_to_stat(sb, attr, &ino->st);
        r = 0;
    } else {
        r = refresh(ino);
    }
    if (r < 0) {
        fb_inode_put(ino); /* clunks */
        return r;
    }
    if (S_ISREG(ino->st.mode))
        ino->mappable = &pi->mappable;
    *out = ino;
    return 0;
}

/* ---- inode ops ------------------------------------------------------------------------------- */

static int p9_lookup(struct fb_inode *dir, const char *name, struct fb_inode **out)
{
    const char *names[1] = {name};
    struct fb_p9_attr attr;
    uint32_t fid;
    int r = fb_p9c_walk_getattr(P(dir)->c, P(dir)->fid, 1, names, &fid, &attr);
    if (r < 0)
        return r;
    return make_inode(dir->sb, P(dir)->c, fid, &attr, out);
}

/* lookup_many: the walks of all names at once (fb_p9c_walk_getattr_many), each from its dir's
 * fid or from the fid an earlier one makes. */
static void p9_lookup_many(struct fb_lookup_ask *ask, int n)
{
    struct fb_p9c_walk1 w[FB_P9C_BATCH];
    struct fb_p9_client *c = NULL;
    struct fb_sb *sb = NULL;
    int i;

    if (n < 1 || n > FB_P9C_BATCH)
        return;
    for (i = 0; i < n; i++) {
        if (ask[i].dir) {
            if (c && (P(ask[i].dir)->c != c || ask[i].dir->sb != sb))
                return; /* one channel, one filesystem */
            c = P(ask[i].dir)->c;
            sb = ask[i].dir->sb;
        }
        w[i] = (struct fb_p9c_walk1){ask[i].dir ? P(ask[i].dir)->fid : FB_P9_NOFID,
                                     ask[i].parent, ask[i].name, 0, 0, {0}};
    }
    if (!c)
        return;
    (void)fb_p9c_walk_getattr_many(c, w, n); /* a dead channel fails every later call anyway */
    for (i = 0; i < n; i++)
        if (w[i].rc == 0 && make_inode(sb, c, w[i].newfid, &w[i].attr, &ask[i].ino) < 0)
            ask[i].ino = NULL; /* make_inode clunked it */
}

/* Walk to name in dir and build its inode (after a create). */
static int lookup_new(struct fb_inode *dir, const char *name, struct fb_inode **out)
{
    return p9_lookup(dir, name, out);
}

static int p9_create(struct fb_inode *dir, const char *name, mode_t mode, struct fb_inode **out)
{
    struct fb_p9_qid qid;
    uint32_t fid, iounit;
    int r;

    r = fb_p9c_walk(P(dir)->c, P(dir)->fid, 0, NULL, &fid, NULL);
    if (r < 0)
        return r;
    r = fb_p9c_lcreate(P(dir)->c, fid, name, O_RDWR, mode & 07777, 0, &qid, &iounit);
    fb_p9c_clunk(P(dir)->c, fid);
    if (r < 0)
        return r;
    return lookup_new(dir, name, out);
}

static int p9_mkdir(struct fb_inode *dir, const char *name, mode_t mode)
{
    struct fb_p9_qid qid;
    return fb_p9c_mkdir(P(dir)->c, P(dir)->fid, name, mode & 07777, 0, &qid);
}

static int p9_mknod(struct fb_inode *dir, const char *name, mode_t mode, dev_t rdev)
{
    struct fb_p9_qid qid;
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return -EPERM;
    return fb_p9c_mknod(P(dir)->c, P(dir)->fid, name, mode, major(rdev), minor(rdev), 0, &qid);
}

static int p9_symlink(struct fb_inode *dir, const char *name, const char *target)
{
    struct fb_p9_qid qid;
    return fb_p9c_symlink(P(dir)->c, P(dir)->fid, name, target, 0, &qid);
}

static int p9_link(struct fb_inode *dir, const char *name, struct fb_inode *target)
{
    if (target->ops != &p9_iops || P(target)->c != P(dir)->c)
        return -EXDEV;
    return fb_p9c_link(P(dir)->c, P(dir)->fid, P(target)->fid, name);
}

static int p9_unlink(struct fb_inode *dir, const char *name, struct fb_inode *victim)
{
    (void)victim;
    return fb_p9c_unlinkat(P(dir)->c, P(dir)->fid, name, 0);
}

static int p9_rmdir(struct fb_inode *dir, const char *name, struct fb_inode *victim)
{
    (void)victim;
    return fb_p9c_unlinkat(P(dir)->c, P(dir)->fid, name, AT_REMOVEDIR);
}

static int p9_rename(struct fb_inode *od, const char *on, struct fb_inode *nd, const char *nn,
                     unsigned flags)
{
    if (flags)
        return -EINVAL; /* RENAME_NOREPLACE/EXCHANGE are not in 9P2000.L */
    return fb_p9c_renameat(P(od)->c, P(od)->fid, on, P(nd)->fid, nn);
}

static int p9_readlink(struct fb_inode *ino, char *buf, size_t size)
{
    struct p9_inode *pi = P(ino);
    size_t n;
    if (!pi->link) {
        char tmp[FB_PATH_MAX + 1];
        int r = fb_p9c_readlink(pi->c, pi->fid, tmp, sizeof(tmp));
        if (r < 0)
            return r;
        pi->link = strdup(tmp);
        if (!pi->link)
            return -ENOMEM;
    }
    n = FB_MIN(strlen(pi->link), size);
    memcpy(buf, pi->link, n);
    return (int)n;
}

static int p9_getattr(struct fb_inode *ino)
{
    return refresh(ino);
}

static void drop_cache(struct p9_inode *pi);

static int p9_setattr(struct fb_inode *ino, unsigned mask, const struct fb_stat *st)
{
    struct fb_p9_setattr sa;
    int r;

    memset(&sa, 0, sizeof(sa));
    if (mask & FB_SETATTR_MODE) {
        sa.valid |= FB_P9_SETATTR_MODE;
        sa.mode = st->mode & 07777;
    }
    if (mask & FB_SETATTR_UID) {
        sa.valid |= FB_P9_SETATTR_UID;
        sa.uid = st->uid;
    }
    if (mask & FB_SETATTR_GID) {
        sa.valid |= FB_P9_SETATTR_GID;
        sa.gid = st->gid;
    }
    if (mask & FB_SETATTR_SIZE) {
        sa.valid |= FB_P9_SETATTR_SIZE;
        sa.size = st->size;
    }
    if (mask & FB_SETATTR_ATIME) {
        sa.valid |= FB_P9_SETATTR_ATIME | FB_P9_SETATTR_ATIME_SET;
        sa.atime_sec = (uint64_t)st->atime.tv_sec;
        sa.atime_nsec = (uint64_t)st->atime.tv_nsec;
    }
    if (mask & FB_SETATTR_MTIME) {
        sa.valid |= FB_P9_SETATTR_MTIME | FB_P9_SETATTR_MTIME_SET;
        sa.mtime_sec = (uint64_t)st->mtime.tv_sec;
        sa.mtime_nsec = (uint64_t)st->mtime.tv_nsec;
    }
    if (mask & FB_SETATTR_CTIME)
        sa.valid |= FB_P9_SETATTR_CTIME;
    r = fb_p9c_setattr(P(ino)->c, P(ino)->fid, &sa);
    if (r < 0)
        return r;
    if (mask & FB_SETATTR_SIZE)
        drop_cache(P(ino));
    return refresh(ino);
}

/* Open a clone of the inode's fid with flags; returns the opened fid. */
static int open_fid(struct p9_inode *pi, uint32_t flags, uint32_t *out, int *host_fd)
{
    struct fb_p9_qid qid;
    uint32_t fid, iounit;
    int r = fb_p9c_walk(pi->c, pi->fid, 0, NULL, &fid, NULL);
    if (r < 0)
        return r;
    r = fb_p9c_lopen(pi->c, fid, flags, &qid, &iounit, host_fd);
    if (r < 0) {
        fb_p9c_clunk(pi->c, fid);
        return r;
    }
    *out = fid;
    return 0;
}

/* Make sure reads of the file's content have a channel: a donated fd or an opened fid. */
static int ensure_reader(struct p9_inode *pi)
{
    uint32_t fid;
    int fd = -1, r;

    if (pi->host_fd >= 0 || pi->io_fid != FB_P9_NOFID)
        return 0;
    if (fb_p9c_open_fd(pi->c, pi->fid, &fd) == 0) {
        pi->host_fd = fd; /* one round trip: the usual case */
        return 0;
    }
    r = open_fid(pi, O_RDONLY, &fid, &fd);
    if (r < 0)
        return r;
    if (fd >= 0) {
        pi->host_fd = fd;
        fb_p9c_clunk(pi->c, fid); /* the fd is all we need */
    } else {
        pi->io_fid = fid;
    }
    return 0;
}

static int p9_open(struct fb_inode *ino, struct fb_file *f)
{
    struct p9_inode *pi = P(ino);
    unsigned acc = f->flags & O_ACCMODE;
    int r;

    if (S_ISDIR(ino->st.mode)) {
        struct p9_dir *d = calloc(1, sizeof(*d));
        if (!d)
            return -ENOMEM;
        r = open_fid(pi, O_RDONLY | O_DIRECTORY, &d->fid, NULL);
        if (r < 0) {
            free(d);
            return r;
        }
        f->priv = d;
        f->ops = &p9_dir_ops;
        return 0;
    }
    if (S_ISFIFO(ino->st.mode))
        return fb_fifo_open(ino, f);
    if (!S_ISREG(ino->st.mode))
        return -ENXIO;
    {
        struct p9_file *pf = calloc(1, sizeof(*pf));
        if (!pf)
            return -ENOMEM;
        pf->fid = FB_P9_NOFID;
        if (acc == O_RDONLY) {
            r = ensure_reader(pi);
        } else {
            r = open_fid(pi, (uint32_t)(acc | (f->flags & O_APPEND)), &pf->fid, NULL);
            if (r == 0)
                drop_cache(pi);
        }
        if (r < 0) {
            free(pf);
            return r;
        }
        f->priv = pf;
        f->ops = &p9_file_ops;
    }
    return 0;
}

static void drop_page(uint64_t idx, uint64_t off, void *arg)
{
    (void)idx;
    fb_mf_put(arg, off, 1);
}

static void drop_cache(struct p9_inode *pi)
{
    fb_radix_destroy(&pi->cache, drop_page, &fb_k->mf);
}

static void p9_release(struct fb_inode *ino)
{
    struct p9_inode *pi = P(ino);
    if (!pi)
        return;
    drop_cache(pi);
    if (pi->host_fd >= 0)
        close(pi->host_fd);
    if (pi->io_fid != FB_P9_NOFID)
        fb_p9c_clunk(pi->c, pi->io_fid);
    fb_p9c_clunk(pi->c, pi->fid);
    free(pi->link);
    free(pi);
}

static const struct fb_inode_ops p9_iops = {
    .lookup = p9_lookup,
    .lookup_many = p9_lookup_many,
    .create = p9_create,
    .mkdir = p9_mkdir,
    .mknod = p9_mknod,
    .symlink = p9_symlink,
    .link = p9_link,
    .unlink = p9_unlink,
    .rmdir = p9_rmdir,
    .rename = p9_rename,
    .readlink = p9_readlink,
    .getattr = p9_getattr,
    .setattr = p9_setattr,
    .open = p9_open,
    .release = p9_release,
};

/* ---- regular files --------------------------------------------------------------------------- */

/* Read file bytes at off into a Sentry buffer. */
static ssize_t read_raw(struct p9_inode *pi, uint32_t fid, void *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n;
        if (fid == FB_P9_NOFID && pi->host_fd >= 0)
            n = pread(pi->host_fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));
        else
            n = fb_p9c_read(pi->c, fid != FB_P9_NOFID ? fid : pi->io_fid, off + done,
                            (uint8_t *)buf + done,
                            (uint32_t)FB_MIN(len - done, fb_p9c_max_io(pi->c)));
        if (n < 0) {
            if (fid == FB_P9_NOFID && pi->host_fd >= 0 && errno == EINTR)
                continue;
            return done ? (ssize_t)done : (fid == FB_P9_NOFID && pi->host_fd >= 0 ? -errno : n);
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static int64_t p9_read(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    struct p9_inode *pi = P(f->inode);
    struct p9_file *pf = f->priv;
    uint32_t fid = pf->fid;
    size_t done = 0;

    while (u->resid) {
        struct iovec iov[64];
        int n = 0;
        int64_t cov;
        ssize_t r;

        if (fid == FB_P9_NOFID && pi->host_fd >= 0) {
            /* Straight from the host file into application memory. */
            cov = fb_uio_host_iov(u, FB_MIN(u->resid, (size_t)4 << 20), true, iov, 64, &n);
            if (cov < 0)
                return done ? (int64_t)done : cov;
            if (cov == 0)
                break;
            r = preadv(pi->host_fd, iov, n, (off_t)*off);
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                return done ? (int64_t)done : -errno;
            }
        } else {
            uint8_t *buf;
            size_t want = FB_MIN(u->resid, (size_t)fb_p9c_max_io(pi->c));
            buf = malloc(want);
            if (!buf)
                return done ? (int64_t)done : -ENOMEM;
            r = fb_p9c_read(pi->c, fid != FB_P9_NOFID ? fid : pi->io_fid, (uint64_t)*off, buf,
                            (uint32_t)want);
            if (r > 0) {
                int64_t c = fb_uio_copy_to(u, buf, (size_t)r);
                free(buf);
                if (c < 0)
                    return done ? (int64_t)done : c;
                *off += c;
                done += (size_t)c;
                if ((size_t)r < want)
                    break;
                continue;
            }
            free(buf);
            if (r < 0)
                return done ? (int64_t)done : r;
        }
        if (r == 0)
            break;
        fb_uio_advance(u, (size_t)r);
        *off += r;
        done += (size_t)r;
        if ((size_t)r < (size_t)cov)
            break;
    }
    return (int64_t)done;
}

static int64_t p9_write(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    struct p9_inode *pi = P(f->inode);
    struct p9_file *pf = f->priv;
    size_t done = 0;
    uint8_t *buf;

    if (pf->fid == FB_P9_NOFID)
        return -EBADF;
    if (f->flags & O_APPEND) {
        int r = refresh(f->inode);
        if (r < 0)
            return r;
        *off = (int64_t)f->inode->st.size;
    }
    buf = malloc(fb_p9c_max_io(pi->c));
    if (!buf)
        return -ENOMEM;
    while (u->resid) {
        size_t want = FB_MIN(u->resid, (size_t)fb_p9c_max_io(pi->c));
        int64_t c = fb_uio_copy_from(u, buf, want);
        ssize_t w;
        if (c <= 0) {
            free(buf);
            return done ? (int64_t)done : (c ? c : -EFAULT);
        }
        w = fb_p9c_write(pi->c, pf->fid, (uint64_t)*off, buf, (uint32_t)c);
        if (w < 0) {
            free(buf);
            return done ? (int64_t)done : w;
        }
        *off += w;
        done += (size_t)w;
        if (w < c)
            break;
    }
    free(buf);
    drop_cache(pi);
    if ((uint64_t)*off > f->inode->st.size)
        f->inode->st.size = (uint64_t)*off;
    return (int64_t)done;
}

static int64_t p9_llseek(struct fb_file *f, int64_t off, int whence)
{
    if (whence == SEEK_END && (f->flags & O_ACCMODE) != O_RDONLY)
        refresh(f->inode);
    return fb_generic_llseek(f, off, whence);
}

static int p9_fsync(struct fb_file *f)
{
    struct p9_file *pf = f->priv;
    if (pf->fid == FB_P9_NOFID)
        return 0;
    return fb_p9c_fsync(P(f->inode)->c, pf->fid);
}

static unsigned p9_poll(struct fb_file *f, struct fb_poll_table *pt)
{
    (void)f;
    (void)pt;
    return POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
}

static int p9_mmap(struct fb_file *f, struct fb_mappable **out)
{
    struct p9_inode *pi = P(f->inode);
    int r = ensure_reader(pi);
    if (r < 0)
        return r;
    fb_inode_get(f->inode);
    *out = &pi->mappable;
    return 0;
}

static void p9_file_release(struct fb_file *f)
{
    struct p9_file *pf = f->priv;
    if (!pf)
        return;
    if (pf->fid != FB_P9_NOFID)
        fb_p9c_clunk(P(f->inode)->c, pf->fid);
    free(pf);
}

static const struct fb_file_ops p9_file_ops = {
    .read = p9_read,
    .write = p9_write,
    .llseek = p9_llseek,
    .poll = p9_poll,
    .fsync = p9_fsync,
    .mmap = p9_mmap,
    .release = p9_file_release,
};

/* ---- directories ------------------------------------------------------------------------------ */

static int load_dir(struct fb_file *f)
{
    struct p9_dir *d = f->priv;
    struct fb_p9_client *c = P(f->inode)->c;
    uint64_t cookie = 0;
    int cap = 64;

    free(d->ents);
    d->ents = malloc((size_t)cap * sizeof(*d->ents));
    d->n = 0;
    if (!d->ents)
        return -ENOMEM;
    for (;;) {
        int got;
        if (d->n + 64 > cap) {
            struct fb_p9_dirent *ne = realloc(d->ents, (size_t)cap * 2 * sizeof(*ne));
            if (!ne)
                return -ENOMEM;
            d->ents = ne;
            cap *= 2;
        }
        got = fb_p9c_readdir(c, d->fid, cookie, d->ents + d->n, 64);
        if (got < 0)
            return got;
        if (got == 0)
            break;
        d->n += got;
        cookie = d->ents[d->n - 1].offset;
    }
    d->loaded = true;
    return 0;
}

static int p9_readdir(struct fb_file *f, struct fb_dirent_sink *sink, int64_t *pos)
{
    struct p9_dir *d = f->priv;

    if (*pos == 0 || !d->loaded) {
        int r = load_dir(f);
        if (r < 0)
            return r;
    }
    while (*pos < 2) {
        if (!fb_dirent_emit(sink, *pos == 0 ? "." : "..", *pos == 0 ? f->inode->st.ino : 0,
                            DT_DIR, *pos + 1))
            return 0;
        (*pos)++;
    }
    while (*pos - 2 < d->n) {
        struct fb_p9_dirent *e = &d->ents[*pos - 2];
        if (!fb_dirent_emit(sink, e->name, e->qid.path, e->type, *pos + 1))
            return 0;
        (*pos)++;
    }
    return 0;
}

static void p9_dir_release(struct fb_file *f)
{
    struct p9_dir *d = f->priv;
    if (!d)
        return;
    fb_p9c_clunk(P(f->inode)->c, d->fid);
    free(d->ents);
    free(d);
}

static const struct fb_file_ops p9_dir_ops = {
    .readdir = p9_readdir,
    .llseek = fb_generic_llseek,
    .release = p9_dir_release,
};

/* ---- page cache ------------------------------------------------------------------------------- */

static void map_get(struct fb_mappable *m)
{
    fb_inode_get(fb_container_of(m, struct p9_inode, mappable)->ino);
}

static void map_put(struct fb_mappable *m)
{
    fb_inode_put(fb_container_of(m, struct p9_inode, mappable)->ino);
}

/* Copy file bytes into the memory file inside the host kernel (no page faults in the Sentry's
 * mapping, no copy through user space). Returns bytes copied, or -errno. */
static ssize_t copy_to_memfile(int host_fd, uint64_t mf_off, uint64_t file_off, size_t len)
{
    size_t done = 0;
    if (lseek(fb_k->mf.fd, (off_t)mf_off, SEEK_SET) < 0)
        return -errno;
    while (done < len) {
        off_t in = (off_t)(file_off + done);
        ssize_t n = sendfile(fb_k->mf.fd, host_fd, &in, len - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return done ? (ssize_t)done : -errno;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

/* Fill pages [pg, pg+n) (all absent) with one contiguous allocation. */
static int fill(struct p9_inode *pi, uint64_t pg, uint64_t n)
{
    uint64_t off, i;
    ssize_t got;
    int r = ensure_reader(pi); /* a restored mapping may be the file's only user: no open yet */

    if (r < 0)
        return r;
    off = fb_mf_alloc(&fb_k->mf, n);
    if (!off)
        return -ENOMEM;
    if (pi->host_fd >= 0)
        got = copy_to_memfile(pi->host_fd, off, pg * FB_PAGE_SIZE, n * FB_PAGE_SIZE);
    else
        got = read_raw(pi, FB_P9_NOFID, fb_mf_ptr(&fb_k->mf, off), n * FB_PAGE_SIZE,
                       pg * FB_PAGE_SIZE);
    if (got < 0) {
        fb_mf_put(&fb_k->mf, off, n);
        return (int)got;
    }
    for (i = 0; i < n; i++)
        if (fb_radix_set(&pi->cache, pg + i, off + i * FB_PAGE_SIZE) < 0) {
            fb_mf_put(&fb_k->mf, off + i * FB_PAGE_SIZE, n - i);
            return -ENOMEM;
        }
    return 0;
}

static int map_get_pages(struct fb_mappable *m, uint64_t pgoff, int n, unsigned flags,
                         uint64_t *out)
{
    struct p9_inode *pi = fb_container_of(m, struct p9_inode, mappable);
    uint64_t size = pi->ino->st.size, npages = (size + FB_PAGE_SIZE - 1) >> FB_PAGE_SHIFT;
    int i;

    if (pgoff >= npages)
        return -EFAULT;
    if (n > 0 && pgoff + (uint64_t)n > npages)
        n = (int)(npages - pgoff);
    for (i = 0; i < n; i++) {
        uint64_t off = fb_radix_get(&pi->cache, pgoff + (uint64_t)i);
        if (!off) {
            /* Fill a run of absent pages in one read. */
            uint64_t run = 1;
            int r;
            while (run < CACHE_CHUNK_PAGES && pgoff + i + run < npages &&
                   (!(flags & FB_GETPAGES_EXACT) || i + run < (uint64_t)n) &&
                   !fb_radix_get(&pi->cache, pgoff + i + run))
                run++;
            r = fill(pi, pgoff + (uint64_t)i, run);
            if (r < 0)
                return i ? i : r;
            off = fb_radix_get(&pi->cache, pgoff + (uint64_t)i);
        }
        fb_mf_get(&fb_k->mf, off, 1);
        out[i] = off;
    }
    return n;
}

/* The donated fd, for direct mapping: only when it is open read-only (checked once; the
 * application may reach it in its stub). */
static int map_host_fd(struct fb_mappable *m)
{
    struct p9_inode *pi = fb_container_of(m, struct p9_inode, mappable);
    int fl;

    if (pi->host_fd_checked)
        return pi->host_fd_ro ? pi->host_fd : -1;
    if (ensure_reader(pi) < 0 || pi->host_fd < 0)
        return -1;
    fl = fcntl(pi->host_fd, F_GETFL);
    pi->host_fd_checked = true;
    pi->host_fd_ro = fl >= 0 && (fl & O_ACCMODE) == O_RDONLY;
    return pi->host_fd_ro ? pi->host_fd : -1;
}

/* Readers for several files in one round trip: the donated fds of those that have none yet
 * (what ensure_reader would ask for one at a time). One that fails is left to ensure_reader. */
static void map_host_fds_ahead(struct fb_mappable *const *maps, int n)
{
    struct p9_inode *pis[FB_P9C_BATCH];
    uint32_t fids[FB_P9C_BATCH];
    int fds[FB_P9C_BATCH], k = 0, i;
    struct fb_p9_client *c = NULL;

    for (i = 0; i < n && k < FB_P9C_BATCH; i++) {
        struct p9_inode *pi = fb_container_of(maps[i], struct p9_inode, mappable);
        if (pi->host_fd >= 0 || pi->io_fid != FB_P9_NOFID || (c && pi->c != c))
            continue;
        c = pi->c;
        pis[k] = pi;
        fids[k++] = pi->fid;
    }
    if (k < 2 || fb_p9c_open_fds(c, fids, k, fds) < 0)
        return;
    for (i = 0; i < k; i++)
        if (fds[i] >= 0)
            pis[i]->host_fd = fds[i];
}

static const struct fb_mappable_ops p9_map_ops = {
    .get = map_get,
    .put = map_put,
    .get_pages = map_get_pages,
    .host_fd = map_host_fd,
    .host_fds_ahead = map_host_fds_ahead,
};

/* ---- filesystem ------------------------------------------------------------------------------- */

static int p9_statfs(struct fb_sb *sb, struct statfs *out)
{
    struct p9_sb *ps = sb->priv;
    struct fb_p9_statfs s;
    int r = fb_p9c_statfs(ps->c, ps->root_fid, &s);
    if (r < 0)
        return r;
    memset(out, 0, sizeof(*out));
    out->f_type = (__fsword_t)sb->magic;
    out->f_bsize = s.bsize;
    out->f_blocks = s.blocks;
    out->f_bfree = s.bfree;
    out->f_bavail = s.bavail;
    out->f_files = s.files;
    out->f_ffree = s.ffree;
    out->f_namelen = s.namelen;
    out->f_frsize = s.bsize;
    return 0;
}

int fb_p9fs_new(struct fb_p9_client *c, struct fb_sb **sbp, struct fb_dentry **rootp)
{
    struct fb_sb *sb = calloc(1, sizeof(*sb));
    struct p9_sb *ps = calloc(1, sizeof(*ps));
    struct fb_p9_qid qid;
    struct fb_inode *ino;
    uint32_t fid;
    int r;

    if (!sb || !ps) {
        free(sb);
        free(ps);
        return -ENOMEM;
    }
    ps->c = c;
    sb->type = "9p";
    sb->dev = fb_vfs_new_dev();
    sb->magic = 0x01021997; /* V9FS_MAGIC */
    sb->cache_dentries = true;
    sb->cache_negative = true;
    sb->priv = ps;
    r = fb_p9c_attach(c, "/", &fid, &qid);
    if (r < 0)
        goto out_free;
    r = make_inode(sb, c, fid, NULL, &ino);
    if (r < 0)
        goto out_free;
    ps->root_fid = fid;
    sb->statfs = p9_statfs;
    *rootp = fb_dentry_new(NULL, "/", ino);
    if (!*rootp) {
        fb_inode_put(ino);
        r = -ENOMEM;
        goto out_free;
    }
    *sbp = sb;
    return 0;
out_free:
    free(sb);
    free(ps);
    return r;
}

/* ---- checkpoint support ------------------------------------------------------------------------ */

bool fb_inode_is_p9(const struct fb_inode *ino)
{
    return ino->ops == &p9_iops;
}

struct fb_inode *fb_p9fs_mappable_inode(struct fb_mappable *m)
{
    if (m->ops != &p9_map_ops)
        return NULL;
    return fb_container_of(m, struct p9_inode, mappable)->ino;
}

void fb_p9fs_cache_save(struct fb_inode *ino, struct fb_sw *w,
                        bool (*skip)(uint64_t page, void *arg), void *arg)
{
    struct p9_inode *pi = P(ino);
    uint64_t idx = 0, found, off, n = 0;

    while (fb_radix_next(&pi->cache, idx, UINT64_MAX >> 12, &found, &off)) {
        if (!skip || !skip(off >> FB_PAGE_SHIFT, arg))
            n++;
        idx = found + 1;
    }
    fb_sw_array(w, (uint32_t)(n * 2));
    idx = 0;
    while (fb_radix_next(&pi->cache, idx, UINT64_MAX >> 12, &found, &off)) {
        if (!skip || !skip(off >> FB_PAGE_SHIFT, arg)) {
            fb_sw_u64(w, found);
            fb_sw_u64(w, off);
        }
        idx = found + 1;
    }
}

void fb_p9fs_cache_foreach(struct fb_inode *ino, void (*fn)(uint64_t page, void *arg), void *arg)
{
    struct p9_inode *pi = P(ino);
    uint64_t idx = 0, found, off;

    while (fb_radix_next(&pi->cache, idx, UINT64_MAX >> 12, &found, &off)) {
        fn(off >> FB_PAGE_SHIFT, arg);
        idx = found + 1;
    }
}

int fb_p9fs_cache_load(struct fb_inode *ino, struct fb_sr *r)
{
    struct p9_inode *pi = P(ino);
    struct fb_sr s;
    uint32_t i;

    fb_sr_sub(r, &s);
    if (*r->err || s.n % 2)
        return -EINVAL;
    for (i = 0; i < s.n; i += 2) {
        uint64_t idx = fb_sr_u64(&s), off = fb_mf_saved_off(&fb_k->mf, fb_sr_u64(&s));
        if (*r->err || off % FB_PAGE_SIZE || off >= fb_k->mf.size || !fb_mf_refs(&fb_k->mf, off) ||
            fb_radix_get(&pi->cache, idx))
            return -EINVAL;
        if (fb_radix_set(&pi->cache, idx, off) < 0)
            return -ENOMEM;
    }
    return 0;
}
