/* Links and device nodes out of a read-write mount: a hard link from the read-only view into /rw
 * (which would make a host file writable through the link) crosses mounts, device nodes cannot be
 * made, and host device files are not in /dev. Outcome: EXDEV, EPERM, ENOENT. */
#include <sys/sysmacros.h>

#include "escape.h"

int main(void)
{
    ESC_ERR(link("/etc/passwd", "/rw/passwd"), EXDEV);
    ESC_ERR(link("/usr/bin/env", "/rw/env"), EXDEV);
    ESC_ERR(mknod("/rw/sda", S_IFBLK | 0600, makedev(8, 0)), EPERM);
    ESC_ERR(mknod("/rw/mem", S_IFCHR | 0600, makedev(1, 1)), EPERM);
    ESC_ERR(mknod("/tmp/kmsg", S_IFCHR | 0600, makedev(1, 11)), EPERM);
    ESC_ERR(open("/dev/mem", O_RDONLY), ENOENT);
    ESC_ERR(open("/dev/kmem", O_RDONLY), ENOENT);
    ESC_ERR(open("/dev/sda", O_RDONLY), ENOENT);
    ESC_ERR(open("/dev/kmsg", O_RDONLY), ENOENT);
    ESC_ERR(open("/dev/tty0", O_RDONLY), ENOENT);
    ESC_ERR(open("/sys/kernel/notes", O_RDONLY), ENOENT);
    return esc_done();
}
