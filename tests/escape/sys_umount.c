/* umount2(2) of the sandbox's own mounts (to uncover what is below) is refused. Outcome: EPERM. */
#include <sys/mount.h>

#include "escape.h"

int main(void)
{
    ESC_REFUSED(SYS_umount2, umount2("/proc", 0), EPERM);
    ESC_REFUSED(SYS_umount2, umount2("/", MNT_DETACH), EPERM);
    ESC_REFUSED(SYS_umount2, umount2("/tmp", MNT_FORCE), EPERM);
    ESC_REFUSED(SYS_umount2, umount2("/rw", 0), EPERM);
    return esc_done();
}
