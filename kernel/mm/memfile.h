/* The memory file: one memfd (or an unnamed file of a tmpfs of its own, fb_memfile_init_large,
 * or one the caller gives, fb_memfile_init_given)
 * holding all application memory of a sandbox, mapped once into the Sentry for
 * copy-in/copy-out, with a page allocator and per-page reference counts. */
#ifndef FB_MM_MEMFILE_H
#define FB_MM_MEMFILE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/mm/radix.h"
#include "kernel/util/error.h"

#define FB_PAGE_SIZE  4096ULL
#define FB_PAGE_SHIFT 12
#define FB_PAGE_MASK  (~(FB_PAGE_SIZE - 1))
#define FB_PAGE_ROUND_UP(x)   (((x) + FB_PAGE_SIZE - 1) & FB_PAGE_MASK)
#define FB_PAGE_ROUND_DOWN(x) ((x)&FB_PAGE_MASK)
/* Address space reserved for a sandbox's memory file (sparse: only touched pages cost memory). */
#define FB_MEMFILE_SIZE (256ull << 30)

struct fb_memfile {
    int fd;
    uint8_t *base;     /* the whole file mapped shared in the Sentry */
    uint64_t size;     /* bytes of address space reserved for the file */
    /* On a tmpfs of its own that gives 2 MiB pages where the Sentry's mapping asks for them
     * (fb_memfile_init_large), and that mapping 2 MiB aligned. */
    bool large;
    int mnt_fd; /* that tmpfs's mount, or -1 */
    uint32_t *refs;    /* per-page reference counts (sparse anonymous mapping) */
    uint64_t top;      /* pages below top have been handed out at least once */
    struct fb_mf_extent *free; /* free runs below top, sorted by offset */
    size_t nfree, capfree;
    uint64_t used_pages; /* pages with a non-zero reference count */
    uint64_t punches;    /* holes punched to free pages (one host fallocate each) */
    uint64_t limit_pages; /* 0 = unlimited (the --memory limit) */
    bool limit_hit;       /* an allocation failed on the limit (the OOM report reads it) */
    /* The kernel is ending (its last task is exiting): freed pages are counted as free but
     * neither punched out nor handed out again; their memory goes with the file when the
     * Sentry exits. Punching a hole per run cost a python function about a thousand fallocate
     * calls, 3 ms, between its answer and its exit status. */
    bool ending;
    /* Given by the caller (fb_memfile_init_given): the pages below this may hold another
     * sandbox's data until fb_memfile_clear_stale (0: none). */
    uint64_t stale_top;
    /* Pages restored lazily (kernel/mm/mm_save.c): one bit per page below lazy_top whose
     * content is still in the image, nlazy of them; lz the image and its chunk table. */
    _Atomic uint64_t *lazy;
    uint64_t lazy_top;
    _Atomic uint64_t nlazy;
    /* Pages read in on need (fb_mf_fill: a fault or a kernel access, not a fill of the working
     * set), so far: after a restore, what the program touched outside its working set. */
    _Atomic uint64_t needed;
    struct fb_mf_lazy *lz;
    /* A fill of the working set in progress (fb_memfile_fill_start), or NULL. */
    struct fb_mf_fill *fill;
    /* While a restore loads kernel objects from an image whose pages were renumbered
     * (section "pagemap"): saved page -> page now, nremap of them (a radix tree: no sort, one
     * node per 512 saved pages, not a table as long as the largest saved number). */
    struct fb_radix remap;
    size_t nremap;
};

struct fb_mf_extent {
    uint64_t start, npages; /* in pages */
};

/* Create the memory file with `size` bytes of (sparse) capacity: a memfd, whose memory comes in
 * 4 KiB pages. */
int fb_memfile_init(struct fb_memfile *mf, uint64_t size, struct fb_error *err);
/* The same, the file on a tmpfs instance of its own (made with fsopen/fsmount, attached to no
 * mount namespace, huge=advise) so that fb_memfile_advise_large can have parts of it in 2 MiB
 * pages: a restore's copy of its working set costs ~2 us of page allocation per 4 KiB page
 * here, a 2 MiB page a fraction of that. Where the host refuses (no CAP_SYS_ADMIN over the
 * mount namespace, no transparent huge pages) it falls back to fb_memfile_init; mf->large
 * says which. Before the Sentry locks itself down only. Its end costs the destroying (or
 * exiting) process an RCU grace period: for restores, which gain from it, only. */
int fb_memfile_init_large(struct fb_memfile *mf, uint64_t size, struct fb_error *err);
/* The same with the file open on fd (taken: closed on failure too) that the caller made and
 * may have given an earlier sandbox of the same image before: `fnbox serve` hands a finished
 * sandbox's memory file to its next restore, whose working set then goes into pages the host
 * has already allocated (a fresh page costs 2-7 us here, one already there a copy). Nothing
 * the file held is used: everything from keep bytes on is punched out here, and below keep
 * the restore's loader punches every page the image does not fill (fb_memfile_clear_stale);
 * the pages it fills are written whole before anything reads them. Refused unless fd is a
 * writable regular file of tmpfs (or a memfd) that no seal keeps from being written, shrunk
 * or grown. Before the Sentry locks itself down only. */
int fb_memfile_init_given(struct fb_memfile *mf, int fd, uint64_t size, uint64_t keep,
                          struct fb_error *err);
/* Punch out everything of the file open on fd from keep bytes (rounded down to a page) up to
 * size: what fb_memfile_init_given does first, and what a holder of a finished sandbox's memory
 * file does before keeping it for the next restore. 0, or -1 with errno. */
int fb_memfile_punch_from(int fd, uint64_t keep, uint64_t size);
/* The restore loaders' part of clearing a given file (fb_memfile_init_given), once the lazy
 * pages are known (fb_memfile_load_lazy: after; fb_memfile_load, where none is: before it
 * writes a page): every page below keep that holds data and is not a lazy page is punched
 * out. A lazy page's old content stays until it is loaded, which writes it whole (a lazy
 * page is never mapped nor read before: fb_mf_need); the working set's pages are all lazy,
 * so their places stay allocated. Nothing for a file of the memory file's own making. */
int fb_memfile_clear_stale(struct fb_memfile *mf, struct fb_error *err);
/* fb_memfile_init_given's check of the file alone (for a caller's option check). */
int fb_memfile_given_check(int fd, struct fb_error *err);
/* A new tmpfs instance for memory files: attached to no mount namespace, huge=advise (2 MiB
 * pages where a mapping asks), no size limit, mode 0700, nosuid and nodev (not noexec: stubs
 * map application code from it); its mount fd, or -1 with errno (no CAP_SYS_ADMIN over the
 * mount namespace, an old kernel). And an unnamed file on it (O_TMPFILE; a memfd when mnt is
 * -1), or -1 with errno. */
int fb_memfile_tmpfs_mount(void);
int fb_memfile_tmpfs_file(int mnt);
/* A restore about to fill the pages set in want (bit p: page p, pages below top): ask for
 * 2 MiB pages for each 2 MiB region of the file where at least half the pages are wanted
 * (FB_MF_LARGE_MIN of FB_MF_LARGE_PAGES), so that the fill allocates the region at once; the
 * rest of the file keeps 4 KiB pages (a region mostly unwanted would cost its 2 MiB for a few
 * pages). Nothing unless mf->large. Returns how many regions it asked for. */
#define FB_MF_LARGE_PAGES 512u
#define FB_MF_LARGE_MIN   256u
unsigned fb_memfile_advise_large(struct fb_memfile *mf, const uint64_t *want, uint64_t top);
void fb_memfile_destroy(struct fb_memfile *mf);

/* Allocate npages contiguous zeroed pages, each with one reference. Returns the byte offset in
 * the file, or 0 with no pages allocated (offset 0 is never handed out); limit_hit tells whether
 * the memory limit was the reason. */
uint64_t fb_mf_alloc(struct fb_memfile *mf, uint64_t npages);
/* Take / drop one reference on each of npages pages starting at byte offset off. Pages whose
 * count drops to zero are returned to the allocator and their memory to the host. */
void fb_mf_get(struct fb_memfile *mf, uint64_t off, uint64_t npages);
void fb_mf_put(struct fb_memfile *mf, uint64_t off, uint64_t npages);
static inline uint32_t fb_mf_refs(const struct fb_memfile *mf, uint64_t off)
{
    return mf->refs[off >> FB_PAGE_SHIFT];
}
/* Sentry pointer to the byte at offset off. */
static inline void *fb_mf_ptr(const struct fb_memfile *mf, uint64_t off)
{
    return mf->base + off;
}
/* Copy len bytes (page multiples) from src to dst inside the file, in the host kernel when it
 * can (no faults on the Sentry's mapping). Returns 0 or -errno. */
int fb_mf_copy(struct fb_memfile *mf, uint64_t dst, uint64_t src, uint64_t len);
/* After restoring pages and reference counts (refs[] filled, content written): set the top and
 * rebuild the free list from the unreferenced pages below it. Returns 0 or -ENOMEM. */
int fb_mf_rebuild(struct fb_memfile *mf, uint64_t top);
/* Every access to page content (Sentry copies, mapping pages into an address space, copying
 * or saving pages) first calls fb_mf_need on the range: pages of a lazy restore still in the
 * image are read in then (fb_mf_fill, kernel/mm/mm_save.c). One load when nothing is lazy. */
void fb_mf_fill(struct fb_memfile *mf, uint64_t off, uint64_t len);
static inline void fb_mf_need(struct fb_memfile *mf, uint64_t off, uint64_t len)
{
    if (__builtin_expect(atomic_load_explicit(&mf->nlazy, memory_order_acquire) != 0, 0))
        fb_mf_fill(mf, off, len);
}
/* Is the page at offset off still in the image? */
static inline bool fb_mf_is_lazy(const struct fb_memfile *mf, uint64_t off)
{
    uint64_t p = off >> FB_PAGE_SHIFT;
    return atomic_load_explicit(&mf->nlazy, memory_order_relaxed) && p < mf->lazy_top &&
           (atomic_load_explicit(&mf->lazy[p / 64], memory_order_acquire) >> (p % 64)) & 1;
}
/* Called when a lazily restored page cannot be read back (the image changed under the
 * sandbox): reports and ends the Sentry. NULL: log and _exit(1). */
extern void (*fb_mf_fatal)(const struct fb_error *err);
/* The Sentry's memory file a memfd even where fb_memfile_init_large could do better
 * (FNBOX_NO_LARGE_PAGES=1, for A/B measurements). */
extern bool fb_mf_large_off;
/* A freed page's content is not wanted any more (memfile.c); the lazy state goes with the file. */
void fb_mf_lazy_forget(struct fb_memfile *mf, uint64_t page, uint64_t n);
void fb_mf_lazy_release(struct fb_memfile *mf);
/* The offset that saved memory-file offset `off` (page aligned) has now: itself, unless the
 * image's pages were renumbered; UINT64_MAX for a page the renumbering does not name. */
uint64_t fb_mf_saved_off(const struct fb_memfile *mf, uint64_t off);

/* Bytes of memory the host actually holds for the file (touched pages). */
uint64_t fb_mf_resident_bytes(const struct fb_memfile *mf);

#endif
