/* Private interface of tmpfs for the filesystems built on it (devfs.c): superblocks of a given
 * type, nodes only the kernel may create (character devices), and anonymous shared memory. */
#ifndef FB_VFS_TMPFS_INTERNAL_H
#define FB_VFS_TMPFS_INTERNAL_H

#include "kernel/vfs/vfs.h"

#define FB_TMPFS_MAGIC 0x01021994u /* statfs f_type of tmpfs and devtmpfs */

/* Open hook of a special node: sets f->ops (and f->priv if needed); returns 0 or -errno. */
typedef int (*fb_tmpfs_open_fn)(struct fb_inode *ino, struct fb_file *f);

/* A new tmpfs instance whose superblock reports `type` ("tmpfs", "devtmpfs"); the root directory
 * gets permission bits `mode`. On success *root holds the only reference to the root dentry.
 * Returns 0 or -ENOMEM. */
int fb_tmpfs_sb_new(const char *type, mode_t mode, struct fb_sb **sb, struct fb_dentry **root);

/* Free a superblock made by fb_tmpfs_sb_new once its last inode is gone (after the root dentry
 * was put). Returns 0, or -EBUSY (nothing freed) while inodes remain. */
int fb_tmpfs_sb_destroy(struct fb_sb *sb);

/* Create `name` in tmpfs directory dir as a node of type/permissions `mode` (S_IFCHR, S_IFBLK)
 * with device number rdev, opened through `open`. Owner root. Returns 0 or -errno (-EEXIST). */
int fb_tmpfs_add_special(struct fb_inode *dir, const char *name, mode_t mode, dev_t rdev,
                         fb_tmpfs_open_fn open);

/* Anonymous shared memory of `size` bytes (rounded up to pages) with no file or name, for
 * mappings of /dev/zero. On success *out holds the only reference (drop it with ops->put).
 * Returns 0, -EFBIG or -ENOMEM. */
int fb_shmem_mappable_new(uint64_t size, struct fb_mappable **out);

#endif
