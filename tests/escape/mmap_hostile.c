/* Address-space edges: mapping page 0 (NULL-dereference exploits), kernel or non-canonical
 * addresses, wrapping lengths, and brk/mremap/mprotect into kernel space. Outcome: the errors
 * Linux gives an unprivileged process (EPERM below mmap_min_addr even for the sandbox's "root",
 * ENOMEM/EINVAL elsewhere); nothing maps there. */
#include "escape.h"

int main(void)
{
    void *p;
    ESC_ERR(mmap(NULL, 4096, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EPERM);
    ESC_ERR(mmap((void *)0x1000, 4096, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            EPERM);
    ESC_ERR(mmap((void *)ESC_KERNEL_ADDR, 4096, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0),
            ENOMEM);
    ESC_ERR(mmap((void *)0x7ffffffff000ull, 8192, PROT_READ,
                 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            ENOMEM);
    ESC_ERR(mmap(NULL, ~0ul & ~4095ul, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);
    ESC_ERR(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
    ESC_ERR(mmap((void *)0x10001, 4096, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            EINVAL);
    ESC_ERR(mmap(NULL, 4096, PROT_READ, MAP_SHARED, -1, 0), EBADF);
    ESC_ERR(mprotect((void *)ESC_KERNEL_ADDR, 4096, PROT_READ | PROT_WRITE), ENOMEM);
    ESC_ERR(munmap((void *)ESC_KERNEL_ADDR, 4096), EINVAL);
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ESC_ERR(mremap(p, 4096, 8192, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)ESC_KERNEL_ADDR), EINVAL);
    ESC_ERR(mremap(p, 4096, ~0ul & ~4095ul, MREMAP_MAYMOVE), EINVAL); /* as Linux */
    esc_check(syscall(SYS_brk, ESC_KERNEL_ADDR) != (long)ESC_KERNEL_ADDR,
              "brk refuses a kernel address");
    esc_check(syscall(SYS_brk, 0x1000) != 0x1000, "brk refuses page 1");
    return esc_done();
}
