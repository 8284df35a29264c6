/* userfaultfd(2) (a favourite primitive for widening kernel races) is refused. Outcome: EPERM;
 * /dev/userfaultfd does not exist. */
#include "escape.h"

int main(void)
{
    ESC_REFUSED(SYS_userfaultfd, syscall(SYS_userfaultfd, 0), EPERM);
    ESC_REFUSED(SYS_userfaultfd, syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK), EPERM);
    ESC_ERR(open("/dev/userfaultfd", O_RDWR), ENOENT);
    return esc_done();
}
