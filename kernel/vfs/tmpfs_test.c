/* Unit tests for tmpfs, shared memory and devfs: inode and file operations driven directly with
 * kernel-memory I/O, without a platform or tasks. */
#include "fbtest.h"
#include "kernel/kernel.h"
#include "kernel/syscalls/syscall.h"
#include "kernel/util/cleanup.h"
#include "kernel/vfs/ops.h"
#include "kernel/vfs/tmpfs_internal.h"
#include "kernel/vfs/vfs.h"
#include "kernel/vfs/vfs_save.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/sysmacros.h>

/* The kernel object is this test's own; fb_current stays NULL (no tasks). Weak so that the test
 * links with or without kernel.c and task.c in the archive. */
__attribute__((weak)) __thread struct fb_task *fb_current;
__attribute__((weak)) struct fb_kernel *fb_k;
/* task.o (wait queues, used by vfs.c) reaches the syscall dispatcher; this stand-in keeps the
 * table, and with it every syscall handler, out of this test's link. */
__attribute__((weak)) const struct fb_syscall_desc fb_syscall_table[FB_NR_SYSCALLS];

static struct fb_kernel k;

/* ---- helpers -------------------------------------------------------------------------------- */

static struct fb_sb *sb;
static struct fb_dentry *root;

static struct fb_inode *R(void)
{
    return root->inode;
}

static struct fb_inode *lookup(struct fb_inode *dir, const char *name)
{
    struct fb_inode *ino = NULL;
    if (dir->ops->lookup(dir, name, &ino) < 0)
        return NULL;
    fb_inode_put(ino); /* tests keep borrowed pointers: the directory entry holds it */
    return ino;
}

static struct fb_file *open_ino(struct fb_inode *ino, unsigned flags)
{
    struct fb_file *f = fb_file_new(ino, NULL, flags);
    if (!f)
        return NULL;
    if (ino->ops->open(ino, f) < 0) {
        f->ops = NULL;
        fb_file_put(f);
        return NULL;
    }
    return f;
}

static struct fb_file *create_open(struct fb_inode *dir, const char *name)
{
    struct fb_inode *ino = NULL;
    struct fb_file *f;
    if (dir->ops->create(dir, name, 0644, &ino) < 0)
        return NULL;
    f = open_ino(ino, O_RDWR);
    fb_inode_put(ino);
    return f;
}

static int64_t pwrite_k(struct fb_file *f, const void *buf, size_t n, int64_t off)
{
    struct iovec iov = {(void *)buf, n};
    struct fb_uio u;
    fb_uio_init_kernel(&u, &iov, 1);
    return f->ops->write(f, &u, &off);
}

static int64_t pread_k(struct fb_file *f, void *buf, size_t n, int64_t off)
{
    struct iovec iov = {buf, n};
    struct fb_uio u;
    fb_uio_init_kernel(&u, &iov, 1);
    return f->ops->read(f, &u, &off);
}

static int64_t write_k(struct fb_file *f, const void *buf, size_t n)
{
    struct iovec iov = {(void *)buf, n};
    struct fb_uio u;
    fb_uio_init_kernel(&u, &iov, 1);
    return f->ops->write(f, &u, &f->pos);
}

static int set_size(struct fb_inode *ino, uint64_t size)
{
    struct fb_stat st = {0};
    st.size = size;
    return ino->ops->setattr(ino, FB_SETATTR_SIZE | FB_SETATTR_MTIME | FB_SETATTR_CTIME, &st);
}

/* Read a whole directory through readdir with a sink of `bufsize` bytes per call; names joined
 * by spaces into out (without "." and ".."). Returns the number of calls or -errno. */
static int list_dir(struct fb_file *f, size_t bufsize, char *out, size_t outsize)
{
    uint8_t buf[4096];
    struct fb_dirent_sink sink;
    int calls = 0, r;

    out[0] = 0;
    for (;;) {
        size_t off = 0;
        memset(&sink, 0, sizeof(sink));
        sink.buf = buf;
        sink.size = bufsize;
        r = f->ops->readdir(f, &sink, &f->pos);
        if (r < 0)
            return r;
        calls++;
        if (!sink.used)
            return calls;
        while (off < sink.used) {
            uint16_t reclen;
            const char *name = (const char *)buf + off + 19;
            memcpy(&reclen, buf + off + 16, 2);
            if (strcmp(name, ".") && strcmp(name, "..")) {
                if (out[0])
                    strncat(out, " ", outsize - strlen(out) - 1);
                strncat(out, name, outsize - strlen(out) - 1);
            }
            off += reclen;
        }
        if (calls > 10000)
            return -ELOOP;
    }
}

static void teardown(void)
{
    if (root) {
        fb_dentry_put(root);
        if (fb_tmpfs_sb_destroy(sb) != 0)
            printf("FAIL teardown: inodes of the previous test remain\n");
    }
    root = NULL;
}

static void setup(void)
{
    teardown();
    if (fb_tmpfs_new(&sb, &root, 01777) != 0) {
        printf("FAIL setup: fb_tmpfs_new\n");
        exit(1);
    }
}

/* ---- regular files -------------------------------------------------------------------------- */

static void test_create_write_read(void)
{
    char buf[64] = {0};
    struct fb_file *f;
    struct fb_inode *ino;
    struct timespec before;

    setup();
    f = create_open(R(), "a");
    FBT_CHECK(f);
    ino = f->inode;
    FBT_CHECK(S_ISREG(ino->st.mode));
    FBT_CHECK_EQ(ino->st.mode & 07777, 0644);
    FBT_CHECK_EQ(ino->st.nlink, 1);
    FBT_CHECK_EQ(R()->ops->create(R(), "a", 0644, &(struct fb_inode *){NULL}), -EEXIST);
    FBT_CHECK(lookup(R(), "a") == ino);
    FBT_CHECK(lookup(R(), "b") == NULL);
    before = ino->st.mtime;
    FBT_CHECK_EQ(write_k(f, "hello, world", 12), 12);
    FBT_CHECK_EQ(f->pos, 12);
    FBT_CHECK_EQ(ino->st.size, 12);
    FBT_CHECK_EQ(ino->st.blocks, 8);
    FBT_CHECK(ino->st.mtime.tv_sec > before.tv_sec ||
              (ino->st.mtime.tv_sec == before.tv_sec && ino->st.mtime.tv_nsec >= before.tv_nsec));
    FBT_CHECK_EQ(pread_k(f, buf, sizeof(buf), 0), 12);
    FBT_CHECK_STR(buf, "hello, world");
    FBT_CHECK_EQ(pread_k(f, buf, sizeof(buf), 12), 0);
    FBT_CHECK_EQ(pread_k(f, buf, sizeof(buf), 100), 0);
    FBT_CHECK_EQ(pread_k(f, buf, 5, 7), 5);
    FBT_CHECK(memcmp(buf, "world", 5) == 0);
    FBT_CHECK_EQ(pwrite_k(f, "W", 1, 7), 1);
    FBT_CHECK_EQ(pread_k(f, buf, 12, 0), 12);
    FBT_CHECK(memcmp(buf, "hello, World", 12) == 0);
    FBT_CHECK_EQ(pread_k(f, buf, 1, -1), -EINVAL);
    FBT_CHECK_EQ(f->ops->poll(f, NULL), POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
    FBT_CHECK_EQ(f->ops->fsync(f), 0);
    fb_file_put(f);
}

static void test_multi_iov_and_pages(void)
{
    static uint8_t big[3 * 4096 + 100], back[sizeof(big)];
    char a[3] = "abc", b[5] = "defgh";
    struct iovec iov[2] = {{a, 3}, {b, 5}};
    struct fb_uio u;
    int64_t off = 4094; /* straddles a page boundary */
    struct fb_file *f;
    size_t i;

    setup();
    f = create_open(R(), "m");
    FBT_CHECK(f);
    fb_uio_init_kernel(&u, iov, 2);
    FBT_CHECK_EQ(f->ops->write(f, &u, &off), 8);
    FBT_CHECK_EQ(off, 4102);
    FBT_CHECK_EQ(f->inode->st.blocks, 16);
    FBT_CHECK_EQ(pread_k(f, back, 8, 4094), 8);
    FBT_CHECK(memcmp(back, "abcdefgh", 8) == 0);
    FBT_CHECK_EQ(pread_k(f, back, 4094, 0), 4094); /* the hole before reads as zeros */
    for (i = 0; i < 4094; i++)
        FBT_CHECK_EQ(back[i], 0);
    for (i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7 + 1);
    FBT_CHECK_EQ(pwrite_k(f, big, sizeof(big), 0), (int64_t)sizeof(big));
    FBT_CHECK_EQ(pread_k(f, back, sizeof(back), 0), (int64_t)sizeof(back));
    FBT_CHECK(memcmp(big, back, sizeof(big)) == 0);
    FBT_CHECK_EQ(f->inode->st.size, sizeof(big));
    FBT_CHECK_EQ(f->inode->st.blocks, 32);
    fb_file_put(f);
}

static void test_append(void)
{
    char buf[16] = {0};
    struct fb_file *f;
    struct fb_file *g;

    setup();
    f = create_open(R(), "log");
    FBT_CHECK(f);
    FBT_CHECK_EQ(write_k(f, "abc", 3), 3);
    g = open_ino(f->inode, O_WRONLY | O_APPEND);
    FBT_CHECK(g);
    g->pos = 0;
    FBT_CHECK_EQ(write_k(g, "de", 2), 2);
    FBT_CHECK_EQ(g->pos, 5);
    FBT_CHECK_EQ(pwrite_k(g, "f", 1, 0), 1); /* O_APPEND wins over the offset */
    FBT_CHECK_EQ(pread_k(f, buf, sizeof(buf), 0), 6);
    FBT_CHECK_STR(buf, "abcdef");
    fb_file_put(g);
    fb_file_put(f);
}

static void test_holes_and_seek(void)
{
    struct fb_file *f;
    char c = 'x', buf[10];

    setup();
    f = create_open(R(), "sparse");
    FBT_CHECK(f);
    FBT_CHECK_EQ(pwrite_k(f, &c, 1, 5000), 1);
    FBT_CHECK_EQ(f->inode->st.size, 5001);
    FBT_CHECK_EQ(f->inode->st.blocks, 8); /* only the page written */
    FBT_CHECK_EQ(pread_k(f, buf, 10, 4996), 5);
    FBT_CHECK(memcmp(buf, "\0\0\0\0x", 5) == 0);
    FBT_CHECK_EQ(f->ops->llseek(f, 0, SEEK_DATA), 4096);
    FBT_CHECK_EQ(f->ops->llseek(f, 4500, SEEK_DATA), 4500);
    FBT_CHECK_EQ(f->ops->llseek(f, 0, SEEK_HOLE), 0);
    FBT_CHECK_EQ(f->ops->llseek(f, 4096, SEEK_HOLE), 5001);
    FBT_CHECK_EQ(f->ops->llseek(f, 5001, SEEK_DATA), -ENXIO);
    FBT_CHECK_EQ(f->ops->llseek(f, -1, SEEK_HOLE), -ENXIO);
    FBT_CHECK_EQ(set_size(f->inode, 1 << 20), 0);
    FBT_CHECK_EQ(f->ops->llseek(f, 4096, SEEK_HOLE), 8192);
    FBT_CHECK_EQ(f->ops->llseek(f, 8192, SEEK_DATA), -ENXIO);
    FBT_CHECK_EQ(f->ops->llseek(f, 10, SEEK_END), (1 << 20) + 10);
    FBT_CHECK_EQ(f->ops->llseek(f, -5, SEEK_CUR), (1 << 20) + 5);
    FBT_CHECK_EQ(f->ops->llseek(f, -1, SEEK_SET), -EINVAL);
    fb_file_put(f);
}

static void test_truncate(void)
{
    static uint8_t data[3 * 4096];
    uint8_t buf[4096];
    struct fb_file *f;
    uint64_t used0 = k.mf.used_pages;
    size_t i;

    setup();
    used0 = k.mf.used_pages;
    f = create_open(R(), "t");
    FBT_CHECK(f);
    memset(data, 0xaa, sizeof(data));
    FBT_CHECK_EQ(write_k(f, data, sizeof(data)), (int64_t)sizeof(data));
    FBT_CHECK_EQ(k.mf.used_pages, used0 + 3);
    FBT_CHECK_EQ(set_size(f->inode, 5000), 0); /* frees the third page, zeroes 5000..8191 */
    FBT_CHECK_EQ(f->inode->st.size, 5000);
    FBT_CHECK_EQ(f->inode->st.blocks, 16);
    FBT_CHECK_EQ(k.mf.used_pages, used0 + 2);
    FBT_CHECK_EQ(set_size(f->inode, 3 * 4096), 0); /* growing allocates nothing */
    FBT_CHECK_EQ(k.mf.used_pages, used0 + 2);
    FBT_CHECK_EQ(pread_k(f, buf, sizeof(buf), 4096), 4096);
    for (i = 0; i < 4096; i++)
        FBT_CHECK_EQ(buf[i], i < 904 ? 0xaa : 0);
    FBT_CHECK_EQ(pread_k(f, buf, sizeof(buf), 8192), 4096);
    for (i = 0; i < 4096; i++)
        FBT_CHECK_EQ(buf[i], 0);
    FBT_CHECK_EQ(set_size(f->inode, 0), 0);
    FBT_CHECK_EQ(f->inode->st.blocks, 0);
    FBT_CHECK_EQ(k.mf.used_pages, used0);
    FBT_CHECK_EQ(set_size(R(), 0), -EISDIR);
    {
        struct fb_stat st = {0};
        st.size = (uint64_t)INT64_MAX + 1;
        FBT_CHECK_EQ(f->inode->ops->setattr(f->inode, FB_SETATTR_SIZE, &st), -EFBIG);
    }
    fb_file_put(f);
}

static void test_write_limits(void)
{
    struct fb_file *f;
    char c = 'z';

    setup();
    f = create_open(R(), "big");
    FBT_CHECK(f);
    FBT_CHECK_EQ(pwrite_k(f, &c, 1, INT64_MAX), -EFBIG);
    FBT_CHECK_EQ(pwrite_k(f, &c, 1, INT64_MAX - 1), 1);
    FBT_CHECK_EQ(f->inode->st.size, (uint64_t)INT64_MAX);
    FBT_CHECK_EQ(f->ops->llseek(f, INT64_MAX - 1, SEEK_DATA), INT64_MAX - 1);
    FBT_CHECK_EQ(set_size(f->inode, 0), 0);
    FBT_CHECK_EQ(f->inode->st.blocks, 0);
    fb_file_put(f);
}

static void test_enospc(void)
{
    static uint8_t data[16 * 4096];
    struct fb_file *f;
    struct fb_mappable *m = NULL;
    uint64_t pages[4];
    int64_t n;

    setup();
    f = create_open(R(), "full");
    FBT_CHECK(f);
    k.mf.limit_pages = k.mf.used_pages + 5;
    k.mf.limit_hit = false;
    FBT_CHECK_EQ(write_k(f, data, 4 * 4096), 4 * 4096);
    FBT_CHECK(!k.mf.limit_hit); /* a fit under the limit records no shortage */
    n = write_k(f, data, 12 * 4096);
    FBT_CHECK_EQ(n, 4096); /* a short write up to the limit */
    FBT_CHECK(k.mf.limit_hit);
    FBT_CHECK_EQ(f->inode->st.size, 5 * 4096);
    FBT_CHECK_EQ(write_k(f, data, 10), -ENOSPC);
    FBT_CHECK_EQ(f->inode->st.size, 5 * 4096); /* nothing allocated ahead stays */
    FBT_CHECK_EQ(f->inode->st.blocks, 40);
    FBT_CHECK_EQ(set_size(f->inode, 8 * 4096), 0);
    FBT_CHECK_EQ(f->ops->mmap(f, &m), 0);
    FBT_CHECK_EQ(m->ops->get_pages(m, 6, 1, true, pages), -ENOMEM);
    FBT_CHECK_EQ(m->ops->get_pages(m, 0, 4, true, pages), 4); /* present pages still fine */
    fb_mf_put(&k.mf, pages[0], 1);
    fb_mf_put(&k.mf, pages[1], 1);
    fb_mf_put(&k.mf, pages[2], 1);
    fb_mf_put(&k.mf, pages[3], 1);
    m->ops->put(m);
    k.mf.limit_pages = 0;
    k.mf.limit_hit = false;
    fb_file_put(f);
}

/* ---- directories ---------------------------------------------------------------------------- */

static void test_mkdir_rmdir(void)
{
    struct fb_inode *d, *e;
    struct fb_file *f;

    setup();
    FBT_CHECK_EQ(R()->st.nlink, 2);
    FBT_CHECK_EQ(R()->st.size, 40);
    FBT_CHECK_EQ(R()->ops->mkdir(R(), "d", 0755), 0);
    FBT_CHECK_EQ(R()->ops->mkdir(R(), "d", 0755), -EEXIST);
    d = lookup(R(), "d");
    FBT_CHECK(d && S_ISDIR(d->st.mode));
    FBT_CHECK_EQ(d->st.mode & 07777, 0755);
    FBT_CHECK_EQ(d->st.nlink, 2);
    FBT_CHECK_EQ(R()->st.nlink, 3);
    FBT_CHECK_EQ(R()->st.size, 60);
    FBT_CHECK_EQ(d->ops->mkdir(d, "e", 0700), 0);
    FBT_CHECK_EQ(d->st.nlink, 3);
    e = lookup(d, "e");
    FBT_CHECK(e);
    f = create_open(e, "file");
    FBT_CHECK(f);
    FBT_CHECK_EQ(R()->ops->rmdir(R(), "d", d), -ENOTEMPTY);
    FBT_CHECK_EQ(d->ops->rmdir(d, "e", e), -ENOTEMPTY);
    FBT_CHECK_EQ(e->ops->unlink(e, "file", f->inode), 0);
    FBT_CHECK_EQ(f->inode->st.nlink, 0);
    FBT_CHECK_EQ(e->ops->unlink(e, "file", f->inode), -ENOENT);
    FBT_CHECK_EQ(d->ops->unlink(d, "e", e), -EISDIR);
    fb_inode_get(e); /* like an open directory or a cwd */
    FBT_CHECK_EQ(d->ops->rmdir(d, "e", e), 0);
    FBT_CHECK_EQ(e->st.nlink, 0);
    FBT_CHECK_EQ(d->st.nlink, 2);
    /* A removed directory takes no new entries. */
    FBT_CHECK_EQ(e->ops->create(e, "x", 0644, &(struct fb_inode *){NULL}), -ENOENT);
    FBT_CHECK_EQ(e->ops->mkdir(e, "x", 0755), -ENOENT);
    fb_inode_put(e);
    fb_file_put(f);
    FBT_CHECK_EQ(R()->ops->rmdir(R(), "d", d), 0);
    FBT_CHECK_EQ(R()->st.nlink, 2);
    FBT_CHECK_EQ(R()->st.size, 40);
    FBT_CHECK_EQ(R()->ops->rmdir(R(), "d", NULL), -ENOENT);
}

static void test_unlink_open_file(void)
{
    struct fb_file *f;
    char buf[8] = {0};
    uint64_t used0;

    setup();
    used0 = k.mf.used_pages;
    f = create_open(R(), "gone");
    FBT_CHECK(f);
    FBT_CHECK_EQ(write_k(f, "data", 4), 4);
    FBT_CHECK_EQ(R()->ops->unlink(R(), "gone", f->inode), 0);
    FBT_CHECK(lookup(R(), "gone") == NULL);
    FBT_CHECK_EQ(f->inode->st.nlink, 0);
    FBT_CHECK_EQ(pread_k(f, buf, 4, 0), 4); /* still readable while open */
    FBT_CHECK_STR(buf, "data");
    FBT_CHECK_EQ(k.mf.used_pages, used0 + 1);
    fb_file_put(f); /* the last reference: pages go back */
    FBT_CHECK_EQ(k.mf.used_pages, used0);
}

static void test_link(void)
{
    struct fb_file *f;
    struct fb_inode *ino;

    setup();
    f = create_open(R(), "a");
    FBT_CHECK(f);
    ino = f->inode;
    FBT_CHECK_EQ(R()->ops->link(R(), "b", ino), 0);
    FBT_CHECK_EQ(ino->st.nlink, 2);
    FBT_CHECK(lookup(R(), "b") == ino);
    FBT_CHECK_EQ(R()->ops->link(R(), "b", ino), -EEXIST);
    FBT_CHECK_EQ(R()->ops->mkdir(R(), "d", 0755), 0);
    FBT_CHECK_EQ(R()->ops->link(R(), "d2", lookup(R(), "d")), -EPERM);
    FBT_CHECK_EQ(R()->ops->unlink(R(), "a", ino), 0);
    FBT_CHECK_EQ(ino->st.nlink, 1);
    FBT_CHECK_EQ(R()->ops->unlink(R(), "b", ino), 0);
    FBT_CHECK_EQ(ino->st.nlink, 0);
    FBT_CHECK_EQ(R()->ops->link(R(), "c", ino), -ENOENT); /* no resurrection */
    fb_file_put(f);
}

static void test_symlink(void)
{
    char buf[300];
    char longt[201];
    struct fb_inode *l;

    setup();
    FBT_CHECK_EQ(R()->ops->symlink(R(), "l", "target/path"), 0);
    FBT_CHECK_EQ(R()->ops->symlink(R(), "l", "x"), -EEXIST);
    l = lookup(R(), "l");
    FBT_CHECK(l && S_ISLNK(l->st.mode));
    FBT_CHECK_EQ(l->st.mode & 07777, 0777);
    FBT_CHECK_EQ(l->st.size, 11);
    FBT_CHECK_EQ(l->st.blocks, 0);
    FBT_CHECK_EQ(l->ops->readlink(l, buf, sizeof(buf)), 11);
    FBT_CHECK(memcmp(buf, "target/path", 11) == 0);
    FBT_CHECK_EQ(l->ops->readlink(l, buf, 3), 3);
    FBT_CHECK(memcmp(buf, "tar", 3) == 0);
    FBT_CHECK_EQ(R()->ops->readlink(R(), buf, sizeof(buf)), -EINVAL);
    FBT_CHECK_EQ(l->ops->open(l, NULL), -ELOOP);
    memset(longt, 'a', 200);
    longt[200] = 0;
    FBT_CHECK_EQ(R()->ops->symlink(R(), "long", longt), 0);
    FBT_CHECK_EQ(lookup(R(), "long")->st.blocks, 8);
}

static void test_mknod(void)
{
    struct fb_inode *p, *s;
    struct fb_file *f;

    setup();
    FBT_CHECK_EQ(R()->ops->mknod(R(), "fifo", S_IFIFO | 0644, 0), 0);
    p = lookup(R(), "fifo");
    FBT_CHECK(p && S_ISFIFO(p->st.mode));
    f = fb_file_new(p, NULL, O_RDONLY | O_NONBLOCK);
    FBT_CHECK(f);
    FBT_CHECK_EQ(p->ops->open(p, f), 0); /* a FIFO: pipe.c takes over (no writer needed) */
    FBT_CHECK(f->ops != NULL);
    fb_file_put(f);
    FBT_CHECK_EQ(R()->ops->mknod(R(), "sock", S_IFSOCK | 0755, 0), 0);
    s = lookup(R(), "sock");
    FBT_CHECK(s && S_ISSOCK(s->st.mode));
    f = fb_file_new(s, NULL, O_RDONLY);
    FBT_CHECK_EQ(s->ops->open(s, f), -ENXIO);
    fb_file_put(f);
    FBT_CHECK_EQ(R()->ops->mknod(R(), "c", S_IFCHR | 0666, makedev(1, 3)), -EPERM);
    FBT_CHECK_EQ(R()->ops->mknod(R(), "b", S_IFBLK | 0666, makedev(7, 0)), -EPERM);
    FBT_CHECK_EQ(R()->ops->mknod(R(), "r", S_IFREG | 0600, 0), 0);
    FBT_CHECK(S_ISREG(lookup(R(), "r")->st.mode));
    FBT_CHECK_EQ(R()->ops->mknod(R(), "fifo", S_IFIFO | 0644, 0), -EEXIST);
}

/* ---- rename --------------------------------------------------------------------------------- */

static void test_rename_basic(void)
{
    struct fb_file *f, *g;
    struct fb_inode *a, *b, *d1, *d2;

    setup();
    f = create_open(R(), "a");
    g = create_open(R(), "b");
    FBT_CHECK(f && g);
    a = f->inode;
    b = g->inode;
    FBT_CHECK_EQ(R()->ops->rename(R(), "a", R(), "c", 0), 0);
    FBT_CHECK(lookup(R(), "a") == NULL);
    FBT_CHECK(lookup(R(), "c") == a);
    FBT_CHECK_EQ(R()->st.size, 80);
    FBT_CHECK_EQ(R()->ops->rename(R(), "missing", R(), "x", 0), -ENOENT);
    FBT_CHECK_EQ(R()->ops->rename(R(), "c", R(), "b", RENAME_NOREPLACE), -EEXIST);
    FBT_CHECK_EQ(R()->ops->rename(R(), "c", R(), "b", 0), 0); /* replaces b */
    FBT_CHECK(lookup(R(), "b") == a);
    FBT_CHECK(lookup(R(), "c") == NULL);
    FBT_CHECK_EQ(b->st.nlink, 0);
    FBT_CHECK_EQ(R()->st.size, 60);
    /* Across directories, with directory link counts. */
    FBT_CHECK_EQ(R()->ops->mkdir(R(), "d1", 0755), 0);
    FBT_CHECK_EQ(R()->ops->mkdir(R(), "d2", 0755), 0);
    d1 = lookup(R(), "d1");
    d2 = lookup(R(), "d2");
    FBT_CHECK_EQ(d1->ops->mkdir(d1, "sub", 0755), 0);
    FBT_CHECK_EQ(d1->st.nlink, 3);
    FBT_CHECK_EQ(R()->ops->rename(d1, "sub", d2, "moved", 0), 0);
    FBT_CHECK_EQ(d1->st.nlink, 2);
    FBT_CHECK_EQ(d2->st.nlink, 3);
    FBT_CHECK(lookup(d2, "moved") != NULL);
    /* Into its own subtree. */
    FBT_CHECK_EQ(R()->ops->rename(R(), "d2", lookup(d2, "moved"), "x", 0), -EINVAL);
    FBT_CHECK_EQ(R()->ops->rename(R(), "d2", d2, "x", 0), -EINVAL);
    /* Two names of one file: nothing happens. */
    FBT_CHECK_EQ(R()->ops->link(R(), "b2", a), 0);
    FBT_CHECK_EQ(R()->ops->rename(R(), "b", R(), "b2", 0), 0);
    FBT_CHECK(lookup(R(), "b") == a && lookup(R(), "b2") == a);
    FBT_CHECK_EQ(a->st.nlink, 2);
    fb_file_put(f);
    fb_file_put(g);
}

static void test_rename_dirs(void)
{
    struct fb_inode *a, *b, *c, *full;

    setup();
    FBT_CHECK_EQ(R()->ops->mkdir(R(), "a", 0755), 0);
    FBT_CHECK_EQ(R()->ops->mkdir(R(), "b", 0755), 0);
    FBT_CHECK_EQ(R()->ops->mkdir(R(), "full", 0755), 0);
    FBT_CHECK_EQ(R()->ops->create(R(), "file", 0644, &(struct fb_inode *){NULL}), 0);
    fb_inode_put(lookup(R(), "file")); /* balance the create reference */
    a = lookup(R(), "a");
    b = lookup(R(), "b");
    full = lookup(R(), "full");
    FBT_CHECK_EQ(full->ops->mkdir(full, "x", 0755), 0);
    FBT_CHECK_EQ(R()->st.nlink, 5);
    FBT_CHECK_EQ(R()->ops->rename(R(), "a", R(), "full", 0), -ENOTEMPTY);
    FBT_CHECK_EQ(R()->ops->rename(R(), "a", R(), "file", 0), -ENOTDIR);
    FBT_CHECK_EQ(R()->ops->rename(R(), "file", R(), "a", 0), -EISDIR);
    fb_inode_get(b);
    FBT_CHECK_EQ(R()->ops->rename(R(), "a", R(), "b", 0), 0); /* replaces the empty b */
    FBT_CHECK(lookup(R(), "b") == a);
    FBT_CHECK_EQ(b->st.nlink, 0);
    FBT_CHECK_EQ(R()->st.nlink, 4);
    fb_inode_put(b);
    /* Exchange a directory with a file across directories. */
    c = lookup(full, "x");
    FBT_CHECK_EQ(R()->ops->rename(R(), "file", full, "nothere", RENAME_EXCHANGE), -ENOENT);
    FBT_CHECK_EQ(R()->ops->rename(R(), "file", full, "x", RENAME_EXCHANGE), 0);
    FBT_CHECK(lookup(R(), "file") == c);
    FBT_CHECK(S_ISREG(lookup(full, "x")->st.mode));
    FBT_CHECK_EQ(R()->st.nlink, 5);
    FBT_CHECK_EQ(full->st.nlink, 2);
    /* Exchanging a directory with its own ancestor. */
    FBT_CHECK_EQ(c->ops->mkdir(c, "deep", 0755), 0);
    FBT_CHECK_EQ(R()->ops->rename(c, "deep", R(), "file", RENAME_EXCHANGE), -EINVAL);
    FBT_CHECK_EQ(R()->ops->rename(R(), "file", c, "deep", RENAME_EXCHANGE), -EINVAL);
}

/* ---- readdir -------------------------------------------------------------------------------- */

static void test_readdir(void)
{
    char names[4096];
    struct fb_file *f;
    char name[16];
    int i, calls;

    setup();
    f = open_ino(R(), O_RDONLY | O_DIRECTORY);
    FBT_CHECK(f);
    FBT_CHECK_EQ(list_dir(f, 4096, names, sizeof(names)), 2);
    FBT_CHECK_STR(names, "");
    for (i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "f%d", i);
        FBT_CHECK_EQ(R()->ops->mkdir(R(), name, 0755), 0);
    }
    FBT_CHECK_EQ(f->ops->llseek(f, 0, SEEK_SET), 0);
    FBT_CHECK_EQ(list_dir(f, 4096, names, sizeof(names)), 2);
    FBT_CHECK_STR(names, "f4 f3 f2 f1 f0"); /* newest first, like Linux tmpfs */
    f->pos = 0;
    calls = list_dir(f, 24, names, sizeof(names)); /* one entry per call */
    FBT_CHECK_EQ(calls, 8);
    FBT_CHECK_STR(names, "f4 f3 f2 f1 f0");
    FBT_CHECK_EQ(f->ops->llseek(f, 0, SEEK_END), -EINVAL);
    FBT_CHECK_EQ(f->ops->llseek(f, -1, SEEK_SET), -EINVAL);
    fb_file_put(f);
}

static void test_readdir_stable_cookies(void)
{
    uint8_t buf[4096];
    struct fb_dirent_sink sink;
    char names[4096];
    struct fb_file *f;
    int64_t pos = 0;
    int i;

    setup();
    for (i = 0; i < 6; i++) {
        char name[16];
        snprintf(name, sizeof(name), "e%d", i);
        FBT_CHECK_EQ(R()->ops->mkdir(R(), name, 0755), 0);
    }
    f = open_ino(R(), O_RDONLY);
    FBT_CHECK(f);
    /* Read ".", "..", e5, e4 */
    memset(&sink, 0, sizeof(sink));
    sink.buf = buf;
    sink.size = 24 * 4;
    FBT_CHECK_EQ(f->ops->readdir(f, &sink, &pos), 0);
    FBT_CHECK_EQ(sink.count, 4);
    /* Between calls: remove one seen and one unseen entry, add new ones. */
    FBT_CHECK_EQ(R()->ops->rmdir(R(), "e5", NULL), 0);
    FBT_CHECK_EQ(R()->ops->rmdir(R(), "e2", NULL), 0);
    FBT_CHECK_EQ(R()->ops->mkdir(R(), "n1", 0755), 0);
    f->pos = pos;
    FBT_CHECK_EQ(list_dir(f, 4096, names, sizeof(names)), 2);
    FBT_CHECK_STR(names, "e3 e1 e0"); /* nothing repeated, nothing remaining skipped */
    /* A cookie from telldir() taken at any emitted entry resumes right after it. */
    f->pos = 0;
    memset(&sink, 0, sizeof(sink));
    sink.buf = buf;
    sink.size = sizeof(buf);
    pos = 0;
    FBT_CHECK_EQ(f->ops->readdir(f, &sink, &pos), 0);
    {
        size_t off = 0;
        int64_t cookie_after_e3 = -1;
        while (off < sink.used) {
            uint16_t reclen;
            int64_t d_off;
            memcpy(&reclen, buf + off + 16, 2);
            memcpy(&d_off, buf + off + 8, 8);
            if (!strcmp((char *)buf + off + 19, "e3"))
                cookie_after_e3 = d_off;
            off += reclen;
        }
        FBT_CHECK(cookie_after_e3 > 2);
        f->pos = cookie_after_e3;
        FBT_CHECK_EQ(list_dir(f, 4096, names, sizeof(names)), 2);
        FBT_CHECK_STR(names, "e1 e0");
    }
    fb_file_put(f);
}

static void test_readdir_removed_dir(void)
{
    struct fb_inode *d;
    struct fb_file *f;
    char names[64];

    setup();
    FBT_CHECK_EQ(R()->ops->mkdir(R(), "d", 0755), 0);
    d = lookup(R(), "d");
    f = open_ino(d, O_RDONLY);
    FBT_CHECK(f);
    FBT_CHECK_EQ(R()->ops->rmdir(R(), "d", d), 0);
    FBT_CHECK_EQ(list_dir(f, 4096, names, sizeof(names)), -ENOENT);
    fb_file_put(f);
}

static void test_readdir_many(void)
{
    char *names = malloc(1 << 20);
    struct fb_file *f;
    char name[16];
    int i;

    setup();
    FBT_CHECK(names);
    for (i = 0; i < 3000; i++) {
        snprintf(name, sizeof(name), "n%05d", i);
        FBT_CHECK_EQ(R()->ops->create(R(), name, 0644, &(struct fb_inode *){NULL}), 0);
        fb_inode_put(lookup(R(), name)); /* balance the create reference */
    }
    for (i = 0; i < 3000; i += 2) {
        snprintf(name, sizeof(name), "n%05d", i);
        FBT_CHECK_EQ(R()->ops->unlink(R(), name, NULL), 0);
    }
    FBT_CHECK(lookup(R(), "n00001") != NULL);
    FBT_CHECK(lookup(R(), "n00002") == NULL);
    f = open_ino(R(), O_RDONLY);
    FBT_CHECK(f);
    FBT_CHECK(list_dir(f, 1024, names, 1 << 20) > 10);
    FBT_CHECK_EQ(strlen(names), 1500 * 7 - 1);
    FBT_CHECK(strncmp(names, "n02999 n02997", 13) == 0);
    FBT_CHECK_EQ(R()->st.size, 40 + 1500 * 20);
    fb_file_put(f);
    free(names);
}

/* ---- attributes ----------------------------------------------------------------------------- */

static void test_setattr(void)
{
    struct fb_file *f;
    struct fb_inode *ino;
    struct fb_stat st = {0};

    setup();
    f = create_open(R(), "a");
    FBT_CHECK(f);
    ino = f->inode;
    st.mode = 04755 | S_IFDIR; /* the type bits are not changeable */
    FBT_CHECK_EQ(ino->ops->setattr(ino, FB_SETATTR_MODE, &st), 0);
    FBT_CHECK_EQ(ino->st.mode, S_IFREG | 04755);
    st.uid = 1000;
    st.gid = 100;
    FBT_CHECK_EQ(ino->ops->setattr(ino, FB_SETATTR_UID | FB_SETATTR_GID, &st), 0);
    FBT_CHECK_EQ(ino->st.uid, 1000);
    FBT_CHECK_EQ(ino->st.gid, 100);
    FBT_CHECK_EQ(ino->st.mode, S_IFREG | 0755); /* chown drops set-user-ID */
    st.atime.tv_sec = 1000;
    st.atime.tv_nsec = 5;
    st.mtime.tv_sec = 2000;
    st.mtime.tv_nsec = UTIME_OMIT;
    FBT_CHECK_EQ(ino->ops->setattr(ino, FB_SETATTR_ATIME | FB_SETATTR_MTIME, &st), 0);
    FBT_CHECK_EQ(ino->st.atime.tv_sec, 1000);
    FBT_CHECK_EQ(ino->st.atime.tv_nsec, 5);
    FBT_CHECK(ino->st.mtime.tv_sec != 2000);
    st.mtime.tv_nsec = 0;
    FBT_CHECK_EQ(ino->ops->setattr(ino, FB_SETATTR_MTIME, &st), 0);
    FBT_CHECK_EQ(ino->st.mtime.tv_sec, 2000);
    FBT_CHECK(ino->st.ctime.tv_sec > 2000);
    st.mtime.tv_nsec = UTIME_NOW;
    FBT_CHECK_EQ(ino->ops->setattr(ino, FB_SETATTR_MTIME, &st), 0);
    FBT_CHECK(ino->st.mtime.tv_sec > 2000);
    /* Truncation stamps mtime with the current time. */
    st.mtime.tv_sec = 2000;
    st.mtime.tv_nsec = 0;
    FBT_CHECK_EQ(ino->ops->setattr(ino, FB_SETATTR_MTIME, &st), 0);
    FBT_CHECK_EQ(set_size(ino, 0), 0);
    FBT_CHECK(ino->st.mtime.tv_sec > 2000);
    FBT_CHECK_EQ(lookup(R(), "a")->ops->setattr(R(), FB_SETATTR_SIZE, &st), -EISDIR);
    fb_file_put(f);
}

static void test_setgid_dir(void)
{
    struct fb_inode *d, *sub, *file = NULL;
    struct fb_stat st = {0};

    setup();
    FBT_CHECK_EQ(R()->ops->mkdir(R(), "g", 06775), 0);
    d = lookup(R(), "g");
    FBT_CHECK_EQ(d->st.mode & 07777, 0775); /* mkdir ignores set-ID bits */
    st.mode = 02775;
    FBT_CHECK_EQ(d->ops->setattr(d, FB_SETATTR_MODE, &st), 0);
    st.gid = 50;
    FBT_CHECK_EQ(d->ops->setattr(d, FB_SETATTR_GID, &st), 0);
    FBT_CHECK_EQ(d->st.mode & 07777, 02775); /* directories keep set-group-ID on chown */
    FBT_CHECK_EQ(d->ops->mkdir(d, "sub", 0755), 0);
    sub = lookup(d, "sub");
    FBT_CHECK_EQ(sub->st.gid, 50);
    FBT_CHECK(sub->st.mode & S_ISGID);
    FBT_CHECK_EQ(d->ops->create(d, "f", 0644, &file), 0);
    FBT_CHECK_EQ(file->st.gid, 50);
    FBT_CHECK(!(file->st.mode & S_ISGID));
    fb_inode_put(file);
}

/* ---- mappings ------------------------------------------------------------------------------- */

static void test_mappable_shared_pages(void)
{
    struct fb_file *f;
    struct fb_mappable *m = NULL;
    uint64_t pages[8];
    char buf[8] = {0};
    uint64_t used0;
    int refs0;

    setup();
    used0 = k.mf.used_pages;
    f = create_open(R(), "mapped");
    FBT_CHECK(f);
    FBT_CHECK_EQ(write_k(f, "abc", 3), 3);
    FBT_CHECK_EQ(set_size(f->inode, 3 * 4096 + 1), 0); /* 4 pages, 3 of them holes */
    refs0 = f->inode->refs;
    FBT_CHECK_EQ(f->ops->mmap(f, &m), 0);
    FBT_CHECK(m == f->inode->mappable);
    FBT_CHECK_EQ(f->inode->refs, refs0 + 1);
    FBT_CHECK_EQ(m->ops->get_pages(m, 0, 8, true, pages), 4); /* stops at end of file */
    FBT_CHECK_EQ(f->inode->st.blocks, 32);                    /* holes got pages */
    FBT_CHECK_EQ(fb_mf_refs(&k.mf, pages[0]), 2);
    FBT_CHECK(memcmp(fb_mf_ptr(&k.mf, pages[0]), "abc", 3) == 0);
    /* A store through the mapping is what read() sees, and the reverse. */
    memcpy((char *)fb_mf_ptr(&k.mf, pages[1]) + 10, "xyz", 3);
    FBT_CHECK_EQ(pread_k(f, buf, 3, 4096 + 10), 3);
    FBT_CHECK_STR(buf, "xyz");
    FBT_CHECK_EQ(pwrite_k(f, "Q", 1, 2 * 4096), 1);
    FBT_CHECK_EQ(*(char *)fb_mf_ptr(&k.mf, pages[2]), 'Q');
    FBT_CHECK_EQ(m->ops->get_pages(m, 4, 1, false, pages + 4), -EFAULT);
    FBT_CHECK_EQ(m->ops->get_pages(m, 100, 1, false, pages + 4), -EFAULT);
    /* Truncation leaves the mapping's references alone. */
    FBT_CHECK_EQ(set_size(f->inode, 0), 0);
    FBT_CHECK_EQ(fb_mf_refs(&k.mf, pages[3]), 1);
    FBT_CHECK_EQ(m->ops->get_pages(m, 0, 1, false, pages + 4), -EFAULT);
    fb_mf_put(&k.mf, pages[0], 1);
    fb_mf_put(&k.mf, pages[1], 1);
    fb_mf_put(&k.mf, pages[2], 1);
    fb_mf_put(&k.mf, pages[3], 1);
    FBT_CHECK_EQ(k.mf.used_pages, used0);
    /* The mapping keeps an unlinked, closed file alive. */
    FBT_CHECK_EQ(pwrite_k(f, "keep", 4, 0), 4);
    FBT_CHECK_EQ(R()->ops->unlink(R(), "mapped", f->inode), 0);
    fb_file_put(f);
    FBT_CHECK_EQ(m->ops->get_pages(m, 0, 1, true, pages), 1);
    FBT_CHECK(memcmp(fb_mf_ptr(&k.mf, pages[0]), "keep", 4) == 0);
    fb_mf_put(&k.mf, pages[0], 1);
    m->ops->put(m);
    FBT_CHECK_EQ(k.mf.used_pages, used0);
}

static void test_shmem(void)
{
    struct fb_file *f = NULL;
    struct fb_mappable *m = NULL;
    uint64_t pages[2], used0 = k.mf.used_pages;
    char buf[4] = {1, 1, 1, 1};

    FBT_CHECK_EQ(fb_shmem_new(8192, "memfd:test", &f), 0);
    FBT_CHECK(f && f->inode);
    FBT_CHECK_STR(f->anon_name, "/memfd:test (deleted)");
    FBT_CHECK_EQ(f->flags & O_ACCMODE, O_RDWR);
    FBT_CHECK_EQ(f->inode->st.size, 8192);
    FBT_CHECK_EQ(f->inode->st.nlink, 0);
    FBT_CHECK(S_ISREG(f->inode->st.mode));
    FBT_CHECK_EQ(f->inode->refs, 1);
    FBT_CHECK_EQ(pread_k(f, buf, 4, 100), 4);
    FBT_CHECK(memcmp(buf, "\0\0\0\0", 4) == 0);
    FBT_CHECK_EQ(f->ops->mmap(f, &m), 0);
    fb_file_put(f); /* the mapping alone keeps it */
    FBT_CHECK_EQ(m->ops->get_pages(m, 0, 2, true, pages), 2);
    FBT_CHECK_EQ(fb_mf_refs(&k.mf, pages[0]), 2);
    m->ops->put(m);
    FBT_CHECK_EQ(fb_mf_refs(&k.mf, pages[0]), 1); /* the mapping's page outlives the object */
    fb_mf_put(&k.mf, pages[0], 1);
    fb_mf_put(&k.mf, pages[1], 1);
    FBT_CHECK_EQ(k.mf.used_pages, used0);
    FBT_CHECK_EQ(fb_shmem_new(0, NULL, &f), 0);
    FBT_CHECK(f->anon_name == NULL);
    fb_file_put(f);
    FBT_CHECK_EQ(fb_shmem_new((uint64_t)INT64_MAX + 1, NULL, &f), -EFBIG);
}

static void test_statfs(void)
{
    struct statfs s;

    setup();
    FBT_CHECK_EQ(sb->statfs(sb, &s), 0);
    FBT_CHECK_EQ(s.f_type, 0x01021994);
    FBT_CHECK_EQ(s.f_bsize, 4096);
    FBT_CHECK_EQ(s.f_namelen, 255);
    FBT_CHECK(s.f_blocks >= s.f_bfree && s.f_bfree > 0);
    FBT_CHECK(sb->cache_dentries);
    FBT_CHECK(!sb->cache_negative);
    FBT_CHECK_STR(sb->type, "tmpfs");
    FBT_CHECK_EQ(R()->st.mode, S_IFDIR | 01777);
}

/* A deep tree is released without deep recursion. */
static void test_deep_tree_release(void)
{
    struct fb_inode *d;
    int i;

    setup();
    d = R();
    for (i = 0; i < 100000; i++) {
        FBT_CHECK_EQ(d->ops->mkdir(d, "d", 0755), 0);
        d = lookup(d, "d");
        FBT_CHECK(d);
    }
    teardown();
}

/* ---- devfs ---------------------------------------------------------------------------------- */

static void test_devfs(void)
{
    struct fb_sb *dsb;
    struct fb_dentry *droot;
    struct fb_inode *dir, *ino;
    struct fb_file *f;
    uint8_t buf[300], buf2[300];
    char link[64];
    struct fb_mappable *m = NULL;
    uint64_t pg;
    struct statfs s;
    static const struct {
        const char *name;
        unsigned maj, min;
    } devs[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
                {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
    size_t i;

    FBT_CHECK_EQ(fb_devfs_new(&dsb, &droot), 0);
    dir = droot->inode;
    FBT_CHECK_STR(dsb->type, "devtmpfs");
    FBT_CHECK_EQ(dsb->statfs(dsb, &s), 0);
    FBT_CHECK_EQ(s.f_type, 0x01021994);
    FBT_CHECK_EQ(dir->st.mode, S_IFDIR | 0755);
    for (i = 0; i < FB_ARRAY_SIZE(devs); i++) {
        ino = lookup(dir, devs[i].name);
        FBT_CHECK(ino);
        FBT_CHECK_EQ(ino->st.mode, S_IFCHR | 0666);
        FBT_CHECK_EQ(major(ino->st.rdev), devs[i].maj);
        FBT_CHECK_EQ(minor(ino->st.rdev), devs[i].min);
        FBT_CHECK_EQ(ino->st.uid, 0);
    }
    FBT_CHECK_EQ(lookup(dir, "shm")->st.mode, S_IFDIR | 01777);
    FBT_CHECK_EQ(lookup(dir, "pts")->st.mode, S_IFDIR | 0755);
    FBT_CHECK_EQ(dir->st.nlink, 4);
    ino = lookup(dir, "fd");
    FBT_CHECK(ino && S_ISLNK(ino->st.mode));
    memset(link, 0, sizeof(link));
    FBT_CHECK_EQ(ino->ops->readlink(ino, link, sizeof(link) - 1), 13);
    FBT_CHECK_STR(link, "/proc/self/fd");
    memset(link, 0, sizeof(link));
    ino = lookup(dir, "stderr");
    FBT_CHECK_EQ(ino->ops->readlink(ino, link, sizeof(link) - 1), 15);
    FBT_CHECK_STR(link, "/proc/self/fd/2");

    /* null */
    f = open_ino(lookup(dir, "null"), O_RDWR);
    FBT_CHECK(f);
    FBT_CHECK_EQ(pread_k(f, buf, sizeof(buf), 0), 0);
    FBT_CHECK_EQ(write_k(f, "junk", 4), 4);
    FBT_CHECK_EQ(f->ops->llseek(f, 100, SEEK_SET), 0);
    fb_file_put(f);
    /* zero */
    f = open_ino(lookup(dir, "zero"), O_RDWR);
    FBT_CHECK(f);
    memset(buf, 0x55, sizeof(buf));
    FBT_CHECK_EQ(pread_k(f, buf, sizeof(buf), 0), (int64_t)sizeof(buf));
    for (i = 0; i < sizeof(buf); i++)
        FBT_CHECK_EQ(buf[i], 0);
    FBT_CHECK_EQ(write_k(f, "junk", 4), 4);
    FBT_CHECK_EQ(f->ops->mmap(f, &m), 0);
    FBT_CHECK_EQ(m->ops->get_pages(m, 12345, 1, true, &pg), 1);
    FBT_CHECK_EQ(*(uint64_t *)fb_mf_ptr(&k.mf, pg), 0);
    fb_mf_put(&k.mf, pg, 1);
    m->ops->put(m);
    fb_file_put(f);
    /* full */
    f = open_ino(lookup(dir, "full"), O_RDWR);
    FBT_CHECK(f);
    memset(buf, 0x55, sizeof(buf));
    FBT_CHECK_EQ(pread_k(f, buf, 10, 0), 10);
    FBT_CHECK_EQ(buf[9], 0);
    FBT_CHECK_EQ(write_k(f, "junk", 4), -ENOSPC);
    fb_file_put(f);
    /* urandom and random: fresh bytes each time */
    for (i = 0; i < 2; i++) {
        f = open_ino(lookup(dir, i ? "random" : "urandom"), O_RDWR);
        FBT_CHECK(f);
        FBT_CHECK_EQ(pread_k(f, buf, sizeof(buf), 0), (int64_t)sizeof(buf));
        FBT_CHECK_EQ(pread_k(f, buf2, sizeof(buf2), 0), (int64_t)sizeof(buf2));
        FBT_CHECK(memcmp(buf, buf2, sizeof(buf)) != 0);
        FBT_CHECK_EQ(write_k(f, "seed", 4), 4);
        fb_file_put(f);
    }
    /* tty: no controlling terminal */
    ino = lookup(dir, "tty");
    f = fb_file_new(ino, NULL, O_RDWR);
    FBT_CHECK_EQ(ino->ops->open(ino, f), -ENXIO);
    fb_file_put(f);
    /* root can still add ordinary files, but no device nodes */
    FBT_CHECK_EQ(dir->ops->mknod(dir, "mine", S_IFCHR | 0600, makedev(1, 3)), -EPERM);
    f = create_open(dir, "plain");
    FBT_CHECK(f);
    fb_file_put(f);
    fb_dentry_put(droot);
    FBT_CHECK_EQ(fb_tmpfs_sb_destroy(dsb), 0);
}

/* Restore from a hostile image: a mount's root linked back under a directory of its own tree
 * (root -> a -> root) passed the loader's tree check, because the walk up from a meets the root
 * before the loop. Only a directory without a parent counts as a root now (the test links a
 * real directory instead of the root itself, which would leave a loop nobody frees). */
static void test_load_root_loop(void)
{
    struct fb_inode *a, *b;

    setup();
    FBT_CHECK_EQ(R()->ops->mkdir(R(), "a", 0755), 0);
    a = lookup(R(), "a");
    FBT_CHECK_EQ(a->ops->mkdir(a, "b", 0755), 0);
    b = lookup(a, "b");
    FBT_CHECK(a && b && fb_tmpfs_dir_reaches(b, R()));
    FBT_CHECK(!fb_tmpfs_dir_reaches(b, a)); /* a has a parent: it is no mount root */
}

int main(void)
{
    struct fb_error err;

    fb_k = &k;
    if (fb_memfile_init(&k.mf, 1ull << 32, &err) != 0) {
        printf("FAIL memfile: %s\n", err.msg);
        return 1;
    }
    pthread_mutex_init(&k.lock, NULL);

    FBT_RUN(test_create_write_read);
    FBT_RUN(test_multi_iov_and_pages);
    FBT_RUN(test_append);
    FBT_RUN(test_holes_and_seek);
    FBT_RUN(test_truncate);
    FBT_RUN(test_write_limits);
    FBT_RUN(test_enospc);
    FBT_RUN(test_mkdir_rmdir);
    FBT_RUN(test_unlink_open_file);
    FBT_RUN(test_link);
    FBT_RUN(test_symlink);
    FBT_RUN(test_mknod);
    FBT_RUN(test_rename_basic);
    FBT_RUN(test_rename_dirs);
    FBT_RUN(test_readdir);
    FBT_RUN(test_readdir_stable_cookies);
    FBT_RUN(test_readdir_removed_dir);
    FBT_RUN(test_readdir_many);
    FBT_RUN(test_setattr);
    FBT_RUN(test_setgid_dir);
    FBT_RUN(test_mappable_shared_pages);
    FBT_RUN(test_shmem);
    FBT_RUN(test_statfs);
    FBT_RUN(test_deep_tree_release);
    FBT_RUN(test_devfs);
    FBT_RUN(test_load_root_loop);
    teardown();
    {
        uint64_t used = k.mf.used_pages;
        fbt_current = "no_leaked_pages";
        fbt_current_failed = 0;
        if (used != 0) {
            printf("FAIL no_leaked_pages: %lu pages still used\n", (unsigned long)used);
            fbt_failed_cases++;
        } else {
            printf("PASS no_leaked_pages\n");
        }
    }
    fb_memfile_destroy(&k.mf);
    FBT_EXIT();
}
