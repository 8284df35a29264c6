/* tmpfs: the in-memory filesystem behind /tmp, /dev/shm, shared anonymous memory and memfds.
 * File data lives in memory-file pages (the same pages MAP_SHARED maps); devfs builds on it. */
#include "kernel/vfs/tmpfs_internal.h"
#include "kernel/vfs/vfs_save.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "kernel/util/cleanup.h"

#define PAGE          FB_PAGE_SIZE
#define MAX_FILE_SIZE ((uint64_t)INT64_MAX) /* MAX_LFS_FILESIZE, as on Linux */
#define BOGO_DIRENT   20u                   /* Linux tmpfs: st_size of a dir grows 20 per entry */
#define INLINE_LINK   128u /* Linux keeps shorter symlink targets in the inode: 0 blocks */
#define FIRST_SEQ     3u   /* readdir cookies 0..2 are ".", ".." and "first entry" */

/* ---- data structures ---------------------------------------------------------------------- */

/* One name in a directory. Holds a reference on its inode: that reference is what keeps a file
 * with links alive when nothing has it open. */
struct tmpfs_dirent {
    struct fb_list node;        /* in tmpfs_dir.list: newest first, as Linux lists them */
    struct tmpfs_dirent *hnext; /* hash chain */
    uint64_t hash;
    uint64_t seq; /* creation order in this directory; readdir cookies derive from it */
    struct fb_inode *ino;
    char name[];
};

struct tmpfs_dir {
    struct fb_list list;
    struct tmpfs_dirent **buckets;
    size_t nbuckets, count;
    uint64_t next_seq;
    /* Where the last readdir stopped: the first entry to emit for cookie hint_pos. */
    struct tmpfs_dirent *hint;
    int64_t hint_pos;
    struct fb_inode *parent; /* not a reference: a linked directory keeps its parent non-empty */
    bool dead;               /* removed: no new entries, readdir fails like Linux */
};

struct tmpfs_node {
    struct fb_inode *inode;
    struct fb_mappable map;
    struct fb_radix pages; /* file page index -> memory-file offset (regular files) */
    uint64_t npages;
    struct tmpfs_dir dir;  /* directories */
    char *target;          /* symlinks */
    fb_tmpfs_open_fn open; /* device nodes */
};

struct tmpfs_sb {
    uint64_t inodes;
};

static const struct fb_inode_ops tmpfs_inode_ops;
static const struct fb_file_ops tmpfs_file_ops;
static const struct fb_file_ops tmpfs_dir_ops;
static const struct fb_mappable_ops tmpfs_map_ops;

static inline struct tmpfs_node *node_of(const struct fb_inode *ino)
{
    return ino->priv;
}

static struct timespec now_ts(void)
{
    int64_t ns = fb_app_real_ns();
    struct timespec ts = {ns / 1000000000, ns % 1000000000};
    return ts;
}

static void touch_mc(struct fb_inode *ino, const struct timespec *now)
{
    ino->st.mtime = ino->st.ctime = *now;
}

static void set_blocks(struct tmpfs_node *n)
{
    n->inode->st.blocks = n->npages * (PAGE / 512);
}

/* Owner of a new inode: the calling task's filesystem ids; a set-group-ID directory passes on
 * its group (and, to subdirectories, the bit itself). */
static void init_owner(struct fb_inode *dir, struct fb_inode *ino)
{
    struct fb_task *t = fb_current;
    ino->st.uid = t && t->tg ? t->tg->fsuid : 0;
    ino->st.gid = t && t->tg ? t->tg->fsgid : 0;
    if (dir && (dir->st.mode & S_ISGID)) {
        ino->st.gid = dir->st.gid;
        if (S_ISDIR(ino->st.mode))
            ino->st.mode |= S_ISGID;
    }
}

static struct fb_inode *node_new(struct fb_sb *sb, mode_t mode)
{
    struct tmpfs_node *n = calloc(1, sizeof(*n));
    struct fb_inode *ino;

    if (!n)
        return NULL;
    ino = fb_inode_new(sb, &tmpfs_inode_ops, mode);
    if (!ino) {
        free(n);
        return NULL;
    }
    n->inode = ino;
    n->map.ops = &tmpfs_map_ops;
    fb_list_init(&n->dir.list);
    n->dir.next_seq = FIRST_SEQ;
    ino->priv = n;
    if (S_ISREG(mode))
        ino->mappable = &n->map;
    if (S_ISDIR(mode)) {
        ino->st.nlink = 2;
        ino->st.size = 2 * BOGO_DIRENT;
    }
    if (sb && sb->priv)
        ((struct tmpfs_sb *)sb->priv)->inodes++;
    return ino;
}

/* ---- file pages ----------------------------------------------------------------------------- */

static void page_put_cb(uint64_t idx, uint64_t val, void *arg)
{
    (void)idx;
    (void)arg;
    fb_mf_put(&fb_k->mf, val, 1);
}

/* Free every page at index >= first. */
static void pages_free_from(struct tmpfs_node *n, uint64_t first)
{
    uint64_t idx, val;

    while (fb_radix_next(&n->pages, first, UINT64_MAX, &idx, &val)) {
        fb_radix_set(&n->pages, idx, 0); /* clearing never allocates */
        fb_mf_put(&fb_k->mf, val, 1);
        n->npages--;
        first = idx + 1;
    }
    set_blocks(n);
}

/* Zero bytes [off, end of its page) if that page is present (bytes past end of file must read
 * as zeros once the file grows over them, whatever a shared mapping wrote there). */
static void page_zero_tail(struct tmpfs_node *n, uint64_t off)
{
    uint64_t in = off & (PAGE - 1), pg;
    if (!in)
        return;
    pg = fb_radix_get(&n->pages, off >> FB_PAGE_SHIFT);
    if (pg) {
        fb_mf_need(&fb_k->mf, pg, PAGE);
        memset((uint8_t *)fb_mf_ptr(&fb_k->mf, pg) + in, 0, PAGE - in);
    }
}

/* Allocate pages for the hole starting at page idx, at most max pages and not past the next
 * present page. Returns how many were added (>= 1) or -ENOMEM (memory limit or host memory). */
static int64_t pages_fill_hole(struct tmpfs_node *n, uint64_t idx, uint64_t max)
{
    const struct fb_memfile *mf = &fb_k->mf;
    uint64_t found, val, run = max, off, i;

    if (fb_radix_next(&n->pages, idx, idx + max, &found, &val))
        run = found - idx;
    if (run > 1024) /* bounded runs keep a partial write after a failure cheap to undo */
        run = 1024;
    /* Stay within the memory limit so that only a real shortage records limit_hit. */
    if (mf->limit_pages && run > 1)
        run = mf->limit_pages > mf->used_pages ? FB_MIN(run, mf->limit_pages - mf->used_pages) : 1;
    off = fb_mf_alloc(&fb_k->mf, run);
    if (!off && run > 1) {
        run = 1;
        off = fb_mf_alloc(&fb_k->mf, 1);
    }
    if (!off)
        return -ENOMEM;
    for (i = 0; i < run; i++) {
        if (fb_radix_set(&n->pages, idx + i, off + i * PAGE) < 0) {
            fb_mf_put(&fb_k->mf, off + i * PAGE, run - i);
            break;
        }
        n->npages++;
    }
    set_blocks(n);
    return i ? (int64_t)i : -ENOMEM;
}

/* Change the size of a regular file: shrinking frees whole pages past the end and zeroes the
 * tail of the last one; growing only zeroes what lies past the old end in its last page. */
static void file_resize(struct tmpfs_node *n, uint64_t size)
{
    uint64_t old = n->inode->st.size;

    if (size < old) {
        pages_free_from(n, FB_PAGE_ROUND_UP(size) >> FB_PAGE_SHIFT);
        page_zero_tail(n, size);
    } else if (size > old) {
        page_zero_tail(n, old);
    }
    n->inode->st.size = size;
}

/* ---- directories ---------------------------------------------------------------------------- */

static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

static struct tmpfs_dirent *dir_find(struct tmpfs_dir *d, const char *name)
{
    uint64_t h;
    struct tmpfs_dirent *e;

    if (!d->nbuckets)
        return NULL;
    h = name_hash(name);
    for (e = d->buckets[h & (d->nbuckets - 1)]; e; e = e->hnext)
        if (e->hash == h && strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

static void hash_insert(struct tmpfs_dirent **buckets, size_t nbuckets, struct tmpfs_dirent *e)
{
    struct tmpfs_dirent **b = &buckets[e->hash & (nbuckets - 1)];
    e->hnext = *b;
    *b = e;
}

/* Make room for one more entry (so that inserting cannot fail later). */
static int dir_reserve(struct tmpfs_dir *d)
{
    size_t nb, i;
    struct tmpfs_dirent **b;

    if (d->count + 1 <= d->nbuckets * 2 && d->nbuckets)
        return 0;
    nb = d->nbuckets ? d->nbuckets * 2 : 8;
    b = calloc(nb, sizeof(*b));
    if (!b)
        return d->nbuckets ? 0 : -ENOMEM; /* longer chains are only slower */
    for (i = 0; i < d->nbuckets; i++) {
        struct tmpfs_dirent *e = d->buckets[i], *next;
        for (; e; e = next) {
            next = e->hnext;
            hash_insert(b, nb, e);
        }
    }
    free(d->buckets);
    d->buckets = b;
    d->nbuckets = nb;
    return 0;
}

static struct tmpfs_dirent *dirent_alloc(const char *name)
{
    size_t len = strlen(name);
    struct tmpfs_dirent *e = malloc(sizeof(*e) + len + 1);
    if (!e)
        return NULL;
    memcpy(e->name, name, len + 1);
    e->hash = name_hash(name);
    e->ino = NULL;
    e->hnext = NULL;
    return e;
}

/* Link e (room reserved with dir_reserve) into directory inode dino, taking over e->ino's
 * reference. Updates the directory's size, link count and times. */
static void dir_link(struct fb_inode *dino, struct tmpfs_dirent *e, const struct timespec *now)
{
    struct tmpfs_dir *d = &node_of(dino)->dir;

    e->seq = d->next_seq++;
    fb_list_add(&d->list, &e->node);
    hash_insert(d->buckets, d->nbuckets, e);
    d->count++;
    dino->st.size += BOGO_DIRENT;
    if (S_ISDIR(e->ino->st.mode)) {
        dino->st.nlink++;
        node_of(e->ino)->dir.parent = dino;
    }
    touch_mc(dino, now);
}

/* Remove e from dino (the reverse of dir_link); e and its inode reference go to the caller. */
static void dir_unlink(struct fb_inode *dino, struct tmpfs_dirent *e, const struct timespec *now)
{
    struct tmpfs_dir *d = &node_of(dino)->dir;
    struct tmpfs_dirent **pp = &d->buckets[e->hash & (d->nbuckets - 1)];

    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    fb_list_del(&e->node);
    d->count--;
    if (d->hint == e)
        d->hint = NULL;
    dino->st.size -= BOGO_DIRENT;
    if (S_ISDIR(e->ino->st.mode))
        dino->st.nlink--;
    touch_mc(dino, now);
}

/* Drop one link of ino that a removed entry stood for. */
static void inode_drop_link(struct fb_inode *ino, const struct timespec *now)
{
    if (S_ISDIR(ino->st.mode)) {
        ino->st.nlink = 0;
        node_of(ino)->dir.dead = true;
        node_of(ino)->dir.parent = NULL;
    } else if (ino->st.nlink) {
        ino->st.nlink--;
    }
    ino->st.ctime = *now;
}

/* Is directory inode a (non-strictly) an ancestor of directory inode d? */
static bool dir_is_ancestor(struct fb_inode *a, struct fb_inode *d)
{
    for (; d; d = node_of(d)->dir.parent)
        if (d == a)
            return true;
    return false;
}

/* Common checks for adding `name` to dir. */
static int dir_may_add(struct fb_inode *dir, const char *name)
{
    if (!S_ISDIR(dir->st.mode) || dir->ops != &tmpfs_inode_ops)
        return -ENOTDIR;
    if (node_of(dir)->dir.dead)
        return -ENOENT;
    /* "." and ".." are the directory and its parent, never entries (the VFS refuses them first;
     * this keeps a directory from ever holding one). */
    if (dir_find(&node_of(dir)->dir, name) || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return -EEXIST;
    return 0;
}

/* Create a new node of `mode` under name in dir. On success returns 0 and, if out is non-NULL,
 * a new reference to the inode in *out. */
static int dir_add_new(struct fb_inode *dir, const char *name, mode_t mode, struct fb_inode **out)
{
    struct tmpfs_dirent *e;
    struct fb_inode *ino;
    struct timespec now;
    int r = dir_may_add(dir, name);

    if (r < 0)
        return r;
    if (dir_reserve(&node_of(dir)->dir) < 0)
        return -ENOMEM;
    e = dirent_alloc(name);
    if (!e)
        return -ENOMEM;
    ino = node_new(dir->sb, mode);
    if (!ino) {
        free(e);
        return -ENOMEM;
    }
    init_owner(dir, ino);
    now = ino->st.ctime;
    e->ino = ino; /* the entry's reference */
    dir_link(dir, e, &now);
    if (out) {
        fb_inode_get(ino);
        *out = ino;
    }
    return 0;
}

/* ---- inode operations ----------------------------------------------------------------------- */

static int tmpfs_lookup(struct fb_inode *dir, const char *name, struct fb_inode **out)
{
    struct tmpfs_dirent *e;

    if (!S_ISDIR(dir->st.mode))
        return -ENOTDIR;
    e = dir_find(&node_of(dir)->dir, name);
    if (!e)
        return -ENOENT;
    fb_inode_get(e->ino);
    *out = e->ino;
    return 0;
}

static int tmpfs_create(struct fb_inode *dir, const char *name, mode_t mode, struct fb_inode **out)
{
    return dir_add_new(dir, name, (mode & 07777) | S_IFREG, out);
}

static int tmpfs_mkdir(struct fb_inode *dir, const char *name, mode_t mode)
{
    /* Like Linux, mkdir takes no set-ID bits from the caller (a set-group-ID parent passes its
     * own on). */
    return dir_add_new(dir, name, (mode & 01777) | S_IFDIR, NULL);
}

static int tmpfs_mknod(struct fb_inode *dir, const char *name, mode_t mode, dev_t rdev)
{
    (void)rdev;
    switch (mode & S_IFMT) {
    case 0:
    case S_IFREG:
        return dir_add_new(dir, name, (mode & 07777) | S_IFREG, NULL);
    case S_IFIFO:
    case S_IFSOCK:
        return dir_add_new(dir, name, mode & (S_IFMT | 07777), NULL);
    case S_IFCHR:
    case S_IFBLK:
        return -EPERM; /* no device nodes from inside the sandbox */
    default:
        return -EINVAL;
    }
}

static int tmpfs_symlink(struct fb_inode *dir, const char *name, const char *target)
{
    size_t len = strlen(target);
    char *copy;
    struct fb_inode *ino;
    int r;

    if (len == 0)
        return -ENOENT;
    if (len >= FB_PATH_MAX)
        return -ENAMETOOLONG;
    copy = strdup(target);
    if (!copy)
        return -ENOMEM;
    r = dir_add_new(dir, name, S_IFLNK | 0777, &ino);
    if (r < 0) {
        free(copy);
        return r;
    }
    node_of(ino)->target = copy;
    ino->st.size = len;
    ino->st.blocks = len >= INLINE_LINK ? PAGE / 512 : 0;
    fb_inode_put(ino);
    return 0;
}

static int tmpfs_link(struct fb_inode *dir, const char *name, struct fb_inode *target)
{
    struct tmpfs_dirent *e;
    struct timespec now;
    int r;

    if (target->ops != &tmpfs_inode_ops || target->sb != dir->sb)
        return -EXDEV;
    if (S_ISDIR(target->st.mode))
        return -EPERM;
    r = dir_may_add(dir, name);
    if (r < 0)
        return r;
    if (target->st.nlink == 0)
        return -ENOENT; /* an unlinked open file cannot come back (no O_TMPFILE here) */
    if (dir_reserve(&node_of(dir)->dir) < 0)
        return -ENOMEM;
    e = dirent_alloc(name);
    if (!e)
        return -ENOMEM;
    now = now_ts();
    fb_inode_get(target);
    e->ino = target;
    target->st.nlink++;
    target->st.ctime = now;
    dir_link(dir, e, &now);
    return 0;
}

static int tmpfs_unlink(struct fb_inode *dir, const char *name, struct fb_inode *victim)
{
    struct tmpfs_dirent *e;
    struct timespec now;

    (void)victim; /* the name is authoritative */
    if (!S_ISDIR(dir->st.mode))
        return -ENOTDIR;
    e = dir_find(&node_of(dir)->dir, name);
    if (!e)
        return -ENOENT;
    if (S_ISDIR(e->ino->st.mode))
        return -EISDIR;
    now = now_ts();
    dir_unlink(dir, e, &now);
    inode_drop_link(e->ino, &now);
    fb_inode_put(e->ino);
    free(e);
    return 0;
}

static int tmpfs_rmdir(struct fb_inode *dir, const char *name, struct fb_inode *victim)
{
    struct tmpfs_dirent *e;
    struct timespec now;

    (void)victim;
    if (!S_ISDIR(dir->st.mode))
        return -ENOTDIR;
    e = dir_find(&node_of(dir)->dir, name);
    if (!e)
        return -ENOENT;
    if (!S_ISDIR(e->ino->st.mode))
        return -ENOTDIR;
    if (node_of(e->ino)->dir.count)
        return -ENOTEMPTY;
    now = now_ts();
    dir_unlink(dir, e, &now);
    inode_drop_link(e->ino, &now);
    fb_inode_put(e->ino);
    free(e);
    return 0;
}

static int tmpfs_rename(struct fb_inode *olddir, const char *oldname, struct fb_inode *newdir,
                        const char *newname, unsigned flags)
{
    struct tmpfs_dirent *oe, *ne, *moved;
    struct fb_inode *src, *dst;
    struct timespec now;

    if (!S_ISDIR(olddir->st.mode) || !S_ISDIR(newdir->st.mode) || newdir->ops != &tmpfs_inode_ops)
        return -ENOTDIR;
    if (newdir->sb != olddir->sb)
        return -EXDEV;
    if ((flags & RENAME_EXCHANGE) && (flags & RENAME_NOREPLACE))
        return -EINVAL;
    oe = dir_find(&node_of(olddir)->dir, oldname);
    if (!oe)
        return -ENOENT;
    if (node_of(newdir)->dir.dead)
        return -ENOENT;
    ne = dir_find(&node_of(newdir)->dir, newname);
    src = oe->ino;
    dst = ne ? ne->ino : NULL;
    if (ne && (flags & RENAME_NOREPLACE))
        return -EEXIST;
    if (!ne && (flags & RENAME_EXCHANGE))
        return -ENOENT;
    if (src == dst)
        return 0; /* two links to one file (or the same name): nothing to do */
    /* A directory cannot move below itself. */
    if (S_ISDIR(src->st.mode) && dir_is_ancestor(src, newdir))
        return -EINVAL;
    if ((flags & RENAME_EXCHANGE) && S_ISDIR(dst->st.mode) && dir_is_ancestor(dst, olddir))
        return -EINVAL;
    now = now_ts();

    if (flags & RENAME_EXCHANGE) {
        bool sdir = S_ISDIR(src->st.mode), ddir = S_ISDIR(dst->st.mode);
        oe->ino = dst;
        ne->ino = src;
        if (olddir != newdir && sdir != ddir) {
            if (sdir) {
                olddir->st.nlink--;
                newdir->st.nlink++;
            } else {
                newdir->st.nlink--;
                olddir->st.nlink++;
            }
        }
        if (sdir)
            node_of(src)->dir.parent = newdir;
        if (ddir)
            node_of(dst)->dir.parent = olddir;
        src->st.ctime = dst->st.ctime = now;
        touch_mc(olddir, &now);
        touch_mc(newdir, &now);
        return 0;
    }

    if (dst) {
        if (S_ISDIR(src->st.mode) && !S_ISDIR(dst->st.mode))
            return -ENOTDIR;
        if (!S_ISDIR(src->st.mode) && S_ISDIR(dst->st.mode))
            return -EISDIR;
        if (S_ISDIR(dst->st.mode) && node_of(dst)->dir.count)
            return -ENOTEMPTY;
    }
    /* Allocate before changing anything, so that failure leaves the tree as it was. */
    if (!dst && dir_reserve(&node_of(newdir)->dir) < 0)
        return -ENOMEM;
    moved = dirent_alloc(newname);
    if (!moved)
        return -ENOMEM;
    if (dst) {
        dir_unlink(newdir, ne, &now);
        inode_drop_link(dst, &now);
        fb_inode_put(dst);
        free(ne);
    }
    dir_unlink(olddir, oe, &now);
    moved->ino = src; /* the old entry's reference moves over */
    free(oe);
    dir_link(newdir, moved, &now);
    src->st.ctime = now;
    return 0;
}

static int tmpfs_readlink(struct fb_inode *ino, char *buf, size_t size)
{
    struct tmpfs_node *n = node_of(ino);
    size_t len;

    if (!S_ISLNK(ino->st.mode) || !n->target)
        return -EINVAL;
    len = FB_MIN(strlen(n->target), size);
    memcpy(buf, n->target, len);
    return (int)len;
}

/* A requested time: the value given, or the current time for UTIME_NOW. */
static struct timespec time_arg(const struct timespec *ts, const struct timespec *now)
{
    return ts->tv_nsec == UTIME_NOW ? *now : *ts;
}

static int tmpfs_setattr(struct fb_inode *ino, unsigned mask, const struct fb_stat *st)
{
    struct timespec now;

    if (!mask)
        return 0;
    now = now_ts();
    if (mask & FB_SETATTR_SIZE) {
        if (S_ISDIR(ino->st.mode))
            return -EISDIR;
        if (!S_ISREG(ino->st.mode))
            return -EINVAL;
        if (st->size > MAX_FILE_SIZE)
            return -EFBIG;
        file_resize(node_of(ino), st->size);
        /* truncate(2) and O_TRUNC always stamp the file, even when the size stays. */
        ino->st.mtime = now;
    }
    if (mask & FB_SETATTR_MODE)
        ino->st.mode = (ino->st.mode & S_IFMT) | (st->mode & 07777);
    if (mask & FB_SETATTR_UID)
        ino->st.uid = st->uid;
    if (mask & FB_SETATTR_GID)
        ino->st.gid = st->gid;
    /* chown of a non-directory drops set-user-ID, and set-group-ID where it means "setgid"
     * rather than mandatory locking (Linux does this even for root). */
    if ((mask & (FB_SETATTR_UID | FB_SETATTR_GID)) && !(mask & FB_SETATTR_MODE) &&
        !S_ISDIR(ino->st.mode)) {
        ino->st.mode &= ~(mode_t)S_ISUID;
        if (ino->st.mode & S_IXGRP)
            ino->st.mode &= ~(mode_t)S_ISGID;
    }
    if ((mask & FB_SETATTR_ATIME) && st->atime.tv_nsec != UTIME_OMIT)
        ino->st.atime = time_arg(&st->atime, &now);
    if ((mask & FB_SETATTR_MTIME) && !(mask & FB_SETATTR_SIZE) && st->mtime.tv_nsec != UTIME_OMIT)
        ino->st.mtime = time_arg(&st->mtime, &now);
    ino->st.ctime = now; /* any change of attributes; ctime cannot be set explicitly */
    return 0;
}

static int tmpfs_open(struct fb_inode *ino, struct fb_file *f)
{
    struct tmpfs_node *n = node_of(ino);

    if (n->open)
        return n->open(ino, f);
    switch (ino->st.mode & S_IFMT) {
    case S_IFREG:
        f->ops = &tmpfs_file_ops;
        return 0;
    case S_IFDIR:
        f->ops = &tmpfs_dir_ops;
        return 0;
    case S_IFIFO:
        return fb_fifo_open(ino, f);
    case S_IFSOCK:
        return -ENXIO; /* a bound socket's name; nothing listens on it here */
    case S_IFLNK:
        return -ELOOP;
    default:
        return -ENXIO;
    }
}

/* Inodes to release iteratively: releasing a directory drops its entries' inodes, which may be
 * directories in turn; a deep tree must not become deep recursion. */
static struct fb_list release_queue = FB_LIST_INIT(release_queue);
static bool releasing;

static void tmpfs_release(struct fb_inode *ino)
{
    struct tmpfs_node *n = node_of(ino);
    struct fb_list *pos, *tmp;

    if (!n)
        return;
    fb_radix_destroy(&n->pages, page_put_cb, NULL);
    fb_list_for_each_safe(pos, tmp, &n->dir.list)
    {
        fb_list_del(pos);
        fb_list_add_tail(&release_queue, pos);
    }
    free(n->dir.buckets);
    free(n->target);
    if (ino->sb && ino->sb->priv)
        ((struct tmpfs_sb *)ino->sb->priv)->inodes--;
    ino->priv = NULL;
    ino->mappable = NULL;
    free(n);
    if (releasing)
        return;
    releasing = true;
    while (!fb_list_empty(&release_queue)) {
        struct tmpfs_dirent *e = fb_list_entry(release_queue.next, struct tmpfs_dirent, node);
        fb_list_del(&e->node);
        fb_inode_put(e->ino);
        free(e);
    }
    releasing = false;
}

static const struct fb_inode_ops tmpfs_inode_ops = {
    .lookup = tmpfs_lookup,
    .create = tmpfs_create,
    .mkdir = tmpfs_mkdir,
    .mknod = tmpfs_mknod,
    .symlink = tmpfs_symlink,
    .link = tmpfs_link,
    .unlink = tmpfs_unlink,
    .rmdir = tmpfs_rmdir,
    .rename = tmpfs_rename,
    .readlink = tmpfs_readlink,
    .setattr = tmpfs_setattr,
    .open = tmpfs_open,
    .release = tmpfs_release,
};

/* ---- regular files -------------------------------------------------------------------------- */

static const uint8_t zero_page[FB_PAGE_SIZE];

static int64_t tmpfs_read(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    struct fb_inode *ino = f->inode;
    struct tmpfs_node *n = node_of(ino);
    uint64_t pos, size = ino->st.size, want, done = 0;
    int64_t err = 0;

    if (*off < 0)
        return -EINVAL;
    pos = (uint64_t)*off;
    if (pos >= size || !u->resid)
        return 0;
    want = FB_MIN((uint64_t)u->resid, size - pos);
    while (done < want) {
        uint64_t p = pos + done, in = p & (PAGE - 1);
        uint64_t k = FB_MIN(PAGE - in, want - done);
        uint64_t pg = fb_radix_get(&n->pages, p >> FB_PAGE_SHIFT);
        const uint8_t *src = pg ? (const uint8_t *)fb_mf_ptr(&fb_k->mf, pg) + in : zero_page;
        int64_t c;
        if (pg)
            fb_mf_need(&fb_k->mf, pg, PAGE);
        c = fb_uio_copy_to(u, src, k);
        if (c < 0) {
            err = c;
            break;
        }
        done += (uint64_t)c;
        if ((uint64_t)c < k)
            break;
    }
    if (!done)
        return err;
    *off = (int64_t)(pos + done);
    if (!(f->flags & O_NOATIME)) {
        /* relatime: only when atime is older than the last change (or a day old). */
        struct timespec *a = &ino->st.atime;
        if (a->tv_sec < ino->st.mtime.tv_sec ||
            (a->tv_sec == ino->st.mtime.tv_sec && a->tv_nsec <= ino->st.mtime.tv_nsec) ||
            a->tv_sec < ino->st.ctime.tv_sec ||
            (a->tv_sec == ino->st.ctime.tv_sec && a->tv_nsec <= ino->st.ctime.tv_nsec) ||
            now_ts().tv_sec - a->tv_sec >= 24 * 3600)
            *a = now_ts();
    }
    return (int64_t)done;
}

static int64_t tmpfs_write(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    struct fb_inode *ino = f->inode;
    struct tmpfs_node *n = node_of(ino);
    uint64_t pos, want, done = 0, oldsize = ino->st.size;
    int64_t err = 0;

    if (f->flags & O_APPEND)
        *off = (int64_t)ino->st.size;
    if (*off < 0)
        return -EINVAL;
    pos = (uint64_t)*off;
    if (!u->resid)
        return 0;
    if (pos >= MAX_FILE_SIZE)
        return -EFBIG;
    want = FB_MIN((uint64_t)u->resid, MAX_FILE_SIZE - pos);
    if (pos > oldsize)
        page_zero_tail(n, oldsize);
    while (done < want) {
        uint64_t p = pos + done, idx = p >> FB_PAGE_SHIFT, in = p & (PAGE - 1);
        uint64_t k = FB_MIN(PAGE - in, want - done);
        uint64_t pg = fb_radix_get(&n->pages, idx);
        int64_t c;

        if (!pg) {
            uint64_t last = (pos + want - 1) >> FB_PAGE_SHIFT;
            if (pages_fill_hole(n, idx, last - idx + 1) < 0) {
                err = -ENOSPC;
                break;
            }
            pg = fb_radix_get(&n->pages, idx);
        }
        fb_mf_need(&fb_k->mf, pg, PAGE);
        c = fb_uio_copy_from(u, (uint8_t *)fb_mf_ptr(&fb_k->mf, pg) + in, k);
        if (c < 0) {
            err = c;
            break;
        }
        done += (uint64_t)c;
        if ((uint64_t)c < k)
            break;
    }
    if (pos + done > ino->st.size)
        ino->st.size = pos + done;
    if (done < want) /* pages allocated ahead for bytes never written */
        pages_free_from(n, FB_PAGE_ROUND_UP(ino->st.size) >> FB_PAGE_SHIFT);
    if (!done)
        return err;
    *off = (int64_t)(pos + done);
    ino->st.mtime = ino->st.ctime = now_ts();
    /* Writing drops set-user-ID / set-group-ID unless the writer may keep them (root). */
    if ((ino->st.mode & (S_ISUID | S_ISGID)) && fb_current && fb_current->tg &&
        fb_current->tg->fsuid != 0) {
        ino->st.mode &= ~(mode_t)S_ISUID;
        if (ino->st.mode & S_IXGRP)
            ino->st.mode &= ~(mode_t)S_ISGID;
    }
    return (int64_t)done;
}

static int64_t tmpfs_file_llseek(struct fb_file *f, int64_t off, int whence)
{
    struct tmpfs_node *n = node_of(f->inode);
    uint64_t size = f->inode->st.size, idx, found, val, end;

    if (whence != SEEK_DATA && whence != SEEK_HOLE)
        return fb_generic_llseek(f, off, whence);
    if (off < 0 || (uint64_t)off >= size)
        return -ENXIO;
    idx = (uint64_t)off >> FB_PAGE_SHIFT;
    end = FB_PAGE_ROUND_UP(size) >> FB_PAGE_SHIFT;
    if (whence == SEEK_DATA) {
        if (!fb_radix_next(&n->pages, idx, end, &found, &val))
            return -ENXIO;
        f->pos = FB_MAX(off, (int64_t)(found << FB_PAGE_SHIFT));
        return f->pos;
    }
    /* SEEK_HOLE: the first absent page at or after idx, or the end of the file. */
    while (idx < end && fb_radix_next(&n->pages, idx, idx + 1, &found, &val))
        idx++;
    f->pos = idx >= end ? (int64_t)size : FB_MAX(off, (int64_t)(idx << FB_PAGE_SHIFT));
    return f->pos;
}

static unsigned tmpfs_poll(struct fb_file *f, struct fb_poll_table *pt)
{
    (void)f;
    (void)pt;
    return POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
}

static int tmpfs_fsync(struct fb_file *f)
{
    (void)f;
    return 0;
}

static int tmpfs_mmap(struct fb_file *f, struct fb_mappable **out)
{
    struct fb_inode *ino = f->inode;

    if (!S_ISREG(ino->st.mode))
        return -ENODEV;
    fb_inode_get(ino);
    *out = &node_of(ino)->map;
    return 0;
}

static const struct fb_file_ops tmpfs_file_ops = {
    .read = tmpfs_read,
    .write = tmpfs_write,
    .llseek = tmpfs_file_llseek,
    .poll = tmpfs_poll,
    .fsync = tmpfs_fsync,
    .mmap = tmpfs_mmap,
};

/* ---- directory files ------------------------------------------------------------------------ */

/* Cookies: 0 ".", 1 "..", 2 the newest entry; s >= FIRST_SEQ continues with the newest entry
 * whose seq is below s. Entries created later get higher seqs, so a cookie never skips or
 * repeats an entry that stays, whatever is added or removed between calls. */
static int tmpfs_readdir(struct fb_file *f, struct fb_dirent_sink *sink, int64_t *pos)
{
    struct fb_inode *ino = f->inode;
    struct tmpfs_dir *d = &node_of(ino)->dir;
    struct fb_list *it;

    if (d->dead)
        return -ENOENT;
    if (*pos < 0)
        return -EINVAL;
    if (*pos == 0) {
        if (!fb_dirent_emit(sink, ".", ino->st.ino, DT_DIR, 1))
            return 0;
        *pos = 1;
    }
    if (*pos == 1) {
        uint64_t up = d->parent ? d->parent->st.ino : ino->st.ino;
        if (!fb_dirent_emit(sink, "..", up, DT_DIR, 2))
            return 0;
        *pos = 2;
    }
    if (*pos == 2) {
        it = d->list.next;
    } else if (fb_list_empty(&d->list) ||
               fb_list_entry(d->list.prev, struct tmpfs_dirent, node)->seq >= (uint64_t)*pos) {
        return 0; /* the oldest entry was emitted already: the end */
    } else if (d->hint && d->hint_pos == *pos) {
        it = &d->hint->node;
    } else {
        for (it = d->list.next; it != &d->list; it = it->next)
            if (fb_list_entry(it, struct tmpfs_dirent, node)->seq < (uint64_t)*pos)
                break;
    }
    for (; it != &d->list; it = it->next) {
        struct tmpfs_dirent *e = fb_list_entry(it, struct tmpfs_dirent, node);
        if (!fb_dirent_emit(sink, e->name, e->ino->st.ino, IFTODT(e->ino->st.mode),
                            (int64_t)e->seq)) {
            d->hint = e;
            d->hint_pos = *pos;
            return 0;
        }
        *pos = (int64_t)e->seq;
    }
    if (*pos == 2)
        *pos = FIRST_SEQ; /* empty: nothing below the first possible seq */
    return 0;
}

static int64_t tmpfs_dir_llseek(struct fb_file *f, int64_t off, int whence)
{
    switch (whence) {
    case SEEK_SET:
        break;
    case SEEK_CUR:
        if ((off > 0 && f->pos > INT64_MAX - off))
            return -EINVAL;
        off += f->pos;
        break;
    default:
        return -EINVAL;
    }
    if (off < 0)
        return -EINVAL;
    f->pos = off;
    return off;
}

static const struct fb_file_ops tmpfs_dir_ops = {
    .llseek = tmpfs_dir_llseek,
    .readdir = tmpfs_readdir,
    .poll = tmpfs_poll,
    .fsync = tmpfs_fsync,
};

/* ---- mappable ------------------------------------------------------------------------------- */

static struct tmpfs_node *map_node(struct fb_mappable *m)
{
    return fb_container_of(m, struct tmpfs_node, map);
}

static void tmpfs_map_get(struct fb_mappable *m)
{
    fb_inode_get(map_node(m)->inode);
}

static void tmpfs_map_put(struct fb_mappable *m)
{
    fb_inode_put(map_node(m)->inode);
}

static int tmpfs_map_get_pages(struct fb_mappable *m, uint64_t pgoff, int n, unsigned flags,
                               uint64_t *out)
{
    bool write = flags & FB_GETPAGES_WRITE;
    struct tmpfs_node *node = map_node(m);
    uint64_t end = FB_PAGE_ROUND_UP(node->inode->st.size) >> FB_PAGE_SHIFT;
    uint64_t want;
    int i = 0;

    (void)write;
    if (n <= 0)
        return -EINVAL;
    if (pgoff >= end)
        return -EFAULT; /* wholly beyond end of file: SIGBUS */
    want = FB_MIN((uint64_t)n, end - pgoff);
    while ((uint64_t)i < want) {
        uint64_t pg = fb_radix_get(&node->pages, pgoff + (uint64_t)i);
        if (!pg) {
            if (pages_fill_hole(node, pgoff + (uint64_t)i, want - (uint64_t)i) < 0)
                return i ? i : -ENOMEM;
            continue;
        }
        fb_mf_get(&fb_k->mf, pg, 1);
        out[i++] = pg;
    }
    return i;
}

static const struct fb_mappable_ops tmpfs_map_ops = {
    .get = tmpfs_map_get,
    .put = tmpfs_map_put,
    .get_pages = tmpfs_map_get_pages,
};

/* ---- superblocks ---------------------------------------------------------------------------- */

static int tmpfs_statfs(struct fb_sb *sb, struct statfs *out)
{
    const struct fb_memfile *mf = &fb_k->mf;
    uint64_t total = mf->limit_pages ? mf->limit_pages : mf->size >> FB_PAGE_SHIFT;
    uint64_t used = FB_MIN(mf->used_pages, total);
    uint64_t inodes = sb->priv ? ((struct tmpfs_sb *)sb->priv)->inodes : 0;

    memset(out, 0, sizeof(*out));
    out->f_type = FB_TMPFS_MAGIC;
    out->f_bsize = PAGE;
    out->f_frsize = PAGE;
    /* tmpfs shares the sandbox memory limit with everything else in memory. */
    out->f_blocks = total;
    out->f_bfree = out->f_bavail = total - used;
    out->f_files = total / 2;
    out->f_ffree = out->f_files > inodes ? out->f_files - inodes : 0;
    out->f_namelen = FB_NAME_MAX;
    return 0;
}

static struct fb_sb *sb_alloc(const char *type)
{
    struct fb_sb *sb = calloc(1, sizeof(*sb));
    struct tmpfs_sb *ts = calloc(1, sizeof(*ts));

    if (!sb || !ts) {
        free(sb);
        free(ts);
        return NULL;
    }
    sb->type = type;
    sb->dev = fb_vfs_new_dev();
    sb->magic = FB_TMPFS_MAGIC;
    sb->cache_dentries = true;
    sb->cache_negative = false;
    sb->revalidate = false;
    sb->priv = ts;
    sb->statfs = tmpfs_statfs;
    return sb;
}

int fb_tmpfs_sb_new(const char *type, mode_t mode, struct fb_sb **sbp, struct fb_dentry **root)
{
    struct fb_sb *sb = sb_alloc(type);
    struct fb_inode *ino;
    struct fb_dentry *d;

    if (!sb)
        return -ENOMEM;
    ino = node_new(sb, S_IFDIR | (mode & 07777));
    if (!ino)
        goto out_sb;
    d = fb_dentry_new(NULL, NULL, ino); /* takes the inode reference */
    if (!d) {
        fb_inode_put(ino);
        goto out_sb;
    }
    *sbp = sb;
    *root = d;
    return 0;

out_sb:
    free(sb->priv);
    free(sb);
    return -ENOMEM;
}

int fb_tmpfs_sb_destroy(struct fb_sb *sb)
{
    struct tmpfs_sb *ts = sb->priv;

    if (ts && ts->inodes)
        return -EBUSY;
    free(ts);
    free(sb);
    return 0;
}

/* fb_tmpfs_new: see vfs.h. */
int fb_tmpfs_new(struct fb_sb **sb, struct fb_dentry **root, mode_t mode)
{
    return fb_tmpfs_sb_new("tmpfs", mode, sb, root);
}

int fb_tmpfs_add_special(struct fb_inode *dir, const char *name, mode_t mode, dev_t rdev,
                         fb_tmpfs_open_fn open)
{
    struct fb_inode *ino;
    int r = dir_add_new(dir, name, mode & (S_IFMT | 07777), &ino);

    if (r < 0)
        return r;
    ino->st.rdev = rdev;
    ino->st.uid = ino->st.gid = 0;
    node_of(ino)->open = open;
    fb_inode_put(ino);
    return 0;
}

/* ---- shared memory -------------------------------------------------------------------------- */

/* The superblock of unlinked shared-memory files (Linux's internal shm mount). */
static struct fb_sb *shm_sb;

static int shmem_inode_new(uint64_t size, struct fb_inode **out)
{
    struct fb_inode *ino;

    if (size > MAX_FILE_SIZE)
        return -EFBIG;
    if (!shm_sb) {
        shm_sb = sb_alloc("tmpfs");
        if (!shm_sb)
            return -ENOMEM;
    }
    ino = node_new(shm_sb, S_IFREG | 0777);
    if (!ino)
        return -ENOMEM;
    ino->st.nlink = 0; /* never linked into a directory */
    ino->st.size = size;
    *out = ino;
    return 0;
}

int fb_shmem_mappable_new(uint64_t size, struct fb_mappable **out)
{
    struct fb_inode *ino;
    int r = shmem_inode_new(size, &ino);

    if (r < 0)
        return r;
    *out = &node_of(ino)->map; /* the creation reference becomes the caller's */
    return 0;
}

/* fb_shmem_new: see vfs.h. `name` (optional) is the name Linux gives the internal shmem file:
 * "dev/zero" for shared anonymous memory, "memfd:<name>" for memfd_create. Like Linux, the file
 * then shows in /proc/self/fd and /proc/self/maps as "/<name> (deleted)". */
int fb_shmem_new(uint64_t size, const char *name, struct fb_file **out)
{
    struct fb_inode *ino;
    struct fb_file *f;
    int r = shmem_inode_new(size, &ino);

    if (r < 0)
        return r;
    f = fb_file_new(ino, NULL, O_RDWR | O_LARGEFILE);
    fb_inode_put(ino); /* the file holds it now */
    if (!f)
        return -ENOMEM;
    f->ops = &tmpfs_file_ops;
    if (name && asprintf(&f->anon_name, "/%s (deleted)", name) < 0) {
        f->anon_name = NULL;
        fb_file_put(f);
        return -ENOMEM;
    }
    *out = f;
    return 0;
}

/* ---- checkpoint support ------------------------------------------------------------------------ */

bool fb_inode_is_tmpfs(const struct fb_inode *ino)
{
    return ino->ops == &tmpfs_inode_ops;
}

struct fb_inode *fb_tmpfs_mappable_inode(struct fb_mappable *m)
{
    if (m->ops != &tmpfs_map_ops)
        return NULL;
    return fb_container_of(m, struct tmpfs_node, map)->inode;
}

/* Entries of a directory in creation order (oldest first), as fn(name, inode, seq). */
int fb_tmpfs_dir_foreach(struct fb_inode *dir,
                         int (*fn)(const char *name, struct fb_inode *ino, uint64_t seq, void *arg),
                         void *arg)
{
    struct tmpfs_dir *d = &node_of(dir)->dir;
    struct fb_list *pos;
    int r;

    /* The list is newest first: walk it backwards. */
    for (pos = d->list.prev; pos != &d->list; pos = pos->prev) {
        struct tmpfs_dirent *e = fb_list_entry(pos, struct tmpfs_dirent, node);
        r = fn(e->name, e->ino, e->seq, arg);
        if (r < 0)
            return r;
    }
    return 0;
}

uint64_t fb_tmpfs_dir_next_seq(struct fb_inode *dir)
{
    return node_of(dir)->dir.next_seq;
}

struct fb_sb *fb_tmpfs_shm_sb(void)
{
    if (!shm_sb)
        shm_sb = sb_alloc("tmpfs");
    return shm_sb;
}

int fb_tmpfs_save_payload(struct fb_inode *ino, struct fb_sw *w)
{
    struct tmpfs_node *n = node_of(ino);
    mode_t type = ino->st.mode & S_IFMT;

    if (type == S_IFREG) {
        uint64_t idx = 0, found, off, cnt = 0;
        while (fb_radix_next(&n->pages, idx, UINT64_MAX >> 12, &found, &off)) {
            cnt++;
            idx = found + 1;
        }
        fb_sw_array(w, (uint32_t)(cnt * 2));
        idx = 0;
        while (fb_radix_next(&n->pages, idx, UINT64_MAX >> 12, &found, &off)) {
            fb_sw_u64(w, found);
            fb_sw_u64(w, off);
            idx = found + 1;
        }
        return 0;
    }
    if (type == S_IFLNK) {
        fb_sw_str(w, n->target);
        return 0;
    }
    if (type == S_IFDIR || type == S_IFSOCK) {
        /* A socket's name is just a node: the socket bound to it is saved with the socket. */
        fb_sw_nil(w);
        return 0;
    }
    if (type == S_IFIFO) {
        fb_fifo_save(ino, w);
        return 0;
    }
    fb_sw_nil(w);
    return -ENOTSUP; /* device nodes are not made in tmpfs */
}

struct fb_inode *fb_tmpfs_load_inode(struct fb_sb *sb, struct fb_inode *existing, mode_t mode,
                                     struct fb_sr *r)
{
    struct fb_inode *ino = existing;
    struct tmpfs_node *n;
    mode_t type = mode & S_IFMT;

    if (type != S_IFREG && type != S_IFLNK && type != S_IFDIR && type != S_IFSOCK &&
        type != S_IFIFO) {
        *r->err = true;
        return NULL;
    }
    if (!ino) {
        ino = node_new(sb, mode);
        if (!ino) {
            *r->err = true;
            return NULL;
        }
    } else if ((ino->st.mode & S_IFMT) != type) {
        *r->err = true;
        return NULL;
    } else {
        fb_inode_get(ino);
    }
    n = node_of(ino);
    if (type == S_IFREG) {
        struct fb_sr s;
        uint32_t i;
        fb_sr_sub(r, &s);
        if (*r->err || s.n % 2)
            goto bad;
        for (i = 0; i < s.n; i += 2) {
            uint64_t idx = fb_sr_u64(&s), off = fb_mf_saved_off(&fb_k->mf, fb_sr_u64(&s));
            /* The memory file was restored with its reference counts: adopt the reference. */
            if (*r->err || off % PAGE || off >= fb_k->mf.size || !fb_mf_refs(&fb_k->mf, off) ||
                idx > (MAX_FILE_SIZE >> FB_PAGE_SHIFT) || fb_radix_get(&n->pages, idx) ||
                fb_radix_set(&n->pages, idx, off) < 0)
                goto bad;
            n->npages++;
        }
    } else if (type == S_IFLNK) {
        n->target = fb_sr_strdup(r);
        if (!n->target)
            goto bad;
    } else if (type == S_IFIFO) {
        if (ino->pipe || fb_fifo_load(ino, r) < 0)
            goto bad;
    } else {
        fb_sr_obj(r);
    }
    return ino;
bad:
    *r->err = true;
    fb_inode_put(ino);
    return NULL;
}

int fb_tmpfs_load_link(struct fb_inode *dir, const char *name, struct fb_inode *ino, uint64_t seq)
{
    struct tmpfs_dir *d = &node_of(dir)->dir;
    struct tmpfs_dirent *e;
    struct timespec keep = dir->st.mtime, keepc = dir->st.ctime;

    /* A directory has one name: a second link (or a link of a mount's root) would give it two
     * parents, and a hostile image could build a loop the ancestor walks never leave. */
    if (!S_ISDIR(dir->st.mode) || !name[0] || strchr(name, '/') || !strcmp(name, ".") ||
        !strcmp(name, "..") || strlen(name) > FB_NAME_MAX || dir_find(d, name) ||
        seq < FIRST_SEQ || node_of(dir)->dir.dead ||
        (S_ISDIR(ino->st.mode) && (node_of(ino)->dir.parent || ino == dir)) ||
        dir_reserve(d) < 0)
        return -EINVAL;
    e = dirent_alloc(name);
    if (!e)
        return -ENOMEM;
    fb_inode_get(ino);
    e->ino = ino;
    dir_link(dir, e, &keep);
    e->seq = seq; /* readdir cookies stay valid across the restore */
    if (d->next_seq <= seq)
        d->next_seq = seq + 1;
    dir->st.mtime = keep;
    dir->st.ctime = keepc;
    return 0;
}

bool fb_tmpfs_dir_reaches(struct fb_inode *dir, const struct fb_inode *root)
{
    int i;
    /* A mount's root has no parent: one linked under its own tree closes a loop that every
     * ancestor walk (rename's) would follow forever. */
    if (node_of((struct fb_inode *)root)->dir.parent)
        return false;
    for (i = 0; dir && i < 4096; i++) {
        if (dir == root)
            return true;
        dir = node_of(dir)->dir.parent;
    }
    return false;
}

void fb_tmpfs_set_next_seq(struct fb_inode *dir, uint64_t next)
{
    if (next > node_of(dir)->dir.next_seq)
        node_of(dir)->dir.next_seq = next;
}
