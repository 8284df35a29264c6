/* File system calls: thin handlers that copy arguments in, call the VFS and copy results out. */
#include "kernel/syscalls/syscall.h"

#include <errno.h>
#include <sys/xattr.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <termios.h>
#include <unistd.h>

#include "kernel/signal/signal.h"
#include "kernel/syscalls/sys_util.h"
#include "kernel/util/cleanup.h"
#include "kernel/vfs/locks.h"
#include "kernel/vfs/ops.h"
#include "kernel/vfs/vfs.h"

#define MAX_RW_COUNT 0x7ffff000ull
#define IOV_MAX_     1024

/* ---- helpers -------------------------------------------------------------------------------- */

int fb_get_path(struct fb_task *t, uint64_t uaddr, char *buf)
{
    int64_t n;
    if (!uaddr)
        return -EFAULT;
    n = fb_mm_copy_string_in(t->mm, uaddr, buf, FB_PATH_MAX);
    if (n < 0)
        return (int)n;
    return 0;
}

/* File at fd or -EBADF; the caller puts it. */
static struct fb_file *file_of(struct fb_task *t, int fd)
{
    return fb_fd_get(t, fd);
}

static bool seekable(const struct fb_file *f)
{
    return f->ops && f->ops->llseek;
}

static int copy_iovecs(struct fb_task *t, uint64_t uiov, int cnt, struct iovec *iov)
{
    uint64_t total = 0;
    int i;

    if (cnt < 0 || cnt > IOV_MAX_)
        return -EINVAL;
    if (cnt && fb_mm_copy_in(t->mm, uiov, iov, (size_t)cnt * sizeof(*iov)) != 0)
        return -EFAULT;
    for (i = 0; i < cnt; i++) {
        if ((int64_t)iov[i].iov_len < 0)
            return -EINVAL;
        if (total + iov[i].iov_len > MAX_RW_COUNT)
            iov[i].iov_len = MAX_RW_COUNT - total; /* Linux truncates the transfer */
        total += iov[i].iov_len;
    }
    return 0;
}

/* Read or write through fd with iovecs; off = NULL uses and advances the file position. */
static int64_t do_rw(struct fb_task *t, int fd, struct iovec *iov, int cnt, int64_t *poff,
                     bool write)
{
    struct fb_file *f = file_of(t, fd);
    struct fb_uio u;
    int64_t r, pos;

    if (!f)
        return -EBADF;
    if (poff && !seekable(f)) {
        fb_file_put(f);
        return -ESPIPE;
    }
    if (poff && *poff < 0) {
        fb_file_put(f);
        return -EINVAL;
    }
    fb_uio_init_user(&u, t->mm, iov, cnt);
    pos = poff ? *poff : f->pos;
    r = write ? fb_vfs_write(f, &u, &pos) : fb_vfs_read(f, &u, &pos);
    if (!poff && r > 0 && seekable(f))
        f->pos = pos;
    if (write && r == -EPIPE)
        fb_signal_send_task(t, SIGPIPE, NULL);
    fb_file_put(f);
    return r;
}

/* ---- read / write ------------------------------------------------------------------------------ */

FB_SYSCALL(read)
{
    struct iovec iov = {(void *)a[1], FB_MIN(a[2], MAX_RW_COUNT)};
    return do_rw(t, ARG_INT(0), &iov, 1, NULL, false);
}

FB_SYSCALL(write)
{
    struct iovec iov = {(void *)a[1], FB_MIN(a[2], MAX_RW_COUNT)};
    return do_rw(t, ARG_INT(0), &iov, 1, NULL, true);
}

FB_SYSCALL(pread64)
{
    struct iovec iov = {(void *)a[1], FB_MIN(a[2], MAX_RW_COUNT)};
    int64_t off = (int64_t)a[3];
    return do_rw(t, ARG_INT(0), &iov, 1, &off, false);
}

FB_SYSCALL(pwrite64)
{
    struct iovec iov = {(void *)a[1], FB_MIN(a[2], MAX_RW_COUNT)};
    int64_t off = (int64_t)a[3];
    return do_rw(t, ARG_INT(0), &iov, 1, &off, true);
}

static int64_t rwv(struct fb_task *t, const uint64_t *a, bool write, bool positional,
                   bool flags_arg)
{
    struct iovec iov[IOV_MAX_];
    int64_t off = (int64_t)a[3];
    int r;

    if (flags_arg && (a[5] & ~(uint64_t)0x1f))
        return -EOPNOTSUPP; /* RWF_* flags beyond the basic hints */
    r = copy_iovecs(t, a[1], ARG_INT(2), iov);
    if (r < 0)
        return r;
    if (positional && flags_arg && off == -1)
        return do_rw(t, ARG_INT(0), iov, ARG_INT(2), NULL, write);
    return do_rw(t, ARG_INT(0), iov, ARG_INT(2), positional ? &off : NULL, write);
}

FB_SYSCALL(readv)
{
    return rwv(t, a, false, false, false);
}
FB_SYSCALL(writev)
{
    return rwv(t, a, true, false, false);
}
FB_SYSCALL(preadv)
{
    return rwv(t, a, false, true, false);
}
FB_SYSCALL(pwritev)
{
    return rwv(t, a, true, true, false);
}
FB_SYSCALL(preadv2)
{
    return rwv(t, a, false, true, true);
}
FB_SYSCALL(pwritev2)
{
    return rwv(t, a, true, true, true);
}

FB_SYSCALL(lseek)
{
    struct fb_file *f = file_of(t, ARG_INT(0));
    int64_t r;
    if (!f)
        return -EBADF;
    r = seekable(f) ? f->ops->llseek(f, (int64_t)a[1], ARG_INT(2)) : -ESPIPE;
    fb_file_put(f);
    return r;
}

/* ---- open / close -------------------------------------------------------------------------------- */

static int64_t do_open(struct fb_task *t, int dirfd, uint64_t upath, int flags, mode_t mode)
{
    char path[FB_PATH_MAX];
    struct fb_file *f;
    int r = fb_get_path(t, upath, path), fd;

    if (r < 0)
        return r;
    r = fb_vfs_open(t, dirfd, path, flags, mode, &f);
    if (r < 0)
        return r;
    fd = fb_fd_install(t, f, 0, flags & O_CLOEXEC);
    fb_file_put(f);
    return fd;
}

FB_SYSCALL(open)
{
    return do_open(t, AT_FDCWD, a[0], ARG_INT(1), (mode_t)a[2]);
}
FB_SYSCALL(openat)
{
    return do_open(t, ARG_INT(0), a[1], ARG_INT(2), (mode_t)a[3]);
}
FB_SYSCALL(creat)
{
    return do_open(t, AT_FDCWD, a[0], O_CREAT | O_WRONLY | O_TRUNC, (mode_t)a[1]);
}

FB_SYSCALL(close)
{
    return fb_fd_close(t, ARG_INT(0));
}

FB_SYSCALL(close_range)
{
    unsigned first = ARG_U32(0), last = ARG_U32(1), flags = ARG_U32(2), fd;
    if (flags & ~(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE) || first > last)
        return -EINVAL;
    if ((flags & CLOSE_RANGE_UNSHARE) && t->files->refs > 1) {
        struct fb_fdtable *c = fb_fdtable_copy(t->files);
        if (!c)
            return -ENOMEM;
        fb_fdtable_put(t->files);
        t->files = c;
    }
    for (fd = first; fd <= last && fd < (unsigned)t->files->size; fd++) {
        if (!t->files->fds[fd].file)
            continue;
        if (flags & CLOSE_RANGE_CLOEXEC)
            t->files->fds[fd].cloexec = true;
        else
            fb_fd_close(t, (int)fd);
    }
    return 0;
}

/* ---- stat ---------------------------------------------------------------------------------------- */

static void to_stat(const struct fb_stat *s, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_dev = s->dev;
    st->st_ino = s->ino;
    st->st_nlink = s->nlink;
    st->st_mode = s->mode;
    st->st_uid = s->uid;
    st->st_gid = s->gid;
    st->st_rdev = s->rdev;
    st->st_size = (off_t)s->size;
    st->st_blksize = s->blksize ? s->blksize : 4096;
    st->st_blocks = (blkcnt_t)s->blocks;
    st->st_atim = s->atime;
    st->st_mtim = s->mtime;
    st->st_ctim = s->ctime;
}

/* Resolve (dirfd, path, flags) for the *at calls that take AT_SYMLINK_NOFOLLOW/AT_EMPTY_PATH. */
static int lookup_at(struct fb_task *t, int dirfd, uint64_t upath, int flags, bool follow_default,
                     struct fb_path *p)
{
    char path[FB_PATH_MAX];
    unsigned lf = 0;
    int r = fb_get_path(t, upath, path);

    if (r < 0)
        return r;
    if (follow_default && !(flags & AT_SYMLINK_NOFOLLOW))
        lf |= FB_LOOKUP_FOLLOW;
    if (!follow_default && (flags & AT_SYMLINK_FOLLOW))
        lf |= FB_LOOKUP_FOLLOW;
    if (flags & AT_EMPTY_PATH)
        lf |= FB_LOOKUP_EMPTY;
    return fb_vfs_lookup(t, dirfd, path, lf, p, NULL, NULL);
}

static int64_t stat_path(struct fb_task *t, const struct fb_path *p, uint64_t ubuf)
{
    struct fb_stat s;
    struct stat st;
    int r = fb_vfs_stat_inode(p->dentry->inode, &s);
    if (r < 0)
        return r;
    to_stat(&s, &st);
    return fb_mm_copy_out(t->mm, ubuf, &st, sizeof(st)) ? -EFAULT : 0;
}

static int64_t fstat_fd(struct fb_task *t, int fd, uint64_t ubuf)
{
    struct fb_file *f = file_of(t, fd);
    struct fb_stat s;
    struct stat st;
    int r;

    if (!f)
        return -EBADF;
    r = fb_vfs_stat_inode(f->inode, &s);
    fb_file_put(f);
    if (r < 0)
        return r;
    to_stat(&s, &st);
    return fb_mm_copy_out(t->mm, ubuf, &st, sizeof(st)) ? -EFAULT : 0;
}

FB_SYSCALL(fstat)
{
    return fstat_fd(t, ARG_INT(0), a[1]);
}

/* Is the path argument "" with AT_EMPTY_PATH (operate on dirfd itself, which may be a pipe or
 * another file without a path)? */
static bool empty_path_at(struct fb_task *t, uint64_t upath, int flags)
{
    char c;
    return (flags & AT_EMPTY_PATH) && upath && fb_mm_copy_in(t->mm, upath, &c, 1) == 0 && !c;
}

/* Attributes of the file at fd. */
static int fd_stat(struct fb_task *t, int fd, struct fb_stat *s)
{
    struct fb_file *f;
    int r;
    if (fd == AT_FDCWD)
        return fb_vfs_stat_inode(t->fs->cwd.dentry->inode, s);
    f = file_of(t, fd);
    if (!f)
        return -EBADF;
    r = fb_vfs_stat_inode(f->inode, s);
    fb_file_put(f);
    return r;
}

static int64_t do_fstatat(struct fb_task *t, int dirfd, uint64_t upath, uint64_t ubuf, int flags)
{
    struct fb_path p;
    int64_t r;
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
        return -EINVAL;
    if (empty_path_at(t, upath, flags)) {
        struct fb_stat s;
        struct stat st;
        r = fd_stat(t, dirfd, &s);
        if (r < 0)
            return r;
        to_stat(&s, &st);
        return fb_mm_copy_out(t->mm, ubuf, &st, sizeof(st)) ? -EFAULT : 0;
    }
    r = lookup_at(t, dirfd, upath, flags, true, &p);
    if (r < 0)
        return r;
    r = stat_path(t, &p, ubuf);
    fb_path_put(&p);
    return r;
}

FB_SYSCALL(stat)
{
    return do_fstatat(t, AT_FDCWD, a[0], a[1], 0);
}
FB_SYSCALL(lstat)
{
    return do_fstatat(t, AT_FDCWD, a[0], a[1], AT_SYMLINK_NOFOLLOW);
}
FB_SYSCALL(newfstatat)
{
    return do_fstatat(t, ARG_INT(0), a[1], a[2], ARG_INT(3));
}

FB_SYSCALL(statx)
{
    int dirfd = ARG_INT(0), flags = ARG_INT(2);
    struct fb_path p;
    struct fb_stat s;
    struct statx sx;
    int64_t r;

    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE))
        return -EINVAL;
    if ((flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE)
        return -EINVAL;
    if (ARG_U32(3) & STATX__RESERVED)
        return -EINVAL;
    if (empty_path_at(t, a[1], flags)) {
        r = fd_stat(t, dirfd, &s);
    } else {
        r = lookup_at(t, dirfd, a[1], flags, true, &p);
        if (r < 0)
            return r;
        r = fb_vfs_stat_inode(p.dentry->inode, &s);
        fb_path_put(&p);
    }
    if (r < 0)
        return r;
    memset(&sx, 0, sizeof(sx));
    sx.stx_mask = STATX_BASIC_STATS | STATX_BTIME;
    sx.stx_blksize = s.blksize ? s.blksize : 4096;
    sx.stx_nlink = (uint32_t)s.nlink;
    sx.stx_uid = s.uid;
    sx.stx_gid = s.gid;
    sx.stx_mode = (uint16_t)s.mode;
    sx.stx_ino = s.ino;
    sx.stx_size = s.size;
    sx.stx_blocks = s.blocks;
    sx.stx_atime.tv_sec = s.atime.tv_sec;
    sx.stx_atime.tv_nsec = (uint32_t)s.atime.tv_nsec;
    sx.stx_btime.tv_sec = s.btime.tv_sec;
    sx.stx_btime.tv_nsec = (uint32_t)s.btime.tv_nsec;
    sx.stx_ctime.tv_sec = s.ctime.tv_sec;
    sx.stx_ctime.tv_nsec = (uint32_t)s.ctime.tv_nsec;
    sx.stx_mtime.tv_sec = s.mtime.tv_sec;
    sx.stx_mtime.tv_nsec = (uint32_t)s.mtime.tv_nsec;
    sx.stx_rdev_major = major(s.rdev);
    sx.stx_rdev_minor = minor(s.rdev);
    sx.stx_dev_major = major(s.dev);
    sx.stx_dev_minor = minor(s.dev);
    return fb_mm_copy_out(t->mm, a[4], &sx, sizeof(sx)) ? -EFAULT : 0;
}

/* ---- access -------------------------------------------------------------------------------------- */

static int64_t do_access(struct fb_task *t, int dirfd, uint64_t upath, int mode, int flags)
{
    struct fb_path p;
    struct fb_inode *ino;
    int64_t r;

    if (mode & ~(R_OK | W_OK | X_OK))
        return -EINVAL;
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EACCESS | AT_EMPTY_PATH))
        return -EINVAL;
    r = lookup_at(t, dirfd, upath, flags, true, &p);
    if (r < 0)
        return r;
    ino = p.dentry->inode;
    r = 0;
    if ((mode & W_OK) && (p.mnt->flags & FB_MNT_RDONLY) &&
        (S_ISREG(ino->st.mode) || S_ISDIR(ino->st.mode) || S_ISLNK(ino->st.mode)))
        r = -EROFS;
    else if (mode)
        r = fb_vfs_permission(t, ino, mode);
    fb_path_put(&p);
    return r;
}

FB_SYSCALL(access)
{
    return do_access(t, AT_FDCWD, a[0], ARG_INT(1), 0);
}
FB_SYSCALL(faccessat)
{
    return do_access(t, ARG_INT(0), a[1], ARG_INT(2), 0);
}
FB_SYSCALL(faccessat2)
{
    return do_access(t, ARG_INT(0), a[1], ARG_INT(2), ARG_INT(3));
}

/* ---- directories ----------------------------------------------------------------------------------- */

FB_SYSCALL(getdents64)
{
    struct fb_file *f = file_of(t, ARG_INT(0));
    int64_t r;
    if (!f)
        return -EBADF;
    r = fb_vfs_getdents64(t, f, a[1], (size_t)FB_MIN(a[2], (uint64_t)INT32_MAX));
    fb_file_put(f);
    return r;
}

static int64_t do_readlink(struct fb_task *t, int dirfd, uint64_t upath, uint64_t ubuf,
                           int64_t size)
{
    char path[FB_PATH_MAX];
    _cleanup_free_ char *buf = NULL;
    int r;

    if (size <= 0)
        return -EINVAL;
    r = fb_get_path(t, upath, path);
    if (r < 0)
        return r;
    size = FB_MIN(size, FB_PATH_MAX);
    buf = malloc((size_t)size);
    if (!buf)
        return -ENOMEM;
    r = fb_vfs_readlink(t, dirfd, path, buf, (size_t)size);
    if (r < 0)
        return r;
    return fb_mm_copy_out(t->mm, ubuf, buf, (size_t)r) ? -EFAULT : r;
}

FB_SYSCALL(readlink)
{
    return do_readlink(t, AT_FDCWD, a[0], a[1], (int64_t)a[2]);
}
FB_SYSCALL(readlinkat)
{
    return do_readlink(t, ARG_INT(0), a[1], a[2], (int64_t)a[3]);
}

FB_SYSCALL(getcwd)
{
    char buf[FB_PATH_MAX];
    int n;
    if (t->fs->cwd.dentry->deleted)
        return -ENOENT; /* the working directory was removed */
    n = fb_vfs_path_string(&t->fs->cwd, &t->fs->root, buf, sizeof(buf));
    if (n < 0)
        return n;
    if ((uint64_t)n + 1 > a[1])
        return -ERANGE;
    return fb_mm_copy_out(t->mm, a[0], buf, (size_t)n + 1) ? -EFAULT : n + 1;
}

static int64_t set_cwd(struct fb_task *t, struct fb_path *p)
{
    int r;
    if (!p->dentry->inode || !S_ISDIR(p->dentry->inode->st.mode)) {
        fb_path_put(p);
        return -ENOTDIR;
    }
    r = fb_vfs_permission(t, p->dentry->inode, 1);
    if (r < 0) {
        fb_path_put(p);
        return r;
    }
    fb_path_put(&t->fs->cwd);
    t->fs->cwd = *p;
    return 0;
}

FB_SYSCALL(chdir)
{
    char path[FB_PATH_MAX];
    struct fb_path p;
    int r = fb_get_path(t, a[0], path);
    if (r < 0)
        return r;
    r = fb_vfs_lookup(t, AT_FDCWD, path, FB_LOOKUP_FOLLOW | FB_LOOKUP_DIRECTORY, &p, NULL, NULL);
    if (r < 0)
        return r;
    return set_cwd(t, &p);
}

FB_SYSCALL(fchdir)
{
    struct fb_file *f = file_of(t, ARG_INT(0));
    struct fb_path p;
    if (!f)
        return -EBADF;
    if (!f->path.dentry) {
        fb_file_put(f);
        return -ENOTDIR;
    }
    fb_path_copy(&p, &f->path);
    fb_file_put(f);
    return set_cwd(t, &p);
}

FB_SYSCALL(chroot)
{
    (void)t;
    (void)a;
    return -EPERM; /* the sandbox root is fixed */
}

FB_SYSCALL(mkdir)
{
    char path[FB_PATH_MAX];
    int r = fb_get_path(t, a[0], path);
    return r < 0 ? r : fb_vfs_mkdir(t, AT_FDCWD, path, (mode_t)a[1]);
}
FB_SYSCALL(mkdirat)
{
    char path[FB_PATH_MAX];
    int r = fb_get_path(t, a[1], path);
    return r < 0 ? r : fb_vfs_mkdir(t, ARG_INT(0), path, (mode_t)a[2]);
}
FB_SYSCALL(mknod)
{
    char path[FB_PATH_MAX];
    int r = fb_get_path(t, a[0], path);
    return r < 0 ? r : fb_vfs_mknod(t, AT_FDCWD, path, (mode_t)a[1], (dev_t)a[2]);
}
FB_SYSCALL(mknodat)
{
    char path[FB_PATH_MAX];
    int r = fb_get_path(t, a[1], path);
    return r < 0 ? r : fb_vfs_mknod(t, ARG_INT(0), path, (mode_t)a[2], (dev_t)a[3]);
}
FB_SYSCALL(rmdir)
{
    char path[FB_PATH_MAX];
    int r = fb_get_path(t, a[0], path);
    return r < 0 ? r : fb_vfs_unlink(t, AT_FDCWD, path, AT_REMOVEDIR);
}
FB_SYSCALL(unlink)
{
    char path[FB_PATH_MAX];
    int r = fb_get_path(t, a[0], path);
    return r < 0 ? r : fb_vfs_unlink(t, AT_FDCWD, path, 0);
}
FB_SYSCALL(unlinkat)
{
    char path[FB_PATH_MAX];
    int r;
    if (a[2] & ~(uint64_t)AT_REMOVEDIR)
        return -EINVAL;
    r = fb_get_path(t, a[1], path);
    return r < 0 ? r : fb_vfs_unlink(t, ARG_INT(0), path, ARG_INT(2));
}

static int64_t do_rename(struct fb_task *t, int od, uint64_t uo, int nd, uint64_t un,
                         unsigned flags)
{
    char oldp[FB_PATH_MAX], newp[FB_PATH_MAX];
    int r = fb_get_path(t, uo, oldp);
    if (r < 0)
        return r;
    r = fb_get_path(t, un, newp);
    if (r < 0)
        return r;
    return fb_vfs_rename(t, od, oldp, nd, newp, flags);
}
FB_SYSCALL(rename)
{
    return do_rename(t, AT_FDCWD, a[0], AT_FDCWD, a[1], 0);
}
FB_SYSCALL(renameat)
{
    return do_rename(t, ARG_INT(0), a[1], ARG_INT(2), a[3], 0);
}
FB_SYSCALL(renameat2)
{
    return do_rename(t, ARG_INT(0), a[1], ARG_INT(2), a[3], ARG_U32(4));
}

static int64_t do_link(struct fb_task *t, int od, uint64_t uo, int nd, uint64_t un, int flags)
{
    char oldp[FB_PATH_MAX], newp[FB_PATH_MAX];
    int r;
    if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    r = fb_get_path(t, uo, oldp);
    if (r < 0)
        return r;
    r = fb_get_path(t, un, newp);
    if (r < 0)
        return r;
    return fb_vfs_link(t, od, oldp, nd, newp, flags);
}
FB_SYSCALL(link)
{
    return do_link(t, AT_FDCWD, a[0], AT_FDCWD, a[1], 0);
}
FB_SYSCALL(linkat)
{
    return do_link(t, ARG_INT(0), a[1], ARG_INT(2), a[3], ARG_INT(4));
}

static int64_t do_symlink(struct fb_task *t, uint64_t utarget, int dirfd, uint64_t upath)
{
    char target[FB_PATH_MAX], path[FB_PATH_MAX];
    int r = fb_get_path(t, utarget, target);
    if (r < 0)
        return r;
    r = fb_get_path(t, upath, path);
    if (r < 0)
        return r;
    return fb_vfs_symlink(t, target, dirfd, path);
}
FB_SYSCALL(symlink)
{
    return do_symlink(t, a[0], AT_FDCWD, a[1]);
}
FB_SYSCALL(symlinkat)
{
    return do_symlink(t, a[0], ARG_INT(1), a[2]);
}

/* ---- attributes ---------------------------------------------------------------------------------- */

static int64_t chmod_path(struct fb_task *t, struct fb_path *p, mode_t mode)
{
    struct fb_stat st = {0};
    int64_t r;
    st.mode = (p->dentry->inode->st.mode & S_IFMT) | (mode & 07777);
    r = fb_vfs_setattr(t, p, FB_SETATTR_MODE | FB_SETATTR_CTIME, &st);
    fb_path_put(p);
    return r;
}

FB_SYSCALL(chmod)
{
    struct fb_path p;
    int64_t r = lookup_at(t, AT_FDCWD, a[0], 0, true, &p);
    return r < 0 ? r : chmod_path(t, &p, (mode_t)a[1]);
}
FB_SYSCALL(fchmodat)
{
    struct fb_path p;
    int64_t r = lookup_at(t, ARG_INT(0), a[1], 0, true, &p);
    return r < 0 ? r : chmod_path(t, &p, (mode_t)a[2]);
}
FB_SYSCALL(fchmod)
{
    struct fb_file *f = file_of(t, ARG_INT(0));
    struct fb_path p;
    if (!f)
        return -EBADF;
    if (!f->path.dentry) {
        fb_file_put(f);
        return -EINVAL;
    }
    fb_path_copy(&p, &f->path);
    fb_file_put(f);
    return chmod_path(t, &p, (mode_t)a[1]);
}

static int64_t chown_path(struct fb_task *t, struct fb_path *p, uint32_t uid, uint32_t gid)
{
    struct fb_stat st = {0};
    unsigned mask = FB_SETATTR_CTIME;
    int64_t r;
    /* chown(-1, -1) still counts as a change (it clears set-id bits), like Linux. */
    st.uid = uid != (uint32_t)-1 ? uid : p->dentry->inode->st.uid;
    st.gid = gid != (uint32_t)-1 ? gid : p->dentry->inode->st.gid;
    mask |= FB_SETATTR_UID | FB_SETATTR_GID;
    if (t->tg->euid != 0 && (mask & FB_SETATTR_UID) && uid != p->dentry->inode->st.uid)
        r = -EPERM;
    else
        r = fb_vfs_setattr(t, p, mask, &st);
    fb_path_put(p);
    return r;
}

FB_SYSCALL(chown)
{
    struct fb_path p;
    int64_t r = lookup_at(t, AT_FDCWD, a[0], 0, true, &p);
    return r < 0 ? r : chown_path(t, &p, ARG_U32(1), ARG_U32(2));
}
FB_SYSCALL(lchown)
{
    struct fb_path p;
    int64_t r = lookup_at(t, AT_FDCWD, a[0], AT_SYMLINK_NOFOLLOW, true, &p);
    return r < 0 ? r : chown_path(t, &p, ARG_U32(1), ARG_U32(2));
}
FB_SYSCALL(fchownat)
{
    struct fb_path p;
    int64_t r;
    if (a[4] & ~(uint64_t)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    r = lookup_at(t, ARG_INT(0), a[1], ARG_INT(4), true, &p);
    return r < 0 ? r : chown_path(t, &p, ARG_U32(2), ARG_U32(3));
}
FB_SYSCALL(fchown)
{
    struct fb_file *f = file_of(t, ARG_INT(0));
    struct fb_path p;
    if (!f)
        return -EBADF;
    if (!f->path.dentry) {
        fb_file_put(f);
        return -EINVAL;
    }
    fb_path_copy(&p, &f->path);
    fb_file_put(f);
    return chown_path(t, &p, ARG_U32(1), ARG_U32(2));
}

FB_SYSCALL(truncate)
{
    struct fb_path p;
    int64_t r = lookup_at(t, AT_FDCWD, a[0], 0, true, &p);
    if (r < 0)
        return r;
    r = fb_vfs_truncate(t, &p, (int64_t)a[1]);
    fb_path_put(&p);
    return r;
}

FB_SYSCALL(ftruncate)
{
    struct fb_file *f = file_of(t, ARG_INT(0));
    int64_t r;
    if (!f)
        return -EBADF;
    if ((f->flags & O_ACCMODE) == O_RDONLY || !f->path.dentry || (f->flags & O_PATH))
        r = -EINVAL;
    else if ((int64_t)a[1] < 0)
        r = -EINVAL;
    else if (!S_ISREG(f->inode->st.mode))
        r = -EINVAL;
    else if ((r = fb_vfs_check_fsize(f->inode, a[1])) == 0) {
        struct fb_stat st = {0};
        st.size = a[1];
        r = f->inode->ops->setattr
                ? f->inode->ops->setattr(f->inode,
                                         FB_SETATTR_SIZE | FB_SETATTR_MTIME | FB_SETATTR_CTIME, &st)
                : -EINVAL;
    }
    fb_file_put(f);
    return r;
}

static int64_t set_times(struct fb_task *t, struct fb_path *p, const struct timespec *ts)
{
    struct fb_stat st = {0};
    unsigned mask = FB_SETATTR_CTIME;
    int64_t now = fb_app_real_ns();
    struct timespec nowts = {now / 1000000000, now % 1000000000};
    int i;

    for (i = 0; i < 2; i++) {
        struct timespec v = ts ? ts[i] : nowts;
        if (ts && v.tv_nsec == UTIME_OMIT)
            continue;
        if (ts && v.tv_nsec == UTIME_NOW)
            v = nowts;
        else if (v.tv_nsec < 0 || v.tv_nsec >= 1000000000)
            return -EINVAL;
        if (i == 0) {
            st.atime = v;
            mask |= FB_SETATTR_ATIME;
        } else {
            st.mtime = v;
            mask |= FB_SETATTR_MTIME;
        }
    }
    return fb_vfs_setattr(t, p, mask, &st);
}

FB_SYSCALL(utimensat)
{
    struct timespec ts[2];
    struct fb_path p;
    int flags = ARG_INT(3);
    int64_t r;

    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    if (a[2] && fb_mm_copy_in(t->mm, a[2], ts, sizeof(ts)) != 0)
        return -EFAULT;
    if (!a[1]) {
        /* futimens(): the file at dirfd */
        struct fb_file *f = file_of(t, ARG_INT(0));
        if (!f)
            return -EBADF;
        if (!f->path.dentry) {
            fb_file_put(f);
            return -EINVAL;
        }
        fb_path_copy(&p, &f->path);
        fb_file_put(f);
    } else {
        r = lookup_at(t, ARG_INT(0), a[1], flags, true, &p);
        if (r < 0)
            return r;
    }
    r = set_times(t, &p, a[2] ? ts : NULL);
    fb_path_put(&p);
    return r;
}

FB_SYSCALL(utimes)
{
    struct timeval tv[2];
    struct timespec ts[2];
    struct fb_path p;
    int64_t r;
    if (a[1]) {
        if (fb_mm_copy_in(t->mm, a[1], tv, sizeof(tv)) != 0)
            return -EFAULT;
        for (int i = 0; i < 2; i++) {
            if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000)
                return -EINVAL;
            ts[i].tv_sec = tv[i].tv_sec;
            ts[i].tv_nsec = tv[i].tv_usec * 1000;
        }
    }
    r = lookup_at(t, AT_FDCWD, a[0], 0, true, &p);
    if (r < 0)
        return r;
    r = set_times(t, &p, a[1] ? ts : NULL);
    fb_path_put(&p);
    return r;
}

FB_SYSCALL(utime)
{
    struct {
        int64_t actime, modtime;
    } ub;
    struct timespec ts[2];
    struct fb_path p;
    int64_t r;
    if (a[1]) {
        if (fb_mm_copy_in(t->mm, a[1], &ub, sizeof(ub)) != 0)
            return -EFAULT;
        ts[0].tv_sec = ub.actime;
        ts[0].tv_nsec = 0;
        ts[1].tv_sec = ub.modtime;
        ts[1].tv_nsec = 0;
    }
    r = lookup_at(t, AT_FDCWD, a[0], 0, true, &p);
    if (r < 0)
        return r;
    r = set_times(t, &p, a[1] ? ts : NULL);
    fb_path_put(&p);
    return r;
}

static int64_t do_fsync(struct fb_task *t, int fd)
{
    struct fb_file *f = file_of(t, fd);
    int64_t r;
    if (!f)
        return -EBADF;
    r = f->ops && f->ops->fsync ? f->ops->fsync(f) : 0;
    fb_file_put(f);
    return r;
}
FB_SYSCALL(fsync)
{
    return do_fsync(t, ARG_INT(0));
}
FB_SYSCALL(fdatasync)
{
    return do_fsync(t, ARG_INT(0));
}
FB_SYSCALL(sync)
{
    (void)t;
    (void)a;
    return 0;
}
FB_SYSCALL(syncfs)
{
    struct fb_file *f = file_of(t, ARG_INT(0));
    if (!f)
        return -EBADF;
    fb_file_put(f);
    return 0;
}

/* statfs of the filesystem sb, seen through mount mnt (NULL for anonymous files): f_flags holds
 * the mount's flags with ST_VALID, as Linux reports them (statvfs's f_flag comes from there). */
static int64_t statfs_sb(struct fb_task *t, struct fb_sb *sb, const struct fb_mount *mnt,
                         uint64_t ubuf)
{
    struct statfs st;
    memset(&st, 0, sizeof(st));
    if (sb && sb->statfs) {
        int r = sb->statfs(sb, &st);
        if (r < 0)
            return r;
    } else {
        st.f_type = (__fsword_t)(sb ? sb->magic : 0);
        st.f_bsize = 4096;
        st.f_namelen = 255;
        st.f_frsize = 4096;
    }
    st.f_flags = 0x20; /* ST_VALID: f_flags is filled in (Linux's internal flag) */
    if (mnt) {
        st.f_flags |= (mnt->flags & FB_MNT_RDONLY) ? ST_RDONLY : 0;
        st.f_flags |= (mnt->flags & FB_MNT_NOSUID) ? ST_NOSUID : 0;
        st.f_flags |= (mnt->flags & FB_MNT_NODEV) ? ST_NODEV : 0;
        st.f_flags |= (mnt->flags & FB_MNT_NOEXEC) ? ST_NOEXEC : 0;
    }
    return fb_mm_copy_out(t->mm, ubuf, &st, sizeof(st)) ? -EFAULT : 0;
}

FB_SYSCALL(statfs)
{
    struct fb_path p;
    int64_t r = lookup_at(t, AT_FDCWD, a[0], 0, true, &p);
    if (r < 0)
        return r;
    r = statfs_sb(t, p.dentry->inode->sb, p.mnt, a[1]);
    fb_path_put(&p);
    return r;
}

FB_SYSCALL(fstatfs)
{
    struct fb_file *f = file_of(t, ARG_INT(0));
    int64_t r;
    if (!f)
        return -EBADF;
    r = statfs_sb(t, f->inode ? f->inode->sb : NULL, f->path.mnt, a[1]);
    fb_file_put(f);
    return r;
}

FB_SYSCALL(umask)
{
    mode_t old = t->fs->umask;
    t->fs->umask = (mode_t)a[0] & 0777;
    return old;
}

/* ---- descriptors --------------------------------------------------------------------------------- */

FB_SYSCALL(dup)
{
    struct fb_file *f = file_of(t, ARG_INT(0));
    int r;
    if (!f)
        return -EBADF;
    r = fb_fd_install(t, f, 0, false);
    fb_file_put(f);
    return r;
}

static int64_t do_dup3(struct fb_task *t, int oldfd, int newfd, int flags)
{
    struct fb_file *f;
    int r;
    if (flags & ~O_CLOEXEC)
        return -EINVAL;
    f = file_of(t, oldfd);
    if (!f)
        return -EBADF;
    r = fb_fd_install_at(t, f, newfd, flags & O_CLOEXEC);
    fb_file_put(f);
    return r;
}

FB_SYSCALL(dup2)
{
    if (ARG_INT(0) == ARG_INT(1)) {
        struct fb_file *f = file_of(t, ARG_INT(0));
        if (!f)
            return -EBADF;
        fb_file_put(f);
        return ARG_INT(1);
    }
    return do_dup3(t, ARG_INT(0), ARG_INT(1), 0);
}

FB_SYSCALL(dup3)
{
    if (ARG_INT(0) == ARG_INT(1))
        return -EINVAL;
    return do_dup3(t, ARG_INT(0), ARG_INT(1), ARG_INT(2));
}

int64_t fb_pipe_fcntl(struct fb_file *f, int cmd, uint64_t arg);

FB_SYSCALL(fcntl)
{
    int fd = ARG_INT(0), cmd = ARG_INT(1);
    struct fb_file *f = file_of(t, fd);
    int64_t r = 0;

    if (!f)
        return -EBADF;
    /* An O_PATH descriptor only answers the descriptor-level commands (Linux). */
    if ((f->flags & O_PATH) && cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC && cmd != F_GETFD &&
        cmd != F_SETFD && cmd != F_GETFL) {
        fb_file_put(f);
        return -EBADF;
    }
    switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
        if ((int64_t)a[2] < 0 || a[2] >= t->tg->rlim[RLIMIT_NOFILE].rlim_cur)
            r = -EINVAL;
        else
            r = fb_fd_install(t, f, (int)a[2], cmd == F_DUPFD_CLOEXEC);
        break;
    case F_GETFD:
        r = t->files->fds[fd].cloexec ? FD_CLOEXEC : 0;
        break;
    case F_SETFD:
        t->files->fds[fd].cloexec = a[2] & FD_CLOEXEC;
        break;
    case F_GETFL:
        r = f->flags;
        break;
    case F_SETFL: {
        unsigned settable = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;
        f->flags = (f->flags & ~settable) | ((unsigned)a[2] & settable);
        break;
    }
    case F_GETLK:
    case F_OFD_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_SETLK:
    case F_OFD_SETLKW: {
        bool ofd = cmd == F_OFD_GETLK || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
        struct flock fl;
        if (fb_mm_copy_in(t->mm, a[2], &fl, sizeof(fl)) != 0) {
            r = -EFAULT;
        } else if (cmd == F_GETLK || cmd == F_OFD_GETLK) {
            r = fb_lock_fcntl_get(t, f, ofd, &fl);
            if (r == 0 && fb_mm_copy_out(t->mm, a[2], &fl, sizeof(fl)) != 0)
                r = -EFAULT;
        } else {
            r = fb_lock_fcntl_set(t, f, ofd, cmd == F_SETLKW || cmd == F_OFD_SETLKW, &fl);
        }
        break;
    }
    case F_GETOWN:
    case F_SETOWN:
    case F_SETSIG:
    case F_GETSIG:
        r = 0;
        break;
    case F_GETPIPE_SZ:
    case F_SETPIPE_SZ:
        r = fb_pipe_fcntl(f, cmd, a[2]);
        break;
    case F_ADD_SEALS:
    case F_GET_SEALS:
        r = -EINVAL;
        break;
    default:
        r = -EINVAL;
    }
    fb_file_put(f);
    return r;
}

FB_SYSCALL(flock)
{
    unsigned cmd = ARG_U32(1);
    struct fb_file *f;
    short type;
    int64_t r;

    if (cmd & LOCK_MAND)
        return 0; /* Linux ignores the long-broken LOCK_MAND requests */
    switch (cmd & ~(unsigned)LOCK_NB) {
    case LOCK_SH:
        type = F_RDLCK;
        break;
    case LOCK_EX:
        type = F_WRLCK;
        break;
    case LOCK_UN:
        type = F_UNLCK;
        break;
    default:
        return -EINVAL;
    }
    f = file_of(t, ARG_INT(0));
    if (!f)
        return -EBADF;
    if ((f->flags & O_PATH) || !f->inode)
        r = -EBADF;
    else
        r = fb_lock_flock(t, f, type, !(cmd & LOCK_NB));
    fb_file_put(f);
    return r;
}

FB_SYSCALL(ioctl)
{
    int fd = ARG_INT(0);
    unsigned long cmd = (unsigned long)a[1];
    struct fb_file *f = file_of(t, fd);
    int64_t r;

    if (!f)
        return -EBADF;
    switch (cmd) {
    case FIOCLEX:
        t->files->fds[fd].cloexec = true;
        r = 0;
        break;
    case FIONCLEX:
        t->files->fds[fd].cloexec = false;
        r = 0;
        break;
    case FIONBIO: {
        int on;
        if (fb_mm_copy_in(t->mm, a[2], &on, sizeof(on)) != 0) {
            r = -EFAULT;
            break;
        }
        if (on)
            f->flags |= O_NONBLOCK;
        else
            f->flags &= ~(unsigned)O_NONBLOCK;
        r = 0;
        break;
    }
    default:
        if (f->ops && f->ops->ioctl)
            r = f->ops->ioctl(f, t, cmd, a[2]);
        else if (cmd == FIONREAD && f->inode && S_ISREG(f->inode->st.mode)) {
            int avail = (int)FB_MAX((int64_t)f->inode->st.size - f->pos, 0);
            r = fb_mm_copy_out(t->mm, a[2], &avail, sizeof(avail)) ? -EFAULT : 0;
        } else
            r = -ENOTTY;
    }
    fb_file_put(f);
    return r;
}

FB_SYSCALL(pipe2)
{
    struct fb_file *rd, *wr;
    int fds[2], r;
    int flags = ARG_INT(1);

    if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT))
        return -EINVAL;
    r = fb_pipe_new((unsigned)flags, &rd, &wr);
    if (r < 0)
        return r;
    fds[0] = fb_fd_install(t, rd, 0, flags & O_CLOEXEC);
    fds[1] = fds[0] < 0 ? fds[0] : fb_fd_install(t, wr, 0, flags & O_CLOEXEC);
    fb_file_put(rd);
    fb_file_put(wr);
    if (fds[1] < 0) {
        if (fds[0] >= 0)
            fb_fd_close(t, fds[0]);
        return fds[1];
    }
    if (fb_mm_copy_out(t->mm, a[0], fds, sizeof(fds)) != 0) {
        fb_fd_close(t, fds[0]);
        fb_fd_close(t, fds[1]);
        return -EFAULT;
    }
    return 0;
}

FB_SYSCALL(pipe)
{
    uint64_t b[6] = {a[0], 0, 0, 0, 0, 0};
    return fb_sys_pipe2(t, b);
}

FB_SYSCALL(memfd_create)
{
    char name[256];
    struct fb_file *f;
    unsigned flags = ARG_U32(1);
    int64_t n;
    int fd, r;

    if (flags & ~(unsigned)(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | 0x8u | 0x10u))
        return -EINVAL;
    if (flags & MFD_HUGETLB)
        return -EINVAL;
    n = fb_mm_copy_string_in(t->mm, a[0], name, 250);
    if (n < 0)
        return n == -ENAMETOOLONG ? -EINVAL : n;
    {
        char full[264];
        snprintf(full, sizeof(full), "memfd:%s", name);
        r = fb_shmem_new(0, full, &f);
    }
    if (r < 0)
        return r;
    fd = fb_fd_install(t, f, 0, flags & MFD_CLOEXEC);
    fb_file_put(f);
    return fd;
}

FB_SYSCALL(fadvise64)
{
    struct fb_file *f = file_of(t, ARG_INT(0));
    int64_t r = 0;
    if (!f)
        return -EBADF;
    if (!seekable(f))
        r = -ESPIPE;
    else if (ARG_INT(3) < 0 || ARG_INT(3) > 5)
        r = -EINVAL;
    fb_file_put(f);
    return r;
}

FB_SYSCALL(fallocate)
{
    struct fb_file *f = file_of(t, ARG_INT(0));
    int mode = ARG_INT(1);
    int64_t off = (int64_t)a[2], len = (int64_t)a[3], r = 0;

    if (!f)
        return -EBADF;
    if (off < 0 || len <= 0)
        r = -EINVAL;
    else if ((f->flags & O_ACCMODE) == O_RDONLY)
        r = -EBADF;
    else if (!S_ISREG(f->inode->st.mode))
        r = S_ISDIR(f->inode->st.mode) ? -EISDIR : -ENODEV;
    else if (mode & ~FALLOC_FL_KEEP_SIZE)
        r = -EOPNOTSUPP;
    else if (!(mode & FALLOC_FL_KEEP_SIZE) && (uint64_t)(off + len) > f->inode->st.size &&
             (r = fb_vfs_check_fsize(f->inode, (uint64_t)(off + len))) == 0) {
        struct fb_stat st = {0};
        st.size = (uint64_t)(off + len);
        r = f->inode->ops->setattr ? f->inode->ops->setattr(f->inode, FB_SETATTR_SIZE, &st)
                                   : -EOPNOTSUPP;
    }
    fb_file_put(f);
    return r;
}

FB_SYSCALL(sendfile)
{
    int outfd = ARG_INT(0), infd = ARG_INT(1);
    uint64_t uoff = a[2];
    size_t count = (size_t)FB_MIN(a[3], MAX_RW_COUNT), done = 0;
    struct fb_file *in = file_of(t, infd), *out = file_of(t, outfd);
    int64_t off = 0, r = 0;
    uint8_t *buf = NULL;

    if (!in || !out) {
        r = -EBADF;
        goto out;
    }
    if (uoff) {
        if (!seekable(in)) {
            r = -ESPIPE;
            goto out;
        }
        if (fb_mm_copy_in(t->mm, uoff, &off, sizeof(off)) != 0) {
            r = -EFAULT;
            goto out;
        }
    } else {
        off = in->pos;
    }
    buf = malloc(65536);
    if (!buf) {
        r = -ENOMEM;
        goto out;
    }
    while (done < count) {
        struct iovec iov = {buf, FB_MIN(count - done, 65536)};
        struct fb_uio u;
        int64_t n, w, wpos = out->pos;
        fb_uio_init_kernel(&u, &iov, 1);
        n = fb_vfs_read(in, &u, &off);
        if (n <= 0) {
            if (n < 0 && !done)
                r = n;
            break;
        }
        iov.iov_len = (size_t)n;
        fb_uio_init_kernel(&u, &iov, 1);
        w = fb_vfs_write(out, &u, &wpos);
        if (w > 0 && seekable(out))
            out->pos = wpos;
        if (w <= 0) {
            if (!done)
                r = w;
            off -= n;
            break;
        }
        done += (size_t)w;
        if (w < n) {
            off -= n - w;
            break;
        }
    }
    if (r == 0)
        r = (int64_t)done;
    if (uoff) {
        if (fb_mm_copy_out(t->mm, uoff, &off, sizeof(off)) != 0)
            r = -EFAULT;
    } else if (seekable(in)) {
        in->pos = off;
    }
out:
    free(buf);
    fb_file_put(in);
    fb_file_put(out);
    return r;
}

/* ---- extended attributes ------------------------------------------------------------------------ */
/* No fnbox filesystem stores extended attributes: every file has none. Reading one gives
 * ENODATA, listing gives an empty list, setting one EOPNOTSUPP (like a filesystem mounted without
 * xattr support), removing one ENODATA. Arguments are checked first, in Linux's order. */

static int64_t xattr_name(struct fb_task *t, uint64_t uname)
{
    char name[257];
    int64_t n = fb_mm_copy_string_in(t->mm, uname, name, sizeof(name));
    if (n == -ENAMETOOLONG || n == 0 || n > 255)
        return -ERANGE;
    return n < 0 ? n : 0;
}

static int64_t xattr_path(struct fb_task *t, uint64_t upath, bool follow)
{
    char path[FB_PATH_MAX];
    struct fb_path p;
    int r = fb_get_path(t, upath, path);
    if (r < 0)
        return r;
    r = fb_vfs_lookup(t, AT_FDCWD, path, follow ? FB_LOOKUP_FOLLOW : 0, &p, NULL, NULL);
    if (r < 0)
        return r;
    fb_path_put(&p);
    return 0;
}

static int64_t xattr_fd(struct fb_task *t, int fd)
{
    struct fb_file *f = fb_fd_get(t, fd);
    if (!f)
        return -EBADF;
    fb_file_put(f);
    return 0;
}

static int64_t xattr_get(struct fb_task *t, int64_t target, uint64_t uname)
{
    int64_t r = target < 0 ? target : xattr_name(t, uname);
    return r < 0 ? r : -ENODATA;
}

static int64_t xattr_set(struct fb_task *t, int64_t target, uint64_t uname, uint64_t flags)
{
    int64_t r = target < 0 ? target : xattr_name(t, uname);
    if (r < 0)
        return r;
    if (flags & ~(uint64_t)(XATTR_CREATE | XATTR_REPLACE))
        return -EINVAL;
    return -EOPNOTSUPP;
}

FB_SYSCALL(getxattr)
{
    return xattr_get(t, xattr_path(t, a[0], true), a[1]);
}
FB_SYSCALL(lgetxattr)
{
    return xattr_get(t, xattr_path(t, a[0], false), a[1]);
}
FB_SYSCALL(fgetxattr)
{
    return xattr_get(t, xattr_fd(t, ARG_INT(0)), a[1]);
}
FB_SYSCALL(listxattr)
{
    return xattr_path(t, a[0], true);
}
FB_SYSCALL(llistxattr)
{
    return xattr_path(t, a[0], false);
}
FB_SYSCALL(flistxattr)
{
    return xattr_fd(t, ARG_INT(0));
}
FB_SYSCALL(setxattr)
{
    return xattr_set(t, xattr_path(t, a[0], true), a[1], a[4]);
}
FB_SYSCALL(lsetxattr)
{
    return xattr_set(t, xattr_path(t, a[0], false), a[1], a[4]);
}
FB_SYSCALL(fsetxattr)
{
    return xattr_set(t, xattr_fd(t, ARG_INT(0)), a[1], a[4]);
}
FB_SYSCALL(removexattr)
{
    return xattr_get(t, xattr_path(t, a[0], true), a[1]);
}
FB_SYSCALL(lremovexattr)
{
    return xattr_get(t, xattr_path(t, a[0], false), a[1]);
}
FB_SYSCALL(fremovexattr)
{
    return xattr_get(t, xattr_fd(t, ARG_INT(0)), a[1]);
}
