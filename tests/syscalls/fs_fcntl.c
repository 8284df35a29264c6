/* Conformance: fcntl F_DUPFD/F_DUPFD_CLOEXEC (lowest >= arg), F_GETFD/F_SETFD, F_GETFL/F_SETFL
 * (O_NONBLOCK, O_APPEND; access mode unchangeable), F_GETPIPE_SZ, errors. Part of tests/syscalls.
 */
#include "conform.h"

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    /* A known descriptor limit, whatever the environment's default is. */
    struct rlimit rl = {1024, 1024};
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = 1024;
    CHECK_SYS(setrlimit(RLIMIT_NOFILE, &rl), "set RLIMIT_NOFILE soft limit to 1024");
    int fd = open(cf_tmp("f"), O_RDWR | O_CREAT, 0600);
    int a = fcntl(fd, F_DUPFD, 40);
    CHECK_EQ(a, 40, "F_DUPFD 40 gives 40");
    int b = fcntl(fd, F_DUPFD, 40);
    CHECK_EQ(b, 41, "F_DUPFD 40 again gives 41");
    CHECK_EQ(fcntl(a, F_GETFD), 0, "F_DUPFD result has no FD_CLOEXEC");
    int c = fcntl(fd, F_DUPFD_CLOEXEC, 40);
    CHECK_EQ(c, 42, "F_DUPFD_CLOEXEC gives 42");
    CHECK_EQ(fcntl(c, F_GETFD), FD_CLOEXEC, "F_DUPFD_CLOEXEC sets FD_CLOEXEC");
    CHECK_ERR(fcntl(fd, F_DUPFD, -1), EINVAL, "F_DUPFD with a negative minimum");
    CHECK_ERR(fcntl(fd, F_DUPFD, 5000), EINVAL, "F_DUPFD above the limit");

    CHECK_SYS(fcntl(fd, F_SETFD, FD_CLOEXEC), "F_SETFD FD_CLOEXEC");
    CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC, "F_GETFD reads it back");
    CHECK_SYS(fcntl(fd, F_SETFD, 0), "F_SETFD 0");
    CHECK_EQ(fcntl(fd, F_GETFD), 0, "cleared");

    int fl = fcntl(fd, F_GETFL);
    CHECK_EQ(fl & O_ACCMODE, O_RDWR, "F_GETFL access mode O_RDWR");
    CHECK_EQ(fl & (O_NONBLOCK | O_APPEND), 0, "no O_NONBLOCK or O_APPEND yet");
    CHECK_SYS(fcntl(fd, F_SETFL, O_NONBLOCK | O_APPEND), "F_SETFL O_NONBLOCK|O_APPEND");
    fl = fcntl(fd, F_GETFL);
    CHECK((fl & O_NONBLOCK) && (fl & O_APPEND), "both set");
    CHECK_SYS(fcntl(fd, F_SETFL, O_RDONLY), "F_SETFL with an access mode");
    CHECK_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR, "access mode cannot change");
    CHECK_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, 0, "O_NONBLOCK cleared");
    int ro = open("/etc/passwd", O_RDONLY);
    CHECK_EQ(fcntl(ro, F_GETFL) & O_ACCMODE, O_RDONLY, "O_RDONLY fd reports O_RDONLY");
    int wo = open(cf_tmp("f"), O_WRONLY);
    CHECK_EQ(fcntl(wo, F_GETFL) & O_ACCMODE, O_WRONLY, "O_WRONLY fd reports O_WRONLY");
    close(ro);
    close(wo);

    int p[2];
    pipe(p);
    CHECK_SYS(fcntl(p[0], F_SETFL, O_NONBLOCK), "pipe read end O_NONBLOCK");
    char x;
    CHECK_ERR(read(p[0], &x, 1), EAGAIN, "nonblocking read of an empty pipe");
    CHECK_EQ(fcntl(p[0], F_GETPIPE_SZ), 65536, "F_GETPIPE_SZ is 64 KiB");
    CHECK_SYS(fcntl(p[0], F_SETPIPE_SZ, 4096 * 4), "F_SETPIPE_SZ 16 KiB");
    CHECK_EQ(fcntl(p[0], F_GETPIPE_SZ), 16384, "F_GETPIPE_SZ reads back 16 KiB");
    CHECK_ERR(fcntl(fd, F_GETPIPE_SZ), EBADF, "F_GETPIPE_SZ on a regular file");
    close(p[0]);
    close(p[1]);

    CHECK_ERR(fcntl(999, F_GETFD), EBADF, "F_GETFD on a closed fd");
    CHECK_ERR(fcntl(fd, 9999), EINVAL, "unknown command");
    int pathfd = open("/etc/passwd", O_PATH);
    CHECK_SYS(fcntl(pathfd, F_GETFL), "F_GETFL works on an O_PATH fd");
    CHECK(fcntl(pathfd, F_GETFL) & O_PATH, "and reports O_PATH");
    close(pathfd);
    close(a);
    close(b);
    close(c);
    close(fd);
    return cf_done();
}
