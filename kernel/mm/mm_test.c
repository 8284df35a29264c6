/* Unit tests for the memory layer: radix tree, memory-file allocator, VMA set, and the mm
 * operations that need no platform (mmap bookkeeping, copy-in/out, COW on fork, brk, mremap). */
#include "fbtest.h"
#include "kernel/mm/mm.h"
#include "kernel/util/cleanup.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct fb_pctx *fb_mm_current_ctx(void)
{
    return NULL;
}

static struct fb_memfile mf;

static void test_radix_basic(void)
{
    struct fb_radix r = FB_RADIX_INIT;
    uint64_t found, val;

    FBT_CHECK_EQ(fb_radix_get(&r, 5), 0);
    FBT_CHECK_EQ(fb_radix_set(&r, 5, 50), 0);
    FBT_CHECK_EQ(fb_radix_set(&r, 1ull << 35, 77), 0); /* grows the tree */
    FBT_CHECK_EQ(fb_radix_set(&r, 513, 9), 0);
    FBT_CHECK_EQ(fb_radix_get(&r, 5), 50);
    FBT_CHECK_EQ(fb_radix_get(&r, 1ull << 35), 77);
    FBT_CHECK_EQ(r.count, 3);
    FBT_CHECK(fb_radix_next(&r, 6, ~0ull, &found, &val));
    FBT_CHECK_EQ(found, 513);
    FBT_CHECK(fb_radix_next(&r, 514, ~0ull, &found, &val));
    FBT_CHECK_EQ(found, 1ull << 35);
    FBT_CHECK(!fb_radix_next(&r, 514, 1ull << 35, &found, &val));
    FBT_CHECK_EQ(fb_radix_set(&r, 513, 0), 0);
    FBT_CHECK_EQ(r.count, 2);
    FBT_CHECK(fb_radix_next(&r, 0, ~0ull, &found, &val));
    FBT_CHECK_EQ(found, 5);
    fb_radix_destroy(&r, NULL, NULL);
    FBT_CHECK_EQ(r.count, 0);
}

static void test_memfile_alloc_free_reuse(void)
{
    uint64_t a = fb_mf_alloc(&mf, 4), b = fb_mf_alloc(&mf, 2), c;
    uint64_t used = mf.used_pages;

    FBT_CHECK(a && b && a != b);
    FBT_CHECK(a != 0 && b >= a + 4 * FB_PAGE_SIZE);
    memset(fb_mf_ptr(&mf, a), 0xab, 4 * FB_PAGE_SIZE);
    fb_mf_get(&mf, a, 1);
    FBT_CHECK_EQ(fb_mf_refs(&mf, a), 2);
    fb_mf_put(&mf, a, 4); /* first page still referenced */
    FBT_CHECK_EQ(fb_mf_refs(&mf, a), 1);
    FBT_CHECK_EQ(mf.used_pages, used - 3);
    c = fb_mf_alloc(&mf, 3); /* reuses the freed run, zeroed by the hole punch */
    FBT_CHECK_EQ(c, a + FB_PAGE_SIZE);
    FBT_CHECK_EQ(((uint8_t *)fb_mf_ptr(&mf, c))[100], 0);
    fb_mf_put(&mf, a, 1);
    fb_mf_put(&mf, c, 3);
    fb_mf_put(&mf, b, 2);
    FBT_CHECK_EQ(mf.used_pages, used - 6);
}

static void test_memfile_limit(void)
{
    uint64_t saved = mf.limit_pages, a;
    mf.limit_pages = mf.used_pages + 2;
    FBT_CHECK_EQ(fb_mf_alloc(&mf, 3), 0);
    FBT_CHECK(mf.limit_hit);
    a = fb_mf_alloc(&mf, 2);
    FBT_CHECK(a != 0);
    fb_mf_put(&mf, a, 2);
    mf.limit_pages = saved;
    mf.limit_hit = false;
}

/* The last task's exit frees without punching holes, and never reuses what it freed (the pages
 * are not zeroed). */
static void test_memfile_ending(void)
{
    uint64_t a = fb_mf_alloc(&mf, 8), b, used = mf.used_pages, res;

    FBT_CHECK(a != 0);
    memset(fb_mf_ptr(&mf, a), 0x5a, 8 * FB_PAGE_SIZE);
    res = fb_mf_resident_bytes(&mf);
    mf.ending = true;
    fb_mf_put(&mf, a, 8);
    FBT_CHECK_EQ(mf.used_pages, used - 8);
    FBT_CHECK_EQ(fb_mf_resident_bytes(&mf), res); /* no hole punched */
    b = fb_mf_alloc(&mf, 8);
    FBT_CHECK(b != 0 && b != a); /* the unzeroed run is not handed out again */
    FBT_CHECK_EQ(((uint8_t *)fb_mf_ptr(&mf, b))[0], 0);
    fb_mf_put(&mf, b, 8);
    mf.ending = false;
}

static void test_vma_insert_split_merge(void)
{
    struct fb_vma_set s = {0};
    struct fb_vma v = {.start = 0x10000, .end = 0x20000, .prot = PROT_READ, .maxprot = 7};

    FBT_CHECK_EQ(fb_vma_insert(&s, &v), 0);
    v.start = 0x20000;
    v.end = 0x30000;
    FBT_CHECK_EQ(fb_vma_insert(&s, &v), 0);
    FBT_CHECK_EQ(s.n, 1); /* merged */
    FBT_CHECK_EQ(s.v[0].end, 0x30000);
    FBT_CHECK_EQ(fb_vma_split_at(&s, 0x18000), 0);
    FBT_CHECK_EQ(s.n, 2);
    FBT_CHECK(fb_vma_find(&s, 0x18000) == &s.v[1]);
    FBT_CHECK(fb_vma_find(&s, 0x30000) == NULL);
    FBT_CHECK_EQ(fb_vma_remove(&s, 0x14000, 0x1c000, NULL, NULL), 0);
    FBT_CHECK_EQ(s.n, 2);
    FBT_CHECK_EQ(s.v[0].end, 0x14000);
    FBT_CHECK_EQ(s.v[1].start, 0x1c000);
    FBT_CHECK(fb_vma_range_free(&s, 0x14000, 0x1c000));
    FBT_CHECK(!fb_vma_range_covered(&s, 0x10000, 0x20000));
    FBT_CHECK(fb_vma_range_covered(&s, 0x1c000, 0x30000));
    /* Highest gap of 0x4000 below 0x40000 is right after the last VMA's end. */
    FBT_CHECK_EQ(fb_vma_find_gap_down(&s, 0x4000, 0x10000, 0x40000), 0x3c000);
    FBT_CHECK_EQ(fb_vma_find_gap_down(&s, 0x8000, 0x10000, 0x30000), 0x14000);
    FBT_CHECK_EQ(fb_vma_find_gap_down(&s, 0x9000, 0x10000, 0x30000), 0);
    fb_vma_set_destroy(&s, NULL, NULL);
}

static void test_mm_mmap_copy_fork_cow(void)
{
    struct fb_mm *mm = fb_mm_new(&mf, NULL), *child;
    int64_t a;
    char buf[16];

    a = fb_mm_mmap(mm, 0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0,
                   7, NULL);
    FBT_CHECK(a > 0 && (a & 4095) == 0);
    FBT_CHECK_EQ(fb_mm_copy_out(mm, (uint64_t)a + 4090, "hello, world", 13), 0); /* crosses */
    FBT_CHECK_EQ(fb_mm_copy_in(mm, (uint64_t)a + 4090, buf, 13), 0);
    FBT_CHECK_STR(buf, "hello, world");
    child = fb_mm_fork(mm);
    FBT_CHECK(child != NULL);
    FBT_CHECK_EQ(fb_mm_copy_out(child, (uint64_t)a + 4090, "HELLO", 5), 0);
    FBT_CHECK_EQ(fb_mm_copy_in(mm, (uint64_t)a + 4090, buf, 13), 0);
    FBT_CHECK_STR(buf, "hello, world"); /* parent unaffected */
    FBT_CHECK_EQ(fb_mm_copy_in(child, (uint64_t)a + 4090, buf, 13), 0);
    FBT_CHECK_STR(buf, "HELLO, world");
    FBT_CHECK_EQ(fb_mm_copy_out(mm, (uint64_t)a, "P", 1), 0);
    FBT_CHECK_EQ(fb_mm_copy_in(child, (uint64_t)a, buf, 1), 0);
    FBT_CHECK_EQ(buf[0], 0);
    /* Faults: outside any VMA, and write to a read-only mapping. */
    FBT_CHECK_EQ(fb_mm_copy_in(mm, 0x20000, buf, 1), -EFAULT);
    FBT_CHECK_EQ(fb_mm_mprotect(mm, (uint64_t)a, 4096, PROT_READ), 0);
    FBT_CHECK_EQ(fb_mm_copy_out(mm, (uint64_t)a, "x", 1), -EFAULT);
    FBT_CHECK_EQ(fb_mm_copy_in(mm, (uint64_t)a, buf, 1), 0);
    FBT_CHECK_EQ(buf[0], 'P');
    FBT_CHECK_EQ(mm->vmas.n, 2); /* split by mprotect */
    FBT_CHECK_EQ(fb_mm_mprotect(mm, (uint64_t)a, 4096, PROT_READ | PROT_WRITE), 0);
    FBT_CHECK_EQ(mm->vmas.n, 1); /* merged back */
    fb_mm_put(child);
    fb_mm_put(mm);
}

static void test_mm_fixed_noreplace_munmap(void)
{
    struct fb_mm *mm = fb_mm_new(&mf, NULL);
    int64_t a = fb_mm_mmap(mm, 0x400000, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                           NULL, 0, 7, NULL);
    FBT_CHECK_EQ(a, 0x400000);
    FBT_CHECK_EQ(fb_mm_mmap(mm, 0x401000, 4096, PROT_READ,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, NULL, 0, 7, NULL),
                 -EEXIST);
    FBT_CHECK_EQ(fb_mm_mmap(mm, 0x401001, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                            NULL, 0, 7, NULL),
                 -EINVAL);
    FBT_CHECK_EQ(fb_mm_mmap(mm, FB_STUB_BASE, 4096, PROT_READ,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0, 7, NULL),
                 -ENOMEM);
    FBT_CHECK_EQ(fb_mm_mmap(mm, 0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0, 7, NULL),
                 -EINVAL);
    FBT_CHECK_EQ(fb_mm_munmap(mm, 0x401000, 4096), 0);
    FBT_CHECK_EQ(mm->vmas.n, 1);
    FBT_CHECK_EQ(fb_mm_munmap(mm, 0x400001, 4096), -EINVAL);
    FBT_CHECK_EQ(fb_mm_munmap(mm, 0x400000, 0), -EINVAL);
    fb_mm_put(mm);
}

/* Unmapping frees the pages in runs of contiguous memory-file offsets: one hole punched (one
 * host fallocate) per run, not per page (4 MiB took ~2.5 ms that way). So does an mm's end. */
static void test_mm_munmap_punches_runs(void)
{
    struct fb_mm *mm = fb_mm_new(&mf, NULL);
    const uint64_t n = 64;
    int64_t a = fb_mm_mmap(mm, 0, n * FB_PAGE_SIZE, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0, 7, NULL);
    uint64_t runs = 0, prev = 0, p0, used;
    static char page[4096];

    FBT_CHECK(a > 0);
    for (uint64_t i = 0; i < n; i++)
        FBT_CHECK_EQ(fb_mm_copy_out(mm, (uint64_t)a + i * FB_PAGE_SIZE, page, 1), 0);
    for (uint64_t i = 0; i < n; i++) { /* the runs the pages landed in */
        uint64_t off = fb_radix_get(&mm->pt, ((uint64_t)a >> FB_PAGE_SHIFT) + i) & ~0xfffull;
        FBT_CHECK(off != 0);
        if (!i || off != prev + FB_PAGE_SIZE)
            runs++;
        prev = off;
    }
    FBT_CHECK(runs < n / 4);
    used = mf.used_pages;
    p0 = mf.punches;
    FBT_CHECK_EQ(fb_mm_munmap(mm, (uint64_t)a, n * FB_PAGE_SIZE), 0);
    FBT_CHECK_EQ(mf.punches - p0, runs);
    FBT_CHECK_EQ(mf.used_pages, used - n);
    /* The same at the end of an address space. */
    a = fb_mm_mmap(mm, 0, n * FB_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   NULL, 0, 7, NULL);
    for (uint64_t i = 0; i < n; i++)
        FBT_CHECK_EQ(fb_mm_copy_out(mm, (uint64_t)a + i * FB_PAGE_SIZE, page, 1), 0);
    p0 = mf.punches;
    fb_mm_put(mm);
    FBT_CHECK(mf.punches - p0 < n / 4);
    FBT_CHECK_EQ(mf.used_pages, used - n);
}

static void test_mm_brk_mremap(void)
{
    struct fb_mm *mm = fb_mm_new(&mf, NULL);
    int64_t a, b;
    char c;

    mm->brk_start = mm->brk = 0x600000;
    FBT_CHECK_EQ(fb_mm_brk(mm, 0), 0x600000);
    FBT_CHECK_EQ(fb_mm_brk(mm, 0x600000 + 10000), 0x600000 + 10000);
    FBT_CHECK_EQ(fb_mm_brk(mm, 0x600000 + 30000), 0x600000 + 30000);
    FBT_CHECK_EQ(mm->vmas.n, 1);
    FBT_CHECK_EQ(fb_mm_copy_out(mm, 0x600000 + 29999, "z", 1), 0);
    FBT_CHECK_EQ(fb_mm_brk(mm, 0x600000 + 100), 0x600000 + 100);
    FBT_CHECK_EQ(fb_mm_copy_out(mm, 0x600000 + 29999, "z", 1), -EFAULT);

    a = fb_mm_mmap(mm, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0, 7,
                   NULL);
    FBT_CHECK_EQ(fb_mm_copy_out(mm, (uint64_t)a + 7, "m", 1), 0);
    /* Block growth in place, then move. */
    FBT_CHECK(fb_mm_mmap(mm, (uint64_t)a + 4096, 4096, PROT_READ,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0, 7, NULL) > 0);
    FBT_CHECK_EQ(fb_mm_mremap(mm, (uint64_t)a, 4096, 3 * 4096, 0, 0), -ENOMEM);
    b = fb_mm_mremap(mm, (uint64_t)a, 4096, 3 * 4096, MREMAP_MAYMOVE, 0);
    FBT_CHECK(b > 0 && b != a);
    FBT_CHECK_EQ(fb_mm_copy_in(mm, (uint64_t)b + 7, &c, 1), 0);
    FBT_CHECK_EQ(c, 'm');
    FBT_CHECK_EQ(fb_mm_copy_in(mm, (uint64_t)a + 7, &c, 1), -EFAULT);
    FBT_CHECK_EQ(fb_mm_copy_out(mm, (uint64_t)b + 3 * 4096 - 1, "e", 1), 0);
    fb_mm_put(mm);
}

static void test_mm_growsdown(void)
{
    struct fb_mm *mm = fb_mm_new(&mf, NULL);
    int64_t a = fb_mm_mmap(mm, 0x7000000000, 4096, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN, NULL, 0, 7,
                           NULL);
    FBT_CHECK_EQ(a, 0x7000000000);
    FBT_CHECK_EQ(fb_mm_copy_out(mm, 0x7000000000 - 10000, "s", 1), 0);
    FBT_CHECK_EQ(mm->vmas.v[0].start, 0x7000000000 - 3 * 4096);
    FBT_CHECK_EQ(fb_mm_copy_out(mm, 0x7000000000 - (64ull << 20), "s", 1), -EFAULT);
    fb_mm_put(mm);
}

/* A file mapping for the host-mapped test: its content is a host file, get_pages copies pages
 * of it into the memory file and counts the calls. */
struct test_file {
    struct fb_mappable m;
    int fd, get_pages_calls;
};

static void tf_ref(struct fb_mappable *m)
{
    (void)m;
}

static int tf_get_pages(struct fb_mappable *m, uint64_t pgoff, int n, unsigned flags, uint64_t *out)
{
    struct test_file *f = (struct test_file *)m;
    struct stat st;
    (void)n;
    (void)flags;
    f->get_pages_calls++;
    if (fstat(f->fd, &st) != 0 || pgoff * FB_PAGE_SIZE >= (uint64_t)st.st_size)
        return -EFAULT;
    out[0] = fb_mf_alloc(&mf, 1);
    if (!out[0])
        return -ENOMEM;
    if (pread(f->fd, fb_mf_ptr(&mf, out[0]), FB_PAGE_SIZE, (off_t)(pgoff * FB_PAGE_SIZE)) < 0)
        return -EIO;
    return 1;
}

static int tf_host_fd(struct fb_mappable *m)
{
    return ((struct test_file *)m)->fd;
}

/* host_fds_ahead: how often it was asked, and for which objects the last time */
static struct {
    int calls, n;
    struct fb_mappable *maps[8];
} ahead;

static void tf_host_fds_ahead(struct fb_mappable *const *maps, int n)
{
    ahead.calls++;
    ahead.n = n;
    for (int i = 0; i < n && i < 8; i++)
        ahead.maps[i] = maps[i];
}

static const struct fb_mappable_ops tf_ops = {tf_ref, tf_ref, tf_get_pages, tf_host_fd,
                                              tf_host_fds_ahead};

/* Text the host maps straight from its file is read from the file when the Sentry has no copy
 * (the syscall path reads the instruction before every call; a path may be a string in
 * read-only data): nothing is brought into the memory file for it, by fb_mm_copy_in or
 * fb_mm_copy_string_in. The same VMA not host-mapped goes through get_pages as before. */
static void test_mm_copy_in_host_mapped(void)
{
    struct fb_mm *mm = fb_mm_new(&mf, NULL);
    struct test_file f = {.m = {&tf_ops}};
    char path[] = "/tmp/fnbox-mm-test-XXXXXX", buf[8] = {0};
    uint8_t page[3 * FB_PAGE_SIZE];
    struct fb_vma *v;
    int64_t a;

    f.fd = mkstemp(path);
    FBT_CHECK(f.fd >= 0);
    unlink(path);
    for (size_t i = 0; i < sizeof(page); i++)
        page[i] = (uint8_t)(i * 7 + i / FB_PAGE_SIZE);
    memcpy(page + FB_PAGE_SIZE + 500, "a path", 7); /* NUL included */
    FBT_CHECK_EQ(pwrite(f.fd, page, 2 * FB_PAGE_SIZE + 100, 0), 2 * FB_PAGE_SIZE + 100);
    /* Pages 1-2 of the file, and a third page wholly beyond its end. */
    a = fb_mm_mmap(mm, 0, 3 * FB_PAGE_SIZE, PROT_READ | PROT_EXEC, MAP_PRIVATE, &f.m, FB_PAGE_SIZE,
                   7, "text");
    FBT_CHECK(a > 0);
    v = fb_vma_find(&mm->vmas, (uint64_t)a);
    FBT_CHECK(v != NULL);
    v->flags |= FB_VMA_HOSTMAP; /* as after the platform mapped the file (host_map_many) */
    FBT_CHECK_EQ(fb_mm_copy_in(mm, (uint64_t)a + 300, buf, 2), 0);
    FBT_CHECK(memcmp(buf, page + FB_PAGE_SIZE + 300, 2) == 0);
    FBT_CHECK_EQ(fb_mm_copy_in(mm, (uint64_t)a + FB_PAGE_SIZE - 3, buf, 6), 0); /* crosses */
    FBT_CHECK(memcmp(buf, page + 2 * FB_PAGE_SIZE - 3, 6) == 0);
    {
        char str[64];
        FBT_CHECK_EQ(fb_mm_copy_string_in(mm, (uint64_t)a + 500, str, sizeof(str)), 6);
        FBT_CHECK_STR(str, "a path");
    }
    FBT_CHECK_EQ(f.get_pages_calls, 0);
    FBT_CHECK_EQ(mm->resident, 0);
    /* Past the end of the file: the usual way, which says so. */
    FBT_CHECK_EQ(fb_mm_copy_in(mm, (uint64_t)a + 2 * FB_PAGE_SIZE, buf, 1), -EFAULT);
    FBT_CHECK_EQ(f.get_pages_calls, 1);
    /* Not host-mapped: the page comes into the memory file, with the same bytes. */
    v = fb_vma_find(&mm->vmas, (uint64_t)a);
    v->flags &= ~FB_VMA_HOSTMAP;
    FBT_CHECK_EQ(fb_mm_copy_in(mm, (uint64_t)a + 300, buf, 2), 0);
    FBT_CHECK(memcmp(buf, page + FB_PAGE_SIZE + 300, 2) == 0);
    FBT_CHECK_EQ(f.get_pages_calls, 2);
    FBT_CHECK_EQ(mm->resident, 1);
    fb_mm_put(mm);
    close(f.fd);
}

/* A platform that only records the direct file mappings asked of it (fb_mm_prefault's) and
 * fails the one at index fail_at. */
static struct {
    struct fb_map_fd_req req[512];
    int n, fail_at, unmaps;
    uint64_t unmap_addr, unmap_len;
    struct fb_map_req mreq[512]; /* memory-file mappings (map, populated; map_many) */
    int nm;
} fp;
static char fp_as;

static int fp_as_new(struct fb_platform *p, struct fb_as **out)
{
    (void)p;
    *out = (struct fb_as *)&fp_as;
    return 0;
}

static void fp_as_release(struct fb_as *as)
{
    (void)as;
}

static int fp_map_fds(struct fb_pctx *ctx, struct fb_as *as, const struct fb_map_fd_req *req, int n,
                      int *done)
{
    (void)ctx;
    (void)as;
    for (*done = 0; *done < n; (*done)++) {
        if (fp.n == fp.fail_at || fp.n == (int)FB_ARRAY_SIZE(fp.req))
            return -EACCES;
        fp.req[fp.n++] = req[*done];
    }
    return 0;
}

static int fp_unmap(struct fb_pctx *ctx, struct fb_as *as, uint64_t addr, uint64_t len)
{
    (void)ctx;
    (void)as;
    fp.unmaps++;
    fp.unmap_addr = addr;
    fp.unmap_len = len;
    return 0;
}

static int fp_map(struct fb_pctx *ctx, struct fb_as *as, uint64_t addr, uint64_t len, int prot,
                  uint64_t off)
{
    (void)ctx, (void)as;
    if (fp.nm < (int)FB_ARRAY_SIZE(fp.mreq))
        fp.mreq[fp.nm++] = (struct fb_map_req){addr, len, off, prot, true};
    return 0;
}

static int fp_map_many(struct fb_pctx *ctx, struct fb_as *as, const struct fb_map_req *req, int n)
{
    (void)ctx, (void)as;
    for (int i = 0; i < n && fp.nm < (int)FB_ARRAY_SIZE(fp.mreq); i++)
        fp.mreq[fp.nm++] = req[i];
    return 0;
}

static const struct fb_platform_ops fp_ops = {.name = "fake",
                                              .as_new = fp_as_new,
                                              .as_release = fp_as_release,
                                              .map = fp_map,
                                              .map_many = fp_map_many,
                                              .map_fds = fp_map_fds,
                                              .unmap = fp_unmap};
static struct fb_platform fake_plat = {.ops = &fp_ops};

static int cmp_req_addr(const void *a, const void *b)
{
    const struct fb_map_fd_req *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The recorded requests fp.req[from, to), the populated ones first, tile [start, end) with
 * f's fd, contiguous in the file from offset off, with one prot; returns how many of its pages
 * are populated, or -1 if they do not. Sorts them by address. */
static long fp_covers(int from, int to, uint64_t start, uint64_t end, uint64_t off, int fd)
{
    uint64_t at = start;
    long pop = 0;

    for (int i = from + 1; i < to; i++)
        if (fp.req[i].populate && !fp.req[i - 1].populate)
            return -1;
    qsort(fp.req + from, (size_t)(to - from), sizeof(fp.req[0]), cmp_req_addr);
    for (int i = from; i < to; i++) {
        const struct fb_map_fd_req *r = &fp.req[i];
        if (r->addr != at || !r->len || r->off != off + (at - start) || r->fd != fd ||
            r->prot != (PROT_READ | PROT_EXEC))
            return -1;
        pop += r->populate ? (long)(r->len / FB_PAGE_SIZE) : 0;
        at += r->len;
    }
    return at == end ? pop : -1;
}

/* Is page vpn in a populated request of fp.req[from, to)? */
static bool fp_populated(int from, int to, uint64_t vpn)
{
    uint64_t a = vpn * FB_PAGE_SIZE;
    for (int i = from; i < to; i++)
        if (a >= fp.req[i].addr && a < fp.req[i].addr + fp.req[i].len)
            return fp.req[i].populate;
    return false;
}

/* A new address space on the fake platform, with text of f's file at 0x400000 (64 pages) and
 * at 0x600000 (1024 pages), both host-mappable, and a copy of the working set ws[0, n) (none if
 * ws is NULL); the platform's record cleared, to fail the request at index fail_at. */
static struct fb_mm *fp_mm(struct test_file *f, const uint64_t *ws, size_t n, int fail_at)
{
    struct fb_mm *mm = fb_mm_new(&mf, &fake_plat);

    memset(&fp, 0, sizeof(fp));
    fp.fail_at = fail_at;
    if (mm && (fb_mm_mmap(mm, 0x400000, 64 * FB_PAGE_SIZE, PROT_READ | PROT_EXEC,
                          MAP_PRIVATE | MAP_FIXED, &f->m, 0, 7, "a") != 0x400000 ||
               fb_mm_mmap(mm, 0x600000, 1024 * FB_PAGE_SIZE, PROT_READ | PROT_EXEC,
                          MAP_PRIVATE | MAP_FIXED, &f->m, 8 * FB_PAGE_SIZE, 7, "b") != 0x600000 ||
               (ws && !(mm->ws = malloc((n ? n : 1) * sizeof(*ws)))))) {
        fb_mm_put(mm);
        return NULL;
    }
    if (mm && ws && n) {
        memcpy(mm->ws, ws, n * sizeof(*ws));
        mm->nws = n;
    }
    return mm;
}

/* A warm restore (fb_mm_prefault with host_ptes) maps host-mappable text whole, populating
 * only its working set when it has one: runs of touched pages, widened over gaps of eight pages
 * and to a VMA's end eight pages away, then the rest unpopulated, by requests contiguous in the
 * file (one host mapping); a VMA touched all over in fewer, coarser runs that still cover
 * every touched page. Without a working set, whole VMAs are populated; a cold restore
 * populates nothing. A VMA whose requests fail part-way is unmapped again and left to the
 * Sentry's copies, while the ones before it stay host-mapped. */
static void test_mm_prefault_host_ws(void)
{
    struct test_file f = {.m = {&tf_ops}, .fd = open("/proc/self/exe", O_RDONLY)};
    /* a: 0x400 + {2, 10, 11, 14, 30, 34, 62}; b: every 10th page (100 runs with gaps of 9: too
     * many) */
    const uint64_t a_ws[] = {0x3fb, 0x402, 0x40a, 0x40b, 0x40e, 0x41e, 0x422, 0x43e, 0x500};
    uint64_t big[9 + 100];
    struct fb_mm *mm;
    int na;
    long pop;

    FBT_CHECK(f.fd >= 0);
    memcpy(big, a_ws, sizeof(a_ws));
    for (int i = 0; i < 100; i++)
        big[9 + i] = 0x600 + 10 * (uint64_t)i + 1;

    /* With a working set. */
    mm = fp_mm(&f, big, FB_ARRAY_SIZE(big), -1);
    FBT_CHECK(mm != NULL);
    FBT_CHECK_EQ(fb_mm_prefault(mm, NULL, true), 0);
    FBT_CHECK(mm->ws == NULL && mm->nws == 0);
    FBT_CHECK_EQ(fp.n > 2, 1);
    /* a: hot 0-14 (2, 10-11, 14 and the gaps of 7 and 2 between), cold 15-29, hot 30-34, cold
     * 35-61, hot 62-63 (its end a page away); sorted by address by fp_covers */
    na = 5;
    FBT_CHECK_EQ(fp_covers(0, na, 0x400000, 0x440000, 0, f.fd), 15 + 5 + 2);
    FBT_CHECK(fp.req[0].populate && fp.req[0].addr == 0x400000 && fp.req[0].len == 15 * 4096);
    FBT_CHECK(!fp.req[1].populate && fp.req[1].addr == 0x40f000 && fp.req[1].len == 15 * 4096);
    FBT_CHECK(fp.req[2].populate && fp.req[2].addr == 0x41e000 && fp.req[2].len == 5 * 4096);
    FBT_CHECK(fp.req[4].populate && fp.req[4].addr == 0x43e000 && fp.req[4].len == 2 * 4096);
    /* b: at most 64 runs, every touched page in one, less than all of it populated */
    FBT_CHECK(fp.n - na <= 2 * 64 + 1);
    pop = fp_covers(na, fp.n, 0x600000, 0xa00000, 8 * FB_PAGE_SIZE, f.fd);
    FBT_CHECK(pop >= 100 && pop < 1024);
    for (int i = 0; i < 100; i++)
        FBT_CHECK(fp_populated(na, fp.n, big[9 + i]));
    FBT_CHECK((fb_vma_find(&mm->vmas, 0x400000)->flags & FB_VMA_HOSTMAP) &&
              (fb_vma_find(&mm->vmas, 0x600000)->flags & FB_VMA_HOSTMAP));
    FBT_CHECK_EQ(fp.unmaps, 0);
    fb_mm_put(mm);

    /* Without one: whole VMAs, populated. */
    mm = fp_mm(&f, NULL, 0, -1);
    FBT_CHECK(mm != NULL);
    FBT_CHECK_EQ(fb_mm_prefault(mm, NULL, true), 0);
    FBT_CHECK_EQ(fp.n, 2);
    FBT_CHECK_EQ(fp_covers(0, 1, 0x400000, 0x440000, 0, f.fd), 64);
    FBT_CHECK_EQ(fp_covers(1, 2, 0x600000, 0xa00000, 8 * FB_PAGE_SIZE, f.fd), 1024);
    fb_mm_put(mm);

    /* A cold restore: whole VMAs, unpopulated, working set or not. */
    mm = fp_mm(&f, big, FB_ARRAY_SIZE(big), -1);
    FBT_CHECK(mm != NULL);
    FBT_CHECK_EQ(fb_mm_prefault(mm, NULL, false), 0);
    FBT_CHECK_EQ(fp.n, 2);
    FBT_CHECK_EQ(fp_covers(0, 2, 0x400000, 0x440000, 0, f.fd), -1); /* two VMAs, not one */
    FBT_CHECK_EQ(fp_covers(0, 1, 0x400000, 0x440000, 0, f.fd), 0);
    FBT_CHECK_EQ(fp_covers(1, 2, 0x600000, 0xa00000, 8 * FB_PAGE_SIZE, f.fd), 0);
    fb_mm_put(mm);

    /* The platform fails b's second request: a stays host-mapped, b is unmapped again. */
    mm = fp_mm(&f, big, FB_ARRAY_SIZE(big), na + 1);
    FBT_CHECK(mm != NULL);
    FBT_CHECK_EQ(fb_mm_prefault(mm, NULL, true), 0);
    FBT_CHECK_EQ(fp.n, na + 1);
    FBT_CHECK(fb_vma_find(&mm->vmas, 0x400000)->flags & FB_VMA_HOSTMAP);
    FBT_CHECK(!(fb_vma_find(&mm->vmas, 0x600000)->flags & FB_VMA_HOSTMAP));
    FBT_CHECK_EQ(fp.unmaps, 1);
    FBT_CHECK(fp.unmap_addr == 0x600000 && fp.unmap_len == 1024 * FB_PAGE_SIZE);
    fb_mm_put(mm);

    /* An empty working set: nothing populated. */
    mm = fp_mm(&f, big, 0, -1);
    FBT_CHECK(mm != NULL && mm->ws != NULL);
    FBT_CHECK_EQ(fb_mm_prefault(mm, NULL, true), 0);
    FBT_CHECK_EQ(fp.n, 2);
    FBT_CHECK_EQ(fp_covers(0, 1, 0x400000, 0x440000, 0, f.fd), 0);
    fb_mm_put(mm);
    close(f.fd);
}

/* A restore asks for the host fds of all its files at once (host_fds_ahead), each object
 * once however many VMAs map it, and not for a lone file (its host_fd costs the same). */
static void test_mm_host_fds_ahead(void)
{
    struct test_file f1 = {.m = {&tf_ops}, .fd = open("/proc/self/exe", O_RDONLY)},
                     f2 = {.m = {&tf_ops}, .fd = open("/proc/self/exe", O_RDONLY)};
    struct fb_mm *mm;

    FBT_CHECK(f1.fd >= 0 && f2.fd >= 0);
    memset(&ahead, 0, sizeof(ahead));
    mm = fp_mm(&f1, NULL, 0, -1); /* two VMAs of f1 */
    FBT_CHECK(mm != NULL);
    FBT_CHECK_EQ(fb_mm_prefault(mm, NULL, true), 0);
    FBT_CHECK_EQ(ahead.calls, 0);
    fb_mm_put(mm);

    mm = fp_mm(&f1, NULL, 0, -1);
    FBT_CHECK(mm != NULL);
    FBT_CHECK_EQ(fb_mm_mmap(mm, 0x2000000, 16 * FB_PAGE_SIZE, PROT_READ | PROT_EXEC,
                            MAP_PRIVATE | MAP_FIXED, &f2.m, 0, 7, "c"),
                 0x2000000);
    FBT_CHECK_EQ(fb_mm_prefault(mm, NULL, true), 0);
    FBT_CHECK_EQ(ahead.calls, 1);
    FBT_CHECK_EQ(ahead.n, 2);
    FBT_CHECK(ahead.maps[0] == &f1.m && ahead.maps[1] == &f2.m);
    FBT_CHECK_EQ(fp.n, 3); /* and all three mapped from the host file */
    fb_mm_put(mm);
    close(f1.fd);
    close(f2.fd);
}

/* A warm restore maps the present pages of the memory file populating only its working set's
 * (and gaps of up to two pages between them), those first; the rest follows unpopulated, each
 * page mapped once. Without a working set, or on a fault, everything is populated. */
static void test_mm_prefault_memfile_ws(void)
{
    /* Present: pages 0-19 of an anonymous mapping; working set: 1, 2, 5 (gap of 2 to 2:
     * filled), 12 (gap of 6: not). */
    uint64_t ws[4], pop[20] = {0}, seen[20] = {0};
    struct fb_mm *mm = fb_mm_new(&mf, &fake_plat);
    int64_t a;
    int i, first_cold = -1;
    bool order_ok = true;

    FBT_CHECK(mm != NULL);
    memset(&fp, 0, sizeof(fp));
    fp.fail_at = -1;
    a = fb_mm_mmap(mm, 0, 20 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0,
                   7, NULL);
    FBT_CHECK(a > 0);
    for (i = 0; i < 20; i++)
        FBT_CHECK_EQ(fb_mm_copy_out(mm, (uint64_t)a + (uint64_t)i * 4096, "x", 1), 0);
    ws[0] = ((uint64_t)a >> 12) + 1;
    ws[1] = ws[0] + 1;
    ws[2] = ws[0] + 4;
    ws[3] = ws[0] + 11;
    mm->ws = malloc(sizeof(ws));
    FBT_CHECK(mm->ws != NULL);
    memcpy(mm->ws, ws, sizeof(ws));
    mm->nws = 4;
    FBT_CHECK_EQ(fb_mm_prefault(mm, NULL, true), 0);
    for (i = 0; i < fp.nm; i++) {
        const struct fb_map_req *r = &fp.mreq[i];
        for (uint64_t p = (r->addr - (uint64_t)a) >> 12; p < (r->addr + r->len - (uint64_t)a) >> 12;
             p++) {
            if (p < 20) {
                seen[p]++;
                pop[p] += r->populate;
            }
        }
        if (!r->populate && first_cold < 0)
            first_cold = i;
        if (r->populate && first_cold >= 0)
            order_ok = false;
    }
    for (i = 0; i < 20; i++) {
        FBT_CHECK_EQ(seen[i], 1);
        FBT_CHECK_EQ(pop[i], (uint64_t)(i >= 1 && i <= 5) || i == 12);
    }
    FBT_CHECK(order_ok);
    FBT_CHECK(mm->ws == NULL);
    fb_mm_put(mm);

    /* Without a working set: all populated. */
    mm = fb_mm_new(&mf, &fake_plat);
    FBT_CHECK(mm != NULL);
    memset(&fp, 0, sizeof(fp));
    a = fb_mm_mmap(mm, 0, 20 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0,
                   7, NULL);
    for (i = 0; i < 20; i++)
        FBT_CHECK_EQ(fb_mm_copy_out(mm, (uint64_t)a + (uint64_t)i * 4096, "x", 1), 0);
    FBT_CHECK_EQ(fb_mm_prefault(mm, NULL, true), 0);
    FBT_CHECK(fp.nm >= 1);
    for (i = 0; i < fp.nm; i++)
        FBT_CHECK(fp.mreq[i].populate);
    fb_mm_put(mm);
}

/* The pages a warm restore populates are exactly the working set's and those in gaps of at
 * most two between two of its pages, whatever the working set: random ones over 64 pages,
 * some absent (runs end there), one read-only (another VMA), working-set pages beyond both
 * ends too, against that definition page by page. */
static void test_mm_prefault_memfile_ws_random(void)
{
    uint32_t seed = 1;
    int round, bad = 0;

    for (round = 0; round < 300; round++) {
        uint64_t ws[80], base;
        bool present[64], in_ws[70 + 6] = {0};
        int pop[64] = {0}, seen[64] = {0}, nws = 0, i, j;
        struct fb_mm *mm = fb_mm_new(&mf, &fake_plat);
        int64_t a;

        FBT_CHECK(mm != NULL);
        memset(&fp, 0, sizeof(fp));
        fp.fail_at = -1;
        a = fb_mm_mmap(mm, 0, 64 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       NULL, 0, 7, NULL);
        FBT_CHECK(a > 0);
        base = (uint64_t)a >> 12;
        for (i = 0; i < 64; i++) {
            seed = seed * 1103515245u + 12345u;
            present[i] = (seed >> 16) % 8 != 0;
            if (present[i])
                FBT_CHECK_EQ(fb_mm_copy_out(mm, (uint64_t)a + (uint64_t)i * 4096, "x", 1), 0);
        }
        FBT_CHECK_EQ(fb_mm_mprotect(mm, (uint64_t)a + 40 * 4096, 4096, PROT_READ), 0);
        /* Working set: pages -3 .. 66 of the mapping, each with probability 1/3. */
        for (i = -3; i < 67; i++) {
            seed = seed * 1103515245u + 12345u;
            if ((seed >> 16) % 3 == 0) {
                ws[nws++] = base + (uint64_t)(int64_t)i;
                in_ws[i + 3] = true;
            }
        }
        mm->ws = malloc(sizeof(ws));
        FBT_CHECK(mm->ws != NULL);
        memcpy(mm->ws, ws, (size_t)nws * sizeof(*ws));
        mm->nws = (size_t)nws;
        FBT_CHECK_EQ(fb_mm_prefault(mm, NULL, true), 0);
        for (i = 0; i < fp.nm; i++) {
            const struct fb_map_req *r = &fp.mreq[i];
            for (uint64_t v = r->addr >> 12; v < (r->addr + r->len) >> 12; v++)
                if (v >= base && v < base + 64) {
                    seen[v - base]++;
                    pop[v - base] += r->populate;
                }
        }
        for (i = 0; i < 64; i++) {
            /* hot: in the working set, or between two of its pages at most two apart */
            bool hot = in_ws[i + 3];
            int lo = 0, hi = 0; /* in_ws indexes (page + 3) of the neighbours; 0: none */
            for (j = i + 2; j >= 0 && !lo; j--)
                if (in_ws[j])
                    lo = j + 1; /* + 1: index 0 exists too */
            for (j = i + 4; j < 70 && !hi; j++)
                if (in_ws[j])
                    hi = j + 1;
            if (!hot && lo && hi && hi - lo - 1 <= 2)
                hot = true;
            if (seen[i] != (present[i] ? 1 : 0) || pop[i] != (present[i] && hot ? 1 : 0))
                bad++;
        }
        fb_mm_put(mm);
    }
    FBT_CHECK_EQ(bad, 0);
}

int main(void)
{
    struct fb_error err;
    if (fb_memfile_init(&mf, 1ull << 32, &err) != 0) {
        printf("FAIL memfile_init: %s\n", err.msg);
        return 1;
    }
    FBT_RUN(test_radix_basic);
    FBT_RUN(test_memfile_alloc_free_reuse);
    FBT_RUN(test_memfile_limit);
    FBT_RUN(test_memfile_ending);
    FBT_RUN(test_vma_insert_split_merge);
    FBT_RUN(test_mm_mmap_copy_fork_cow);
    FBT_RUN(test_mm_fixed_noreplace_munmap);
    FBT_RUN(test_mm_munmap_punches_runs);
    FBT_RUN(test_mm_brk_mremap);
    FBT_RUN(test_mm_growsdown);
    FBT_RUN(test_mm_copy_in_host_mapped);
    FBT_RUN(test_mm_prefault_host_ws);
    FBT_RUN(test_mm_prefault_memfile_ws);
    FBT_RUN(test_mm_host_fds_ahead);
    FBT_RUN(test_mm_prefault_memfile_ws_random);
    fb_memfile_destroy(&mf);
    FBT_EXIT();
}
