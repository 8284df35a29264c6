/* The Gofer's file view: a private mount namespace whose root is a small read-only tmpfs holding
 * bind mounts of the host trees the sandbox may see (default view, --root DIR, --mount). */
#include "gofer/gofer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernel/util/cleanup.h"
#include "kernel/util/log.h"

/* Where the view is assembled before pivot_root. Host sources are captured as detached mount
 * trees (open_tree) BEFORE the staging tmpfs covers this directory, so sources below it work. */
#define VIEW_STAGE       "/tmp"
#define VIEW_MAX_ENTRIES 4096 /* top-level entries reproduced for --root */

enum view_kind {
    VIEW_EMPTYDIR, /* directory on the view tmpfs */
    VIEW_SYMLINK,  /* symlink on the view tmpfs, same target as on the host */
    VIEW_BIND,     /* bind mount of a host directory or regular file */
};

struct view_ent {
    char dst[PATH_MAX]; /* normalized absolute path in the view */
    enum view_kind kind;
    char *target; /* VIEW_SYMLINK */
    int tree_fd;  /* VIEW_BIND: detached clone from open_tree() */
    bool is_dir;  /* VIEW_BIND: source is a directory (else a regular file) */
    bool ro;
    dev_t dev;    /* VIEW_BIND: the source's identity */
    ino_t ino;
};

struct view {
    struct view_ent *ents;
    size_t n, cap;
    /* Collecting for fb_gofer_view_fingerprint: sources looked at, not captured, and each entry
     * written to fp as the next one starts (scratch holds it meanwhile), none kept: a view's
     * entries are ~4 kB each, and this runs on a restore's critical path. */
    FILE *fp;
    struct view_ent scratch;
    bool scratch_used;
};

/* Write the entry in scratch, if any, to the fingerprint. Paths and targets are host names,
 * which may hold newlines: each is written with its length first, so that no name can pass
 * for another entry's line. */
static void fp_flush(struct view *v)
{
    const struct view_ent *e = &v->scratch;

    if (!v->scratch_used)
        return;
    fprintf(v->fp, "%d %zu:%s", (int)e->kind, strlen(e->dst), e->dst);
    if (e->kind == VIEW_BIND)
        fprintf(v->fp, " %c%c %llx:%llx", e->ro ? 'r' : 'w', e->is_dir ? 'd' : 'f',
                (unsigned long long)e->dev, (unsigned long long)e->ino);
    else if (e->kind == VIEW_SYMLINK)
        fprintf(v->fp, " -> %zu:%s", e->target ? strlen(e->target) : 0,
                e->target ? e->target : "");
    fputc('\n', v->fp);
    free(v->scratch.target);
    v->scratch.target = NULL;
    v->scratch_used = false;
}

/* Top-level host directories of the default view (symlinks on merged-/usr systems). */
static const char *const default_top[] = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"};

/* /etc entries programs read (python3, perl, bash, busybox, node, glibc NSS/resolver, TLS).
 * Shell-style patterns allowed. Deliberately absent: shadow, gshadow, sudoers*, ssh, ssl/private,
 * machine-id, anything with credentials. Entries missing on the host are skipped. */
static const char *const default_etc[] = {
    "passwd",        "group",          "hosts",       "hostname",     "host.conf",
    "nsswitch.conf", "resolv.conf",    "gai.conf",    "ld.so.cache",  "ld.so.conf",
    "ld.so.conf.d",  "localtime",      "timezone",    "alternatives", "os-release",
    "lsb-release",   "debian_version", "mime.types",  "ssl/certs",    "ssl/openssl.cnf",
    "python3*",      "perl",           "bash.bashrc", "profile",      "profile.d",
    "inputrc",       "protocols",      "services",    "networks",     "rpc",
    "ethertypes",    "shells",         "environment", "locale.alias", "locale.conf",
    "magic",         "magic.mime",     "terminfo",    "mtab",
};

/* Never served, whatever a pattern above matches. */
static bool etc_denied(const char *name)
{
    static const char *const deny[] = {"shadow*", "gshadow*", "sudoers*",  "ssh*",
                                       "*.key",   "*secret*", "machine-id"};
    size_t i;

    for (i = 0; i < FB_ARRAY_SIZE(deny); i++)
        if (fnmatch(deny[i], name, 0) == 0)
            return true;
    return false;
}

static void view_free(struct view *v)
{
    size_t i;

    for (i = 0; i < v->n; i++) {
        free(v->ents[i].target);
        if (v->ents[i].tree_fd >= 0)
            close(v->ents[i].tree_fd);
    }
    free(v->ents);
    v->ents = NULL;
    v->n = v->cap = 0;
}

/* Normalize an absolute view path: collapse "//", reject "." / ".." / overlong components and
 * "/" itself. */
static int view_norm(const char *in, char *out, size_t cap, struct fb_error *err)
{
    const char *p = in;
    size_t len = 0;

    if (!in || in[0] != '/')
        return fb_error_set(err, EINVAL, "view path '%s' is not absolute", in ? in : "(null)");
    while (*p) {
        const char *e;
        size_t n;

        while (*p == '/')
            p++;
        if (!*p)
            break;
        e = strchrnul(p, '/');
        n = (size_t)(e - p);
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return fb_error_set(err, EINVAL, "view path '%s' contains '.' or '..'", in);
        if (n > NAME_MAX || len + 1 + n + 1 > cap)
            return fb_error_set(err, ENAMETOOLONG, "view path '%s' is too long", in);
        out[len++] = '/';
        memcpy(out + len, p, n);
        len += n;
        p = e;
    }
    if (len == 0)
        return fb_error_set(err, EINVAL, "view path '%s' would replace the view root", in);
    out[len] = '\0';
    return 0;
}

static struct view_ent *view_add(struct view *v, const char *dst, enum view_kind kind,
                                 struct fb_error *err)
{
    struct view_ent *e;

    if (v->fp) {
        fp_flush(v);
        e = &v->scratch;
        memset(e, 0, sizeof(*e));
        e->tree_fd = -1;
        e->kind = kind;
        if (view_norm(dst, e->dst, sizeof(e->dst), err) < 0)
            return NULL;
        v->scratch_used = true;
        return e;
    }
    if (v->n == v->cap) {
        size_t n = v->cap ? v->cap * 2 : 32;
        struct view_ent *p = realloc(v->ents, n * sizeof(*p));
        if (!p) {
            fb_error_set(err, ENOMEM, "out of memory building the gofer view");
            return NULL;
        }
        v->ents = p;
        v->cap = n;
    }
    e = &v->ents[v->n];
    memset(e, 0, sizeof(*e));
    e->tree_fd = -1;
    e->kind = kind;
    if (view_norm(dst, e->dst, sizeof(e->dst), err) < 0)
        return NULL;
    v->n++;
    return e;
}

/* Capture host object dirfd/name (absolute or relative name) as a bind entry at dst. */
static int view_add_bind(struct view *v, int dirfd, const char *name, const char *dst, bool ro,
                         bool nofollow, const struct stat *known, struct fb_error *err)
{
    struct view_ent *e;
    struct stat st;
    int fd = -1;

    if (v->fp && known) { /* the caller has just looked, the same way */
        st = *known;
    } else if (v->fp) {
        if (fstatat(dirfd, name, &st, nofollow ? AT_SYMLINK_NOFOLLOW : 0) < 0)
            return fb_error_set(err, errno, "cannot bind '%s' into the view: %s", name,
                                strerror(errno));
    } else {
        fd = open_tree(dirfd, name,
                       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (nofollow ? AT_SYMLINK_NOFOLLOW : 0));
        if (fd < 0)
            return fb_error_set(err, errno, "cannot bind '%s' into the view: %s", name,
                                strerror(errno));
        if (fstat(fd, &st) < 0)
            st.st_mode = 0;
    }
    if (!(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
        if (fd >= 0)
            close(fd);
        return fb_error_set(err, EINVAL, "'%s' is neither a directory nor a regular file", name);
    }
    e = view_add(v, dst, VIEW_BIND, err);
    if (!e) {
        close(fd);
        return -1;
    }
    e->tree_fd = fd;
    e->is_dir = S_ISDIR(st.st_mode);
    e->ro = ro;
    e->dev = st.st_dev;
    e->ino = st.st_ino;
    return 0;
}

static int view_add_symlink(struct view *v, const char *dst, const char *target,
                            struct fb_error *err)
{
    struct view_ent *e = view_add(v, dst, VIEW_SYMLINK, err);

    if (!e)
        return -1;
    e->target = strdup(target);
    if (!e->target)
        return fb_error_set(err, ENOMEM, "out of memory building the gofer view");
    return 0;
}

/* One host object of the default view at the same path: symlinks are reproduced (the Sentry
 * resolves them inside the view), except those pointing into /run (systemd-resolved style
 * resolv.conf): their target file is bound instead, since /run is not in the view. */
static int view_add_host(struct view *v, const char *path, struct fb_error *err)
{
    char target[PATH_MAX];
    struct stat st;
    ssize_t n;

    if (lstat(path, &st) < 0)
        return 0; /* missing on this host: skip */
    if (S_ISLNK(st.st_mode)) {
        n = readlink(path, target, sizeof(target) - 1);
        if (n < 0)
            return 0;
        target[n] = '\0';
        if (!strncmp(target, "/run/", 5) || !strncmp(target, "/var/run/", 9) ||
            !strncmp(target, "../run/", 7)) {
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
                return view_add_bind(v, AT_FDCWD, path, path, true, false, &st, err);
            return 0;
        }
        return view_add_symlink(v, path, target, err);
    }
    if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))
        return view_add_bind(v, AT_FDCWD, path, path, true, true, &st, err);
    return 0;
}

static int view_collect_default(struct view *v, struct fb_error *err)
{
    char path[PATH_MAX];
    size_t i;

    for (i = 0; i < FB_ARRAY_SIZE(default_top); i++) {
        snprintf(path, sizeof(path), "/%s", default_top[i]);
        if (view_add_host(v, path, err) < 0)
            return -1;
    }
    if (!view_add(v, "/etc", VIEW_EMPTYDIR, err))
        return -1;
    for (i = 0; i < FB_ARRAY_SIZE(default_etc); i++) {
        const char *pat = default_etc[i];

        if (strpbrk(pat, "*?[")) {
            _cleanup_closedir_ DIR *d = opendir("/etc");
            struct dirent *de;

            while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.' || fnmatch(pat, de->d_name, 0) != 0 ||
                    etc_denied(de->d_name))
                    continue;
                snprintf(path, sizeof(path), "/etc/%s", de->d_name);
                if (view_add_host(v, path, err) < 0)
                    return -1;
            }
            continue;
        }
        if (etc_denied(pat))
            continue;
        snprintf(path, sizeof(path), "/etc/%s", pat);
        if (view_add_host(v, path, err) < 0)
            return -1;
    }
    return 0;
}

/* --root DIR: every top-level entry of DIR is reproduced on the view tmpfs (directories and
 * files bound read-only, symlinks copied). tmp, dev and proc are always empty directories. */
static int view_collect_root(struct view *v, const char *root, struct fb_error *err)
{
    _cleanup_closedir_ DIR *d = NULL;
    struct dirent *de;
    size_t count = 0;
    int dfd;

    d = opendir(root);
    if (!d)
        return fb_error_set(err, errno, "root directory '%s': %s", root, strerror(errno));
    dfd = dirfd(d);
    while ((errno = 0, de = readdir(d))) {
        char dst[NAME_MAX + 2], target[PATH_MAX];
        struct stat st;
        ssize_t n;

        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, "tmp") ||
            !strcmp(de->d_name, "dev") || !strcmp(de->d_name, "proc"))
            continue;
        if (++count > VIEW_MAX_ENTRIES)
            return fb_error_set(err, E2BIG, "root directory '%s' has more than %d entries", root,
                                VIEW_MAX_ENTRIES);
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        snprintf(dst, sizeof(dst), "/%s", de->d_name);
        if (S_ISLNK(st.st_mode)) {
            n = readlinkat(dfd, de->d_name, target, sizeof(target) - 1);
            if (n < 0)
                continue;
            target[n] = '\0';
            if (view_add_symlink(v, dst, target, err) < 0)
                return -1;
        } else if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
            if (view_add_bind(v, dfd, de->d_name, dst, true, true, &st, err) < 0)
                return fb_error_prefix(err, "root directory '%s'", root);
        } else {
            fb_info("root directory: skipping special file %s", de->d_name);
        }
    }
    if (errno)
        return fb_error_set(err, errno, "reading root directory '%s': %s", root, strerror(errno));
    return 0;
}

static int view_collect_mounts(struct view *v, const struct fb_gofer_config *cfg,
                               struct fb_error *err)
{
    size_t i, first = v->n;

    for (i = 0; i < cfg->nmounts; i++) {
        const struct fb_gofer_mount *m = &cfg->mounts[i];
        char norm[PATH_MAX];

        if (!m->src || !m->src[0])
            return fb_error_set(err, EINVAL, "mount %zu: empty source path", i + 1);
        if (!m->dst || m->dst[0] != '/')
            return fb_error_set(err, EINVAL, "mount '%s': destination '%s' is not an absolute path",
                                m->src, m->dst ? m->dst : "(null)");
        if (view_norm(m->dst, norm, sizeof(norm), err) < 0)
            return fb_error_prefix(err, "mount '%s'", m->src);
        if (access(m->src, F_OK) < 0)
            return fb_error_set(err, errno, "mount source '%s': %s", m->src, strerror(errno));
        if (view_add_bind(v, AT_FDCWD, m->src, norm, m->ro, false, NULL, err) < 0)
            return fb_error_prefix(err, "mount '%s:%s'", m->src, m->dst);
    }
    /* Parents before children: stable insertion sort of the user mounts by depth. */
    for (i = first + 1; i < v->n; i++) {
        struct view_ent tmp = v->ents[i];
        size_t j = i, depth = 0;
        const char *p;

        for (p = tmp.dst; *p; p++)
            depth += *p == '/';
        while (j > first) {
            size_t dj = 0;
            for (p = v->ents[j - 1].dst; *p; p++)
                dj += *p == '/';
            if (dj <= depth)
                break;
            v->ents[j] = v->ents[j - 1];
            j--;
        }
        v->ents[j] = tmp;
    }
    return 0;
}

/* Open the parent directory of dst inside the staging tree, creating missing directories, but
 * only on the view tmpfs (never inside a bound host tree). Components must not be symlinks. */
static int view_open_parent(int stage_fd, dev_t stage_dev, const char *dst, char *leaf,
                            struct fb_error *err)
{
    _cleanup_close_ int fd = dup(stage_fd);
    const char *p = dst + 1;

    if (fd < 0)
        return fb_error_set(err, errno, "dup: %s", strerror(errno));
    for (;;) {
        const char *e = strchr(p, '/');
        char comp[NAME_MAX + 1];
        int nfd;

        if (!e) {
            snprintf(leaf, NAME_MAX + 1, "%s", p);
            return steal_fd(&fd);
        }
        memcpy(comp, p, (size_t)(e - p));
        comp[e - p] = '\0';
        nfd = openat(fd, comp, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
        if (nfd < 0 && errno == ENOENT) {
            struct stat st;
            if (fstat(fd, &st) < 0 || st.st_dev != stage_dev)
                return fb_error_set(err, EROFS,
                                    "cannot create '%s': its parent lies inside a bound host "
                                    "tree (create the mount point on the host)",
                                    dst);
            if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST)
                return fb_error_set(err, errno, "mkdir for '%s': %s", dst, strerror(errno));
            nfd = openat(fd, comp, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
        }
        if (nfd < 0)
            return fb_error_set(err, errno, "view path '%s': component '%s': %s", dst, comp,
                                errno == ENOTDIR || errno == ELOOP ? "not a directory"
                                                                   : strerror(errno));
        close(fd);
        fd = nfd;
        p = e + 1;
    }
}

/* The parent directory fd of the previous entry, reused while entries share a parent (the /etc
 * allowlist): saves a walk per entry. Safe across mounts: mounting over a directory D is done
 * through parent(D), which replaces a cached D, so a cached fd is never one a mount covered. */
struct view_parent {
    char dir[PATH_MAX];
    int fd;
};

static int view_parent(struct view_parent *vp, int stage_fd, dev_t stage_dev, const char *dst,
                       char *leaf, struct fb_error *err)
{
    size_t dlen = (size_t)(strrchr(dst, '/') - dst);

    if (vp->fd >= 0 && strlen(vp->dir) == dlen && !strncmp(vp->dir, dst, dlen)) {
        snprintf(leaf, NAME_MAX + 1, "%s", dst + dlen + 1);
        return vp->fd;
    }
    if (vp->fd >= 0)
        close(vp->fd);
    vp->fd = view_open_parent(stage_fd, stage_dev, dst, leaf, err);
    if (vp->fd >= 0)
        snprintf(vp->dir, sizeof(vp->dir), "%.*s", (int)dlen, dst);
    return vp->fd;
}

static int view_place(const struct view_ent *e, struct view_parent *vp, int stage_fd,
                      dev_t stage_dev, struct fb_error *err)
{
    char leaf[NAME_MAX + 1];
    struct stat st;
    int pfd;

    pfd = view_parent(vp, stage_fd, stage_dev, e->dst, leaf, err);
    if (pfd < 0)
        return -1;
    switch (e->kind) {
    case VIEW_EMPTYDIR:
        if (mkdirat(pfd, leaf, 0755) < 0 && errno != EEXIST)
            return fb_error_set(err, errno, "mkdir '%s': %s", e->dst, strerror(errno));
        return 0;
    case VIEW_SYMLINK:
        if (symlinkat(e->target, pfd, leaf) < 0)
            return fb_error_set(err, errno, "symlink '%s': %s", e->dst, strerror(errno));
        return 0;
    case VIEW_BIND:
        break;
    }
    if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        struct stat pst;
        int fd;

        if (errno != ENOENT)
            return fb_error_set(err, errno, "mount point '%s': %s", e->dst, strerror(errno));
        if (fstat(pfd, &pst) < 0 || pst.st_dev != stage_dev)
            return fb_error_set(err, EROFS,
                                "mount point '%s' does not exist inside a bound host tree", e->dst);
        if (e->is_dir) {
            if (mkdirat(pfd, leaf, 0755) < 0)
                return fb_error_set(err, errno, "mkdir '%s': %s", e->dst, strerror(errno));
        } else {
            fd = openat(pfd, leaf, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
            if (fd < 0)
                return fb_error_set(err, errno, "create '%s': %s", e->dst, strerror(errno));
            close(fd);
        }
    } else if (S_ISDIR(st.st_mode) != e->is_dir || S_ISLNK(st.st_mode)) {
        return fb_error_set(err, ENOTDIR, "mount point '%s' exists as a different file type",
                            e->dst);
    }
    /* Attributes (read-only, nosuid, nodev) come all at once when the view is complete. */
    if (move_mount(e->tree_fd, "", pfd, leaf, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return fb_error_set(err, errno, "bind '%s': %s", e->dst, strerror(errno));
    return 0;
}

/* Every entry of the view of cfg, in the order they are placed. */
static int view_collect(struct view *v, const struct fb_gofer_config *cfg, struct fb_error *err)
{
    if (cfg->root) {
        if (view_collect_root(v, cfg->root, err) < 0)
            return -1;
    } else if (view_collect_default(v, err) < 0) {
        return -1;
    }
    if (!view_add(v, "/tmp", VIEW_EMPTYDIR, err) || !view_add(v, "/dev", VIEW_EMPTYDIR, err) ||
        !view_add(v, "/proc", VIEW_EMPTYDIR, err))
        return -1;
    return view_collect_mounts(v, cfg, err);
}

char *fb_gofer_view_fingerprint(const struct fb_gofer_config *cfg, struct fb_error *err)
{
    struct view v = {0};
    char *buf = NULL;
    size_t len = 0;
    int r;

    v.fp = open_memstream(&buf, &len);
    if (!v.fp) {
        fb_error_set(err, ENOMEM, "out of memory");
        return NULL;
    }
    fprintf(v.fp, "fnbox view 2\n");
    r = view_collect(&v, cfg, err);
    fp_flush(&v);
    if (fclose(v.fp) != 0 && r == 0)
        r = fb_error_set(err, ENOMEM, "out of memory");
    if (r < 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

int fb_gofer_prepare_view(const struct fb_gofer_config *cfg, struct fb_error *err)
{
    struct view v = {0};
    struct view_parent vp = {.fd = -1};
    _cleanup_close_ int stage_fd = -1;
    struct stat st;
    size_t i;
    int ret = -1;

    fb_log_role = "gofer";
    if (unshare(CLONE_NEWNS) < 0)
        return fb_error_set(err, errno, "gofer: unshare(CLONE_NEWNS): %s", strerror(errno));
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return fb_error_set(err, errno, "gofer: making mounts private: %s", strerror(errno));

    /* 1. Capture every host object while the host tree is still visible. */
    if (view_collect(&v, cfg, err) < 0)
        goto out;

    /* 2. Assemble the view on a fresh tmpfs. */
    if (mount("fnbox-view", VIEW_STAGE, "tmpfs", MS_NOSUID | MS_NODEV,
              "mode=0755,size=1m,nr_inodes=65536") < 0) {
        fb_error_set(err, errno, "gofer: mounting the view tmpfs: %s", strerror(errno));
        goto out;
    }
    stage_fd = open(VIEW_STAGE, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (stage_fd < 0 || fstat(stage_fd, &st) < 0) {
        fb_error_set(err, errno, "gofer: opening the view: %s", strerror(errno));
        goto out;
    }
    for (i = 0; i < v.n; i++) {
        if (view_place(&v.ents[i], &vp, stage_fd, st.st_dev, err) < 0) {
            fb_error_prefix(err, "gofer view");
            goto out;
        }
    }

    /* Every mount of the view read-only, nosuid and nodev in one call (a remount each costs a
     * mount-table walk), then the writable binds (--mount ...:rw) writable again. */
    {
        struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                            MOUNT_ATTR_NODEV};
        struct mount_attr rw = {.attr_clr = MOUNT_ATTR_RDONLY};
        char path[PATH_MAX + sizeof(VIEW_STAGE)];
        if (mount_setattr(stage_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &ro, sizeof(ro)) < 0) {
            fb_error_set(err, errno, "gofer: making the view read-only: %s", strerror(errno));
            goto out;
        }
        for (i = 0; i < v.n; i++) {
            if (v.ents[i].kind != VIEW_BIND || v.ents[i].ro)
                continue;
            snprintf(path, sizeof(path), "%s%s", VIEW_STAGE, v.ents[i].dst);
            if (mount_setattr(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, &rw, sizeof(rw)) < 0) {
                fb_error_set(err, errno, "gofer: making '%s' writable: %s", v.ents[i].dst,
                             strerror(errno));
                goto out;
            }
        }
    }

    /* 3. Enter it and drop the host root (runc's pivot_root(".", ".") idiom). */
    if (chdir(VIEW_STAGE) < 0 || syscall(SYS_pivot_root, ".", ".") < 0) {
        fb_error_set(err, errno, "gofer: pivot_root into the view: %s", strerror(errno));
        goto out;
    }
    if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
        fb_error_set(err, errno, "gofer: detaching the host root: %s", strerror(errno));
        goto out;
    }
    if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) {
        fb_error_set(err, errno, "gofer: making the view root read-only: %s", strerror(errno));
        goto out;
    }
    ret = 0;
out:
    if (vp.fd >= 0)
        close(vp.fd);
    view_free(&v);
    return ret;
}
