/* chroot(2), including the classic chroot-then-chdir("..") breakout, is refused: the sandbox
 * root is fixed. Outcome: EPERM, and ".." from / stays at /. */
#include "escape.h"

int main(void)
{
    struct stat a, b;
    ESC_REFUSED(SYS_chroot, chroot("/tmp"), EPERM);
    ESC_REFUSED(SYS_chroot, chroot("/rw"), EPERM);
    ESC_REFUSED(SYS_chroot, chroot("/"), EPERM);
    esc_check(chdir("/rw") == 0 && chdir("../../../..") == 0 && stat(".", &a) == 0 &&
                  stat("/", &b) == 0 && a.st_ino == b.st_ino,
              "chdir(..) repeatedly ends at /");
    return esc_done();
}
