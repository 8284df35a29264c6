/* Save and restore of memory: the memory file's pages (image section "memory" plus their
 * reference counts in "pagerefs") and each address space's VMAs and page table. Pages keep
 * their memory-file offsets across a restore, so page-table entries and page caches are saved
 * as they are; platform state (stub processes, what is mapped in them) is never saved. */
#include "kernel/mm/mm_save.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/util/cleanup.h"
#include "kernel/util/log.h"
#include "kernel/util/thread.h"
#include "kernel/util/sort.h"

#define PAGE FB_PAGE_SIZE

/* ---- the memory file ---------------------------------------------------------------------- */

int fb_memfile_save(struct fb_memfile *mf, struct fb_image_writer *w, struct fb_error *err)
{
    return fb_memfile_save_filtered(mf, w, NULL, NULL, err);
}

int fb_memfile_save_filtered(struct fb_memfile *mf, struct fb_image_writer *w,
                             bool (*skip)(uint64_t page, void *arg), void *arg,
                             struct fb_error *err)
{
    uint8_t *refs = NULL;
    size_t nrefs = 0, cap = 0;
    uint64_t p;
    off_t pos = 0;
    int r = -1;

    fb_mf_need(mf, 0, mf->top << FB_PAGE_SHIFT); /* a lazy restore's pages still in its image */
    if (fb_image_memory_begin(w, "memory", err) < 0)
        return -1;
    /* Walk the pages that have data (SEEK_DATA skips holes without touching them). */
    for (p = 1; p < mf->top; p++) {
        if (!mf->refs[p] || (skip && skip(p, arg)))
            continue;
        if (nrefs + FB_PAGEREF_BYTES > cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            uint8_t *n = realloc(refs, ncap);
            if (!n) {
                fb_error_set(err, ENOMEM, "out of memory");
                goto out;
            }
            refs = n;
            cap = ncap;
        }
        memcpy(refs + nrefs, &p, 8);
        memcpy(refs + nrefs + 8, &mf->refs[p], 4);
        nrefs += FB_PAGEREF_BYTES;
        if ((off_t)(p << FB_PAGE_SHIFT) >= pos) {
            pos = lseek(mf->fd, (off_t)(p << FB_PAGE_SHIFT), SEEK_DATA);
            if (pos < 0) {
                pos = (off_t)mf->size; /* nothing but holes from here on */
                continue;
            }
            if (pos > (off_t)(p << FB_PAGE_SHIFT))
                continue; /* a hole: the page is zero */
            pos = lseek(mf->fd, (off_t)(p << FB_PAGE_SHIFT), SEEK_HOLE);
            if (pos < 0)
                pos = (off_t)mf->size;
        }
        if (fb_image_memory_page(w, p, fb_mf_ptr(mf, p << FB_PAGE_SHIFT), err) < 0)
            goto out;
    }
    if (fb_image_memory_end(w, err) < 0)
        goto out;
    r = fb_image_add_raw(w, "pagerefs", refs ? refs : (uint8_t *)"", nrefs, err);
out:
    free(refs);
    return r;
}

struct load_ctx {
    struct fb_memfile *mf;
    struct fb_error *err;
    pthread_mutex_t lock; /* err: runs are loaded by several threads */
};

/* Where a run of image pages goes: straight into the Sentry's mapping of the memory file, the
 * pages allocated in one call first (MADV_POPULATE_WRITE) so that decompressing into them
 * takes no page fault per page, no copy through a buffer and no file lock (pwrite serialised
 * the loader threads on the memfd's inode lock). */
/* Stored pages [first, first+n) of an image against the reference counts it restored: inside
 * the pages the counts cover (top), and every one referenced (else it would join the free
 * list holding data, while the allocator hands free pages out as zero). */
static int stored_run_ok(const struct fb_memfile *mf, uint64_t first, uint32_t n,
                         struct fb_error *err)
{
    if (first == 0 || first + n > mf->top)
        return fb_error_set(err, EINVAL, "image memory pages %lu+%u are out of range",
                            (unsigned long)first, n);
    for (uint64_t k = first; k < first + n; k++)
        if (!mf->refs[k])
            return fb_error_set(err, EINVAL,
                                "corrupt image (memory page %lu is stored but not referenced)",
                                (unsigned long)k);
    return 0;
}

static void *load_dst(uint64_t first, uint32_t n, void *arg)
{
    struct load_ctx *c = arg;
    struct fb_error e = {0};
    void *p;

    if (stored_run_ok(c->mf, first, n, &e) < 0) {
        pthread_mutex_lock(&c->lock);
        *c->err = e;
        pthread_mutex_unlock(&c->lock);
        return NULL;
    }
    p = fb_mf_ptr(c->mf, first << FB_PAGE_SHIFT);
    /* Best effort: without it (kernels before 5.14) the pages fault in one by one instead. */
    (void)madvise(p, (size_t)n * PAGE, MADV_POPULATE_WRITE);
    return p;
}

static int load_refs(struct fb_memfile *mf, struct fb_image_reader *r, struct fb_error *err)
{
    _cleanup_free_ uint8_t *refs = NULL;
    size_t len, i;
    uint64_t top = 1, p;

    if (mf->top != 1)
        return fb_error_set(err, EINVAL, "restoring into a memory file already in use");
    if (fb_image_read_raw(r, "pagerefs", (void **)&refs, &len, err) < 0)
        return -1;
    if (len % FB_PAGEREF_BYTES)
        return fb_error_set(err, EINVAL, "corrupt image (page reference table)");
    /* An entry per page in use: more than the sandbox may hold is refused before any count is
     * set. (Each count set touches a page of the count table: a crafted table of entries far
     * apart would otherwise cost the Sentry a page of memory per entry, up to 256 MiB, and a
     * memory file it could never have made under its limit.) */
    if (mf->limit_pages && len / FB_PAGEREF_BYTES > mf->limit_pages)
        return fb_error_set(err, ENOMEM,
                            "image: its memory (%llu MiB in use) is more than the sandbox's "
                            "memory limit (%llu MiB)",
                            (unsigned long long)((len / FB_PAGEREF_BYTES) >> (20 - FB_PAGE_SHIFT)),
                            (unsigned long long)(mf->limit_pages >> (20 - FB_PAGE_SHIFT)));
    for (i = 0; i < len; i += FB_PAGEREF_BYTES) {
        uint32_t n;
        memcpy(&p, refs + i, 8);
        memcpy(&n, refs + i + 8, 4);
        /* Strictly increasing, in range, referenced. */
        if (p < top || p >= (mf->size >> FB_PAGE_SHIFT) || n == 0)
            return fb_error_set(err, EINVAL, "corrupt image (page reference table)");
        mf->refs[p] = n;
        top = p + 1;
    }
    if (fb_mf_rebuild(mf, top) < 0)
        return fb_error_set(err, ENOMEM, "rebuilding the memory file's free list");
    return 0;
}

int fb_memfile_load(struct fb_memfile *mf, struct fb_image_reader *r, struct fb_error *err)
{
    struct load_ctx c = {mf, err, PTHREAD_MUTEX_INITIALIZER};

    if (load_refs(mf, r, err) < 0 || fb_memfile_clear_stale(mf, err) < 0) /* (nothing lazy) */
        return -1;
    /* Two threads decompress and write at once: a restore has the CPUs to itself at this point
     * (the Gofer and the controller wait), and this is its longest step. */
    return fb_image_read_memory_into(r, "memory", load_dst, &c, 2, err);
}

/* ---- lazy restore -------------------------------------------------------------------------- */

enum { VERIFY_NONE, VERIFY_PENDING, VERIFY_RUNNING, VERIFY_FAILED };

struct fb_mf_lazy {
    int fd; /* the image, read again for pages wanted later */
    /* A warm pool's: the image's hot pages already decompressed (fb_memfile_hot_make), pages
     * 0..hot_pages-1 of the memory file, copied from instead of decompressed. */
    int hot_fd;
    bool hot_no_copy; /* copy_file_range refused between the two files (other filesystems) */
    uint64_t hot_pages;
    /* The memory section's checksum, checked after its headers (fb_memfile_verify_later) by
     * the early reader before anything else, or by whoever asks first (fb_memfile_verify).
     * verify_state: VERIFY_* below, under lock; verified signalled when it leaves PENDING or
     * RUNNING. */
    struct fb_image_section_info verify;
    _Atomic int verify_state;
    struct fb_error verify_err;
    pthread_cond_t verified;
    struct fb_image_chunk *chunks;
    size_t nchunks;
    pthread_mutex_t lock; /* fills after the restore: a task thread at a time */
    uint8_t *comp, *pages; /* one chunk, as stored and decompressed (allocated when needed) */
    size_t cached;         /* the chunk decompressed whole in pages, or SIZE_MAX */
};

static bool lazy_test(struct fb_memfile *mf, uint64_t p)
{
    return (atomic_load_explicit(&mf->lazy[p / 64], memory_order_acquire) >> (p % 64)) & 1;
}

/* How many pages of [lo, hi) are still in the image. */
static uint64_t lazy_count(struct fb_memfile *mf, uint64_t lo, uint64_t hi)
{
    uint64_t n = 0;
    for (uint64_t p = lo; p < hi; p++)
        n += lazy_test(mf, p);
    return n;
}

/* Page p's content is in place (or not wanted): clear its bit, once. */
static void lazy_clear(struct fb_memfile *mf, uint64_t p)
{
    uint64_t bit = 1ull << (p % 64);
    if (atomic_fetch_and_explicit(&mf->lazy[p / 64], ~bit, memory_order_release) & bit)
        atomic_fetch_sub_explicit(&mf->nlazy, 1, memory_order_release);
}

static int load_lazy_tables(struct fb_memfile *mf, struct fb_image_reader *r, bool checked,
                            uint64_t hot_pages, struct fb_error *err)
{
    struct fb_mf_lazy *lz;
    uint64_t n = 0;
    size_t i;

    if (load_refs(mf, r, err) < 0)
        return -1;
    lz = calloc(1, sizeof(*lz));
    if (!lz)
        return fb_error_set(err, ENOMEM, "out of memory");
    lz->fd = -1;
    lz->hot_fd = -1;
    lz->cached = SIZE_MAX;
    pthread_mutex_init(&lz->lock, NULL);
    pthread_cond_init(&lz->verified, NULL);
    mf->lz = lz;
    if (hot_pages >= mf->top && hot_pages > 1) {
        /* The caller's hot pages' file holds every page (fb_memfile_hot_write made it as long
         * as the memory file only with every chunk in it; the zero pages are holes there): no
         * chunk of the image is ever read, so none is looked at. The chunk table is one of
         * ranges of the file instead, every one copied from it (below hot_pages) by the fills
         * and faults; every page in use is marked, the zero ones too (copied as zeros). */
        lz->nchunks = (size_t)((mf->top - 1 + FB_IMAGE_CHUNK_PAGES - 1) / FB_IMAGE_CHUNK_PAGES);
        lz->chunks = calloc(lz->nchunks ? lz->nchunks : 1, sizeof(*lz->chunks));
        mf->lazy = calloc((mf->top + 63) / 64, sizeof(*mf->lazy));
        if (!lz->chunks || !mf->lazy)
            return fb_error_set(err, ENOMEM, "out of memory");
        for (i = 0; i < lz->nchunks; i++) {
            lz->chunks[i].first = 1 + (uint64_t)i * FB_IMAGE_CHUNK_PAGES;
            lz->chunks[i].n = (uint32_t)FB_MIN((uint64_t)FB_IMAGE_CHUNK_PAGES,
                                               mf->top - lz->chunks[i].first);
        }
        mf->lazy_top = mf->top;
        for (uint64_t p = 1; p < mf->top; p++)
            if (mf->refs[p]) {
                mf->lazy[p / 64] |= 1ull << (p % 64);
                n++;
            }
        atomic_store_explicit(&mf->nlazy, n, memory_order_release);
        return 0;
    }
    if ((checked ? fb_image_memory_chunk_headers(r, "memory", &lz->chunks, &lz->nchunks, err)
                 : fb_image_memory_chunks(r, "memory", &lz->chunks, &lz->nchunks, err)) < 0)
        return -1; /* the memory file's release frees lz */
    lz->fd = fcntl(fb_image_fd(r), F_DUPFD_CLOEXEC, 3);
    if (lz->fd < 0)
        return fb_error_set(err, errno, "keeping the image open: %s", strerror(errno));
    mf->lazy = calloc((mf->top + 63) / 64, sizeof(*mf->lazy));
    if (!mf->lazy)
        return fb_error_set(err, ENOMEM, "out of memory");
    mf->lazy_top = mf->top;
    for (i = 0; i < lz->nchunks; i++) {
        const struct fb_image_chunk *c = &lz->chunks[i];
        if (stored_run_ok(mf, c->first, c->n, err) < 0)
            return -1;
        for (uint64_t p = c->first; p < c->first + c->n; p++)
            atomic_fetch_or_explicit(&mf->lazy[p / 64], 1ull << (p % 64), memory_order_relaxed);
        n += c->n;
    }
    atomic_store_explicit(&mf->nlazy, n, memory_order_release);
    return 0;
}

int fb_memfile_load_lazy(struct fb_memfile *mf, struct fb_image_reader *r, bool checked,
                         uint64_t hot_pages, struct fb_error *err)
{
    if (load_lazy_tables(mf, r, checked, hot_pages, err) < 0)
        return -1;
    return fb_memfile_clear_stale(mf, err); /* a given file: the places of lazy pages kept */
}

/* Is page p wanted: in want, or in a gap of at most two pages between wanted ones (filled too,
 * so that the platform maps one run instead of two: a mapping costs more than two pages). */
static bool wanted(const uint64_t *want, uint64_t p)
{
#define W(q) ((want[(q) / 64] >> ((q) % 64)) & 1)
    if (!want || W(p))
        return true;
    return p >= 2 && ((W(p - 1) && (W(p + 1) || W(p + 2))) || (W(p - 2) && W(p + 1)));
#undef W
}

/* Write n pages from src at page p of the file open on fd, whole. */
static int pwrite_pages(int fd, const uint8_t *src, uint64_t p, uint64_t n, const char *what,
                        struct fb_error *err)
{
    size_t len = n * PAGE, done = 0;

    while (done < len) {
        ssize_t k = pwrite(fd, src + done, len - done, (off_t)((p << FB_PAGE_SHIFT) + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return fb_error_set(err, k < 0 ? errno : EIO, "%s: %s", what,
                                k < 0 ? strerror(errno) : "short write");
        done += (size_t)k;
    }
    return 0;
}

/* Put n decompressed pages at page p of the memory file. In place through the Sentry's
 * mapping, allocated in one call (the fastest, used where a restore waits for it), or frugal:
 * written with pwrite, so the Sentry neither fills nor later tears down page tables of its own
 * for them and the kernel does not zero pages about to be overwritten (a warm pool's restore,
 * where CPU counts and nobody waits). */
static int put_run(struct fb_memfile *mf, uint64_t p, const uint8_t *src, uint64_t n, bool frugal,
                   struct fb_error *err)
{
    if (frugal) {
        if (pwrite_pages(mf->fd, src, p, n, "writing memory pages", err) < 0)
            return -1;
    } else {
        uint8_t *to = fb_mf_ptr(mf, p << FB_PAGE_SHIFT);
        if (n > 1)
            (void)madvise(to, n * PAGE, MADV_POPULATE_WRITE); /* one call, not n faults */
        memcpy(to, src, n * PAGE);
    }
    for (uint64_t k = 0; k < n; k++)
        lazy_clear(mf, p + k);
    return 0;
}

/* Copy the lazy pages of chunk c that are in [lo, hi) and wanted (want NULL: all) from its
 * decompressed pages into place. */
static int lazy_place(struct fb_memfile *mf, const struct fb_image_chunk *c, const uint8_t *pages,
                      uint64_t lo, uint64_t hi, const uint64_t *want, bool frugal,
                      struct fb_error *err)
{
    uint64_t p = FB_MAX(lo, c->first), end = FB_MIN(hi, c->first + c->n);

    while (p < end) {
        uint64_t n = 0;
        while (p + n < end && lazy_test(mf, p + n) && wanted(want, p + n))
            n++;
        if (!n) {
            p++;
            continue;
        }
        if (put_run(mf, p, pages + (p - c->first) * PAGE, n, frugal, err) < 0)
            return -1;
        p += n;
    }
    return 0;
}

/* One past the last page of chunk c in [lo, hi) that is lazy and wanted, or 0 if none is. */
static uint64_t chunk_wanted_end(struct fb_memfile *mf, const struct fb_image_chunk *c,
                                 uint64_t lo, uint64_t hi, const uint64_t *want)
{
    uint64_t first = FB_MAX(lo, c->first);
    for (uint64_t p = FB_MIN(hi, c->first + c->n); p > first; p--)
        if (lazy_test(mf, p - 1) && wanted(want, p - 1))
            return p;
    return 0;
}

/* A page of a lazy restore could not be read back (the image was changed or is corrupt): the
 * sandbox cannot go on with memory it does not have. */
static __attribute__((noreturn)) void lazy_fatal(const struct fb_error *e)
{
    if (fb_mf_fatal)
        fb_mf_fatal(e);
    fb_err("restoring memory: %s", e->msg);
    _exit(1);
}

static bool fill_has_want(const struct fb_memfile *mf);

/* Copy the lazy, wanted pages of [lo, hi) from the hot pages' file into place: frugal with
 * copy_file_range (no buffer, no page tables of the Sentry's own), else read straight into the
 * Sentry's mapping, allocated in one call. */
static int hot_copy(struct fb_memfile *mf, uint64_t lo, uint64_t hi, const uint64_t *want,
                    bool frugal, struct fb_error *err)
{
    int fd = mf->lz->hot_fd;

    for (uint64_t p = lo, n; p < hi; p += n ? n : 1) {
        size_t len, done = 0;
        for (n = 0; p + n < hi && lazy_test(mf, p + n) && wanted(want, p + n); n++)
            ;
        if (!n)
            continue;
        len = n * PAGE;
        if (!frugal && n > 1)
            (void)madvise(fb_mf_ptr(mf, p << FB_PAGE_SHIFT), len, MADV_POPULATE_WRITE);
        while (done < len) {
            loff_t in = (loff_t)((p << FB_PAGE_SHIFT) + done), out = in;
            bool copy = frugal && !mf->lz->hot_no_copy;
            ssize_t k = copy ? copy_file_range(fd, &in, mf->fd, &out, len - done, 0)
                             : pread(fd, fb_mf_ptr(mf, (uint64_t)in), len - done, in);
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0 && copy && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP)) {
                /* Another filesystem (always, for a memory file on a tmpfs of the Sentry's or
                 * the server's own, the hot pages being a memfd): read into the mapping, then,
                 * which also gives an advised region its 2 MiB page. */
                mf->lz->hot_no_copy = true;
                continue;
            }
            if (k <= 0)
                return fb_error_set(err, k < 0 ? errno : EIO, "copying the hot pages: %s",
                                    k < 0 ? strerror(errno) : "cut short");
            done += (size_t)k;
        }
        for (uint64_t k = 0; k < n; k++)
            lazy_clear(mf, p + k);
    }
    return 0;
}

void fb_mf_fill(struct fb_memfile *mf, uint64_t off, uint64_t len)
{
    struct fb_mf_lazy *lz = mf->lz;
    uint64_t lo = off >> FB_PAGE_SHIFT, hi = (off + len + PAGE - 1) >> FB_PAGE_SHIFT, p, before;
    size_t a = 0, b;

    if (!lz || !len || lo >= mf->lazy_top)
        return;
    if (mf->fill && fill_has_want(mf)) {
        /* Only the restoring thread runs while a fill is in progress: let it end first (the
         * pages may be among its own). */
        struct fb_error e = {0};
        if (fb_memfile_fill_finish(mf, false, &e) < 0)
            lazy_fatal(&e);
    }
    hi = FB_MIN(hi, mf->lazy_top);
    /* Most accesses of a warm sandbox touch pages already in: no lock for those. */
    for (p = lo; p < hi && !lazy_test(mf, p); p++)
        ;
    if (p < hi && lz->verify_state != VERIFY_NONE) { /* a read before the section's check */
        struct fb_error e = {0};
        if (fb_memfile_verify(mf, &e) < 0)
            lazy_fatal(&e);
    }
    if (p == hi)
        return;
    pthread_mutex_lock(&lz->lock);
    before = lazy_count(mf, p, hi); /* (counted: what a fill of the working set left) */
    /* The first chunk ending above lo. */
    b = lz->nchunks;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (lz->chunks[m].first + lz->chunks[m].n <= lo)
            a = m + 1;
        else
            b = m;
    }
    for (; a < lz->nchunks && lz->chunks[a].first < hi; a++) {
        const struct fb_image_chunk *c = &lz->chunks[a];
        if (!chunk_wanted_end(mf, c, lo, hi, NULL))
            continue;
        if (c->first + c->n <= lz->hot_pages) { /* decompressed already: a copy */
            struct fb_error e = {0};
            if (hot_copy(mf, FB_MAX(lo, c->first), FB_MIN(hi, c->first + c->n), NULL, true,
                         &e) < 0)
                lazy_fatal(&e);
            continue;
        }
        if (lz->cached != a) {
            struct fb_error e = {0};
            lz->cached = SIZE_MAX;
            if (!lz->comp)
                lz->comp = malloc(FB_IMAGE_CHUNK_PAGES * PAGE);
            if (!lz->pages)
                lz->pages = malloc(FB_IMAGE_CHUNK_PAGES * PAGE);
            if (!lz->comp || !lz->pages)
                fb_error_set(&e, ENOMEM, "out of memory");
            else /* the whole chunk: its neighbours are likely next */
                fb_image_chunk_read(lz->fd, c, c->n, lz->comp, lz->pages, &e);
            if (e.code)
                lazy_fatal(&e);
            lz->cached = a;
        }
        (void)lazy_place(mf, c, lz->pages, lo, hi, NULL, false, NULL); /* in place: no error */
    }
    atomic_fetch_add(&mf->needed, before - lazy_count(mf, p, hi));
    pthread_mutex_unlock(&lz->lock);
}

void fb_memfile_verify_later(struct fb_memfile *mf, const struct fb_image_section_info *s)
{
    if (!mf->lz)
        return;
    mf->lz->verify = *s;
    mf->lz->verify_state = VERIFY_PENDING;
}

int fb_memfile_verify(struct fb_memfile *mf, struct fb_error *err)
{
    struct fb_mf_lazy *lz = mf->lz;
    int st;

    if (!lz)
        return 0;
    pthread_mutex_lock(&lz->lock);
    if (lz->verify_state == VERIFY_PENDING) {
        struct fb_error e = {0};
        lz->verify_state = VERIFY_RUNNING;
        pthread_mutex_unlock(&lz->lock);
        int r = fb_image_section_verify(lz->fd, &lz->verify, &e);
        pthread_mutex_lock(&lz->lock);
        lz->verify_err = e;
        lz->verify_state = r < 0 ? VERIFY_FAILED : VERIFY_NONE;
        pthread_cond_broadcast(&lz->verified);
    }
    while (lz->verify_state == VERIFY_RUNNING)
        pthread_cond_wait(&lz->verified, &lz->lock);
    st = lz->verify_state;
    if (st == VERIFY_FAILED)
        *err = lz->verify_err;
    pthread_mutex_unlock(&lz->lock);
    return st == VERIFY_FAILED ? -1 : 0;
}

struct hot_job {
    struct fb_memfile *mf;
    const uint64_t *_Atomic want; /* NULL: not known yet, every chunk in order */
    bool frugal;
    /* Started before the kernel objects were loaded (which may read pages of the fill through
     * fb_mf_fill meanwhile): chunks are decompressed into a buffer and copied into place, so that
     * a page only ever holds its final bytes (LZ4 writes ahead of itself in its output). */
    bool early;
    uint64_t early_limit; /* until narrowed: chunks starting below this page only */
    atomic_size_t next;
    pthread_mutex_t lock;
    struct fb_error *err;
    atomic_bool failed;
};

static void *hot_worker(void *arg)
{
    struct hot_job *j = arg;
    struct fb_mf_lazy *lz = j->mf->lz;
    uint8_t *pages = malloc(FB_IMAGE_CHUNK_PAGES * PAGE), *comp = malloc(FB_IMAGE_CHUNK_PAGES * PAGE);
    struct fb_error e = {0};
    size_t i;

    if (!pages || !comp)
        fb_error_set(&e, ENOMEM, "out of memory");
    else
        (void)fb_memfile_verify(j->mf, &e); /* nothing is read from an image not checked */
    while (!e.code && !atomic_load(&j->failed)) {
        const struct fb_image_chunk *c;
        const uint64_t *want = atomic_load(&j->want);
        if (!want) {
            /* Not narrowed yet: only the chunks within the budget, in order. Only the helper
             * runs now (the caller joins at the finish, after narrowing), so looking before
             * taking is no race. */
            i = atomic_load(&j->next);
            if (i >= lz->nchunks || lz->chunks[i].first >= j->early_limit)
                break;
        }
        if ((i = atomic_fetch_add(&j->next, 1)) >= lz->nchunks)
            break;
        c = &lz->chunks[i];
        want = atomic_load(&j->want);
        uint64_t end = chunk_wanted_end(j->mf, c, 0, UINT64_MAX, want), p;
        if (!end)
            continue;
        if (c->first + c->n <= lz->hot_pages) { /* decompressed already */
            (void)hot_copy(j->mf, c->first, end, want, j->frugal, &e);
            continue;
        }
        for (p = c->first; p < c->first + c->n && lazy_test(j->mf, p) && wanted(want, p); p++)
            ;
        if (p == c->first + c->n && !j->frugal && !j->early) {
            /* Every page of it is wanted (an image regrouped by its working set): straight
             * into place, allocated in one call. */
            uint8_t *to = fb_mf_ptr(j->mf, c->first << FB_PAGE_SHIFT);
            (void)madvise(to, (size_t)c->n * PAGE, MADV_POPULATE_WRITE);
            if (fb_image_chunk_read(lz->fd, c, c->n, comp, to, &e) == 0)
                for (p = c->first; p < c->first + c->n; p++)
                    lazy_clear(j->mf, p);
            continue;
        }
        /* Decompressed only as far as the last wanted page. Read through the fd with the
         * chunk's own checksum checked, not from the mapping the section was checked in: a
         * file changed since gives an error, never wrong memory or a SIGBUS. */
        if (fb_image_chunk_read(lz->fd, c, (uint32_t)(end - c->first), comp, pages, &e) == 0)
            (void)lazy_place(j->mf, c, pages, 0, end, want, j->frugal, &e);
    }
    if (e.code) {
        pthread_mutex_lock(&j->lock);
        if (!atomic_exchange(&j->failed, true))
            *j->err = e;
        pthread_mutex_unlock(&j->lock);
    }
    free(pages);
    free(comp);
    return NULL;
}

static void job_init(struct hot_job *j, struct fb_memfile *mf, const uint64_t *want, bool frugal,
                     struct fb_error *err)
{
    *j = (struct hot_job){.mf = mf, .frugal = frugal, .err = err};
    atomic_init(&j->want, want);
    atomic_init(&j->next, 0);
    atomic_init(&j->failed, false);
    pthread_mutex_init(&j->lock, NULL);
}

/* A fill in progress (fb_memfile_fill_start): the job its threads share. */
struct fb_mf_fill {
    struct hot_job j;
    struct fb_error err;
    pthread_t th;
    bool two;
};

int fb_memfile_fill_start(struct fb_memfile *mf, const uint64_t *want, uint64_t early_pages,
                          struct fb_error *err)
{
    struct fb_mf_fill *f;

    if (!mf->lz)
        return 0;
    f = calloc(1, sizeof(*f));
    if (!f)
        return fb_error_set(err, ENOMEM, "out of memory");
    job_init(&f->j, mf, want, false, &f->err);
    f->j.early = !want;
    f->j.early_limit = 1 + early_pages;
    mf->fill = f;
    /* The helper on any CPU (the sandbox is pinned to one): it fills while the caller maps the
     * address spaces, then the caller joins it in fb_memfile_fill_finish. */
    f->two = fb_thread_start_any_cpu(&f->th, hot_worker, &f->j) == 0;
    return 0;
}

int fb_memfile_fill_finish(struct fb_memfile *mf, bool cancel, struct fb_error *err)
{
    struct fb_mf_fill *f = mf->fill;
    bool failed;

    if (!f)
        return 0;
    if (cancel) /* no chunk is taken any more: the pages stay lazy */
        atomic_store(&f->j.next, SIZE_MAX / 2);
    else
        hot_worker(&f->j); /* what the helper has not taken yet */
    if (f->two)
        pthread_join(f->th, NULL);
    mf->fill = NULL;
    failed = atomic_load(&f->j.failed);
    if (failed)
        *err = f->err;
    pthread_mutex_destroy(&f->j.lock);
    free(f);
    return failed ? -1 : 0;
}

bool fb_mf_fill_wants(const struct fb_memfile *mf, uint64_t off)
{
    uint64_t p = off >> FB_PAGE_SHIFT;
    const uint64_t *want = mf->fill ? atomic_load(&mf->fill->j.want) : NULL;
    return want && p < mf->lazy_top && wanted(want, p);
}

/* Does the fill in progress know what it wants yet (else it reads every chunk in order)? */
static bool fill_has_want(const struct fb_memfile *mf)
{
    return atomic_load(&mf->fill->j.want) != NULL;
}

void fb_memfile_fill_narrow(struct fb_memfile *mf, const uint64_t *want)
{
    if (mf->fill)
        atomic_store(&mf->fill->j.want, want);
}

int fb_memfile_fill_wanted(struct fb_memfile *mf, const uint64_t *want, bool frugal,
                           struct fb_error *err)
{
    struct hot_job j;

    if (!mf->lz)
        return 0;
    if (!frugal)
        return fb_memfile_fill_start(mf, want, 0, err) < 0 ? -1
                                                         : fb_memfile_fill_finish(mf, false, err);
    /* Frugal: one thread (a thread and its malloc arena cost more CPU than they save). */
    job_init(&j, mf, want, true, err);
    hot_worker(&j);
    pthread_mutex_destroy(&j.lock);
    return atomic_load(&j.failed) ? -1 : 0;
}

/* ---- the hot pages, decompressed once for many restores ----------------------------------- */

#define HOT_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* One past the last page the image's memory file uses (its page reference table), or 0. */
static uint64_t refs_top(struct fb_image_reader *r)
{
    struct fb_error e = {0};
    void *refs = NULL;
    size_t len = 0;
    uint64_t p = 0;

    if (fb_image_read_raw(r, "pagerefs", &refs, &len, &e) == 0 && len >= FB_PAGEREF_BYTES &&
        len % FB_PAGEREF_BYTES == 0)
        memcpy(&p, (uint8_t *)refs + len - FB_PAGEREF_BYTES, 8);
    free(refs);
    return p && p < UINT64_MAX ? p + 1 : 0;
}

int fb_memfile_hot_write(const char *path, uint64_t max_pages, int fd, uint64_t *pages,
                         struct fb_error *err)
{
    struct fb_image_reader *r;
    struct fb_image_chunk *chunks = NULL;
    size_t nchunks = 0, wslen = 0, i;
    uint8_t *comp = NULL, *buf = NULL;
    void *ws = NULL;
    uint64_t end = 0;
    long wsn;
    int rc = -1;

    *pages = 0;
    if (fb_image_open(path, &r, err) < 0)
        return -1;
    if (!fb_image_section(r, "pagemap") || !fb_image_section(r, "workingset")) {
        rc = 0; /* hot pages not first: nothing to gain */
        goto out;
    }
    if (fb_image_read_raw(r, "workingset", &ws, &wslen, err) < 0 ||
        fb_image_memory_chunks(r, "memory", &chunks, &nchunks, err) < 0)
        goto out;
    wsn = fb_image_ws_check(ws, wslen, FB_MM_MAX_ADDR >> FB_PAGE_SHIFT);
    if (wsn < 0) {
        fb_error_set(err, EINVAL, "image: corrupt kernel state (working set)");
        goto out;
    }
    comp = malloc(FB_IMAGE_CHUNK_PAGES * PAGE);
    buf = malloc(FB_IMAGE_CHUNK_PAGES * PAGE);
    if (!comp || !buf) {
        fb_error_set(err, ENOMEM, "the hot pages' file: out of memory");
        goto out;
    }
    /* The chunks a restore's early reader takes (those starting within the working set's size:
     * the hot pages come first), then the others up to max_pages: a request that strays from
     * the training run's working set then has its page copied from here, not a chunk read,
     * checked and decompressed on the fault (one such page of the python example with a
     * different event: 0.3 ms of the request's path). */
    for (i = 0; i < nchunks && (chunks[i].first < 1 + (uint64_t)wsn ||
                                chunks[i].first + chunks[i].n <= max_pages);
         i++) {
        const struct fb_image_chunk *c = &chunks[i];
        if (fb_image_chunk_read(fb_image_fd(r), c, c->n, comp, buf, err) < 0 ||
            pwrite_pages(fd, buf, c->first, c->n, "writing the hot pages' file", err) < 0)
            goto out;
        end = c->first + c->n;
    }
    /* Every chunk in it: as long as the memory file the image fills (its last pages may be
     * zero pages, holes here too), which tells a restore that it holds every page. */
    if (i == nchunks && end) {
        uint64_t top = refs_top(r);
        if (top > end && top <= max_pages) {
            if (ftruncate(fd, (off_t)(top << FB_PAGE_SHIFT)) != 0) {
                fb_error_set(err, errno, "the hot pages' file: %s", strerror(errno));
                goto out;
            }
            end = top;
        }
    }
    *pages = end;
    rc = 0;
out:
    free(comp);
    free(buf);
    free(ws);
    free(chunks);
    fb_image_close(r);
    return rc;
}

int fb_memfile_hot_make(const char *path, uint64_t max_pages, int *out, uint64_t *pages,
                        struct fb_error *err)
{
    int fd = memfd_create("fnbox-hot-pages", MFD_CLOEXEC | MFD_ALLOW_SEALING);

    *out = -1;
    *pages = 0;
    if (fd < 0)
        return fb_error_set(err, errno, "the hot pages' file: %s", strerror(errno));
    if (fb_memfile_hot_write(path, max_pages, fd, pages, err) < 0) {
        close(fd);
        return -1;
    }
    if (*pages == 0) { /* hot pages not first: nothing to gain */
        close(fd);
        return 0;
    }
    if (fcntl(fd, F_ADD_SEALS, HOT_SEALS) != 0) {
        fb_error_set(err, errno, "sealing the hot pages' file: %s", strerror(errno));
        close(fd);
        *pages = 0;
        return -1;
    }
    *out = fd;
    return 0;
}

int fb_memfile_hot_check(int fd, uint64_t *pages, struct fb_error *err)
{
    struct stat st;
    int seals = fcntl(fd, F_GET_SEALS), fl = fcntl(fd, F_GETFL);
    /* Sealed against change (fnbox serve's), or a file open read-only that nobody may write
     * and that has one name at most (the command line's memory cache, api/mem_cache.h; an
     * entry may be removed while a restore uses it). */
    bool sealed = seals >= 0 && (seals & HOT_SEALS) == HOT_SEALS;

    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size % PAGE ||
        !(sealed || (fl >= 0 && (fl & O_ACCMODE) == O_RDONLY && !(st.st_mode & 0222) &&
                     st.st_nlink <= 1)))
        return fb_error_set(err, EINVAL, "the hot pages' file is not a sealed memory file of "
                            "whole pages, nor a read-only file of them");
    *pages = (uint64_t)st.st_size >> FB_PAGE_SHIFT;
    return 0;
}

int fb_memfile_use_hot(struct fb_memfile *mf, int fd, struct fb_error *err)
{
    uint64_t pages;

    if (!mf->lz || fb_memfile_hot_check(fd, &pages, err) < 0) {
        close(fd);
        return mf->lz ? -1 : 0;
    }
    mf->lz->hot_fd = fd;
    mf->lz->hot_pages = FB_MIN(pages, mf->lazy_top);
    return 0;
}

void fb_mf_lazy_forget(struct fb_memfile *mf, uint64_t page, uint64_t n)
{
    for (uint64_t p = page; p < page + n && p < mf->lazy_top; p++)
        lazy_clear(mf, p);
}

void fb_mf_lazy_release(struct fb_memfile *mf)
{
    struct fb_mf_lazy *lz = mf->lz;

    if (!lz)
        return;
    if (lz->fd >= 0)
        close(lz->fd);
    if (lz->hot_fd >= 0)
        close(lz->hot_fd);
    free(lz->chunks);
    free(lz->comp);
    free(lz->pages);
    pthread_mutex_destroy(&lz->lock);
    pthread_cond_destroy(&lz->verified);
    free(lz);
    mf->lz = NULL;
    atomic_store(&mf->nlazy, 0);
    mf->lazy_top = 0;
    free((void *)mf->lazy);
    mf->lazy = NULL;
}

/* ---- renumbering --------------------------------------------------------------------------- */


/* The index of page x in a reference table (FB_PAGEREF_BYTES records, pages strictly
 * increasing), or SIZE_MAX if the table does not name it. */
static size_t ref_index(const uint8_t *refs, size_t nrefs, uint64_t x)
{
    const uint8_t *hit = bsearch(&x, refs, nrefs, FB_PAGEREF_BYTES, fb_cmp_u64);
    return hit ? (size_t)(hit - refs) / FB_PAGEREF_BYTES : SIZE_MAX;
}

int fb_memfile_renumber_order(int fd, const uint64_t *hot, size_t nhot, uint64_t **order,
                              size_t *n, struct fb_error *err)
{
    struct fb_image_reader *r;
    uint8_t *refs = NULL, *placed = NULL;
    uint64_t *o = NULL, p;
    size_t len, i, k = 0, nrefs;
    int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);

    if (dfd < 0)
        return fb_error_set(err, errno, "image: %s", strerror(errno));
    if (fb_image_fdopen(dfd, "image", &r, err) < 0) /* takes dfd */
        return -1;
    if (fb_image_read_raw(r, "pagerefs", (void **)&refs, &len, err) < 0) {
        fb_image_close(r);
        return -1;
    }
    fb_image_close(r);
    nrefs = len / FB_PAGEREF_BYTES;
    if (len % FB_PAGEREF_BYTES || !(o = malloc((nrefs ? nrefs : 1) * sizeof(*o))) ||
        !(placed = calloc(nrefs ? nrefs : 1, 1))) {
        free(refs);
        free(o);
        return fb_error_set(err, len % FB_PAGEREF_BYTES ? EINVAL : ENOMEM,
                            "image: page reference table");
    }
    /* The table must be strictly increasing, as load_refs requires (a page twice would leave
     * a renumbered slot unwritten), and is searched below. */
    for (i = 0, p = 0; i < nrefs; i++) {
        uint64_t page;
        memcpy(&page, refs + i * FB_PAGEREF_BYTES, 8);
        if (page <= p) { /* page 0 is never a page either */
            free(refs);
            free(o);
            free(placed);
            return fb_error_set(err, EINVAL, "corrupt image (page reference table)");
        }
        p = page;
    }
    /* The hot pages in the order given (a page named twice, or one the table does not name:
     * a page the invocation allocated itself, skipped), then the others, increasing. */
    for (i = 0; i < nhot; i++) {
        size_t at = ref_index(refs, nrefs, hot[i]);
        if (at != SIZE_MAX && !placed[at]) {
            placed[at] = 1;
            o[k++] = hot[i];
        }
    }
    for (i = 0; i < nrefs; i++)
        if (!placed[i])
            memcpy(&o[k++], refs + i * FB_PAGEREF_BYTES, 8);
    free(refs);
    free(placed);
    *order = o;
    *n = k;
    return 0;
}

int fb_memfile_renumber_raw(const char *name, const void *in, size_t len, void **out,
                            size_t *outlen, void *arg, struct fb_error *err)
{
    const struct fb_image_rewrite *rw = arg;
    uint64_t (*pairs)[2];
    uint8_t *o;
    size_t i, n = len / FB_PAGEREF_BYTES;

    if (strcmp(name, "pagerefs") != 0 || !rw->norder)
        return 0;
    if (len % FB_PAGEREF_BYTES || n != rw->norder)
        return fb_error_set(err, EINVAL, "image: renumbering: %zu referenced pages, %zu ordered",
                            n, rw->norder);
    pairs = malloc((n ? n : 1) * sizeof(*pairs));
    o = calloc(1, len ? len : 1); /* a slot no record reaches keeps page 0: refused below */
    if (!pairs || !o) {
        free(pairs);
        free(o);
        return fb_error_set(err, ENOMEM, "out of memory");
    }
    for (i = 0; i < n; i++) {
        pairs[i][0] = rw->order[i];
        pairs[i][1] = i + 1;
    }
    qsort(pairs, n, sizeof(*pairs), fb_cmp_u64); /* by the first u64: the old page */
    /* Every record to its new page; the order is increasing in new pages by construction. */
    for (i = 0; i < n; i++) {
        uint64_t old, key[2], (*hit)[2];
        memcpy(&old, (const uint8_t *)in + i * FB_PAGEREF_BYTES, 8);
        key[0] = old;
        hit = bsearch(key, pairs, n, sizeof(*pairs), fb_cmp_u64);
        if (!hit) {
            free(pairs);
            free(o);
            return fb_error_set(err, EINVAL, "image: renumbering: page %lu not in the order",
                                (unsigned long)old);
        }
        memcpy(o + ((*hit)[1] - 1) * FB_PAGEREF_BYTES, &(*hit)[1], 8);
        memcpy(o + ((*hit)[1] - 1) * FB_PAGEREF_BYTES + 8,
               (const uint8_t *)in + i * FB_PAGEREF_BYTES + 8, 4);
    }
    free(pairs);
    for (i = 0; i < n; i++) { /* two records for one page leave another page without one */
        uint64_t page;
        memcpy(&page, o + i * FB_PAGEREF_BYTES, 8);
        if (page != i + 1) {
            free(o);
            return fb_error_set(err, EINVAL, "corrupt image (page reference table)");
        }
    }
    *out = o;
    *outlen = len;
    return 0;
}

#define REMAP_LEAVES_MIN 4096

int fb_memfile_remap_load(struct fb_memfile *mf, struct fb_image_reader *r, struct fb_error *err)
{
    uint8_t *map = NULL;
    size_t len, n, i;
    uint64_t leaves = 0, *leaf = NULL;

    if (!fb_image_section(r, "pagemap"))
        return 0;
    if (fb_image_read_raw(r, "pagemap", (void **)&map, &len, err) < 0)
        return -1;
    n = len / 8;
    if (len % 8 || n >= mf->top) {
        fb_error_set(err, EINVAL, "corrupt image (page map)");
        goto fail;
    }
    /* One bit per leaf the tree has: per 512 pages of the memory file (16 KiB for 256 GiB). */
    leaf = calloc((mf->size >> (FB_PAGE_SHIFT + 15)) + 1, sizeof(*leaf));
    if (!leaf) {
        fb_error_set(err, ENOMEM, "out of memory");
        goto fail;
    }
    for (i = 0; i < n; i++) {
        uint64_t old;
        memcpy(&old, map + i * 8, 8);
        if (old == 0 || old >= (mf->size >> FB_PAGE_SHIFT) || fb_radix_get(&mf->remap, old)) {
            fb_error_set(err, EINVAL, "corrupt image (page map)");
            goto fail;
        }
        /* A leaf of the tree per 512 saved pages that have any entry: a map spread thin on
         * purpose would cost 4 KiB per entry. Saved pages are a memory file's, dense but for
         * what was freed before the checkpoint: refuse a map that needs more leaves than
         * REMAP_LEAVES_MIN or one per 64 entries, whichever is more (a tree of at most ~64
         * bytes per entry, or 16 MiB). */
        if (!(leaf[old >> 15] & (1ull << ((old >> 9) & 63)))) {
            leaf[old >> 15] |= 1ull << ((old >> 9) & 63);
            if (++leaves > FB_MAX((uint64_t)REMAP_LEAVES_MIN, n / 64)) {
                fb_error_set(err, EINVAL, "corrupt image (page map too sparse)");
                goto fail;
            }
        }
        if (fb_radix_set(&mf->remap, old, i + 1) < 0) {
            fb_error_set(err, ENOMEM, "out of memory");
            goto fail;
        }
    }
    free(map);
    free(leaf);
    mf->nremap = n;
    return 0;
fail:
    free(map);
    free(leaf);
    fb_memfile_remap_end(mf);
    return -1;
}

void fb_memfile_remap_end(struct fb_memfile *mf)
{
    fb_radix_destroy(&mf->remap, NULL, NULL);
    mf->nremap = 0;
}

uint64_t fb_mf_saved_off(const struct fb_memfile *mf, uint64_t off)
{
    uint64_t now;

    if (!mf->nremap)
        return off;
    now = fb_radix_get(&mf->remap, off >> FB_PAGE_SHIFT);
    return now ? (now << FB_PAGE_SHIFT) | (off & (PAGE - 1)) : UINT64_MAX;
}

/* ---- address spaces ---------------------------------------------------------------------- */

void fb_mm_save(struct fb_mm *mm, struct fb_sw *w, uint64_t (*map_id)(struct fb_mappable *, void *),
                void *arg)
{
    fb_mm_save_filtered(mm, w, map_id, NULL, arg);
}

void fb_mm_save_filtered(struct fb_mm *mm, struct fb_sw *w,
                         uint64_t (*map_id)(struct fb_mappable *, void *),
                         bool (*skip)(uint64_t page, void *arg), void *arg)
{
    size_t i;
    uint64_t vpn = 0, found, pte, n = 0;

    fb_sw_array(w, 15);
    fb_sw_u64(w, mm->brk_start);
    fb_sw_u64(w, mm->brk);
    fb_sw_u64(w, mm->mmap_base);
    fb_sw_u64(w, mm->stack_start);
    fb_sw_u64(w, mm->arg_start);
    fb_sw_u64(w, mm->arg_end);
    fb_sw_u64(w, mm->env_start);
    fb_sw_u64(w, mm->env_end);
    fb_sw_u64(w, mm->stack_limit);
    fb_sw_str(w, mm->exe);
    fb_sw_bin(w, mm->auxv, (size_t)mm->auxv_len * sizeof(uint64_t));
    fb_sw_u64(w, mm->resident);
    fb_sw_array(w, (uint32_t)mm->vmas.n);
    for (i = 0; i < mm->vmas.n; i++) {
        struct fb_vma *v = &mm->vmas.v[i];
        fb_sw_array(w, 8);
        fb_sw_u64(w, v->start);
        fb_sw_u64(w, v->end);
        fb_sw_u64(w, v->prot);
        fb_sw_u64(w, v->maxprot);
        fb_sw_u64(w, v->flags & ~FB_VMA_HOSTMAP);
        fb_sw_u64(w, v->map ? map_id(v->map, arg) : 0);
        fb_sw_u64(w, v->off);
        fb_sw_str(w, v->name);
    }
    /* Page table: (vpn, entry) pairs, flattened, without the platform bit. */
    while (fb_radix_next(&mm->pt, vpn, UINT64_MAX >> FB_PAGE_SHIFT, &found, &pte)) {
        if (!skip || !skip(pte >> FB_PAGE_SHIFT, arg))
            n++;
        vpn = found + 1;
    }
    fb_sw_array(w, (uint32_t)(n * 2));
    vpn = 0;
    while (fb_radix_next(&mm->pt, vpn, UINT64_MAX >> FB_PAGE_SHIFT, &found, &pte)) {
        if (skip && skip(pte >> FB_PAGE_SHIFT, arg)) {
            vpn = found + 1;
            continue; /* refaults after the restore */
        }
        fb_sw_u64(w, found);
        fb_sw_u64(w, pte & ~FB_PTE_MAPPED);
        vpn = found + 1;
    }
    /* The pages left out: a warm restore brings them back before the first invocation. */
    n = 0;
    vpn = 0;
    while (skip && fb_radix_next(&mm->pt, vpn, UINT64_MAX >> FB_PAGE_SHIFT, &found, &pte)) {
        n += skip(pte >> FB_PAGE_SHIFT, arg);
        vpn = found + 1;
    }
    fb_sw_array(w, (uint32_t)n);
    vpn = 0;
    while (skip && fb_radix_next(&mm->pt, vpn, UINT64_MAX >> FB_PAGE_SHIFT, &found, &pte)) {
        if (skip(pte >> FB_PAGE_SHIFT, arg))
            fb_sw_u64(w, found);
        vpn = found + 1;
    }
}

struct fb_mm *fb_mm_load(struct fb_sr *r, struct fb_memfile *mf, struct fb_platform *plat,
                         struct fb_mappable *(*map_lookup)(uint64_t id, void *), void *arg)
{
    struct fb_mm *mm = fb_mm_new(mf, plat);
    struct fb_sr s, vs, ps;
    size_t got;
    uint32_t i;

    if (!mm) {
        *r->err = true;
        return NULL;
    }
    fb_sr_sub(r, &s);
    mm->brk_start = fb_sr_u64(&s);
    mm->brk = fb_sr_u64(&s);
    mm->mmap_base = fb_sr_u64(&s);
    mm->stack_start = fb_sr_u64(&s);
    mm->arg_start = fb_sr_u64(&s);
    mm->arg_end = fb_sr_u64(&s);
    mm->env_start = fb_sr_u64(&s);
    mm->env_end = fb_sr_u64(&s);
    mm->stack_limit = fb_sr_u64(&s);
    mm->exe = fb_sr_strdup(&s);
    fb_sr_bin(&s, mm->auxv, sizeof(mm->auxv), &got);
    mm->auxv_len = (int)(got / sizeof(uint64_t));
    fb_sr_u64(&s); /* resident: recounted below */
    fb_sr_sub(&s, &vs);
    for (i = 0; i < vs.n && !*r->err; i++) {
        struct fb_sr v;
        struct fb_vma vma = {0};
        uint64_t id;
        fb_sr_sub(&vs, &v);
        vma.start = fb_sr_u64(&v);
        vma.end = fb_sr_u64(&v);
        vma.prot = (uint32_t)fb_sr_u64(&v);
        vma.maxprot = (uint32_t)fb_sr_u64(&v);
        vma.flags = (uint32_t)fb_sr_u64(&v) & ~FB_VMA_HOSTMAP; /* the new one maps nothing yet */
        id = fb_sr_u64(&v);
        vma.off = fb_sr_u64(&v);
        vma.name = fb_sr_strdup(&v);
        if (*r->err || vma.start >= vma.end || (vma.start | vma.end) & (PAGE - 1) ||
            vma.end > FB_MM_MAX_ADDR || !fb_vma_range_free(&mm->vmas, vma.start, vma.end)) {
            free(vma.name);
            *r->err = true;
            break;
        }
        if (id) {
            vma.map = map_lookup(id, arg); /* returns a new reference */
            if (!vma.map) {
                free(vma.name);
                *r->err = true;
                break;
            }
        }
        if (fb_vma_insert(&mm->vmas, &vma) != 0) {
            if (vma.map)
                fb_vma_map_put(vma.map);
            free(vma.name);
            *r->err = true;
        }
    }
    fb_sr_sub(&s, &ps);
    if (ps.n % 2)
        *r->err = true;
    for (i = 0; i + 1 < ps.n && !*r->err; i += 2) {
        uint64_t vpn = fb_sr_u64(&ps), pte = fb_sr_u64(&ps) & ~FB_PTE_MAPPED;
        uint64_t page;
        pte = pte ? fb_mf_saved_off(mf, pte) : 0; /* the page's number now (flags kept) */
        page = pte >> FB_PAGE_SHIFT;
        if (*r->err || !pte || page == 0 || page >= mf->top || !mf->refs[page] ||
            vpn >= (FB_MM_MAX_ADDR >> FB_PAGE_SHIFT) || fb_radix_set(&mm->pt, vpn, pte) < 0) {
            *r->err = true;
            break;
        }
        mm->resident++;
    }
    if (!*r->err && fb_sr_left(&s)) {
        struct fb_sr hs;
        fb_sr_sub(&s, &hs);
        if (hs.n > (1u << 26))
            *r->err = true;
        else if (hs.n && (mm->refault = calloc(hs.n, sizeof(uint64_t))))
            for (i = 0; i < hs.n && !*r->err; i++) {
                uint64_t vpn = fb_sr_u64(&hs);
                if (vpn >= (FB_MM_MAX_ADDR >> FB_PAGE_SHIFT))
                    *r->err = true;
                mm->refault[mm->nrefault++] = vpn;
            }
    }
    if (*r->err) {
        /* The page table's references belong to the memory file's saved counts: do not put
         * them twice on the way out. */
        fb_radix_destroy(&mm->pt, NULL, NULL);
        fb_mm_put(mm);
        return NULL;
    }
    return mm;
}

/* ---- working set ------------------------------------------------------------------------- */

static pthread_mutex_t ws_lock = PTHREAD_MUTEX_INITIALIZER;
/* What was noted: (index << 40 | vpn) (vpns fit in 36 bits: 47-bit addresses) and the
 * memory-file page it mapped then (the image's hot page), 0 for none. */
struct ws_ent {
    uint64_t key, page;
};
static struct ws_ent *ws_ents;
static size_t ws_n, ws_cap;

#define WS_KEY(index, vpn) ((uint64_t)(index) << 40 | WS_VPN(vpn))
#define WS_INDEX(key)      ((uint32_t)((key) >> 40))
#define WS_VPN(key)        ((key) & ((1ull << 40) - 1))

static void ws_push(uint64_t key, uint64_t page)
{
    if (ws_n == ws_cap) {
        size_t nc = ws_cap ? ws_cap * 2 : 4096;
        struct ws_ent *np = nc < (1u << 24) ? realloc(ws_ents, nc * sizeof(*np)) : NULL;
        if (!np)
            return; /* a shorter working set: restores fault the rest in */
        ws_ents = np;
        ws_cap = nc;
    }
    ws_ents[ws_n++] = (struct ws_ent){key, page};
}

void fb_mm_ws_note(uint32_t index, uint64_t vpn, uint64_t page)
{
    pthread_mutex_lock(&ws_lock);
    if (index < (1u << 20))
        ws_push(WS_KEY(index, vpn), page);
    pthread_mutex_unlock(&ws_lock);
}

static int cmp_ent(const void *a, const void *b)
{
    const struct ws_ent *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->page < y->page ? -1 : x->page > y->page;
}

static int put_all(int fd, const void *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p = (const uint8_t *)p + n;
        len -= (size_t)n;
    }
    return 0;
}

/* Sort ws_ents by key (then page) and drop repeated (key, page) pairs. */
static void ws_sort(void)
{
    size_t u = 0;
    qsort(ws_ents, ws_n, sizeof(*ws_ents), cmp_ent);
    for (size_t j = 0; j < ws_n; j++)
        if (!u || ws_ents[u - 1].key != ws_ents[j].key || ws_ents[u - 1].page != ws_ents[j].page)
            ws_ents[u++] = ws_ents[j];
    ws_n = u;
}

/* Is ws_ents[k] (sorted) the first entry of its key? A page noted with two memory-file pages
 * (before and after copy-on-write) has two entries; a new address space always a new key. */
static bool ws_first_of_key(size_t k)
{
    return k == 0 || ws_ents[k].key != ws_ents[k - 1].key;
}

size_t fb_mm_ws_noted(uint32_t index, uint64_t **vpns)
{
    uint64_t *v = NULL;
    size_t n = 0, k;

    pthread_mutex_lock(&ws_lock);
    ws_sort();
    if (ws_n && (v = malloc(ws_n * sizeof(*v))))
        for (k = 0; k < ws_n; k++) /* sorted by key: by vpn within an index */
            if (WS_INDEX(ws_ents[k].key) == index && ws_first_of_key(k))
                v[n++] = WS_VPN(ws_ents[k].key);
    pthread_mutex_unlock(&ws_lock);
    if (!n) {
        free(v);
        v = NULL;
    }
    *vpns = v;
    return n;
}

int fb_mm_ws_write(int fd)
{
    size_t i = 0, j, k;
    uint64_t len = 0;
    int r = 0;

    pthread_mutex_lock(&ws_lock);
    ws_sort();
    /* The section's length first (the hot pages follow it): a header per address space, a
     * u64 per distinct page. */
    for (k = 0; k < ws_n; k++)
        len += (k == 0 || WS_INDEX(ws_ents[k].key) != WS_INDEX(ws_ents[k - 1].key) ? 8 : 0) +
               (ws_first_of_key(k) ? 8 : 0);
    r = put_all(fd, &len, sizeof(len));
    for (i = 0; i < ws_n && r == 0; i = j) {
        uint32_t hdr[2] = {WS_INDEX(ws_ents[i].key), 0};
        for (j = i; j < ws_n && WS_INDEX(ws_ents[j].key) == hdr[0]; j++)
            hdr[1] += ws_first_of_key(j);
        r = put_all(fd, hdr, sizeof(hdr));
        for (k = i; k < j && r == 0; k++)
            if (ws_first_of_key(k)) {
                uint64_t vpn = WS_VPN(ws_ents[k].key);
                r = put_all(fd, &vpn, sizeof(vpn));
            }
    }
    /* The hot pages in address order (a page twice: fb_memfile_renumber_order keeps the first),
     * so that renumbered, pages next to each other in an address space are next to each
     * other in the memory file too, and a restore maps a run of them in one mapping. */
    for (k = 0; k < ws_n && r == 0; k++)
        if (ws_ents[k].page)
            r = put_all(fd, &ws_ents[k].page, sizeof(ws_ents[k].page));
    pthread_mutex_unlock(&ws_lock);
    return r;
}

/* A recording's parts: its section (checked) and hot pages; false if malformed. */
static bool ws_split(const uint8_t *r, size_t len, const uint8_t **sec, size_t *seclen,
                     const uint8_t **hot, size_t *nhot)
{
    uint64_t wslen;

    if (len < 8)
        return false;
    memcpy(&wslen, r, sizeof(wslen));
    if (wslen > len - 8 || wslen % 8 || (len - 8 - wslen) % 8 ||
        fb_image_ws_check(r + 8, (size_t)wslen, FB_MM_MAX_ADDR >> FB_PAGE_SHIFT) < 0)
        return false;
    *sec = r + 8;
    *seclen = (size_t)wslen;
    *hot = r + 8 + wslen;
    *nhot = (len - 8 - (size_t)wslen) / 8;
    return true;
}

bool fb_mm_ws_recording_ok(const uint8_t *r, size_t len)
{
    const uint8_t *sec, *hot;
    size_t seclen, nhot;
    return ws_split(r, len, &sec, &seclen, &hot, &nhot);
}

int fb_mm_ws_merge(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, uint8_t **out,
                   size_t *outlen)
{
    const uint8_t *sa, *sb, *ha, *hb;
    size_t la, lb, na, nb, ia = 0, ib = 0, o = 8, i;
    uint64_t *seen = NULL, wslen;
    uint8_t *m;

    *out = NULL;
    if (!ws_split(a, alen, &sa, &la, &ha, &na) || !ws_split(b, blen, &sb, &lb, &hb, &nb))
        return -EINVAL;
    m = malloc(8 + la + lb + (na + nb) * 8); /* the union is no longer than both */
    seen = malloc((na ? na : 1) * sizeof(*seen));
    if (!m || !seen) {
        free(m);
        free(seen);
        return -ENOMEM;
    }
    /* The sections: address spaces in increasing index (as checked), each a sorted union. */
    while (ia < la || ib < lb) {
        uint32_t hx[2] = {UINT32_MAX, 0}, hy[2] = {UINT32_MAX, 0}, hdr[2];
        const uint8_t *vx = NULL, *vy = NULL;
        size_t x = 0, y = 0, at;
        if (ia < la)
            memcpy(hx, sa + ia, sizeof(hx));
        if (ib < lb)
            memcpy(hy, sb + ib, sizeof(hy));
        hdr[0] = hx[0] < hy[0] ? hx[0] : hy[0];
        if (hx[0] == hdr[0]) {
            vx = sa + ia + 8;
            ia += 8 + (size_t)hx[1] * 8;
        } else {
            hx[1] = 0;
        }
        if (hy[0] == hdr[0]) {
            vy = sb + ib + 8;
            ib += 8 + (size_t)hy[1] * 8;
        } else {
            hy[1] = 0;
        }
        at = o;
        o += 8;
        hdr[1] = 0;
        while (x < hx[1] || y < hy[1]) {
            uint64_t u = UINT64_MAX, v = UINT64_MAX;
            if (x < hx[1])
                memcpy(&u, vx + x * 8, 8);
            if (y < hy[1])
                memcpy(&v, vy + y * 8, 8);
            x += u <= v;
            y += v <= u;
            u = u < v ? u : v;
            memcpy(m + o, &u, 8);
            o += 8;
            hdr[1]++;
        }
        memcpy(m + at, hdr, sizeof(hdr));
    }
    wslen = o - 8;
    memcpy(m, &wslen, sizeof(wslen));
    /* The hot pages: a's, then b's that a does not list. */
    memcpy(m + o, ha, na * 8);
    o += na * 8;
    memcpy(seen, ha, na * 8);
    qsort(seen, na, sizeof(*seen), fb_cmp_u64);
    for (i = 0; i < nb; i++) {
        uint64_t p;
        size_t k;
        memcpy(&p, hb + i * 8, 8);
        k = fb_lower_bound_u64(seen, na, p);
        if (k < na && seen[k] == p)
            continue;
        memcpy(m + o, &p, 8);
        o += 8;
    }
    free(seen);
    *out = m;
    *outlen = o;
    return 0;
}

long fb_mm_ws_want(struct fb_mm *const *mms, size_t n, const uint8_t *ws, size_t len,
                   uint64_t *want, uint64_t top)
{
    size_t off = 0;
    long marked = 0;

    while (off + 8 <= len) {
        uint32_t hdr[2];
        memcpy(hdr, ws + off, sizeof(hdr));
        off += sizeof(hdr);
        for (uint32_t i = 0; hdr[0] >= 1 && hdr[0] <= n && i < hdr[1]; i++) {
            struct fb_mm *mm = mms[hdr[0] - 1];
            uint64_t vpn, pte, page;
            memcpy(&vpn, ws + off + (size_t)i * 8, 8);
            pte = mm ? fb_radix_get(&mm->pt, vpn) : 0;
            page = (pte & ~FB_PTE_FLAGS) >> FB_PAGE_SHIFT;
            if (pte && page < top && !((want[page / 64] >> (page % 64)) & 1)) {
                want[page / 64] |= 1ull << (page % 64);
                marked++;
            }
        }
        off += (size_t)hdr[1] * 8;
    }
    return marked;
}

long fb_mm_ws_filter(struct fb_mm *mm, const uint8_t *ws, size_t len)
{
    size_t off = 0, i, kept = 0;
    const uint8_t *mine = NULL;
    uint32_t nmine = 0;

    /* Find this address space's list (the section was checked by fb_image_ws_check). */
    while (off + 8 <= len) {
        uint32_t hdr[2];
        memcpy(hdr, ws + off, sizeof(hdr));
        off += sizeof(hdr);
        if (hdr[0] == mm->image_index) {
            mine = ws + off;
            nmine = hdr[1];
        }
        off += (size_t)hdr[1] * 8;
    }
    /* Both lists are sorted: one merge pass. */
    if (mm->nrefault) /* (refault may be NULL: qsort's array must not) */
        qsort(mm->refault, mm->nrefault, sizeof(*mm->refault), fb_cmp_u64);
    for (i = 0, off = 0; i < mm->nrefault; i++) {
        uint64_t v = 0;
        while (off < nmine) {
            memcpy(&v, mine + off * 8, 8);
            if (v >= mm->refault[i])
                break;
            off++;
        }
        if (off < nmine && v == mm->refault[i])
            mm->refault[kept++] = mm->refault[i];
    }
    mm->nrefault = kept;
    mm->refault_exact = true;
    /* A copy, not a pointer into ws: the section is the restore's, the mm outlives it. At
     * least one element, so that an empty list is still a list (populate nothing). */
    free(mm->ws);
    mm->ws = mine ? malloc(((size_t)nmine ? nmine : 1) * sizeof(*mm->ws)) : NULL;
    mm->nws = mm->ws ? nmine : 0;
    if (mm->ws)
        memcpy(mm->ws, mine, (size_t)nmine * 8);
    return (long)kept;
}
