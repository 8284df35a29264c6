/* The sandbox's file tree at boot: the Gofer's tree as the read-only root, tmpfs at /tmp and
 * /dev/shm, devfs at /dev and procfs at /proc. */
#include "kernel/vfs/vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "kernel/util/cleanup.h"
#include "kernel/util/log.h"

/* Mount a fresh filesystem at an absolute path of the tree built so far; with root NULL, bind
 * the directory found there onto itself (a new mount of the same tree, with its own flags). */
static int mount_at(const char *path, struct fb_sb *sb, struct fb_dentry *root, unsigned flags,
                    const char *source)
{
    struct fb_path p, cur;
    const char *s = path;
    char name[FB_NAME_MAX + 1];
    int r;

    cur.mnt = fb_k->root_mount;
    cur.dentry = fb_k->root_mount->root;
    fb_path_get(&cur);
    while (*s) {
        const char *e;
        while (*s == '/')
            s++;
        if (!*s)
            break;
        e = strchr(s, '/');
        if (!e)
            e = s + strlen(s);
        memcpy(name, s, (size_t)(e - s));
        name[e - s] = 0;
        r = fb_vfs_lookup_one(&cur, name, &p);
        fb_path_put(&cur);
        if (r < 0)
            return r;
        cur = p;
        s = e;
    }
    if (!root) {
        root = cur.dentry;
        fb_dentry_get(root); /* the new mount's reference */
    }
    r = fb_vfs_mount(sb, root, &cur, flags, source);
    if (r < 0 && root == cur.dentry)
        fb_dentry_put(root);
    fb_path_put(&cur);
    return r;
}

int fb_vfs_init(struct fb_error *err)
{
    struct fb_sb *sb;
    struct fb_dentry *root;
    size_t i;
    int r;

    r = fb_p9fs_new(fb_k->p9, &sb, &root);
    if (r < 0)
        return fb_error_set(err, -r, "attaching to the gofer's tree: %s", strerror(-r));
    r = fb_vfs_mount_root(sb, root, FB_MNT_RDONLY, "gofer");
    if (r < 0)
        return fb_error_set(err, -r, "mounting the root: %s", strerror(-r));
    /* The mount points below looked up in one round trip to the Gofer instead of one each. */
    {
        const char *points[16];
        struct fb_path top = {fb_k->root_mount, fb_k->root_mount->root};
        int n = 0;
        points[n++] = "/dev";
        points[n++] = "/tmp";
        points[n++] = "/proc";
        for (i = 0; i < fb_k->opts.nrw_mounts && n < (int)FB_ARRAY_SIZE(points); i++)
            points[n++] = fb_k->opts.rw_mounts[i];
        fb_vfs_lookup_ahead(&top, points, n);
    }
    /* --mount SRC:DST:rw trees: the Gofer serves them writable; here they need a mount of their
     * own without the root's read-only flag. */
    for (i = 0; i < fb_k->opts.nrw_mounts; i++) {
        r = mount_at(fb_k->opts.rw_mounts[i], sb, NULL, FB_MNT_NOSUID | FB_MNT_NODEV, "gofer");
        if (r < 0)
            return fb_error_set(err, -r, "mounting %s read-write: %s", fb_k->opts.rw_mounts[i],
                                strerror(-r));
    }

    r = fb_devfs_new(&sb, &root);
    if (r == 0)
        r = mount_at("/dev", sb, root, FB_MNT_NOSUID | FB_MNT_NOEXEC, "devtmpfs");
    if (r < 0)
        fb_warn("no /dev in this root (%s): device files are unavailable", strerror(-r));
    else {
        r = fb_tmpfs_new(&sb, &root, 01777);
        if (r == 0)
            r = mount_at("/dev/shm", sb, root, FB_MNT_NOSUID | FB_MNT_NODEV, "shm");
        if (r < 0)
            fb_warn("cannot mount /dev/shm: %s", strerror(-r));
    }
    r = fb_tmpfs_new(&sb, &root, 01777);
    if (r == 0)
        r = mount_at("/tmp", sb, root, FB_MNT_NOSUID | FB_MNT_NODEV, "tmpfs");
    if (r < 0)
        fb_warn("no /tmp in this root (%s): it will be read-only", strerror(-r));
    r = fb_procfs_new(&sb, &root);
    if (r == 0)
        r = mount_at("/proc", sb, root, FB_MNT_NOSUID | FB_MNT_NODEV | FB_MNT_NOEXEC, "proc");
    if (r < 0)
        fb_warn("no /proc in this root (%s)", strerror(-r));
    return 0;
}
