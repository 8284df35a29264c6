/* Terminal tricks on the caller's stdio: TIOCSTI (push characters into the host terminal's input,
 * to be run by the user's shell after the sandbox exits), TIOCSCTTY, TIOCCONS and TIOCLINUX are
 * not forwarded. Stdio here is /dev/null and pipes (the runner), so also check that no ioctl
 * outside the documented set reaches the host fd. Outcome: ENOTTY for each. */
#include <sys/ioctl.h>
#include <termios.h>

#include "escape.h"

int main(void)
{
    char c = 'x';
    int fd;
    for (fd = 0; fd < 3; fd++) {
        ESC_ERR(ioctl(fd, TIOCSTI, &c), ENOTTY);
        ESC_ERR(ioctl(fd, TIOCSCTTY, 1), ENOTTY);
        ESC_ERR(ioctl(fd, TIOCCONS, 0), ENOTTY);
        ESC_ERR(ioctl(fd, TIOCLINUX, &c), ENOTTY);
        ESC_ERR(ioctl(fd, 0x5401 /* TCGETS */, (void *)ESC_KERNEL_ADDR), ENOTTY);
    }
    ESC_ERR(open("/dev/tty", O_RDWR), ENXIO); /* no controlling terminal, as on Linux */
    ESC_ERR(open("/dev/console", O_RDWR), ENOENT);
    return esc_done();
}
