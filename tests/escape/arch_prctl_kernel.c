/* Segment bases at kernel addresses: ARCH_SET_FS/ARCH_SET_GS with a kernel or non-canonical
 * address would make the host's PTRACE_SETREGS fail (or worse) when the Sentry switches back to
 * the task. Outcome: EPERM as on Linux; a bad result pointer gives EFAULT; the task runs on. */
#include <asm/prctl.h>

#include "escape.h"

int main(void)
{
    unsigned long fs = 0;
    ESC_ERR(syscall(SYS_arch_prctl, ARCH_SET_FS, ESC_KERNEL_ADDR), EPERM);
    ESC_ERR(syscall(SYS_arch_prctl, ARCH_SET_GS, ESC_KERNEL_ADDR), EPERM);
    ESC_ERR(syscall(SYS_arch_prctl, ARCH_SET_FS, 0x0000800000000000ull), EPERM);
    ESC_ERR(syscall(SYS_arch_prctl, ARCH_SET_GS, ~0ull), EPERM);
    ESC_ERR(syscall(SYS_arch_prctl, ARCH_GET_FS, ESC_KERNEL_ADDR), EFAULT);
    ESC_ERR(syscall(SYS_arch_prctl, ARCH_GET_FS, NULL), EFAULT);
    ESC_ERR(syscall(SYS_arch_prctl, 0x9999, 0), EINVAL);
    ESC_OK(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs));
    esc_check(fs != 0, "fs base unchanged and readable (%#lx)", fs);
    return esc_done();
}
