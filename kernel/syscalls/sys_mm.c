/* Memory system calls: mmap and friends, handed to kernel/mm. */
#include "kernel/syscalls/syscall.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "kernel/mm/mm.h"
#include "kernel/util/cleanup.h"
#include "kernel/vfs/vfs.h"

#define MAP_VALID                                                                                  \
    (MAP_SHARED | MAP_PRIVATE | MAP_SHARED_VALIDATE | MAP_FIXED | MAP_ANONYMOUS | MAP_GROWSDOWN |  \
     MAP_DENYWRITE | MAP_EXECUTABLE | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK |  \
     MAP_STACK | MAP_HUGETLB | MAP_SYNC | MAP_FIXED_NOREPLACE | MAP_32BIT)

FB_SYSCALL(mmap)
{
    uint64_t addr = a[0], len = a[1], off = a[5];
    int prot = ARG_INT(2), flags = ARG_INT(3), fd = ARG_INT(4);
    int type = flags & MAP_TYPE;
    struct fb_mappable *map = NULL;
    uint32_t maxprot = PROT_READ | PROT_WRITE | PROT_EXEC;
    char name[FB_PATH_MAX];
    const char *vname = NULL;

    if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE)
        return -EINVAL;
    /* MAP_SHARED_VALIDATE is for files (it validates their flags); anonymous memory takes only
     * MAP_SHARED or MAP_PRIVATE (Linux do_mmap). */
    if (type == MAP_SHARED_VALIDATE && (flags & MAP_ANONYMOUS))
        return -EINVAL;
    if (type == MAP_SHARED_VALIDATE && (flags & ~MAP_VALID))
        return -EOPNOTSUPP;
    if (type == MAP_SHARED_VALIDATE)
        flags = (flags & ~MAP_TYPE) | MAP_SHARED;
    if (flags & MAP_HUGETLB)
        return -EINVAL; /* no huge pages in the sandbox */
    if (off & (FB_PAGE_SIZE - 1))
        return -EINVAL;
    if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | 0x8 /* PROT_SEM */))
        return -EINVAL;
    if (!len)
        return -EINVAL;
    if (flags & MAP_32BIT) {
        /* Linux places these below 2 GB; honour it with a hint. */
        if (!(flags & MAP_FIXED) && !addr)
            addr = 0x40000000;
    }
    if (!(flags & MAP_ANONYMOUS)) {
        struct fb_file *f = fb_fd_get(t, fd);
        int r;
        if (!f)
            return -EBADF;
        if ((f->flags & O_PATH) || !f->ops || !f->ops->mmap) {
            fb_file_put(f);
            return -ENODEV;
        }
        if ((f->flags & O_ACCMODE) == O_WRONLY) {
            fb_file_put(f);
            return -EACCES;
        }
        if (type != MAP_PRIVATE || (flags & MAP_SHARED)) {
            if ((f->flags & O_ACCMODE) != O_RDWR)
                maxprot &= ~(uint32_t)PROT_WRITE;
            if ((prot & PROT_WRITE) && !(maxprot & PROT_WRITE)) {
                fb_file_put(f);
                return -EACCES;
            }
        }
        if ((prot & PROT_EXEC) && f->path.mnt && (f->path.mnt->flags & FB_MNT_NOEXEC)) {
            fb_file_put(f);
            return -EPERM;
        }
        r = f->ops->mmap(f, &map);
        if (r == 0 && f->path.dentry &&
            fb_vfs_path_string(&f->path, NULL, name, sizeof(name)) > 0)
            vname = name;
        fb_file_put(f);
        if (r < 0)
            return r;
    } else if (flags & MAP_SHARED) {
        struct fb_file *f;
        int r = fb_shmem_new(FB_PAGE_ROUND_UP(len), "dev/zero", &f);
        if (r < 0)
            return r;
        r = f->ops->mmap(f, &map);
        fb_file_put(f);
        if (r < 0)
            return r;
        vname = "/dev/zero (deleted)";
        off = 0;
    } else {
        off = 0;
    }
    return fb_mm_mmap(t->mm, addr, len, prot, flags, map, off, maxprot, vname);
}

FB_SYSCALL(munmap)
{
    return fb_mm_munmap(t->mm, a[0], a[1]);
}

FB_SYSCALL(mprotect)
{
    return fb_mm_mprotect(t->mm, a[0], a[1], ARG_INT(2));
}

FB_SYSCALL(brk)
{
    return fb_mm_brk(t->mm, a[0]);
}

FB_SYSCALL(mremap)
{
    return fb_mm_mremap(t->mm, a[0], a[1], a[2], ARG_INT(3), a[4]);
}

FB_SYSCALL(madvise)
{
    return fb_mm_madvise(t->mm, a[0], a[1], ARG_INT(2));
}

FB_SYSCALL(mincore)
{
    uint64_t len = FB_PAGE_ROUND_UP(a[1]), n = len >> FB_PAGE_SHIFT;
    _cleanup_free_ uint8_t *vec = NULL;
    int r;

    if (a[0] & (FB_PAGE_SIZE - 1))
        return -EINVAL;
    if (n > (1ull << 30))
        return -ENOMEM;
    vec = malloc(n ? n : 1);
    if (!vec)
        return -ENOMEM;
    r = fb_mm_mincore(t->mm, a[0], a[1], vec);
    if (r < 0)
        return r;
    return fb_mm_copy_out(t->mm, a[2], vec, n) ? -EFAULT : 0;
}

FB_SYSCALL(msync)
{
    if (a[0] & (FB_PAGE_SIZE - 1))
        return -EINVAL;
    if (a[2] & ~(uint64_t)(MS_ASYNC | MS_SYNC | MS_INVALIDATE))
        return -EINVAL;
    if ((a[2] & (MS_ASYNC | MS_SYNC)) == (MS_ASYNC | MS_SYNC))
        return -EINVAL;
    if (!fb_vma_range_covered(&t->mm->vmas, a[0], a[0] + FB_PAGE_ROUND_UP(a[1])))
        return -ENOMEM;
    return 0; /* shared mappings are the file's own pages: always in sync */
}

/* Locking memory: every page is already resident in the memory file, so a lock only checks that
 * the range is mapped, like Linux (ENOMEM over holes). The start is rounded down to a page. */
static int64_t lock_range(struct fb_task *t, uint64_t addr, uint64_t len)
{
    uint64_t start = addr & ~(uint64_t)(FB_PAGE_SIZE - 1);
    uint64_t end = FB_PAGE_ROUND_UP(addr + len);

    if (addr + len < addr || end < start)
        return -ENOMEM;
    if (end == start)
        return 0;
    return fb_vma_range_covered(&t->mm->vmas, start, end) ? 0 : -ENOMEM;
}

FB_SYSCALL(mlock)
{
    return lock_range(t, a[0], a[1]);
}
FB_SYSCALL(munlock)
{
    return lock_range(t, a[0], a[1]);
}
FB_SYSCALL(mlockall)
{
    (void)t;
    if (!a[0] || (a[0] & ~(uint64_t)(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)))
        return -EINVAL;
    if (a[0] == MCL_ONFAULT)
        return -EINVAL; /* MCL_ONFAULT needs MCL_CURRENT or MCL_FUTURE */
    return 0;
}
FB_SYSCALL(munlockall)
{
    (void)t;
    (void)a;
    return 0;
}
FB_SYSCALL(mlock2)
{
    if (a[2] & ~(uint64_t)MLOCK_ONFAULT)
        return -EINVAL;
    return lock_range(t, a[0], a[1]);
}
