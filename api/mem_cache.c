/* Image memory kept decompressed between command-line restores (see mem_cache.h). */
#include "api/mem_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/cli.h"
#include "kernel/kernel.h"
#include "kernel/mm/memfile.h"
#include "kernel/mm/mm_save.h"
#include "kernel/util/log.h"

static const char *cache_path(void)
{
    return fb_cli_cache_dir("FNBOX_MEM_CACHE", "FNBOX_MEM_CACHE_DIR", FB_MEM_CACHE_DIR);
}

bool fb_mem_cache_on(void)
{
    return cache_path() != NULL;
}

static uint64_t max_bytes(void)
{
    return fb_cli_env_u64("FNBOX_MEM_CACHE_MB", 0, 1ull << 20, FB_MEM_CACHE_MAX_MB, "MiB") << 20;
}

/* The cache directory, open O_PATH, or -1. Made (and given its tmpfs) only to make an entry:
 * a lookup leaves the host as it found it. */
static int open_dir(bool create)
{
    const char *path = cache_path();
    struct statx stx;
    struct statfs sfs;
    char opts[64];
    int fd = fb_cli_open_cache_dir(path, create, "memory cache", "not used", &stx);

    if (fd < 0)
        return -1;
    /* Memory, not disk: the default directory gets a tmpfs of its own where /run is not one
     * (the entries are read by every restore and worth nothing after a reboot), as large as
     * the bound plus one entry in the making. A directory named by FNBOX_MEM_CACHE_DIR is used
     * as it is. */
    if (create && strcmp(path, FB_MEM_CACHE_DIR) == 0 && fstatfs(fd, &sfs) == 0 &&
        sfs.f_type != TMPFS_MAGIC) {
        snprintf(opts, sizeof(opts), "mode=0700,size=%lluk",
                 (unsigned long long)((max_bytes() >> 10) + FB_HOT_FILE_MAX_PAGES * 4ull));
        if (mount("fnbox-mem", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) == 0) {
            close(fd);
            fd = fb_cli_open_cache_dir(path, true, "memory cache", "not used", &stx);
        } else {
            fb_dbg("memory cache: a tmpfs on %s: %s (the directory used as it is)", path,
                   strerror(errno));
        }
    }
    return fd;
}

static uint64_t ns_of(const struct timespec *t)
{
    return (uint64_t)t->tv_sec * 1000000000ull + (uint64_t)t->tv_nsec;
}

int fb_mem_cache_name(int image_fd, char *name, size_t cap)
{
    struct stat st;

    if (fstat(image_fd, &st) != 0)
        return -1;
    snprintf(name, cap, "v1-%lx-%lx-%lx-%lx-%lx", (unsigned long)st.st_dev,
             (unsigned long)st.st_ino, (unsigned long)st.st_size,
             (unsigned long)ns_of(&st.st_mtim), (unsigned long)ns_of(&st.st_ctim));
    return 0;
}

/* Is this open entry one of ours, written whole? */
static bool entry_ok(int fd, const char *name)
{
    struct stat st;

    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 0277) || st.st_nlink != 1 || st.st_size <= 0 || st.st_size % 4096) {
        fb_dbg("memory cache: entry %s is not a read-only file of this user's with one link "
               "and whole pages (not used)",
               name);
        return false;
    }
    return true;
}

int fb_mem_cache_get(int image_fd)
{
    char name[128];
    int dir, fd;

    if (fb_mem_cache_name(image_fd, name, sizeof(name)) < 0)
        return -1;
    dir = open_dir(false);
    if (dir < 0)
        return -1;
    fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    close(dir);
    if (fd < 0) {
        fb_dbg("memory cache: none for this image (%s)", name);
        return -1;
    }
    if (!entry_ok(fd, name)) {
        close(fd);
        return -1;
    }
    /* Used now: the access time orders the entries for removal. */
    (void)futimens(fd, (struct timespec[2]){{.tv_nsec = UTIME_NOW}, {.tv_nsec = UTIME_OMIT}});
    fb_dbg("memory cache: image memory from entry %s", name);
    return fd;
}

struct entry {
    char name[128];
    uint64_t atime_ns, bytes;
};

static int by_atime(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    return x->atime_ns < y->atime_ns ? -1 : x->atime_ns > y->atime_ns;
}

/* Remove the files named prefix* not used (their access time) for ttl seconds, then the least
 * recently used until the rest take at most max. */
static void trim(int dir, const char *prefix, unsigned ttl, uint64_t max)
{
    struct entry *e = NULL;
    size_t n = 0, cap = 0, i;
    uint64_t total = 0, now;
    struct timespec ts;
    struct dirent *d;
    DIR *dp;
    int rfd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (rfd < 0 || !(dp = fdopendir(rfd))) {
        if (rfd >= 0)
            close(rfd);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    now = ns_of(&ts);
    while ((d = readdir(dp))) {
        struct stat st;
        if (strncmp(d->d_name, prefix, strlen(prefix)) != 0 ||
            strlen(d->d_name) >= sizeof(e->name) ||
            fstatat(dir, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (ns_of(&st.st_atim) + (uint64_t)ttl * 1000000000ull < now) {
            fb_dbg("memory cache: entry %s unused for %u s: removed", d->d_name, ttl);
            unlinkat(dir, d->d_name, 0);
            continue;
        }
        if (n == cap) {
            struct entry *ne = realloc(e, (cap = cap ? 2 * cap : 16) * sizeof(*e));
            if (!ne)
                break;
            e = ne;
        }
        snprintf(e[n].name, sizeof(e[n].name), "%s", d->d_name);
        e[n].atime_ns = ns_of(&st.st_atim);
        e[n].bytes = (uint64_t)st.st_blocks * 512;
        total += e[n].bytes;
        n++;
    }
    closedir(dp);
    if (n)
        qsort(e, n, sizeof(*e), by_atime);
    for (i = 0; i < n && total > max; i++) {
        fb_dbg("memory cache: entry %s removed (%.1f MiB in all, %.0f MiB kept at most)",
               e[i].name, total / 1048576.0, max / 1048576.0);
        unlinkat(dir, e[i].name, 0);
        total -= e[i].bytes;
    }
    free(e);
}

int fb_mem_cache_put(int image_fd, struct fb_error *err)
{
    char name[128], self[64], tmp[64];
    uint64_t pages = 0, max;
    int64_t t0 = fb_host_mono_ns();
    struct stat st;
    int dir, wdir = -1, fd = -1, rc = 0;

    if (fb_mem_cache_name(image_fd, name, sizeof(name)) < 0)
        return 0;
    dir = open_dir(true);
    if (dir < 0)
        return 0;
    wdir = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (wdir < 0 || flock(wdir, LOCK_EX | LOCK_NB) != 0) /* another one is making one */
        goto out;
    if (faccessat(dir, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        goto out;
    fd = openat(wdir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0400);
    if (fd < 0) {
        rc = fb_error_set(err, errno, "memory cache: a new entry: %s", strerror(errno));
        goto out;
    }
    snprintf(self, sizeof(self), "/proc/self/fd/%d", image_fd); /* this very image file */
    if (fb_memfile_hot_write(self, FB_HOT_FILE_MAX_PAGES, fd, &pages, err) < 0) {
        rc = -1;
        goto out;
    }
    if (pages == 0) /* its hot pages do not come first: nothing to gain */
        goto out;
    /* Room for it: the least recently used go (it is not kept if larger than the bound). */
    max = max_bytes();
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_blocks * 512 > max) {
        fb_dbg("memory cache: the image's memory is larger than the cache (%.0f MiB, "
               "FNBOX_MEM_CACHE_MB): not kept", max / 1048576.0);
        goto out;
    }
    trim(dir, "v1-", FB_MEM_CACHE_TTL, max - (uint64_t)st.st_blocks * 512);
    snprintf(tmp, sizeof(tmp), "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, tmp, dir, name, AT_SYMLINK_FOLLOW) != 0) {
        if (errno != EEXIST)
            rc = fb_error_set(err, errno, "memory cache: keeping the entry: %s", strerror(errno));
        goto out;
    }
    rc = 1;
    fb_dbg("memory cache: entry %s made (%lu pages) in %.1f ms", name, (unsigned long)pages,
           (fb_host_mono_ns() - t0) / 1e6);
out:
    if (fd >= 0)
        close(fd);
    if (wdir >= 0)
        close(wdir); /* (the lock with it) */
    close(dir);
    return rc;
}

/* ---- memory files handed from one restore of an image to the next ------------------------- */

static const char *spare_path(void)
{
    return fb_cli_cache_dir("FNBOX_MEM_SPARE", "FNBOX_MEM_SPARE_DIR", FB_MEM_SPARE_DIR);
}

static bool spare_fs_ok(int fd, bool *own_mount)
{
    struct statx stx;
    struct statfs sfs;

    if (fstatfs(fd, &sfs) != 0 || statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) != 0)
        return false;
    *own_mount = sfs.f_type == TMPFS_MAGIC && (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
                 (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
    /* Not noexec: the stubs map the program's code from its memory file. */
    return sfs.f_type == TMPFS_MAGIC && !(sfs.f_flags & ST_NOEXEC);
}

/* The spares' directory, open O_PATH, or -1 (the reason logged at debug level). The default
 * one gets a tmpfs of its own: a memory file grows as far as its sandbox's memory limit (no
 * bound of the directory's), advised regions get 2 MiB pages, and the stubs map code from it. A
 * directory named by FNBOX_MEM_SPARE_DIR is used as it is, if it is such a tmpfs. */
static int open_spare_dir(void)
{
    const char *path = spare_path();
    struct statx stx;
    bool own = false, ok;
    int fd = fb_cli_open_cache_dir(path, true, "memory files", "a memory file of the sandbox's own",
                                   &stx);

    if (fd < 0)
        return -1;
    ok = spare_fs_ok(fd, &own);
    if (!own && strcmp(path, FB_MEM_SPARE_DIR) == 0) {
        close(fd);
        fd = -1;
        if (mount("fnbox-spare", path, "tmpfs", MS_NOSUID | MS_NODEV,
                  "mode=0700,huge=advise,size=0") != 0)
            fb_dbg("memory files: a tmpfs on %s: %s", path, strerror(errno));
        else
            fd = fb_cli_open_cache_dir(path, false, "memory files",
                                       "a memory file of the sandbox's own", &stx);
        ok = fd >= 0 && spare_fs_ok(fd, &own);
    }
    if (ok)
        return fd;
    fb_dbg("memory files: %s is not a tmpfs that allows mapping code (a memory file of the "
           "sandbox's own)", path);
    if (fd >= 0)
        close(fd);
    return -1;
}

/* Slot i of the image's spares: "s-" and the memory cache entry's name. */
static void spare_slot(const char *key, int i, char *name, size_t cap)
{
    snprintf(name, cap, "s-%s-%d", key, i);
}

/* Is this open spare one of ours, with one name, fit for a memory file (a regular tmpfs file:
 * fb_memfile_given_check)? */
static bool spare_ok(int fd, const char *name)
{
    struct fb_error e = {0};
    struct stat st;

    if (fstat(fd, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & 077) ||
        st.st_nlink != 1 || fb_memfile_given_check(fd, &e) < 0) {
        fb_dbg("memory files: %s is not a read-write file of this user's alone with one link "
               "(removed)", name);
        return false;
    }
    return true;
}

static void touch(int fd)
{
    (void)futimens(fd, (struct timespec[2]){{.tv_nsec = UTIME_NOW}, {.tv_nsec = UTIME_OMIT}});
}

int fb_mem_cache_spare_take(int image_fd, struct fb_mem_spare *sp)
{
    char slot[160];
    uint32_t r = 0;
    int dir, fd = -1;

    sp->fd = sp->dir = -1;
    sp->name[0] = 0;
    sp->reused = false;
    if (fb_mem_cache_name(image_fd, sp->key, sizeof(sp->key)) < 0 ||
        (dir = open_spare_dir()) < 0)
        return -1;
    (void)!getrandom(&r, sizeof(r), GRND_NONBLOCK);
    snprintf(sp->name, sizeof(sp->name), "s-use-%d-%08x", (int)getpid(), r);
    /* Taken by a rename to a name of this restore's alone: of restores side by side, one gets
     * each spare. Nobody opens a spare but by the name it took it under. */
    for (int i = 0; i < FB_MEM_SPARE_MAX && fd < 0; i++) {
        spare_slot(sp->key, i, slot, sizeof(slot));
        if (renameat2(dir, slot, dir, sp->name, RENAME_NOREPLACE) != 0)
            continue;
        fd = openat(dir, sp->name, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd >= 0 && spare_ok(fd, slot)) {
            sp->reused = true;
            break;
        }
        if (fd >= 0)
            close(fd);
        fd = -1;
        unlinkat(dir, sp->name, 0);
    }
    if (fd < 0) {
        sp->name[0] = 0; /* a new file, named only when it is given back */
        fd = openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0) {
            fb_dbg("memory files: a new one in %s: %s", spare_path(), strerror(errno));
            close(dir);
            return -1;
        }
    }
    touch(fd); /* in use since now (trim spares by their access time) */
    fb_dbg("memory files: %s", sp->reused ? "a spare of an earlier restore of this image"
                                          : "a new one, kept for the next restore");
    sp->fd = fd;
    sp->dir = dir;
    return fd;
}

void fb_mem_cache_spare_put(struct fb_mem_spare *sp, uint64_t keep)
{
    char slot[160], self[64];
    bool kept = false;

    if (sp->fd < 0)
        return;
    if (fb_memfile_punch_from(sp->fd, keep, FB_MEMFILE_SIZE) == 0) {
        touch(sp->fd);
        trim(sp->dir, "s-", FB_MEM_SPARE_TTL, max_bytes());
        snprintf(self, sizeof(self), "/proc/self/fd/%d", sp->fd);
        for (int i = 0; i < FB_MEM_SPARE_MAX && !kept; i++) {
            spare_slot(sp->key, i, slot, sizeof(slot));
            kept = sp->name[0]
                       ? renameat2(sp->dir, sp->name, sp->dir, slot, RENAME_NOREPLACE) == 0
                       : linkat(AT_FDCWD, self, sp->dir, slot, AT_SYMLINK_FOLLOW) == 0;
            if (!kept && errno != EEXIST)
                break;
        }
    }
    if (kept)
        sp->name[0] = 0;
    fb_mem_cache_spare_drop(sp);
}

void fb_mem_cache_spare_drop(struct fb_mem_spare *sp)
{
    if (sp->name[0] && sp->dir >= 0)
        unlinkat(sp->dir, sp->name, 0);
    if (sp->fd >= 0)
        close(sp->fd);
    if (sp->dir >= 0)
        close(sp->dir);
    sp->fd = sp->dir = -1;
    sp->name[0] = 0;
}
