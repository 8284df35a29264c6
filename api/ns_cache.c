/* Namespaces kept between command-line runs (see ns_cache.h). */
#include "api/ns_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/cli.h"
#include "api/sandbox.h"
#include "gofer/gofer.h"
#include "kernel/util/log.h"

#define FP_MAX (1u << 20) /* a view's fingerprint is a few kB; --root with 4096 entries more */

static const char *cache_path(void)
{
    return fb_cli_cache_dir("FNBOX_NS_CACHE", "FNBOX_NS_CACHE_DIR", FB_NS_CACHE_DIR);
}

static uint64_t boot_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (uint64_t)ts.tv_sec;
}

int fb_ns_cache_open(void)
{
    const char *path = cache_path();
    struct statx stx;
    int fd = fb_cli_open_cache_dir(path, true, "namespace cache", "not used", &stx);

    if (fd < 0)
        return -1;
    /* A mount of its own, private: the bind mounts made in it stay out of every other mount
     * namespace (and out of the views copied from the host's). */
    if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) ||
        !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
        close(fd);
        if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) != 0 ||
            mount(NULL, path, NULL, MS_PRIVATE | MS_REC, NULL) != 0) {
            fb_dbg("namespace cache %s: making it a private mount: %s (not used)", path,
                   strerror(errno));
            return -1;
        }
        fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    return fd;
}

/* "<key>.<expiry>.<pid>": key, expiry; false for anything else (sidecars included). */
static bool parse_name(const char *name, char *key, size_t cap, uint64_t *expiry)
{
    const char *dot2 = strrchr(name, '.'), *dot1;
    char *end;
    size_t n;

    if (!dot2 || dot2 == name)
        return false;
    for (dot1 = dot2 - 1; dot1 > name && *dot1 != '.'; dot1--)
        ;
    if (dot1 == name || dot2[1] < '0' || dot2[1] > '9' || dot1[1] < '0' || dot1[1] > '9')
        return false;
    strtoul(dot2 + 1, &end, 10);
    if (*end)
        return false;
    *expiry = strtoull(dot1 + 1, &end, 10);
    if (end != dot2)
        return false;
    n = (size_t)(dot1 - name);
    if (n >= cap)
        return false;
    memcpy(key, name, n);
    key[n] = 0;
    return true;
}

static void remove_entry(int dirfd, const char *name)
{
    char path[PATH_MAX], fp[NAME_MAX + 4];

    snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name);
    (void)umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);
    unlinkat(dirfd, name, 0);
    snprintf(fp, sizeof(fp), "%s.fp", name);
    unlinkat(dirfd, fp, 0);
}

static bool fp_matches(int dirfd, const char *name, const char *fp)
{
    char side[NAME_MAX + 4], *buf;
    size_t want = strlen(fp), got = 0;
    bool ok = false;
    int fd;

    snprintf(side, sizeof(side), "%s.fp", name);
    fd = openat(dirfd, side, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return false;
    buf = malloc(want + 1);
    while (buf && got <= want) {
        ssize_t k = read(fd, buf + got, want + 1 - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    ok = buf && got == want && memcmp(buf, fp, want) == 0;
    free(buf);
    close(fd);
    return ok;
}

void fb_ns_cache_get_many(int dirfd, struct fb_ns_cache_want *w, size_t n)
{
    uint64_t now = boot_seconds(), expiry;
    char k[NAME_MAX + 1];
    struct dirent *de;
    size_t i;
    int dfd;
    DIR *d;

    for (i = 0; i < n; i++)
        w[i].fd = -1;
    if (dirfd < 0)
        return;
    dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return;
    }
    while ((de = readdir(d))) {
        if (!parse_name(de->d_name, k, sizeof(k), &expiry))
            continue;
        if (now >= expiry || expiry > now + FB_NS_CACHE_NS_TTL) {
            /* expired, or from another boot's clock */
            remove_entry(dirfd, de->d_name);
            continue;
        }
        for (i = 0; i < n; i++)
            if (!strcmp(k, w[i].key) && (!w[i].fp || fp_matches(dirfd, de->d_name, w[i].fp)))
                break;
        if (i == n)
            continue;
        if (w[i].fd >= 0) {
            /* A second one of the same (restores that started together each made one): one
             * is enough. Whoever holds it open keeps its namespace. */
            remove_entry(dirfd, de->d_name);
            continue;
        }
        w[i].fd = openat(dirfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (w[i].fd >= 0) {
            int t = ioctl(w[i].fd, NS_GET_NSTYPE);
            if (t != w[i].nstype) {
                close(w[i].fd);
                w[i].fd = -1;
                if (t < 0) /* the mount went and left the empty file, or worse */
                    remove_entry(dirfd, de->d_name);
            }
        }
    }
    closedir(d);
}

int fb_ns_cache_get(int dirfd, const char *key, const char *fp, int nstype)
{
    struct fb_ns_cache_want w = {.key = key, .fp = fp, .nstype = nstype};

    fb_ns_cache_get_many(dirfd, &w, 1);
    return w.fd;
}

int fb_ns_cache_put(int dirfd, const char *key, const char *fp, const char *ns_path,
                    uint32_t ttl_s)
{
    char name[NAME_MAX + 1], side[NAME_MAX + 4], path[PATH_MAX];
    size_t len = fp ? strlen(fp) : 0;
    int fd;

    if (dirfd < 0 || len > FP_MAX)
        return -1;
    if ((size_t)snprintf(name, sizeof(name) - 3, "%s.%llu.%d", key,
                         (unsigned long long)(boot_seconds() + ttl_s), (int)getpid()) >=
        sizeof(name) - 3)
        return -1;
    snprintf(side, sizeof(side), "%s.fp", name);
    if (fp) { /* the sidecar first: a published entry always has it */
        size_t done = 0;
        fd = openat(dirfd, side, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            return -1;
        while (done < len) {
            ssize_t k = write(fd, fp + done, len - done);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                break;
            done += (size_t)k;
        }
        close(fd);
        if (done < len) {
            unlinkat(dirfd, side, 0);
            return -1;
        }
    }
    fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        unlinkat(dirfd, side, 0);
        return -1;
    }
    close(fd);
    snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name);
    if (mount(ns_path, path, NULL, MS_BIND, NULL) != 0) {
        fb_dbg("namespace cache: binding %s: %s", ns_path, strerror(errno));
        unlinkat(dirfd, name, 0);
        unlinkat(dirfd, side, 0);
        return -1;
    }
    return 0;
}

void fb_ns_cache_view_key(const char *fp, char *key, size_t cap)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a: the name only; the sidecar decides */

    for (const unsigned char *p = (const unsigned char *)fp; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    snprintf(key, cap, "view-%016llx", (unsigned long long)h);
}

/* ---- for a command's sandboxes ------------------------------------------------------------- */

/* An empty namespace of type (CLONE_NEW*): fd from the cache if it held one (>= 0), else made
 * by make and kept there; -1 if neither (the sandbox then makes its own). */
static int empty_ns(int dir, int fd, const char *key, int (*make)(struct fb_error *),
                    const char **how)
{
    struct fb_error e = {0};
    char path[64];

    *how = "joined";
    if (fd >= 0)
        return fd;
    fd = make(&e);
    if (fd < 0) {
        *how = "-";
        return -1;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    *how = fb_ns_cache_put(dir, key, NULL, path, FB_NS_CACHE_NS_TTL) == 0 ? "made and kept"
                                                                          : "made";
    return fd;
}

/* Give cfg what the cache holds for the namespaces it does not name yet (the view: the cache's
 * directory, where the Gofer looks); make and keep the empty network namespace and root when
 * it holds none. The empty ones are looked up in one pass over the directory. */
static void join(struct fb_ns_cache_use *c, struct fb_sandbox_config *cfg)
{
    const char *how[4] = {"-", "-", "-", "-"};
    /* net, root, ipc: the cache's key, namespace type and maker, the config's fd and ours.
     * Making an IPC namespace in each clone cost ~0.06 ms more per clone, and the host's
     * worker its teardown after the exit. */
    struct {
        const char *key;
        int type;
        int (*make)(struct fb_error *);
        int *cfg_fd, *kept, how;
    } ns[3] = {
        {"net.1", CLONE_NEWNET, fb_sandbox_empty_netns, &cfg->netns_fd, &c->netns, 0},
        {"root.1", CLONE_NEWNS, fb_sandbox_empty_root_ns, &cfg->root_ns_fd, &c->rootns, 1},
        {"ipc.1", CLONE_NEWIPC, fb_sandbox_empty_ipcns, &cfg->ipcns_fd, &c->ipcns, 3},
    };
    struct fb_ns_cache_want w[3];
    size_t i, n = 0, at[3];

    if (cfg->ready_fd >= 0 ||
        (cfg->netns_fd > 2 && cfg->root_ns_fd > 2 && cfg->view_fd > 2 && cfg->ipcns_fd > 2))
        return;
    if (c->dir < 0)
        c->dir = fb_ns_cache_open();
    if (c->dir < 0)
        return;
    for (i = 0; i < 3; i++)
        if (*ns[i].cfg_fd <= 2 && *ns[i].kept < 0) {
            w[n] = (struct fb_ns_cache_want){.key = ns[i].key, .nstype = ns[i].type};
            at[n++] = i;
        }
    if (n)
        fb_ns_cache_get_many(c->dir, w, n);
    for (i = 0; i < n; i++) {
        size_t j = at[i];
        *ns[j].cfg_fd = *ns[j].kept =
            empty_ns(c->dir, w[i].fd, ns[j].key, ns[j].make, &how[ns[j].how]);
    }
    if (cfg->view_fd <= 2) {
        /* The Gofer looks for a kept view itself (cached_view in sandbox.c): the fingerprint
         * takes 0.2-0.5 ms, better spent beside the Sentry's start than before it. */
        cfg->view_cache_fd = c->dir;
        how[2] = "looked up by the Gofer";
    }
    fb_dbg("namespace cache: network %s, root %s, view %s, IPC %s", how[0], how[1], how[2],
           how[3]);
}

/* Keep the view the Gofer built (it says so with the key of the fingerprint it built from),
 * if the host's sources are still those that fingerprint saw (a source replaced meanwhile
 * would sit in the view under the new fingerprint). */
static void publish_view(struct fb_ns_cache_use *c, const struct fb_sandbox_config *cfg,
                         const struct fb_sandbox *sb)
{
    struct fb_error e = {0};
    char path[64], key[32], *fp;

    if (c->dir < 0 || cfg->view_cache_fd != c->dir || !sb->view_key[0])
        return;
    fp = fb_gofer_view_fingerprint(&cfg->gofer, &e);
    if (!fp)
        return;
    fb_ns_cache_view_key(fp, key, sizeof(key));
    snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)sb->gofer);
    fb_dbg("namespace cache: view %s",
           strcmp(key, sb->view_key) ? "changed while built: not kept"
           : fb_ns_cache_put(c->dir, key, fp, path, FB_NS_CACHE_VIEW_TTL) == 0 ? "kept"
                                                                              : "not kept");
    free(fp);
}

int fb_ns_cache_sandbox_start(struct fb_ns_cache_use *c, struct fb_sandbox_config *cfg,
                              struct fb_sandbox *sb, struct fb_error *err)
{
    join(c, cfg);
    if (fb_sandbox_start(cfg, sb, err) < 0)
        return -1;
    publish_view(c, cfg, sb);
    return 0;
}

void fb_ns_cache_release(struct fb_ns_cache_use *c)
{
    int *fds[] = {&c->dir, &c->netns, &c->rootns, &c->ipcns};

    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
}
