/* 9P2000.L client used by the Sentry's 9P-backed filesystem to reach the Gofer.
 * Synchronous and thread-safe: one request in flight, serialized by an internal mutex. */
#ifndef FB_GOFER_P9_CLIENT_H
#define FB_GOFER_P9_CLIENT_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

/* struct fb_p9_qid, fb_p9_attr, fb_p9_statfs, fb_p9_dirent, fb_p9_setattr, FB_P9_NOFID and the
 * protocol constants (FB_P9_GETATTR_*, FB_P9_SETATTR_*, FB_P9_QT*) live in the wire header. */
#include "gofer/p9.h"

struct fb_p9_client;

/*
 * Conventions for every function below:
 *  - returns 0 (or a count) on success and a negative errno on failure: the server's Rlerror
 *    code negated; -EPROTO for a malformed or unexpected reply; -EPIPE / -ECONNRESET once the
 *    channel is gone (every later call then fails the same way).
 *  - a hostile reply never crashes the client and never makes it read or write out of bounds.
 *  - callable from any thread; calls are serialized (the mutex is held for one round trip).
 *  - fids are allocated and recycled by the client (attach, walk); fb_p9c_clunk releases them.
 */

/* Handshake (Tversion "9P2000.L") on a connected stream socket. msize is the largest message
 * wanted (0 = FB_P9_DEFAULT_MSIZE, 1 MiB + 64; below FB_P9_MIN_MSIZE is -EINVAL); the
 * negotiated value is the smaller of both sides. Takes ownership of sock: it is closed on
 * failure and by fb_p9c_free. -EPROTONOSUPPORT if the server does not speak 9P2000.L. */
int fb_p9c_new(int sock, uint32_t msize, struct fb_p9_client **out);
/* Close the channel and free the client. Does not clunk outstanding fids. NULL is a no-op. */
void fb_p9c_free(struct fb_p9_client *c);
uint32_t fb_p9c_msize(const struct fb_p9_client *c);  /* negotiated msize */
uint32_t fb_p9c_max_io(const struct fb_p9_client *c); /* max bytes per read/write payload */

/* Attach to the served tree ("" or "/" = view root; an absolute path attaches below it, walked
 * one component at a time without following symlinks). Allocates *fid. */
int fb_p9c_attach(struct fb_p9_client *c, const char *aname, uint32_t *fid, struct fb_p9_qid *qid);

/* Walk nwname (0..16) components from fid to a NEW fid allocated by the client. nwname == 0
 * clones the fid (last_qid is then zeroed). If not all components could be walked, no fid is
 * created and the result is -ENOENT (or the server's error when the first component failed);
 * on such a partial walk *last_qid holds the qid of the last component that WAS walked, so a
 * caller can see that the walk stopped at a symlink (type FB_P9_QTSYMLINK). The gofer rejects
 * "", ".", ".." and names with '/' with -EINVAL. last_qid may be NULL. */
int fb_p9c_walk(struct fb_p9_client *c, uint32_t fid, int nwname, const char *const *names,
                uint32_t *newfid, struct fb_p9_qid *last_qid);
int fb_p9c_getattr(struct fb_p9_client *c, uint32_t fid, uint64_t mask, struct fb_p9_attr *out);
/* fnbox extension: walk (1..16 names) to a new fid and get the attributes of the last node in
 * one round trip. Partial walks give -ENOENT and create no fid. */
int fb_p9c_walk_getattr(struct fb_p9_client *c, uint32_t fid, int nwname,
                        const char *const *names, uint32_t *newfid, struct fb_p9_attr *attr);
/* fnbox extension: a fresh read-only host fd for the regular file at fid (which stays
 * unopened), in one round trip. -EOPNOTSUPP if the server does not donate fds. */
int fb_p9c_open_fd(struct fb_p9_client *c, uint32_t fid, int *host_fd);
/* fb_p9c_open_fd for fids[0, n) (n <= FB_P9C_BATCH) in one round trip: the n requests go out
 * together and the replies, which the server sends in order, are read as they come. fds[i] is
 * the fd for fids[i] or its -errno. Returns 0, or the channel's error (then every fds[i] is it
 * too; a reply out of order or unframed kills the channel, as for every call). */
#define FB_P9C_BATCH 64
int fb_p9c_open_fds(struct fb_p9_client *c, const uint32_t *fids, int n, int *fds);
/* One step of a batch of walks: name from fid, or, fid FB_P9_NOFID, from the fid the earlier
 * entry `parent` makes; out: rc (0 or -errno), the new fid and the attributes of what it names. */
struct fb_p9c_walk1 {
    uint32_t fid;
    int parent;
    const char *name;
    int rc;
    uint32_t newfid;
    struct fb_p9_attr attr;
};
/* fb_p9c_walk_getattr of one name for w[0, n) (n <= FB_P9C_BATCH) in one round trip: an entry
 * whose parent failed fails too (the server knows no such fid). Invalid names or parents refuse
 * the whole batch (-EINVAL, nothing sent). Each entry with rc 0 holds newfid for the caller.
 * Returns 0, or the channel's error (the entries answered before it keep their results, the
 * others have it as rc). */
int fb_p9c_walk_getattr_many(struct fb_p9_client *c, struct fb_p9c_walk1 *w, int n);
int fb_p9c_setattr(struct fb_p9_client *c, uint32_t fid, const struct fb_p9_setattr *sa);

/* Open fid with Linux open flags (O_RDONLY/O_WRONLY/O_RDWR/O_TRUNC/O_APPEND/O_DIRECTORY...).
 * If host_fd is non-NULL, the server is asked to donate a host fd for a REGULAR file opened
 * O_RDONLY (FB_P9_LOPEN_DONATE_FD, see p9.h); *host_fd is that fd (O_CLOEXEC, owned by the
 * caller, verified to be a regular file) or -1 if none was donated. */
int fb_p9c_lopen(struct fb_p9_client *c, uint32_t fid, uint32_t flags, struct fb_p9_qid *qid,
                 uint32_t *iounit, int *host_fd);
/* Create+open name in directory fid; on success fid now refers to the new open file (9P
 * semantics). The gofer always creates exclusively (EEXIST if name exists). */
int fb_p9c_lcreate(struct fb_p9_client *c, uint32_t fid, const char *name, uint32_t flags,
                   uint32_t mode, uint32_t gid, struct fb_p9_qid *qid, uint32_t *iounit);

/* Positional I/O on an opened fid; count is clamped to max_io. Returns bytes transferred. The
 * read payload lands directly in buf, the write payload is sent from buf (no copies). */
ssize_t fb_p9c_read(struct fb_p9_client *c, uint32_t fid, uint64_t off, void *buf, uint32_t count);
ssize_t fb_p9c_write(struct fb_p9_client *c, uint32_t fid, uint64_t off, const void *buf,
                     uint32_t count);

/* Read directory entries of an opened directory fid starting at cookie `off` (0 = start; then
 * the .offset of the last entry returned). Fills up to max entries, returns how many (0 = end).
 * "." and ".." are never returned. */
int fb_p9c_readdir(struct fb_p9_client *c, uint32_t fid, uint64_t off, struct fb_p9_dirent *ents,
                   int max);
/* Symlink target, NUL-terminated; returns its length or -ENAMETOOLONG if it needs > bufsz. */
int fb_p9c_readlink(struct fb_p9_client *c, uint32_t fid, char *buf, size_t bufsz);
int fb_p9c_statfs(struct fb_p9_client *c, uint32_t fid, struct fb_p9_statfs *out);
int fb_p9c_mkdir(struct fb_p9_client *c, uint32_t dfid, const char *name, uint32_t mode,
                 uint32_t gid, struct fb_p9_qid *qid);
int fb_p9c_symlink(struct fb_p9_client *c, uint32_t dfid, const char *name, const char *target,
                   uint32_t gid, struct fb_p9_qid *qid);
int fb_p9c_mknod(struct fb_p9_client *c, uint32_t dfid, const char *name, uint32_t mode,
                 uint32_t major, uint32_t minor, uint32_t gid, struct fb_p9_qid *qid);
int fb_p9c_link(struct fb_p9_client *c, uint32_t dfid, uint32_t fid, const char *name);
int fb_p9c_unlinkat(struct fb_p9_client *c, uint32_t dfid, const char *name,
                    uint32_t flags /* AT_REMOVEDIR */);
int fb_p9c_renameat(struct fb_p9_client *c, uint32_t olddfid, const char *oldname, uint32_t newdfid,
                    const char *newname);
int fb_p9c_fsync(struct fb_p9_client *c, uint32_t fid);
/* Release fid on both sides (the fid number is recycled even if the server reports an error). */
int fb_p9c_clunk(struct fb_p9_client *c, uint32_t fid);

#endif
