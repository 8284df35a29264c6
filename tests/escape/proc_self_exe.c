/* /proc/self/exe tricks: it names the sandbox path of the program, it cannot be opened for
 * writing (no way to modify a binary on the host through it), and paths through it do not walk
 * out. Outcome: readlink "/t/proc_self_exe", writes refused, walks ENOTDIR. */
#include "escape.h"

int main(void)
{
    char buf[256], hdr[4];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    int fd;

    if (n >= 0)
        buf[n] = 0;
    esc_check(n > 0 && strcmp(buf, "/t/proc_self_exe") == 0, "readlink(/proc/self/exe) = %s",
              n > 0 ? buf : "?");
    fd = open("/proc/self/exe", O_RDONLY);
    esc_check(fd >= 0 && read(fd, hdr, 4) == 4 && memcmp(hdr, "\177ELF", 4) == 0,
              "/proc/self/exe opens read-only and is the ELF");
    if (fd >= 0)
        close(fd);
    ESC_ERR2(open("/proc/self/exe", O_WRONLY), ETXTBSY, EROFS);
    ESC_ERR2(open("/proc/self/exe", O_RDWR | O_TRUNC), ETXTBSY, EROFS);
    ESC_ERR(open("/proc/self/exe/../../etc/shadow", O_RDONLY), ENOTDIR);
    ESC_ERR(truncate("/proc/self/exe", 0), EROFS);
    ESC_ERR(unlink("/proc/self/exe"), EPERM); /* as Linux */
    ESC_ERR(rename("/t/proc_self_exe", "/t/x"), EROFS);
    return esc_done();
}
