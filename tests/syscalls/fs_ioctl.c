/* Conformance: ioctl — TCGETS on non-terminals gives ENOTTY, FIONREAD on pipes and files,
 * FIOCLEX/FIONCLEX, FIONBIO, unknown requests, EBADF. Part of tests/syscalls (native == fnbox). */
#include "conform.h"
#include <sys/ioctl.h>
#include <termios.h>

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    int p[2];
    pipe(p);
    struct termios t;
    CHECK_ERR(ioctl(p[0], TCGETS, &t), ENOTTY, "TCGETS on a pipe");
    CHECK_EQ(isatty(p[0]), 0, "isatty(pipe) is 0");
    int nul = open("/dev/null", O_RDWR);
    CHECK_ERR(ioctl(nul, TCGETS, &t), ENOTTY, "TCGETS on /dev/null");
    int f = open(cf_tmp("f"), O_RDWR | O_CREAT, 0600);
    CHECK_ERR(ioctl(f, TCGETS, &t), ENOTTY, "TCGETS on a regular file");
    struct winsize ws;
    CHECK_ERR(ioctl(p[1], TIOCGWINSZ, &ws), ENOTTY, "TIOCGWINSZ on a pipe");

    int n = -1;
    CHECK_SYS(ioctl(p[0], FIONREAD, &n), "FIONREAD on an empty pipe");
    CHECK_EQ(n, 0, "0 bytes");
    write(p[1], "abc", 3);
    ioctl(p[0], FIONREAD, &n);
    CHECK_EQ(n, 3, "3 bytes after a write");
    write(f, "0123456789", 10);
    lseek(f, 4, SEEK_SET);
    CHECK_SYS(ioctl(f, FIONREAD, &n), "FIONREAD on a regular file");
    CHECK_EQ(n, 6, "bytes between the offset and EOF");
    CHECK_ERR(ioctl(p[0], FIONREAD, (int *)8), EFAULT, "FIONREAD to a bad pointer");

    CHECK_SYS(ioctl(f, FIOCLEX), "FIOCLEX");
    CHECK_EQ(fcntl(f, F_GETFD), FD_CLOEXEC, "FD_CLOEXEC set by FIOCLEX");
    CHECK_SYS(ioctl(f, FIONCLEX), "FIONCLEX");
    CHECK_EQ(fcntl(f, F_GETFD), 0, "FD_CLOEXEC cleared by FIONCLEX");
    int on = 1;
    CHECK_SYS(ioctl(p[0], FIONBIO, &on), "FIONBIO on");
    CHECK(fcntl(p[0], F_GETFL) & O_NONBLOCK, "O_NONBLOCK set by FIONBIO");
    char buf[8];
    read(p[0], buf, 8);
    CHECK_ERR(read(p[0], buf, 8), EAGAIN, "nonblocking read after FIONBIO");
    on = 0;
    ioctl(p[0], FIONBIO, &on);
    CHECK_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0, "FIONBIO off");

    CHECK_ERR(ioctl(999, FIONREAD, &n), EBADF, "ioctl on a closed fd");
    CHECK_ERR(ioctl(p[0], 0x12345678, &n), ENOTTY, "unknown ioctl on a pipe");
    CHECK_ERR(ioctl(f, 0x12345678, &n), ENOTTY, "unknown ioctl on a file");
    close(p[0]);
    close(p[1]);
    close(nul);
    close(f);
    return cf_done();
}
