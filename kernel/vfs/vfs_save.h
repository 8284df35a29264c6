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
/* FIFOs in tmpfs: the node's pipe (nil when nobody has it open), and a file open on one. */
void fb_fifo_save(const struct fb_inode *ino, struct fb_sw *w);
int fb_fifo_load(struct fb_inode *ino, struct fb_sr *r);
int fb_fifo_open_restored(struct fb_inode *ino, struct fb_file *f);

/* 9P files (p9fs.c): the page cache as (page index, memory-file offset) pairs. Loading adopts
 * the saved references (the memory file was restored with its reference counts). */
bool fb_inode_is_p9(const struct fb_inode *ino);
void fb_p9fs_cache_save(struct fb_inode *ino, struct fb_sw *w,
                        bool (*skip)(uint64_t page, void *arg), void *arg);
void fb_p9fs_cache_foreach(struct fb_inode *ino, void (*fn)(uint64_t page, void *arg), void *arg);
int fb_p9fs_cache_load(struct fb_inode *ino, struct fb_sr *r);
/* The inode behind a mappable of any filesystem (NULL if unknown). */
struct fb_inode *fb_p9fs_mappable_inode(struct fb_mappable *m);

/* tmpfs (tmpfs.c): regular-file pages, symlink targets and directory entries. */
bool fb_inode_is_tmpfs(const struct fb_inode *ino);
struct fb_inode *fb_tmpfs_mappable_inode(struct fb_mappable *m);
/* Entries of a directory, oldest first. */
int fb_tmpfs_dir_foreach(struct fb_inode *dir,
                         int (*fn)(const char *name, struct fb_inode *ino, uint64_t seq, void *arg),
                         void *arg);
uint64_t fb_tmpfs_dir_next_seq(struct fb_inode *dir);
void fb_tmpfs_set_next_seq(struct fb_inode *dir, uint64_t next);
/* The superblock of unlinked shared-memory files (memfd, MAP_SHARED|MAP_ANONYMOUS). */
struct fb_sb *fb_tmpfs_shm_sb(void);
/* Type-specific content: page pairs (regular), target (symlink), nil (directory); -ENOTSUP for
 * kinds not saved yet (FIFOs, sockets, device nodes). */
int fb_tmpfs_save_payload(struct fb_inode *ino, struct fb_sw *w);
/* A new inode of sb (or `existing`, e.g. a mount's root) with that payload; adopts page
 * references. Attributes are the caller's to set. */
struct fb_inode *fb_tmpfs_load_inode(struct fb_sb *sb, struct fb_inode *existing, mode_t mode,
                                     struct fb_sr *r);
/* Link ino into dir under name with readdir position seq (directory times unchanged). */
int fb_tmpfs_load_link(struct fb_inode *dir, const char *name, struct fb_inode *ino, uint64_t seq);
/* Does the parent chain of directory dir lead to root (within a bounded depth)? */
bool fb_tmpfs_dir_reaches(struct fb_inode *dir, const struct fb_inode *root);

/* eventfd, signalfd, timerfd (eventfd.c, signalfd.c, timerfd.c): their state, and a new file
 * with it and the given status flags. */
bool fb_file_is_eventfd(const struct fb_file *f);
void fb_eventfd_save(const struct fb_file *f, struct fb_sw *w);
int fb_eventfd_load(struct fb_sr *r, unsigned flags, struct fb_file **out);
void fb_signalfd_save(const struct fb_file *f, struct fb_sw *w);
int fb_signalfd_load(struct fb_sr *r, unsigned flags, struct fb_file **out);
void fb_timerfd_save(const struct fb_file *f, struct fb_sw *w);
int fb_timerfd_load(struct fb_sr *r, unsigned flags, struct fb_file **out);

/* epoll (epoll.c): the interest list in report order, each item by fd and file id; loading
 * re-adds them (files first restored) and sets their one-shot/edge state. */
int fb_epoll_foreach_target(struct fb_file *f, int (*fn)(struct fb_file *target, int fd, void *arg),
                            void *arg);
void fb_epoll_save(struct fb_file *f, struct fb_sw *w,
                   uint64_t (*id_of)(struct fb_file *target, void *arg), void *arg);
int fb_epoll_load_items(struct fb_file *f, struct fb_sr *r,
                        struct fb_file *(*file_at)(uint64_t id, void *arg), void *arg);

/* Unix sockets (socket_unix.c). Images made before the general form hold socketpair ends
 * (options and queued bytes): fb_socket_load_pair_state applies one to an end of a fresh pair. */
bool fb_file_is_socket(const struct fb_file *f);
int fb_socket_load_pair_state(struct fb_file *f, struct fb_sr *r);

/* The general form, what fnbox saves now: any socket reachable from saved files — named, listening with its pending
 * connections, accepted, datagram — with references to other sockets by file id, by
 * (listener file id, queue index) or, for a socket whose file is gone, inline. */
struct fb_socket_saveset {
    const struct fb_file **files; /* every socket file being saved, with its id */
    const uint64_t *ids;
    size_t n;
    uint64_t (*inode_id)(struct fb_inode *ino, void *arg); /* a tmpfs inode's id */
    uint64_t (*file_id)(struct fb_file *f, void *arg);     /* a saved file's id, or 0 */
    void *arg;
    const char *why; /* set when something cannot be saved */
};
struct fb_inode *fb_socket_bound_inode(const struct fb_file *f);
/* Every file in flight in f's socket (its queue and its pending connections' queues). */
int fb_socket_foreach_inflight(const struct fb_file *f, int (*fn)(struct fb_file *f, void *arg),
                               void *arg);
void fb_socket_save(const struct fb_file *f, struct fb_sw *w, struct fb_socket_saveset *set);
struct fb_socket_loadset {
    struct fb_file *(*file_at)(uint64_t id, void *arg);
    struct fb_inode *(*inode_at)(uint64_t id, void *arg);
    void *arg;
};
struct msgpack_object;
bool fb_socket_state_is_general(const struct msgpack_object *st);
/* Two passes over every socket file (fresh, unconnected, of the saved type): first its own
 * state, name and pending connections, then (every socket existing) its references. */
int fb_socket_load_self(struct fb_file *f, const struct msgpack_object *st,
                         struct fb_socket_loadset *set);
int fb_socket_load_links(struct fb_file *f, const struct msgpack_object *st,
                          struct fb_socket_loadset *set);

#endif
