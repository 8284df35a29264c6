/* Kernel modules: init_module, finit_module (from a file the sandbox can read) and
 * delete_module are refused. Outcome: EPERM for each. */
#include "escape.h"

int main(void)
{
    int fd = open("/t/sys_modules", O_RDONLY);
    ESC_REFUSED(SYS_init_module, syscall(SYS_init_module, "\177ELF", 4, ""), EPERM);
    ESC_REFUSED(SYS_finit_module, syscall(SYS_finit_module, fd, "", 0), EPERM);
    ESC_REFUSED(SYS_delete_module, syscall(SYS_delete_module, "ext4", O_NONBLOCK), EPERM);
    ESC_REFUSED(SYS_delete_module, syscall(SYS_delete_module, "snd", 0), EPERM);
    return esc_done();
}
