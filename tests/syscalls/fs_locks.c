/* Conformance: advisory locks — fcntl F_SETLK/F_GETLK between processes (conflict reports the
 * holder's pid), F_OFD_SETLK between open file descriptions, flock LOCK_EX|LOCK_NB, release on
 * close. Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"
#include <sys/file.h>

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    const char *f = cf_tmp("lockfile");
    int fd = open(f, O_RDWR | O_CREAT, 0600);
    write(fd, "0123456789", 10);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 5};
    CHECK_SYS(fcntl(fd, F_SETLK, &fl), "F_SETLK write lock on bytes 0-4");

    int up[2], down[2];
    pipe(up);
    pipe(down);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int cfd = open(f, O_RDWR);
        struct flock c = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 2, .l_len = 2};
        int r1 = fcntl(cfd, F_SETLK, &c) == -1 && (errno == EAGAIN || errno == EACCES);
        struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
        fcntl(cfd, F_GETLK, &q);
        int r2 = q.l_type == F_WRLCK && q.l_pid == getppid() && q.l_start == 0 && q.l_len == 5;
        struct flock other = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 5};
        int r3 = fcntl(cfd, F_SETLK, &other) == 0;
        char res[3] = {(char)r1, (char)r2, (char)r3};
        write(up[1], res, 3);
        char c1;
        read(down[0], &c1, 1); /* parent unlocked */
        c.l_start = 0;
        c.l_len = 5;
        int r4 = fcntl(cfd, F_SETLKW, &c) == 0;
        _exit(r4 ? 0 : 1);
    }
    char res[3];
    read(up[0], res, 3);
    CHECK_EQ(res[0], 1, "child's conflicting F_SETLK fails with EAGAIN/EACCES");
    CHECK_EQ(res[1], 1, "child's F_GETLK reports our lock and our pid");
    CHECK_EQ(res[2], 1, "child locks the non-overlapping bytes 5-9");
    struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    CHECK_SYS(fcntl(fd, F_GETLK, &q), "our F_GETLK");
    CHECK(q.l_type == F_WRLCK && q.l_pid == pid && q.l_start == 5, "we see the child's lock");
    fl.l_type = F_UNLCK;
    CHECK_SYS(fcntl(fd, F_SETLK, &fl), "unlock");
    write(down[1], "u", 1);
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "child's F_SETLKW got the lock");
    q.l_type = F_WRLCK;
    q.l_start = 0;
    q.l_len = 0;
    fcntl(fd, F_GETLK, &q);
    CHECK_EQ(q.l_type, F_UNLCK, "the child's locks went away when it exited");

    /* Open file description locks conflict between two opens in one process. */
    int a = open(f, O_RDWR), b = open(f, O_RDWR);
    struct flock o = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    CHECK_SYS(fcntl(a, F_OFD_SETLK, &o), "F_OFD_SETLK on the first open");
    CHECK_ERR(fcntl(b, F_OFD_SETLK, &o), EAGAIN, "F_OFD_SETLK on a second open conflicts");
    o.l_type = F_UNLCK;
    fcntl(a, F_OFD_SETLK, &o);
    o.l_type = F_WRLCK;
    CHECK_SYS(fcntl(b, F_OFD_SETLK, &o), "after unlocking, the second open gets it");
    close(a);
    close(b);

    a = open(f, O_RDWR);
    b = open(f, O_RDWR);
    CHECK_SYS(flock(a, LOCK_EX | LOCK_NB), "flock LOCK_EX on the first open");
    CHECK_ERR(flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK, "flock LOCK_EX|LOCK_NB on a second open");
    CHECK_ERR(flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK, "flock LOCK_SH|LOCK_NB conflicts too");
    int c = dup(a);
    CHECK_SYS(flock(c, LOCK_EX | LOCK_NB), "a dup shares the flock");
    close(a);
    CHECK_ERR(flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK, "still held through the dup");
    close(c);
    CHECK_SYS(flock(b, LOCK_EX | LOCK_NB), "released when the last fd closed");
    CHECK_ERR(flock(b, 0x40), EINVAL, "flock with a bad operation");
    close(b);

    struct flock bad = {.l_type = 99, .l_whence = SEEK_SET};
    CHECK_ERR(fcntl(fd, F_SETLK, &bad), EINVAL, "F_SETLK with a bad l_type");
    int ro = open(f, O_RDONLY);
    struct flock w = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    CHECK_ERR(fcntl(ro, F_SETLK, &w), EBADF, "write lock on an O_RDONLY fd");
    close(ro);
    close(fd);
    return cf_done();
}
