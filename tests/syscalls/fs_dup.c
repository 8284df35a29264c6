/* Conformance: dup/dup2/dup3 — lowest fd, shared offset and flags, dup2 onto itself, dup3
 * EINVAL on the same fd, O_CLOEXEC, EBADF. Part of tests/syscalls (native == fnbox). */
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
    write(fd, "abcdef", 6);
    int d = dup(fd);
    CHECK(d >= 0 && d != fd, "dup returns a new fd");
    CHECK_EQ(lseek(d, 0, SEEK_CUR), 6, "dup shares the offset");
    lseek(fd, 2, SEEK_SET);
    CHECK_EQ(lseek(d, 0, SEEK_CUR), 2, "seeking one moves the other");
    fcntl(fd, F_SETFL, O_APPEND);
    CHECK(fcntl(d, F_GETFL) & O_APPEND, "file status flags are shared");
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    CHECK_EQ(fcntl(d, F_GETFD), 0, "fd flags are not shared");
    CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC, "original has FD_CLOEXEC");
    fcntl(fd, F_SETFD, 0);
    fcntl(fd, F_SETFL, 0);

    CHECK_EQ(dup2(fd, 50), 50, "dup2 onto 50");
    CHECK_EQ(dup2(fd, 50), 50, "dup2 onto an already open 50 replaces it");
    CHECK_EQ(dup2(fd, fd), fd, "dup2 onto itself returns the fd");
    CHECK_ERR(dup2(999, 51), EBADF, "dup2 from a closed fd");
    CHECK_ERR(dup2(fd, 5000), EBADF, "dup2 onto an fd above the limit");
    CHECK_ERR(dup2(fd, -1), EBADF, "dup2 onto -1");
    CHECK_ERR(fcntl(51, F_GETFD), EBADF, "failed dup2 left 51 closed");

    CHECK_EQ(dup3(fd, 52, O_CLOEXEC), 52, "dup3 with O_CLOEXEC");
    CHECK_EQ(fcntl(52, F_GETFD), FD_CLOEXEC, "dup3 set FD_CLOEXEC");
    CHECK_EQ(dup3(fd, 53, 0), 53, "dup3 with no flags");
    CHECK_EQ(fcntl(53, F_GETFD), 0, "no FD_CLOEXEC");
    CHECK_ERR(dup3(fd, fd, 0), EINVAL, "dup3 onto the same fd");
    CHECK_ERR(dup3(fd, 54, O_NONBLOCK), EINVAL, "dup3 with a flag other than O_CLOEXEC");
    CHECK_ERR(dup(999), EBADF, "dup of a closed fd");
    CHECK_ERR(dup(-1), EBADF, "dup of -1");

    /* Closing one copy leaves the file open through the other. */
    close(fd);
    char buf[8] = {0};
    CHECK_EQ(pread(d, buf, 3, 0), 3, "read through the dup after closing the original");
    CHECK_STR(buf, "abc", "data");
    /* dup2 onto stdout: output goes to the file. */
    int saved = dup(1);
    fflush(stdout);
    dup2(d, 1);
    lseek(d, 0, SEEK_END);
    write(1, "XYZ", 3);
    dup2(saved, 1);
    close(saved);
    memset(buf, 0, sizeof(buf));
    pread(d, buf, 3, 6);
    CHECK_STR(buf, "XYZ", "write to fd 1 went to the file while dup2'd");
    close(d);
    close(50);
    close(52);
    close(53);
    return cf_done();
}
