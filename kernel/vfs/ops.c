/* VFS operations behind the file syscalls: open, stat, read/write dispatch, directory changes,
 * permissions. Handlers in kernel/syscalls/sys_file.c decode arguments and call these. */
#include "kernel/vfs/vfs.h"
#include "kernel/vfs/ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/signal/signal.h"
#include "kernel/util/cleanup.h"

/* Flags kept on the open file description (F_GETFL shows them). */
#define FILE_FLAGS                                                                                 \
    (O_ACCMODE | O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | O_SYNC | O_DSYNC | O_PATH |     \
     O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_ASYNC)

static bool is_dir(const struct fb_inode *ino)
{
    return ino && S_ISDIR(ino->st.mode);
}

int fb_vfs_permission(struct fb_task *t, struct fb_inode *ino, int mask)
{
    uint32_t mode = ino->st.mode, uid = t->tg->fsuid, gid = t->tg->fsgid;
    int i;

    if (uid == 0) {
        /* root: everything but executing a file with no execute bit at all */
        if ((mask & 1) && !S_ISDIR(mode) && !(mode & 0111))
            return -EACCES;
        return 0;
    }
    if (uid == ino->st.uid)
        mode >>= 6;
    else {
        bool in_group = gid == ino->st.gid;
        for (i = 0; i < t->tg->ngroups && !in_group; i++)
            in_group = t->tg->groups[i] == ino->st.gid;
        if (in_group)
            mode >>= 3;
    }
    return ((int)(mode & 7) & mask) == mask ? 0 : -EACCES;
}

static bool mnt_rdonly(const struct fb_path *p)
{
    return p->mnt && (p->mnt->flags & FB_MNT_RDONLY);
}

int fb_vfs_stat_inode(struct fb_inode *ino, struct fb_stat *st)
{
    if (ino->ops && ino->ops->getattr && ino->sb && ino->sb->revalidate) {
        int r = ino->ops->getattr(ino);
        if (r < 0)
            return r;
    }
    *st = ino->st;
    return 0;
}

int fb_vfs_open_path(const struct fb_path *p, int flags, struct fb_file **out)
{
    struct fb_inode *ino = p->dentry->inode;
    struct fb_file *f;
    int r;

    f = fb_file_new(ino, p, (unsigned)flags & FILE_FLAGS);
    if (!f)
        return -ENOMEM;
    if (!(flags & O_PATH) && ino->ops && ino->ops->open) {
        r = ino->ops->open(ino, f);
        if (r < 0) {
            f->ops = NULL;
            fb_file_put(f);
            return r;
        }
    }
    *out = f;
    return 0;
}

static int truncate_inode(struct fb_inode *ino, uint64_t size)
{
    struct fb_stat st = {0};
    if (!ino->ops || !ino->ops->setattr)
        return -EPERM;
    st.size = size;
    return ino->ops->setattr(ino, FB_SETATTR_SIZE | FB_SETATTR_MTIME | FB_SETATTR_CTIME, &st);
}

/* Max symlinks followed while resolving one path (Linux MAXSYMLINKS). */
#define MAX_LINKS 40

int fb_vfs_open(struct fb_task *t, int dirfd, const char *path, int flags, mode_t mode,
                struct fb_file **out)
{
    struct fb_path p = {0}, dir = {0}, base = {0};
    char last[FB_NAME_MAX + 1];
    _cleanup_free_ char *link = NULL;
    bool trailing = false, created = false;
    int acc = flags & O_ACCMODE, links = 0, r;
    struct fb_inode *ino;

    /* Never both: Linux (since 6.4) refuses the pair instead of creating a regular file. */
    if ((flags & (O_CREAT | O_DIRECTORY)) == (O_CREAT | O_DIRECTORY))
        return -EINVAL;
    if (flags & O_PATH)
        flags &= O_PATH | O_CLOEXEC | O_DIRECTORY | O_NOFOLLOW;
    if ((flags & O_TMPFILE) == O_TMPFILE)
        return -EOPNOTSUPP;
    if (!(flags & O_CREAT)) {
        unsigned lf = (flags & O_NOFOLLOW) ? 0 : FB_LOOKUP_FOLLOW;
        if (flags & O_DIRECTORY)
            lf |= FB_LOOKUP_DIRECTORY;
        r = fb_vfs_lookup(t, dirfd, path, lf, &p, NULL, NULL);
        if (r < 0)
            return r;
    } else {
    again:
        /* `path` is relative to dirfd, or after a symlink, its target relative to base (the
         * directory holding the link). */
        if (base.dentry) {
            r = fb_vfs_lookup_at_path(t, &base, path, FB_LOOKUP_PARENT, &dir, last, &trailing);
            fb_path_put(&base);
        } else {
            r = fb_vfs_lookup(t, dirfd, path, FB_LOOKUP_PARENT, &dir, last, &trailing);
        }
        if (r < 0)
            return r;
        if (trailing || strcmp(last, ".") == 0 || strcmp(last, "..") == 0) {
            fb_path_put(&dir);
            return -EISDIR;
        }
        r = fb_vfs_lookup_one(&dir, last, &p);
        if (r == 0) {
            struct fb_inode *lino = p.dentry->inode;
            if (flags & O_EXCL) {
                r = -EEXIST;
                goto out_put;
            }
            if (S_ISLNK(lino->st.mode) && !(flags & O_NOFOLLOW)) {
                int n;
                /* The link is read below: p may hold its only reference (a /proc/self/fd/N
                 * inode lives as long as its dentry), so keep it until then. */
                if (lino->ops->get_link) {
                    fb_path_put(&p);
                    /* A magic link (/proc/self/fd/N) names an existing file: open that. */
                    r = fb_vfs_lookup_at_path(t, &dir, last, FB_LOOKUP_FOLLOW, &p, NULL, NULL);
                    if (r < 0)
                        goto out_put;
                    goto found;
                }
                /* Follow the link and create its target if missing, like Linux. */
                if (++links > MAX_LINKS) {
                    r = -ELOOP;
                    goto out_put;
                }
                if (!link && !(link = malloc(FB_PATH_MAX + 1))) {
                    r = -ENOMEM;
                    goto out_put;
                }
                n = lino->ops->readlink ? lino->ops->readlink(lino, link, FB_PATH_MAX) : -EINVAL;
                fb_path_put(&p);
                if (n < 0) {
                    r = n;
                    goto out_put;
                }
                link[n] = 0;
                if (!n) {
                    r = -ENOENT;
                    goto out_put;
                }
                base = dir;
                dir = (struct fb_path){0};
                path = link;
                goto again;
            }
        } else if (r == -ENOENT) {
            struct fb_inode *dino = dir.dentry->inode, *nino = NULL;
            if (mnt_rdonly(&dir)) {
                r = -EROFS;
                goto out_put;
            }
            r = fb_vfs_permission(t, dino, 3);
            if (r < 0)
                goto out_put;
            if (!dino->ops || !dino->ops->create) {
                r = -EACCES;
                goto out_put;
            }
            r = dino->ops->create(dino, last, (mode & 07777 & ~t->fs->umask) | S_IFREG, &nino);
            if (r < 0)
                goto out_put;
            fb_dentry_drop_child(dir.dentry, last); /* a cached negative entry */
            p.mnt = dir.mnt;
            p.mnt->refs++;
            p.dentry = fb_dentry_new(dir.dentry, last, nino);
            if (!p.dentry) {
                fb_inode_put(nino);
                p.mnt->refs--;
                p.mnt = NULL;
                r = -ENOMEM;
                goto out_put;
            }
            created = true;
        } else {
            goto out_put;
        }
    }

found:
    ino = p.dentry->inode;
    if (flags & O_PATH)
        goto do_open;
    if (S_ISLNK(ino->st.mode)) {
        r = -ELOOP;
        goto out_put;
    }
    if ((flags & O_DIRECTORY) && !is_dir(ino)) {
        r = -ENOTDIR;
        goto out_put;
    }
    if (is_dir(ino) && (acc != O_RDONLY || (flags & (O_TRUNC | O_CREAT)))) {
        r = -EISDIR;
        goto out_put;
    }
    if (!created) {
        int want = (acc == O_RDONLY ? 4 : acc == O_WRONLY ? 2 : 6);
        if ((acc != O_RDONLY || (flags & O_TRUNC)) && mnt_rdonly(&p) &&
            (S_ISREG(ino->st.mode) || S_ISDIR(ino->st.mode) || S_ISLNK(ino->st.mode))) {
            r = -EROFS;
            goto out_put;
        }
        r = fb_vfs_permission(t, ino, want);
        if (r < 0)
            goto out_put;
    }
do_open:
    r = fb_vfs_open_path(&p, flags, out);
    if (r < 0)
        goto out_put;
    if ((flags & O_TRUNC) && !created && S_ISREG(ino->st.mode) && acc != O_RDONLY &&
        !(flags & O_PATH)) {
        r = truncate_inode(ino, 0);
        if (r < 0) {
            fb_file_put(*out);
            *out = NULL;
            goto out_put;
        }
    }
    r = 0;
out_put:
    fb_path_put(&p);
    fb_path_put(&dir);
    return r;
}

int64_t fb_vfs_read(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    if ((f->flags & O_PATH) || (f->flags & O_ACCMODE) == O_WRONLY)
        return -EBADF;
    if (f->inode && S_ISDIR(f->inode->st.mode))
        return -EISDIR;
    if (!f->ops || !f->ops->read)
        return -EINVAL;
    return f->ops->read(f, u, off);
}

/* RLIMIT_FSIZE of the current task, or RLIM_INFINITY outside a task. */
static rlim_t fsize_limit(void)
{
    struct fb_task *t = fb_current;
    return t && t->tg ? t->tg->rlim[RLIMIT_FSIZE].rlim_cur : RLIM_INFINITY;
}

static int fsize_exceeded(void)
{
    if (fb_current && fb_current->tg)
        fb_signal_send_task(fb_current, SIGXFSZ, NULL);
    return -EFBIG;
}

int fb_vfs_check_fsize(struct fb_inode *ino, uint64_t size)
{
    rlim_t lim = fsize_limit();
    if (lim == RLIM_INFINITY || size <= ino->st.size || size <= lim)
        return 0;
    return fsize_exceeded();
}

int64_t fb_vfs_write(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    rlim_t lim;

    if ((f->flags & O_PATH) || (f->flags & O_ACCMODE) == O_RDONLY)
        return -EBADF;
    if (!f->ops || !f->ops->write)
        return -EINVAL;
    lim = fsize_limit();
    if (lim != RLIM_INFINITY && u->resid && f->inode && S_ISREG(f->inode->st.mode)) {
        /* Linux generic_write_check_limits. */
        uint64_t pos = (f->flags & O_APPEND) ? f->inode->st.size : (uint64_t)FB_MAX(*off, 0);
        if (pos >= lim)
            return fsize_exceeded();
        fb_uio_truncate(u, (size_t)FB_MIN((uint64_t)(lim - pos), (uint64_t)SIZE_MAX));
    }
    return f->ops->write(f, u, off);
}

int64_t fb_vfs_kernel_read(struct fb_file *f, void *buf, size_t size, int64_t off)
{
    struct iovec iov = {buf, size};
    struct fb_uio u;
    size_t done = 0;

    fb_uio_init_kernel(&u, &iov, 1);
    while (done < size) {
        int64_t pos = off + (int64_t)done, n;
        if (!f->ops || !f->ops->read)
            return -EINVAL;
        n = f->ops->read(f, &u, &pos);
        if (n < 0)
            return done ? (int64_t)done : n;
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (int64_t)done;
}

/* ---- directory-changing operations ------------------------------------------------------------ */

/* Is the last component "." or ".."? Those name a directory that exists (creating one gives
 * EEXIST) and are never looked up: no backend sees such names. */
static bool dot_name(const char *last)
{
    return strcmp(last, ".") == 0 || strcmp(last, "..") == 0;
}

/* Resolve the parent of path for a create/remove (the callers refuse "." and ".." with the
 * error each operation gives, and check the mount). */
static int parent_for_change(struct fb_task *t, int dirfd, const char *path, struct fb_path *dir,
                             char *last, bool *trailing)
{
    int r = fb_vfs_lookup(t, dirfd, path, FB_LOOKUP_PARENT, dir, last, trailing);
    if (r < 0)
        return r;
    if (!dir->dentry->inode || !is_dir(dir->dentry->inode)) {
        fb_path_put(dir);
        return -ENOTDIR;
    }
    return 0;
}

int fb_vfs_mkdir(struct fb_task *t, int dirfd, const char *path, mode_t mode)
{
    struct fb_path dir, p;
    char last[FB_NAME_MAX + 1];
    bool trailing;
    struct fb_inode *dino;
    int r = parent_for_change(t, dirfd, path, &dir, last, &trailing);

    if (r < 0)
        return r;
    if (dot_name(last)) {
        r = -EEXIST;
        goto out;
    }
    if (fb_vfs_lookup_one(&dir, last, &p) == 0) {
        fb_path_put(&p);
        r = -EEXIST;
        goto out;
    }
    if (mnt_rdonly(&dir)) {
        r = -EROFS;
        goto out;
    }
    dino = dir.dentry->inode;
    r = fb_vfs_permission(t, dino, 3);
    if (r < 0)
        goto out;
    if (!dino->ops->mkdir) {
        r = -EPERM;
        goto out;
    }
    r = dino->ops->mkdir(dino, last, (mode & 07777 & ~t->fs->umask) | S_IFDIR);
    if (r == 0)
        fb_dentry_drop_child(dir.dentry, last);
out:
    fb_path_put(&dir);
    return r;
}

int fb_vfs_mknod(struct fb_task *t, int dirfd, const char *path, mode_t mode, dev_t dev)
{
    struct fb_path dir, p;
    char last[FB_NAME_MAX + 1];
    bool trailing;
    struct fb_inode *dino;
    int r;

    if (S_ISDIR(mode))
        return -EPERM;
    if ((mode & S_IFMT) == 0)
        mode |= S_IFREG;
    if (!S_ISREG(mode) && !S_ISFIFO(mode) && !S_ISSOCK(mode) && !S_ISCHR(mode) && !S_ISBLK(mode))
        return -EINVAL;
    r = parent_for_change(t, dirfd, path, &dir, last, &trailing);
    if (r < 0)
        return r;
    if (dot_name(last)) {
        r = -EEXIST;
        goto out;
    }
    if (fb_vfs_lookup_one(&dir, last, &p) == 0) {
        fb_path_put(&p);
        r = -EEXIST;
        goto out;
    }
    if (mnt_rdonly(&dir)) {
        r = -EROFS;
        goto out;
    }
    dino = dir.dentry->inode;
    if (S_ISREG(mode)) {
        struct fb_inode *nino = NULL;
        r = dino->ops->create ? dino->ops->create(dino, last, (mode & ~t->fs->umask), &nino)
                              : -EPERM;
        fb_inode_put(nino);
    } else {
        r = dino->ops->mknod ? dino->ops->mknod(dino, last, mode & ~t->fs->umask, dev) : -EPERM;
    }
    if (r == 0)
        fb_dentry_drop_child(dir.dentry, last);
out:
    fb_path_put(&dir);
    return r;
}

int fb_vfs_symlink(struct fb_task *t, const char *target, int dirfd, const char *path)
{
    struct fb_path dir, p;
    char last[FB_NAME_MAX + 1];
    bool trailing;
    struct fb_inode *dino;
    int r;

    if (!target[0])
        return -ENOENT;
    r = parent_for_change(t, dirfd, path, &dir, last, &trailing);
    if (r < 0)
        return r;
    if (dot_name(last)) {
        r = -EEXIST;
        goto out;
    }
    if (trailing || fb_vfs_lookup_one(&dir, last, &p) == 0) {
        if (!trailing)
            fb_path_put(&p);
        r = -EEXIST;
        goto out;
    }
    if (mnt_rdonly(&dir)) {
        r = -EROFS;
        goto out;
    }
    dino = dir.dentry->inode;
    r = dino->ops->symlink ? dino->ops->symlink(dino, last, target) : -EPERM;
    if (r == 0)
        fb_dentry_drop_child(dir.dentry, last);
out:
    fb_path_put(&dir);
    return r;
}

int fb_vfs_link(struct fb_task *t, int olddirfd, const char *oldpath, int newdirfd,
                const char *newpath, int flags)
{
    struct fb_path old, dir, p;
    char last[FB_NAME_MAX + 1];
    bool trailing;
    struct fb_inode *dino;
    int r;

    r = fb_vfs_lookup(t, olddirfd, oldpath,
                      ((flags & AT_SYMLINK_FOLLOW) ? FB_LOOKUP_FOLLOW : 0) |
                          ((flags & AT_EMPTY_PATH) ? FB_LOOKUP_EMPTY : 0),
                      &old, NULL, NULL);
    if (r < 0)
        return r;
    if (is_dir(old.dentry->inode)) {
        fb_path_put(&old);
        return -EPERM;
    }
    r = parent_for_change(t, newdirfd, newpath, &dir, last, &trailing);
    if (r < 0) {
        fb_path_put(&old);
        return r;
    }
    if (dot_name(last)) {
        r = -EEXIST;
        goto out;
    }
    if (fb_vfs_lookup_one(&dir, last, &p) == 0) {
        fb_path_put(&p);
        r = -EEXIST;
        goto out;
    }
    if (mnt_rdonly(&dir)) {
        r = -EROFS;
        goto out;
    }
    if (dir.mnt != old.mnt) {
        r = -EXDEV;
        goto out;
    }
    dino = dir.dentry->inode;
    r = dino->ops->link ? dino->ops->link(dino, last, old.dentry->inode) : -EPERM;
    if (r == 0)
        fb_dentry_drop_child(dir.dentry, last);
out:
    fb_path_put(&dir);
    fb_path_put(&old);
    return r;
}

int fb_vfs_unlink(struct fb_task *t, int dirfd, const char *path, int flags)
{
    struct fb_path dir, p;
    char last[FB_NAME_MAX + 1];
    bool trailing;
    struct fb_inode *dino, *victim;
    bool rmdir = flags & AT_REMOVEDIR;
    int r = parent_for_change(t, dirfd, path, &dir, last, &trailing);

    if (r < 0)
        return r;
    if (strcmp(last, ".") == 0) {
        r = rmdir ? -EINVAL : -EISDIR;
        goto out;
    }
    if (strcmp(last, "..") == 0) {
        r = rmdir ? -ENOTEMPTY : -EISDIR;
        goto out;
    }
    if (mnt_rdonly(&dir)) { /* before looking the name up: EROFS wins over ENOENT (Linux) */
        r = -EROFS;
        goto out;
    }
    r = fb_vfs_lookup_one(&dir, last, &p);
    if (r < 0)
        goto out;
    victim = p.dentry->inode;
    if (p.mnt != dir.mnt || p.dentry->mounted_on) {
        r = -EBUSY;
        goto out_p;
    }
    if (rmdir && !is_dir(victim)) {
        r = -ENOTDIR;
        goto out_p;
    }
    if (!rmdir && is_dir(victim)) {
        r = -EISDIR;
        goto out_p;
    }
    if (!rmdir && trailing) {
        r = -ENOTDIR;
        goto out_p;
    }
    dino = dir.dentry->inode;
    r = fb_vfs_permission(t, dino, 3);
    if (r < 0)
        goto out_p;
    if (rmdir)
        r = dino->ops->rmdir ? dino->ops->rmdir(dino, last, victim) : -EPERM;
    else
        r = dino->ops->unlink ? dino->ops->unlink(dino, last, victim) : -EPERM;
    if (r == 0)
        fb_dentry_drop_child(dir.dentry, last);
out_p:
    fb_path_put(&p);
out:
    fb_path_put(&dir);
    return r;
}

static bool is_ancestor(struct fb_dentry *a, struct fb_dentry *d)
{
    for (; d; d = d->parent)
        if (d == a)
            return true;
    return false;
}

int fb_vfs_rename(struct fb_task *t, int olddirfd, const char *oldpath, int newdirfd,
                  const char *newpath, unsigned flags)
{
    struct fb_path od, nd, op = {0}, np = {0};
    char oldlast[FB_NAME_MAX + 1], newlast[FB_NAME_MAX + 1];
    bool otrail, ntrail;
    int r;

    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
        return -EINVAL;
    if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
        return -EINVAL;
    r = parent_for_change(t, olddirfd, oldpath, &od, oldlast, &otrail);
    if (r < 0)
        return r;
    r = parent_for_change(t, newdirfd, newpath, &nd, newlast, &ntrail);
    if (r < 0) {
        fb_path_put(&od);
        return r;
    }
    if (od.mnt != nd.mnt) {
        r = -EXDEV;
        goto out;
    }
    if (!strcmp(oldlast, ".") || !strcmp(oldlast, "..")) {
        r = -EBUSY;
        goto out;
    }
    if (!strcmp(newlast, ".") || !strcmp(newlast, "..")) {
        r = (flags & RENAME_NOREPLACE) ? -EEXIST : -EBUSY;
        goto out;
    }
    if (mnt_rdonly(&od)) {
        r = -EROFS;
        goto out;
    }
    r = fb_vfs_lookup_one(&od, oldlast, &op);
    if (r < 0)
        goto out;
    if ((otrail || ntrail) && !is_dir(op.dentry->inode)) {
        r = -ENOTDIR;
        goto out;
    }
    r = fb_vfs_lookup_one(&nd, newlast, &np);
    if (r == 0) {
        if (flags & RENAME_NOREPLACE) {
            r = -EEXIST;
            goto out;
        }
        if (np.dentry->inode == op.dentry->inode) {
            r = 0; /* same file: nothing to do */
            goto out;
        }
        if (!(flags & RENAME_EXCHANGE)) {
            if (is_dir(op.dentry->inode) && !is_dir(np.dentry->inode)) {
                r = -ENOTDIR;
                goto out;
            }
            if (!is_dir(op.dentry->inode) && is_dir(np.dentry->inode)) {
                r = -EISDIR;
                goto out;
            }
        }
        if (np.dentry->mounted_on) {
            r = -EBUSY;
            goto out;
        }
    } else if (r == -ENOENT) {
        if (flags & RENAME_EXCHANGE)
            goto out;
    } else {
        goto out;
    }
    if (op.dentry->mounted_on || op.mnt != od.mnt) {
        r = -EBUSY;
        goto out;
    }
    if (is_dir(op.dentry->inode) && is_ancestor(op.dentry, nd.dentry)) {
        r = -EINVAL;
        goto out;
    }
    if (!od.dentry->inode->ops->rename) {
        r = -EPERM;
        goto out;
    }
    r = od.dentry->inode->ops->rename(od.dentry->inode, oldlast, nd.dentry->inode, newlast, flags);
    if (r == 0) {
        fb_dentry_move(od.dentry, oldlast, nd.dentry, newlast, flags & RENAME_EXCHANGE);
    }
out:
    fb_path_put(&op);
    fb_path_put(&np);
    fb_path_put(&od);
    fb_path_put(&nd);
    return r;
}

int fb_vfs_readlink(struct fb_task *t, int dirfd, const char *path, char *buf, size_t size)
{
    struct fb_path p;
    struct fb_inode *ino;
    int r = fb_vfs_lookup(t, dirfd, path, FB_LOOKUP_EMPTY, &p, NULL, NULL);

    if (r < 0)
        return r;
    ino = p.dentry->inode;
    if (!S_ISLNK(ino->st.mode)) {
        r = -EINVAL;
    } else if (ino->ops->get_link) {
        struct fb_path target;
        r = ino->ops->get_link(ino, &target.mnt, &target.dentry);
        if (r == 0) {
            char tmp[FB_PATH_MAX];
            r = fb_vfs_path_string(&target, &t->fs->root, tmp, sizeof(tmp));
            if (r > 0) {
                r = (int)FB_MIN((size_t)r, size);
                memcpy(buf, tmp, (size_t)r);
            }
            fb_path_put(&target);
        }
    } else if (ino->ops->readlink) {
        r = ino->ops->readlink(ino, buf, size);
    } else {
        r = -EINVAL;
    }
    fb_path_put(&p);
    return r;
}

int fb_vfs_setattr(struct fb_task *t, const struct fb_path *p, unsigned mask,
                   const struct fb_stat *st)
{
    struct fb_inode *ino = p->dentry->inode;
    (void)t;
    if (mnt_rdonly(p))
        return -EROFS;
    if (!ino->ops || !ino->ops->setattr)
        return -EPERM;
    return ino->ops->setattr(ino, mask, st);
}

int fb_vfs_truncate(struct fb_task *t, const struct fb_path *p, int64_t len)
{
    struct fb_inode *ino = p->dentry->inode;
    int r;
    if (len < 0)
        return -EINVAL;
    if (is_dir(ino))
        return -EISDIR;
    if (!S_ISREG(ino->st.mode))
        return -EINVAL;
    if (mnt_rdonly(p))
        return -EROFS;
    r = fb_vfs_permission(t, ino, 2);
    if (r < 0)
        return r;
    r = fb_vfs_check_fsize(ino, (uint64_t)len);
    if (r < 0)
        return r;
    return truncate_inode(ino, (uint64_t)len);
}

/* ---- readdir sink ------------------------------------------------------------------------------ */

int fb_vfs_getdents64(struct fb_task *t, struct fb_file *f, uint64_t buf, size_t size)
{
    struct fb_dirent_sink sink;
    int r;

    if (!f->inode || !is_dir(f->inode))
        return -ENOTDIR;
    if (!f->ops || !f->ops->readdir)
        return -ENOTDIR;
    sink.buf = malloc(FB_MIN(size, (size_t)1 << 20));
    if (!sink.buf)
        return -ENOMEM;
    sink.size = FB_MIN(size, (size_t)1 << 20);
    sink.used = 0;
    sink.count = 0;
    sink.too_small = false;
    r = f->ops->readdir(f, &sink, &f->pos);
    if (r == 0 && sink.used == 0 && sink.too_small)
        r = -EINVAL;
    if (r == 0 && sink.used && fb_mm_copy_out(t->mm, buf, sink.buf, sink.used) != 0)
        r = -EFAULT;
    if (r == 0)
        r = (int)sink.used;
    free(sink.buf);
    return r;
}

bool fb_dirent_emit(struct fb_dirent_sink *sink, const char *name, uint64_t ino, unsigned type,
                    int64_t next_pos)
{
    size_t namelen = strlen(name);
    size_t reclen = (19 + namelen + 1 + 7) & ~(size_t)7;
    uint8_t *p;

    if (sink->used + reclen > sink->size) {
        sink->too_small = true;
        return false;
    }
    p = sink->buf + sink->used;
    memcpy(p, &ino, 8);
    memcpy(p + 8, &next_pos, 8);
    memcpy(p + 16, &(uint16_t){(uint16_t)reclen}, 2);
    p[18] = (uint8_t)type;
    memcpy(p + 19, name, namelen);
    memset(p + 19 + namelen, 0, reclen - 19 - namelen);
    sink->used += reclen;
    sink->count++;
    return true;
}
