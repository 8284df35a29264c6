/* Namespaces kept between runs of the command line (`fnbox restore`): the empty network
 * and IPC namespaces, the Sentry's empty root and the Gofer's view, each bind-mounted under a directory of
 * the host (default /run/fnbox/ns) so that the next restore joins them instead of making its
 * own, as `fnbox serve` does with the ones it holds in memory. Making them is most of a
 * restore's set-up: ~0.6 ms of CPU for the network namespace (and as much again to tear it
 * down), 1.5-2.5 ms for the view, on the restore's critical path.
 *
 * An entry is "<key>.<expiry>.<pid>": key names what it is ("net.1", "ipc.1", "root.1",
 * "view-<hash>"), expiry is CLOCK_BOOTTIME seconds after which it is removed by whichever
 * restore sees it next, pid the publisher's (publishers never collide). A view's entry has a
 * sidecar "<name>.fp" holding the view's full fingerprint (fb_gofer_view_fingerprint): a cached
 * view is used only if it was built from the same host objects at the same paths, and for a
 * minute at most (a host file replaced since is another inode, a fingerprint mismatch).
 *
 * The directory must be a directory owned by this user with no access for group or other;
 * it is made a private mount of its own (entries never propagate into other mount
 * namespaces). FNBOX_NS_CACHE=0 turns the cache off; FNBOX_NS_CACHE_DIR moves it. Every
 * failure only means the restore makes its own namespaces, as without a cache. */
#ifndef FB_API_NS_CACHE_H
#define FB_API_NS_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "api/sandbox.h"

#define FB_NS_CACHE_DIR      "/run/fnbox/ns"
#define FB_NS_CACHE_VIEW_TTL 60   /* seconds: as fnbox serve's views (VIEW_MAX_AGE_NS) */
#define FB_NS_CACHE_NS_TTL   3600 /* seconds: the empty network and IPC namespaces, the root */

/* The cache directory, open O_PATH, made if missing; -1 if the cache is off or unusable (the
 * reason logged at debug level). */
int fb_ns_cache_open(void);

/* An fd (O_RDONLY, O_CLOEXEC) of an unexpired entry key of namespace type nstype (CLONE_NEW*)
 * whose fingerprint is fp (NULL: no fingerprint), or -1. Removes every expired entry it
 * sees, of any key, and other entries equal to the one it returns (restores that started
 * together each made one). */
int fb_ns_cache_get(int dirfd, const char *key, const char *fp, int nstype);

/* The same for several entries in one pass over the directory: w[i].fd gets the fd of key
 * w[i].key (fingerprint w[i].fp or NULL, type w[i].nstype), or -1. */
struct fb_ns_cache_want {
    const char *key, *fp;
    int nstype;
    int fd; /* out */
};
void fb_ns_cache_get_many(int dirfd, struct fb_ns_cache_want *w, size_t n);

/* Publish the namespace at ns_path (e.g. /proc/PID/ns/mnt, /proc/self/fd/N) as an entry key
 * with fingerprint fp (NULL: none), expiring ttl_s seconds from now. 0 or -1 (nothing left
 * behind). */
int fb_ns_cache_put(int dirfd, const char *key, const char *fp, const char *ns_path,
                    uint32_t ttl_s);

/* A view's key from its fingerprint: "view-" and 16 hex digits. */
void fb_ns_cache_view_key(const char *fp, char *key, size_t cap);

/* ---- for a command's sandboxes (fnbox restore, fnbox run) ---- */

/* The namespaces a command took from the cache, or made and kept there, for its sandboxes. */
struct fb_ns_cache_use {
    int dir;                  /* the cache directory, or -1: no cache */
    int netns, rootns, ipcns; /* fds given to the sandbox configuration, or -1 */
};
#define FB_NS_CACHE_USE_INIT {.dir = -1, .netns = -1, .rootns = -1, .ipcns = -1}

/* fb_sandbox_start with the cache: cfg gets what the cache holds for the namespaces it does not
 * name yet (the view: the cache's directory, where the Gofer looks for a kept one), and the
 * empty network namespace and root are made and kept when it holds none; after the start, a
 * view the Gofer built is kept if the host's sources are still those it was built from.
 * Nothing of the cache for a warm pool's sandbox (cfg->ready_fd): its owner holds its own.
 * Callable before every start of a series (torture restarts): what was given stays. */
int fb_ns_cache_sandbox_start(struct fb_ns_cache_use *c, struct fb_sandbox_config *cfg,
                              struct fb_sandbox *sb, struct fb_error *err);
/* After the last sandbox: close what c holds. */
void fb_ns_cache_release(struct fb_ns_cache_use *c);

#endif
