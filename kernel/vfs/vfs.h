/* The virtual file system: inodes, dentries, mounts, open files, fd tables and the per-task
 * filesystem context. Filesystems (tmpfs, 9P, devfs, procfs, pipes, host fds) plug in through
 * the ops tables below; syscall handlers in kernel/syscalls/sys_file.c call the fb_vfs_* API. */
#ifndef FB_VFS_VFS_H
#define FB_VFS_VFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <poll.h>

#include "kernel/mm/mm.h"
#include "kernel/task/task.h"
#include "kernel/util/list.h"

struct fb_inode;
struct fb_dentry;
struct fb_mount;
struct fb_file;
struct fb_sb;
struct fb_uio;
struct fb_poll_table;
struct fb_pipe;
struct fb_lock_ctx;

/* ---- user I/O cursor ------------------------------------------------------------------------ */

/* A sequence of buffers in application memory (mm != NULL) or Sentry memory (mm == NULL) that a
 * read or write moves through. File ops copy through it and never see raw addresses. */
struct fb_uio {
    struct fb_mm *mm;
    const struct iovec *iov;
    int iovcnt;
    int idx;       /* current iovec */
    size_t skip;   /* bytes already used of iov[idx] */
    size_t resid;  /* bytes left in total */
};

void fb_uio_init_user(struct fb_uio *u, struct fb_mm *mm, const struct iovec *iov, int n);
void fb_uio_init_kernel(struct fb_uio *u, const struct iovec *iov, int n);
/* Copy from src into the buffers (a read); returns bytes copied, -EFAULT if none could be. */
int64_t fb_uio_copy_to(struct fb_uio *u, const void *src, size_t n);
/* Copy from the buffers into dst (a write). */
int64_t fb_uio_copy_from(struct fb_uio *u, void *dst, size_t n);
/* Host iovecs for the next up to n bytes, for preadv/pwritev straight into application memory.
 * `for_read` means data will be written into the buffers. Does not advance. Returns bytes
 * covered (0 at end) or -EFAULT. */
int64_t fb_uio_host_iov(struct fb_uio *u, size_t n, bool for_read, struct iovec *out, int max,
                        int *nout);
void fb_uio_advance(struct fb_uio *u, size_t n);
/* Limit the transfer to at most n more bytes (the buffers beyond are left alone). */
void fb_uio_truncate(struct fb_uio *u, size_t n);

/* ---- polling -------------------------------------------------------------------------------- */

/* Collects what a poll/select/epoll/blocking read waits on: kernel wait queues and host fds. */
#define FB_POLL_MAX_WAITQ 64
#define FB_POLL_MAX_HOST  16
struct fb_poll_table {
    struct fb_task *task;
    struct fb_waiter waiters[FB_POLL_MAX_WAITQ];
    int nwaiters;
    struct pollfd host[FB_POLL_MAX_HOST];
    int nhost;
};
void fb_poll_init(struct fb_poll_table *pt, struct fb_task *t);
/* Called by a file's poll op to say "wake me when q changes". */
void fb_poll_wait(struct fb_poll_table *pt, struct fb_waitq *q);
/* Called by a host-fd-backed file's poll op. */
void fb_poll_wait_host(struct fb_poll_table *pt, int fd, short events);
/* Sleep on everything registered; then unregister. Returns like fb_task_sleep. */
int fb_poll_sleep(struct fb_poll_table *pt, int64_t deadline_ns);
void fb_poll_done(struct fb_poll_table *pt);

/* ---- inodes --------------------------------------------------------------------------------- */

struct fb_stat {
    uint64_t dev, ino, nlink, size, blocks, rdev;
    uint32_t mode, uid, gid, blksize;
    struct timespec atime, mtime, ctime, btime;
};

/* One name of a batch of lookups (fb_inode_ops.lookup_many): name in dir or, dir NULL, in what
 * the earlier entry `parent` finds; ino (NULL when asked) is what it names, a new reference,
 * left NULL if nothing. */
struct fb_lookup_ask {
    struct fb_inode *dir;
    int parent;
    const char *name;
    struct fb_inode *ino;
};

struct fb_inode_ops {
    /* Directory operations (return -errno). `name` is one component, never "." or "..". */
    int (*lookup)(struct fb_inode *dir, const char *name, struct fb_inode **out);
    /* Optional: what lookup would find for each of ask[0, n) (dirs of this filesystem), all at
     * once (one round trip for a remote one). Best effort: an entry left NULL is looked up the
     * usual way when it is needed. */
    void (*lookup_many)(struct fb_lookup_ask *ask, int n);
    int (*create)(struct fb_inode *dir, const char *name, mode_t mode, struct fb_inode **out);
    int (*mkdir)(struct fb_inode *dir, const char *name, mode_t mode);
    int (*mknod)(struct fb_inode *dir, const char *name, mode_t mode, dev_t rdev);
    int (*symlink)(struct fb_inode *dir, const char *name, const char *target);
    int (*link)(struct fb_inode *dir, const char *name, struct fb_inode *target);
    int (*unlink)(struct fb_inode *dir, const char *name, struct fb_inode *victim);
    int (*rmdir)(struct fb_inode *dir, const char *name, struct fb_inode *victim);
    int (*rename)(struct fb_inode *olddir, const char *oldname, struct fb_inode *newdir,
                  const char *newname, unsigned flags);
    /* Fill buf with the symlink target (no NUL); returns its length. */
    int (*readlink)(struct fb_inode *ino, char *buf, size_t size);
    /* Refresh attributes into ino->st (optional; else ino->st is authoritative). */
    int (*getattr)(struct fb_inode *ino);
    /* Apply changes: mask of FB_SETATTR_*. */
    int (*setattr)(struct fb_inode *ino, unsigned mask, const struct fb_stat *st);
    /* Prepare an open file (set f->ops, f->priv). */
    int (*open)(struct fb_inode *ino, struct fb_file *f);
    /* Magic links (/proc/self/exe, /proc/self/fd/N): resolve to a path instead of a string. */
    int (*get_link)(struct fb_inode *ino, struct fb_mount **mnt, struct fb_dentry **d);
    void (*release)(struct fb_inode *ino);
};

#define FB_SETATTR_MODE  0x1u
#define FB_SETATTR_UID   0x2u
#define FB_SETATTR_GID   0x4u
#define FB_SETATTR_SIZE  0x8u
#define FB_SETATTR_ATIME 0x10u
#define FB_SETATTR_MTIME 0x20u
#define FB_SETATTR_CTIME 0x40u

struct fb_inode {
    int refs;
    struct fb_sb *sb;
    const struct fb_inode_ops *ops;
    struct fb_stat st;
    void *priv;                  /* filesystem data */
    struct fb_mappable *mappable; /* set if the inode can be mmapped */
    struct fb_waitq poll_wq;      /* readiness changes (pipes, fifos) */
    struct fb_pipe *pipe;         /* FIFO and pipe inodes: the pipe buffer (pipe.c) */
    struct fb_lock_ctx *locks;    /* advisory locks (locks.c), created by the first one */
};

struct fb_inode *fb_inode_new(struct fb_sb *sb, const struct fb_inode_ops *ops, mode_t mode);
void fb_inode_get(struct fb_inode *ino);
void fb_inode_put(struct fb_inode *ino);

/* A mounted filesystem instance. */
struct fb_sb {
    const char *type;   /* "tmpfs", "9p", "proc", "devtmpfs", ... */
    uint64_t dev;       /* st_dev of its inodes */
    uint64_t magic;     /* statfs f_type */
    bool cache_dentries; /* keep unreferenced dentries (lookups are costly or identity matters) */
    bool cache_negative; /* also remember names that do not exist (trees nobody else changes) */
    bool revalidate;     /* call getattr before trusting st */
    uint64_t next_ino;
    void *priv;
    int (*statfs)(struct fb_sb *sb, struct statfs *out);
};

/* ---- dentries and mounts -------------------------------------------------------------------- */

struct fb_dentry {
    int refs;
    struct fb_sb *sb;
    char *name;
    struct fb_dentry *parent; /* NULL for a filesystem root */
    struct fb_inode *inode;   /* NULL for a negative (cached absent) entry */
    struct fb_list children;
    struct fb_list sibling;
    bool deleted;    /* unlinked: no longer in its parent's child list */
    bool mounted_on; /* some mount sits on this dentry */
};

struct fb_dentry *fb_dentry_new(struct fb_dentry *parent, const char *name, struct fb_inode *ino);
void fb_dentry_get(struct fb_dentry *d);
void fb_dentry_put(struct fb_dentry *d);
/* Cached child by name (with a reference), or NULL. A negative entry (inode NULL) records a
 * name known not to exist. */
struct fb_dentry *fb_dentry_child(struct fb_dentry *dir, const char *name);
/* Forget the cached child `name` (after unlink, or a create over a negative entry). */
void fb_dentry_drop_child(struct fb_dentry *dir, const char *name);
/* After a successful rename of olddir/oldname to newdir/newname: move the cached dentry, so that
 * open files and working directories follow it (Linux d_move); what newname named is forgotten,
 * or with `exchange` moves to oldname. */
void fb_dentry_move(struct fb_dentry *olddir, const char *oldname, struct fb_dentry *newdir,
                    const char *newname, bool exchange);

#define FB_MNT_RDONLY 0x1u
#define FB_MNT_NOSUID 0x2u
#define FB_MNT_NODEV  0x4u
#define FB_MNT_NOEXEC 0x8u

struct fb_mount {
    int refs;
    struct fb_sb *sb;
    struct fb_dentry *root;
    struct fb_mount *parent;      /* NULL for the root mount */
    struct fb_dentry *mountpoint; /* in parent */
    unsigned flags;
    char *source;
    struct fb_list node; /* all mounts */
};

/* A position in the tree. Holds references to both. */
struct fb_path {
    struct fb_mount *mnt;
    struct fb_dentry *dentry;
};
void fb_path_get(struct fb_path *p);
void fb_path_put(struct fb_path *p);
void fb_path_copy(struct fb_path *dst, const struct fb_path *src);

/* Mount a filesystem root at path (a directory). Takes the root reference. */
int fb_vfs_mount(struct fb_sb *sb, struct fb_dentry *root, const struct fb_path *at,
                 unsigned flags, const char *source);
/* Create the root mount. */
int fb_vfs_mount_root(struct fb_sb *sb, struct fb_dentry *root, unsigned flags,
                      const char *source);
/* Iterate mounts for /proc/self/mounts. */
struct fb_list *fb_vfs_mounts(void);
/* Absolute path of p as seen from root (for getcwd, /proc links, maps). */
int fb_vfs_path_string(const struct fb_path *p, const struct fb_path *root, char *buf,
                       size_t size);

/* ---- per-task filesystem context ----------------------------------------------------------- */

struct fb_fs_ctx {
    int refs;
    struct fb_path root, cwd;
    mode_t umask;
};
struct fb_fs_ctx *fb_fs_ctx_new(const struct fb_path *root, const struct fb_path *cwd);
struct fb_fs_ctx *fb_fs_ctx_copy(struct fb_fs_ctx *fs);
void fb_fs_ctx_put(struct fb_fs_ctx *fs);

/* ---- open files ----------------------------------------------------------------------------- */

struct fb_dirent_sink; /* filled by readdir */

struct fb_file_ops {
    int64_t (*read)(struct fb_file *f, struct fb_uio *u, int64_t *off);
    int64_t (*write)(struct fb_file *f, struct fb_uio *u, int64_t *off);
    int64_t (*llseek)(struct fb_file *f, int64_t off, int whence);
    /* Emit entries from position *pos on; returns 0 or -errno. */
    int (*readdir)(struct fb_file *f, struct fb_dirent_sink *sink, int64_t *pos);
    int64_t (*ioctl)(struct fb_file *f, struct fb_task *t, unsigned long cmd, uint64_t arg);
    /* Readiness (POLLIN...); registers on pt if non-NULL. */
    unsigned (*poll)(struct fb_file *f, struct fb_poll_table *pt);
    int (*fsync)(struct fb_file *f);
    /* Mappable for mmap (with a reference), or NULL/-ENODEV. */
    int (*mmap)(struct fb_file *f, struct fb_mappable **out);
    void (*release)(struct fb_file *f);
};

struct fb_file {
    int refs;
    const struct fb_file_ops *ops;
    struct fb_path path;    /* where it was opened (mnt/dentry may be NULL for anon files) */
    struct fb_inode *inode; /* with a reference */
    unsigned flags;         /* O_ACCMODE | O_APPEND | O_NONBLOCK | O_DIRECT ... */
    int64_t pos;
    void *priv;
    char *anon_name; /* for pipes etc.: "pipe:[N]" */
};

struct fb_file *fb_file_new(struct fb_inode *ino, const struct fb_path *path, unsigned flags);
void fb_file_get(struct fb_file *f);
void fb_file_put(struct fb_file *f);
/* Generic llseek for files with a size in inode->st.size. */
int64_t fb_generic_llseek(struct fb_file *f, int64_t off, int whence);

/* Directory entry sink for readdir implementations. Returns false when full (stop). */
bool fb_dirent_emit(struct fb_dirent_sink *sink, const char *name, uint64_t ino, unsigned type,
                    int64_t next_pos);

/* ---- fd tables ------------------------------------------------------------------------------ */

struct fb_fd_entry {
    struct fb_file *file;
    bool cloexec;
};

struct fb_fdtable {
    int refs;
    struct fb_fd_entry *fds;
    int size;
};

struct fb_fdtable *fb_fdtable_new(void);
struct fb_fdtable *fb_fdtable_copy(struct fb_fdtable *t);
void fb_fdtable_put(struct fb_fdtable *t);
/* Install f (takes a reference) at the lowest free fd >= minfd, within the RLIMIT_NOFILE of
 * task. Returns the fd or -EMFILE. */
int fb_fd_install(struct fb_task *task, struct fb_file *f, int minfd, bool cloexec);
/* Install at exactly fd, closing what was there. */
int fb_fd_install_at(struct fb_task *task, struct fb_file *f, int fd, bool cloexec);
/* The file at fd with a new reference, or NULL. */
struct fb_file *fb_fd_get(struct fb_task *task, int fd);
int fb_fd_close(struct fb_task *task, int fd);
void fb_fd_close_on_exec(struct fb_fdtable *t);

/* ---- path resolution ------------------------------------------------------------------------ */

#define FB_LOOKUP_FOLLOW    0x1u  /* follow a final symlink */
#define FB_LOOKUP_DIRECTORY 0x2u  /* final component must be a directory */
#define FB_LOOKUP_PARENT    0x4u  /* stop at the parent; return the last name */
#define FB_LOOKUP_EMPTY     0x8u  /* "" means dirfd itself (AT_EMPTY_PATH) */
#define FB_LOOKUP_NOAUTOMNT 0x10u

#define FB_PATH_MAX 4096
#define FB_NAME_MAX 255

/* Resolve path relative to dirfd (AT_FDCWD = cwd) for task t. On success *out holds references.
 * With FB_LOOKUP_PARENT, *out is the parent directory and `last` receives the final name
 * (which may not exist); trailing slashes set *trailing_slash. */
int fb_vfs_lookup(struct fb_task *t, int dirfd, const char *path, unsigned flags,
                  struct fb_path *out, char *last, bool *trailing_slash);
/* Like fb_vfs_lookup, relative to base instead of a dirfd (absolute paths start at t's root). */
int fb_vfs_lookup_at_path(struct fb_task *t, const struct fb_path *base, const char *path,
                          unsigned flags, struct fb_path *out, char *last, bool *trailing_slash);
/* Look up one name in a directory (no symlink following); crosses mounts. */
int fb_vfs_lookup_one(struct fb_path *dir, const char *name, struct fb_path *out);
/* Bring the dentries of the absolute paths[0, n) into the cache ahead of their lookups, as far
 * as one filesystem's lookup_many can take them in one go: the first filesystem met that has
 * one, without crossing mounts or symlinks; the components already cached cost nothing. Lookups
 * then find what it made and look up the rest as usual (a restore's re-walks: ~20 round trips
 * to the Gofer in one). */
void fb_vfs_lookup_ahead(const struct fb_path *root, const char *const *paths, int n);

/* ---- operations used by syscalls ------------------------------------------------------------- */

int fb_vfs_open(struct fb_task *t, int dirfd, const char *path, int flags, mode_t mode,
                struct fb_file **out);
int fb_vfs_open_path(const struct fb_path *p, int flags, struct fb_file **out);
int fb_vfs_stat_inode(struct fb_inode *ino, struct fb_stat *st);
int fb_vfs_permission(struct fb_task *t, struct fb_inode *ino, int mask);
int64_t fb_vfs_read(struct fb_file *f, struct fb_uio *u, int64_t *off);
/* Write through f. For regular files RLIMIT_FSIZE of the current task applies: the write is cut
 * at the limit, and one starting at or past it fails with EFBIG after SIGXFSZ. */
int64_t fb_vfs_write(struct fb_file *f, struct fb_uio *u, int64_t *off);
/* May the current task grow regular file ino to size bytes? 0, or -EFBIG after sending SIGXFSZ
 * (RLIMIT_FSIZE; shrinking is always allowed). */
int fb_vfs_check_fsize(struct fb_inode *ino, uint64_t size);
/* Read a whole small file (for the loader, /etc): reads up to size bytes at offset off. */
int64_t fb_vfs_kernel_read(struct fb_file *f, void *buf, size_t size, int64_t off);

/* Boot-time construction of the sandbox tree: root from the gofer, tmpfs at /tmp and /dev/shm,
 * devfs at /dev, procfs at /proc. */
int fb_vfs_init(struct fb_error *err);

/* Filesystem constructors (each in its own file). */
int fb_tmpfs_new(struct fb_sb **sb, struct fb_dentry **root, mode_t mode);
int fb_p9fs_new(struct fb_p9_client *c, struct fb_sb **sb, struct fb_dentry **root);
int fb_devfs_new(struct fb_sb **sb, struct fb_dentry **root);
int fb_procfs_new(struct fb_sb **sb, struct fb_dentry **root);
/* An anonymous file over one of the caller's host fds (stdin/stdout/stderr). */
struct fb_file *fb_hostfd_file_new(int hostfd, unsigned flags);
/* Count writes through f (a host stdout/stderr file) against fb_k->opts.output_limit. */
void fb_hostfd_count_output(struct fb_file *f);
/* The ready point of a checkpoint reached through poll, select or epoll: a task is about to sleep
 * on these host fds (kernel lock held). If one of them is the sandbox's stdin, waited on for
 * input, and a checkpoint is armed, the checkpoint starts: every task, this one too, is
 * interrupted, so the sleep ends at once with EINTR and the syscall restarts after the restore.
 * An event loop (node, asyncio) waits for its request there instead of in read(2). */
void fb_hostfd_before_sleep(const struct pollfd *fds, int nfds);
/* pipe(2): two files sharing a pipe. */
int fb_pipe_new(unsigned flags, struct fb_file **rd, struct fb_file **wr);
/* open(2) of a FIFO inode (any filesystem): attaches f to the inode's pipe (pipe.c). */
int fb_fifo_open(struct fb_inode *ino, struct fb_file *f);
/* Free an inode's pipe (called by the owning filesystem when the inode is released). */
void fb_pipe_release_inode(struct fb_inode *ino);
/* Memory for MAP_SHARED|MAP_ANONYMOUS and memfd_create: an unlinked tmpfs file. */
int fb_shmem_new(uint64_t size, const char *name, struct fb_file **out);

/* Next inode number / device number helpers. */
uint64_t fb_vfs_new_dev(void);

#endif
