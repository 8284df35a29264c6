/* VFS operations used by the file syscalls (implemented in ops.c); all return 0/count or -errno.
 * Paths are Sentry strings already copied in from the application. */
#ifndef FB_VFS_OPS_H
#define FB_VFS_OPS_H

#include "kernel/vfs/vfs.h"

struct fb_dirent_sink {
    uint8_t *buf;
    size_t size, used;
    int count;
    bool too_small; /* an entry did not fit */
};

int fb_vfs_mkdir(struct fb_task *t, int dirfd, const char *path, mode_t mode);
int fb_vfs_mknod(struct fb_task *t, int dirfd, const char *path, mode_t mode, dev_t dev);
int fb_vfs_symlink(struct fb_task *t, const char *target, int dirfd, const char *path);
int fb_vfs_link(struct fb_task *t, int olddirfd, const char *oldpath, int newdirfd,
                const char *newpath, int flags);
int fb_vfs_unlink(struct fb_task *t, int dirfd, const char *path, int flags);
int fb_vfs_rename(struct fb_task *t, int olddirfd, const char *oldpath, int newdirfd,
                  const char *newpath, unsigned flags);
int fb_vfs_readlink(struct fb_task *t, int dirfd, const char *path, char *buf, size_t size);
int fb_vfs_setattr(struct fb_task *t, const struct fb_path *p, unsigned mask,
                   const struct fb_stat *st);
int fb_vfs_truncate(struct fb_task *t, const struct fb_path *p, int64_t len);
/* getdents64 into application memory at buf; returns bytes written. */
int fb_vfs_getdents64(struct fb_task *t, struct fb_file *f, uint64_t buf, size_t size);

#endif
