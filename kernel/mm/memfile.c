/* Memory-file page allocator (see memfile.h). First fit over a sorted array of free runs, then a
 * bump pointer. Freed runs are punched out of the memfd so the host gets the memory back. */
#include "kernel/mm/memfile.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "kernel/util/cleanup.h"
#include "kernel/util/log.h"

void (*fb_mf_fatal)(const struct fb_error *err);
bool fb_mf_large_off;

int fb_memfile_tmpfs_mount(void)
{
    int fs = fsopen("tmpfs", FSOPEN_CLOEXEC), mnt = -1, e;

    if (fs < 0)
        return -1;
    if (fsconfig(fs, FSCONFIG_SET_STRING, "huge", "advise", 0) == 0 &&
        fsconfig(fs, FSCONFIG_SET_STRING, "size", "0", 0) == 0 &&
        fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0700", 0) == 0 &&
        fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
        /* Not noexec: the stubs map application code from the file. */
        mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
    e = errno;
    close(fs);
    errno = e;
    return mnt;
}

int fb_memfile_tmpfs_file(int mnt)
{
    return mnt >= 0 ? openat(mnt, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)
                    : memfd_create("fnbox-memory", MFD_CLOEXEC);
}

/* An unnamed file on a new tmpfs instance of its own (fb_memfile_tmpfs_mount); *mnt is the
 * mount's fd. Closing that fd takes the instance apart and waits for an RCU grace period
 * (0.05-0.8 ms here): the memory file keeps it until it is destroyed (for the Sentry: when it
 * exits, after its answer), off a restore's path. -1 with errno. */
static int open_large(int *mnt_out)
{
    int mnt = fb_memfile_tmpfs_mount(), fd = mnt >= 0 ? fb_memfile_tmpfs_file(mnt) : -1, e;

    e = errno;
    *mnt_out = fd >= 0 ? mnt : -1;
    if (fd < 0 && mnt >= 0)
        close(mnt);
    errno = e;
    return fd;
}

/* An empty memory file, nothing open. */
static void memfile_clear(struct fb_memfile *mf)
{
    memset(mf, 0, sizeof(*mf));
    mf->fd = -1;
    mf->mnt_fd = -1;
}

/* tmpfs places a mapping of a file that may hold 2 MiB pages on a 2 MiB boundary; a 2 MiB page
 * can only be mapped whole where the mapping's addresses and offsets agree. */
static bool mapped_for_large(const struct fb_memfile *mf)
{
    return ((uintptr_t)mf->base & (FB_MF_LARGE_PAGES * FB_PAGE_SIZE - 1)) == 0;
}

/* Size and map the file open on fd (taken: closed on failure) and make the page tables. */
static int memfile_setup(struct fb_memfile *mf, int fd, uint64_t size, struct fb_error *err)
{
    mf->fd = fd;
    if (ftruncate(mf->fd, (off_t)size) != 0) {
        fb_error_set(err, errno, "sizing the memory file: %s", strerror(errno));
        goto out_close;
    }
    mf->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, mf->fd, 0);
    if (mf->base == MAP_FAILED) {
        mf->base = NULL;
        fb_error_set(err, errno, "mapping the memory file: %s", strerror(errno));
        goto out_close;
    }
    mf->refs = mmap(NULL, (size >> FB_PAGE_SHIFT) * sizeof(uint32_t), PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mf->refs == MAP_FAILED) {
        fb_error_set(err, errno, "reference-count table: %s", strerror(errno));
        goto out_unmap;
    }
    mf->size = size;
    mf->top = 1; /* page 0 is never handed out: offset 0 means "no page" */
    return 0;

out_unmap:
    munmap(mf->base, size);
    mf->base = NULL;
out_close:
    close(mf->fd);
    mf->fd = -1;
    return -1;
}

int fb_memfile_init(struct fb_memfile *mf, uint64_t size, struct fb_error *err)
{
    int fd = fb_memfile_tmpfs_file(-1);

    memfile_clear(mf);
    if (fd < 0)
        return fb_error_set(err, errno, "memfd_create: %s", strerror(errno));
    return memfile_setup(mf, fd, size, err);
}

int fb_memfile_init_large(struct fb_memfile *mf, uint64_t size, struct fb_error *err)
{
    int mnt, fd = open_large(&mnt);

    if (fd < 0) {
        fb_dbg("memory file in 4 KiB pages only: a tmpfs of its own: %s", strerror(errno));
        return fb_memfile_init(mf, size, err);
    }
    memfile_clear(mf);
    if (memfile_setup(mf, fd, size, err) < 0) {
        close(mnt);
        return -1;
    }
    mf->mnt_fd = mnt;
    mf->large = mapped_for_large(mf);
    if (!mf->large)
        fb_dbg("memory file in 4 KiB pages only: its mapping is not 2 MiB aligned");
    return 0;
}

int fb_memfile_clear_stale(struct fb_memfile *mf, struct fb_error *err)
{
    uint64_t end = mf->stale_top;
    off_t at = 0;

    mf->stale_top = 0;
    while ((uint64_t)at < end << FB_PAGE_SHIFT) {
        off_t data = lseek(mf->fd, at, SEEK_DATA), hole;
        uint64_t p, q, stop;
        if (data < 0 && errno == ENXIO)
            break; /* no data further on */
        hole = data < 0 ? -1 : lseek(mf->fd, data, SEEK_HOLE);
        if (hole < 0)
            return fb_error_set(err, errno, "the given memory file's extents: %s", strerror(errno));
        stop = FB_MIN((uint64_t)(hole + FB_PAGE_SIZE - 1) >> FB_PAGE_SHIFT, end);
        for (p = (uint64_t)data >> FB_PAGE_SHIFT; p < stop; p = q) {
            for (q = p; q < stop && !fb_mf_is_lazy(mf, q << FB_PAGE_SHIFT); q++)
                ;
            if (q > p && fallocate(mf->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                   (off_t)(p << FB_PAGE_SHIFT), (off_t)((q - p) << FB_PAGE_SHIFT)))
                return fb_error_set(err, errno, "clearing the given memory file: %s",
                                    strerror(errno));
            while (q < stop && fb_mf_is_lazy(mf, q << FB_PAGE_SHIFT))
                q++;
        }
        at = (off_t)(stop << FB_PAGE_SHIFT);
    }
    return 0;
}

int fb_memfile_given_check(int fd, struct fb_error *err)
{
    struct stat st;
    struct statfs sfs;
    int fl = fcntl(fd, F_GETFL), seals = fcntl(fd, F_GET_SEALS);

    if (fstat(fd, &st) != 0 || fstatfs(fd, &sfs) != 0 || fl < 0)
        return fb_error_set(err, errno, "the given memory file: %s", strerror(errno));
    if (!S_ISREG(st.st_mode) || sfs.f_type != TMPFS_MAGIC)
        return fb_error_set(err, EINVAL, "the given memory file: not a tmpfs file or memfd");
    if ((fl & O_ACCMODE) != O_RDWR || (fl & O_APPEND))
        return fb_error_set(err, EBADF, "the given memory file: not open for reading and writing");
    if (seals > 0 && (seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE)))
        return fb_error_set(err, EPERM, "the given memory file: sealed against change");
    return 0;
}

int fb_memfile_punch_from(int fd, uint64_t keep, uint64_t size)
{
    keep = FB_PAGE_ROUND_DOWN(FB_MIN(keep, size));
    if (keep == size)
        return 0;
    return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)keep,
                     (off_t)(size - keep));
}

int fb_memfile_init_given(struct fb_memfile *mf, int fd, uint64_t size, uint64_t keep,
                          struct fb_error *err)
{
    memfile_clear(mf);
    keep = FB_PAGE_ROUND_DOWN(FB_MIN(keep, size));
    if (fb_memfile_given_check(fd, err) < 0)
        goto fail;
    /* Up to size from keep at once (memfile_setup's truncation drops what lies beyond); below
     * keep, once a loader knows which pages the image fills. */
    if (fb_memfile_punch_from(fd, keep, size) != 0) {
        fb_error_set(err, errno, "clearing the given memory file: %s", strerror(errno));
        goto fail;
    }
    if (memfile_setup(mf, fd, size, err) < 0)
        return -1;
    mf->stale_top = keep >> FB_PAGE_SHIFT;
    /* (a file of a huge=advise tmpfs, as the server's; FNBOX_NO_LARGE_PAGES holds here too) */
    mf->large = !fb_mf_large_off && mapped_for_large(mf);
    return 0;
fail:
    close(fd);
    return -1;
}

unsigned fb_memfile_advise_large(struct fb_memfile *mf, const uint64_t *want, uint64_t top)
{
    const uint64_t words = FB_MF_LARGE_PAGES / 64, len = FB_MF_LARGE_PAGES * FB_PAGE_SIZE;
    unsigned asked = 0;

    if (!mf->large || !want)
        return 0;
    /* Whole regions below top only: want has (top + 63) / 64 words. */
    for (uint64_t r = 0; (r + 1) * FB_MF_LARGE_PAGES <= top; r++) {
        unsigned n = 0;
        for (uint64_t w = r * words; w < (r + 1) * words; w++)
            n += (unsigned)__builtin_popcountll(want[w]);
        if (n >= FB_MF_LARGE_MIN && madvise(mf->base + r * len, len, MADV_HUGEPAGE) == 0)
            asked++;
    }
    return asked;
}

void fb_memfile_destroy(struct fb_memfile *mf)
{
    fb_mf_lazy_release(mf);
    if (mf->refs)
        munmap(mf->refs, (mf->size >> FB_PAGE_SHIFT) * sizeof(uint32_t));
    if (mf->base)
        munmap(mf->base, mf->size);
    if (mf->fd >= 0)
        close(mf->fd);
    if (mf->mnt_fd >= 0)
        close(mf->mnt_fd); /* after the file: the tmpfs goes with this */
    free(mf->free);
    memfile_clear(mf);
}

static void set_refs(struct fb_memfile *mf, uint64_t page, uint64_t n, uint32_t v)
{
    uint64_t i;
    for (i = 0; i < n; i++)
        mf->refs[page + i] = v;
}

uint64_t fb_mf_alloc(struct fb_memfile *mf, uint64_t npages)
{
    uint64_t page = 0;
    size_t i;

    if (!npages)
        return 0;
    if (mf->limit_pages && mf->used_pages + npages > mf->limit_pages) {
        mf->limit_hit = true;
        return 0;
    }
    for (i = 0; i < mf->nfree; i++) {
        struct fb_mf_extent *e = &mf->free[i];
        if (e->npages >= npages) {
            page = e->start;
            e->start += npages;
            e->npages -= npages;
            if (!e->npages) {
                memmove(e, e + 1, (mf->nfree - i - 1) * sizeof(*e));
                mf->nfree--;
            }
            break;
        }
    }
    if (!page) {
        if (mf->top + npages > (mf->size >> FB_PAGE_SHIFT))
            return 0;
        page = mf->top;
        mf->top += npages;
    }
    set_refs(mf, page, npages, 1);
    mf->used_pages += npages;
    return page << FB_PAGE_SHIFT;
}

void fb_mf_get(struct fb_memfile *mf, uint64_t off, uint64_t npages)
{
    uint64_t page = off >> FB_PAGE_SHIFT, i;
    for (i = 0; i < npages; i++)
        mf->refs[page + i]++;
}

/* Return a run of pages to the free list, coalescing with neighbours, and punch it out. */
static void free_run(struct fb_memfile *mf, uint64_t start, uint64_t n)
{
    size_t lo = 0, hi = mf->nfree;

    mf->used_pages -= n;
    if (mf->lz)
        fb_mf_lazy_forget(mf, start, n);
    if (mf->ending)
        return; /* never handed out again, so never seen again unzeroed; gone at exit */
    mf->punches++;
    if (fallocate(mf->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(start << 12),
                  (off_t)(n << 12)) != 0)
        fb_warn("punching memory-file hole: %s", strerror(errno));
    if (start + n == mf->top) {
        mf->top = start;
        /* The last free run may now touch the top too. */
        while (mf->nfree && mf->free[mf->nfree - 1].start + mf->free[mf->nfree - 1].npages ==
                                mf->top) {
            mf->top = mf->free[mf->nfree - 1].start;
            mf->nfree--;
        }
        return;
    }
    while (lo < hi) { /* first extent starting after `start` */
        size_t mid = (lo + hi) / 2;
        if (mf->free[mid].start < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0 && mf->free[lo - 1].start + mf->free[lo - 1].npages == start) {
        mf->free[lo - 1].npages += n;
        if (lo < mf->nfree && start + n == mf->free[lo].start) {
            mf->free[lo - 1].npages += mf->free[lo].npages;
            memmove(&mf->free[lo], &mf->free[lo + 1], (mf->nfree - lo - 1) * sizeof(mf->free[0]));
            mf->nfree--;
        }
        return;
    }
    if (lo < mf->nfree && start + n == mf->free[lo].start) {
        mf->free[lo].start = start;
        mf->free[lo].npages += n;
        return;
    }
    if (mf->nfree == mf->capfree) {
        size_t cap = mf->capfree ? mf->capfree * 2 : 64;
        struct fb_mf_extent *nf = realloc(mf->free, cap * sizeof(*nf));
        if (!nf) {
            fb_warn("out of memory tracking %lu free pages; they stay reserved",
                    (unsigned long)n);
            return;
        }
        mf->free = nf;
        mf->capfree = cap;
    }
    memmove(&mf->free[lo + 1], &mf->free[lo], (mf->nfree - lo) * sizeof(mf->free[0]));
    mf->free[lo].start = start;
    mf->free[lo].npages = n;
    mf->nfree++;
}

void fb_mf_put(struct fb_memfile *mf, uint64_t off, uint64_t npages)
{
    uint64_t page = off >> FB_PAGE_SHIFT, i, run = 0, run_start = 0;

    for (i = 0; i < npages; i++) {
        uint64_t p = page + i;
        if (!mf->refs[p]) {
            fb_err("memory-file page %#lx freed twice", (unsigned long)p);
            continue;
        }
        if (--mf->refs[p] == 0) {
            if (run && run_start + run == p) {
                run++;
                continue;
            }
            if (run)
                free_run(mf, run_start, run);
            run_start = p;
            run = 1;
        }
    }
    if (run)
        free_run(mf, run_start, run);
}

uint64_t fb_mf_resident_bytes(const struct fb_memfile *mf)
{
    struct stat st;
    if (fstat(mf->fd, &st) != 0)
        return 0;
    return (uint64_t)st.st_blocks * 512;
}

int fb_mf_copy(struct fb_memfile *mf, uint64_t dst, uint64_t src, uint64_t len)
{
    uint64_t done = 0;

    fb_mf_need(mf, src, len);
    while (done < len) {
        loff_t in = (loff_t)(src + done), out = (loff_t)(dst + done);
        ssize_t n = copy_file_range(mf->fd, &in, mf->fd, &out, len - done, 0);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            break; /* not supported here: finish with a plain copy */
        }
        done += (uint64_t)n;
    }
    if (done < len)
        memcpy(mf->base + dst + done, mf->base + src + done, len - done);
    return 0;
}

int fb_mf_rebuild(struct fb_memfile *mf, uint64_t top)
{
    uint64_t p;

    mf->top = top;
    mf->nfree = 0;
    mf->used_pages = 0;
    for (p = 1; p < top; p++) {
        uint64_t start = p;
        if (mf->refs[p]) {
            mf->used_pages++;
            continue;
        }
        while (p + 1 < top && !mf->refs[p + 1])
            p++;
        if (mf->nfree == mf->capfree) {
            size_t cap = mf->capfree ? mf->capfree * 2 : 64;
            struct fb_mf_extent *nf = realloc(mf->free, cap * sizeof(*nf));
            if (!nf)
                return -ENOMEM;
            mf->free = nf;
            mf->capfree = cap;
        }
        mf->free[mf->nfree].start = start;
        mf->free[mf->nfree].npages = p - start + 1;
        mf->nfree++;
    }
    return 0;
}
