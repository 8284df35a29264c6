/* Checkpoint and restore of the kernel's objects (see kstate.h).
 *
 * Saving walks from the tasks: each shared object (address space, fd table, filesystem context,
 * signal handlers, open file, inode) gets an id the first time it is met, and is written once in
 * a table of its kind; references between objects are ids. Restoring creates the tables in
 * dependency order (inodes, files, fd tables, contexts, address spaces, processes, threads) and
 * resolves ids through arrays. Host resources are never saved: stdio files are re-bound to the
 * restoring caller's fds, 9P files are walked again by path and must still have the size and
 * modification time they had (else the image is stale), stub processes are created on first run.
 *
 * Everything read from an image is validated as it is used: a corrupt kernel section gives an
 * error, never a crash. */
#include "snapshot/kstate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/futex/futex.h"
#include "kernel/kernel.h"
#include "kernel/mm/mm.h"
#include "kernel/mm/mm_save.h"
#include "kernel/signal/signal.h"
#include "kernel/task/task.h"
#include "kernel/time/posix_timers.h"
#include "kernel/time/timer.h"
#include "kernel/util/log.h"
#include "kernel/vfs/event.h"
#include "kernel/vfs/locks.h"
#include "kernel/vfs/vfs.h"
#include "kernel/vfs/socket.h"
#include "kernel/vfs/vfs_save.h"
#include "snapshot/image.h"
#include "snapshot/state.h"

/* ---- pointer -> id maps ----------------------------------------------------------------------- */

struct idmap {
    const void **keys;
    uint64_t *ids;
    size_t cap, n;
    const void **order; /* objects in id order (id i at order[i - 1]) */
};

static void idmap_free(struct idmap *m)
{
    free(m->keys);
    free(m->ids);
    free(m->order);
    memset(m, 0, sizeof(*m));
}

static size_t hash_ptr(const void *p, size_t cap)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

static uint64_t idmap_find(const struct idmap *m, const void *p)
{
    size_t i;
    if (!m->cap)
        return 0;
    for (i = hash_ptr(p, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (m->keys[i] == p)
            return m->ids[i];
    return 0;
}

/* The id of p, adding it (ids start at 1). Returns 0 on allocation failure. */
static uint64_t idmap_add(struct idmap *m, const void *p, bool *added)
{
    size_t i;
    uint64_t id = idmap_find(m, p);

    if (added)
        *added = false;
    if (id)
        return id;
    if ((m->n + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64, j;
        const void **nk = calloc(ncap, sizeof(*nk));
        uint64_t *ni = calloc(ncap, sizeof(*ni));
        const void **no = realloc(m->order, ncap * sizeof(*no));
        if (!nk || !ni || !no) {
            free(nk);
            free(ni);
            if (no)
                m->order = no;
            return 0;
        }
        m->order = no;
        for (j = 0; j < m->cap; j++) {
            if (!m->keys[j])
                continue;
            for (i = hash_ptr(m->keys[j], ncap); nk[i]; i = (i + 1) & (ncap - 1))
                ;
            nk[i] = m->keys[j];
            ni[i] = m->ids[j];
        }
        free(m->keys);
        free(m->ids);
        m->keys = nk;
        m->ids = ni;
        m->cap = ncap;
    }
    for (i = hash_ptr(p, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1))
        ;
    m->keys[i] = p;
    m->ids[i] = ++m->n;
    m->order[m->n - 1] = p;
    if (added)
        *added = true;
    return m->n;
}

/* ---- page index -> count maps ------------------------------------------------------------------ */

struct pagemap {
    uint64_t *keys; /* page indexes (never 0) */
    uint32_t *vals;
    size_t cap, n;
};

static uint32_t *pagemap_slot(struct pagemap *m, uint64_t key, bool add)
{
    size_t i;
    if (add && (m->n + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 1024, j;
        uint64_t *nk = calloc(ncap, sizeof(*nk));
        uint32_t *nv = calloc(ncap, sizeof(*nv));
        if (!nk || !nv) {
            free(nk);
            free(nv);
            return NULL;
        }
        for (j = 0; j < m->cap; j++) {
            if (!m->keys[j])
                continue;
            for (i = (m->keys[j] * 0x9e3779b97f4a7c15ull) >> 20 & (ncap - 1); nk[i];
                 i = (i + 1) & (ncap - 1))
                ;
            nk[i] = m->keys[j];
            nv[i] = m->vals[j];
        }
        free(m->keys);
        free(m->vals);
        m->keys = nk;
        m->vals = nv;
        m->cap = ncap;
    }
    if (!m->cap)
        return NULL;
    for (i = (key * 0x9e3779b97f4a7c15ull) >> 20 & (m->cap - 1); m->keys[i];
         i = (i + 1) & (m->cap - 1))
        if (m->keys[i] == key)
            return &m->vals[i];
    if (!add)
        return NULL;
    m->keys[i] = key;
    m->n++;
    return &m->vals[i];
}

/* ---- saving ------------------------------------------------------------------------------------- */

enum {
    FILE_HOST = 1, /* one of the caller's stdio files: [kind, flags, pos, index] */
    FILE_PIPE = 2, /* [kind, flags, pos, inode id] */
    FILE_PATH = 3, /* reopened by path: [kind, flags, pos, path] */
    FILE_TMPFS = 4, /* [kind, flags, pos, inode id, path or nil, anonymous name or nil] */
    FILE_EVENT = 5, /* [kind, flags, pos, 1 eventfd | 2 signalfd | 3 timerfd, its state] */
    FILE_EPOLL = 6, /* [kind, flags, pos, items [fd, file id, events, data, oneshot off, edge,
                     * last mask]] — items restored once every file exists */
    FILE_SOCKET = 7, /* [kind, flags, pos, peer file id or 0 (gone), socket state] */
};

enum {
    INODE_PIPE = 1, /* [kind, pipe state] */
    INODE_P9 = 2,   /* [kind, path, size, mtime sec, mtime nsec, page cache pairs] */
    INODE_TMPFS = 3, /* [kind, tmpfs mount index or -1 (shm), is the mount's root, mode, uid,
                      * gid, nlink, size, a/m/c/btime as sec+nsec pairs, payload,
                      * entries [name, id, seq]... or nil, next seq, inode number] */
};

#define MAX_TMPFS_MOUNTS 16

struct saver {
    struct fb_sw w;
    struct idmap mms, fdts, fss, shs, files, inodes;
    struct fb_path root;
    struct fb_error *err;
    bool failed;
    struct fb_mount *tmpfs_mounts[MAX_TMPFS_MOUNTS];
    int ntmpfs;
    /* Pages of 9P page caches left out of the image (re-read from the files after a restore):
     * page -> references from page tables, then UINT32_MAX for "dropped". */
    struct pagemap filepages;
    bool filepages_oom;
    /* 9P inode -> a path naming it (from the dentry caches) */
    struct idmap p9paths;
    char **p9path_str; /* by p9paths id */
};

static __attribute__((format(printf, 3, 4))) int fail(struct saver *s, int code,
                                                      const char *fmt, ...)
{
    if (!s->failed) {
        char msg[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        fb_error_set(s->err, code, "checkpoint: %s", msg);
    }
    s->failed = true;
    return -1;
}

/* Record a path for every 9P inode reachable through cached dentries under (mnt, d). */
static void index_dentries(struct saver *s, struct fb_mount *mnt, struct fb_dentry *d, char *buf,
                           size_t len, int depth)
{
    struct fb_list *pos;

    if (depth > 64)
        return;
    if (d->inode && fb_inode_is_p9(d->inode)) {
        bool added;
        uint64_t id = idmap_add(&s->p9paths, d->inode, &added);
        if (id && added) {
            char **n = realloc(s->p9path_str, id * sizeof(char *));
            if (n) {
                s->p9path_str = n;
                n[id - 1] = strdup(len ? buf : "/");
            }
        }
    }
    fb_list_for_each(pos, &d->children)
    {
        struct fb_dentry *c = fb_list_entry(pos, struct fb_dentry, sibling);
        size_t l = strlen(c->name);
        if (!c->inode || c->deleted || c->mounted_on || len + l + 2 > FB_PATH_MAX)
            continue;
        buf[len] = '/';
        memcpy(buf + len + 1, c->name, l + 1);
        index_dentries(s, mnt, c, buf, len + 1 + l, depth + 1);
        buf[len] = 0;
    }
}

static void index_p9_paths(struct saver *s)
{
    struct fb_list *pos;
    char *buf = malloc(FB_PATH_MAX);

    if (!buf)
        return;
    fb_list_for_each(pos, fb_vfs_mounts())
    {
        struct fb_mount *m = fb_list_entry(pos, struct fb_mount, node);
        struct fb_path p = {m, m->root};
        int n;
        if (strcmp(m->sb->type, "9p") != 0)
            continue;
        n = fb_vfs_path_string(&p, &s->root, buf, FB_PATH_MAX);
        if (n < 0)
            continue;
        if (n == 1)
            n = 0, buf[0] = 0; /* "/" */
        index_dentries(s, m, m->root, buf, (size_t)n, 0);
    }
    free(buf);
}

static const char *p9_path_of(struct saver *s, struct fb_inode *ino)
{
    uint64_t id = idmap_find(&s->p9paths, ino);
    return id && s->p9path_str[id - 1] ? s->p9path_str[id - 1] : NULL;
}

static void note_cache_page(uint64_t page, void *arg)
{
    struct saver *s = arg;
    uint32_t *c = pagemap_slot(&s->filepages, page, true);
    if (c)
        *c = 0;
    else
        s->filepages_oom = true;
}

/* Is page a 9P page-cache page left out of the image? */
static bool skip_page(uint64_t page, void *arg)
{
    struct saver *s = arg;
    uint32_t *c = s->filepages.n ? pagemap_slot(&s->filepages, page, false) : NULL;
    return c && *c == UINT32_MAX;
}

/* Unmodified file pages need not be in the image: the restored kernel reads them from the file
 * again (validated by size and mtime) when they are touched. A page qualifies when its only
 * references are its page cache and page tables (which then fault it in again). */
static void choose_file_pages(struct saver *s)
{
    size_t i, k;

    for (i = 0; i < s->p9paths.n; i++)
        fb_p9fs_cache_foreach((struct fb_inode *)s->p9paths.order[i], note_cache_page, s);
    for (i = 0; i < s->mms.n && s->filepages.n; i++) {
        struct fb_mm *mm = (struct fb_mm *)s->mms.order[i];
        uint64_t vpn = 0, found, pte;
        while (fb_radix_next(&mm->pt, vpn, UINT64_MAX >> 12, &found, &pte)) {
            uint32_t *c = pagemap_slot(&s->filepages, pte >> FB_PAGE_SHIFT, false);
            if (c)
                (*c)++;
            vpn = found + 1;
        }
    }
    for (k = 0; k < s->filepages.cap; k++) {
        uint64_t page = s->filepages.keys[k];
        if (!page)
            continue;
        if (!s->filepages_oom && fb_mf_refs(&fb_k->mf, page << FB_PAGE_SHIFT) == s->filepages.vals[k] + 1)
            s->filepages.vals[k] = UINT32_MAX;
    }
}

static uint64_t inode_id(struct saver *s, struct fb_inode *ino)
{
    uint64_t id = idmap_add(&s->inodes, ino, NULL);
    if (!id)
        fail(s, ENOMEM, "out of memory");
    return id;
}

static int tmpfs_sb_ref(struct saver *s, const struct fb_inode *ino)
{
    int i;
    for (i = 0; i < s->ntmpfs; i++)
        if (s->tmpfs_mounts[i]->sb == ino->sb)
            return i;
    return ino->sb == fb_tmpfs_shm_sb() ? -1 : -2;
}

static int walk_tmpfs_entry(const char *name, struct fb_inode *ino, uint64_t seq, void *arg);

/* Give ids to a tmpfs tree (directories before their entries). */
static int walk_tmpfs(struct saver *s, struct fb_inode *dir, int depth)
{
    if (depth > 256)
        return fail(s, ENOTSUP, "a tmpfs tree is deeper than 256 directories");
    return fb_tmpfs_dir_foreach(dir, walk_tmpfs_entry, s);
}

static int walk_tmpfs_entry(const char *name, struct fb_inode *ino, uint64_t seq, void *arg)
{
    struct saver *s = arg;
    bool added;
    (void)name;
    (void)seq;
    if (!idmap_add(&s->inodes, ino, &added))
        return fail(s, ENOMEM, "out of memory");
    if (added && S_ISDIR(ino->st.mode))
        return walk_tmpfs(s, ino, 0);
    return 0;
}

static int save_tmpfs_entry(const char *name, struct fb_inode *ino, uint64_t seq, void *arg)
{
    struct saver *s = arg;
    fb_sw_array(&s->w, 3);
    fb_sw_str(&s->w, name);
    fb_sw_u64(&s->w, idmap_find(&s->inodes, ino));
    fb_sw_u64(&s->w, seq);
    return 0;
}

static int count_entry(const char *name, struct fb_inode *ino, uint64_t seq, void *arg)
{
    (void)name;
    (void)ino;
    (void)seq;
    (*(uint32_t *)arg)++;
    return 0;
}

static void save_ts(struct fb_sw *w, const struct timespec *ts)
{
    fb_sw_i64(w, ts->tv_sec);
    fb_sw_i64(w, ts->tv_nsec);
}

static void save_tmpfs_inode(struct saver *s, struct fb_inode *ino)
{
    struct fb_sw *w = &s->w;
    int ref = tmpfs_sb_ref(s, ino), i;
    bool root = false;

    for (i = 0; i < s->ntmpfs; i++)
        if (s->tmpfs_mounts[i]->root->inode == ino)
            root = true;
    if (ref == -2)
        fail(s, ENOTSUP, "a file of a %s filesystem cannot be saved yet", ino->sb->type);
    fb_sw_array(w, 20);
    fb_sw_u64(w, INODE_TMPFS);
    fb_sw_i64(w, ref);
    fb_sw_bool(w, root);
    fb_sw_u64(w, ino->st.mode);
    fb_sw_u64(w, ino->st.uid);
    fb_sw_u64(w, ino->st.gid);
    fb_sw_u64(w, ino->st.nlink);
    fb_sw_u64(w, ino->st.size);
    save_ts(w, &ino->st.atime);
    save_ts(w, &ino->st.mtime);
    save_ts(w, &ino->st.ctime);
    save_ts(w, &ino->st.btime);
    if (fb_tmpfs_save_payload(ino, w) < 0)
        fail(s, ENOTSUP, "a device node in tmpfs cannot be saved yet");
    if (S_ISDIR(ino->st.mode)) {
        uint32_t n = 0;
        fb_tmpfs_dir_foreach(ino, count_entry, &n);
        fb_sw_array(w, n);
        fb_tmpfs_dir_foreach(ino, save_tmpfs_entry, s);
        fb_sw_u64(w, fb_tmpfs_dir_next_seq(ino));
    } else {
        fb_sw_nil(w);
        fb_sw_u64(w, 0);
    }
    fb_sw_u64(w, ino->st.ino); /* programs compare inode numbers (hard links, replaced files) */
}

static void save_inodes(struct saver *s)
{
    size_t i;

    fb_sw_array(&s->w, (uint32_t)s->inodes.n);
    for (i = 0; i < s->inodes.n; i++) {
        struct fb_inode *ino = (struct fb_inode *)s->inodes.order[i];
        if (fb_inode_is_anon_pipe(ino)) {
            fb_sw_array(&s->w, 2);
            fb_sw_u64(&s->w, INODE_PIPE);
            fb_pipe_save(ino, &s->w);
        } else if (fb_inode_is_tmpfs(ino)) {
            save_tmpfs_inode(s, ino);
        } else {
            /* Only 9P inodes are added otherwise (see file_id, map_id). */
            fb_sw_array(&s->w, 6);
            fb_sw_u64(&s->w, INODE_P9);
            fb_sw_str(&s->w, p9_path_of(s, ino));
            fb_sw_u64(&s->w, ino->st.size);
            fb_sw_i64(&s->w, ino->st.mtime.tv_sec);
            fb_sw_i64(&s->w, ino->st.mtime.tv_nsec);
            fb_p9fs_cache_save(ino, &s->w, skip_page, s);
        }
    }
}

static uint64_t map_id(struct fb_mappable *m, void *arg)
{
    struct saver *s = arg;
    struct fb_inode *ino = fb_p9fs_mappable_inode(m);

    if (!ino) {
        ino = fb_tmpfs_mappable_inode(m);
        if (ino && tmpfs_sb_ref(s, ino) >= -1)
            return inode_id(s, ino);
        fail(s, ENOTSUP, "a mapping of a %s file cannot be saved yet",
             ino ? ino->sb->type : "special");
        return 0;
    }
    if (!p9_path_of(s, ino)) {
        fail(s, ENOTSUP, "a mapped file has no path any more (deleted or renamed)");
        return 0;
    }
    return inode_id(s, ino);
}

static uint64_t file_id(struct saver *s, struct fb_file *f, int pid, int fd);

struct epoll_walk {
    struct saver *s;
    int pid;
};

static int epoll_target_id(struct fb_file *target, int fd, void *arg)
{
    struct epoll_walk *ew = arg;
    return file_id(ew->s, target, ew->pid, fd) ? 0 : -1;
}

static int inflight_id(struct fb_file *target, void *arg)
{
    struct epoll_walk *ew = arg;
    return file_id(ew->s, target, ew->pid, -1) ? 0 : -1;
}

static uint64_t epoll_item_id(struct fb_file *target, void *arg)
{
    return idmap_find(&((struct saver *)arg)->files, target);
}

/* Classify an open file and give it an id (its state is written by save_files). */
static uint64_t file_id(struct saver *s, struct fb_file *f, int pid, int fd)
{
    bool added;
    uint64_t id = idmap_add(&s->files, f, &added);
    int i;

    if (!id)
        return fail(s, ENOMEM, "out of memory"), 0;
    if (!added)
        return id;
    for (i = 0; i < 3; i++)
        if (f == fb_k->host_stdio[i])
            return id;
    if (fb_file_is_epoll(f)) {
        /* Its targets are files too (usually also in an fd table; ids either way). */
        struct epoll_walk ew = {s, pid};
        if (fb_epoll_foreach_target(f, epoll_target_id, &ew) < 0)
            return 0;
        return id;
    }
    if (f->inode && fb_inode_is_anon_pipe(f->inode)) {
        inode_id(s, f->inode);
        return id;
    }
    if (f->inode && fb_inode_is_tmpfs(f->inode) && tmpfs_sb_ref(s, f->inode) >= -1) {
        if (!S_ISREG(f->inode->st.mode) && (!f->path.dentry || f->path.dentry->deleted))
            return fail(s, ENOTSUP, "fd %d of pid %d is a removed tmpfs directory or link, which "
                        "cannot be saved yet", fd, pid), 0;
        inode_id(s, f->inode);
        return id;
    }
    if (fb_file_is_eventfd(f) || fb_file_is_signalfd(f) || fb_file_is_timerfd(f))
        return id;
    if (fb_file_is_socket(f)) {
        /* Its name's node is saved with tmpfs; what it refers to is checked as it is saved. */
        struct fb_inode *bound = fb_socket_bound_inode(f);
        if (bound && !(fb_inode_is_tmpfs(bound) && tmpfs_sb_ref(s, bound) >= -1))
            return fail(s, ENOTSUP, "fd %d of pid %d is a unix socket named by a path outside "
                        "tmpfs, which cannot be saved yet", fd, pid), 0;
        if (bound)
            inode_id(s, bound);
        /* Descriptors in flight are files of the image too (saved even if no fd names them). */
        {
            struct epoll_walk ew = {s, pid};
            if (fb_socket_foreach_inflight(f, inflight_id, &ew) < 0)
                return 0;
        }
        return id;
    }
    if (f->path.mnt && f->path.dentry && f->inode && !f->path.dentry->deleted) {
        const char *type = f->path.mnt->sb->type;
        /* A regular file open from the read-only tree (only the host can change it) is checked
         * at restore by its size and mtime, as a mapped one is (load_inodes): a changed file is
         * refused as stale, not read on at the saved offset. Files of read-write mounts are
         * not: the sandbox's own writes change them. */
        if (strcmp(type, "9p") == 0 && S_ISREG(f->inode->st.mode) &&
            (f->path.mnt->flags & FB_MNT_RDONLY) && p9_path_of(s, f->inode))
            inode_id(s, f->inode);
        if (strcmp(type, "9p") == 0 || strcmp(type, "devtmpfs") == 0 || strcmp(type, "devfs") == 0)
            return id;
        return fail(s, ENOTSUP, "fd %d of pid %d is a file on %s, which cannot be saved yet", fd,
                    pid, type), 0;
    }
    return fail(s, ENOTSUP, "fd %d of pid %d (%s) cannot be saved yet", fd, pid,
                f->anon_name ? f->anon_name : "an anonymous file"), 0;
}

static uint64_t socket_inode_id(struct fb_inode *ino, void *arg)
{
    return idmap_find(&((struct saver *)arg)->inodes, ino);
}

/* The socket files of the image (every one a possible reference of the others), gathered once
 * for the whole file table. Returns false when out of memory. */
static bool socket_set_init(struct saver *s, struct fb_socket_saveset *set)
{
    const struct fb_file **files = calloc(s->files.n ? s->files.n : 1, sizeof(*files));
    uint64_t *ids = calloc(s->files.n ? s->files.n : 1, sizeof(*ids));
    size_t k;

    *set = (struct fb_socket_saveset){files, ids, 0, socket_inode_id, epoll_item_id, s, NULL};
    if (!files || !ids) {
        free(files);
        free(ids);
        set->files = NULL;
        set->ids = NULL;
        return false;
    }
    for (k = 0; k < s->files.n; k++) {
        struct fb_file *o = (struct fb_file *)s->files.order[k];
        if (fb_file_is_socket(o)) {
            files[set->n] = o;
            ids[set->n++] = k + 1;
        }
    }
    return true;
}

static void save_files(struct saver *s)
{
    size_t i;
    char *buf = malloc(FB_PATH_MAX);
    struct fb_socket_saveset socks = {0};

    fb_sw_array(&s->w, (uint32_t)s->files.n);
    for (i = 0; i < s->files.n; i++) {
        struct fb_file *f = (struct fb_file *)s->files.order[i];
        int k, host = -1;
        for (k = 0; k < 3; k++)
            if (f == fb_k->host_stdio[k])
                host = k;
        bool event = host < 0 && (fb_file_is_eventfd(f) || fb_file_is_signalfd(f) ||
                                  fb_file_is_timerfd(f));
        bool epoll = host < 0 && fb_file_is_epoll(f);
        bool sock = host < 0 && fb_file_is_socket(f);
        bool tmpfs = host < 0 && !event && !epoll && !sock && f->inode &&
                     !fb_inode_is_anon_pipe(f->inode) && fb_inode_is_tmpfs(f->inode) &&
                     idmap_find(&s->inodes, f->inode);
        /* [kind, flags, pos] and the kind's own fields (see the FILE_* enum) */
        fb_sw_array(&s->w, tmpfs ? 6 : sock || event ? 5 : 4);
        if (sock) {
            fb_sw_u64(&s->w, FILE_SOCKET);
            fb_sw_u64(&s->w, f->flags);
            fb_sw_i64(&s->w, f->pos);
            fb_sw_u64(&s->w, 0); /* the socketpair form's peer; references are in the state */
            if (!socks.files && !socket_set_init(s, &socks)) {
                fail(s, ENOMEM, "out of memory");
                fb_sw_nil(&s->w);
            } else {
                fb_socket_save(f, &s->w, &socks);
            }
        } else if (epoll) {
            fb_sw_u64(&s->w, FILE_EPOLL);
            fb_sw_u64(&s->w, f->flags);
            fb_sw_i64(&s->w, f->pos);
            fb_epoll_save(f, &s->w, epoll_item_id, s);
        } else if (event) {
            fb_sw_u64(&s->w, FILE_EVENT);
            fb_sw_u64(&s->w, f->flags);
            fb_sw_i64(&s->w, f->pos);
            if (fb_file_is_eventfd(f)) {
                fb_sw_u64(&s->w, 1);
                fb_eventfd_save(f, &s->w);
            } else if (fb_file_is_signalfd(f)) {
                fb_sw_u64(&s->w, 2);
                fb_signalfd_save(f, &s->w);
            } else {
                fb_sw_u64(&s->w, 3);
                fb_timerfd_save(f, &s->w);
            }
        } else if (host >= 0) {
            fb_sw_u64(&s->w, FILE_HOST);
            fb_sw_u64(&s->w, f->flags);
            fb_sw_i64(&s->w, f->pos);
            fb_sw_u64(&s->w, (uint64_t)host);
        } else if (f->inode && fb_inode_is_anon_pipe(f->inode)) {
            fb_sw_u64(&s->w, FILE_PIPE);
            fb_sw_u64(&s->w, f->flags);
            fb_sw_i64(&s->w, f->pos);
            fb_sw_u64(&s->w, idmap_find(&s->inodes, f->inode));
        } else if (tmpfs) {
            fb_sw_u64(&s->w, FILE_TMPFS);
            fb_sw_u64(&s->w, f->flags);
            fb_sw_i64(&s->w, f->pos);
            fb_sw_u64(&s->w, idmap_find(&s->inodes, f->inode));
            if (buf && f->path.mnt && f->path.dentry && !f->path.dentry->deleted &&
                fb_vfs_path_string(&f->path, &s->root, buf, FB_PATH_MAX) >= 0)
                fb_sw_str(&s->w, buf);
            else
                fb_sw_nil(&s->w);
            fb_sw_str(&s->w, f->anon_name);
        } else {
            fb_sw_u64(&s->w, FILE_PATH);
            fb_sw_u64(&s->w, f->flags);
            fb_sw_i64(&s->w, f->pos);
            if (!buf || fb_vfs_path_string(&f->path, &s->root, buf, FB_PATH_MAX) < 0) {
                fail(s, ENAMETOOLONG, "an open file's path is too long");
                fb_sw_nil(&s->w);
            } else {
                fb_sw_str(&s->w, buf);
            }
        }
    }
    if (socks.why)
        fail(s, ENOTSUP, "%s cannot be saved yet", socks.why);
    free((void *)socks.files);
    free((void *)socks.ids);
    free(buf);
}

static void save_path(struct saver *s, const struct fb_path *p)
{
    char buf[FB_PATH_MAX];
    if (p->dentry->deleted) {
        fail(s, ENOTSUP, "a working directory was removed");
        fb_sw_nil(&s->w);
        return;
    }
    if (fb_vfs_path_string(p, &s->root, buf, sizeof(buf)) < 0) {
        fail(s, ENAMETOOLONG, "a working directory's path is too long");
        fb_sw_nil(&s->w);
        return;
    }
    fb_sw_str(&s->w, buf);
}

static void save_sigpending(struct fb_sw *w, const struct fb_sigpending *p)
{
    struct fb_list *pos;
    uint32_t n = 0;

    fb_list_for_each(pos, &p->list) n++;
    fb_sw_array(w, n);
    fb_list_for_each(pos, &p->list)
    {
        struct fb_sigqueue_entry *e = fb_list_entry(pos, struct fb_sigqueue_entry, node);
        fb_sw_bin(w, &e->info, sizeof(e->info));
    }
}

static int task_tid(const struct fb_task *t)
{
    return t ? t->tid : 0;
}

static void save_tg(struct saver *s, struct fb_thread_group *tg)
{
    struct fb_sw *w = &s->w;

    if (tg->exec_waiter)
        fail(s, ENOTSUP, "pid %d is in the middle of execve", tg->tgid);
    fb_sw_array(w, 40);
    fb_sw_u64(w, (uint64_t)tg->tgid);
    fb_sw_u64(w, tg->parent ? (uint64_t)tg->parent->tgid : 0);
    fb_sw_u64(w, (uint64_t)tg->exit_signal);
    fb_sw_u64(w, (uint64_t)task_tid(tg->parent_thread));
    fb_sw_bool(w, tg->did_exec);
    fb_sw_bool(w, tg->child_subreaper);
    fb_sw_i64(w, tg->dumpable);
    fb_sw_u64(w, (uint64_t)tg->pgid);
    fb_sw_u64(w, (uint64_t)tg->sid);
    fb_sw_u64(w, tg->state == FB_TG_LIVE ? idmap_find(&s->shs, tg->sighand) : 0);
    save_sigpending(w, &tg->shared_pending);
    fb_sw_u64(w, (uint64_t)tg->state);
    fb_sw_bool(w, tg->group_exiting);
    fb_sw_i64(w, tg->exit_status);
    fb_sw_bool(w, tg->stopped);
    fb_sw_i64(w, tg->stop_signal);
    fb_sw_bool(w, tg->stop_reported);
    fb_sw_bool(w, tg->continued);
    fb_sw_i64(w, tg->stop_pending_threads);
    fb_sw_u64(w, tg->uid);
    fb_sw_u64(w, tg->euid);
    fb_sw_u64(w, tg->suid);
    fb_sw_u64(w, tg->fsuid);
    fb_sw_u64(w, tg->gid);
    fb_sw_u64(w, tg->egid);
    fb_sw_u64(w, tg->sgid);
    fb_sw_u64(w, tg->fsgid);
    fb_sw_bin(w, tg->groups, sizeof(tg->groups[0]) * (size_t)tg->ngroups);
    fb_sw_bin(w, tg->rlim, sizeof(tg->rlim));
    fb_sw_i64(w, tg->itimer_real.armed ? tg->itimer_real.deadline_ns : 0);
    fb_sw_i64(w, tg->itimer_real_interval_ns);
    fb_sw_u64(w, (uint64_t)tg->next_timer_id);
    fb_sw_i64(w, tg->utime_ns);
    fb_sw_i64(w, tg->stime_ns);
    fb_sw_i64(w, tg->child_utime_ns);
    fb_sw_i64(w, tg->child_stime_ns);
    fb_sw_i64(w, tg->start_mono_ns);
    fb_sw_i64(w, tg->itimer_virt.expires_ns || tg->itimer_prof.expires_ns);
    fb_sw_u64(w, (uint64_t)task_tid(tg->leader));
    fb_sw_u64(w, (uint64_t)tg->live_threads);
}

static void save_task(struct saver *s, struct fb_task *t)
{
    struct fb_sw *w = &s->w;

    fb_sw_array(w, 33);
    fb_sw_u64(w, (uint64_t)t->tid);
    fb_sw_u64(w, (uint64_t)t->tg->tgid);
    fb_sw_u64(w, idmap_find(&s->mms, t->mm));
    fb_sw_u64(w, idmap_find(&s->fdts, t->files));
    fb_sw_u64(w, idmap_find(&s->fss, t->fs));
    fb_sw_bin(w, &t->cpu.regs, sizeof(t->cpu.regs));
    fb_sw_bin(w, t->cpu.fp, fb_platform_fpstate_size());
    fb_sw_u64(w, t->blocked);
    fb_sw_u64(w, t->saved_mask);
    fb_sw_bool(w, t->restore_mask);
    save_sigpending(w, &t->pending);
    fb_sw_u64(w, (uint64_t)(uintptr_t)t->altstack.ss_sp);
    fb_sw_i64(w, t->altstack.ss_flags);
    fb_sw_u64(w, t->altstack.ss_size);
    fb_sw_u64(w, t->clear_child_tid);
    fb_sw_u64(w, t->robust_list);
    fb_sw_u64(w, t->robust_len);
    fb_sw_bin(w, t->comm, sizeof(t->comm));
    fb_sw_i64(w, t->pdeath_signal);
    fb_sw_bool(w, t->no_new_privs);
    fb_sw_i64(w, t->nice);
    fb_sw_i64(w, t->sched_policy);
    fb_sw_bin(w, t->affinity, sizeof(t->affinity));
    fb_sw_u64(w, (uint64_t)task_tid(t->vfork_parent));
    fb_sw_u64(w, (uint64_t)task_tid(t->vfork_child));
    fb_sw_u64(w, t->sc_nr);
    fb_sw_bool(w, t->restarting);
    fb_sw_i64(w, t->sc_deadline);
    fb_sw_i64(w, t->utime_ns);
    fb_sw_i64(w, t->stime_ns);
    fb_sw_i64(w, t->sleep_ns);
    fb_sw_bin(w, t->sc_args, sizeof(t->sc_args));
    fb_sw_bool(w, fb_futex_parked_woken(t)); /* queued waiters are in the futex table */
}

static void count_futex(struct fb_task *t, const void *mm, uint64_t addr, bool shared,
                        uint32_t bitset, void *arg)
{
    (void)t, (void)mm, (void)addr, (void)shared, (void)bitset;
    (*(uint32_t *)arg)++;
}

static void save_futex(struct fb_task *t, const void *mm, uint64_t addr, bool shared,
                       uint32_t bitset, void *arg)
{
    struct saver *s = arg;
    fb_sw_array(&s->w, 5);
    fb_sw_u64(&s->w, (uint64_t)t->tid);
    fb_sw_u64(&s->w, mm ? idmap_find(&s->mms, mm) : 0);
    fb_sw_u64(&s->w, addr);
    fb_sw_bool(&s->w, shared);
    fb_sw_u64(&s->w, bitset);
}

/* Advisory locks, per inode of an open file: [file id, [owner is a file, owner id, pid, type,
 * ofd, start, end]..., [file id, type]... (flock)]. */
static void save_locks(struct saver *s)
{
    struct idmap done;
    size_t i;
    uint32_t n = 0;

    memset(&done, 0, sizeof(done));
    for (i = 0; i < s->files.n; i++) {
        const struct fb_file *f = s->files.order[i];
        bool added;
        if (f->inode && f->inode->locks && idmap_add(&done, f->inode, &added) && added &&
            (!fb_list_empty(&f->inode->locks->posix) || !fb_list_empty(&f->inode->locks->flock)))
            n++;
    }
    idmap_free(&done);
    fb_sw_array(&s->w, n);
    for (i = 0; i < s->files.n; i++) {
        const struct fb_file *f = s->files.order[i];
        struct fb_lock_ctx *c = f->inode ? f->inode->locks : NULL;
        struct fb_list *pos;
        bool added;
        uint32_t np = 0, nf = 0;
        if (!c || !idmap_add(&done, f->inode, &added) || !added ||
            (fb_list_empty(&c->posix) && fb_list_empty(&c->flock)))
            continue;
        fb_list_for_each(pos, &c->posix) np++;
        fb_list_for_each(pos, &c->flock) nf++;
        fb_sw_array(&s->w, 3);
        fb_sw_u64(&s->w, i + 1);
        fb_sw_array(&s->w, np);
        fb_list_for_each(pos, &c->posix)
        {
            struct fb_file_lock *k = fb_list_entry(pos, struct fb_file_lock, node);
            uint64_t fid = idmap_find(&s->files, k->owner), tid = idmap_find(&s->fdts, k->owner);
            if (!fid && !tid)
                fail(s, ENOTSUP, "a file lock whose owner is gone cannot be saved");
            fb_sw_array(&s->w, 7);
            fb_sw_bool(&s->w, fid != 0);
            fb_sw_u64(&s->w, fid ? fid : tid);
            fb_sw_i64(&s->w, k->pid);
            fb_sw_i64(&s->w, k->type);
            fb_sw_bool(&s->w, k->ofd);
            fb_sw_i64(&s->w, k->start);
            fb_sw_i64(&s->w, k->end);
        }
        fb_sw_array(&s->w, nf);
        fb_list_for_each(pos, &c->flock)
        {
            struct fb_file_lock *k = fb_list_entry(pos, struct fb_file_lock, node);
            uint64_t fid = idmap_find(&s->files, k->owner);
            if (!fid)
                fail(s, ENOTSUP, "a flock lock whose file is gone cannot be saved");
            fb_sw_array(&s->w, 2);
            fb_sw_u64(&s->w, fid);
            fb_sw_i64(&s->w, k->type);
        }
    }
    idmap_free(&done);
}

static int kstate_save(struct saver *s)
{
    struct fb_list *pos;
    uint16_t *pids = fb_pid_table();
    size_t i;
    uint32_t ntasks = 0, ntgs = 0;

    s->root.mnt = fb_k->root_mount;
    s->root.dentry = fb_k->root_mount->root;
    if (!pids)
        return fail(s, ENOMEM, "out of memory");

    /* Collect shared objects from the tasks (ids in first-met order). */
    fb_list_for_each(pos, &fb_k->tasks)
    {
        struct fb_task *t = fb_list_entry(pos, struct fb_task, knode);
        if (!t->parked)
            return fail(s, EBUSY, "internal error: task %d is not parked", t->tid);
        if (t->sc_restart)
            return fail(s, EBUSY, "internal error: task %d has an unresolved restart", t->tid);
        if (!idmap_add(&s->mms, t->mm, NULL) || !idmap_add(&s->fdts, t->files, NULL) ||
            !idmap_add(&s->fss, t->fs, NULL) ||
            !idmap_add(&s->shs, t->tg->sighand, NULL))
            return fail(s, ENOMEM, "out of memory");
        ntasks++;
    }
    fb_list_for_each(pos, fb_tg_list())
    {
        struct fb_thread_group *tg = fb_list_entry(pos, struct fb_thread_group, all_node);
        ntgs += tg->state != FB_TG_DEAD;
    }
    index_p9_paths(s);
    /* tmpfs trees: their whole content is saved (the mounts themselves are rebuilt at boot). */
    fb_list_for_each(pos, fb_vfs_mounts())
    {
        struct fb_mount *m = fb_list_entry(pos, struct fb_mount, node);
        if (strcmp(m->sb->type, "tmpfs") != 0)
            continue;
        if (s->ntmpfs == MAX_TMPFS_MOUNTS)
            return fail(s, ENOTSUP, "more than %d tmpfs mounts", MAX_TMPFS_MOUNTS);
        s->tmpfs_mounts[s->ntmpfs++] = m;
        if (!idmap_add(&s->inodes, m->root->inode, NULL) || walk_tmpfs(s, m->root->inode, 0) < 0)
            return fail(s, ENOMEM, "out of memory");
    }

    choose_file_pages(s);
    /* Open files, in fd table order. */
    for (i = 0; i < s->fdts.n && !s->failed; i++) {
        const struct fb_fdtable *ft = s->fdts.order[i];
        int fd, pid = 0;
        fb_list_for_each(pos, &fb_k->tasks)
        {
            struct fb_task *t = fb_list_entry(pos, struct fb_task, knode);
            if (t->files == ft) {
                pid = t->tg->tgid;
                break;
            }
        }
        for (fd = 0; fd < ft->size && !s->failed; fd++)
            if (ft->fds[fd].file)
                file_id(s, ft->fds[fd].file, pid, fd);
    }
    if (s->failed)
        return -1;

    fb_sw_array(&s->w, 15);
    fb_sw_str(&s->w, "fnbox-kernel");
    fb_sw_u64(&s->w, FB_KSTATE_VERSION);
    /* Kernel-wide state. */
    fb_sw_array(&s->w, 9);
    fb_sw_u64(&s->w, (uint64_t)fb_k->next_pid);
    fb_sw_u64(&s->w, (uint64_t)fb_k->pid_max);
    fb_sw_bin(&s->w, pids, ((size_t)fb_k->pid_max + 1) * sizeof(uint16_t));
    fb_sw_i64(&s->w, fb_app_mono_ns());
    fb_sw_i64(&s->w, fb_k->boot_mono_ns + fb_k->mono_offset_ns);
    fb_sw_str(&s->w, fb_k->hostname);
    fb_sw_str(&s->w, fb_k->domainname);
    fb_sw_bool(&s->w, fb_k->init_exited);
    fb_sw_i64(&s->w, fb_k->init_status);

    /* Address spaces first (they add 9P inodes through their mappings). */
    fb_sw_array(&s->w, (uint32_t)s->ntmpfs);
    for (i = 0; i < (size_t)s->ntmpfs; i++) {
        struct fb_path p = {s->tmpfs_mounts[i], s->tmpfs_mounts[i]->root};
        char buf[FB_PATH_MAX];
        if (fb_vfs_path_string(&p, &s->root, buf, sizeof(buf)) < 0)
            return fail(s, ENAMETOOLONG, "a tmpfs mount's path is too long");
        fb_sw_str(&s->w, buf);
    }
    {
        struct fb_sw mmw;
        fb_sw_init(&mmw);
        fb_sw_array(&mmw, (uint32_t)s->mms.n);
        for (i = 0; i < s->mms.n; i++)
            fb_mm_save_filtered((struct fb_mm *)s->mms.order[i], &mmw, map_id, skip_page, s);
        if (s->failed) {
            fb_sw_free(&mmw);
            return -1;
        }
        save_inodes(s);
        save_files(s);
        /* fd tables */
        fb_sw_array(&s->w, (uint32_t)s->fdts.n);
        for (i = 0; i < s->fdts.n; i++) {
            const struct fb_fdtable *ft = s->fdts.order[i];
            int fd;
            uint32_t n = 0;
            for (fd = 0; fd < ft->size; fd++)
                n += ft->fds[fd].file != NULL;
            fb_sw_array(&s->w, n * 3);
            for (fd = 0; fd < ft->size; fd++) {
                if (!ft->fds[fd].file)
                    continue;
                fb_sw_u64(&s->w, (uint64_t)fd);
                fb_sw_u64(&s->w, idmap_find(&s->files, ft->fds[fd].file));
                fb_sw_bool(&s->w, ft->fds[fd].cloexec);
            }
        }
        /* filesystem contexts */
        fb_sw_array(&s->w, (uint32_t)s->fss.n);
        for (i = 0; i < s->fss.n; i++) {
            const struct fb_fs_ctx *fs = s->fss.order[i];
            fb_sw_array(&s->w, 3);
            save_path(s, &fs->root);
            save_path(s, &fs->cwd);
            fb_sw_u64(&s->w, fs->umask);
        }
        /* signal handlers */
        fb_sw_array(&s->w, (uint32_t)s->shs.n);
        for (i = 0; i < s->shs.n; i++) {
            const struct fb_sighand *sh = s->shs.order[i];
            fb_sw_bin(&s->w, sh->action, sizeof(sh->action));
        }
        /* the address spaces, serialized above */
        msgpack_sbuffer_write(&s->w.buf, mmw.buf.data, mmw.buf.size);
        fb_sw_free(&mmw);
    }
    /* processes (live and zombie), in creation order */
    fb_sw_array(&s->w, ntgs);
    fb_list_for_each(pos, fb_tg_list())
    {
        struct fb_thread_group *tg = fb_list_entry(pos, struct fb_thread_group, all_node);
        if (tg->state != FB_TG_DEAD)
            save_tg(s, tg);
    }
    /* threads */
    fb_sw_array(&s->w, ntasks);
    fb_list_for_each(pos, &fb_k->tasks)
    {
        struct fb_task *t = fb_list_entry(pos, struct fb_task, knode);
        save_task(s, t);
    }
    /* futex waiters, in queue order */
    {
        uint32_t n = 0;
        fb_futex_save_foreach(count_futex, &n);
        fb_sw_array(&s->w, n);
        fb_futex_save_foreach(save_futex, s);
    }
    save_locks(s);
    /* POSIX timers (after the threads: SIGEV_THREAD_ID names one) */
    {
        uint32_t n = 0;
#define HAS_TIMERS(tg)                                                                             \
    ((tg)->state == FB_TG_LIVE && (!fb_list_empty(&(tg)->posix_timers) ||                          \
                                   (tg)->itimer_virt.expires_ns || (tg)->itimer_prof.expires_ns))
        fb_list_for_each(pos, fb_tg_list())
        {
            struct fb_thread_group *tg = fb_list_entry(pos, struct fb_thread_group, all_node);
            n += HAS_TIMERS(tg);
        }
        fb_sw_array(&s->w, n);
        fb_list_for_each(pos, fb_tg_list())
        {
            struct fb_thread_group *tg = fb_list_entry(pos, struct fb_thread_group, all_node);
            struct itimerval iv[2];
            if (!HAS_TIMERS(tg))
                continue;
            /* CPU-time interval timers as setitimer would give them back: the time left on the
             * process's CPU clock, which is restored with its threads. */
            fb_cpu_itimer_get(tg, ITIMER_VIRTUAL, &iv[0]);
            fb_cpu_itimer_get(tg, ITIMER_PROF, &iv[1]);
            fb_sw_array(&s->w, 4);
            fb_sw_u64(&s->w, (uint64_t)tg->tgid);
            fb_posix_timers_save(tg, &s->w);
            fb_sw_bin(&s->w, &iv[0], sizeof(iv[0]));
            fb_sw_bin(&s->w, &iv[1], sizeof(iv[1]));
        }
#undef HAS_TIMERS
    }
    return s->failed ? -1 : 0;
}

static void saver_free(struct saver *s)
{
    size_t i;
    idmap_free(&s->mms);
    idmap_free(&s->fdts);
    idmap_free(&s->fss);
    idmap_free(&s->shs);
    idmap_free(&s->files);
    idmap_free(&s->inodes);
    for (i = 0; i < s->p9paths.n; i++)
        free(s->p9path_str[i]);
    free(s->p9path_str);
    idmap_free(&s->p9paths);
    free(s->filepages.keys);
    free(s->filepages.vals);
    fb_sw_free(&s->w);
}

int fb_snapshot_write(int fd, struct fb_error *err)
{
    struct saver s;
    struct fb_image_writer *w;
    int64_t t0 = fb_host_mono_ns();

    memset(&s, 0, sizeof(s));
    s.err = err;
    fb_sw_init(&s.w);
    if (kstate_save(&s) < 0) {
        saver_free(&s);
        return -1;
    }
    fb_dbg("kernel state: %zu bytes, %zu address spaces, %zu files, %zu inodes in %.2f ms",
           s.w.buf.size, s.mms.n, s.files.n, s.inodes.n, (fb_host_mono_ns() - t0) / 1e6);
    /* The writer closes its fd; keep the caller's (a skipped torture checkpoint retries). */
    fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) {
        saver_free(&s);
        return fb_error_set(err, errno, "image fd: %s", strerror(errno));
    }
    if (fb_image_writer_fdopen(fd, &w, err) < 0) {
        close(fd);
        saver_free(&s);
        return -1;
    }
    if ((fb_k->opts.image_meta &&
         fb_image_add_raw(w, "meta", fb_k->opts.image_meta, fb_k->opts.image_meta_len, err) < 0) ||
        fb_image_add_raw(w, "kernel", s.w.buf.data, s.w.buf.size, err) < 0 ||
        fb_memfile_save_filtered(&fb_k->mf, w, skip_page, &s, err) < 0) {
        fb_image_writer_abort(w);
        saver_free(&s);
        return -1;
    }
    saver_free(&s);
    return fb_image_writer_commit(w, err);
}

/* ---- restoring ---------------------------------------------------------------------------------- */

struct loader {
    struct fb_error *err;
    bool bad; /* sticky msgpack/validation error */
    struct fb_task tmp_task; /* for path lookups before any real task exists */
    struct fb_thread_group tmp_tg;
    struct fb_fs_ctx *tmp_fs;
    struct fb_inode **inodes;
    uint32_t ninodes;
    struct fb_file **files;
    uint32_t nfiles;
    const msgpack_object **epoll_items; /* by file: an epoll's saved interest list */
    const msgpack_object **sock_states; /* by file: a socket's state (general form) */
    struct fb_fdtable **fdts;
    uint32_t nfdts;
    struct fb_fs_ctx **fss;
    uint32_t nfss;
    struct fb_sighand **shs;
    uint32_t nshs;
    struct fb_mm **mms;
    uint32_t nmms;
    struct fb_mount *tmpfs_mounts[MAX_TMPFS_MOUNTS];
    int ntmpfs;
    /* tmpfs inodes: saved attributes and directory entries, applied once all inodes exist */
    struct tmpfs_pending {
        struct fb_stat st;
        const msgpack_object *entries;
        uint64_t next_seq;
    } *tpend;
};

static int bad(struct loader *l, const char *what)
{
    if (!l->err->code)
        fb_error_set(l->err, EINVAL, "image: corrupt kernel state (%s)", what);
    l->bad = true;
    return -1;
}

static int lookup_path(struct loader *l, const char *path, struct fb_path *out)
{
    struct fb_path root = {fb_k->root_mount, fb_k->root_mount->root};
    if (!path || path[0] != '/')
        return -EINVAL;
    return fb_vfs_lookup_at_path(&l->tmp_task, &root, path, 0, out, NULL, NULL);
}

static int load_tmpfs_mounts(struct loader *l, struct fb_sr *top)
{
    struct fb_sr arr;
    uint32_t i;
    char *buf = malloc(FB_PATH_MAX);
    struct fb_path root = {fb_k->root_mount, fb_k->root_mount->root};

    fb_sr_sub(top, &arr);
    if (l->bad || arr.n > MAX_TMPFS_MOUNTS || !buf) {
        free(buf);
        return bad(l, "tmpfs mounts");
    }
    for (i = 0; i < arr.n; i++) {
        char path[FB_PATH_MAX];
        struct fb_list *pos;
        if (!fb_sr_str(&arr, path, sizeof(path))) {
            free(buf);
            return bad(l, "tmpfs mount path");
        }
        l->tmpfs_mounts[i] = NULL;
        fb_list_for_each(pos, fb_vfs_mounts())
        {
            struct fb_mount *m = fb_list_entry(pos, struct fb_mount, node);
            struct fb_path p = {m, m->root};
            if (strcmp(m->sb->type, "tmpfs") == 0 &&
                fb_vfs_path_string(&p, &root, buf, FB_PATH_MAX) >= 0 && strcmp(buf, path) == 0)
                l->tmpfs_mounts[i] = m;
        }
        if (!l->tmpfs_mounts[i]) {
            free(buf);
            return fb_error_set(l->err, ENOENT, "restore: no tmpfs mounted at %s here", path);
        }
    }
    l->ntmpfs = (int)arr.n;
    free(buf);
    return 0;
}

static void load_ts(struct fb_sr *r, struct timespec *ts)
{
    ts->tv_sec = (time_t)fb_sr_i64(r);
    ts->tv_nsec = (long)fb_sr_i64(r);
    if (ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
        *r->err = true;
}

static int load_tmpfs_inode(struct loader *l, struct fb_sr *e, uint32_t i)
{
    struct tmpfs_pending *tp = &l->tpend[i];
    int64_t ref = fb_sr_i64(e);
    bool root = fb_sr_bool(e);
    struct fb_sb *sb;
    struct fb_inode *existing = NULL;

    tp->st.mode = (uint32_t)fb_sr_u64(e);
    tp->st.uid = (uint32_t)fb_sr_u64(e);
    tp->st.gid = (uint32_t)fb_sr_u64(e);
    tp->st.nlink = fb_sr_u64(e);
    tp->st.size = fb_sr_u64(e);
    load_ts(e, &tp->st.atime);
    load_ts(e, &tp->st.mtime);
    load_ts(e, &tp->st.ctime);
    load_ts(e, &tp->st.btime);
    if (l->bad || ref < -1 || ref >= l->ntmpfs || (root && ref < 0) ||
        tp->st.size > (uint64_t)INT64_MAX)
        return bad(l, "tmpfs inode");
    sb = ref < 0 ? fb_tmpfs_shm_sb() : l->tmpfs_mounts[ref]->sb;
    if (root)
        existing = l->tmpfs_mounts[ref]->root->inode;
    l->inodes[i] = fb_tmpfs_load_inode(sb, existing, (mode_t)tp->st.mode, e);
    if (!l->inodes[i])
        return bad(l, "tmpfs inode content");
    tp->entries = fb_sr_obj(e);
    tp->next_seq = fb_sr_u64(e);
    tp->st.ino = e->n >= 20 ? fb_sr_u64(e) : 0; /* images before it was saved: a new number */
    /* A number near the top would make the counter of new inodes wrap to numbers in use. */
    if (l->bad || !tp->entries || tp->st.ino >= (1ull << 48) ||
        (S_ISDIR(tp->st.mode) ? tp->entries->type != MSGPACK_OBJECT_ARRAY
                              : tp->entries->type != MSGPACK_OBJECT_NIL))
        return bad(l, "tmpfs directory");
    return 0;
}

/* Link directory entries, then give every tmpfs inode its saved attributes. */
static int finish_tmpfs(struct loader *l)
{
    uint32_t i, j;

    for (i = 0; i < l->ninodes; i++) {
        struct tmpfs_pending *tp = &l->tpend[i];
        struct fb_sr es;
        if (!l->inodes[i] || !fb_inode_is_tmpfs(l->inodes[i]) || !tp->entries ||
            tp->entries->type != MSGPACK_OBJECT_ARRAY)
            continue;
        fb_sr_open(&es, tp->entries, &l->bad);
        for (j = 0; j < es.n; j++) {
            struct fb_sr en;
            char name[FB_NAME_MAX + 1];
            uint64_t id, seq;
            fb_sr_sub(&es, &en);
            if (!fb_sr_str(&en, name, sizeof(name)))
                return bad(l, "tmpfs entry name");
            id = fb_sr_u64(&en);
            seq = fb_sr_u64(&en);
            if (l->bad || id == 0 || id > l->ninodes || id - 1 == i ||
                !fb_inode_is_tmpfs(l->inodes[id - 1]) ||
                l->inodes[id - 1]->sb != l->inodes[i]->sb ||
                fb_tmpfs_load_link(l->inodes[i], name, l->inodes[id - 1], seq) < 0)
                return bad(l, "tmpfs entry");
        }
        fb_tmpfs_set_next_seq(l->inodes[i], tp->next_seq);
    }
    for (i = 0; i < l->ninodes; i++) {
        struct fb_inode *ino = l->inodes[i];
        struct tmpfs_pending *tp = &l->tpend[i];
        if (!ino || !fb_inode_is_tmpfs(ino) || !tp->entries)
            continue;
        ino->st.mode = tp->st.mode;
        ino->st.uid = tp->st.uid;
        ino->st.gid = tp->st.gid;
        ino->st.nlink = tp->st.nlink;
        ino->st.size = tp->st.size;
        ino->st.atime = tp->st.atime;
        ino->st.mtime = tp->st.mtime;
        ino->st.ctime = tp->st.ctime;
        ino->st.btime = tp->st.btime;
        ino->st.blocks = 0;
        if (tp->st.ino) {
            ino->st.ino = tp->st.ino;
            if (ino->sb->next_ino < tp->st.ino) /* new inodes get numbers above every saved one */
                ino->sb->next_ino = tp->st.ino;
        }
    }
    /* Every directory hangs from its mount's root: no loops, nothing unreachable. */
    for (i = 0; i < l->ninodes; i++) {
        struct fb_inode *ino = l->inodes[i];
        const struct fb_inode *root = NULL;
        int k;
        if (!ino || !fb_inode_is_tmpfs(ino) || !S_ISDIR(ino->st.mode))
            continue;
        for (k = 0; k < l->ntmpfs; k++)
            if (l->tmpfs_mounts[k]->sb == ino->sb)
                root = l->tmpfs_mounts[k]->root->inode;
        if (!root || !fb_tmpfs_dir_reaches(ino, root))
            return bad(l, "tmpfs directory outside its tree");
    }
    return 0;
}

/* The 9P files' paths of the inode table arr, and the working directories of the filesystem
 * contexts (rest: the state after the table; a function's /code), looked up together ahead of
 * load_inodes's and load_fss's one by one (fb_vfs_lookup_ahead: one round trip to the Gofer
 * instead of one per name not yet cached, ~20 for the python function). Read from copies of the
 * cursors with an error flag of their own: the sections are checked where they are loaded,
 * with the messages that says. */
static void p9_paths_ahead(const struct fb_sr *arr, const struct fb_sr *rest)
{
    struct fb_sr pre = *arr, after = *rest, skip, fss;
    struct fb_path root = {fb_k->root_mount, fb_k->root_mount->root};
    char *paths[128];
    bool pre_bad = false;
    int n = 0;
    const int cap = (int)(sizeof(paths) / sizeof(paths[0]));

    pre.err = &pre_bad;
    while (pre.i < pre.n && n < cap && !pre_bad) {
        char path[FB_PATH_MAX];
        struct fb_sr e;
        fb_sr_sub(&pre, &e);
        if (fb_sr_u64(&e) == INODE_P9 && fb_sr_str(&e, path, sizeof(path)) && !pre_bad &&
            (paths[n] = strdup(path)))
            n++;
    }
    after.err = &pre_bad;
    fb_sr_sub(&after, &skip); /* the open files */
    fb_sr_sub(&after, &skip); /* the fd tables */
    fb_sr_sub(&after, &fss);  /* load_fss's */
    while (fss.i < fss.n && n < cap && !pre_bad) {
        char croot[FB_PATH_MAX], cwd[FB_PATH_MAX];
        struct fb_sr e;
        fb_sr_sub(&fss, &e);
        if (fb_sr_str(&e, croot, sizeof(croot)) && fb_sr_str(&e, cwd, sizeof(cwd)) && !pre_bad &&
            (paths[n] = strdup(cwd)))
            n++;
    }
    fb_vfs_lookup_ahead(&root, (const char *const *)paths, n);
    while (n > 0)
        free(paths[--n]);
}

static int load_inodes(struct loader *l, struct fb_sr *top)
{
    struct fb_sr arr;
    uint32_t i;

    fb_sr_sub(top, &arr);
    if (l->bad)
        return bad(l, "inode table");
    p9_paths_ahead(&arr, top);
    l->ninodes = arr.n;
    l->inodes = calloc(arr.n ? arr.n : 1, sizeof(*l->inodes));
    l->tpend = calloc(arr.n ? arr.n : 1, sizeof(*l->tpend));
    if (!l->inodes || !l->tpend)
        return fb_error_set(l->err, ENOMEM, "out of memory");
    for (i = 0; i < arr.n; i++) {
        struct fb_sr e;
        uint64_t kind;
        fb_sr_sub(&arr, &e);
        kind = fb_sr_u64(&e);
        if (l->bad)
            return bad(l, "inode");
        if (kind == INODE_PIPE) {
            l->inodes[i] = fb_pipe_load(&e);
            if (!l->inodes[i])
                return bad(l, "pipe");
        } else if (kind == INODE_P9) {
            char path[FB_PATH_MAX];
            struct fb_path p;
            uint64_t size;
            int64_t msec, mnsec;
            int r;
            if (!fb_sr_str(&e, path, sizeof(path)))
                return bad(l, "9P path");
            size = fb_sr_u64(&e);
            msec = fb_sr_i64(&e);
            mnsec = fb_sr_i64(&e);
            if (l->bad)
                return bad(l, "9P inode");
            r = lookup_path(l, path, &p);
            if (r < 0)
                return fb_error_set(l->err, -r,
                                    "image is stale: %s, used by the saved program, is gone (%s); "
                                    "make a new checkpoint",
                                    path, strerror(-r));
            if (!fb_inode_is_p9(p.dentry->inode) || p.dentry->inode->st.size != size ||
                p.dentry->inode->st.mtime.tv_sec != msec ||
                p.dentry->inode->st.mtime.tv_nsec != mnsec) {
                fb_path_put(&p);
                return fb_error_set(l->err, ESTALE,
                                    "image is stale: %s changed since the checkpoint (size or "
                                    "modification time differ); make a new checkpoint",
                                    path);
            }
            l->inodes[i] = p.dentry->inode;
            fb_inode_get(l->inodes[i]);
            fb_path_put(&p);
            if (fb_p9fs_cache_load(l->inodes[i], &e) < 0)
                return bad(l, "9P page cache");
        } else if (kind == INODE_TMPFS) {
            if (load_tmpfs_inode(l, &e, i) < 0)
                return -1;
        } else {
            return bad(l, "inode kind");
        }
    }
    return finish_tmpfs(l);
}

static struct fb_file *file_at(uint64_t id, void *arg)
{
    struct loader *l = arg;
    return id && id <= l->nfiles ? l->files[id - 1] : NULL;
}

/* A tmpfs inode by id (socket names). */
static struct fb_inode *inode_at(uint64_t id, void *arg)
{
    struct loader *l = arg;
    return id && id <= l->ninodes && l->inodes[id - 1] && fb_inode_is_tmpfs(l->inodes[id - 1])
               ? l->inodes[id - 1]
               : NULL;
}

static int load_files(struct loader *l, struct fb_sr *top)
{
    struct fb_sr arr;
    uint32_t i;

    fb_sr_sub(top, &arr);
    if (l->bad)
        return bad(l, "file table");
    l->nfiles = arr.n;
    l->files = calloc(arr.n ? arr.n : 1, sizeof(*l->files));
    l->epoll_items = calloc(arr.n ? arr.n : 1, sizeof(*l->epoll_items));
    l->sock_states = calloc(arr.n ? arr.n : 1, sizeof(*l->sock_states));
    if (!l->files || !l->epoll_items || !l->sock_states)
        return fb_error_set(l->err, ENOMEM, "out of memory");
    for (i = 0; i < arr.n; i++) {
        struct fb_sr e;
        uint64_t kind, flags;
        int64_t pos;
        struct fb_file *f = NULL;

        fb_sr_sub(&arr, &e);
        kind = fb_sr_u64(&e);
        flags = fb_sr_u64(&e);
        pos = fb_sr_i64(&e);
        if (l->bad || flags > 0xffffffffu || pos < 0 || (l->files[i] && kind != FILE_SOCKET))
            return bad(l, "file");
        if (kind == FILE_HOST) {
            uint64_t idx = fb_sr_u64(&e);
            if (l->bad || idx > 2)
                return bad(l, "stdio file");
            f = fb_k->host_stdio[idx];
            if (!f)
                return fb_error_set(l->err, EBADF,
                                    "restore: the saved program uses its %s, which is closed here",
                                    idx == 0 ? "stdin" : idx == 1 ? "stdout" : "stderr");
            fb_file_get(f);
            /* Access mode and position are the new caller's; status flags the program set
             * (O_NONBLOCK, O_APPEND) carry over. */
            f->flags = (f->flags & O_ACCMODE) | ((unsigned)flags & ~(unsigned)O_ACCMODE);
        } else if (kind == FILE_PIPE) {
            uint64_t id = fb_sr_u64(&e);
            if (l->bad || id == 0 || id > l->ninodes || !fb_inode_is_anon_pipe(l->inodes[id - 1]))
                return bad(l, "pipe file");
            f = fb_pipe_file_restore(l->inodes[id - 1], (unsigned)flags);
            if (!f)
                return fb_error_set(l->err, ENOMEM, "out of memory");
            f->pos = pos;
        } else if (kind == FILE_TMPFS) {
            uint64_t id = fb_sr_u64(&e);
            char path[FB_PATH_MAX];
            bool have_path;
            struct fb_inode *ino;
            int r;
            const msgpack_object *po = fb_sr_obj(&e);
            have_path = po && po->type == MSGPACK_OBJECT_STR;
            if (have_path) {
                if (po->via.str.size == 0 || po->via.str.size >= sizeof(path) ||
                    memchr(po->via.str.ptr, 0, po->via.str.size))
                    return bad(l, "tmpfs file path");
                memcpy(path, po->via.str.ptr, po->via.str.size);
                path[po->via.str.size] = 0;
            }
            if (l->bad || id == 0 || id > l->ninodes || !fb_inode_is_tmpfs(l->inodes[id - 1]))
                return bad(l, "tmpfs file");
            ino = l->inodes[id - 1];
            if (!have_path && !S_ISREG(ino->st.mode))
                return bad(l, "tmpfs file without a path"); /* only unlinked regular files */
            if (have_path) {
                struct fb_path p;
                r = lookup_path(l, path, &p);
                if (r == 0 && p.dentry->inode != ino) {
                    fb_path_put(&p);
                    r = -ESTALE;
                }
                if (r == 0) {
                    f = fb_file_new(ino, &p, (unsigned)flags);
                    fb_path_put(&p);
                }
            } else {
                f = fb_file_new(ino, NULL, (unsigned)flags);
            }
            if (!f)
                return bad(l, "tmpfs file path");
            r = (flags & O_PATH)     ? 0
                : S_ISFIFO(ino->st.mode) ? fb_fifo_open_restored(ino, f)
                : ino->ops->open ? ino->ops->open(ino, f)
                                 : 0;
            if (r < 0) {
                fb_file_put(f);
                return fb_error_set(l->err, -r, "restore: reopening a tmpfs file: %s",
                                    strerror(-r));
            }
            f->pos = pos;
            f->anon_name = fb_sr_strdup(&e);
        } else if (kind == FILE_SOCKET) {
            uint64_t peer = fb_sr_u64(&e);
            const msgpack_object *st = fb_sr_obj(&e);
            struct fb_sr one;
            msgpack_object wrap;
            if (l->bad || !st || st->type != MSGPACK_OBJECT_ARRAY || st->via.array.size < 1 ||
                st->via.array.ptr[0].type > MSGPACK_OBJECT_NEGATIVE_INTEGER || peer > l->nfiles ||
                peer == i + 1)
                return bad(l, "socket");
            if (fb_socket_state_is_general(st)) {
                /* A lone socket now; its state and references once every file exists. */
                if (l->files[i] || peer ||
                    st->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
                    st->via.array.ptr[0].via.u64 > 16 ||
                    fb_socket_new(AF_UNIX, (int)st->via.array.ptr[0].via.u64, 0, 0, &f) < 0)
                    return bad(l, "socket");
                f->flags = (unsigned)flags;
                f->pos = pos;
                l->sock_states[i] = st;
                l->files[i] = f;
                continue;
            }
            f = l->files[i]; /* made with its peer, earlier in the table */
            if (f) {
                fb_file_get(f);
            } else {
                struct fb_file *pair[2];
                int type = (int)st->via.array.ptr[0].via.i64;
                if (peer && (peer < i + 1 || l->files[peer - 1]))
                    return bad(l, "socket peer");
                if (fb_socket_pair(AF_UNIX, type, 0, 0, pair) < 0)
                    return bad(l, "socket type");
                f = pair[0];
                if (peer)
                    l->files[peer - 1] = pair[1]; /* its state comes at its own entry */
                else
                    fb_file_put(pair[1]); /* the peer's file was closed before the checkpoint */
            }
            wrap.type = MSGPACK_OBJECT_ARRAY;
            wrap.via.array.size = 1;
            wrap.via.array.ptr = (msgpack_object *)st;
            fb_sr_open(&one, &wrap, &l->bad);
            if (fb_socket_load_pair_state(f, &one) < 0 || l->bad) {
                fb_file_put(f);
                return bad(l, "socket state");
            }
            f->flags = (unsigned)flags;
            f->pos = pos;
            if (l->files[i]) {
                fb_file_put(f); /* the table already holds the pair's reference */
                continue;
            }
        } else if (kind == FILE_EPOLL) {
            if (fb_epoll_new(&f) < 0)
                return fb_error_set(l->err, ENOMEM, "out of memory");
            f->flags = (unsigned)flags;
            f->pos = pos;
            l->epoll_items[i] = fb_sr_obj(&e); /* after every file exists */
        } else if (kind == FILE_EVENT) {
            uint64_t sub = fb_sr_u64(&e);
            int r = sub == 1 ? fb_eventfd_load(&e, (unsigned)flags, &f)
                    : sub == 2 ? fb_signalfd_load(&e, (unsigned)flags, &f)
                    : sub == 3 ? fb_timerfd_load(&e, (unsigned)flags, &f)
                               : -EINVAL;
            if (r < 0 || l->bad)
                return bad(l, "eventfd/signalfd/timerfd");
            f->pos = pos;
        } else if (kind == FILE_PATH) {
            char path[FB_PATH_MAX];
            struct fb_path p;
            int r;
            if (!fb_sr_str(&e, path, sizeof(path)) || l->bad)
                return bad(l, "file path");
            r = lookup_path(l, path, &p);
            if (r == 0) {
                r = fb_vfs_open_path(&p, (int)(flags & ~(unsigned)(O_CREAT | O_EXCL | O_TRUNC)),
                                     &f);
                fb_path_put(&p);
            }
            if (r < 0)
                return fb_error_set(l->err, -r,
                                    "image is stale: cannot reopen %s, open in the saved program "
                                    "(%s)",
                                    path, strerror(-r));
            f->pos = pos;
        } else {
            return bad(l, "file kind");
        }
        l->files[i] = f;
    }
    {
        struct fb_socket_loadset set = {file_at, inode_at, l};
        for (i = 0; i < arr.n; i++)
            if (l->sock_states[i] && fb_socket_load_self(l->files[i], l->sock_states[i], &set) < 0)
                return bad(l, "socket state");
        for (i = 0; i < arr.n; i++)
            if (l->sock_states[i] && fb_socket_load_links(l->files[i], l->sock_states[i], &set) < 0)
                return bad(l, "socket connections");
    }
    for (i = 0; i < arr.n; i++) {
        struct fb_sr items;
        bool err = false;
        if (!l->epoll_items[i])
            continue;
        /* A cursor over a one-element view: the items array is the object itself. */
        {
            msgpack_object wrap;
            wrap.type = MSGPACK_OBJECT_ARRAY;
            wrap.via.array.size = 1;
            wrap.via.array.ptr = (msgpack_object *)l->epoll_items[i];
            fb_sr_open(&items, &wrap, &err);
            if (fb_epoll_load_items(l->files[i], &items, file_at, l) < 0 || err)
                return bad(l, "epoll interest list");
        }
    }
    return 0;
}

static int load_fdtables(struct loader *l, struct fb_sr *top)
{
    struct fb_sr arr;
    uint32_t i, j;

    fb_sr_sub(top, &arr);
    if (l->bad)
        return bad(l, "fd tables");
    l->nfdts = arr.n;
    l->fdts = calloc(arr.n ? arr.n : 1, sizeof(*l->fdts));
    if (!l->fdts)
        return fb_error_set(l->err, ENOMEM, "out of memory");
    for (i = 0; i < arr.n; i++) {
        struct fb_sr e;
        struct fb_fdtable *ft = fb_fdtable_new();
        int size = 0;
        if (!ft)
            return fb_error_set(l->err, ENOMEM, "out of memory");
        l->fdts[i] = ft;
        fb_sr_sub(&arr, &e);
        if (l->bad || e.n % 3)
            return bad(l, "fd table");
        /* Size the table for the highest fd. */
        for (j = 0; j < e.n; j += 3) {
            uint64_t fd = fb_sr_u64(&e);
            fb_sr_u64(&e);
            fb_sr_bool(&e);
            if (fd >= (1u << 20))
                return bad(l, "fd number");
            if ((int)fd >= size)
                size = (int)fd + 1;
        }
        e.i = 0;
        if (size > ft->size) {
            struct fb_fd_entry *n = realloc(ft->fds, (size_t)size * sizeof(*n));
            if (!n)
                return fb_error_set(l->err, ENOMEM, "out of memory");
            memset(n + ft->size, 0, (size_t)(size - ft->size) * sizeof(*n));
            ft->fds = n;
            ft->size = size;
        }
        for (j = 0; j < e.n; j += 3) {
            uint64_t fd = fb_sr_u64(&e), id = fb_sr_u64(&e);
            bool cloexec = fb_sr_bool(&e);
            if (l->bad || id == 0 || id > l->nfiles || ft->fds[fd].file)
                return bad(l, "fd entry");
            ft->fds[fd].file = l->files[id - 1];
            ft->fds[fd].cloexec = cloexec;
            fb_file_get(l->files[id - 1]);
        }
    }
    return 0;
}

static int load_fss(struct loader *l, struct fb_sr *top)
{
    struct fb_sr arr;
    uint32_t i;

    fb_sr_sub(top, &arr);
    if (l->bad)
        return bad(l, "filesystem contexts");
    l->nfss = arr.n;
    l->fss = calloc(arr.n ? arr.n : 1, sizeof(*l->fss));
    if (!l->fss)
        return fb_error_set(l->err, ENOMEM, "out of memory");
    for (i = 0; i < arr.n; i++) {
        struct fb_sr e;
        char root[FB_PATH_MAX], cwd[FB_PATH_MAX];
        struct fb_path pr, pc;
        uint64_t umask;
        int r;
        fb_sr_sub(&arr, &e);
        if (!fb_sr_str(&e, root, sizeof(root)) || !fb_sr_str(&e, cwd, sizeof(cwd)))
            return bad(l, "filesystem context");
        umask = fb_sr_u64(&e);
        if (l->bad || umask > 0777)
            return bad(l, "umask");
        r = lookup_path(l, root, &pr);
        if (r < 0)
            return fb_error_set(l->err, -r, "image is stale: root directory %s is gone", root);
        r = lookup_path(l, cwd, &pc);
        if (r < 0) {
            fb_path_put(&pr);
            return fb_error_set(l->err, -r, "image is stale: working directory %s is gone", cwd);
        }
        l->fss[i] = fb_fs_ctx_new(&pr, &pc);
        fb_path_put(&pr);
        fb_path_put(&pc);
        if (!l->fss[i])
            return fb_error_set(l->err, ENOMEM, "out of memory");
        l->fss[i]->umask = (mode_t)umask;
    }
    return 0;
}

static int load_sighands(struct loader *l, struct fb_sr *top)
{
    struct fb_sr arr;
    uint32_t i;

    fb_sr_sub(top, &arr);
    if (l->bad)
        return bad(l, "signal handlers");
    l->nshs = arr.n;
    l->shs = calloc(arr.n ? arr.n : 1, sizeof(*l->shs));
    if (!l->shs)
        return fb_error_set(l->err, ENOMEM, "out of memory");
    for (i = 0; i < arr.n; i++) {
        l->shs[i] = fb_sighand_new();
        if (!l->shs[i])
            return fb_error_set(l->err, ENOMEM, "out of memory");
        fb_sr_bin(&arr, l->shs[i]->action, sizeof(l->shs[i]->action), NULL);
        if (l->bad)
            return bad(l, "signal handler table");
    }
    return 0;
}

static struct fb_mappable *map_lookup(uint64_t id, void *arg)
{
    struct loader *l = arg;
    struct fb_inode *ino;
    if (id == 0 || id > l->ninodes)
        return NULL;
    ino = l->inodes[id - 1];
    if ((!fb_inode_is_p9(ino) && !fb_inode_is_tmpfs(ino)) || !ino->mappable)
        return NULL;
    ino->mappable->ops->get(ino->mappable);
    return ino->mappable;
}

static int load_mms(struct loader *l, struct fb_sr *top)
{
    struct fb_sr arr;
    uint32_t i;

    fb_sr_sub(top, &arr);
    if (l->bad)
        return bad(l, "address spaces");
    l->nmms = arr.n;
    l->mms = calloc(arr.n ? arr.n : 1, sizeof(*l->mms));
    if (!l->mms)
        return fb_error_set(l->err, ENOMEM, "out of memory");
    for (i = 0; i < arr.n; i++) {
        l->mms[i] = fb_mm_load(&arr, &fb_k->mf, fb_k->plat, map_lookup, l);
        if (!l->mms[i] || l->bad)
            return bad(l, "address space");
        l->mms[i]->image_index = i + 1; /* names it in the "workingset" section */
    }
    return 0;
}

static void load_sigpending(struct loader *l, struct fb_sr *r, struct fb_sigpending *p)
{
    struct fb_sr arr;
    uint32_t i;

    fb_sr_sub(r, &arr);
    for (i = 0; i < arr.n && !l->bad; i++) {
        struct fb_sigqueue_entry *e = calloc(1, sizeof(*e));
        if (!e) {
            l->bad = true;
            return;
        }
        fb_sr_bin(&arr, &e->info, sizeof(e->info), NULL);
        if (l->bad || e->info.si_signo < 1 || e->info.si_signo > 64) {
            free(e);
            l->bad = true;
            return;
        }
        fb_list_add_tail(&p->list, &e->node);
        p->mask |= FB_SIGBIT(e->info.si_signo);
    }
}

static bool valid_pid(uint64_t pid)
{
    return pid >= 1 && pid <= (uint64_t)fb_k->pid_max;
}

/* Processes: created first without links, then parents linked (the saved order is creation
 * order, but reparenting makes no promise about it). */
static int load_tgs(struct loader *l, struct fb_sr *top, struct fb_thread_group ***out, uint32_t *n)
{
    struct fb_sr arr;
    struct fb_thread_group **tgs;
    uint64_t *parents;
    uint32_t i, j;

    fb_sr_sub(top, &arr);
    if (l->bad)
        return bad(l, "process table");
    tgs = calloc(arr.n ? arr.n : 1, sizeof(*tgs));
    parents = calloc(arr.n ? arr.n : 1, sizeof(uint64_t));
    if (!tgs || !parents) {
        free(tgs);
        free(parents);
        return fb_error_set(l->err, ENOMEM, "out of memory");
    }
    *out = tgs;
    *n = arr.n;
    for (i = 0; i < arr.n; i++) {
        struct fb_sr e;
        struct fb_thread_group *tg;
        uint64_t tgid, sh, state;
        size_t got = 0;
        int64_t deadline, interval;

        fb_sr_sub(&arr, &e);
        tgid = fb_sr_u64(&e);
        if (l->bad || !valid_pid(tgid))
            goto corrupt;
        tg = fb_tg_new(NULL, NULL);
        if (!tg) {
            free(parents);
            return fb_error_set(l->err, ENOMEM, "out of memory");
        }
        tgs[i] = tg;
        tg->tgid = (int)tgid;
        parents[i] = fb_sr_u64(&e);
        tg->exit_signal = (int)fb_sr_u64(&e);
        fb_sr_u64(&e); /* parent thread: the parent's leader after a restore */
        tg->did_exec = fb_sr_bool(&e);
        tg->child_subreaper = fb_sr_bool(&e);
        tg->dumpable = (int)fb_sr_i64(&e);
        tg->pgid = (int)fb_sr_u64(&e);
        tg->sid = (int)fb_sr_u64(&e);
        sh = fb_sr_u64(&e);
        load_sigpending(l, &e, &tg->shared_pending);
        state = fb_sr_u64(&e);
        tg->group_exiting = fb_sr_bool(&e);
        tg->exit_status = (int)fb_sr_i64(&e);
        tg->stopped = fb_sr_bool(&e);
        tg->stop_signal = (int)fb_sr_i64(&e);
        tg->stop_reported = fb_sr_bool(&e);
        tg->continued = fb_sr_bool(&e);
        tg->stop_pending_threads = (int)fb_sr_i64(&e);
        tg->uid = (uint32_t)fb_sr_u64(&e);
        tg->euid = (uint32_t)fb_sr_u64(&e);
        tg->suid = (uint32_t)fb_sr_u64(&e);
        tg->fsuid = (uint32_t)fb_sr_u64(&e);
        tg->gid = (uint32_t)fb_sr_u64(&e);
        tg->egid = (uint32_t)fb_sr_u64(&e);
        tg->sgid = (uint32_t)fb_sr_u64(&e);
        tg->fsgid = (uint32_t)fb_sr_u64(&e);
        fb_sr_bin(&e, tg->groups, sizeof(tg->groups), &got);
        tg->ngroups = (int)(got / sizeof(tg->groups[0]));
        fb_sr_bin(&e, tg->rlim, sizeof(tg->rlim), NULL);
        deadline = fb_sr_i64(&e);
        interval = fb_sr_i64(&e);
        tg->next_timer_id = (int)fb_sr_u64(&e);
        tg->utime_ns = fb_sr_i64(&e);
        tg->stime_ns = fb_sr_i64(&e);
        tg->child_utime_ns = fb_sr_i64(&e);
        tg->child_stime_ns = fb_sr_i64(&e);
        tg->start_mono_ns = fb_sr_i64(&e);
        fb_sr_i64(&e); /* CPU itimers armed: informational, they come back with the timers */
        fb_sr_u64(&e); /* leader: the thread whose tid is the tgid (load_tasks) */
        fb_sr_u64(&e); /* live threads: counted as threads are created */
        if (l->bad || state > FB_TG_ZOMBIE || (state == FB_TG_LIVE && (sh == 0 || sh > l->nshs)) ||
            !valid_pid((uint64_t)tg->pgid) || !valid_pid((uint64_t)tg->sid) ||
            (parents[i] && !valid_pid(parents[i])) || interval < 0 || deadline < 0 ||
            tg->exit_signal < 0 || tg->exit_signal > 64)
            goto corrupt;
        tg->state = (enum fb_tg_state)state;
        if (sh) {
            tg->sighand = l->shs[sh - 1];
            tg->sighand->refs++;
        }
        if (deadline || interval)
            fb_itimer_real_restore(tg, deadline, interval);
        for (j = 0; j < i; j++)
            if (tgs[j]->tgid == tg->tgid)
                goto corrupt;
    }
    for (i = 0; i < arr.n; i++) {
        if (!parents[i])
            continue;
        for (j = 0; j < arr.n; j++)
            if (tgs[j]->tgid == (int)parents[i] && j != i)
                break;
        if (j == arr.n)
            goto corrupt;
        tgs[i]->parent = tgs[j];
        fb_list_add_tail(&tgs[j]->children, &tgs[i]->sibling);
    }
    /* Leaders and parent threads are resolved once tasks exist (load_tasks). */
    *out = tgs;
    free(parents);
    return 0;
corrupt:
    free(parents);
    return bad(l, "process");
}

static struct fb_thread_group *find_tg(struct fb_thread_group **tgs, uint32_t n, uint64_t tgid)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        if ((uint64_t)tgs[i]->tgid == tgid)
            return tgs[i];
    return NULL;
}

static int load_tasks(struct loader *l, struct fb_sr *top, struct fb_thread_group **tgs,
                      uint32_t ntgs)
{
    struct fb_sr arr;
    struct fb_task **ts;
    uint64_t *links;
    uint32_t i, j;
    size_t fpsize = fb_platform_fpstate_size();

    fb_sr_sub(top, &arr);
    if (l->bad)
        return bad(l, "thread table");
    /* Each task takes a host thread in the Sentry and one in a stub: no more than the sandbox
     * may have (a crafted image could list thousands). */
    if (fb_k->opts.pids_limit && arr.n > (uint32_t)fb_k->opts.pids_limit)
        return fb_error_set(l->err, EAGAIN,
                            "image: %u tasks, more than the sandbox's task limit (%d, --pids)",
                            arr.n, fb_k->opts.pids_limit);
    ts = calloc(arr.n ? arr.n : 1, sizeof(*ts));
    links = calloc(arr.n ? arr.n : 1, 2 * sizeof(uint64_t));
    if (!ts || !links) {
        free(ts);
        free(links);
        return fb_error_set(l->err, ENOMEM, "out of memory");
    }
    for (i = 0; i < arr.n; i++) {
        struct fb_sr e;
        uint64_t tid, tgid, mm, ft, fs, ss_sp, ss_size;
        struct fb_thread_group *tg;
        struct fb_task *t;

        fb_sr_sub(&arr, &e);
        tid = fb_sr_u64(&e);
        tgid = fb_sr_u64(&e);
        mm = fb_sr_u64(&e);
        ft = fb_sr_u64(&e);
        fs = fb_sr_u64(&e);
        tg = find_tg(tgs, ntgs, tgid);
        if (l->bad || !valid_pid(tid) || !tg || tg->state != FB_TG_LIVE || mm == 0 ||
            mm > l->nmms || ft == 0 || ft > l->nfdts || fs == 0 || fs > l->nfss)
            goto corrupt;
        for (j = 0; j < i; j++)
            if ((uint64_t)ts[j]->tid == tid)
                goto corrupt;
        fb_mm_get(l->mms[mm - 1]);
        l->fdts[ft - 1]->refs++;
        l->fss[fs - 1]->refs++;
        t = fb_task_create(tg, l->mms[mm - 1], l->fdts[ft - 1], l->fss[fs - 1]);
        if (!t) {
            free(ts);
            free(links);
            return fb_error_set(l->err, ENOMEM, "out of memory");
        }
        ts[i] = t;
        t->tid = (int)tid;
        fb_sr_bin(&e, &t->cpu.regs, sizeof(t->cpu.regs), NULL);
        fb_sr_bin(&e, t->cpu.fp, fpsize, NULL);
        fb_fpstate_sanitize(t->cpu.fp); /* the image is as untrusted as a signal frame */
        t->cpu.fp_valid = t->cpu.fp_dirty = true;
        t->blocked = fb_sr_u64(&e) & ~(FB_SIGBIT(SIGKILL) | FB_SIGBIT(SIGSTOP));
        t->saved_mask = fb_sr_u64(&e);
        t->restore_mask = fb_sr_bool(&e);
        load_sigpending(l, &e, &t->pending);
        ss_sp = fb_sr_u64(&e);
        t->altstack.ss_flags = (int)fb_sr_i64(&e);
        ss_size = fb_sr_u64(&e);
        t->altstack.ss_sp = (void *)(uintptr_t)ss_sp;
        t->altstack.ss_size = ss_size;
        t->clear_child_tid = fb_sr_u64(&e);
        t->robust_list = fb_sr_u64(&e);
        t->robust_len = fb_sr_u64(&e);
        fb_sr_bin(&e, t->comm, sizeof(t->comm), NULL);
        t->comm[sizeof(t->comm) - 1] = 0;
        t->pdeath_signal = (int)fb_sr_i64(&e);
        t->no_new_privs = fb_sr_bool(&e);
        t->nice = (int)fb_sr_i64(&e);
        t->sched_policy = (int)fb_sr_i64(&e);
        fb_sr_bin(&e, t->affinity, sizeof(t->affinity), NULL);
        links[2 * i] = fb_sr_u64(&e);
        links[2 * i + 1] = fb_sr_u64(&e);
        t->sc_nr = fb_sr_u64(&e);
        t->restarting = fb_sr_bool(&e);
        t->sc_deadline = fb_sr_i64(&e);
        t->utime_ns = fb_sr_i64(&e);
        t->stime_ns = fb_sr_i64(&e);
        t->sleep_ns = fb_sr_i64(&e);
        fb_sr_bin(&e, t->sc_args, sizeof(t->sc_args), NULL);
        if (fb_sr_bool(&e) && (!t->restarting || fb_futex_restore_woken(t) < 0))
            goto corrupt;
        /* User-mode segments only: a corrupt image must not make the stub run as anything
         * else (the host would refuse anyway; fail clearly instead). */
        if (l->bad || t->cpu.regs.cs != 0x33 || t->cpu.regs.ss != 0x2b ||
            t->nice < -20 || t->nice > 19 || t->pdeath_signal < 0 || t->pdeath_signal > 64)
            goto corrupt;
    }
    /* Cross links: vfork pairs, leaders, parent threads, pid 1. */
    for (i = 0; i < arr.n; i++) {
        for (j = 0; j < 2; j++) {
            uint64_t tid = links[2 * i + j];
            struct fb_task *o = NULL;
            uint32_t k;
            if (!tid)
                continue;
            for (k = 0; k < arr.n; k++)
                if ((uint64_t)ts[k]->tid == tid)
                    o = ts[k];
            if (!o)
                goto corrupt;
            if (j == 0)
                ts[i]->vfork_parent = o;
            else
                ts[i]->vfork_child = o;
        }
    }
    for (i = 0; i < ntgs; i++) {
        struct fb_thread_group *tg = tgs[i];
        struct fb_list *pos;
        if (tg->state != FB_TG_LIVE)
            continue;
        if (fb_list_empty(&tg->threads))
            goto corrupt;
        /* The leader is the thread whose tid is the tgid, if it still exists. */
        fb_list_for_each(pos, &tg->threads)
        {
            struct fb_task *t = fb_list_entry(pos, struct fb_task, tg_node);
            if (t->tid == tg->tgid)
                tg->leader = t;
        }
        if (!tg->leader)
            tg->leader = fb_list_entry(tg->threads.next, struct fb_task, tg_node);
        if (tg->parent && tg->parent->state == FB_TG_LIVE && !fb_list_empty(&tg->parent->threads))
            tg->parent_thread = tg->parent->leader;
    }
    for (i = 0; i < arr.n; i++)
        if (ts[i]->tid == 1)
            fb_k->init = ts[i];
    free(ts);
    free(links);
    return 0;
corrupt:
    free(ts);
    free(links);
    return bad(l, "thread");
}

static int load_futexes(struct loader *l, struct fb_sr *top)
{
    struct fb_sr arr;
    uint32_t i;

    fb_sr_sub(top, &arr);
    if (l->bad)
        return bad(l, "futex queue");
    for (i = 0; i < arr.n; i++) {
        struct fb_sr e;
        uint64_t tid, mm, addr, bitset;
        bool shared;
        struct fb_task *t;
        fb_sr_sub(&arr, &e);
        tid = fb_sr_u64(&e);
        mm = fb_sr_u64(&e);
        addr = fb_sr_u64(&e);
        shared = fb_sr_bool(&e);
        bitset = fb_sr_u64(&e);
        t = l->bad || !valid_pid(tid) ? NULL : fb_task_lookup((int)tid);
        if (!t || mm > l->nmms || bitset == 0 || bitset > 0xffffffffu || !t->restarting ||
            fb_futex_restore_park(t, mm ? (const void *)l->mms[mm - 1] : NULL, addr, shared,
                                  (uint32_t)bitset) < 0)
            return bad(l, "futex waiter");
    }
    return 0;
}

static int load_locks(struct loader *l, struct fb_sr *top)
{
    struct fb_sr arr;
    uint32_t i, j;

    fb_sr_sub(top, &arr);
    if (l->bad)
        return bad(l, "locks");
    for (i = 0; i < arr.n; i++) {
        struct fb_sr e, ps, fs;
        struct fb_inode *ino;
        uint64_t fid;
        fb_sr_sub(&arr, &e);
        fid = fb_sr_u64(&e);
        if (l->bad || fid == 0 || fid > l->nfiles || !l->files[fid - 1]->inode)
            return bad(l, "lock file");
        ino = l->files[fid - 1]->inode;
        if (!ino->locks && !(ino->locks = fb_lock_ctx_new()))
            return fb_error_set(l->err, ENOMEM, "out of memory");
        fb_sr_sub(&e, &ps);
        for (j = 0; j < ps.n; j++) {
            struct fb_sr k;
            struct fb_file_lock *lk = calloc(1, sizeof(*lk));
            bool by_file;
            uint64_t id;
            if (!lk)
                return fb_error_set(l->err, ENOMEM, "out of memory");
            fb_sr_sub(&ps, &k);
            by_file = fb_sr_bool(&k);
            id = fb_sr_u64(&k);
            lk->pid = (int)fb_sr_i64(&k);
            lk->type = (short)fb_sr_i64(&k);
            lk->ofd = fb_sr_bool(&k);
            lk->start = fb_sr_i64(&k);
            lk->end = fb_sr_i64(&k);
            if (l->bad || id == 0 || (by_file ? id > l->nfiles : id > l->nfdts) ||
                (lk->type != F_RDLCK && lk->type != F_WRLCK) || lk->start < 0 ||
                lk->end < lk->start || ino->locks->nposix >= FB_LOCK_MAX_PER_INODE) {
                free(lk);
                return bad(l, "record lock");
            }
            lk->owner = by_file ? (const void *)l->files[id - 1] : (const void *)l->fdts[id - 1];
            fb_list_add_tail(&ino->locks->posix, &lk->node);
            ino->locks->nposix++;
        }
        fb_sr_sub(&e, &fs);
        for (j = 0; j < fs.n; j++) {
            struct fb_sr k;
            struct fb_file_lock *lk = calloc(1, sizeof(*lk));
            uint64_t id;
            if (!lk)
                return fb_error_set(l->err, ENOMEM, "out of memory");
            fb_sr_sub(&fs, &k);
            id = fb_sr_u64(&k);
            lk->type = (short)fb_sr_i64(&k);
            if (l->bad || id == 0 || id > l->nfiles || (lk->type != F_RDLCK && lk->type != F_WRLCK)) {
                free(lk);
                return bad(l, "flock lock");
            }
            lk->owner = l->files[id - 1];
            lk->pid = -1;
            fb_list_add_tail(&ino->locks->flock, &lk->node);
        }
    }
    return 0;
}

static int load_timers(struct loader *l, struct fb_sr *top)
{
    struct fb_sr arr;
    uint32_t i;

    fb_sr_sub(top, &arr);
    if (l->bad)
        return bad(l, "timers");
    for (i = 0; i < arr.n; i++) {
        struct fb_sr e;
        struct fb_thread_group *tg;
        uint64_t tgid;
        fb_sr_sub(&arr, &e);
        tgid = fb_sr_u64(&e);
        tg = l->bad || !valid_pid(tgid) ? NULL : fb_tg_lookup((int)tgid);
        if (!tg || !fb_list_empty(&tg->posix_timers) || fb_posix_timers_load(tg, &e) < 0)
            return bad(l, "POSIX timer");
        {
            struct itimerval iv[2];
            int k;
            fb_sr_bin(&e, &iv[0], sizeof(iv[0]), NULL);
            fb_sr_bin(&e, &iv[1], sizeof(iv[1]), NULL);
            if (l->bad)
                return bad(l, "CPU-time interval timer");
            for (k = 0; k < 2; k++) {
                if (iv[k].it_value.tv_sec < 0 || iv[k].it_value.tv_usec < 0 ||
                    iv[k].it_value.tv_usec >= 1000000 || iv[k].it_interval.tv_sec < 0 ||
                    iv[k].it_interval.tv_usec < 0 || iv[k].it_interval.tv_usec >= 1000000 ||
                    iv[k].it_value.tv_sec > (1ll << 40) || iv[k].it_interval.tv_sec > (1ll << 40))
                    return bad(l, "CPU-time interval timer");
                if (iv[k].it_value.tv_sec || iv[k].it_value.tv_usec)
                    fb_cpu_itimer_set(tg, k ? ITIMER_PROF : ITIMER_VIRTUAL, &iv[k], NULL);
            }
        }
    }
    return 0;
}

static void loader_free(struct loader *l)
{
    uint32_t i;
    /* Drop the loader's own references (tasks hold theirs). */
    for (i = 0; i < l->nfiles; i++)
        if (l->files[i])
            fb_file_put(l->files[i]);
    for (i = 0; i < l->ninodes; i++)
        if (l->inodes[i])
            fb_inode_put(l->inodes[i]);
    for (i = 0; i < l->nfdts; i++)
        if (l->fdts[i])
            fb_fdtable_put(l->fdts[i]);
    for (i = 0; i < l->nfss; i++)
        if (l->fss[i])
            fb_fs_ctx_put(l->fss[i]);
    for (i = 0; i < l->nshs; i++)
        if (l->shs[i])
            fb_sighand_put(l->shs[i]);
    for (i = 0; i < l->nmms; i++)
        if (l->mms[i])
            fb_mm_put(l->mms[i]);
    free(l->files);
    free(l->epoll_items);
    free(l->sock_states);
    free(l->inodes);
    free(l->fdts);
    free(l->fss);
    free(l->shs);
    free(l->mms);
    free(l->tpend);
    if (l->tmp_fs)
        fb_fs_ctx_put(l->tmp_fs);
}

/* The image's half of a restore: what needs neither the Gofer nor the file tree. */
struct fb_snapshot_prep {
    int rc; /* 0, or -1 with err: reported when the restore goes on */
    struct fb_error err;
    void *blob, *ws; /* the kernel section and the working set */
    size_t len, wslen;
    long wsn; /* the working set's page count (fb_image_ws_check) */
    bool lazy, parsed;
    struct fb_sr_doc doc; /* parsed from blob */
    int64_t t0;
};

static struct fb_snapshot_prep *prep_fail(struct fb_snapshot_prep *p)
{
    if (fb_k->mf.fill) { /* the early reader: cancelled */
        struct fb_error e = {0};
        (void)fb_memfile_fill_finish(&fb_k->mf, true, &e);
    }
    fb_memfile_remap_end(&fb_k->mf);
    free(p->blob);
    free(p->ws);
    p->blob = p->ws = NULL;
    p->rc = -1;
    return p;
}

struct fb_snapshot_prep *fb_snapshot_restore_begin(int fd)
{
    struct fb_snapshot_prep *p = calloc(1, sizeof(*p));
    struct fb_image_reader *img;
    struct fb_error *err;
    uint64_t hot_pages = 0;
    bool early;

    if (!p)
        return NULL;
    err = &p->err;
    p->t0 = fb_host_mono_ns();
    if (fb_image_fdopen(fd, "image", &img, err) < 0)
        return prep_fail(p);
    /* With a working set to go by, memory is restored lazily: the pages the invocation will
     * touch once the address spaces are known, the rest when first needed. */
    p->lazy = fb_k->opts.prefault && !fb_k->opts.ws_record && !fb_mm_lazy_off &&
              fb_image_section(img, "workingset");
    /* A command-line restore of an image whose hot pages come first (renumbered) starts an
     * early reader below: it checks the memory section against its checksum first, on the
     * other CPU, so here the chunk headers are enough; the kernel objects wait for its verdict
     * (fb_snapshot_restore). Given the hot pages' file (fnbox serve's), the server checked
     * the image whole when it made it: the headers are enough too. */
    early = p->lazy && !fb_k->opts.populate && fb_k->opts.hot_fd <= 2 &&
            fb_image_section(img, "pagemap");
    /* Given the hot pages' file and it holds every page, the memory section is not read. */
    if (p->lazy && fb_k->opts.hot_fd > 2 &&
        fb_memfile_hot_check(fb_k->opts.hot_fd, &hot_pages, err) < 0) {
        fb_image_close(img);
        return prep_fail(p);
    }
    if ((p->lazy ? fb_memfile_load_lazy(&fb_k->mf, img, early || fb_k->opts.hot_fd > 2,
                                        hot_pages, err)
                 : fb_memfile_load(&fb_k->mf, img, err)) < 0 ||
        fb_memfile_remap_load(&fb_k->mf, img, err) < 0 ||
        fb_image_read_raw(img, "kernel", &p->blob, &p->len, err) < 0 ||
        (fb_k->opts.prefault && fb_image_section(img, "workingset") &&
         fb_image_read_raw(img, "workingset", &p->ws, &p->wslen, err) < 0)) {
        fb_image_close(img);
        return prep_fail(p);
    }
    if (early)
        fb_memfile_verify_later(&fb_k->mf, fb_image_section(img, "memory"));
    fb_image_close(img);
    fb_dbg("image memory %s in %.2f ms (%lu pages)",
           !p->lazy ? "loaded" : hot_pages >= fb_k->mf.top ? "all in the hot pages' file" : "checked",
           (fb_host_mono_ns() - p->t0) / 1e6, (unsigned long)fb_k->mf.used_pages);
    if (fb_k->opts.hot_fd > 2) { /* taken over (closed when it serves nothing) */
        int hot = fb_k->opts.hot_fd;
        fb_k->opts.hot_fd = -1;
        if (!p->lazy)
            close(hot);
        else if (fb_memfile_use_hot(&fb_k->mf, hot, err) < 0)
            return prep_fail(p);
    }
    p->wsn = p->ws ? fb_image_ws_check(p->ws, p->wslen, FB_MM_MAX_ADDR >> FB_PAGE_SHIFT) : 0;
    if (p->wsn < 0) {
        fb_error_set(err, EINVAL, "image: corrupt kernel state (working set)");
        return prep_fail(p);
    }
    /* A command-line restore of an image whose hot pages come first (renumbered): a helper
     * starts reading them now, on the other CPU (the Gofer is done with it by now), beside the
     * parsing here, the Sentry's lock-down, the kernel objects' loading and the Gofer's
     * re-walks, within the working set's size until it is told which pages exactly. Started
     * at the second half instead, it was still reading ~0.45 ms after the address spaces were
     * mapped. */
    if (early && fb_k->mf.nremap && p->wsn > 0) {
        if (fb_memfile_fill_start(&fb_k->mf, NULL, (uint64_t)p->wsn, err) < 0)
            return prep_fail(p);
    } else if (fb_memfile_verify(&fb_k->mf, err) < 0) { /* no reader: here and now */
        return prep_fail(p);
    }
    if (fb_sr_parse(&p->doc, p->blob, p->len) < 0) {
        fb_error_set(err, EINVAL, "image: the kernel state is not valid msgpack");
        return prep_fail(p);
    }
    p->parsed = true;
    return p;
}

void fb_snapshot_prep_free(struct fb_snapshot_prep *p)
{
    if (!p)
        return;
    if (fb_k->mf.fill) { /* an error on the way: the helper must be done */
        struct fb_error e = {0};
        (void)fb_memfile_fill_finish(&fb_k->mf, true, &e);
    }
    fb_memfile_remap_end(&fb_k->mf);
    if (p->parsed)
        fb_sr_doc_free(&p->doc);
    free(p->blob);
    free(p->ws);
    free(p);
}

/* Open the kernel section's top level and check its magic and version (the rest is checked as
 * it is loaded). */
static int state_header(struct fb_sr *top, const struct fb_sr_doc *doc, bool *bad,
                        struct fb_error *err)
{
    char magic[16];
    uint64_t version;

    fb_sr_open(top, &doc->up.data, bad);
    if (!fb_sr_str(top, magic, sizeof(magic)) || strcmp(magic, "fnbox-kernel") != 0)
        return fb_error_set(err, EINVAL, "image: corrupt kernel state (magic)");
    version = fb_sr_u64(top);
    if (*bad)
        return fb_error_set(err, EINVAL, "image: corrupt kernel state (version)");
    if (version != FB_KSTATE_VERSION)
        return fb_error_set(err, EPROTO, "image: kernel state version %lu, this fnbox reads %d",
                            (unsigned long)version, FB_KSTATE_VERSION);
    return 0;
}

int fb_snapshot_check_image(struct fb_image_reader *r, struct fb_error *err)
{
    struct fb_memfile mf;
    struct fb_sr_doc doc;
    struct fb_sr top;
    void *blob = NULL, *ws = NULL;
    size_t len = 0, wslen = 0;
    bool bad = false;
    int rc;

    if (fb_image_read_raw(r, "kernel", &blob, &len, err) < 0)
        return -1;
    if (fb_sr_parse(&doc, blob, len) < 0) {
        free(blob);
        return fb_error_set(err, EINVAL, "image: the kernel state is not valid msgpack");
    }
    rc = state_header(&top, &doc, &bad, err);
    fb_sr_doc_free(&doc);
    free(blob);
    if (rc < 0)
        return -1;
    /* The tables describing the memory, read by the loaders a restore uses, into a scratch
     * memory file: sparse, nothing written to it (the pages themselves were checked by
     * fb_image_verify). */
    if (fb_memfile_init(&mf, FB_MEMFILE_SIZE, err) < 0)
        return -1;
    rc = -1;
    if (fb_memfile_load_lazy(&mf, r, true, 0, err) < 0 || fb_memfile_remap_load(&mf, r, err) < 0)
        goto out;
    if (fb_image_section(r, "workingset")) {
        if (fb_image_read_raw(r, "workingset", &ws, &wslen, err) < 0)
            goto out;
        if (fb_image_ws_check(ws, wslen, FB_MM_MAX_ADDR >> FB_PAGE_SHIFT) < 0) {
            fb_error_set(err, EINVAL, "image: corrupt kernel state (working set)");
            goto out;
        }
    }
    rc = 0;
out:
    free(ws);
    fb_memfile_remap_end(&mf);
    fb_memfile_destroy(&mf);
    return rc;
}

int fb_snapshot_restore(struct fb_snapshot_prep *p, struct fb_error *err)
{
    struct loader l;
    struct fb_sr top, kr;
    struct fb_thread_group **tgs = NULL;
    uint32_t ntgs = 0, i;
    uint64_t *fill_want = NULL; /* what a fill in progress reads: freed once it is done */
    long ws_pages = -1;
    unsigned large = 0; /* regions of the memory file asked to come in 2 MiB pages */
    int64_t t0, saved_mono, saved_boot;
    uint64_t next_pid, pid_max;
    uint16_t *pids = fb_pid_table();
    void *ws;
    size_t wslen;
    bool lazy;
    int rc = -1;

    if (!p)
        return fb_error_set(err, ENOMEM, "out of memory");
    if (p->rc < 0) {
        *err = p->err;
        fb_snapshot_prep_free(p);
        return -1;
    }
    memset(&l, 0, sizeof(l));
    l.err = err;
    t0 = p->t0;
    ws = p->ws;
    wslen = p->wslen;
    lazy = p->lazy;
    fb_mm_ws_recording = fb_k->opts.ws_record;
    /* Nothing of the image is used before its memory section is known good (the early reader
     * checks it first, on the other CPU, while all of the above went on). */
    if (fb_memfile_verify(&fb_k->mf, err) < 0) {
        fb_snapshot_prep_free(p);
        return -1;
    }
    if (state_header(&top, &p->doc, &l.bad, err) < 0)
        goto out;
    fb_sr_sub(&top, &kr);
    next_pid = fb_sr_u64(&kr);
    pid_max = fb_sr_u64(&kr);
    if (l.bad || pid_max != (uint64_t)fb_k->pid_max || !valid_pid(next_pid) || !pids) {
        bad(&l, "pid allocator");
        goto out;
    }
    fb_sr_bin(&kr, pids, ((size_t)fb_k->pid_max + 1) * sizeof(uint16_t), NULL);
    fb_k->next_pid = (int)next_pid;
    saved_mono = fb_sr_i64(&kr);
    saved_boot = fb_sr_i64(&kr);
    /* Monotonic time continues from the checkpoint (never backwards, never a jump). */
    fb_k->mono_offset_ns = saved_mono - fb_host_mono_ns();
    fb_k->plat->clock_offset_ns = fb_k->mono_offset_ns; /* for the vDSO of every new stub */
    fb_k->boot_mono_ns = saved_boot - fb_k->mono_offset_ns;
    fb_sr_str(&kr, fb_k->hostname, sizeof(fb_k->hostname));
    fb_sr_str(&kr, fb_k->domainname, sizeof(fb_k->domainname));
    fb_k->init_exited = fb_sr_bool(&kr);
    fb_k->init_status = (int)fb_sr_i64(&kr);
    if (l.bad) {
        bad(&l, "kernel");
        goto out;
    }

    /* A stand-in task for path lookups: root credentials, the sandbox root. */
    {
        struct fb_path root = {fb_k->root_mount, fb_k->root_mount->root};
        l.tmp_fs = fb_fs_ctx_new(&root, &root);
        if (!l.tmp_fs) {
            fb_error_set(err, ENOMEM, "out of memory");
            goto out;
        }
        l.tmp_task.fs = l.tmp_fs;
        l.tmp_task.tg = &l.tmp_tg;
        for (i = 0; i < RLIM_NLIMITS; i++)
            l.tmp_tg.rlim[i].rlim_cur = l.tmp_tg.rlim[i].rlim_max = RLIM_INFINITY;
    }
    /* In the state's order (p9_paths_ahead, from load_inodes, reads load_fss's section past
     * the files and fd tables: keep the two in step). */
    if (load_tmpfs_mounts(&l, &top) < 0 || load_inodes(&l, &top) < 0 || load_files(&l, &top) < 0 || load_fdtables(&l, &top) < 0 ||
        load_fss(&l, &top) < 0 || load_sighands(&l, &top) < 0 || load_mms(&l, &top) < 0 ||
        load_tgs(&l, &top, &tgs, &ntgs) < 0 || load_tasks(&l, &top, tgs, ntgs) < 0 ||
        load_futexes(&l, &top) < 0 || load_locks(&l, &top) < 0 || load_timers(&l, &top) < 0)
        goto out;
    fb_memfile_remap_end(&fb_k->mf); /* every saved page number is translated by now */
    fb_dbg("kernel objects loaded at %.2f ms (files re-walked through the Gofer)",
           (fb_host_mono_ns() - t0) / 1e6);
    if (lazy) {
        uint64_t *want = calloc((fb_k->mf.top + 63) / 64 + 1, sizeof(*want)); /* +1: gaps */
        long n;
        int fr;
        if (!want) {
            fb_error_set(err, ENOMEM, "out of memory");
            goto out;
        }
        n = fb_mm_ws_want(l.mms, l.nmms, ws, wslen, want, fb_k->mf.top);
        large = fb_memfile_advise_large(&fb_k->mf, want, fb_k->mf.top);
        if (fb_k->opts.populate) {
            /* A warm pool's: filled first, frugally, then mapped with their page tables. */
            fr = fb_memfile_fill_wanted(&fb_k->mf, want, true, err);
            free(want);
        } else if (fb_k->mf.fill) {
            fb_memfile_fill_narrow(&fb_k->mf, want);
            fill_want = want;
            fr = 0;
        } else {
            /* Read by a helper thread while this one maps the address spaces below (mappings
             * need no content), then joined: fill_want is freed once it is done. */
            fr = fb_memfile_fill_start(&fb_k->mf, want, 0, err);
            fill_want = want;
        }
        if (fr < 0)
            goto out;
        ws_pages = n;
    }
    /* Threads sharing an address space each need a host thread inside its stub; normally the
     * cloning thread makes one (as_add_thread), here a temporary context of this thread makes
     * them all at once. */
    for (i = 0; i < l.nmms; i++) {
        struct fb_list *pos;
        struct fb_pctx *ctx = NULL;
        int users = 0, k, r = 0;
        fb_list_for_each(pos, &fb_k->tasks)
        {
            struct fb_task *t = fb_list_entry(pos, struct fb_task, knode);
            users += t->mm == l.mms[i];
        }
        if (users < (fb_k->opts.prefault ? 1 : 2))
            continue;
        if (!fb_mm_as(l.mms[i], &r) || (r = fb_k->plat->ops->ctx_new(fb_k->plat, &ctx)) < 0) {
            fb_error_set(err, -r, "restore: creating an address space: %s", strerror(-r));
            goto out;
        }
        for (k = 0; k < users && r == 0; k++)
            r = fb_k->plat->ops->as_add_thread(ctx, l.mms[i]->as);
        if (r == 0 && fb_k->opts.prefault && ws) {
            size_t all = l.mms[i]->nrefault;
            long kept = fb_mm_ws_filter(l.mms[i], ws, wslen);
            fb_dbg("working set: %ld of %zu left-out file pages of address space %u prefaulted",
                   kept, all, i + 1);
        }
        if (r == 0 && fb_k->opts.prefault)
            r = fb_mm_prefault(l.mms[i], ctx, fb_k->opts.populate);
        fb_k->plat->ops->ctx_release(ctx);
        if (r < 0) {
            fb_error_set(err, -r, "restore: creating threads in an address space: %s",
                         strerror(-r));
            goto out;
        }
    }
    if (fb_memfile_fill_finish(&fb_k->mf, false, err) < 0)
        goto out;
    if (ws_pages >= 0) /* (the CLI's fill went on while the address spaces were mapped) */
        fb_dbg("working set: %ld memory pages read at %.2f ms (%u regions in 2 MiB pages), %lu "
               "left in the image",
               ws_pages, (fb_host_mono_ns() - t0) / 1e6, large, (unsigned long)fb_k->mf.nlazy);
    fb_dbg("address spaces and stub threads ready at %.2f ms", (fb_host_mono_ns() - t0) / 1e6);
    /* Start every thread. A process that was being killed (its exit group begun, its threads
     * not gone yet) goes on dying: the threads' exiting flags are not saved, and without them
     * a stopped one would wait for a SIGCONT forever (the kill was already consumed). */
    {
        struct fb_list *pos;
        fb_list_for_each(pos, &fb_k->tasks)
        {
            struct fb_task *t = fb_list_entry(pos, struct fb_task, knode);
            int r;
            if (t->tg && t->tg->group_exiting && !t->exiting) {
                t->exiting = true;
                t->exit_code = t->tg->exit_status;
            }
            r = fb_task_start(t);
            if (r < 0) {
                fb_error_set(err, -r, "starting a restored thread: %s", strerror(-r));
                goto out;
            }
        }
    }
    fb_dbg("kernel restored in %.2f ms (%u processes)", (fb_host_mono_ns() - t0) / 1e6, ntgs);
    atomic_store(&fb_k->mf.needed, 0); /* from here: what the program touches beyond its set */
    rc = 0;
out:
    if (fb_k->mf.fill) { /* an error on the way: the helper must be done with want */
        struct fb_error e = {0};
        (void)fb_memfile_fill_finish(&fb_k->mf, true, &e);
    }
    free(fill_want);
    if (rc < 0 && l.bad && !err->code)
        bad(&l, "truncated");
    loader_free(&l);
    free(tgs);
    fb_snapshot_prep_free(p);
    return rc;
}
