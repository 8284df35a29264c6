/* Unit tests of the memory cache's lookups (api/mem_cache.c) in a directory of its own: an
 * entry is named after the image file's identity, so a file rewritten in place (its times
 * set back) has another name; only a read-only file of this user's with one link and whole
 * pages is used, and using it sets its access time; an unsafe directory or FNBOX_MEM_CACHE=0
 * turns the cache off; a lookup makes no directory. Making entries needs an image:
 * tests/e2e/checkpoint_test.sh. Spare memory files (a tmpfs directory, /dev/shm): taken once
 * each, put back punched beyond what is kept, at most FB_MEM_SPARE_MAX per image, dropped
 * without a trace, refused when others could open them. */
#include "api/mem_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include "fbtest.h"

static char base[] = "/tmp/fnbox-memcache-XXXXXX";
static char dir[sizeof(base) + 8], image[sizeof(base) + 16];

/* An entry for the image, as put would leave it but with the given mode and size. */
static void make_entry(const char *name, mode_t mode, size_t size)
{
    char path[512];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
        if (ftruncate(fd, (off_t)size) != 0)
            perror("ftruncate");
        fchmod(fd, mode);
        close(fd);
    }
}

static void test_name_follows_the_file(void)
{
    char a[128], b[128], c[128];
    struct stat st;
    struct timespec ts[2];
    int fd = open(image, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    FBT_CHECK(fd >= 0);
    FBT_CHECK_EQ(write(fd, "image one", 9), 9);
    FBT_CHECK_EQ(fb_mem_cache_name(fd, a, sizeof(a)), 0);
    FBT_CHECK_EQ(fb_mem_cache_name(fd, b, sizeof(b)), 0);
    FBT_CHECK_STR(a, b);
    FBT_CHECK(strncmp(a, "v1-", 3) == 0);
    /* Rewritten in place, the same size, its modification time set back: another name (the
     * change time cannot be set back). */
    FBT_CHECK_EQ(fstat(fd, &st), 0);
    usleep(2000);
    FBT_CHECK_EQ(pwrite(fd, "IMAGE", 5, 0), 5);
    ts[0] = st.st_atim;
    ts[1] = st.st_mtim;
    FBT_CHECK_EQ(futimens(fd, ts), 0);
    FBT_CHECK_EQ(fb_mem_cache_name(fd, c, sizeof(c)), 0);
    FBT_CHECK(strcmp(a, c) != 0);
    close(fd);
}

static void test_get_checks_the_entry(void)
{
    char name[128], path[512];
    struct stat st0, st1;
    int img = open(image, O_RDONLY | O_CLOEXEC), fd;

    FBT_CHECK(img >= 0);
    FBT_CHECK_EQ(fb_mem_cache_name(img, name, sizeof(name)), 0);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FBT_CHECK_EQ(fb_mem_cache_get(img), -1); /* none */
    make_entry(name, 0600, 8192);            /* writable */
    FBT_CHECK_EQ(fb_mem_cache_get(img), -1);
    make_entry(name, 0444, 8192); /* readable by others */
    FBT_CHECK_EQ(fb_mem_cache_get(img), -1);
    make_entry(name, 0400, 5000); /* not whole pages */
    FBT_CHECK_EQ(fb_mem_cache_get(img), -1);
    make_entry(name, 0400, 0); /* empty */
    FBT_CHECK_EQ(fb_mem_cache_get(img), -1);
    make_entry(name, 0400, 8192);
    {
        char second[600];
        snprintf(second, sizeof(second), "%s.second", path);
        FBT_CHECK_EQ(link(path, second), 0); /* two names */
        FBT_CHECK_EQ(fb_mem_cache_get(img), -1);
        unlink(second);
    }
    /* A good one: returned read-only, and its access time set. */
    {
        struct timespec old[2] = {{.tv_sec = 1000}, {.tv_nsec = UTIME_OMIT}};
        FBT_CHECK_EQ(utimensat(AT_FDCWD, path, old, 0), 0);
    }
    FBT_CHECK_EQ(stat(path, &st0), 0);
    fd = fb_mem_cache_get(img);
    FBT_CHECK(fd > 2);
    FBT_CHECK_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
    FBT_CHECK_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    FBT_CHECK_EQ(stat(path, &st1), 0);
    FBT_CHECK(st1.st_atim.tv_sec > st0.st_atim.tv_sec);
    close(fd);
    /* A symbolic link in its place is not followed. */
    unlink(path);
    FBT_CHECK_EQ(symlink(image, path), 0);
    FBT_CHECK_EQ(fb_mem_cache_get(img), -1);
    unlink(path);
    close(img);
}

static void test_off_and_unsafe_dir(void)
{
    char name[128];
    char loose[sizeof(base) + 16];
    int img = open(image, O_RDONLY | O_CLOEXEC), fd;

    FBT_CHECK(img >= 0);
    FBT_CHECK_EQ(fb_mem_cache_name(img, name, sizeof(name)), 0);
    make_entry(name, 0400, 4096);
    fd = fb_mem_cache_get(img);
    FBT_CHECK(fd > 2);
    close(fd);
    setenv("FNBOX_MEM_CACHE", "0", 1);
    FBT_CHECK_EQ(fb_mem_cache_get(img), -1);
    unsetenv("FNBOX_MEM_CACHE");
    /* A directory others may open is not used. */
    FBT_CHECK_EQ(chmod(dir, 0755), 0);
    FBT_CHECK_EQ(fb_mem_cache_get(img), -1);
    FBT_CHECK_EQ(chmod(dir, 0700), 0);
    snprintf(loose, sizeof(loose), "%s/loose", base);
    FBT_CHECK_EQ(mkdir(loose, 0777), 0);
    FBT_CHECK_EQ(chmod(loose, 0777), 0);
    setenv("FNBOX_MEM_CACHE_DIR", loose, 1);
    FBT_CHECK_EQ(fb_mem_cache_get(img), -1);
    rmdir(loose);
    /* A lookup makes nothing: no directory where there was none. */
    FBT_CHECK_EQ(fb_mem_cache_get(img), -1);
    FBT_CHECK(access(loose, F_OK) != 0 && errno == ENOENT);
    setenv("FNBOX_MEM_CACHE_DIR", dir, 1);
    close(img);
}

static char spare_dir[] = "/dev/shm/fnbox-spare-test-XXXXXX";

static int spares(const char *name)
{
    char path[512];
    int n = 0;

    for (int i = 0; i < FB_MEM_SPARE_MAX + 2; i++) {
        snprintf(path, sizeof(path), "%s/s-%s-%d", spare_dir, name, i);
        n += access(path, F_OK) == 0;
    }
    return n;
}

static int entries(void)
{
    return fbt_dir_entries(spare_dir);
}

static void test_spares(void)
{
    struct fb_mem_spare a, b, sp[FB_MEM_SPARE_MAX + 1];
    char name[128], page[4096], path[512];
    struct stat st;
    int img = open(image, O_RDONLY | O_CLOEXEC);

    FBT_CHECK(img >= 0);
    FBT_CHECK_EQ(fb_mem_cache_name(img, name, sizeof(name)), 0);
    setenv("FNBOX_MEM_SPARE_DIR", spare_dir, 1);
    /* None there: a new file, named only when it is put back. */
    FBT_CHECK(fb_mem_cache_spare_take(img, &a) > 2);
    FBT_CHECK(!a.reused);
    FBT_CHECK_EQ(entries(), 0);
    memset(page, 0xa5, sizeof(page));
    FBT_CHECK_EQ(pwrite(a.fd, page, sizeof(page), 0), (ssize_t)sizeof(page));
    FBT_CHECK_EQ(pwrite(a.fd, page, sizeof(page), 8 << 20), (ssize_t)sizeof(page));
    fb_mem_cache_spare_put(&a, 4096);
    FBT_CHECK_EQ(a.fd, -1);
    FBT_CHECK_EQ(spares(name), 1);
    snprintf(path, sizeof(path), "%s/s-%s-0", spare_dir, name);
    FBT_CHECK_EQ(stat(path, &st), 0);
    FBT_CHECK_EQ(st.st_mode & 0777, 0600);
    FBT_CHECK((uint64_t)st.st_blocks * 512 <= 4096); /* the page at 8 MiB punched out */
    /* Two restores at once: one gets the spare, the other a new file. */
    FBT_CHECK(fb_mem_cache_spare_take(img, &a) > 2);
    FBT_CHECK(fb_mem_cache_spare_take(img, &b) > 2);
    FBT_CHECK(a.reused && !b.reused);
    FBT_CHECK_EQ(pread(a.fd, page, 1, 0), 1); /* what it kept: the caller's to clear */
    FBT_CHECK_EQ((unsigned char)page[0], 0xa5);
    FBT_CHECK_EQ(spares(name), 0);
    fb_mem_cache_spare_put(&a, 4096);
    fb_mem_cache_spare_put(&b, 4096);
    FBT_CHECK_EQ(spares(name), 2);
    FBT_CHECK_EQ(entries(), 2);
    /* Dropped (a failed sandbox's): gone, name and all. */
    FBT_CHECK(fb_mem_cache_spare_take(img, &a) > 2);
    FBT_CHECK(a.reused);
    fb_mem_cache_spare_drop(&a);
    FBT_CHECK_EQ(entries(), 1);
    /* At most FB_MEM_SPARE_MAX per image. */
    for (int i = 0; i <= FB_MEM_SPARE_MAX; i++)
        FBT_CHECK(fb_mem_cache_spare_take(img, &sp[i]) > 2);
    for (int i = 0; i <= FB_MEM_SPARE_MAX; i++)
        fb_mem_cache_spare_put(&sp[i], 4096);
    FBT_CHECK_EQ(spares(name), FB_MEM_SPARE_MAX);
    FBT_CHECK_EQ(entries(), FB_MEM_SPARE_MAX);
    /* One others could open is removed, not used. */
    for (int i = 0; i < FB_MEM_SPARE_MAX; i++) {
        snprintf(path, sizeof(path), "%s/s-%s-%d", spare_dir, name, i);
        FBT_CHECK_EQ(chmod(path, 0644), 0);
    }
    FBT_CHECK(fb_mem_cache_spare_take(img, &a) > 2);
    FBT_CHECK(!a.reused);
    FBT_CHECK_EQ(entries(), 0);
    fb_mem_cache_spare_drop(&a);
    /* Turned off. */
    setenv("FNBOX_MEM_SPARE", "0", 1);
    FBT_CHECK_EQ(fb_mem_cache_spare_take(img, &a), -1);
    FBT_CHECK_EQ(a.fd, -1);
    unsetenv("FNBOX_MEM_SPARE");
    close(img);
}

int main(void)
{
    struct statfs sfs;
    char cmd[300];

    if (!mkdtemp(base))
        return 1;
    snprintf(dir, sizeof(dir), "%s/mem", base);
    snprintf(image, sizeof(image), "%s/a.img", base);
    setenv("FNBOX_MEM_CACHE_DIR", dir, 1);
    unsetenv("FNBOX_MEM_CACHE");
    if (mkdir(dir, 0700) != 0)
        return 1;
    FBT_RUN(test_name_follows_the_file);
    FBT_RUN(test_get_checks_the_entry);
    FBT_RUN(test_off_and_unsafe_dir);
    if (mkdtemp(spare_dir) && statfs(spare_dir, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC)
        FBT_RUN(test_spares);
    else
        FBT_SKIP(test_spares, "no tmpfs at /dev/shm for the spares");
    rmdir(spare_dir); /* (empty when the test passed) */
    snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
    if (system(cmd) != 0)
        fprintf(stderr, "mem_cache_test: cleaning %s up failed\n", base);
    FBT_EXIT();
}
