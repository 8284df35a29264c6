/* mount(2) and the new mount API are refused: the sandbox's mount table is fixed and no host
 * file system can be mounted. Outcome: EPERM, as documented in the syscall table. */
#include <sys/mount.h>

#include "escape.h"

int main(void)
{
    ESC_REFUSED(SYS_mount, mount("none", "/tmp", "tmpfs", 0, NULL), EPERM);
    ESC_REFUSED(SYS_mount, mount("/dev/sda1", "/rw", "ext4", 0, NULL), EPERM);
    ESC_REFUSED(SYS_mount, mount("/", "/tmp", NULL, MS_BIND | MS_REC, NULL), EPERM);
    ESC_REFUSED(SYS_mount, mount(NULL, "/", NULL, MS_REMOUNT, NULL), EPERM);
    ESC_REFUSED(SYS_mount, mount("proc", "/tmp", "proc", 0, NULL), EPERM);
    ESC_REFUSED(SYS_move_mount, syscall(SYS_move_mount, -100, "/tmp", -100, "/rw", 0), EPERM);
    ESC_REFUSED(SYS_fsmount, syscall(SYS_fsmount, 3, 0, 0), EPERM);
    ESC_REFUSED(SYS_mount_setattr, syscall(SYS_mount_setattr, -100, "/", 0, NULL, 0), EPERM);
    return esc_done();
}
