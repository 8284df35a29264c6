/* Unit tests for the memory file's large pages (fb_memfile_init_large, fb_memfile_advise_large):
 * the file on a tmpfs of its own, 2 MiB pages only for the regions a restore mostly wants, the
 * memory of the others page by page, content the same either way. */
#include "fbtest.h"

#include "kernel/mm/memfile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REGION FB_MF_LARGE_PAGES

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
    FBT_EXIT();
}
