/* Advisory file locks: POSIX record locks (fcntl F_SETLK/F_SETLKW/F_GETLK), open file description
 * record locks (F_OFD_*) and flock(2) locks, kept in a table per inode. Called by the file
 * syscalls (kernel/syscalls/sys_file.c) and by the VFS when descriptors close (vfs.c). */
#ifndef FB_VFS_LOCKS_H
#define FB_VFS_LOCKS_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>

#include "kernel/task/task.h"
#include "kernel/util/list.h"

struct fb_file;
struct fb_inode;

#define FB_LOCK_EOF INT64_MAX /* end of a lock that extends to the end of the file and beyond */

/* One granted lock (or, for the table functions, a request). */
struct fb_file_lock {
    struct fb_list node;
    /* Who holds it: the fd table for POSIX record locks (Linux's files_struct: every thread
     * sharing it, released when any of its fds for the file closes); the open file for OFD
     * record locks and flock locks (released when its last descriptor goes). */
    const void *owner;
    int pid;            /* l_pid reported by F_GETLK: the locker's process, -1 for OFD locks */
    short type;         /* F_RDLCK, F_WRLCK (F_UNLCK in an unlock request) */
    bool ofd;           /* an open file description lock */
    int64_t start, end; /* inclusive byte range; end FB_LOCK_EOF = to the end of the file */
};

/* The locks of one inode. */
/* Record locks one inode may hold: they live on the Sentry's heap, so an application must not
 * be able to grow them without bound (beyond it: ENOLCK, "lock table full"). */
#define FB_LOCK_MAX_PER_INODE 65536

struct fb_lock_ctx {
    struct fb_list posix; /* record locks, POSIX and OFD (they conflict with each other) */
    int nposix;           /* entries in posix */
    struct fb_list flock; /* flock locks: whole file, separate from record locks */
    struct fb_waitq wq;   /* tasks blocked in F_SETLKW or flock */
};

/* ---- the table (no tasks involved; unit tested in locks_test.c) ---------------------------- */

struct fb_lock_ctx *fb_lock_ctx_new(void);
void fb_lock_ctx_free(struct fb_lock_ctx *c);
/* The first record lock of another owner that conflicts with req (overlapping, one of the two
 * a write lock), or NULL. */
const struct fb_file_lock *fb_lock_posix_conflict(const struct fb_lock_ctx *c,
                                                  const struct fb_file_lock *req);
/* Apply req for its owner with POSIX semantics: the owner's locks in the range are replaced by
 * req (F_UNLCK just removes them), splitting them at the edges, and adjacent or overlapping
 * locks of the same type merge. Conflicts are the caller's business. Returns 0, or -ENOLCK
 * (out of memory or FB_LOCK_MAX_PER_INODE reached) with nothing changed. */
int fb_lock_posix_apply(struct fb_lock_ctx *c, const struct fb_file_lock *req);
/* Remove every record lock of owner; returns whether any was removed. */
bool fb_lock_posix_remove_owner(struct fb_lock_ctx *c, const void *owner);
/* The first flock lock of another owner that conflicts with a lock of `type`, or NULL. */
const struct fb_file_lock *fb_lock_flock_conflict(const struct fb_lock_ctx *c, const void *owner,
                                                  short type);
/* owner's flock lock, or NULL. */
struct fb_file_lock *fb_lock_flock_find(struct fb_lock_ctx *c, const void *owner);
/* Give owner a flock lock of `type` (replacing its lock), or remove it (F_UNLCK). Returns 0 or
 * -ENOLCK. */
int fb_lock_flock_apply(struct fb_lock_ctx *c, const void *owner, short type);

/* ---- system calls -------------------------------------------------------------------------- */

/* fcntl F_GETLK / F_OFD_GETLK on f: *fl (copied in) is answered in place: the first conflicting
 * lock, or l_type F_UNLCK. Returns 0 or -errno (EINVAL, EOVERFLOW). */
int fb_lock_fcntl_get(struct fb_task *t, struct fb_file *f, bool ofd, struct flock *fl);
/* fcntl F_SETLK(W) / F_OFD_SETLK(W) on f. With `wait`, sleeps until the lock is free; the sleep
 * is interruptible (-FB_ERESTARTSYS) and restartable. Returns 0 or -errno (EAGAIN on a conflict
 * without wait, EDEADLK, EBADF for a lock the open mode does not allow, EINVAL, EOVERFLOW). */
int fb_lock_fcntl_set(struct fb_task *t, struct fb_file *f, bool ofd, bool wait,
                      const struct flock *fl);
/* flock(2) with a decoded operation: type F_RDLCK (LOCK_SH), F_WRLCK (LOCK_EX) or F_UNLCK. */
int fb_lock_flock(struct fb_task *t, struct fb_file *f, short type, bool wait);

/* ---- release -------------------------------------------------------------------------------- */

/* Descriptor of f in fd table `files` is being closed: that table's POSIX locks on the file go
 * (all of them, whichever descriptor took them, as POSIX says). */
void fb_locks_fd_close(struct fb_file *f, const void *files);
/* The open file f is being released: its OFD and flock locks go. */
void fb_locks_file_release(struct fb_file *f);

#endif
