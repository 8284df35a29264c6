/* Relative symlinks climbing out of a read-write host mount (/rw/up -> ../../../../..): the climb
 * stops at the sandbox root. Outcome: ENOENT for host paths; a marker written through the link
 * lands in the sandbox's /tmp (tmpfs), never on the host (the runner checks /tmp on the host). */
#include "escape.h"

int main(void)
{
    int fd;
    esc_check(symlink("../../../../../../../..", "/rw/up") == 0, "symlink /rw/up");
    esc_check(mkdir("/rw/d", 0755) == 0 && symlink("../../../../../../etc", "/rw/d/etc") == 0,
              "symlink /rw/d/etc");
    ESC_ERR(open("/rw/up/etc/shadow", O_RDONLY), ENOENT);
    ESC_ERR(open("/rw/d/etc/shadow", O_RDONLY), ENOENT);
    ESC_ERR(open("/rw/up/root", O_RDONLY), ENOENT);
    ESC_ERR(open("/rw/up/etc/" ESC_MARKER, O_WRONLY | O_CREAT, 0644), EROFS);
    fd = open("/rw/up/tmp/" ESC_MARKER, O_WRONLY | O_CREAT, 0644);
    esc_check(fd >= 0, "/rw/up/tmp/ is the sandbox /tmp");
    if (fd >= 0)
        close(fd);
    esc_check(access("/tmp/" ESC_MARKER, F_OK) == 0, "the marker is in the sandbox /tmp");
    return esc_done();
}
