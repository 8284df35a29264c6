/* Path resolution: one component at a time, symlinks followed by the Sentry (never by the gofer
 * or the host), mounts crossed, ".." kept inside the task's root. */
#include "kernel/vfs/vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/util/cleanup.h"

#define MAX_SYMLINKS 40

static struct fb_mount *mount_on(struct fb_mount *parent, struct fb_dentry *d)
{
    struct fb_list *pos;
    struct fb_mount *found = NULL;
    /* The most recent mount on a point wins (mounts stack). */
    fb_list_for_each(pos, fb_vfs_mounts())
    {
        struct fb_mount *m = fb_list_entry(pos, struct fb_mount, node);
        if (m->parent == parent && m->mountpoint == d)
            found = m;
    }
    return found;
}

/* Replace p by the root of whatever is mounted on it (repeatedly). */
static void cross_mounts(struct fb_path *p)
{
    while (p->dentry->mounted_on) {
        struct fb_mount *m = mount_on(p->mnt, p->dentry);
        if (!m)
            return;
        fb_path_put(p);
        p->mnt = m;
        p->dentry = m->root;
        fb_path_get(p);
    }
}

int fb_vfs_lookup_one(struct fb_path *dir, const char *name, struct fb_path *out)
{
    struct fb_dentry *d;
    struct fb_inode *dino = dir->dentry->inode, *ino = NULL;
    int r;

    if (!dino || !S_ISDIR(dino->st.mode))
        return -ENOTDIR;
    if (strlen(name) > FB_NAME_MAX)
        return -ENAMETOOLONG;
    d = fb_dentry_child(dir->dentry, name);
    if (d && !d->inode) {
        fb_dentry_put(d);
        return -ENOENT;
    }
    if (!d) {
        if (!dino->ops || !dino->ops->lookup)
            return -ENOENT;
        r = dino->ops->lookup(dino, name, &ino);
        if (r == -ENOENT && dino->sb && dino->sb->cache_negative) {
            d = fb_dentry_new(dir->dentry, name, NULL);
            if (d)
                fb_dentry_put(d); /* stays in the cache */
        }
        if (r < 0)
            return r;
        d = fb_dentry_new(dir->dentry, name, ino);
        if (!d) {
            fb_inode_put(ino);
            return -ENOMEM;
        }
    } else if (d->inode->sb && d->inode->sb->revalidate && d->inode->ops->getattr) {
        d->inode->ops->getattr(d->inode);
    }
    out->mnt = dir->mnt;
    out->mnt->refs++;
    out->dentry = d;
    cross_mounts(out);
    return 0;
}

#define AHEAD_MAX 64 /* names a batch looks up (the 9P client's batch) */

/* A batch being built: the filesystem's asks, and beside each where its dentry goes -- under
 * dir (a cached dentry, referenced) or under the one made for entry ask[].parent. */
struct ahead {
    struct fb_lookup_ask ask[AHEAD_MAX];
    struct fb_dentry *dir[AHEAD_MAX], *made[AHEAD_MAX];
    char name[AHEAD_MAX][FB_NAME_MAX + 1];
    int n;
};

/* The entry for name under (dir | parent), added if new; -1 when the batch is full. */
static int ahead_entry(struct ahead *a, struct fb_dentry *dir, int parent, const char *name)
{
    int i;

    for (i = 0; i < a->n; i++)
        if (a->dir[i] == dir && a->ask[i].parent == parent && !strcmp(a->name[i], name))
            return i;
    if (a->n == AHEAD_MAX)
        return -1;
    i = a->n++;
    snprintf(a->name[i], sizeof(a->name[i]), "%s", name);
    a->dir[i] = dir;
    if (dir)
        fb_dentry_get(dir);
    a->ask[i] = (struct fb_lookup_ask){dir ? dir->inode : NULL, parent, a->name[i], NULL};
    return i;
}

void fb_vfs_lookup_ahead(const struct fb_path *root, const char *const *paths, int n)
{
    struct ahead *a = calloc(1, sizeof(*a));
    const struct fb_inode_ops *ops = NULL;
    struct fb_sb *sb = NULL;
    int i;

    if (!a)
        return;
    for (i = 0; i < n; i++) {
        const char *p = paths[i];
        struct fb_dentry *d = root->dentry;
        int at = -1; /* the batch entry reached, once past the cache */

        if (!p || p[0] != '/')
            continue;
        fb_dentry_get(d);
        while (*p) {
            char name[FB_NAME_MAX + 1];
            size_t len;
            while (*p == '/')
                p++;
            len = strcspn(p, "/");
            if (!len)
                break;
            if (len > FB_NAME_MAX || (len == 1 && p[0] == '.') ||
                (len == 2 && p[0] == '.' && p[1] == '.'))
                break; /* the usual lookup deals with these */
            memcpy(name, p, len);
            name[len] = 0;
            p += len;
            if (at < 0) {
                struct fb_dentry *c;
                if (d->mounted_on || !d->inode || !S_ISDIR(d->inode->st.mode))
                    break;
                c = fb_dentry_child(d, name);
                if (c) {
                    fb_dentry_put(d);
                    d = c;
                    if (!c->inode)
                        break; /* known not to exist */
                    continue;
                }
                if (!d->inode->ops || !d->inode->ops->lookup_many ||
                    (sb && (d->inode->sb != sb || d->inode->ops != ops)))
                    break;
                sb = d->inode->sb;
                ops = d->inode->ops;
                at = ahead_entry(a, d, -1, name);
            } else {
                at = ahead_entry(a, NULL, at, name);
            }
            if (at < 0)
                break;
        }
        fb_dentry_put(d);
    }
    if (a->n > 1) /* one alone: its lookup costs the same round trip */
        ops->lookup_many(a->ask, a->n);
    for (i = 0; i < a->n; i++) {
        struct fb_dentry *parent = a->dir[i] ? a->dir[i] : a->made[a->ask[i].parent], *c;
        struct fb_inode *ino = a->ask[i].ino;
        bool dir = parent && parent->inode && S_ISDIR(parent->inode->st.mode);

        if (!ino)
            continue;
        /* Its parent found nothing or is not a directory (a symlink is followed by the usual
         * lookup), or the name is cached by now: dropped. */
        c = dir ? fb_dentry_child(parent, a->name[i]) : NULL;
        if (!dir || c) {
            if (c)
                fb_dentry_put(c);
            fb_inode_put(ino);
            continue;
        }
        a->made[i] = fb_dentry_new(parent, a->name[i], ino);
        if (!a->made[i])
            fb_inode_put(ino);
    }
    for (i = 0; i < a->n; i++)
        if (a->dir[i])
            fb_dentry_put(a->dir[i]);
    for (i = a->n - 1; i >= 0; i--) /* children first: each holds its parent */
        if (a->made[i])
            fb_dentry_put(a->made[i]); /* stays in the cache */
    free(a);
}

/* Step to the parent of cur, staying inside root and crossing mounts upwards. */
static void step_up(struct fb_path *cur, const struct fb_path *root)
{
    for (;;) {
        if (cur->mnt == root->mnt && cur->dentry == root->dentry)
            return;
        if (cur->dentry == cur->mnt->root) {
            struct fb_path up;
            if (!cur->mnt->parent)
                return;
            up.mnt = cur->mnt->parent;
            up.dentry = cur->mnt->mountpoint;
            fb_path_get(&up);
            fb_path_put(cur);
            *cur = up;
            continue;
        }
        if (cur->dentry->parent) {
            struct fb_dentry *p = cur->dentry->parent;
            fb_dentry_get(p);
            fb_dentry_put(cur->dentry);
            cur->dentry = p;
        }
        return;
    }
}

static int walk(struct fb_task *t, struct fb_path *cur, const char *path, unsigned flags,
                int *depth, char *last, bool *trailing);

/* cur is a symlink reached from dir: replace cur by its target. */
static int follow_link(struct fb_task *t, struct fb_path *dir, struct fb_path *cur, int *depth)
{
    struct fb_inode *ino = cur->dentry->inode;
    _cleanup_free_ char *target = NULL;
    struct fb_path next;
    int n, r;

    if (++*depth > MAX_SYMLINKS)
        return -ELOOP;
    if (ino->ops->get_link) {
        struct fb_mount *m;
        struct fb_dentry *d;
        r = ino->ops->get_link(ino, &m, &d);
        if (r < 0)
            return r;
        fb_path_put(cur);
        cur->mnt = m;
        cur->dentry = d; /* get_link returned references */
        return 0;
    }
    if (!ino->ops->readlink)
        return -EINVAL;
    target = malloc(FB_PATH_MAX + 1);
    if (!target)
        return -ENOMEM;
    n = ino->ops->readlink(ino, target, FB_PATH_MAX);
    if (n < 0)
        return n;
    target[n] = 0;
    if (n == 0)
        return -ENOENT;
    if (target[0] == '/')
        fb_path_copy(&next, &t->fs->root);
    else
        fb_path_copy(&next, dir);
    r = walk(t, &next, target, FB_LOOKUP_FOLLOW, depth, NULL, NULL);
    if (r < 0) {
        fb_path_put(&next);
        return r;
    }
    fb_path_put(cur);
    *cur = next;
    return 0;
}

/* Walk path from cur (which holds references and is updated in place). */
static int walk(struct fb_task *t, struct fb_path *cur, const char *path, unsigned flags,
                int *depth, char *last, bool *trailing)
{
    const char *p = path;
    char name[FB_NAME_MAX + 1];
    int r;

    if (*p == '/') {
        fb_path_put(cur);
        fb_path_copy(cur, &t->fs->root);
    }
    for (;;) {
        const char *s, *e;
        size_t len;
        bool is_last, slash_after;
        struct fb_path next;

        while (*p == '/')
            p++;
        if (!*p)
            break;
        s = p;
        while (*p && *p != '/')
            p++;
        e = p;
        len = (size_t)(e - s);
        if (len > FB_NAME_MAX)
            return -ENAMETOOLONG;
        memcpy(name, s, len);
        name[len] = 0;
        slash_after = *p == '/';
        while (*p == '/')
            p++;
        is_last = !*p;

        if (!cur->dentry->inode || !S_ISDIR(cur->dentry->inode->st.mode))
            return -ENOTDIR;
        if (is_last && (flags & FB_LOOKUP_PARENT)) {
            if (last)
                strcpy(last, name);
            if (trailing)
                *trailing = slash_after;
            return 0;
        }
        if (strcmp(name, ".") == 0)
            continue;
        if (strcmp(name, "..") == 0) {
            step_up(cur, &t->fs->root);
            continue;
        }
        r = fb_vfs_lookup_one(cur, name, &next);
        if (r < 0)
            return r;
        if (S_ISLNK(next.dentry->inode->st.mode) &&
            (!is_last || (flags & FB_LOOKUP_FOLLOW) || slash_after)) {
            r = follow_link(t, cur, &next, depth);
            if (r < 0) {
                fb_path_put(&next);
                return r;
            }
        }
        fb_path_put(cur);
        *cur = next;
        if (is_last && slash_after && (!cur->dentry->inode || !S_ISDIR(cur->dentry->inode->st.mode)))
            return -ENOTDIR;
    }
    if (flags & FB_LOOKUP_PARENT) {
        /* The path named a directory itself ("/", ".", "a/.."): there is no last name. */
        if (last)
            strcpy(last, ".");
        if (trailing)
            *trailing = true;
        return 0;
    }
    if ((flags & FB_LOOKUP_DIRECTORY) &&
        (!cur->dentry->inode || !S_ISDIR(cur->dentry->inode->st.mode)))
        return -ENOTDIR;
    return 0;
}

/* Walk path from cur (a reference the walk takes over) into *out. */
static int lookup_from(struct fb_task *t, struct fb_path *cur, const char *path, unsigned flags,
                       struct fb_path *out, char *last, bool *trailing_slash)
{
    int depth = 0, r;

    if (!path[0]) {
        if (!(flags & FB_LOOKUP_EMPTY)) {
            fb_path_put(cur);
            return -ENOENT;
        }
        *out = *cur;
        return 0;
    }
    r = walk(t, cur, path, flags, &depth, last, trailing_slash);
    if (r < 0) {
        fb_path_put(cur);
        return r;
    }
    *out = *cur;
    return 0;
}

int fb_vfs_lookup_at_path(struct fb_task *t, const struct fb_path *base, const char *path,
                          unsigned flags, struct fb_path *out, char *last, bool *trailing_slash)
{
    struct fb_path cur;

    if (trailing_slash)
        *trailing_slash = false;
    fb_path_copy(&cur, path[0] == '/' ? &t->fs->root : base);
    return lookup_from(t, &cur, path, flags, out, last, trailing_slash);
}

int fb_vfs_lookup(struct fb_task *t, int dirfd, const char *path, unsigned flags,
                  struct fb_path *out, char *last, bool *trailing_slash)
{
    struct fb_path cur;

    if (trailing_slash)
        *trailing_slash = false;
    if (path[0] == '/') {
        fb_path_copy(&cur, &t->fs->root);
    } else if (dirfd == AT_FDCWD) {
        fb_path_copy(&cur, &t->fs->cwd);
    } else {
        struct fb_file *f = fb_fd_get(t, dirfd);
        if (!f)
            return -EBADF;
        if (!f->path.dentry) {
            fb_file_put(f);
            return path[0] ? -ENOTDIR : -EBADF;
        }
        fb_path_copy(&cur, &f->path);
        fb_file_put(f);
        if (path[0] && (!cur.dentry->inode || !S_ISDIR(cur.dentry->inode->st.mode))) {
            fb_path_put(&cur);
            return -ENOTDIR;
        }
    }
    return lookup_from(t, &cur, path, flags, out, last, trailing_slash);
}
