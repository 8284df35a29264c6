/* Application address spaces: VMAs, the page table that maps application pages to memory-file
 * pages, page faults, copy-on-write, and copy-in/copy-out for the Sentry. Platform mappings are
 * made lazily on faults and kept a subset of the page table. */
#ifndef FB_MM_MM_H
#define FB_MM_MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "kernel/mm/memfile.h"
#include "kernel/mm/radix.h"
#include "kernel/mm/vma.h"
#include "platform/platform.h"

/* A file (or shared anonymous memory) that can be mapped. Embedded in its owner. */
struct fb_mappable;
struct fb_mappable_ops {
    void (*get)(struct fb_mappable *m);
    void (*put)(struct fb_mappable *m);
    /* Memory-file pages backing file pages [pgoff, pgoff+n): fills out[i] with byte offsets for
     * as many consecutive pages as it can (at least 1), each with a new reference for the caller.
     * Returns how many, or -errno (-EFAULT for pages wholly beyond end of file: SIGBUS).
     * flags: FB_GETPAGES_*. */
    int (*get_pages)(struct fb_mappable *m, uint64_t pgoff, int n, unsigned flags, uint64_t *out);
    /* Optional: a read-only host fd with the object's content, which the platform may map
     * directly for private read-only mappings (the host page cache then serves them, shared and
     * copy-free). -1 when there is none. The object keeps ownership. */
    int (*host_fd)(struct fb_mappable *m);
    /* Optional: get ready the host fds of maps[0, n) (objects with these ops) at once, so that
     * host_fd then costs nothing -- a restore maps many files together. Best effort. */
    void (*host_fds_ahead)(struct fb_mappable *const *maps, int n);
};
#define FB_GETPAGES_WRITE 1u /* for a shared writable mapping */
#define FB_GETPAGES_EXACT 2u /* bring in only the pages asked for, no read-ahead (prefault) */
struct fb_mappable {
    const struct fb_mappable_ops *ops;
};

/* Page-table entry: memory-file byte offset of the page | FB_PTE_* flags. 0 = no page. */
#define FB_PTE_WRITE  0x1ull /* may be mapped writable (private page owned, or shared mapping) */
#define FB_PTE_MAPPED 0x2ull /* currently mapped in the platform address space */
#define FB_PTE_FLAGS  0xfffull

struct fb_mm {
    int refs; /* users: tasks (CLONE_VM shares one), /proc readers */
    struct fb_memfile *mf;
    struct fb_platform *plat;
    struct fb_as *as; /* created on first use */
    struct fb_vma_set vmas;
    struct fb_radix pt; /* page index -> FB_PTE */
    uint64_t mmap_base; /* new mappings go below this, top-down */
    uint64_t brk_start, brk;
    uint64_t stack_start;     /* top of the initial stack */
    uint64_t arg_start, arg_end, env_start, env_end;
    uint64_t auxv[64];        /* copy of the initial auxv for /proc/self/auxv */
    int auxv_len;             /* entries (pairs * 2) */
    char *exe;                /* path of the executable (for /proc/self/exe) */
    uint64_t stack_limit;     /* max growth of growsdown stacks (RLIMIT_STACK) */
    uint64_t resident;        /* pages with a PTE (for /proc and accounting) */
    /* Restore: pages that were mapped at the checkpoint but left out of the image (unmodified
     * file pages); fb_mm_prefault brings them back in before the sandbox reports ready. */
    uint64_t *refault;
    size_t nrefault;
    bool refault_exact; /* the hints are a recorded working set: fill no neighbours */
    /* Restore with a recorded working set: the pages this address space touched in the
     * training run (nws page numbers, increasing; malloc'd, set by fb_mm_ws_filter), so that a
     * warm fb_mm_prefault fills the host page tables of host-mapped text for those only. NULL:
     * no working set for this address space (fb_mm_prefault then populates whole VMAs).
     * Dropped by fb_mm_prefault. */
    uint64_t *ws;
    size_t nws;
    uint32_t image_index; /* restored: 1-based position of this address space in the image */
    /* Made by exec: at the first run, map what exec wrote (stack, vDSO) and the program's
     * text and read-only data in one go, instead of a fault for each (fb_mm_premap). */
    bool premap;
};

/* Working-set recording (`fnbox checkpoint`'s training restore, see mm_save.h): while set, a
 * fault maps only its own page and is noted for address spaces restored from the image. */
extern bool fb_mm_ws_recording;
/* Never map host files straight into address spaces (FNBOX_NO_DIRECT_MAP=1 in the Sentry's
 * environment: for A/B measurements and for bisecting a suspected problem). */
extern bool fb_mm_hostmap_off;
/* Restore every page of an image before the first instruction, even with a working set
 * (FNBOX_NO_LAZY_RESTORE=1; for comparisons). */
extern bool fb_mm_lazy_off;
/* Note a fault of the page at vpn in the image's address space `index` (mm_save.c); page is
 * the memory-file page it maps then (the image's, before any copy-on-write), 0 if none. */
void fb_mm_ws_note(uint32_t index, uint64_t vpn, uint64_t page);

/* Recording a working set, before mm's last task goes: the pages in gaps of at most
 * FB_MM_WS_GAP pages between two noted pages of one VMA, each present in the memory file, are
 * noted too. The image lays the working set's pages out in address order, so a page left out
 * ends a run in the file as in the address space: every gap costs restores a host mapping
 * (and its teardown), ~4-5 us of the stub's CPU here, where filling and mapping its pages
 * costs well under 1 us each. Several calls note nothing twice. */
#define FB_MM_WS_GAP 3
void fb_mm_ws_fill_gaps(struct fb_mm *mm);

/* Where the Sentry is making platform calls from: set by the task layer for each host thread. */
struct fb_pctx *fb_mm_current_ctx(void);

struct fb_mm *fb_mm_new(struct fb_memfile *mf, struct fb_platform *plat);
void fb_mm_get(struct fb_mm *mm);
void fb_mm_put(struct fb_mm *mm);
/* Platform address space of mm, created on first call. Returns NULL with -errno in *err. */
struct fb_as *fb_mm_as(struct fb_mm *mm, int *err);
/* Copy for fork(): private memory becomes copy-on-write in both. NULL on -ENOMEM. */
struct fb_mm *fb_mm_fork(struct fb_mm *mm);

/* mmap(2) core. `map` (with a reference taken by the callee) backs file and shared anonymous
 * mappings; NULL means private anonymous. Returns the address or -errno. */
int64_t fb_mm_mmap(struct fb_mm *mm, uint64_t addr, uint64_t len, int prot, int flags,
                   struct fb_mappable *map, uint64_t off, uint32_t maxprot, const char *name);
int fb_mm_munmap(struct fb_mm *mm, uint64_t addr, uint64_t len);
int fb_mm_mprotect(struct fb_mm *mm, uint64_t addr, uint64_t len, int prot);
int64_t fb_mm_brk(struct fb_mm *mm, uint64_t addr);
int64_t fb_mm_mremap(struct fb_mm *mm, uint64_t old, uint64_t old_len, uint64_t new_len,
                     int flags, uint64_t new_addr);
int fb_mm_madvise(struct fb_mm *mm, uint64_t addr, uint64_t len, int advice);
int fb_mm_mincore(struct fb_mm *mm, uint64_t addr, uint64_t len, uint8_t *vec);

/* An application fault at addr reported by the platform (host si_code in `code`). Returns 0 if
 * resolved (retry the instruction), or the signal to deliver (SIGSEGV/SIGBUS) with *si_code
 * set, or -ENOMEM when memory is exhausted (the caller kills the sandbox). */
int fb_mm_fault(struct fb_mm *mm, uint64_t addr, int code, int *si_code);

/* After a restore: fill the pages listed in mm->refault and map every page with a page-table
 * entry into the address space through ctx (a context of the calling thread), in a few
 * platform round trips, so that the request takes no Sentry faults. `host_ptes` also fills the
 * host page tables (warm pools: that work is then off the request's path): of every mapped
 * page, and of host-mapped files the pages in mm->ws (all of them without it). Drops
 * mm->refault and mm->ws. Returns 0 or -errno. */
int fb_mm_prefault(struct fb_mm *mm, struct fb_pctx *ctx, bool host_ptes);
/* The first run after exec (mm->premap): map the pristine file mappings from their host files
 * and every page exec populated, in as few platform round trips as possible. Through the
 * current task's context. An optimisation: failures are left to faults. */
void fb_mm_premap(struct fb_mm *mm);

/* Copy between the Sentry and application memory. Return 0 or -EFAULT. */
int fb_mm_copy_in(struct fb_mm *mm, uint64_t addr, void *dst, size_t len);
int fb_mm_copy_out(struct fb_mm *mm, uint64_t addr, const void *src, size_t len);
int fb_mm_zero_out(struct fb_mm *mm, uint64_t addr, size_t len);
/* Copy a NUL-terminated string of at most max bytes (including NUL). Returns its length,
 * -EFAULT, or -ENAMETOOLONG if no NUL within max. */
int64_t fb_mm_copy_string_in(struct fb_mm *mm, uint64_t addr, char *dst, size_t max);
/* Sentry pointer to the aligned 32-bit word at addr (for futexes and atomics), populating and
 * un-sharing the page for write access. Returns 0, -EINVAL (misaligned) or -EFAULT. */
int fb_mm_word_ptr(struct fb_mm *mm, uint64_t addr, bool write, uint32_t **out);
/* Memory-file offset of addr (shared futex keys). */
int fb_mm_file_offset(struct fb_mm *mm, uint64_t addr, uint64_t *off);
/* Host iovecs (Sentry pointers into the memory file) covering application range [addr, addr+len)
 * for direct I/O. Fills at most max entries; returns how many bytes are covered from addr (less
 * than len if max was reached or a fault stopped it; -EFAULT if nothing at addr is accessible). */
int64_t fb_mm_iovec(struct fb_mm *mm, uint64_t addr, size_t len, bool write, struct iovec *iov,
                    int max, int *niov);

/* Lowest and highest addresses an application may map. */
#define FB_MM_MIN_ADDR 0x10000ull
#define FB_MM_MAX_ADDR FB_TASK_SIZE

#endif
