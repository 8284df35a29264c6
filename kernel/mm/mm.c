/* Address-space management (see mm.h). Invariant: a page is mapped in the platform address
 * space only if it has a page-table entry (FB_PTE_MAPPED), and then with protection
 * vma.prot minus PROT_WRITE unless FB_PTE_WRITE. So every change of the page table first
 * removes or re-protects the platform mapping, and every platform mapping is made from it. */
#include "kernel/mm/mm.h"
#include "kernel/mm/mm_save.h"
#include "kernel/util/cleanup.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kernel/util/log.h"
#include "kernel/util/sort.h"

#define PAGE      FB_PAGE_SIZE
#define VPN(a)    ((a) >> FB_PAGE_SHIFT)
#define PTE_OFF(p) ((p) & ~FB_PTE_FLAGS)
#define ANON_FAULT_PAGES 32 /* fault-around window for anonymous memory */
#define FILE_FAULT_PAGES 64 /* and for file-backed memory (mostly shared page-cache pages) */
#define TEXT_FAULT_PAGES 256 /* and for program text: each fault costs two host context switches
                              * (~100-200 us here), a 1 MiB in-kernel copy far less */
#define STACK_GUARD_GAP (256 * PAGE)
/* Fault-around for file pages of an address space restored with a recorded working set: what
 * it misses is mostly a stray page (another branch of the handler), not a sweep through a
 * library, so a large window would mostly copy pages nobody touches. */
#define WS_MISS_FAULT_PAGES 16

static const int prot_rwx = PROT_READ | PROT_WRITE | PROT_EXEC;

bool fb_mm_ws_recording;
bool fb_mm_hostmap_off;
bool fb_mm_lazy_off;

/* ---- references to backing objects (used by vma.c) ------------------------------------------ */

void fb_vma_map_get(struct fb_mappable *m)
{
    m->ops->get(m);
}

void fb_vma_map_put(struct fb_mappable *m)
{
    m->ops->put(m);
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

struct fb_mm *fb_mm_new(struct fb_memfile *mf, struct fb_platform *plat)
{
    struct fb_mm *mm = calloc(1, sizeof(*mm));
    if (!mm)
        return NULL;
    mm->refs = 1;
    mm->mf = mf;
    mm->plat = plat;
    mm->mmap_base = 0x7f0000000000ull;
    mm->stack_limit = 8ull << 20;
    return mm;
}

void fb_mm_get(struct fb_mm *mm)
{
    mm->refs++;
}

/* Pages dropped one by one, returned to the memory file in runs of contiguous offsets: each
 * fb_mf_put that frees pages punches them out of the file with a host system call, and one per
 * page made unmapping 4 MiB cost ~2.5 ms (1024 fallocates) instead of ~0.2. */
struct put_batch {
    struct fb_memfile *mf;
    uint64_t off, n; /* the run so far: n pages from memory-file offset off */
};

static void put_batch_flush(struct put_batch *b)
{
    if (b->n)
        fb_mf_put(b->mf, b->off, b->n);
    b->n = 0;
}

static void put_batch_add(struct put_batch *b, uint64_t off)
{
    if (b->n && off == b->off + b->n * PAGE) {
        b->n++;
        return;
    }
    put_batch_flush(b);
    b->off = off;
    b->n = 1;
}

static void put_pte_page(uint64_t idx, uint64_t pte, void *arg)
{
    (void)idx;
    put_batch_add(arg, PTE_OFF(pte));
}

void fb_mm_put(struct fb_mm *mm)
{
    if (!mm || --mm->refs > 0)
        return;
    if (mm->as)
        mm->plat->ops->as_release(mm->as);
    fb_vma_set_destroy(&mm->vmas, NULL, NULL);
    {
        struct put_batch b = {.mf = mm->mf};
        fb_radix_destroy(&mm->pt, put_pte_page, &b);
        put_batch_flush(&b);
    }
    free(mm->exe);
    free(mm->refault);
    free(mm->ws);
    free(mm);
}

void fb_mm_ws_fill_gaps(struct fb_mm *mm)
{
    uint64_t *v, pages[FB_MM_WS_GAP];
    size_t n, i;

    if (!fb_mm_ws_recording || !mm || !mm->image_index)
        return;
    n = fb_mm_ws_noted(mm->image_index, &v);
    for (i = 0; i + 1 < n; i++) {
        uint64_t a = v[i], b = v[i + 1], g = b - a - 1, k;
        struct fb_vma *vma = fb_vma_find(&mm->vmas, a << FB_PAGE_SHIFT);
        if (!g || g > FB_MM_WS_GAP || !vma || (b << FB_PAGE_SHIFT) >= vma->end)
            continue; /* no gap, a wide one, or two VMAs */
        for (k = 0; k < g; k++) {
            uint64_t pte = fb_radix_get(&mm->pt, a + 1 + k);
            if (!pte)
                break; /* a page never touched: nothing to fill */
            pages[k] = PTE_OFF(pte) >> FB_PAGE_SHIFT;
        }
        for (uint64_t j = 0; k == g && j < g; j++)
            fb_mm_ws_note(mm->image_index, a + 1 + j, pages[j]);
    }
    free(v);
}

/* The context platform calls go through: the current task's, or one a Sentry thread set up for
 * itself (restore's prefault). */
static __thread struct fb_pctx *ctx_override;

static struct fb_pctx *mm_ctx(void)
{
    return ctx_override ? ctx_override : fb_mm_current_ctx();
}

struct fb_as *fb_mm_as(struct fb_mm *mm, int *err)
{
    if (!mm->as) {
        int r = fb_as_new(mm->plat, &mm->as);
        if (r < 0) {
            mm->as = NULL;
            if (err)
                *err = r;
            return NULL;
        }
    }
    return mm->as;
}

/* ---- platform mapping helpers --------------------------------------------------------------- */

static int eff_prot(const struct fb_vma *vma, uint64_t pte)
{
    int prot = (int)vma->prot;
    if (!(pte & FB_PTE_WRITE))
        prot &= ~PROT_WRITE;
    return prot;
}

/* Platform call helpers: skip silently when the address space was never created. */
static int as_unmap(struct fb_mm *mm, uint64_t start, uint64_t end)
{
    if (!mm->as || start >= end)
        return 0;
    /* Never touch the stub region, even if asked to unmap across it. */
    if (start < FB_STUB_BASE + FB_STUB_SIZE && end > FB_STUB_BASE) {
        int r = 0;
        if (start < FB_STUB_BASE)
            r = as_unmap(mm, start, FB_STUB_BASE);
        if (r == 0 && end > FB_STUB_BASE + FB_STUB_SIZE)
            r = as_unmap(mm, FB_STUB_BASE + FB_STUB_SIZE, end);
        return r;
    }
    return mm->plat->ops->unmap(mm_ctx(), mm->as, start, end - start);
}

/* A warm restore populates the host page tables of its working set's pages (text and the
 * memory file's), widened over gaps of at most WS_POP_GAP untouched pages of the memory file,
 * WS_POP_GAP_FILE of a host-mapped file: populating a few pages costs less than the extra mmap
 * of a record each side of them (~3 us here). A file's pages are in the host's page cache
 * already, so populating one only fills a page table entry; a memory file's is a page
 * allocated and copied. For the python function, text gaps of 8 instead of 2 make 315 stub
 * mmaps instead of 399 and populate ~200 more text pages: CPU per warm invocation 9.98 ->
 * 9.26 ms (medians, scripts/bench/serve_cpu.sh 4 8, 4 alternating rounds; 16 gave 9.74,
 * 32 and 64 no better). */
#define WS_POP_GAP      2
#define WS_POP_GAP_FILE 8

/* Platform map requests gathered before they are made: one host round trip per batch instead
 * of one per run where the platform can (map_many). */
#define MAP_BATCH 126 /* the ptrace platform takes as many per round trip */
struct map_batch {
    struct fb_map_req req[MAP_BATCH];
    int n;
    bool populate; /* with map_many; map() always populates */
    /* A warm restore's first pass (map_present): only the pages of the working set ws[0, nws)
     * (page numbers, increasing) and the gaps of at most WS_POP_GAP between them, populated. */
    const uint64_t *ws;
    size_t nws;
};

static int batch_flush(struct fb_mm *mm, struct fb_as *as, struct map_batch *b)
{
    const struct fb_platform_ops *ops = mm->plat->ops;
    int i, err = 0;

    if (ops->map_many && (b->n > 1 || (b->n == 1 && !b->req[0].populate)))
        err = ops->map_many(mm_ctx(), as, b->req, b->n); /* map() always populates */
    else
        for (i = 0; i < b->n && err == 0; i++)
            err = ops->map(mm_ctx(), as, b->req[i].addr, b->req[i].len, b->req[i].prot,
                           b->req[i].off);
    if (err < 0) /* some may be mapped, some not: unmark all, a fault maps them again */
        for (i = 0; i < b->n; i++)
            for (uint64_t v = VPN(b->req[i].addr); v < VPN(b->req[i].addr + b->req[i].len); v++)
                *fb_radix_slot(&mm->pt, v) &= ~FB_PTE_MAPPED;
    b->n = 0;
    return err;
}

/* The first stretch of hot pages -- pages of b's working set and those in gaps of at most
 * WS_POP_GAP between two of them -- that meets [p, end): true with it, clipped, in [*s, *e).
 * One binary search, then a walk along the working set (asking page by page, with a search
 * each, was ~1 % of a warm restore's CPU). */
static bool ws_stretch(const struct map_batch *b, uint64_t p, uint64_t end, uint64_t *s,
                       uint64_t *e)
{
    const uint64_t *ws = b->ws;
    size_t i = fb_lower_bound_u64(ws, b->nws, p); /* the first page of the working set >= p */

    if (i == b->nws)
        return false;
    /* p itself is hot when it lies in a small gap before ws[i] (or is ws[i]). */
    *s = i > 0 && ws[i] - ws[i - 1] - 1 <= WS_POP_GAP ? p : ws[i];
    if (*s >= end)
        return false;
    for (; i + 1 < b->nws && ws[i + 1] - ws[i] - 1 <= WS_POP_GAP; i++)
        if (ws[i + 1] >= end) {
            *e = end; /* the stretch goes on past the end */
            return true;
        }
    *e = ws[i] + 1 < end ? ws[i] + 1 : end;
    return true;
}

static int batch_push(struct fb_mm *mm, struct fb_as *as, struct map_batch *b, uint64_t vpn,
                      uint64_t n, uint64_t off, int prot, bool populate)
{
    int err;
    if (b->n == MAP_BATCH && (err = batch_flush(mm, as, b)) < 0)
        return err;
    b->req[b->n++] = (struct fb_map_req){vpn << FB_PAGE_SHIFT, n * PAGE, off, prot, populate};
    for (uint64_t i = 0; i < n; i++)
        *fb_radix_slot(&mm->pt, vpn + i) |= FB_PTE_MAPPED;
    return 0;
}

/* Is the page at off still in the image, and staying there: not among those a fill in progress
 * brings in (a restore maps the address spaces while its working set is read). */
static bool still_lazy(const struct fb_memfile *mf, uint64_t off)
{
    return fb_mf_is_lazy(mf, off) && !fb_mf_fill_wants(mf, off);
}

/* Gather the runs of present, unmapped pages in [start, end) of vma for the platform,
 * coalescing pages contiguous in the memory file with the same protection. With b->ws, only
 * the parts of runs in the working set (ws_stretch), populated: the rest stays for a later pass. */
static int as_map_gather(struct fb_mm *mm, struct fb_as *as, struct fb_vma *vma, uint64_t start,
                         uint64_t end, struct map_batch *b)
{
    uint64_t vpn = VPN(start), endvpn = VPN(end);

    while (vpn < endvpn) {
        uint64_t found, pte, run_start, run_off, n = 1;
        int prot, err;

        if (!fb_radix_next(&mm->pt, vpn, endvpn, &found, &pte))
            break;
        vpn = found + 1;
        if ((pte & FB_PTE_MAPPED) || still_lazy(mm->mf, PTE_OFF(pte)))
            continue; /* mapped already / still in the image: faults in when touched */
        run_start = found;
        run_off = PTE_OFF(pte);
        prot = eff_prot(vma, pte);
        while (run_start + n < endvpn) {
            uint64_t next = fb_radix_get(&mm->pt, run_start + n);
            if (!next || (next & FB_PTE_MAPPED) || PTE_OFF(next) != run_off + n * PAGE ||
                eff_prot(vma, next) != prot || still_lazy(mm->mf, PTE_OFF(next)))
                break;
            n++;
        }
        if (!b->ws) {
            if ((err = batch_push(mm, as, b, run_start, n, run_off, prot, b->populate)) < 0)
                return err;
        } else {
            uint64_t p = run_start, s, e;
            for (; p < run_start + n && ws_stretch(b, p, run_start + n, &s, &e); p = e)
                if ((err = batch_push(mm, as, b, s, e - s, run_off + (s - run_start) * PAGE, prot,
                                      true)) < 0)
                    return err;
        }
        vpn = run_start + n;
    }
    return 0;
}

/* Map the present, unmapped pages in [start, end) of vma into the platform. */
static int as_map_range(struct fb_mm *mm, struct fb_vma *vma, uint64_t start, uint64_t end)
{
    struct map_batch b;
    int err = 0;
    struct fb_as *as = fb_mm_as(mm, &err);

    if (!as)
        return err;
    b.n = 0;
    b.ws = NULL; /* a fault maps all it gathered, populated */
    b.nws = 0;
    b.populate = true;
    err = as_map_gather(mm, as, vma, start, end, &b);
    if (err == 0)
        err = batch_flush(mm, as, &b);
    return err;
}

/* Can the file of vma be mapped straight from its host fd? A private file mapping that was
 * never writable (so it holds no page of its own), of an object that may have a read-only host
 * fd, on a platform that can. Not while recording a working set: that needs every first touch
 * to fault. */
static bool host_mappable(const struct fb_mm *mm, const struct fb_vma *vma)
{
    return mm->plat->ops->map_fds && vma->map && vma->map->ops->host_fd && !fb_mm_ws_recording &&
           !fb_mm_hostmap_off && (vma->flags & FB_VMA_PRISTINE) &&
           !(vma->flags & (FB_VMA_SHARED | FB_VMA_HOSTMAP)) && !(vma->prot & PROT_WRITE) &&
           (vma->prot & prot_rwx);
}

/* Its host fd if host_mappable, else -1. */
static int host_map_fd(struct fb_mm *mm, const struct fb_vma *vma)
{
    return host_mappable(mm, vma) ? vma->map->ops->host_fd(vma->map) : -1;
}

/* The host fds of the files of vmas[0, n) asked for together where their objects can
 * (host_fds_ahead: one round trip to the Gofer for a restore's ~10 files instead of one each). */
static void host_fds_ahead(struct fb_mm *mm, struct fb_vma *vmas, size_t n)
{
    struct fb_mappable *maps[64];
    int k = 0;

    for (size_t i = 0; i < n; i++) {
        struct fb_mappable *m = vmas[i].map;
        int j;
        if (!host_mappable(mm, &vmas[i]) || !m->ops->host_fds_ahead ||
            (k && m->ops != maps[0]->ops))
            continue;
        for (j = 0; j < k && maps[j] != m; j++)
            ;
        if (j < k)
            continue;
        if (k == (int)FB_ARRAY_SIZE(maps)) {
            maps[0]->ops->host_fds_ahead(maps, k);
            k = 0;
        }
        maps[k++] = m;
    }
    if (k > 1) /* one alone: its host_fd costs the same round trip */
        maps[0]->ops->host_fds_ahead(maps, k);
}

/* Pages of ours in [start, end) are no longer mapped in the platform (their entries stay: the
 * Sentry reads through them). */
static void unmark_mapped(struct fb_mm *mm, uint64_t start, uint64_t end)
{
    uint64_t vpn = VPN(start), endvpn = VPN(end), found, pte;

    while (fb_radix_next(&mm->pt, vpn, endvpn, &found, &pte)) {
        if (pte & FB_PTE_MAPPED)
            *fb_radix_slot(&mm->pt, found) &= ~FB_PTE_MAPPED;
        vpn = found + 1;
    }
}

/* The platform now maps vma's file: pages of ours that were mapped there are not any more. */
static void host_mapped(struct fb_mm *mm, struct fb_vma *vma)
{
    unmark_mapped(mm, vma->start, vma->end);
    vma->flags |= FB_VMA_HOSTMAP;
    fb_dbg("%#lx-%#lx %s: mapped from the host file", (unsigned long)vma->start,
           (unsigned long)vma->end, vma->name ? vma->name : "?");
}

/* Populating only the working set of a host-mapped VMA: each run of touched pages widened over
 * gaps of at most WS_POP_GAP_FILE untouched ones, and at most WS_POP_RUNS runs a VMA (more: the
 * gap allowed doubles until they fit), so that a VMA's records fit one batch. */
#define WS_POP_RUNS      64
#define HOSTMAP_VMA_RECS (2 * WS_POP_RUNS + 1) /* the runs, the stretches between and around */
#define HOSTMAP_BATCH    256

/* The request mapping pages [a, b) of vma (page numbers) from its file's fd. */
static struct fb_map_fd_req host_map_req(const struct fb_vma *vma, int fd, uint64_t a, uint64_t b,
                                         bool populate)
{
    uint64_t addr = a << FB_PAGE_SHIFT;
    return (struct fb_map_fd_req){addr, (b - a) << FB_PAGE_SHIFT, vma->off + (addr - vma->start),
                                  (int)vma->prot, fd, populate};
}

/* Write the requests mapping vma from fd into req (room for HOSTMAP_VMA_RECS): one over the
 * whole VMA, populated or not; or, with a working set ws[0, nws) (page numbers, increasing),
 * several that tile it, populated where the working set touches it. They are contiguous in
 * the file with one prot, so the host makes them one mapping again. The populated ones come
 * first: the host's fault-around fills, with each page it populates, the neighbours already
 * mapped in the same 64 KiB (what the request may not touch: in ascending order, python's
 * warm text was 2.1 times the working set); mapped alone, each fills only its own pages. The
 * others then fill the holes, each merging with the mappings both sides. Returns how many. */
static int host_map_reqs(const struct fb_vma *vma, int fd, bool populate, const uint64_t *ws,
                         size_t nws, struct fb_map_fd_req *req)
{
    uint64_t s = VPN(vma->start), e = VPN(vma->end), gap = WS_POP_GAP_FILE;
    size_t lo;

    if (!populate || !ws) {
        req[0] = host_map_req(vma, fd, s, e, populate);
        return 1;
    }
    lo = fb_lower_bound_u64(ws, nws, s); /* the first page of the working set in the VMA */
    for (;; gap = gap * 2 + 1) {
        struct fb_map_fd_req cold[WS_POP_RUNS + 1];
        uint64_t cur = s; /* pages below cur have their request */
        size_t i = lo;
        int k = 0, nc = 0, runs = 0;
        while (i < nws && ws[i] < e && runs < WS_POP_RUNS) {
            uint64_t a = ws[i], b = ws[i] + 1;
            for (i++; i < nws && ws[i] < e && ws[i] - b <= gap; i++)
                b = ws[i] + 1;
            if (a - cur <= gap) /* a short untouched stretch before it (or none): populated */
                a = cur;
            if (e - b <= gap)
                b = e;
            if (a > cur)
                cold[nc++] = host_map_req(vma, fd, cur, a, false);
            req[k++] = host_map_req(vma, fd, a, b, true);
            cur = b;
            runs++;
        }
        if (i < nws && ws[i] < e)
            continue; /* more runs than allowed: coarser */
        if (cur < e)
            cold[nc++] = host_map_req(vma, fd, cur, e, false);
        memcpy(req + k, cold, sizeof(*cold) * (size_t)nc);
        return k + nc;
    }
}

/* Make the requests req[0, k) of the VMAs which[0, nv) (VMA j's from first[j] on) and account
 * for them: a VMA is host-mapped once all its requests are; one mapped in part has that part
 * unmapped again, so that no file mapping is left where the Sentry maps its own pages (it
 * stays with those, mapped on faults). Adds the VMAs mapped to *mapped; returns 0 or the
 * platform's -errno. */
static int host_map_flush(struct fb_mm *mm, struct fb_as *as, const struct fb_map_fd_req *req,
                          int k, struct fb_vma *const *which, const int *first, int nv, int *mapped)
{
    int done = 0, r = mm->plat->ops->map_fds(mm_ctx(), as, req, k, &done);

    for (int j = 0; j < nv; j++) {
        int end = j + 1 < nv ? first[j + 1] : k;
        if (end <= done) {
            host_mapped(mm, which[j]);
            (*mapped)++;
        } else if (first[j] < done) {
            int u = mm->plat->ops->unmap(mm_ctx(), as, which[j]->start,
                                         which[j]->end - which[j]->start);
            unmark_mapped(mm, which[j]->start, which[j]->end);
            fb_dbg("%#lx-%#lx: mapped from the host file in part only, unmapped again (%s)",
                   (unsigned long)which[j]->start, (unsigned long)which[j]->end,
                   u < 0 ? strerror(-u) : "ok");
        }
    }
    if (r < 0)
        fb_dbg("direct file mapping: %s (copies instead)", strerror(-r));
    return r;
}

/* Map the files of the eligible VMAs among vmas[0, n) straight from their host fds, over each
 * whole VMA, in as few platform round trips as it allows: the host then serves every read
 * fault there from its page cache (shared with every other sandbox, no copy, no stop in the
 * Sentry). With populate, the host fills its page tables for them now (a warm sandbox: ~60
 * host faults on text off the request's path, 0.3 ms there): for the pages in mm->ws, the
 * recorded working set, when there is one; for every page without one (an image with no
 * working set), as before working sets were used here. Populating whole VMAs, ~2260 pages of
 * python and its libraries filled and torn down again in every sandbox for ~330 the request
 * touches, cost ~1 ms of CPU per warm sandbox (~5%). Returns how many were mapped; the others
 * stay with copies in the memory file. */
static int host_map_many(struct fb_mm *mm, struct fb_vma *vmas, size_t n, bool populate)
{
    struct fb_map_fd_req req[HOSTMAP_BATCH];
    struct fb_vma *which[HOSTMAP_BATCH];
    int first[HOSTMAP_BATCH];
    struct fb_as *as = NULL;
    int mapped = 0, k = 0, nv = 0, r = 0, nreq = 0;
    uint64_t pop = 0;

    if (n > 1)
        host_fds_ahead(mm, vmas, n);
    for (size_t i = 0; i < n && r >= 0; i++) {
        int fd = host_map_fd(mm, &vmas[i]), j;
        if (fd < 0)
            continue;
        if (k + HOSTMAP_VMA_RECS > HOSTMAP_BATCH) {
            r = host_map_flush(mm, as, req, k, which, first, nv, &mapped);
            k = nv = 0;
        }
        if (r < 0 || (!as && !(as = fb_mm_as(mm, &r))))
            break;
        which[nv] = &vmas[i];
        first[nv++] = j = k;
        k += host_map_reqs(&vmas[i], fd, populate, mm->ws, mm->nws, req + k);
        for (nreq += k - j; j < k; j++)
            pop += req[j].populate ? req[j].len >> FB_PAGE_SHIFT : 0;
    }
    if (k && r >= 0)
        host_map_flush(mm, as, req, k, which, first, nv, &mapped);
    if (n > 1)
        fb_dbg("%d VMAs mapped from host files: %d requests, %lu pages populated", mapped, nreq,
               (unsigned long)pop);
    return mapped;
}

static int host_map(struct fb_mm *mm, struct fb_vma *vma)
{
    return host_map_many(mm, vma, 1, false) == 1 ? 0 : -EINVAL;
}

/* Re-apply protections of mapped pages in [start, end) (after mprotect or fork). */
static int as_reprotect(struct fb_mm *mm, struct fb_vma *vma, uint64_t start, uint64_t end)
{
    uint64_t vpn = VPN(start), endvpn = VPN(end);

    if (!mm->as)
        return 0;
    while (vpn < endvpn) {
        uint64_t found, pte, n = 1;
        int prot, r;

        if (!fb_radix_next(&mm->pt, vpn, endvpn, &found, &pte))
            break;
        vpn = found + 1;
        if (!(pte & FB_PTE_MAPPED))
            continue;
        prot = eff_prot(vma, pte);
        while (found + n < endvpn) {
            uint64_t next = fb_radix_get(&mm->pt, found + n);
            if (!(next & FB_PTE_MAPPED) || eff_prot(vma, next) != prot)
                break;
            n++;
        }
        r = mm->plat->ops->protect(mm_ctx(), mm->as, found << FB_PAGE_SHIFT, n * PAGE,
                                   prot);
        if (r < 0)
            return r;
        vpn = found + n;
    }
    return 0;
}

/* Drop page-table entries in [start, end); unmap them from the platform if any was mapped. */
static int drop_ptes(struct fb_mm *mm, uint64_t start, uint64_t end)
{
    uint64_t vpn = VPN(start), endvpn = VPN(end), found, pte;
    struct put_batch b = {.mf = mm->mf};
    bool mapped = false;

    while (fb_radix_next(&mm->pt, vpn, endvpn, &found, &pte)) {
        if (pte & FB_PTE_MAPPED)
            mapped = true;
        fb_radix_set(&mm->pt, found, 0);
        put_batch_add(&b, PTE_OFF(pte));
        mm->resident--;
        vpn = found + 1;
    }
    put_batch_flush(&b);
    return mapped ? as_unmap(mm, start, end) : 0;
}

/* ---- populating pages ----------------------------------------------------------------------- */

static int set_pte(struct fb_mm *mm, uint64_t vpn, uint64_t pte)
{
    uint64_t *slot = fb_radix_slot(&mm->pt, vpn);
    if (!slot)
        return -ENOMEM;
    fb_radix_note(&mm->pt, *slot, pte);
    *slot = pte;
    mm->resident++;
    return 0;
}

/* Does a fault in vma deserve private copies at once? Writable private file mappings (data
 * segments, relocated tables) are nearly always written soon after being read: copying at the
 * first fault saves a second, copy-on-write fault per page. */
static bool copy_early(const struct fb_vma *vma)
{
    return vma->map && !(vma->flags & FB_VMA_SHARED) && (vma->prot & PROT_WRITE);
}

/* Give every page of [start, end) (inside vma) a page-table entry. Stops early (returning the
 * end reached) when a file ends; returns -errno if not even `start` could be populated.
 * gp_flags: FB_GETPAGES_EXACT to bring in no more file pages than asked. */
static int64_t populate_flags(struct fb_mm *mm, struct fb_vma *vma, uint64_t start, uint64_t end,
                              unsigned gp_flags)
{
    uint64_t vpn = VPN(start), endvpn = VPN(end);

    while (vpn < endvpn) {
        uint64_t n, i, found, pte;

        if (fb_radix_get(&mm->pt, vpn)) {
            vpn++;
            continue;
        }
        /* Length of the hole starting at vpn. */
        n = fb_radix_next(&mm->pt, vpn, endvpn, &found, &pte) ? found - vpn : endvpn - vpn;
        if (!vma->map) {
            uint64_t off = fb_mf_alloc(mm->mf, n);
            if (!off && n > 1) {
                n = 1;
                off = fb_mf_alloc(mm->mf, 1);
            }
            if (!off)
                return vpn == VPN(start) ? -ENOMEM : (int64_t)(vpn << FB_PAGE_SHIFT);
            for (i = 0; i < n; i++)
                if (set_pte(mm, vpn + i, (off + i * PAGE) | FB_PTE_WRITE) < 0) {
                    fb_mf_put(mm->mf, off + i * PAGE, n - i);
                    return -ENOMEM;
                }
            vpn += n;
            continue;
        }
        {
            uint64_t offs[64];
            int got, k;
            uint64_t pgoff = VPN(vma->off) + (vpn - VPN(vma->start));
            bool shared = vma->flags & FB_VMA_SHARED;

            got = vma->map->ops->get_pages(vma->map, pgoff, (int)FB_MIN(n, 64),
                                           gp_flags | (shared ? FB_GETPAGES_WRITE : 0), offs);
            if (got <= 0) {
                if (vpn == VPN(start))
                    return got < 0 ? got : -EFAULT;
                return (int64_t)(vpn << FB_PAGE_SHIFT);
            }
            if (copy_early(vma)) {
                /* Private copies in one contiguous run (falls back to sharing on failure). */
                uint64_t priv = fb_mf_alloc(mm->mf, (uint64_t)got);
                if (priv) {
                    for (k = 0; k < got; k++) {
                        fb_mf_copy(mm->mf, priv + (uint64_t)k * PAGE, offs[k], PAGE);
                        fb_mf_put(mm->mf, offs[k], 1);
                        offs[k] = priv + (uint64_t)k * PAGE;
                    }
                    shared = true; /* now owned: map writable */
                }
            }
            for (k = 0; k < got; k++)
                if (set_pte(mm, vpn + (uint64_t)k, offs[k] | (shared ? FB_PTE_WRITE : 0)) < 0) {
                    for (; k < got; k++)
                        fb_mf_put(mm->mf, offs[k], 1);
                    return -ENOMEM;
                }
            vpn += (uint64_t)got;
        }
    }
    return (int64_t)end;
}

static int64_t populate(struct fb_mm *mm, struct fb_vma *vma, uint64_t start, uint64_t end)
{
    return populate_flags(mm, vma, start, end, 0);
}

/* Make the page at vpn (present, in private writable vma) exclusively ours and writable. */
static int break_cow(struct fb_mm *mm, struct fb_vma *vma, uint64_t vpn)
{
    uint64_t *slot = fb_radix_slot(&mm->pt, vpn);
    uint64_t old = *slot, oldoff = PTE_OFF(old), newoff;
    uint64_t addr = vpn << FB_PAGE_SHIFT;

    if (fb_mf_refs(mm->mf, oldoff) == 1) {
        *slot |= FB_PTE_WRITE; /* nobody else holds it: take it over */
        if (old & FB_PTE_MAPPED)
            return mm->plat->ops->protect(mm_ctx(), mm->as, addr, PAGE,
                                          (int)vma->prot);
        return 0;
    }
    newoff = fb_mf_alloc(mm->mf, 1);
    if (!newoff)
        return -ENOMEM;
    fb_mf_copy(mm->mf, newoff, oldoff, PAGE);
    *slot = newoff | FB_PTE_WRITE | (old & FB_PTE_MAPPED);
    fb_mf_put(mm->mf, oldoff, 1);
    if (old & FB_PTE_MAPPED)
        return mm->plat->ops->map(mm_ctx(), mm->as, addr, PAGE, (int)vma->prot,
                                  newoff);
    return 0;
}

/* Grow a growsdown VMA down to cover addr if allowed. Returns the VMA or NULL. */
static struct fb_vma *expand_stack(struct fb_mm *mm, uint64_t addr)
{
    size_t i = fb_vma_find_index(&mm->vmas, addr);
    struct fb_vma *vma;
    uint64_t page = FB_PAGE_ROUND_DOWN(addr), prev_end;

    if (i >= mm->vmas.n)
        return NULL;
    vma = &mm->vmas.v[i];
    if (vma->start <= addr)
        return vma;
    if (!(vma->flags & FB_VMA_GROWSDOWN))
        return NULL;
    if (vma->end - page > mm->stack_limit)
        return NULL;
    prev_end = i > 0 ? mm->vmas.v[i - 1].end : 0;
    if (page < prev_end + (i > 0 ? STACK_GUARD_GAP : 0) || page < FB_MM_MIN_ADDR)
        return NULL;
    if (vma->map)
        vma->off -= vma->start - page;
    vma->start = page;
    return vma;
}

/* Find the VMA for an access at addr (growing stacks), or NULL. */
static struct fb_vma *vma_for_access(struct fb_mm *mm, uint64_t addr)
{
    struct fb_vma *vma = fb_vma_find(&mm->vmas, addr);
    return vma ? vma : expand_stack(mm, addr);
}

static bool prot_allows(const struct fb_vma *vma, bool write)
{
    if (write)
        return vma->prot & PROT_WRITE;
    return vma->prot & prot_rwx; /* x86: any access right implies read */
}

/* Map every present, unmapped page of every VMA the host does not map itself, in as few
 * platform round trips as the batch allows. */
static int map_present(struct fb_mm *mm, bool populate)
{
    struct map_batch b = {.n = 0, .populate = populate};
    int r = 0;
    struct fb_as *as = fb_mm_as(mm, &r);

    /* Populating with a working set: its pages first (a warm sandbox's request touches those:
     * populating the rest as well cost more CPU than the faults it saved), then the others
     * unpopulated; the host joins each with its neighbours again (same file, contiguous
     * offsets, one prot). First, as for text (host_map_reqs): each populated page's
     * fault-around would fill neighbours already mapped. */
    for (int pass = populate && mm->ws ? 0 : 1; pass < 2 && as && r >= 0; pass++) {
        b.ws = pass == 0 ? mm->ws : NULL;
        b.nws = pass == 0 ? mm->nws : 0;
        b.populate = populate && pass == 1 && !mm->ws;
        for (size_t i = 0; i < mm->vmas.n && r >= 0; i++)
            if (!(mm->vmas.v[i].flags & FB_VMA_HOSTMAP))
                r = as_map_gather(mm, as, &mm->vmas.v[i], mm->vmas.v[i].start,
                                  mm->vmas.v[i].end, &b);
        if (r >= 0)
            r = batch_flush(mm, as, &b);
    }
    return r;
}

void fb_mm_premap(struct fb_mm *mm)
{
    mm->premap = false;
    host_map_many(mm, mm->vmas.v, mm->vmas.n, false); /* fresh text: most of it never runs */
    map_present(mm, true);
}

int fb_mm_prefault(struct fb_mm *mm, struct fb_pctx *ctx, bool host_ptes)
{
    size_t i;
    int r = 0;

    ctx_override = ctx;
    /* Program text and other pristine file mappings: the host file itself, mapped whole, and
     * none of their hints copied into the memory file. */
    host_map_many(mm, mm->vmas.v, mm->vmas.n, host_ptes);
    /* Runs of consecutive hints in one VMA at a time. A recorded working set is read exactly;
     * plain hints (everything touched before the checkpoint) with the usual read-ahead, which
     * fills the gaps between them in fewer, larger reads. */
    if (mm->nrefault) /* (refault may be NULL: qsort's array must not) */
        qsort(mm->refault, mm->nrefault, sizeof(*mm->refault), fb_cmp_u64);
    for (i = 0; i < mm->nrefault && r >= 0;) {
        uint64_t addr = mm->refault[i] << FB_PAGE_SHIFT, n = 1;
        struct fb_vma *vma = fb_vma_find(&mm->vmas, addr);
        while (i + n < mm->nrefault && mm->refault[i + n] == mm->refault[i] + n && vma &&
               (mm->refault[i] + n) << FB_PAGE_SHIFT < vma->end && n < 64)
            n++;
        if (vma && !(vma->flags & FB_VMA_HOSTMAP))
            r = (int)FB_MIN(populate_flags(mm, vma, addr, addr + n * PAGE,
                                           mm->refault_exact ? FB_GETPAGES_EXACT : 0),
                            0);
        i += n;
    }
    if (r >= 0)
        r = map_present(mm, host_ptes);
    ctx_override = NULL;
    free(mm->refault);
    mm->refault = NULL;
    mm->nrefault = 0;
    free(mm->ws);
    mm->ws = NULL;
    mm->nws = 0;
    return r < 0 ? r : 0;
}

int fb_mm_fault(struct fb_mm *mm, uint64_t addr, int code, int *si_code)
{
    struct fb_vma *vma = vma_for_access(mm, addr);
    uint64_t vpn = VPN(addr), pte, window, ws, we;
    int64_t r;

    *si_code = SEGV_MAPERR;
    if (!vma)
        return SIGSEGV;
    *si_code = SEGV_ACCERR;
    if (!(vma->prot & prot_rwx))
        return SIGSEGV;
    if (vma->flags & FB_VMA_HOSTMAP) {
        /* The host serves this VMA: a refused access is a real violation (a write to text,
         * executing rodata). A missing page would mean our mapping went away: map again. */
        if (code == SEGV_ACCERR)
            return SIGSEGV;
        fb_dbg("fault %#lx in a host-mapped VMA: mapping it again", (unsigned long)addr);
        vma->flags &= ~FB_VMA_HOSTMAP;
    }
    if (code != SEGV_ACCERR && host_map(mm, vma) == 0)
        return 0;
    pte = fb_radix_get(&mm->pt, vpn);
    fb_dbg("fault %#lx %s pte=%#lx vma=%s prot=%u flags=%#x", (unsigned long)addr,
           code == SEGV_ACCERR ? "ACCERR" : "MAPERR", (unsigned long)pte,
           vma->name ? vma->name : "anon", vma->prot, vma->flags);
    if (code != SEGV_ACCERR && (pte & FB_PTE_MAPPED)) {
        /* Another thread of the address space faulted on the same page and mapped it while
         * this fault was on its way to us (common right after a restore, when every thread
         * faults its pages in at once). Map again: harmless. */
        fb_dbg("page %#lx already mapped by a concurrent fault", (unsigned long)addr);
        *fb_radix_slot(&mm->pt, vpn) &= ~FB_PTE_MAPPED;
        pte &= ~FB_PTE_MAPPED;
    }
    if (code == SEGV_ACCERR && (pte & FB_PTE_MAPPED)) {
        /* Mapped, yet the access was refused: a write to a copy-on-write page, or a real
         * violation (write to read-only, execute of non-exec). */
        if (!(pte & FB_PTE_WRITE) && (vma->prot & PROT_WRITE) && !(vma->flags & FB_VMA_SHARED)) {
            r = break_cow(mm, vma, vpn);
            return r < 0 ? (int)r : 0;
        }
        return SIGSEGV;
    }
    /* Not mapped in the platform: populate a window around the fault and map it (recording
     * a working set: just the page, and note it). */
    window = (!vma->map ? ANON_FAULT_PAGES
                        : (vma->prot & PROT_EXEC) ? TEXT_FAULT_PAGES : FILE_FAULT_PAGES) *
             PAGE;
    if (mm->refault_exact && vma->map)
        window = FB_MIN(window, WS_MISS_FAULT_PAGES * PAGE);
    if (fb_mm_ws_recording) {
        window = PAGE;
        if (mm->image_index)
            fb_mm_ws_note(mm->image_index, vpn, PTE_OFF(pte) >> FB_PAGE_SHIFT);
    }
    ws = FB_MAX(vma->start, addr & ~(window - 1));
    we = FB_MIN(vma->end, ws + window);
    if (ws > FB_PAGE_ROUND_DOWN(addr)) /* cannot happen, but keep the fault page covered */
        ws = FB_PAGE_ROUND_DOWN(addr);
    r = populate(mm, vma, FB_PAGE_ROUND_DOWN(addr), we);
    if (r < 0) {
        if (r == -EFAULT) {
            *si_code = BUS_ADRERR;
            return SIGBUS;
        }
        return (int)r;
    }
    we = (uint64_t)r;
    if (ws < FB_PAGE_ROUND_DOWN(addr) && populate(mm, vma, ws, FB_PAGE_ROUND_DOWN(addr)) < 0)
        ws = FB_PAGE_ROUND_DOWN(addr);
    /* Pages of a lazy restore still in the image: read in the window, as a fault maps it. */
    for (uint64_t v = VPN(ws); v < VPN(we) && atomic_load(&mm->mf->nlazy); v++)
        if ((pte = fb_radix_get(&mm->pt, v)) != 0)
            fb_mf_need(mm->mf, PTE_OFF(pte), PAGE);
    r = as_map_range(mm, vma, ws, we);
    if (r < 0)
        return (int)r;
    if (code == SEGV_ACCERR && !(fb_radix_get(&mm->pt, vpn) & FB_PTE_MAPPED))
        return SIGSEGV;
    return 0;
}

/* ---- Sentry access -------------------------------------------------------------------------- */

/* Memory-file offset of the byte at addr, populating and un-sharing as needed. With host_fd
 * (a read), a page the Sentry has no copy of in a VMA the host maps straight from its file is
 * not brought in: returns 1 with *host_fd and *off saying where in that file the byte is (a
 * pristine private mapping that was never writable: the file's bytes are the memory's). The
 * syscall path reads the program's text there on every call (is_int80): bringing it in filled
 * 32 pages of page cache, ~0.3 ms for each new call site. */
static int translate(struct fb_mm *mm, uint64_t addr, bool write, uint64_t *off, int *host_fd)
{
    struct fb_vma *vma = vma_for_access(mm, addr);
    uint64_t vpn = VPN(addr), pte;
    int64_t r;

    if (!vma || !prot_allows(vma, write))
        return -EFAULT;
    pte = fb_radix_get(&mm->pt, vpn);
    if (!pte && host_fd && (vma->flags & FB_VMA_HOSTMAP) && vma->map->ops->host_fd &&
        (*host_fd = vma->map->ops->host_fd(vma->map)) >= 0) {
        *off = vma->off + (addr - vma->start);
        return 1;
    }
    if (!pte) {
        r = populate(mm, vma, FB_PAGE_ROUND_DOWN(addr), FB_PAGE_ROUND_DOWN(addr) + PAGE);
        if (r < 0)
            return r == -ENOMEM ? -ENOMEM : -EFAULT;
        pte = fb_radix_get(&mm->pt, vpn);
    }
    if (fb_mm_ws_recording && mm->image_index && !(pte & FB_PTE_MAPPED))
        fb_mm_ws_note(mm->image_index, vpn, /* the kernel's touches are the working set too */
                      PTE_OFF(pte) >> FB_PAGE_SHIFT);
    if (write && !(pte & FB_PTE_WRITE)) {
        r = break_cow(mm, vma, vpn);
        if (r < 0)
            return (int)r;
        pte = fb_radix_get(&mm->pt, vpn);
    }
    fb_mf_need(mm->mf, PTE_OFF(pte), PAGE);
    *off = PTE_OFF(pte) + (addr & (PAGE - 1));
    return 0;
}

int fb_mm_word_ptr(struct fb_mm *mm, uint64_t addr, bool write, uint32_t **out)
{
    uint64_t off;
    int r;
    if (addr & 3)
        return -EINVAL;
    if (addr >= FB_MM_MAX_ADDR)
        return -EFAULT;
    r = translate(mm, addr, write, &off, NULL);
    if (r < 0)
        return -EFAULT;
    *out = fb_mf_ptr(mm->mf, off);
    return 0;
}

int fb_mm_file_offset(struct fb_mm *mm, uint64_t addr, uint64_t *off)
{
    if (addr >= FB_MM_MAX_ADDR)
        return -EFAULT;
    return translate(mm, addr, false, off, NULL) < 0 ? -EFAULT : 0;
}

static bool range_ok(uint64_t addr, size_t len)
{
    return addr + len >= addr && addr + len <= FB_MM_MAX_ADDR;
}

/* The n bytes at addr (inside one page) for reading: *src points at them in the memory file,
 * or, in a page the host maps from its file and the Sentry has no copy of, they were read from
 * that file into buf and *src is buf. A short read (the file ends inside the page) brings the
 * page in the usual way. 0 or -EFAULT. */
static int read_span(struct fb_mm *mm, uint64_t addr, size_t n, void *buf, const void **src)
{
    uint64_t off;
    int fd, r = translate(mm, addr, false, &off, &fd);

    if (r == 1 && pread(fd, buf, n, (off_t)off) == (ssize_t)n) {
        *src = buf;
        return 0;
    }
    if (r == 1)
        r = translate(mm, addr, false, &off, NULL);
    if (r < 0)
        return -EFAULT;
    *src = fb_mf_ptr(mm->mf, off);
    return 0;
}

int fb_mm_copy_in(struct fb_mm *mm, uint64_t addr, void *dst, size_t len)
{
    uint8_t *d = dst;
    if (!range_ok(addr, len))
        return -EFAULT;
    while (len) {
        size_t n = FB_MIN(len, PAGE - (addr & (PAGE - 1)));
        const void *p;
        if (read_span(mm, addr, n, d, &p) < 0)
            return -EFAULT;
        if (p != d)
            memcpy(d, p, n);
        d += n;
        addr += n;
        len -= n;
    }
    return 0;
}

int fb_mm_copy_out(struct fb_mm *mm, uint64_t addr, const void *src, size_t len)
{
    const uint8_t *s = src;
    if (!range_ok(addr, len))
        return -EFAULT;
    while (len) {
        uint64_t off;
        size_t n = FB_MIN(len, PAGE - (addr & (PAGE - 1)));
        if (translate(mm, addr, true, &off, NULL) < 0)
            return -EFAULT;
        memcpy(fb_mf_ptr(mm->mf, off), s, n);
        s += n;
        addr += n;
        len -= n;
    }
    return 0;
}

int fb_mm_zero_out(struct fb_mm *mm, uint64_t addr, size_t len)
{
    if (!range_ok(addr, len))
        return -EFAULT;
    while (len) {
        uint64_t off;
        size_t n = FB_MIN(len, PAGE - (addr & (PAGE - 1)));
        if (translate(mm, addr, true, &off, NULL) < 0)
            return -EFAULT;
        memset(fb_mf_ptr(mm->mf, off), 0, n);
        addr += n;
        len -= n;
    }
    return 0;
}

int64_t fb_mm_copy_string_in(struct fb_mm *mm, uint64_t addr, char *dst, size_t max)
{
    size_t done = 0;
    while (done < max) {
        size_t n = FB_MIN(max - done, PAGE - (addr & (PAGE - 1)));
        const void *src;
        const char *p, *nul;
        if (!range_ok(addr, 1) || read_span(mm, addr, n, dst + done, &src) < 0)
            return -EFAULT;
        p = src;
        nul = memchr(p, 0, n);
        if (p != dst + done) /* else read into place already */
            memcpy(dst + done, p, nul ? (size_t)(nul - p) + 1 : n);
        if (nul)
            return (int64_t)(done + (size_t)(nul - p));
        done += n;
        addr += n;
    }
    return -ENAMETOOLONG;
}

int64_t fb_mm_iovec(struct fb_mm *mm, uint64_t addr, size_t len, bool write, struct iovec *iov,
                    int max, int *niov)
{
    size_t done = 0;
    int k = 0;

    *niov = 0;
    if (!range_ok(addr, len))
        return -EFAULT;
    while (done < len) {
        uint64_t off;
        size_t n = FB_MIN(len - done, PAGE - (addr & (PAGE - 1)));
        uint8_t *p;
        int r = translate(mm, addr, write, &off, NULL);
        if (r < 0) {
            if (done == 0)
                return r == -ENOMEM ? -ENOMEM : -EFAULT;
            break;
        }
        p = fb_mf_ptr(mm->mf, off);
        if (k > 0 && (uint8_t *)iov[k - 1].iov_base + iov[k - 1].iov_len == p) {
            iov[k - 1].iov_len += n;
        } else {
            if (k == max)
                break;
            iov[k].iov_base = p;
            iov[k].iov_len = n;
            k++;
        }
        done += n;
        addr += n;
    }
    *niov = k;
    return (int64_t)done;
}

/* ---- mmap and friends ----------------------------------------------------------------------- */

struct remove_ctx {
    struct fb_mm *mm;
    int err;
};

static void on_remove(struct fb_vma *v, void *arg)
{
    struct remove_ctx *rc = arg;
    int r = drop_ptes(rc->mm, v->start, v->end);
    if (r == 0 && (v->flags & FB_VMA_HOSTMAP))
        r = as_unmap(rc->mm, v->start, v->end);
    if (r < 0 && !rc->err)
        rc->err = r;
    if (v->map)
        fb_vma_map_put(v->map);
    free(v->name);
}

static bool overlaps_stub(uint64_t start, uint64_t end)
{
    return start < FB_STUB_BASE + FB_STUB_SIZE && end > FB_STUB_BASE;
}

/* Unmap [start, end) (page aligned) without argument checks. */
static int unmap_range(struct fb_mm *mm, uint64_t start, uint64_t end)
{
    struct remove_ctx rc = {mm, 0};
    if (fb_vma_remove(&mm->vmas, start, end, on_remove, &rc) != 0)
        return -ENOMEM;
    return rc.err;
}

/* Find room for len bytes, preferring hint. Returns the address or 0. */
static uint64_t find_free(struct fb_mm *mm, uint64_t hint, uint64_t len)
{
    uint64_t a;

    if (hint && hint >= FB_MM_MIN_ADDR && hint + len > hint && hint + len <= FB_MM_MAX_ADDR &&
        !overlaps_stub(hint, hint + len) && fb_vma_range_free(&mm->vmas, hint, hint + len))
        return hint;
    a = fb_vma_find_gap_down(&mm->vmas, len, FB_STUB_BASE + FB_STUB_SIZE, mm->mmap_base);
    if (a)
        return a;
    a = fb_vma_find_gap_down(&mm->vmas, len, FB_STUB_BASE + FB_STUB_SIZE, FB_MM_MAX_ADDR);
    if (a)
        return a;
    return fb_vma_find_gap_down(&mm->vmas, len, FB_MM_MIN_ADDR, FB_STUB_BASE);
}

int64_t fb_mm_mmap(struct fb_mm *mm, uint64_t addr, uint64_t len, int prot, int flags,
                   struct fb_mappable *map, uint64_t off, uint32_t maxprot, const char *name)
{
    struct fb_vma vma = {0};
    bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
    int r;

    if (!len) {
        r = -EINVAL;
        goto out_put;
    }
    if (len > FB_MM_MAX_ADDR || FB_PAGE_ROUND_UP(len) < len) {
        r = -ENOMEM;
        goto out_put;
    }
    len = FB_PAGE_ROUND_UP(len);
    if (fixed) {
        if (addr & (PAGE - 1)) {
            r = -EINVAL;
            goto out_put;
        }
        if (addr + len > FB_MM_MAX_ADDR || addr + len < addr || overlaps_stub(addr, addr + len)) {
            r = -ENOMEM;
            goto out_put;
        }
        if (addr < FB_MM_MIN_ADDR) {
            r = -EPERM;
            goto out_put;
        }
        if (!fb_vma_range_free(&mm->vmas, addr, addr + len)) {
            if (flags & MAP_FIXED_NOREPLACE) {
                r = -EEXIST;
                goto out_put;
            }
            r = unmap_range(mm, addr, addr + len);
            if (r < 0)
                goto out_put;
        }
    } else {
        addr = find_free(mm, FB_PAGE_ROUND_DOWN(addr), len);
        if (!addr) {
            r = -ENOMEM;
            goto out_put;
        }
    }
    vma.start = addr;
    vma.end = addr + len;
    vma.prot = (uint32_t)prot & (uint32_t)prot_rwx;
    vma.maxprot = maxprot & (uint32_t)prot_rwx;
    if ((flags & MAP_SHARED) && map)
        vma.flags |= FB_VMA_SHARED;
    else if (map && !(prot & PROT_WRITE))
        vma.flags |= FB_VMA_PRISTINE;
    if (flags & MAP_GROWSDOWN)
        vma.flags |= FB_VMA_GROWSDOWN;
    if (flags & MAP_NORESERVE)
        vma.flags |= FB_VMA_NORESERVE;
    vma.map = map;
    vma.off = off;
    if (name) {
        vma.name = strdup(name);
        if (!vma.name) {
            r = -ENOMEM;
            goto out_put;
        }
    }
    if (fb_vma_insert(&mm->vmas, &vma) != 0) {
        free(vma.name);
        r = -ENOMEM;
        goto out_put;
    }
    if (flags & MAP_POPULATE) {
        struct fb_vma *v = fb_vma_find(&mm->vmas, addr);
        if (v && populate(mm, v, addr, FB_MIN(v->end, addr + len)) > 0 && mm->as)
            as_map_range(mm, v, addr, FB_MIN(v->end, addr + len));
    } else if ((prot & PROT_EXEC) && mm->as && (vma.flags & FB_VMA_PRISTINE)) {
        /* Program text (a library being loaded): it will run, so map the file now rather
         * than at the first fault. */
        struct fb_vma *v = fb_vma_find(&mm->vmas, addr);
        if (v)
            host_map(mm, v);
    }
    return (int64_t)addr;

out_put:
    if (map)
        fb_vma_map_put(map);
    return r;
}

int fb_mm_munmap(struct fb_mm *mm, uint64_t addr, uint64_t len)
{
    if ((addr & (PAGE - 1)) || !len)
        return -EINVAL;
    len = FB_PAGE_ROUND_UP(len);
    if (addr + len > FB_MM_MAX_ADDR || addr + len < addr)
        return -EINVAL;
    return unmap_range(mm, addr, addr + len);
}

int fb_mm_mprotect(struct fb_mm *mm, uint64_t addr, uint64_t len, int prot)
{
    size_t i;
    uint64_t end;
    int r;

    if ((addr & (PAGE - 1)) || (prot & ~(prot_rwx | PROT_GROWSDOWN | PROT_GROWSUP)))
        return -EINVAL;
    len = FB_PAGE_ROUND_UP(len);
    end = addr + len;
    if (end < addr)
        return -ENOMEM;
    if (!len)
        return 0;
    if (prot & PROT_GROWSDOWN) {
        struct fb_vma *v = fb_vma_find(&mm->vmas, addr);
        if (!v || !(v->flags & FB_VMA_GROWSDOWN))
            return -EINVAL;
        addr = v->start;
    }
    prot &= prot_rwx;
    if (!fb_vma_range_covered(&mm->vmas, addr, end))
        return -ENOMEM;
    for (i = fb_vma_find_index(&mm->vmas, addr); i < mm->vmas.n && mm->vmas.v[i].start < end; i++)
        if ((uint32_t)prot & ~mm->vmas.v[i].maxprot)
            return -EACCES;
    if (fb_vma_split_at(&mm->vmas, addr) != 0 || fb_vma_split_at(&mm->vmas, end) != 0)
        return -ENOMEM;
    for (i = fb_vma_find_index(&mm->vmas, addr); i < mm->vmas.n && mm->vmas.v[i].start < end;
         i++) {
        struct fb_vma *v = &mm->vmas.v[i];
        if (v->prot == (uint32_t)prot)
            continue;
        v->prot = (uint32_t)prot;
        if (prot & PROT_WRITE) {
            /* Writable from now on: pages of its own may appear, so no more file mapped
             * straight through, now or later. */
            v->flags &= ~FB_VMA_PRISTINE;
            if (v->flags & FB_VMA_HOSTMAP) {
                v->flags &= ~FB_VMA_HOSTMAP;
                r = as_unmap(mm, v->start, v->end);
                if (r < 0)
                    return r;
            }
        } else if (v->flags & FB_VMA_HOSTMAP) {
            r = mm->plat->ops->protect(mm_ctx(), mm->as, v->start, v->end - v->start, prot);
            if (r < 0)
                return r;
        }
        r = as_reprotect(mm, v, v->start, v->end);
        if (r < 0)
            return r;
    }
    fb_vma_merge_range(&mm->vmas, addr, end);
    return 0;
}

int64_t fb_mm_brk(struct fb_mm *mm, uint64_t addr)
{
    uint64_t old_end = FB_PAGE_ROUND_UP(mm->brk), new_end;

    if (addr < mm->brk_start || addr > mm->brk_start + (1ull << 40))
        return (int64_t)mm->brk;
    new_end = FB_PAGE_ROUND_UP(addr);
    if (new_end > old_end) {
        struct fb_vma *heap = old_end > mm->brk_start ? fb_vma_find(&mm->vmas, old_end - 1) : NULL;
        if (!fb_vma_range_free(&mm->vmas, old_end, new_end) || overlaps_stub(old_end, new_end))
            return (int64_t)mm->brk;
        if (heap && (heap->flags & FB_VMA_HEAP) && heap->end == old_end) {
            heap->end = new_end;
        } else {
            struct fb_vma v = {.start = old_end,
                               .end = new_end,
                               .prot = PROT_READ | PROT_WRITE,
                               .maxprot = (uint32_t)prot_rwx,
                               .flags = FB_VMA_HEAP,
                               .name = strdup("[heap]")};
            if (!v.name || fb_vma_insert(&mm->vmas, &v) != 0) {
                free(v.name);
                return (int64_t)mm->brk;
            }
        }
    } else if (new_end < old_end) {
        if (unmap_range(mm, new_end, old_end) < 0)
            return (int64_t)mm->brk;
    }
    mm->brk = addr;
    return (int64_t)mm->brk;
}

/* Move the page-table entries of [old, old+len) to new (which has none). */
static int move_ptes(struct fb_mm *mm, uint64_t old, uint64_t new, uint64_t len)
{
    uint64_t vpn = VPN(old), endvpn = VPN(old + len), found, pte;
    bool mapped = false;
    int r;

    while (fb_radix_next(&mm->pt, vpn, endvpn, &found, &pte)) {
        if (pte & FB_PTE_MAPPED)
            mapped = true;
        r = fb_radix_set(&mm->pt, VPN(new) + (found - VPN(old)), pte & ~FB_PTE_MAPPED);
        if (r < 0)
            return r;
        fb_radix_set(&mm->pt, found, 0);
        vpn = found + 1;
    }
    return mapped ? as_unmap(mm, old, old + len) : 0;
}

int64_t fb_mm_mremap(struct fb_mm *mm, uint64_t old, uint64_t old_len, uint64_t new_len,
                     int flags, uint64_t new_addr)
{
    struct fb_vma *vma, moved;
    uint64_t dest;
    int r;

    if ((old & (PAGE - 1)) || (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)))
        return -EINVAL;
    if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
        return -EINVAL;
    if (flags & MREMAP_DONTUNMAP)
        return -EINVAL; /* not supported: rarely used, and needs userfaultfd semantics */
    old_len = FB_PAGE_ROUND_UP(old_len);
    new_len = FB_PAGE_ROUND_UP(new_len);
    if (!new_len || new_len > FB_MM_MAX_ADDR)
        return -EINVAL;
    vma = fb_vma_find(&mm->vmas, old);
    if (!vma)
        return -EFAULT;
    if (old_len == 0) {
        /* Duplicate a shared mapping (old_len 0): only meaningful for shared ones. */
        if (!(vma->flags & FB_VMA_SHARED) || !(flags & MREMAP_MAYMOVE))
            return -EINVAL;
        vma->map->ops->get(vma->map);
        return fb_mm_mmap(mm, (flags & MREMAP_FIXED) ? new_addr : 0, new_len, (int)vma->prot,
                          MAP_SHARED | ((flags & MREMAP_FIXED) ? MAP_FIXED : 0), vma->map,
                          vma->off + (old - vma->start), vma->maxprot, vma->name);
    }
    if (old + old_len > vma->end)
        return -EFAULT;
    if (!(flags & MREMAP_FIXED)) {
        if (new_len <= old_len) {
            if (new_len < old_len) {
                r = unmap_range(mm, old + new_len, old + old_len);
                if (r < 0)
                    return r;
            }
            return (int64_t)old;
        }
        /* Grow in place if the VMA ends here and the space after it is free. */
        if (old + old_len == vma->end && old + new_len <= FB_MM_MAX_ADDR &&
            !overlaps_stub(vma->end, old + new_len) &&
            fb_vma_range_free(&mm->vmas, vma->end, old + new_len)) {
            vma->end = old + new_len;
            fb_vma_merge_range(&mm->vmas, old, old + new_len);
            return (int64_t)old;
        }
        if (!(flags & MREMAP_MAYMOVE))
            return -ENOMEM;
        dest = find_free(mm, 0, new_len);
        if (!dest)
            return -ENOMEM;
    } else {
        if ((new_addr & (PAGE - 1)) || new_addr < FB_MM_MIN_ADDR ||
            new_addr + new_len > FB_MM_MAX_ADDR || overlaps_stub(new_addr, new_addr + new_len))
            return -EINVAL;
        if (new_addr < old + old_len && old < new_addr + new_len)
            return -EINVAL;
        r = unmap_range(mm, new_addr, new_addr + new_len);
        if (r < 0)
            return r;
        vma = fb_vma_find(&mm->vmas, old);
        if (!vma)
            return -EFAULT;
        dest = new_addr;
        if (new_len < old_len) {
            r = unmap_range(mm, old + new_len, old + old_len);
            if (r < 0)
                return r;
            old_len = new_len;
            vma = fb_vma_find(&mm->vmas, old);
        }
    }
    /* Move: a new VMA at dest with the same attributes, then the pages, then drop the old. */
    moved = *vma;
    moved.start = dest;
    moved.end = dest + new_len;
    if (vma->map) {
        moved.off = vma->off + (old - vma->start);
        vma->map->ops->get(vma->map);
    }
    moved.name = vma->name ? strdup(vma->name) : NULL;
    moved.flags &= ~(FB_VMA_HEAP | FB_VMA_STACK | FB_VMA_HOSTMAP);
    r = move_ptes(mm, old, dest, FB_MIN(old_len, new_len));
    if (r < 0) {
        free(moved.name);
        if (moved.map)
            fb_vma_map_put(moved.map);
        return r;
    }
    r = unmap_range(mm, old, old + old_len);
    if (r < 0 || fb_vma_insert(&mm->vmas, &moved) != 0) {
        free(moved.name);
        if (moved.map)
            fb_vma_map_put(moved.map);
        return r < 0 ? r : -ENOMEM;
    }
    return (int64_t)dest;
}

int fb_mm_madvise(struct fb_mm *mm, uint64_t addr, uint64_t len, int advice)
{
    uint64_t end;
    size_t i;

    if (addr & (PAGE - 1))
        return -EINVAL;
    len = FB_PAGE_ROUND_UP(len);
    end = addr + len;
    if (end < addr)
        return -EINVAL;
    switch (advice) {
    case MADV_NORMAL:
    case MADV_RANDOM:
    case MADV_SEQUENTIAL:
    case MADV_WILLNEED:
    case MADV_HUGEPAGE:
    case MADV_NOHUGEPAGE:
    case MADV_DONTDUMP:
    case MADV_DODUMP:
    case MADV_MERGEABLE:
    case MADV_UNMERGEABLE:
    case MADV_COLD:
    case MADV_PAGEOUT:
    case MADV_KEEPONFORK:
    case MADV_WIPEONFORK:
        if (!fb_vma_range_covered(&mm->vmas, addr, end))
            return -ENOMEM;
        return 0;
    case MADV_DONTFORK:
    case MADV_DOFORK:
        if (!fb_vma_range_covered(&mm->vmas, addr, end))
            return -ENOMEM;
        if (fb_vma_split_at(&mm->vmas, addr) || fb_vma_split_at(&mm->vmas, end))
            return -ENOMEM;
        for (i = fb_vma_find_index(&mm->vmas, addr); i < mm->vmas.n && mm->vmas.v[i].start < end;
             i++) {
            if (advice == MADV_DONTFORK)
                mm->vmas.v[i].flags |= FB_VMA_DONTFORK;
            else
                mm->vmas.v[i].flags &= ~FB_VMA_DONTFORK;
        }
        fb_vma_merge_range(&mm->vmas, addr, end);
        return 0;
    case MADV_DONTNEED:
    case MADV_FREE:
        if (!fb_vma_range_covered(&mm->vmas, addr, end))
            return -ENOMEM;
        for (i = fb_vma_find_index(&mm->vmas, addr); i < mm->vmas.n && mm->vmas.v[i].start < end;
             i++) {
            struct fb_vma *v = &mm->vmas.v[i];
            if (v->flags & FB_VMA_LOCKED)
                return -EINVAL;
        }
        /* Dropping the entries discards private copies; shared data stays in its object. */
        return drop_ptes(mm, addr, end);
    case MADV_REMOVE:
        return -EOPNOTSUPP;
    default:
        return -EINVAL;
    }
}

int fb_mm_mincore(struct fb_mm *mm, uint64_t addr, uint64_t len, uint8_t *vec)
{
    uint64_t n, i;

    if (addr & (PAGE - 1))
        return -EINVAL;
    len = FB_PAGE_ROUND_UP(len);
    if (!fb_vma_range_covered(&mm->vmas, addr, addr + len))
        return -ENOMEM;
    n = len >> FB_PAGE_SHIFT;
    for (i = 0; i < n; i++)
        vec[i] = fb_radix_get(&mm->pt, VPN(addr) + i) ? 1 : 0;
    return 0;
}

/* ---- fork ------------------------------------------------------------------------------------ */

struct fb_mm *fb_mm_fork(struct fb_mm *mm)
{
    struct fb_mm *child = fb_mm_new(mm->mf, mm->plat);
    size_t i;

    if (!child)
        return NULL;
    child->mmap_base = mm->mmap_base;
    child->brk_start = mm->brk_start;
    child->brk = mm->brk;
    child->stack_start = mm->stack_start;
    child->arg_start = mm->arg_start;
    child->arg_end = mm->arg_end;
    child->env_start = mm->env_start;
    child->env_end = mm->env_end;
    memcpy(child->auxv, mm->auxv, sizeof(mm->auxv));
    child->auxv_len = mm->auxv_len;
    child->stack_limit = mm->stack_limit;
    child->exe = mm->exe ? strdup(mm->exe) : NULL;

    for (i = 0; i < mm->vmas.n; i++) {
        struct fb_vma *v = &mm->vmas.v[i], copy = *v;
        uint64_t vpn, endvpn, found, pte;
        bool private = !(v->flags & FB_VMA_SHARED), downgraded = false;

        if (v->flags & FB_VMA_DONTFORK)
            continue;
        copy.name = v->name ? strdup(v->name) : NULL;
        copy.flags &= ~FB_VMA_HOSTMAP; /* the child's address space starts empty */
        if (copy.map)
            copy.map->ops->get(copy.map);
        if (fb_vma_insert(&child->vmas, &copy) != 0)
            goto out_fail;
        vpn = VPN(v->start);
        endvpn = VPN(v->end);
        while (fb_radix_next(&mm->pt, vpn, endvpn, &found, &pte)) {
            uint64_t cpte = pte & ~FB_PTE_MAPPED;
            if (private) {
                cpte &= ~FB_PTE_WRITE;
                if (pte & FB_PTE_WRITE) {
                    uint64_t *slot = fb_radix_slot(&mm->pt, found);
                    *slot &= ~FB_PTE_WRITE;
                    if (pte & FB_PTE_MAPPED)
                        downgraded = true;
                }
            }
            if (set_pte(child, found, cpte) < 0)
                goto out_fail;
            fb_mf_get(mm->mf, PTE_OFF(pte), 1);
            vpn = found + 1;
        }
        if (downgraded && (v->prot & PROT_WRITE) && as_reprotect(mm, v, v->start, v->end) < 0)
            goto out_fail;
    }
    return child;

out_fail:
    fb_mm_put(child);
    return NULL;
}
