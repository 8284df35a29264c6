/* What the checkpoint code (snapshot/kstate.c) needs from individual filesystems: identifying
 * an inode's kind and saving/restoring the state only the filesystem can see. */
#ifndef FB_VFS_VFS_SAVE_H
#define FB_VFS_VFS_SAVE_H

#include <stdbool.h>

#include "kernel/vfs/vfs.h"
#include "snapshot/state.h"

/* Pipes (pipe.c): capacity and buffered bytes; files re-attach as readers/writers. */
bool fb_inode_is_anon_pipe(const struct fb_inode *ino);
void fb_pipe_save(const struct fb_inode *ino, struct fb_sw *w);
struct fb_inode *fb_pipe_load(struct fb_sr *r);
struct fb_file *fb_pipe_file_restore(struct fb_inode *ino, unsigned flags);

/* 9P files (p9fs.c): the page cache as (page index, memory-file offset) pairs. Loading adopts
 * the saved references (the memory file was restored with its reference counts). */
bool fb_inode_is_p9(const struct fb_inode *ino);
void fb_p9fs_cache_save(struct fb_inode *ino, struct fb_sw *w);
int fb_p9fs_cache_load(struct fb_inode *ino, struct fb_sr *r);
/* The inode behind a mappable of any filesystem (NULL if unknown). */
struct fb_inode *fb_p9fs_mappable_inode(struct fb_mappable *m);

/* tmpfs (tmpfs.c): regular-file pages, symlink targets and directory entries. */
bool fb_inode_is_tmpfs(const struct fb_inode *ino);
struct fb_inode *fb_tmpfs_mappable_inode(struct fb_mappable *m);

#endif
