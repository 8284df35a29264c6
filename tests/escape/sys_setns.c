/* setns(2) into any namespace (through /proc/<pid>/ns files, if they existed, or raw fds) is
 * refused. Outcome: EPERM; the /proc/self/ns files are not provided. */
#include "escape.h"

int main(void)
{
    int fd = open("/proc/self/ns/mnt", O_RDONLY);
    esc_check(fd < 0, "/proc/self/ns/mnt cannot be opened (%s)", esc_errname(errno));
    ESC_REFUSED(SYS_setns, setns(0, 0), EPERM);
    ESC_REFUSED(SYS_setns, setns(1, CLONE_NEWNS), EPERM);
    ESC_REFUSED(SYS_setns, setns(-1, CLONE_NEWUSER), EPERM);
    return esc_done();
}
