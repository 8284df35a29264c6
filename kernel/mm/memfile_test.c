/* Unit tests for the memory file's large pages (fb_memfile_init_large, fb_memfile_advise_large):
 * the file on a tmpfs of its own, 2 MiB pages only for the regions a restore mostly wants, the
 * memory of the others page by page, content the same either way; and a file given by the
 * caller (fb_memfile_init_given): cleared of an earlier sandbox's data, or refused. */
#include "fbtest.h"

#include "kernel/mm/memfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define REGION FB_MF_LARGE_PAGES
#define PG     FB_PAGE_SIZE

/* Can this host give a tmpfs 2 MiB pages at all: transparent huge pages built in and not denied
 * to shmem, and the privilege to make a tmpfs. NULL if so, else what is missing. */
static const char *no_large_pages(void)
{
    char line[128] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "r");

    if (!f)
        return "the kernel has no transparent huge pages";
    if (!fgets(line, sizeof(line), f))
        line[0] = 0;
    fclose(f);
    if (strstr(line, "[deny]"))
        return "transparent huge pages are denied to shmem (shmem_enabled is deny)";
    if (geteuid() != 0)
        return "not root: no tmpfs of its own";
    return NULL;
}

/* Pages of memory the file holds. */
static long file_pages(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? (long)(st.st_blocks * 512 / FB_PAGE_SIZE) : -1;
}

static void set_bit(uint64_t *want, uint64_t p)
{
    want[p / 64] |= 1ull << (p % 64);
}

static bool get_bit(const uint64_t *want, uint64_t p)
{
    return (want[p / 64] >> (p % 64)) & 1;
}

/* Three regions' worth of pages (the third cut short by top): 300 wanted in the first, 10 in
 * the second, 80 in the third. Only the first gets a 2 MiB page; every wanted page, written
 * through the Sentry's mapping as a fill does, reads back through the file. */
static void check_regions(struct fb_memfile *mf, bool large)
{
    const uint64_t top = 2 * REGION + 100;
    uint64_t want[(2 * REGION + 100 + 63) / 64 + 1] = {0};
    long wanted = 0;
    uint64_t p;

    for (p = 1; p <= 300; p++)
        set_bit(want, p);
    for (p = REGION + 7; p < REGION + 17; p++)
        set_bit(want, p);
    for (p = 2 * REGION + 10; p < 2 * REGION + 90; p++)
        set_bit(want, p);
    FBT_CHECK_EQ(fb_memfile_advise_large(mf, want, top), large ? 1 : 0);
    for (p = 0; p < top; p++)
        if (get_bit(want, p)) {
            memset(fb_mf_ptr(mf, p << FB_PAGE_SHIFT), (int)(p & 0xff) | 1, FB_PAGE_SIZE);
            wanted++;
        }
    FBT_CHECK_EQ(wanted, 390);
    /* A 2 MiB page is the whole first region; elsewhere only what was written. */
    FBT_CHECK_EQ(file_pages(mf->fd), large ? REGION + 10 + 80 : 390);
    for (p = 0; p < top; p += 37) {
        uint8_t page[FB_PAGE_SIZE], expect = get_bit(want, p) ? (uint8_t)((p & 0xff) | 1) : 0;
        FBT_CHECK_EQ(pread(mf->fd, page, sizeof(page), (off_t)(p << FB_PAGE_SHIFT)),
                     (long)sizeof(page));
        FBT_CHECK_EQ(page[0], expect);
        FBT_CHECK_EQ(page[FB_PAGE_SIZE - 1], expect);
    }
}

static void test_large_regions(void)
{
    struct fb_memfile mf;
    struct fb_error err = {0};

    FBT_CHECK_EQ(fb_memfile_init_large(&mf, 1ull << 32, &err), 0);
    FBT_CHECK(mf.large);
    check_regions(&mf, true);
    fb_memfile_destroy(&mf);
}

/* A memfd (fb_memfile_init, or FNBOX_NO_LARGE_PAGES=1): nothing is asked, page by page. */
static void test_memfd_regions(void)
{
    struct fb_memfile mf;
    struct fb_error err = {0};

    FBT_CHECK_EQ(fb_memfile_init(&mf, 1ull << 32, &err), 0);
    FBT_CHECK(!mf.large);
    check_regions(&mf, false);
    fb_memfile_destroy(&mf);
}

/* Pages freed inside a region held as a 2 MiB page still give their memory back (the page is
 * split), and the pages around them keep their content. */
static void test_large_free(void)
{
    struct fb_memfile mf;
    struct fb_error err = {0};
    uint64_t want[REGION / 64 + 1], off;
    uint8_t b = 0;

    memset(want, 0xff, sizeof(want));
    FBT_CHECK_EQ(fb_memfile_init_large(&mf, 1ull << 32, &err), 0);
    off = fb_mf_alloc(&mf, REGION);
    FBT_CHECK_EQ(off, FB_PAGE_SIZE);
    FBT_CHECK_EQ(fb_memfile_advise_large(&mf, want, mf.top), 1);
    memset(fb_mf_ptr(&mf, off), 0x5a, (REGION - 1) * FB_PAGE_SIZE);
    FBT_CHECK_EQ(file_pages(mf.fd), REGION);
    fb_mf_put(&mf, off + 100 * FB_PAGE_SIZE, 200);
    FBT_CHECK_EQ(file_pages(mf.fd), REGION - 200);
    FBT_CHECK_EQ(pread(mf.fd, &b, 1, (off_t)(off + 99 * FB_PAGE_SIZE)), 1);
    FBT_CHECK_EQ(b, 0x5a);
    FBT_CHECK_EQ(pread(mf.fd, &b, 1, (off_t)(off + 300 * FB_PAGE_SIZE)), 1);
    FBT_CHECK_EQ(b, 0x5a);
    fb_memfile_destroy(&mf);
}

/* A file given by the caller (fb_memfile_init_given), holding another sandbox's data: beyond
 * keep it is punched out at once; below, fb_memfile_clear_stale punches every page that is not
 * a lazy page (a loader fills those whole) and keeps the lazy ones' places. */
static void test_given(void)
{
    struct fb_memfile mf;
    struct fb_error err = {0};
    const uint64_t keep = 64;
    int fd = memfd_create("given", MFD_CLOEXEC);
    uint8_t junk[FB_PAGE_SIZE], b = 1;
    _Atomic uint64_t lazy[1] = {0};

    memset(junk, 0xa5, sizeof(junk));
    FBT_CHECK(fd >= 0);
    for (uint64_t p = 1; p <= 20; p++)
        FBT_CHECK_EQ(pwrite(fd, junk, PG, (off_t)(p * PG)), (ssize_t)PG);
    FBT_CHECK_EQ(pwrite(fd, junk, PG, (off_t)(300 * PG)), (ssize_t)PG);
    FBT_CHECK_EQ(fb_memfile_init_given(&mf, fd, 1ull << 32, keep * FB_PAGE_SIZE, &err), 0);
    FBT_CHECK_EQ(file_pages(mf.fd), 20); /* page 300 gone */
    FBT_CHECK_EQ(mf.stale_top, keep);
    /* Pages 5-9 lazy, as fb_memfile_load_lazy marks them. */
    for (uint64_t p = 5; p <= 9; p++)
        lazy[0] |= 1ull << p;
    mf.lazy = lazy;
    mf.lazy_top = keep;
    atomic_store(&mf.nlazy, 5);
    FBT_CHECK_EQ(fb_memfile_clear_stale(&mf, &err), 0);
    FBT_CHECK_EQ(file_pages(mf.fd), 5);
    FBT_CHECK_EQ(mf.stale_top, 0);
    for (uint64_t p = 1; p <= 20; p++) {
        FBT_CHECK_EQ(pread(mf.fd, &b, 1, (off_t)(p * FB_PAGE_SIZE + 7)), 1);
        FBT_CHECK_EQ(b, p >= 5 && p <= 9 ? 0xa5 : 0);
    }
    mf.lazy = NULL;
    atomic_store(&mf.nlazy, 0);
    fb_memfile_destroy(&mf);
}

/* What fb_memfile_init_given refuses, with the file closed: not tmpfs, read-only, sealed. */
static void test_given_refused(void)
{
    struct fb_memfile mf;
    struct fb_error err = {0};
    char path[64];
    int pipes[2], fd, ro;

    FBT_CHECK_EQ(pipe(pipes), 0);
    FBT_CHECK_EQ(fb_memfile_init_given(&mf, pipes[0], 1ull << 32, 0, &err), -1);
    FBT_CHECK(strstr(err.msg, "not a tmpfs file") != NULL);
    FBT_CHECK(fcntl(pipes[0], F_GETFD) < 0); /* taken */
    close(pipes[1]);
    fd = memfd_create("ro", MFD_CLOEXEC);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ro = open(path, O_RDONLY | O_CLOEXEC);
    FBT_CHECK(ro >= 0);
    FBT_CHECK_EQ(fb_memfile_init_given(&mf, ro, 1ull << 32, 0, &err), -1);
    FBT_CHECK(strstr(err.msg, "not open for reading and writing") != NULL);
    close(fd);
    fd = memfd_create("sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    FBT_CHECK_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW), 0);
    FBT_CHECK_EQ(fb_memfile_init_given(&mf, fd, 1ull << 32, 0, &err), -1);
    FBT_CHECK(strstr(err.msg, "sealed against change") != NULL);
}

int main(void)
{
    const char *why = no_large_pages();

    if (why) {
        FBT_SKIP(test_large_regions, why);
        FBT_SKIP(test_large_free, why);
    } else {
        FBT_RUN(test_large_regions);
        FBT_RUN(test_large_free);
    }
    FBT_RUN(test_memfd_regions);
    FBT_RUN(test_given);
    FBT_RUN(test_given_refused);
    FBT_EXIT();
}
