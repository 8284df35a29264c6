/* Unit tests for memory save/restore: an address space with anonymous, copy-on-write shared
 * and zero pages goes through an image into a fresh memory file and comes back identical. */
#include "fbtest.h"

#include <fcntl.h>
#include "kernel/mm/mm_save.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct fb_pctx *fb_mm_current_ctx(void)
{
    return NULL;
}

static uint64_t no_id(struct fb_mappable *m, void *arg)
{
    (void)m;
    (void)arg;
    return 0;
}

static struct fb_mappable *no_map(uint64_t id, void *arg)
{
    (void)id;
    (void)arg;
    return NULL;
}

static void test_mm_round_trip(void)
{
    struct fb_memfile mf1, mf2;
    struct fb_error err = {0};
    struct fb_mm *mm, *child, *back;
    struct fb_image_writer *w;
    struct fb_image_reader *r;
    struct fb_sw sw;
    struct fb_sr_doc doc;
    struct fb_sr sr;
    char path[] = "/tmp/fnbox-mmsave-XXXXXX", buf[32];
    void *state;
    size_t len;
    bool bad = false;
    int64_t a;
    int fd = mkstemp(path);

    close(fd);
    FBT_CHECK_EQ(fb_memfile_init(&mf1, 1ull << 32, &err), 0);
    FBT_CHECK_EQ(fb_memfile_init(&mf2, 1ull << 32, &err), 0);
    mm = fb_mm_new(&mf1, NULL);
    a = fb_mm_mmap(mm, 0, 64 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, NULL,
                   0, 7, "[anon]");
    FBT_CHECK(a > 0);
    FBT_CHECK_EQ(fb_mm_copy_out(mm, (uint64_t)a + 5, "saved bytes", 12), 0);
    FBT_CHECK_EQ(fb_mm_zero_out(mm, (uint64_t)a + 40 * 4096, 10), 0); /* a zero page */
    child = fb_mm_fork(mm); /* shares pages: reference counts above one */
    FBT_CHECK(child != NULL);
    fb_mm_put(child);
    mm->brk_start = mm->brk = 0x600000;

    FBT_CHECK_EQ(fb_image_writer_open(path, &w, &err), 0);
    FBT_CHECK_EQ(fb_memfile_save(&mf1, w, &err), 0);
    fb_sw_init(&sw);
    fb_mm_save(mm, &sw, no_id, NULL);
    FBT_CHECK_EQ(fb_image_add_raw(w, "kernel", sw.buf.data, sw.buf.size, &err), 0);
    fb_sw_free(&sw);
    FBT_CHECK_EQ(fb_image_writer_commit(w, &err), 0);

    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    FBT_CHECK_EQ(fb_memfile_load(&mf2, r, &err), 0);
    FBT_CHECK_EQ(mf2.used_pages, mf1.used_pages);
    FBT_CHECK_EQ(fb_image_read_raw(r, "kernel", &state, &len, &err), 0);
    FBT_CHECK_EQ(fb_sr_parse(&doc, state, len), 0);
    {
        struct fb_sr top = {&doc.up.data, 0, 1, &bad};
        back = fb_mm_load(&top, &mf2, NULL, no_map, NULL);
    }
    (void)sr;
    FBT_CHECK(back != NULL && !bad);
    FBT_CHECK_EQ(back->vmas.n, mm->vmas.n);
    FBT_CHECK_EQ(back->brk, 0x600000);
    FBT_CHECK_EQ(fb_mm_copy_in(back, (uint64_t)a + 5, buf, 12), 0);
    FBT_CHECK_STR(buf, "saved bytes");
    FBT_CHECK_EQ(fb_mm_copy_in(back, (uint64_t)a + 40 * 4096, buf, 10), 0);
    FBT_CHECK_EQ(buf[0], 0);
    /* Writing the restored copy does not touch the original. */
    FBT_CHECK_EQ(fb_mm_copy_out(back, (uint64_t)a + 5, "X", 1), 0);
    FBT_CHECK_EQ(fb_mm_copy_in(mm, (uint64_t)a + 5, buf, 1), 0);
    FBT_CHECK_EQ(buf[0], 's');
    fb_mm_put(back);
    fb_mm_put(mm);
    FBT_CHECK_EQ(mf2.used_pages, 0); /* every restored reference was released exactly once */
    fb_sr_doc_free(&doc);
    free(state);
    fb_image_close(r);
    unlink(path);
    fb_memfile_destroy(&mf1);
    fb_memfile_destroy(&mf2);
}

/* Save mf to an image at path; load an image at path into mf, lazily or not. */
static void save_to(struct fb_memfile *mf, const char *path)
{
    struct fb_image_writer *w;
    struct fb_error err = {0};
    FBT_CHECK_EQ(fb_image_writer_open(path, &w, &err), 0);
    FBT_CHECK_EQ(fb_memfile_save(mf, w, &err), 0);
    FBT_CHECK_EQ(fb_image_writer_commit(w, &err), 0);
}

static void load_from(struct fb_memfile *mf, const char *path, bool lazy)
{
    struct fb_image_reader *r;
    struct fb_error err = {0};
    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    FBT_CHECK_EQ(lazy ? fb_memfile_load_lazy(mf, r, false, 0, &err) : fb_memfile_load(mf, r, &err), 0);
    fb_image_close(r);
}

/* A fresh memory file with the image at path loaded lazily. */
static void fresh_lazy(struct fb_memfile *mf, const char *path)
{
    struct fb_error err = {0};
    FBT_CHECK_EQ(fb_memfile_init(mf, 1ull << 32, &err), 0);
    load_from(mf, path, true);
}

/* Pages 1..n that are still lazy or hold their number (as test_lazy_load writes them). */
static int right_or_lazy(struct fb_memfile *mf, uint64_t n)
{
    int good = 0;
    for (uint64_t p = 1; p <= n; p++)
        good += fb_mf_is_lazy(mf, p * 4096) || ((uint64_t *)fb_mf_ptr(mf, p * 4096))[9] == p;
    return good;
}

/* A lazy load: nothing decompressed until wanted; the wanted pages (and gaps of up to two
 * between them) filled up front, the others on first need, a freed page never filled (its
 * offset may hold new data), a save fills everything first. */
static void test_lazy_load(void)
{
    struct fb_memfile mf1, mf2, mf3, mf4;
    struct fb_error err = {0};
    char path[] = "/tmp/fnbox-mmsave-XXXXXX", path2[] = "/tmp/fnbox-mmsave-XXXXXX";
    uint64_t off, want[8] = {0}, p;
    int fd = mkstemp(path), fd2 = mkstemp(path2), good;

    close(fd);
    close(fd2);
    FBT_CHECK_EQ(fb_memfile_init(&mf1, 1ull << 32, &err), 0);
    FBT_CHECK_EQ(fb_memfile_init(&mf2, 1ull << 32, &err), 0);
    FBT_CHECK_EQ(fb_memfile_init(&mf3, 1ull << 32, &err), 0);
    off = fb_mf_alloc(&mf1, 200); /* pages 1..200, page k holds k in every word */
    FBT_CHECK_EQ(off, 4096);
    for (p = 1; p <= 200; p++)
        for (int k = 0; k < 512; k++)
            ((uint64_t *)fb_mf_ptr(&mf1, p * 4096))[k] = p;
    save_to(&mf1, path);
    load_from(&mf2, path, true);
    FBT_CHECK_EQ(mf2.nlazy, 200);
    FBT_CHECK_EQ(mf2.used_pages, 200);
    /* Wanted: 10, 12 (11 is a gap of one: filled too), 100. */
    want[0] = 1ull << 10 | 1ull << 12;
    want[1] = 1ull << (100 - 64);
    FBT_CHECK_EQ(fb_memfile_fill_wanted(&mf2, want, false, &err), 0);
    FBT_CHECK_EQ(mf2.nlazy, 196);
    for (p = 10; p <= 12; p++) {
        FBT_CHECK(!fb_mf_is_lazy(&mf2, p * 4096));
        FBT_CHECK_EQ(((uint64_t *)fb_mf_ptr(&mf2, p * 4096))[77], p);
    }
    FBT_CHECK(fb_mf_is_lazy(&mf2, 13 * 4096));
    FBT_CHECK(fb_mf_is_lazy(&mf2, 150 * 4096));
    /* Frugal (pwrite, one thread): the same pages, the same content, seen through the mapping. */
    FBT_CHECK_EQ(fb_memfile_init(&mf4, 1ull << 32, &err), 0);
    load_from(&mf4, path, true);
    FBT_CHECK_EQ(fb_memfile_fill_wanted(&mf4, want, true, &err), 0);
    FBT_CHECK_EQ(mf4.nlazy, 196);
    for (p = 1, good = 0; p <= 200; p++)
        good += fb_mf_is_lazy(&mf4, p * 4096) == fb_mf_is_lazy(&mf2, p * 4096);
    FBT_CHECK_EQ(good, 200);
    for (p = 10; p <= 12; p++)
        FBT_CHECK_EQ(((uint64_t *)fb_mf_ptr(&mf4, p * 4096))[511], p);
    FBT_CHECK_EQ(((uint64_t *)fb_mf_ptr(&mf4, 100 * 4096))[0], 100);
    fb_memfile_destroy(&mf4);
    /* In two halves: while it runs, the pages it brings count as coming (a restore maps them
     * meanwhile), the others do not; a need of a lazy page finishes it first; then the same
     * pages are in as with the one-call fill. */
    fresh_lazy(&mf4, path);
    FBT_CHECK_EQ(fb_memfile_fill_start(&mf4, want, 0, &err), 0);
    FBT_CHECK(mf4.fill != NULL);
    FBT_CHECK(fb_mf_fill_wants(&mf4, 10 * 4096) && fb_mf_fill_wants(&mf4, 11 * 4096));
    FBT_CHECK(fb_mf_fill_wants(&mf4, 100 * 4096));
    FBT_CHECK(!fb_mf_fill_wants(&mf4, 13 * 4096) && !fb_mf_fill_wants(&mf4, 150 * 4096));
    fb_mf_need(&mf4, 150 * 4096, 8); /* finishes the fill, then reads page 150 */
    FBT_CHECK(mf4.fill == NULL);
    FBT_CHECK(!fb_mf_fill_wants(&mf4, 10 * 4096));
    FBT_CHECK_EQ(mf4.nlazy, 195);
    FBT_CHECK_EQ(((uint64_t *)fb_mf_ptr(&mf4, 11 * 4096))[3], 11);
    FBT_CHECK_EQ(((uint64_t *)fb_mf_ptr(&mf4, 150 * 4096))[3], 150);
    FBT_CHECK_EQ(fb_memfile_fill_finish(&mf4, false, &err), 0); /* nothing left: a no-op */
    fb_memfile_destroy(&mf4);
    fresh_lazy(&mf4, path);
    FBT_CHECK_EQ(fb_memfile_fill_start(&mf4, want, 0, &err), 0);
    FBT_CHECK_EQ(fb_memfile_fill_finish(&mf4, false, &err), 0);
    FBT_CHECK(mf4.fill == NULL);
    FBT_CHECK_EQ(mf4.nlazy, 196);
    FBT_CHECK_EQ(((uint64_t *)fb_mf_ptr(&mf4, 100 * 4096))[511], 100);
    fb_memfile_destroy(&mf4);
    /* Started before the set is known (hot pages first): nothing counts as coming until it is
     * narrowed; a need meanwhile reads for itself without ending the fill; at the end every
     * wanted page is in, every page in has its content, and at most what the helper read in
     * order before the narrowing is in beyond them. */
    fresh_lazy(&mf4, path);
    FBT_CHECK_EQ(fb_memfile_fill_start(&mf4, NULL, 200, &err), 0);
    FBT_CHECK(!fb_mf_fill_wants(&mf4, 10 * 4096));
    fb_mf_need(&mf4, 180 * 4096, 8);
    FBT_CHECK(mf4.fill != NULL);
    FBT_CHECK_EQ(((uint64_t *)fb_mf_ptr(&mf4, 180 * 4096))[7], 180);
    fb_memfile_fill_narrow(&mf4, want);
    FBT_CHECK(fb_mf_fill_wants(&mf4, 100 * 4096) && !fb_mf_fill_wants(&mf4, 150 * 4096));
    FBT_CHECK_EQ(fb_memfile_fill_finish(&mf4, false, &err), 0);
    for (p = 10; p <= 12; p++)
        FBT_CHECK(!fb_mf_is_lazy(&mf4, p * 4096));
    FBT_CHECK(!fb_mf_is_lazy(&mf4, 100 * 4096) && !fb_mf_is_lazy(&mf4, 180 * 4096));
    FBT_CHECK(mf4.nlazy <= 195);
    FBT_CHECK_EQ(right_or_lazy(&mf4, 200), 200);
    fb_memfile_destroy(&mf4);
    /* Its budget: before the narrowing, no chunk starting beyond the first early_pages. */
    fresh_lazy(&mf4, path);
    FBT_CHECK_EQ(fb_memfile_fill_start(&mf4, NULL, 20, &err), 0);
    usleep(100 * 1000); /* the helper has long read what it may */
    for (p = 21 + FB_IMAGE_CHUNK_PAGES, good = 0; p <= 200; p++)
        good += fb_mf_is_lazy(&mf4, p * 4096);
    FBT_CHECK_EQ(good, 200 - (20 + FB_IMAGE_CHUNK_PAGES));
    fb_memfile_fill_narrow(&mf4, want);
    FBT_CHECK_EQ(fb_memfile_fill_finish(&mf4, false, &err), 0);
    FBT_CHECK(!fb_mf_is_lazy(&mf4, 100 * 4096) && fb_mf_is_lazy(&mf4, 150 * 4096));
    FBT_CHECK_EQ(((uint64_t *)fb_mf_ptr(&mf4, 100 * 4096))[1], 100);
    fb_memfile_destroy(&mf4);
    /* Cancelled (an error on the way): no chunk taken after, the rest stays lazy, content of
     * what was read is right. */
    fresh_lazy(&mf4, path);
    FBT_CHECK_EQ(fb_memfile_fill_start(&mf4, NULL, 200, &err), 0);
    FBT_CHECK_EQ(fb_memfile_fill_finish(&mf4, true, &err), 0);
    FBT_CHECK(mf4.fill == NULL);
    FBT_CHECK_EQ(right_or_lazy(&mf4, 200), 200);
    fb_memfile_destroy(&mf4);
    /* On need: exactly the range asked for, and counted. */
    mf2.needed = 0;
    fb_mf_need(&mf2, 150 * 4096 + 100, 10);
    FBT_CHECK(!fb_mf_is_lazy(&mf2, 150 * 4096));
    FBT_CHECK(fb_mf_is_lazy(&mf2, 151 * 4096));
    FBT_CHECK_EQ(mf2.needed, 1);
    fb_mf_need(&mf2, 150 * 4096, 4096); /* in already: nothing more */
    FBT_CHECK_EQ(mf2.needed, 1);
    FBT_CHECK_EQ(((uint64_t *)fb_mf_ptr(&mf2, 150 * 4096))[511], 150);
    /* A freed lazy page is forgotten: reused, it keeps what its new owner writes. */
    fb_mf_put(&mf2, 160 * 4096, 1);
    FBT_CHECK(!fb_mf_is_lazy(&mf2, 160 * 4096));
    FBT_CHECK_EQ(mf2.nlazy, 194);
    FBT_CHECK_EQ(fb_mf_alloc(&mf2, 1), 160 * 4096);
    ((uint64_t *)fb_mf_ptr(&mf2, 160 * 4096))[0] = 4242;
    fb_mf_need(&mf2, 4096, 200 * 4096);
    FBT_CHECK_EQ(mf2.nlazy, 0);
    FBT_CHECK_EQ(mf2.needed, 1 + 194); /* the freed page is not read */
    FBT_CHECK_EQ(((uint64_t *)fb_mf_ptr(&mf2, 160 * 4096))[0], 4242);
    for (p = 1, good = 0; p <= 200; p++)
        good += p == 160 || ((uint64_t *)fb_mf_ptr(&mf2, p * 4096))[300] == p;
    FBT_CHECK_EQ(good, 200);
    /* A save of a lazily restored file holds every page. */
    fb_memfile_destroy(&mf2);
    FBT_CHECK_EQ(fb_memfile_init(&mf2, 1ull << 32, &err), 0);
    load_from(&mf2, path, true);
    save_to(&mf2, path2);
    load_from(&mf3, path2, false);
    for (p = 1, good = 0; p <= 200; p++)
        good += ((uint64_t *)fb_mf_ptr(&mf3, p * 4096))[5] == p;
    FBT_CHECK_EQ(good, 200);
    unlink(path);
    unlink(path2);
    fb_memfile_destroy(&mf1);
    fb_memfile_destroy(&mf2);
    fb_memfile_destroy(&mf3);
}

/* The memory decompressed once (a warm pool's): the file holds the chunks starting within the
 * working set's size, then the others up to its bound, sealed; a restore given it copies those
 * pages from it, for the working set and on a later need alike (a file saying otherwise shows
 * it is the one read), and the rest from the image; an unsealed one is refused; an image
 * without its hot pages first gets none. */
/* Flip a byte of the last memory chunk of the image at path (its checksums left as they were). */
static void damage_last_chunk(const char *path)
{
    struct fb_image_reader *r;
    struct fb_error err = {0};
    uint64_t off;
    uint8_t b;
    int fd;

    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    off = fb_image_section(r, "memory")->offset + fb_image_section(r, "memory")->length - 100;
    fb_image_close(r);
    fd = open(path, O_RDWR);
    FBT_CHECK(fd >= 0);
    FBT_CHECK_EQ(pread(fd, &b, 1, (off_t)off), 1);
    b ^= 0x5a;
    FBT_CHECK_EQ(pwrite(fd, &b, 1, (off_t)off), 1);
    close(fd);
}

/* Save mf to an image at path with a working set of n pages of one address space (pages
 * 0x400...) and a page map, as a template's checkpoint leaves it: its hot pages come first. */
static void save_with_ws(struct fb_memfile *mf, const char *path, uint32_t n)
{
    struct fb_image_writer *w;
    struct fb_error err = {0};
    uint64_t ws[1 + 64];
    uint32_t hdr[2] = {1, n};

    FBT_CHECK(n <= 64);
    memcpy(ws, hdr, sizeof(hdr));
    for (uint64_t p = 0; p < n; p++)
        ws[1 + p] = 0x400 + p;
    FBT_CHECK_EQ(fb_image_writer_open(path, &w, &err), 0);
    FBT_CHECK_EQ(fb_memfile_save(mf, w, &err), 0);
    FBT_CHECK_EQ(fb_image_add_raw(w, "pagemap", ws, 8, &err), 0);
    FBT_CHECK_EQ(fb_image_add_raw(w, "workingset", ws, (1 + n) * sizeof(uint64_t), &err), 0);
    FBT_CHECK_EQ(fb_image_writer_commit(w, &err), 0);
}

static void test_hot_file(void)
{
    struct fb_memfile mf1, mf2;
    struct fb_error err = {0};
    char path[] = "/tmp/fnbox-mmsave-XXXXXX", plain[] = "/tmp/fnbox-mmsave-XXXXXX";
    uint64_t pages, want[8] = {0}, page[512], p;
    int fd = mkstemp(path), fd2 = mkstemp(plain), hot, fake, good;

    close(fd);
    close(fd2);
    FBT_CHECK_EQ(fb_memfile_init(&mf1, 1ull << 32, &err), 0);
    FBT_CHECK_EQ(fb_mf_alloc(&mf1, 200), 4096);
    for (p = 1; p <= 200; p++)
        for (int k = 0; k < 512; k++)
            ((uint64_t *)fb_mf_ptr(&mf1, p * 4096))[k] = p;
    save_to(&mf1, plain); /* no working set: nothing to share */
    FBT_CHECK_EQ(fb_memfile_hot_make(plain, 1000, &hot, &pages, &err), 0);
    FBT_CHECK_EQ(hot, -1);
    /* A working set of 40 pages (one address space) and a page map: chunks of 16 pages from
     * page 1, so those starting at 1, 17 and 33 are hot: pages 1..48. */
    save_with_ws(&mf1, path, 40);
    /* Bounded at 40 pages: the hot chunks still, nothing after them. */
    FBT_CHECK_EQ(fb_memfile_hot_make(path, 40, &hot, &pages, &err), 0);
    FBT_CHECK(hot >= 0);
    FBT_CHECK_EQ(pages, 1 + 3 * FB_IMAGE_WRITE_CHUNK_PAGES);
    close(hot);
    /* Bounded at 150 pages: the chunks ending by then too (1 + 9 chunks of 16). */
    FBT_CHECK_EQ(fb_memfile_hot_make(path, 150, &hot, &pages, &err), 0);
    FBT_CHECK(hot >= 0);
    FBT_CHECK_EQ(pages, 1 + 9 * FB_IMAGE_WRITE_CHUNK_PAGES);
    FBT_CHECK_EQ(pread(hot, page, sizeof(page), 140 * 4096), (ssize_t)sizeof(page));
    FBT_CHECK_EQ(page[100], 140);
    FBT_CHECK_EQ(pread(hot, page, sizeof(page), 10 * 4096), (ssize_t)sizeof(page));
    FBT_CHECK_EQ(page[100], 10);
    FBT_CHECK(pwrite(hot, page, 8, 0) < 0); /* sealed */
    /* The file is what the restore reads below it: a copy whose page 10 says 999. */
    fake = memfd_create("fake-hot", MFD_ALLOW_SEALING);
    FBT_CHECK_EQ(ftruncate(fake, (off_t)pages * 4096), 0);
    for (p = 1; p < pages; p++) {
        for (int k = 0; k < 512; k++)
            page[k] = p == 10 || p == 140 ? 999 : p;
        FBT_CHECK_EQ(pwrite(fake, page, sizeof(page), (off_t)p * 4096), (ssize_t)sizeof(page));
    }
    want[0] = 1ull << 10 | 1ull << 12;
    want[1] = 1ull << (100 - 64);
    fresh_lazy(&mf2, path);
    FBT_CHECK(fb_memfile_use_hot(&mf2, dup(fake), &err) < 0); /* not sealed yet */
    FBT_CHECK_EQ(fcntl(fake, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE),
                 0);
    FBT_CHECK_EQ(fb_memfile_use_hot(&mf2, dup(fake), &err), 0);
    FBT_CHECK_EQ(fb_memfile_fill_wanted(&mf2, want, true, &err), 0); /* frugal */
    FBT_CHECK_EQ(mf2.nlazy, 196);
    FBT_CHECK_EQ(((uint64_t *)fb_mf_ptr(&mf2, 10 * 4096))[5], 999);
    FBT_CHECK_EQ(((uint64_t *)fb_mf_ptr(&mf2, 12 * 4096))[5], 12);
    FBT_CHECK_EQ(((uint64_t *)fb_mf_ptr(&mf2, 100 * 4096))[5], 100);
    /* Needed later (a fault outside the working set): from the file below its end, from the
     * image above it. */
    FBT_CHECK(fb_mf_is_lazy(&mf2, 140 * 4096) && fb_mf_is_lazy(&mf2, 190 * 4096));
    fb_mf_need(&mf2, 140 * 4096, 4096);
    fb_mf_need(&mf2, 190 * 4096, 4096);
    FBT_CHECK_EQ(((uint64_t *)fb_mf_ptr(&mf2, 140 * 4096))[5], 999);
    FBT_CHECK_EQ(((uint64_t *)fb_mf_ptr(&mf2, 190 * 4096))[5], 190);
    FBT_CHECK(fb_mf_is_lazy(&mf2, 141 * 4096)); /* exactly the page asked for */
    fb_memfile_destroy(&mf2);
    fresh_lazy(&mf2, path); /* the same into the mapping (two threads) */
    FBT_CHECK_EQ(fb_memfile_use_hot(&mf2, dup(fake), &err), 0);
    FBT_CHECK_EQ(fb_memfile_fill_start(&mf2, want, 0, &err), 0);
    FBT_CHECK_EQ(fb_memfile_fill_finish(&mf2, false, &err), 0);
    FBT_CHECK_EQ(((uint64_t *)fb_mf_ptr(&mf2, 10 * 4096))[7], 999);
    FBT_CHECK_EQ(((uint64_t *)fb_mf_ptr(&mf2, 11 * 4096))[7], 11);
    FBT_CHECK_EQ(((uint64_t *)fb_mf_ptr(&mf2, 100 * 4096))[7], 100);
    fb_memfile_destroy(&mf2);
    /* The real one, both ways of filling (two threads into the mapping; early, in order):
     * every page right. */
    fresh_lazy(&mf2, path);
    FBT_CHECK_EQ(fb_memfile_use_hot(&mf2, dup(hot), &err), 0);
    FBT_CHECK_EQ(fb_memfile_fill_start(&mf2, NULL, 40, &err), 0);
    fb_memfile_fill_narrow(&mf2, want);
    FBT_CHECK_EQ(fb_memfile_fill_finish(&mf2, false, &err), 0);
    FBT_CHECK(!fb_mf_is_lazy(&mf2, 100 * 4096) && !fb_mf_is_lazy(&mf2, 11 * 4096));
    fb_mf_need(&mf2, 4096, 200 * 4096);
    for (p = 1, good = 0; p <= 200; p++)
        good += ((uint64_t *)fb_mf_ptr(&mf2, p * 4096))[511] == p;
    FBT_CHECK_EQ(good, 200);
    fb_memfile_destroy(&mf2);
    close(fake);
    close(hot);
    unlink(path);
    unlink(plain);
    fb_memfile_destroy(&mf1);
}

/* A hot pages' file with every chunk in it is as long as the memory file (its last, zero pages
 * holes), and a lazy load given it looks at no chunk of the image: one whose memory section is
 * damaged loads, and every page (zero ones too) comes from the file. Without it, the same image
 * is refused. */
static void test_hot_file_whole(void)
{
    struct fb_memfile mf1, mf2;
    struct fb_error err = {0};
    struct fb_image_reader *r;
    char path[] = "/tmp/fnbox-mmsave-XXXXXX";
    uint64_t pages, p, want[1] = {~0ull};
    struct stat st;
    int fd = mkstemp(path), hot, good;

    close(fd);
    FBT_CHECK_EQ(fb_memfile_init(&mf1, 1ull << 32, &err), 0);
    FBT_CHECK_EQ(fb_mf_alloc(&mf1, 60), 4096); /* pages 1..60; 51..60 stay zero */
    for (p = 1; p <= 50; p++)
        for (int k = 0; k < 512; k++)
            ((uint64_t *)fb_mf_ptr(&mf1, p * 4096))[k] = p;
    save_with_ws(&mf1, path, 40);
    FBT_CHECK_EQ(fb_memfile_hot_make(path, 1000, &hot, &pages, &err), 0);
    FBT_CHECK(hot >= 0);
    FBT_CHECK_EQ(pages, 61); /* the memory file's top, past the zero pages */
    FBT_CHECK_EQ(fstat(hot, &st), 0);
    FBT_CHECK_EQ(st.st_size, 61 * 4096);
    /* Bounded below the zero pages: not all of it, as long as its stored pages only. */
    {
        int part;
        uint64_t n;
        FBT_CHECK_EQ(fb_memfile_hot_make(path, 55, &part, &n, &err), 0);
        FBT_CHECK_EQ(n, 51);
        close(part);
    }
    /* The memory section damaged (a byte of its last chunk), checksums left as they were. */
    damage_last_chunk(path);
    FBT_CHECK_EQ(fb_memfile_init(&mf2, 1ull << 32, &err), 0);
    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    FBT_CHECK_EQ(fb_memfile_load_lazy(&mf2, r, false, 0, &err), -1); /* without: refused */
    fb_image_close(r);
    fb_memfile_destroy(&mf2);
    FBT_CHECK_EQ(fb_memfile_init(&mf2, 1ull << 32, &err), 0);
    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    FBT_CHECK_EQ(fb_memfile_load_lazy(&mf2, r, false, pages, &err), 0);
    fb_image_close(r);
    FBT_CHECK_EQ(mf2.nlazy, 60); /* every page in use, the zero ones too */
    FBT_CHECK_EQ(fb_memfile_use_hot(&mf2, hot, &err), 0);
    FBT_CHECK_EQ(fb_memfile_fill_wanted(&mf2, want, true, &err), 0); /* pages 0..63 */
    FBT_CHECK_EQ(mf2.nlazy, 0);
    for (p = 1, good = 0; p <= 60; p++)
        good += ((uint64_t *)fb_mf_ptr(&mf2, p * 4096))[300] == (p <= 50 ? p : 0);
    FBT_CHECK_EQ(good, 60);
    fb_memfile_destroy(&mf2);
    unlink(path);
    fb_memfile_destroy(&mf1);
}

/* The memory section's checksum checked later, by the early reader first: a good image reads
 * as before; in one with a flipped page byte the check fails, for the reader and for whoever
 * asks after, and no page is read from it. */
static void lazy_verified(const char *path, int *ok, uint64_t *nlazy, char *msg, size_t msglen)
{
    struct fb_memfile mf;
    struct fb_image_reader *r;
    struct fb_error err = {0}, e2 = {0};

    FBT_CHECK_EQ(fb_memfile_init(&mf, 1ull << 32, &err), 0);
    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    FBT_CHECK_EQ(fb_memfile_load_lazy(&mf, r, true, 0, &err), 0); /* headers only */
    fb_memfile_verify_later(&mf, fb_image_section(r, "memory"));
    fb_image_close(r);
    FBT_CHECK_EQ(fb_memfile_fill_start(&mf, NULL, 200, &err), 0);
    *ok = fb_memfile_fill_finish(&mf, false, &err) == 0;
    *ok = *ok && fb_memfile_verify(&mf, &e2) == 0; /* the same verdict again */
    *nlazy = mf.nlazy;
    snprintf(msg, msglen, "%s|%s", err.msg, e2.msg);
    fb_memfile_destroy(&mf);
}

static void test_verify_later(void)
{
    struct fb_memfile mf1;
    struct fb_error err = {0};
    char path[] = "/tmp/fnbox-mmsave-XXXXXX", msg[1100];
    uint64_t nlazy, p;
    int fd = mkstemp(path), ok;

    close(fd);
    FBT_CHECK_EQ(fb_memfile_init(&mf1, 1ull << 32, &err), 0);
    FBT_CHECK_EQ(fb_mf_alloc(&mf1, 100), 4096);
    for (p = 1; p <= 100; p++)
        for (int k = 0; k < 512; k++)
            ((uint64_t *)fb_mf_ptr(&mf1, p * 4096))[k] = p * 0x9e3779b97f4a7c15ull + (uint64_t)k;
    save_to(&mf1, path);
    lazy_verified(path, &ok, &nlazy, msg, sizeof(msg));
    FBT_CHECK(ok);
    FBT_CHECK_EQ(nlazy, 0);
    /* A byte of the last chunk's pages flipped: the first chunks' own checksums still hold. */
    damage_last_chunk(path);
    lazy_verified(path, &ok, &nlazy, msg, sizeof(msg));
    FBT_CHECK(!ok);
    FBT_CHECK_EQ(nlazy, 100); /* nothing read */
    FBT_CHECK(strstr(msg, "checksum mismatch") != NULL);
    unlink(path);
    fb_memfile_destroy(&mf1);
}

/* A memory file with more pages in use than the restoring sandbox's limit is refused before
 * any reference count is set, saying both sizes; at the limit it loads. */
static void test_load_over_limit(void)
{
    struct fb_memfile mf1, mf2;
    struct fb_error err = {0};
    char path[] = "/tmp/fnbox-mmsave-XXXXXX";
    struct fb_image_reader *r;
    int fd = mkstemp(path);

    close(fd);
    FBT_CHECK_EQ(fb_memfile_init(&mf1, 1ull << 32, &err), 0);
    FBT_CHECK_EQ(fb_mf_alloc(&mf1, 512), 4096); /* 2 MiB in use */
    for (uint64_t p = 1; p <= 512; p++)
        memset(fb_mf_ptr(&mf1, p * 4096), (int)p, 4096);
    save_to(&mf1, path);
    for (int pass = 0; pass < 2; pass++) {
        FBT_CHECK_EQ(fb_memfile_init(&mf2, 1ull << 32, &err), 0);
        mf2.limit_pages = pass == 0 ? 511 : 512;
        FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
        memset(&err, 0, sizeof(err));
        FBT_CHECK_EQ(fb_memfile_load_lazy(&mf2, r, false, 0, &err), pass == 0 ? -1 : 0);
        if (pass == 0) {
            FBT_CHECK(strstr(err.msg, "memory limit") != NULL);
            FBT_CHECK_EQ(mf2.refs[1], 0); /* nothing set */
        } else {
            FBT_CHECK_EQ(mf2.used_pages, 512);
        }
        fb_image_close(r);
        fb_memfile_destroy(&mf2);
    }
    unlink(path);
    fb_memfile_destroy(&mf1);
}

/* Renumbering: the order puts the hot pages first; after the rewrite page k's content and
 * reference count are at its new number, and a restore translates saved numbers (an unknown
 * one to UINT64_MAX); a hostile page map is refused. */
static void test_renumber(void)
{
    struct fb_memfile mf1, mf2;
    struct fb_error err = {0};
    char path[] = "/tmp/fnbox-mmsave-XXXXXX";
    uint64_t hot[] = {5, 17, 30}, *order = NULL, p;
    size_t n = 0;
    int fd = mkstemp(path), good = 0;
    struct fb_image_reader *r;

    FBT_CHECK_EQ(fb_memfile_init(&mf1, 1ull << 32, &err), 0);
    FBT_CHECK_EQ(fb_memfile_init(&mf2, 1ull << 32, &err), 0);
    FBT_CHECK_EQ(fb_mf_alloc(&mf1, 40), 4096); /* pages 1..40, page k holds k */
    for (p = 1; p <= 40; p++)
        ((uint64_t *)fb_mf_ptr(&mf1, p * 4096))[9] = p;
    fb_mf_get(&mf1, 17 * 4096, 1); /* two references */
    close(fd);
    save_to(&mf1, path);
    fd = open(path, O_RDWR | O_CLOEXEC);
    FBT_CHECK_EQ(fb_memfile_renumber_order(fd, hot, 3, &order, &n, &err), 0);
    FBT_CHECK_EQ(n, 40);
    FBT_CHECK(n == 40 && order[0] == 5 && order[1] == 17 && order[2] == 30 && order[3] == 1 &&
              order[39] == 40);
    {
        struct fb_image_rewrite rw = {.order = order, .norder = n,
                                      .raw = fb_memfile_renumber_raw, .add_name = "pagemap",
                                      .add_data = order, .add_len = n * 8};
        rw.raw_arg = &rw;
        FBT_CHECK_EQ(fb_image_rewrite(fd, &rw, &err), 0);
    }
    close(fd);
    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    FBT_CHECK_EQ(fb_memfile_load(&mf2, r, &err), 0);
    FBT_CHECK_EQ(fb_memfile_remap_load(&mf2, r, &err), 0);
    fb_image_close(r);
    for (p = 1; p <= 40; p++) {
        uint64_t now = fb_mf_saved_off(&mf2, p * 4096);
        good += now < (41 << 12) && ((uint64_t *)fb_mf_ptr(&mf2, now))[9] == p &&
                fb_mf_refs(&mf2, now) == (p == 17 ? 2u : 1u);
    }
    FBT_CHECK_EQ(good, 40);
    FBT_CHECK_EQ(fb_mf_saved_off(&mf2, 5 * 4096), 1 * 4096);  /* hot: first */
    FBT_CHECK_EQ(fb_mf_saved_off(&mf2, 30 * 4096 + 3), 3 * 4096 + 3); /* flags kept */
    FBT_CHECK_EQ(fb_mf_saved_off(&mf2, 41 * 4096), UINT64_MAX);
    fb_memfile_remap_end(&mf2);
    FBT_CHECK_EQ(fb_mf_saved_off(&mf2, 41 * 4096), 41 * 4096);
    free(order);
    /* The hot list's own order is kept (fb_mm_ws_write gives address order); a page listed
     * twice counts once and one the table does not name is skipped. */
    {
        uint64_t addr_order[] = {30, 5, 99, 30, 17};
        fd = open(path, O_RDONLY | O_CLOEXEC);
        FBT_CHECK_EQ(fb_memfile_renumber_order(fd, addr_order, 5, &order, &n, &err), 0);
        close(fd);
        FBT_CHECK_EQ(n, 40);
        FBT_CHECK(n == 40 && order[0] == 30 && order[1] == 5 && order[2] == 17 &&
                  order[3] == 1 && order[4] == 2 && order[39] == 40);
        free(order);
    }
    /* A page map naming a page twice: corrupt. */
    {
        uint64_t twice[2] = {3, 3};
        unlink(path);
        save_to(&mf1, path);
        fd = open(path, O_RDWR | O_CLOEXEC);
        FBT_CHECK_EQ(fb_image_append_raw(fd, "pagemap", twice, sizeof(twice), &err), 0);
        close(fd);
    }
    fb_memfile_destroy(&mf2);
    FBT_CHECK_EQ(fb_memfile_init(&mf2, 1ull << 32, &err), 0);
    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    FBT_CHECK_EQ(fb_memfile_load(&mf2, r, &err), 0);
    FBT_CHECK_EQ(fb_memfile_remap_load(&mf2, r, &err), -1);
    FBT_CHECK(strstr(err.msg, "page map") != NULL);
    FBT_CHECK(mf2.nremap == 0 && mf2.remap.count == 0);
    fb_image_close(r);
    unlink(path);
    fb_memfile_destroy(&mf1);
    fb_memfile_destroy(&mf2);
    /* A page map spread thin (one saved page per 512, a leaf of the tree each): refused past
     * 4096 leaves, before the tree grows with it; the same number of pages close together
     * is fine. */
    {
        size_t np = 5000;
        uint64_t *spread = malloc(np * 8);
        FBT_CHECK_EQ(fb_memfile_init(&mf1, 1ull << 40, &err), 0);
        FBT_CHECK_EQ(fb_mf_alloc(&mf1, np + 1), 4096);
        ((uint64_t *)fb_mf_ptr(&mf1, 4096))[0] = 1;
        for (int pass = 0; pass < 2; pass++) {
            for (p = 0; p < np; p++)
                spread[p] = pass ? 1 + p : 1 + p * 512;
            fd = mkstemp(path);
            close(fd);
            save_to(&mf1, path);
            fd = open(path, O_RDWR | O_CLOEXEC);
            FBT_CHECK_EQ(fb_image_append_raw(fd, "pagemap", spread, np * 8, &err), 0);
            close(fd);
            FBT_CHECK_EQ(fb_memfile_init(&mf2, 1ull << 40, &err), 0);
            FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
            FBT_CHECK_EQ(fb_memfile_load(&mf2, r, &err), 0);
            memset(&err, 0, sizeof(err));
            FBT_CHECK_EQ(fb_memfile_remap_load(&mf2, r, &err), pass ? 0 : -1);
            FBT_CHECK(pass || strstr(err.msg, "too sparse") != NULL);
            FBT_CHECK_EQ(mf2.nremap, pass ? np : 0);
            fb_image_close(r);
            fb_memfile_destroy(&mf2);
            unlink(path);
            strcpy(path, "/tmp/fnbox-mmsave-XXXXXX");
        }
        free(spread);
        fb_memfile_destroy(&mf1);
    }
}

static void test_refuses_bad_pagerefs(void)
{
    struct fb_memfile mf;
    struct fb_error err = {0};
    struct fb_image_writer *w;
    struct fb_image_reader *r;
    char path[] = "/tmp/fnbox-mmsave-XXXXXX";
    uint8_t rec[24] = {0};
    uint64_t p;
    uint32_t n = 1;
    int fd = mkstemp(path);

    close(fd);
    p = 5;
    memcpy(rec, &p, 8);
    memcpy(rec + 8, &n, 4);
    p = 3; /* decreasing: refused */
    memcpy(rec + 12, &p, 8);
    memcpy(rec + 20, &n, 4);
    FBT_CHECK_EQ(fb_image_writer_open(path, &w, &err), 0);
    FBT_CHECK_EQ(fb_image_memory_begin(w, "memory", &err), 0);
    FBT_CHECK_EQ(fb_image_memory_end(w, &err), 0);
    FBT_CHECK_EQ(fb_image_add_raw(w, "pagerefs", rec, sizeof(rec), &err), 0);
    FBT_CHECK_EQ(fb_image_writer_commit(w, &err), 0);
    FBT_CHECK_EQ(fb_memfile_init(&mf, 1ull << 32, &err), 0);
    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    FBT_CHECK_EQ(fb_memfile_load(&mf, r, &err), -1);
    FBT_CHECK(strstr(err.msg, "corrupt"));
    fb_image_close(r);
    /* Renumbering reads the same table: refused too, nothing ordered. */
    {
        uint64_t hot[1] = {3}, *order = NULL;
        size_t norder = 0;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        FBT_CHECK(fd >= 0);
        memset(&err, 0, sizeof(err));
        FBT_CHECK_EQ(fb_memfile_renumber_order(fd, hot, 1, &order, &norder, &err), -1);
        FBT_CHECK(strstr(err.msg, "page reference table"));
        FBT_CHECK(order == NULL);
        close(fd);
    }
    fb_memfile_destroy(&mf);
    unlink(path);
}

/* A restore keeps, of the file pages it would bring back (the hints), only those in its address
 * space's list of the working set, and says so: exactly the intersection, nothing else's list.
 * That list is kept (copied) for the prefault; with no list there is none. */
static void test_ws_filter(void)
{
    struct fb_mm mm = {.image_index = 2};
    uint64_t hints[] = {40, 7, 12, 99, 13};
    /* Address space 1: 7 and 99 (not ours); address space 2: 5, 12, 13, 60, 99. */
    uint8_t ws[8 + 2 * 8 + 8 + 5 * 8];
    const uint32_t h1[2] = {1, 2}, h2[2] = {2, 5};
    const uint64_t l1[] = {7, 99}, l2[] = {5, 12, 13, 60, 99};

    memcpy(ws, h1, 8);
    memcpy(ws + 8, l1, sizeof(l1));
    memcpy(ws + 24, h2, 8);
    memcpy(ws + 32, l2, sizeof(l2));
    mm.refault = malloc(sizeof(hints));
    FBT_CHECK(mm.refault != NULL);
    memcpy(mm.refault, hints, sizeof(hints));
    mm.nrefault = 5;
    FBT_CHECK_EQ(fb_mm_ws_filter(&mm, ws, sizeof(ws)), 3);
    FBT_CHECK_EQ(mm.nrefault, 3);
    FBT_CHECK_EQ(mm.refault[0], 12);
    FBT_CHECK_EQ(mm.refault[1], 13);
    FBT_CHECK_EQ(mm.refault[2], 99);
    FBT_CHECK(mm.refault_exact);
    /* Its own list is kept for prefault (host-mapped text), a copy. */
    FBT_CHECK(mm.ws != NULL && mm.ws != (uint64_t *)(ws + 32));
    FBT_CHECK_EQ(mm.nws, 5);
    FBT_CHECK(memcmp(mm.ws, l2, sizeof(l2)) == 0);
    mm.image_index = 3; /* no list of its own: nothing is kept */
    FBT_CHECK_EQ(fb_mm_ws_filter(&mm, ws, sizeof(ws)), 0);
    FBT_CHECK(mm.ws == NULL && mm.nws == 0);
    free(mm.refault);
}

/* The recorded working set: each address space's vpns, increasing and once each; then the hot
 * pages in address order (not page order), a page without a page (0) left out. */
static void test_ws_write_order(void)
{
    uint64_t len, v[6], hot[8];
    uint32_t hdr[2];
    int fd = memfd_create("ws", 0);
    const uint64_t vpns1[] = {0, 2, 3, 4, 9}, pages[] = {70, 65, 60, 50, 10};

    FBT_CHECK(fd >= 0);
    fb_mm_ws_note(1, 9, 50);
    fb_mm_ws_note(2, 5, 10);
    fb_mm_ws_note(1, 0, 70);
    fb_mm_ws_note(1, 3, 60);
    fb_mm_ws_note(1, 2, 65);
    fb_mm_ws_note(1, 3, 60); /* twice: once */
    fb_mm_ws_note(1, 4, 0);  /* no page of the image */
    FBT_CHECK_EQ(fb_mm_ws_write(fd), 0);
    FBT_CHECK_EQ(pread(fd, &len, 8, 0), 8);
    FBT_CHECK_EQ(len, (8 + 5 * 8) + (8 + 1 * 8));
    FBT_CHECK_EQ(pread(fd, hdr, 8, 8), 8);
    FBT_CHECK(hdr[0] == 1 && hdr[1] == 5);
    FBT_CHECK_EQ(pread(fd, v, 5 * 8, 16), 5 * 8);
    FBT_CHECK(memcmp(v, vpns1, sizeof(vpns1)) == 0);
    FBT_CHECK_EQ(pread(fd, hdr, 8, 16 + 5 * 8), 8);
    FBT_CHECK(hdr[0] == 2 && hdr[1] == 1);
    FBT_CHECK_EQ(pread(fd, v, 8, 16 + 5 * 8 + 8), 8);
    FBT_CHECK_EQ(v[0], 5);
    FBT_CHECK_EQ(pread(fd, hot, sizeof(hot), 8 + (off_t)len), (ssize_t)sizeof(pages));
    FBT_CHECK(memcmp(hot, pages, sizeof(pages)) == 0);
    close(fd);
}

/* Recording: gaps of at most FB_MM_WS_GAP pages between noted pages of one VMA are noted too
 * when every page of the gap is present; a wider gap, one with a page never touched, and one
 * between two VMAs are not. */
static void test_ws_fill_gaps(void)
{
    struct fb_memfile mf;
    struct fb_error err = {0};
    struct fb_mm *mm;
    const uint64_t rel[] = {0, 2, 6, 11, 15, 17}, want[] = {0, 1, 2, 3, 4, 5, 6, 11, 15, 17};
    uint64_t *v = NULL, base;
    size_t n, i;
    int64_t a, b;

    FBT_CHECK_EQ(fb_memfile_init(&mf, 1ull << 32, &err), 0);
    mm = fb_mm_new(&mf, NULL);
    a = fb_mm_mmap(mm, 0, 16 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, NULL,
                   0, 7, "[anon]");
    FBT_CHECK(a > 0);
    b = fb_mm_mmap(mm, (uint64_t)a + 16 * 4096, 4 * 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0, 7, "[anon]"); /* another VMA */
    FBT_CHECK_EQ(b, a + 16 * 4096);
    for (i = 0; i < 16; i++) /* every page present but 13 */
        if (i != 13)
            FBT_CHECK_EQ(fb_mm_copy_out(mm, (uint64_t)a + i * 4096, "x", 1), 0);
    FBT_CHECK_EQ(fb_mm_copy_out(mm, (uint64_t)b, "x", 1), 0); /* 16: present, not filled */
    FBT_CHECK_EQ(fb_mm_copy_out(mm, (uint64_t)b + 4096, "x", 1), 0);
    mm->image_index = 9;
    base = (uint64_t)a >> 12;
    fb_mm_ws_recording = true;
    for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++)
        fb_mm_ws_note(9, base + rel[i], 1000 + i);
    fb_mm_ws_fill_gaps(mm);
    fb_mm_ws_fill_gaps(mm); /* again: nothing new */
    fb_mm_ws_recording = false;
    n = fb_mm_ws_noted(9, &v);
    FBT_CHECK_EQ(n, sizeof(want) / sizeof(want[0]));
    for (i = 0; i < n; i++)
        FBT_CHECK_EQ(v[i], base + want[i]);
    free(v);
    fb_mm_put(mm);
    fb_memfile_destroy(&mf);
}

/* A recording in fb_mm_ws_write's layout: sections (index, count, vpns) then hot pages. */
static size_t recording(uint8_t *buf, const uint64_t *sec, size_t nsec, const uint64_t *hot,
                        size_t nhot)
{
    uint64_t len = nsec * 8;
    memcpy(buf, &len, 8);
    memcpy(buf + 8, sec, nsec * 8);
    memcpy(buf + 8 + nsec * 8, hot, nhot * 8);
    return 8 + (nsec + nhot) * 8;
}
#define HDR(idx, n) ((uint64_t)(idx) | (uint64_t)(n) << 32) /* u32 index, u32 count (LE) */

/* Two training runs' recordings as one: per address space the union of the pages (address
 * spaces only one run had kept), the hot pages of the first then the new ones of the second;
 * a malformed one refused. */
static void test_ws_merge(void)
{
    uint8_t a[256], b[256], *m = NULL;
    size_t la, lb, lm = 0;
    const uint64_t sa[] = {HDR(1, 3), 2, 5, 9, HDR(3, 1), 4};
    const uint64_t sb[] = {HDR(1, 3), 1, 5, 11, HDR(2, 2), 6, 7};
    const uint64_t ha[] = {40, 41, 42, 43}, hb[] = {39, 41, 44};
    const uint64_t want_sec[] = {HDR(1, 5), 1, 2, 5, 9, 11, HDR(2, 2), 6, 7, HDR(3, 1), 4};
    const uint64_t want_hot[] = {40, 41, 42, 43, 39, 44};
    uint64_t len;

    la = recording(a, sa, 6, ha, 4);
    lb = recording(b, sb, 7, hb, 3);
    FBT_CHECK_EQ(fb_mm_ws_merge(a, la, b, lb, &m, &lm), 0);
    FBT_CHECK(m != NULL);
    if (!m)
        return;
    memcpy(&len, m, 8);
    FBT_CHECK_EQ(len, sizeof(want_sec));
    FBT_CHECK(memcmp(m + 8, want_sec, sizeof(want_sec)) == 0);
    FBT_CHECK_EQ(lm, 8 + sizeof(want_sec) + sizeof(want_hot));
    FBT_CHECK(memcmp(m + 8 + sizeof(want_sec), want_hot, sizeof(want_hot)) == 0);
    FBT_CHECK(fb_image_ws_check(m + 8, (size_t)len, 1ull << 36) == 11 - 3);
    free(m);
    /* With itself: the same. */
    FBT_CHECK_EQ(fb_mm_ws_merge(a, la, a, la, &m, &lm), 0);
    FBT_CHECK(lm == la && m && memcmp(m, a, la) == 0);
    free(m);
    FBT_CHECK(fb_mm_ws_recording_ok(a, la) && fb_mm_ws_recording_ok(b, lb));
    FBT_CHECK(!fb_mm_ws_recording_ok(a, 7) && !fb_mm_ws_recording_ok(a, la - 4));
    /* Malformed: pages not increasing, a length beyond the recording, a short one. */
    {
        const uint64_t bad[] = {HDR(1, 2), 5, 5};
        uint8_t c[64];
        size_t lc = recording(c, bad, 3, ha, 1);
        FBT_CHECK_EQ(fb_mm_ws_merge(a, la, c, lc, &m, &lm), -EINVAL);
        FBT_CHECK_EQ(fb_mm_ws_merge(a, la, b, 12, &m, &lm), -EINVAL);
        len = 4096;
        memcpy(c, &len, 8);
        FBT_CHECK_EQ(fb_mm_ws_merge(c, lc, a, la, &m, &lm), -EINVAL);
        FBT_CHECK(m == NULL);
    }
}

int main(void)
{
    FBT_RUN(test_mm_round_trip);
    FBT_RUN(test_refuses_bad_pagerefs);
    FBT_RUN(test_lazy_load);
    FBT_RUN(test_hot_file);
    FBT_RUN(test_hot_file_whole);
    FBT_RUN(test_verify_later);
    FBT_RUN(test_load_over_limit);
    FBT_RUN(test_renumber);
    FBT_RUN(test_ws_filter);
    FBT_RUN(test_ws_write_order);
    FBT_RUN(test_ws_fill_gaps);
    FBT_RUN(test_ws_merge);
    FBT_EXIT();
}
