/* VFS objects: inodes, dentries, mounts, paths, open files, fd tables, filesystem contexts, the
 * user I/O cursor and poll tables. Path walking is in namei.c, syscall-level ops in open.c. */
#include "kernel/vfs/vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/util/cleanup.h"
#include "kernel/util/log.h"
#include "kernel/vfs/locks.h"

/* ---- user I/O cursor -------------------------------------------------------------------------- */

static void uio_init(struct fb_uio *u, struct fb_mm *mm, const struct iovec *iov, int n)
{
    int i;
    u->mm = mm;
    u->iov = iov;
    u->iovcnt = n;
    u->idx = 0;
    u->skip = 0;
    u->resid = 0;
    for (i = 0; i < n; i++)
        u->resid += iov[i].iov_len;
    while (u->idx < u->iovcnt && u->iov[u->idx].iov_len == 0)
        u->idx++;
}

void fb_uio_init_user(struct fb_uio *u, struct fb_mm *mm, const struct iovec *iov, int n)
{
    uio_init(u, mm, iov, n);
}

void fb_uio_init_kernel(struct fb_uio *u, const struct iovec *iov, int n)
{
    uio_init(u, NULL, iov, n);
}

void fb_uio_advance(struct fb_uio *u, size_t n)
{
    n = FB_MIN(n, u->resid);
    while (n && u->idx < u->iovcnt) {
        size_t left = u->iov[u->idx].iov_len - u->skip;
        size_t k = FB_MIN(left, n);
        u->skip += k;
        u->resid -= k;
        n -= k;
        if (u->skip == u->iov[u->idx].iov_len) {
            u->idx++;
            u->skip = 0;
        }
    }
    while (u->idx < u->iovcnt && u->iov[u->idx].iov_len == 0)
        u->idx++;
}

void fb_uio_truncate(struct fb_uio *u, size_t n)
{
    if (u->resid > n)
        u->resid = n;
}

int64_t fb_uio_copy_to(struct fb_uio *u, const void *src, size_t n)
{
    size_t done = 0;
    while (done < n && u->resid) {
        uint64_t base = (uint64_t)u->iov[u->idx].iov_base + u->skip;
        size_t k = FB_MIN(FB_MIN(n - done, u->iov[u->idx].iov_len - u->skip), u->resid);
        if (u->mm) {
            if (fb_mm_copy_out(u->mm, base, (const uint8_t *)src + done, k) != 0)
                return done ? (int64_t)done : -EFAULT;
        } else {
            memcpy((void *)base, (const uint8_t *)src + done, k);
        }
        fb_uio_advance(u, k);
        done += k;
    }
    return (int64_t)done;
}

int64_t fb_uio_copy_from(struct fb_uio *u, void *dst, size_t n)
{
    size_t done = 0;
    while (done < n && u->resid) {
        uint64_t base = (uint64_t)u->iov[u->idx].iov_base + u->skip;
        size_t k = FB_MIN(FB_MIN(n - done, u->iov[u->idx].iov_len - u->skip), u->resid);
        if (u->mm) {
            if (fb_mm_copy_in(u->mm, base, (uint8_t *)dst + done, k) != 0)
                return done ? (int64_t)done : -EFAULT;
        } else {
            memcpy((uint8_t *)dst + done, (const void *)base, k);
        }
        fb_uio_advance(u, k);
        done += k;
    }
    return (int64_t)done;
}

int64_t fb_uio_host_iov(struct fb_uio *u, size_t n, bool for_read, struct iovec *out, int max,
                        int *nout)
{
    int idx = u->idx, k = 0;
    size_t skip = u->skip, done = 0;

    *nout = 0;
    n = FB_MIN(n, u->resid);
    while (done < n && idx < u->iovcnt && k < max) {
        uint64_t base = (uint64_t)u->iov[idx].iov_base + skip;
        size_t len = FB_MIN(n - done, u->iov[idx].iov_len - skip);
        if (len) {
            if (u->mm) {
                int got = 0;
                int64_t c = fb_mm_iovec(u->mm, base, len, for_read, out + k, max - k, &got);
                if (c < 0)
                    return done ? (int64_t)done : c;
                k += got;
                done += (size_t)c;
                if ((size_t)c < len)
                    break;
            } else {
                out[k].iov_base = (void *)base;
                out[k].iov_len = len;
                k++;
                done += len;
            }
        }
        idx++;
        skip = 0;
    }
    *nout = k;
    return (int64_t)done;
}

/* ---- poll tables -------------------------------------------------------------------------------- */

void fb_poll_init(struct fb_poll_table *pt, struct fb_task *t)
{
    pt->task = t;
    pt->nwaiters = 0;
    pt->nhost = 0;
}

void fb_poll_wait(struct fb_poll_table *pt, struct fb_waitq *q)
{
    int i;
    if (!pt)
        return;
    for (i = 0; i < pt->nwaiters; i++)
        if (pt->waiters[i].q == q)
            return;
    if (pt->nwaiters == FB_POLL_MAX_WAITQ) {
        fb_warn("poll table full: some readiness changes will only be seen on timeout");
        return;
    }
    fb_waitq_add(q, &pt->waiters[pt->nwaiters++], pt->task);
}

void fb_poll_wait_host(struct fb_poll_table *pt, int fd, short events)
{
    int i;
    if (!pt)
        return;
    for (i = 0; i < pt->nhost; i++)
        if (pt->host[i].fd == fd) {
            pt->host[i].events |= events;
            return;
        }
    if (pt->nhost == FB_POLL_MAX_HOST)
        return;
    pt->host[pt->nhost].fd = fd;
    pt->host[pt->nhost].events = events;
    pt->host[pt->nhost].revents = 0;
    pt->nhost++;
}

int fb_poll_sleep(struct fb_poll_table *pt, int64_t deadline_ns)
{
    int i;
    for (i = 0; i < pt->nwaiters; i++)
        if (pt->waiters[i].woken)
            return 0;
    if (pt->nhost) {
        fb_hostfd_before_sleep(pt->host, pt->nhost);
        return fb_task_sleep_fds(pt->task, pt->host, pt->nhost, deadline_ns);
    }
    return fb_task_sleep(pt->task, deadline_ns);
}

void fb_poll_done(struct fb_poll_table *pt)
{
    int i;
    for (i = 0; i < pt->nwaiters; i++)
        fb_waitq_del(&pt->waiters[i]);
    pt->nwaiters = 0;
    pt->nhost = 0;
}

/* ---- inodes ------------------------------------------------------------------------------------- */

static uint64_t next_dev = 1;

uint64_t fb_vfs_new_dev(void)
{
    return next_dev++;
}

struct fb_inode *fb_inode_new(struct fb_sb *sb, const struct fb_inode_ops *ops, mode_t mode)
{
    struct fb_inode *ino = calloc(1, sizeof(*ino));
    struct timespec now;

    if (!ino)
        return NULL;
    ino->refs = 1;
    ino->sb = sb;
    ino->ops = ops;
    ino->st.mode = mode;
    ino->st.nlink = 1;
    ino->st.blksize = 4096;
    ino->st.dev = sb ? sb->dev : 0;
    ino->st.ino = sb ? ++sb->next_ino : 0;
    {
        int64_t ns = fb_app_real_ns();
        now.tv_sec = ns / 1000000000;
        now.tv_nsec = ns % 1000000000;
    }
    ino->st.atime = ino->st.mtime = ino->st.ctime = ino->st.btime = now;
    fb_waitq_init(&ino->poll_wq);
    return ino;
}

void fb_inode_get(struct fb_inode *ino)
{
    ino->refs++;
}

void fb_inode_put(struct fb_inode *ino)
{
    if (!ino || --ino->refs > 0)
        return;
    if (ino->pipe)
        fb_pipe_release_inode(ino);
    fb_lock_ctx_free(ino->locks);
    if (ino->ops && ino->ops->release)
        ino->ops->release(ino);
    free(ino);
}

/* ---- dentries ----------------------------------------------------------------------------------- */

struct fb_dentry *fb_dentry_new(struct fb_dentry *parent, const char *name, struct fb_inode *ino)
{
    struct fb_dentry *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->name = strdup(name ? name : "/");
    if (!d->name) {
        free(d);
        return NULL;
    }
    d->refs = 1;
    d->inode = ino; /* takes the reference */
    d->sb = ino ? ino->sb : (parent ? parent->sb : NULL);
    fb_list_init(&d->children);
    fb_list_init(&d->sibling);
    if (parent) {
        fb_dentry_get(parent); /* a child keeps its parent alive */
        d->parent = parent;
        fb_list_add(&parent->children, &d->sibling);
    }
    return d;
}

void fb_dentry_get(struct fb_dentry *d)
{
    d->refs++;
}

/* Unreferenced dentries of caching filesystems stay in their parent's child list (the cache);
 * others are freed at once, releasing their parent in turn. */
void fb_dentry_put(struct fb_dentry *d)
{
    while (d && --d->refs == 0) {
        struct fb_dentry *parent = d->parent;
        if (parent && !d->deleted && d->sb && d->sb->cache_dentries)
            return;
        if (parent && !d->deleted)
            fb_list_del(&d->sibling);
        fb_inode_put(d->inode);
        free(d->name);
        free(d);
        d = parent;
    }
}

struct fb_dentry *fb_dentry_child(struct fb_dentry *dir, const char *name)
{
    struct fb_list *pos;
    fb_list_for_each(pos, &dir->children)
    {
        struct fb_dentry *c = fb_list_entry(pos, struct fb_dentry, sibling);
        if (strcmp(c->name, name) == 0) {
            fb_dentry_get(c);
            return c;
        }
    }
    return NULL;
}

void fb_dentry_drop_child(struct fb_dentry *dir, const char *name)
{
    struct fb_list *pos, *tmp;
    fb_list_for_each_safe(pos, tmp, &dir->children)
    {
        struct fb_dentry *c = fb_list_entry(pos, struct fb_dentry, sibling);
        if (strcmp(c->name, name) != 0)
            continue;
        fb_list_del(&c->sibling);
        c->deleted = true;
        if (c->refs == 0) { /* an unreferenced cache entry: free it now */
            c->refs = 1;
            fb_dentry_put(c);
        }
    }
}

/* The cached child `name` of dir (no reference taken), or NULL. */
static struct fb_dentry *child_peek(struct fb_dentry *dir, const char *name)
{
    struct fb_list *pos;
    fb_list_for_each(pos, &dir->children)
    {
        struct fb_dentry *c = fb_list_entry(pos, struct fb_dentry, sibling);
        if (strcmp(c->name, name) == 0)
            return c;
    }
    return NULL;
}

/* Give d a new name and parent (references: d holds its parent). */
static int dentry_reattach(struct fb_dentry *d, struct fb_dentry *parent, const char *name)
{
    struct fb_dentry *old = d->parent;
    char *n = strdup(name);
    if (!n)
        return -ENOMEM;
    free(d->name);
    d->name = n;
    fb_list_del(&d->sibling);
    fb_dentry_get(parent);
    d->parent = parent;
    fb_list_add(&parent->children, &d->sibling);
    fb_dentry_put(old);
    return 0;
}

void fb_dentry_move(struct fb_dentry *olddir, const char *oldname, struct fb_dentry *newdir,
                    const char *newname, bool exchange)
{
    struct fb_dentry *src = child_peek(olddir, oldname), *dst = child_peek(newdir, newname);

    if (src && !src->inode) {
        fb_dentry_drop_child(olddir, oldname);
        src = NULL;
    }
    if (dst && (!dst->inode || !exchange)) {
        fb_dentry_drop_child(newdir, newname); /* what newname named is gone (or was absent) */
        dst = NULL;
    }
    /* Hold both while they move: reattaching may drop the last reference of a parent. */
    if (src)
        fb_dentry_get(src);
    if (dst)
        fb_dentry_get(dst);
    if (dst && dentry_reattach(dst, olddir, oldname) < 0)
        fb_dentry_drop_child(newdir, newname);
    if (src && dentry_reattach(src, newdir, newname) < 0)
        fb_dentry_drop_child(olddir, oldname);
    if (!dst)
        fb_dentry_drop_child(olddir, oldname); /* a negative entry left under the old name */
    fb_dentry_put(dst);
    fb_dentry_put(src);
}

/* ---- paths and mounts ---------------------------------------------------------------------------- */

static struct fb_list mounts = FB_LIST_INIT(mounts);

struct fb_list *fb_vfs_mounts(void)
{
    return &mounts;
}

void fb_path_get(struct fb_path *p)
{
    if (p->mnt)
        p->mnt->refs++;
    if (p->dentry)
        fb_dentry_get(p->dentry);
}

void fb_path_put(struct fb_path *p)
{
    if (p->dentry)
        fb_dentry_put(p->dentry);
    if (p->mnt)
        p->mnt->refs--;
    p->dentry = NULL;
    p->mnt = NULL;
}

void fb_path_copy(struct fb_path *dst, const struct fb_path *src)
{
    *dst = *src;
    fb_path_get(dst);
}

static struct fb_mount *mount_new(struct fb_sb *sb, struct fb_dentry *root, unsigned flags,
                                  const char *source)
{
    struct fb_mount *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->refs = 1;
    m->sb = sb;
    m->root = root;
    m->flags = flags;
    m->source = strdup(source ? source : "none");
    fb_list_add_tail(&mounts, &m->node);
    return m;
}

int fb_vfs_mount_root(struct fb_sb *sb, struct fb_dentry *root, unsigned flags,
                      const char *source)
{
    struct fb_mount *m = mount_new(sb, root, flags, source);
    if (!m)
        return -ENOMEM;
    fb_k->root_mount = m;
    return 0;
}

int fb_vfs_mount(struct fb_sb *sb, struct fb_dentry *root, const struct fb_path *at,
                 unsigned flags, const char *source)
{
    struct fb_mount *m;

    if (!at->dentry->inode || !S_ISDIR(at->dentry->inode->st.mode))
        return -ENOTDIR;
    m = mount_new(sb, root, flags, source);
    if (!m)
        return -ENOMEM;
    m->parent = at->mnt;
    at->mnt->refs++;
    m->mountpoint = at->dentry;
    fb_dentry_get(at->dentry);
    at->dentry->mounted_on = true;
    return 0;
}

int fb_vfs_path_string(const struct fb_path *p, const struct fb_path *root, char *buf,
                       size_t size)
{
    const char *parts[256];
    int n = 0, i;
    size_t len = 0;
    struct fb_mount *m = p->mnt;
    struct fb_dentry *d = p->dentry;

    while (n < 256) {
        if (root && m == root->mnt && d == root->dentry)
            break;
        if (d == m->root) {
            if (!m->parent)
                break;
            d = m->mountpoint;
            m = m->parent;
            continue;
        }
        if (!d->parent)
            break;
        parts[n++] = d->name;
        d = d->parent;
    }
    if (n == 256)
        return -ENAMETOOLONG;
    if (n == 0) {
        if (size < 2)
            return -ERANGE;
        strcpy(buf, "/");
        return 1;
    }
    for (i = n - 1; i >= 0; i--) {
        size_t l = strlen(parts[i]);
        if (len + 1 + l + 1 > size)
            return -ERANGE;
        buf[len++] = '/';
        memcpy(buf + len, parts[i], l);
        len += l;
    }
    buf[len] = 0;
    if (p->dentry->deleted && len + 11 <= size) {
        memcpy(buf + len, " (deleted)", 11);
        len += 10;
    }
    return (int)len;
}

/* ---- filesystem contexts ------------------------------------------------------------------------- */

struct fb_fs_ctx *fb_fs_ctx_new(const struct fb_path *root, const struct fb_path *cwd)
{
    struct fb_fs_ctx *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return NULL;
    fs->refs = 1;
    fb_path_copy(&fs->root, root);
    fb_path_copy(&fs->cwd, cwd);
    fs->umask = 022;
    return fs;
}

struct fb_fs_ctx *fb_fs_ctx_copy(struct fb_fs_ctx *src)
{
    struct fb_fs_ctx *fs = fb_fs_ctx_new(&src->root, &src->cwd);
    if (fs)
        fs->umask = src->umask;
    return fs;
}

void fb_fs_ctx_put(struct fb_fs_ctx *fs)
{
    if (!fs || --fs->refs > 0)
        return;
    fb_path_put(&fs->root);
    fb_path_put(&fs->cwd);
    free(fs);
}

/* ---- open files ---------------------------------------------------------------------------------- */

struct fb_file *fb_file_new(struct fb_inode *ino, const struct fb_path *path, unsigned flags)
{
    struct fb_file *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->refs = 1;
    f->inode = ino;
    if (ino)
        fb_inode_get(ino);
    if (path)
        fb_path_copy(&f->path, path);
    f->flags = flags;
    return f;
}

void fb_file_get(struct fb_file *f)
{
    f->refs++;
}

void fb_file_put(struct fb_file *f)
{
    if (!f || --f->refs > 0)
        return;
    fb_locks_file_release(f);
    if (f->ops && f->ops->release)
        f->ops->release(f);
    fb_path_put(&f->path);
    fb_inode_put(f->inode);
    free(f->anon_name);
    free(f);
}

int64_t fb_generic_llseek(struct fb_file *f, int64_t off, int whence)
{
    int64_t base;
    switch (whence) {
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = f->pos;
        break;
    case SEEK_END:
        if (f->inode && f->inode->ops && f->inode->ops->getattr)
            f->inode->ops->getattr(f->inode);
        base = f->inode ? (int64_t)f->inode->st.size : 0;
        break;
    case SEEK_DATA:
    case SEEK_HOLE: {
        int64_t size = f->inode ? (int64_t)f->inode->st.size : 0;
        if (off < 0 || off >= size)
            return -ENXIO;
        f->pos = whence == SEEK_DATA ? off : size;
        return f->pos;
    }
    default:
        return -EINVAL;
    }
    if ((off > 0 && base > INT64_MAX - off) || base + off < 0)
        return -EINVAL;
    f->pos = base + off;
    return f->pos;
}

/* ---- fd tables ----------------------------------------------------------------------------------- */

struct fb_fdtable *fb_fdtable_new(void)
{
    struct fb_fdtable *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->refs = 1;
    return t;
}

struct fb_fdtable *fb_fdtable_copy(struct fb_fdtable *src)
{
    struct fb_fdtable *t = fb_fdtable_new();
    int i;

    if (!t)
        return NULL;
    t->fds = calloc((size_t)(src->size ? src->size : 1), sizeof(*t->fds));
    if (!t->fds) {
        free(t);
        return NULL;
    }
    t->size = src->size;
    for (i = 0; i < src->size; i++) {
        t->fds[i] = src->fds[i];
        if (t->fds[i].file)
            fb_file_get(t->fds[i].file);
    }
    return t;
}

/* Drop descriptor table t's use of f (a close): t's POSIX locks on the file go too. */
static void fd_release(struct fb_fdtable *t, struct fb_file *f)
{
    if (!f)
        return;
    fb_locks_fd_close(f, t);
    fb_file_put(f);
}

void fb_fdtable_put(struct fb_fdtable *t)
{
    int i;
    if (!t || --t->refs > 0)
        return;
    for (i = 0; i < t->size; i++)
        fd_release(t, t->fds[i].file);
    free(t->fds);
    free(t);
}

static int nofile_limit(struct fb_task *task)
{
    rlim_t lim = task->tg->rlim[RLIMIT_NOFILE].rlim_cur;
    return lim > 1048576 ? 1048576 : (int)lim;
}

static int grow(struct fb_fdtable *t, int need)
{
    int size = t->size ? t->size : 64;
    struct fb_fd_entry *n;
    while (size <= need)
        size *= 2;
    if (size == t->size)
        return 0;
    n = realloc(t->fds, (size_t)size * sizeof(*n));
    if (!n)
        return -ENOMEM;
    memset(n + t->size, 0, (size_t)(size - t->size) * sizeof(*n));
    t->fds = n;
    t->size = size;
    return 0;
}

int fb_fd_install(struct fb_task *task, struct fb_file *f, int minfd, bool cloexec)
{
    struct fb_fdtable *t = task->files;
    int lim = nofile_limit(task), fd;

    for (fd = minfd; fd < lim; fd++) {
        if (fd >= t->size && grow(t, fd) < 0)
            return -ENOMEM;
        if (!t->fds[fd].file) {
            fb_file_get(f);
            t->fds[fd].file = f;
            t->fds[fd].cloexec = cloexec;
            return fd;
        }
    }
    return -EMFILE;
}

int fb_fd_install_at(struct fb_task *task, struct fb_file *f, int fd, bool cloexec)
{
    struct fb_fdtable *t = task->files;
    struct fb_file *old;

    if (fd < 0 || fd >= nofile_limit(task))
        return -EBADF;
    if (fd >= t->size && grow(t, fd) < 0)
        return -ENOMEM;
    old = t->fds[fd].file;
    fb_file_get(f);
    t->fds[fd].file = f;
    t->fds[fd].cloexec = cloexec;
    fd_release(t, old);
    return fd;
}

struct fb_file *fb_fd_get(struct fb_task *task, int fd)
{
    struct fb_fdtable *t = task->files;
    if (fd < 0 || fd >= t->size || !t->fds[fd].file)
        return NULL;
    fb_file_get(t->fds[fd].file);
    return t->fds[fd].file;
}

int fb_fd_close(struct fb_task *task, int fd)
{
    struct fb_fdtable *t = task->files;
    struct fb_file *f;
    if (fd < 0 || fd >= t->size || !t->fds[fd].file)
        return -EBADF;
    f = t->fds[fd].file;
    t->fds[fd].file = NULL;
    t->fds[fd].cloexec = false;
    fd_release(t, f);
    return 0;
}

void fb_fd_close_on_exec(struct fb_fdtable *t)
{
    int i;
    for (i = 0; i < t->size; i++)
        if (t->fds[i].file && t->fds[i].cloexec) {
            fd_release(t, t->fds[i].file);
            t->fds[i].file = NULL;
            t->fds[i].cloexec = false;
        }
}
