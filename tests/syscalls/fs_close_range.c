/* Conformance: close and close_range — EBADF on double close, ranges, CLOSE_RANGE_CLOEXEC,
 * lowest-free fd allocation after closes. Part of tests/syscalls (native == fnbox). */
#include "conform.h"
#include <linux/close_range.h>

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    int fds[6];
    for (int i = 0; i < 6; i++)
        fds[i] = dup2(0, 100 + i) == 100 + i ? 100 + i : -1;
    CHECK(fds[5] == 105, "dup2 onto fds 100..105");
    CHECK_SYS(close(100), "close 100");
    CHECK_ERR(close(100), EBADF, "close 100 again");
    CHECK_ERR(close(-1), EBADF, "close -1");
    CHECK_SYS(close_range(101, 103, 0), "close_range 101..103");
    CHECK_ERR(fcntl(102, F_GETFD), EBADF, "102 closed");
    CHECK_SYS(fcntl(104, F_GETFD), "104 still open");
    CHECK_SYS(close_range(104, 105, CLOSE_RANGE_CLOEXEC), "close_range CLOEXEC 104..105");
    CHECK_EQ(fcntl(104, F_GETFD), FD_CLOEXEC, "104 is now close-on-exec");
    CHECK_EQ(fcntl(105, F_GETFD), FD_CLOEXEC, "105 is now close-on-exec");
    CHECK_SYS(close_range(104, ~0U, 0), "close_range 104..UINT_MAX");
    CHECK_ERR(fcntl(105, F_GETFD), EBADF, "105 closed");
    CHECK_ERR(close_range(10, 5, 0), EINVAL, "close_range with first > last");
    CHECK_ERR(close_range(200, 300, 0x1000), EINVAL, "close_range with an unknown flag");
    CHECK_SYS(close_range(500, 600, 0), "close_range over nothing open");

    /* The lowest free number is handed out. */
    int a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_RDONLY),
        c = open("/dev/null", O_RDONLY);
    close(b);
    int d = open("/dev/null", O_RDONLY);
    CHECK(d == b, "open reuses the lowest free fd");
    close(a);
    close(c);
    close(d);
    int e = open("/dev/null", O_RDONLY);
    CHECK(e == a, "after closing three, the lowest of them comes back first");
    close(e);

    /* close on an fd shared by fork does not affect the other process. */
    int p[2];
    pipe(p);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[1]);
        _exit(0);
    }
    cf_wait(pid);
    CHECK_EQ(write(p[1], "x", 1), 1,
             "parent's write end still open after the child closed its copy");
    close(p[0]);
    close(p[1]);
    return cf_done();
}
