/* Conformance: getrlimit/setrlimit/prlimit64 round trips, RLIMIT_NOFILE enforced by open (EMFILE),
 * RLIMIT_FSIZE enforced by write (EFBIG, SIGXFSZ), EINVAL for soft > hard. Part of tests/syscalls.
 */
#include "conform.h"

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    struct rlimit rl, orig;
    CHECK_SYS(getrlimit(RLIMIT_NOFILE, &orig), "getrlimit RLIMIT_NOFILE");
    CHECK(orig.rlim_cur <= orig.rlim_max, "soft <= hard");
    struct rlimit64 p;
    CHECK_SYS(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &p), "prlimit64 read");
    CHECK(p.rlim_cur == orig.rlim_cur && p.rlim_max == orig.rlim_max, "prlimit64 agrees");

    rl.rlim_cur = 32;
    rl.rlim_max = orig.rlim_max;
    CHECK_SYS(setrlimit(RLIMIT_NOFILE, &rl), "lower the soft RLIMIT_NOFILE to 32");
    getrlimit(RLIMIT_NOFILE, &rl);
    CHECK_EQ(rl.rlim_cur, 32, "read back 32");
    int fds[64], n = 0, last_errno = 0;
    bool all_below = true;
    for (int i = 0; i < 64; i++) {
        int fd = open("/dev/null", O_RDONLY);
        if (fd < 0) {
            last_errno = errno;
            break;
        }
        all_below &= fd < 32;
        fds[n++] = fd;
    }
    CHECK_STR(cf_errname(last_errno), "EMFILE", "open beyond the limit");
    CHECK(all_below, "every fd handed out is below the limit");
    CHECK_ERR(dup(0), EMFILE, "dup at the limit");
    CHECK_ERR(fcntl(0, F_DUPFD, 0), EMFILE, "F_DUPFD at the limit");
    CHECK_ERR(dup2(0, 40), EBADF, "dup2 to an fd above the limit");
    for (int i = 0; i < n; i++)
        close(fds[i]);
    CHECK_SYS(setrlimit(RLIMIT_NOFILE, &orig), "restore RLIMIT_NOFILE");

    rl.rlim_cur = 10;
    rl.rlim_max = 5;
    CHECK_ERR(setrlimit(RLIMIT_NOFILE, &rl), EINVAL, "soft > hard");
    CHECK_ERR(setrlimit(999, &orig), EINVAL, "unknown resource");
    CHECK_ERR(getrlimit(999, &rl), EINVAL, "getrlimit unknown resource");
    CHECK_ERR(syscall(SYS_prlimit64, 1 << 22, RLIMIT_NOFILE, NULL, &p), ESRCH,
              "prlimit64 on a missing pid");

    /* prlimit64 sets and returns the old value atomically. */
    struct rlimit64 nl = {1 << 20, RLIM64_INFINITY}, old;
    struct rlimit64 cur;
    syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, &cur);
    nl.rlim_max = cur.rlim_max;
    CHECK_SYS(syscall(SYS_prlimit64, 0, RLIMIT_STACK, &nl, &old), "prlimit64 set RLIMIT_STACK");
    CHECK(old.rlim_cur == cur.rlim_cur, "old value returned");
    syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, &p);
    CHECK_EQ(p.rlim_cur, 1 << 20, "new value in effect");
    syscall(SYS_prlimit64, 0, RLIMIT_STACK, &cur, NULL);

    /* RLIMIT_FSIZE in a child: SIGXFSZ kills by default; ignored it gives EFBIG. */
    const char *path = cf_tmp("fsize");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit f = {1000, 1000};
        setrlimit(RLIMIT_FSIZE, &f);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        char buf[1500] = {0};
        signal(SIGXFSZ, SIG_IGN);
        ssize_t w1 = write(fd, buf, sizeof(buf)); /* short write up to the limit */
        errno = 0;
        ssize_t w2 = write(fd, buf, 10);
        int e = errno;
        signal(SIGXFSZ, SIG_DFL);
        if (w1 != 1000 || w2 != -1 || e != EFBIG)
            _exit(1);
        write(fd, buf, 10); /* now SIGXFSZ kills us */
        _exit(2);
    }
    CHECK_STR(cf_status_str(cf_wait(pid)), "killed by SIGXFSZ",
              "RLIMIT_FSIZE: short write, then EFBIG, then SIGXFSZ");
    struct stat st;
    stat(path, &st);
    CHECK_EQ(st.st_size, 1000, "file stopped at the 1000-byte limit");

    /* The limit is inherited by children. */
    rl.rlim_cur = 100;
    rl.rlim_max = orig.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        struct rlimit c;
        getrlimit(RLIMIT_NOFILE, &c);
        _exit(c.rlim_cur == 100 ? 0 : 1);
    }
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "child inherits RLIMIT_NOFILE 100");
    setrlimit(RLIMIT_NOFILE, &orig);
    return cf_done();
}
