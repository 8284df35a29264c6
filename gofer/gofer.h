/* The Gofer: a host process that builds a private file view (gofer/view.c) and serves it to
 * the Sentry over 9P2000.L (gofer/server.c). See docs/gofer.md. */
#ifndef FB_GOFER_GOFER_H
#define FB_GOFER_GOFER_H

#include <stdbool.h>
#include <stddef.h>

#include "kernel/util/error.h"

struct fb_gofer_mount {
    const char *src; /* host path (resolved in the caller's mount namespace) */
    const char *dst; /* absolute path in the view */
    bool ro;
};

struct fb_gofer_config {
    const char *root; /* --root DIR: serve this host tree as "/", read-only; NULL = default view */
    const struct fb_gofer_mount *mounts; /* extra trees (--mount SRC:DST[:ro]) */
    size_t nmounts;
    bool donate_fds; /* allow fd donation on Tlopen */
    /* Called by fb_gofer_serve() once it holds everything it needs from the view by path (the
     * root, the read-write mount ids) and before it reads the first message: the lock-down
     * (api/confine.c). NULL = none (unit tests). A failure ends serving. */
    int (*confine)(struct fb_error *err);
};

/* In the calling process (a freshly forked child, running as root): unshare(CLONE_NEWNS), make
 * all mounts private, build the view on a new tmpfs, pivot_root into it, drop the old root.
 * Afterwards the process sees only the view; cwd is "/". Returns 0, or -1 with err set (the
 * process's mount namespace may then be half-built: the caller should exit). */
int fb_gofer_prepare_view(const struct fb_gofer_config *cfg, struct fb_error *err);

/* What fb_gofer_prepare_view would build for cfg now, as text: every entry's path in the view
 * with, for a bind, the device and inode of its host source (and ro/rw, directory or file), for
 * a symlink its target. Views with equal fingerprints serve the same host objects at the same
 * paths (a replaced file or directory is another inode): one may stand in for the other
 * (api/ns_cache.c). Looks, captures nothing: no mount namespace needed. Caller frees; NULL with
 * err set if the view could not be built either. */
char *fb_gofer_view_fingerprint(const struct fb_gofer_config *cfg, struct fb_error *err);

/* Serve 9P2000.L on sock until the peer closes it (returns 0) or a fatal channel error (returns
 * -errno, after logging it). Serves the calling process's "/" (the view after
 * fb_gofer_prepare_view). Everything is read-only except the trees of cfg->mounts with !ro,
 * identified by their mount ids under "/"; cfg->donate_fds enables fd donation. Sets the
 * process umask to 0 (the Sentry applies the application's umask). Never exits the process;
 * never crashes on malformed input. Does not close sock. */
int fb_gofer_serve(int sock, const struct fb_gofer_config *cfg);

#endif
