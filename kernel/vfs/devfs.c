/* devfs: the sandbox's /dev, a tmpfs tree (tmpfs_internal.h) holding the memory character
 * devices (null, zero, full, random, urandom), tty, the /proc/self/fd links, shm/ and pts/. */
#include "kernel/vfs/tmpfs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/sysmacros.h>

#include "kernel/util/cleanup.h"
#include "kernel/util/log.h"

#define CHUNK 4096

static const uint8_t zeros[CHUNK];

/* ---- shared helpers ------------------------------------------------------------------------- */

/* Take every byte of a write without looking at it (null, zero). */
static int64_t dev_write_swallow(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    size_t n = u->resid;
    (void)f;
    (void)off;
    fb_uio_advance(u, n);
    return (int64_t)n;
}

/* Fill the whole read with zeros (zero, full). */
static int64_t dev_read_zeros(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    size_t done = 0;
    (void)f;
    (void)off;
    while (u->resid) {
        size_t want = FB_MIN(u->resid, sizeof(zeros));
        int64_t c = fb_uio_copy_to(u, zeros, want);
        if (c < 0)
            return done ? (int64_t)done : c;
        done += (size_t)c;
        if ((size_t)c < want)
            break; /* a fault part-way */
    }
    return (int64_t)done;
}

/* null, zero and full always seek to 0 (Linux null_lseek). */
static int64_t dev_llseek_zero(struct fb_file *f, int64_t off, int whence)
{
    (void)off;
    (void)whence;
    f->pos = 0;
    return 0;
}

static unsigned dev_poll(struct fb_file *f, struct fb_poll_table *pt)
{
    (void)f;
    (void)pt;
    return POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
}

/* ---- null ----------------------------------------------------------------------------------- */

static int64_t null_read(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    (void)f;
    (void)u;
    (void)off;
    return 0;
}

static const struct fb_file_ops null_ops = {
    .read = null_read,
    .write = dev_write_swallow,
    .llseek = dev_llseek_zero,
    .poll = dev_poll,
};

/* ---- zero ----------------------------------------------------------------------------------- */

/* Each mapping of /dev/zero is its own zero-filled shared memory (Linux shmem_zero_setup). Its
 * size has no end, since the mapping length is not known here. */
static int zero_mmap(struct fb_file *f, struct fb_mappable **out)
{
    (void)f;
    return fb_shmem_mappable_new((uint64_t)INT64_MAX & FB_PAGE_MASK, out);
}

static const struct fb_file_ops zero_ops = {
    .read = dev_read_zeros,
    .write = dev_write_swallow,
    .llseek = dev_llseek_zero,
    .poll = dev_poll,
    .mmap = zero_mmap,
};

/* ---- full ----------------------------------------------------------------------------------- */

static int64_t full_write(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    (void)f;
    (void)u;
    (void)off;
    return -ENOSPC;
}

static const struct fb_file_ops full_ops = {
    .read = dev_read_zeros,
    .write = full_write,
    .llseek = dev_llseek_zero,
    .poll = dev_poll,
};

/* ---- random, urandom ------------------------------------------------------------------------ */

/* Fresh host randomness for every read: clones restored from one image must never share it. */
static int64_t random_read(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    uint8_t buf[CHUNK];
    size_t done = 0;

    (void)f;
    (void)off;
    while (u->resid) {
        size_t want = FB_MIN(u->resid, sizeof(buf));
        ssize_t got = getrandom(buf, want, 0);
        int64_t c;

        if (got < 0) {
            if (errno == EINTR)
                continue;
            fb_err("getrandom: %s", strerror(errno));
            return done ? (int64_t)done : -EIO;
        }
        c = fb_uio_copy_to(u, buf, (size_t)got);
        explicit_bzero(buf, (size_t)got);
        if (c < 0)
            return done ? (int64_t)done : c;
        done += (size_t)c;
        if (c < got)
            break;
    }
    return (int64_t)done;
}

/* Writes would stir the pool on Linux; here the data is read (so bad buffers fault) and
 * dropped. */
static int64_t random_write(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    uint8_t buf[CHUNK];
    size_t done = 0;

    (void)f;
    (void)off;
    while (u->resid) {
        size_t want = FB_MIN(u->resid, sizeof(buf));
        int64_t c = fb_uio_copy_from(u, buf, want);
        if (c < 0)
            return done ? (int64_t)done : c;
        done += (size_t)c;
        if ((size_t)c < want)
            break;
    }
    return (int64_t)done;
}

/* Seeking is accepted and changes nothing (Linux noop_llseek). */
static int64_t random_llseek(struct fb_file *f, int64_t off, int whence)
{
    (void)off;
    (void)whence;
    return f->pos;
}

static const struct fb_file_ops random_ops = {
    .read = random_read,
    .write = random_write,
    .llseek = random_llseek,
    .poll = dev_poll,
};

/* ---- open hooks ----------------------------------------------------------------------------- */

static int open_null(struct fb_inode *ino, struct fb_file *f)
{
    (void)ino;
    f->ops = &null_ops;
    return 0;
}

static int open_zero(struct fb_inode *ino, struct fb_file *f)
{
    (void)ino;
    f->ops = &zero_ops;
    return 0;
}

static int open_full(struct fb_inode *ino, struct fb_file *f)
{
    (void)ino;
    f->ops = &full_ops;
    return 0;
}

static int open_random(struct fb_inode *ino, struct fb_file *f)
{
    (void)ino;
    f->ops = &random_ops;
    return 0;
}

/* The sandbox has no controlling terminal. */
static int open_tty(struct fb_inode *ino, struct fb_file *f)
{
    (void)ino;
    (void)f;
    return -ENXIO;
}

/* ---- the tree ------------------------------------------------------------------------------- */

static const struct {
    const char *name;
    unsigned major, minor;
    fb_tmpfs_open_fn open;
} devices[] = {
    {"null", 1, 3, open_null},     {"zero", 1, 5, open_zero},      {"full", 1, 7, open_full},
    {"random", 1, 8, open_random}, {"urandom", 1, 9, open_random}, {"tty", 5, 0, open_tty},
};

static const struct {
    const char *name, *target;
} links[] = {
    {"fd", "/proc/self/fd"},
    {"stdin", "/proc/self/fd/0"},
    {"stdout", "/proc/self/fd/1"},
    {"stderr", "/proc/self/fd/2"},
};

static const struct {
    const char *name;
    mode_t mode;
} dirs[] = {
    {"shm", 01777}, /* tmpfs gets mounted here */
    {"pts", 0755},  /* no pseudo-terminals: stays empty */
};

/* fb_devfs_new: see vfs.h. */
int fb_devfs_new(struct fb_sb **sb, struct fb_dentry **root)
{
    struct fb_inode *dir;
    size_t i;
    int r = fb_tmpfs_sb_new("devtmpfs", 0755, sb, root);

    if (r < 0)
        return r;
    dir = (*root)->inode;
    for (i = 0; i < FB_ARRAY_SIZE(devices) && r == 0; i++)
        r = fb_tmpfs_add_special(dir, devices[i].name, S_IFCHR | 0666,
                                 makedev(devices[i].major, devices[i].minor), devices[i].open);
    for (i = 0; i < FB_ARRAY_SIZE(dirs) && r == 0; i++)
        r = dir->ops->mkdir(dir, dirs[i].name, S_IFDIR | dirs[i].mode);
    for (i = 0; i < FB_ARRAY_SIZE(links) && r == 0; i++)
        r = dir->ops->symlink(dir, links[i].name, links[i].target);
    if (r < 0) {
        fb_err("building /dev: %s", strerror(-r));
        fb_dentry_put(*root); /* frees the tree */
        fb_tmpfs_sb_destroy(*sb);
        *root = NULL;
        *sb = NULL;
    }
    return r;
}
