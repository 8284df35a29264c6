/* Conformance: eventfd/eventfd2 — counter reads and writes, EFD_SEMAPHORE, EFD_NONBLOCK EAGAIN,
 * the 8-byte rules and overflow, poll readiness, blocking reads woken by another process, flags,
 * fstat and /proc/self/fd names. Part of tests/syscalls (runs natively and under fnbox; output
 * must match). */
#include "conform.h"
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>

static short revents(int fd, short events)
{
    struct pollfd p = {fd, events, 0};
    if (poll(&p, 1, 0) < 0)
        return -1;
    return p.revents;
}

static void *late_writer(void *arg)
{
    int fd = *(int *)arg;
    uint64_t v = 5;
    cf_msleep(30);
    if (write(fd, &v, 8) != 8)
        return (void *)1;
    return NULL;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    uint64_t v;
    char small[4];

    CHECK_ERR(syscall(SYS_eventfd2, 0, 0x1234), EINVAL, "eventfd2 with unknown flags");
    int fd = CHECK_SYS(syscall(SYS_eventfd, 3), "eventfd(3)");
    CHECK_EQ(fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDWR, "eventfd is O_RDWR, blocking");
    CHECK_EQ(fcntl(fd, F_GETFD), 0, "no close-on-exec by default");
    CHECK_ERR(read(fd, small, 4), EINVAL, "read of fewer than 8 bytes");
    CHECK_ERR(write(fd, small, 4), EINVAL, "write of fewer than 8 bytes");
    CHECK_EQ(read(fd, &v, 8), 8, "read returns 8 bytes");
    CHECK_EQ(v, 3, "read returns the initial count");
    v = 7;
    CHECK_EQ(write(fd, &v, 8), 8, "write 7");
    v = 8;
    CHECK_EQ(write(fd, &v, 8), 8, "write 8");
    char big[16] = {0};
    CHECK_EQ(read(fd, big, 16), 8, "a larger buffer still reads 8 bytes");
    memcpy(&v, big, 8);
    CHECK_EQ(v, 15, "writes add up");
    close(fd);

    fd = CHECK_SYS(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd EFD_NONBLOCK|EFD_CLOEXEC");
    CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC, "EFD_CLOEXEC sets close-on-exec");
    CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK, "EFD_NONBLOCK sets O_NONBLOCK");
    CHECK_ERR(read(fd, &v, 8), EAGAIN, "nonblocking read of a zero counter");
    CHECK_EQ(revents(fd, POLLIN | POLLOUT), POLLOUT, "zero counter: writable only");
    v = UINT64_MAX;
    CHECK_ERR(write(fd, &v, 8), EINVAL, "writing 2^64-1 is invalid");
    v = UINT64_MAX - 1;
    CHECK_EQ(write(fd, &v, 8), 8, "write the largest count");
    CHECK_EQ(revents(fd, POLLIN | POLLOUT), POLLIN, "full counter: readable, not writable");
    v = 1;
    CHECK_ERR(write(fd, &v, 8), EAGAIN, "overflowing write would block");
    v = 0;
    CHECK_EQ(write(fd, &v, 8), 8, "writing zero to a full counter is fine");
    CHECK_EQ(read(fd, &v, 8), 8, "read the full counter");
    CHECK(v == UINT64_MAX - 1, "it held 2^64-2");
    CHECK_EQ(revents(fd, POLLIN | POLLOUT), POLLOUT, "read resets the counter");
    close(fd);

    fd = CHECK_SYS(eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK), "eventfd EFD_SEMAPHORE");
    CHECK_EQ(read(fd, &v, 8), 8, "semaphore read 1");
    CHECK_EQ(v, 1, "semaphore reads return 1");
    CHECK_EQ(read(fd, &v, 8), 8, "semaphore read 2");
    CHECK_EQ(v, 1, "and decrement by one");
    CHECK_ERR(read(fd, &v, 8), EAGAIN, "semaphore at zero");
    close(fd);

    /* fstat and the /proc/self/fd link. */
    fd = eventfd(0, 0);
    struct stat st;
    CHECK_SYS(fstat(fd, &st), "fstat an eventfd");
    CHECK_EQ(st.st_mode & S_IFMT, 0, "no file type bits (anonymous inode)");
    CHECK_EQ(st.st_mode & 07777, 0600, "mode 0600");
    char path[64], link[64] = {0};
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    CHECK(readlink(path, link, sizeof(link) - 1) > 0, "readlink /proc/self/fd/N");
    CHECK_STR(link, "anon_inode:[eventfd]", "eventfd link name");
    CHECK_EQ(lseek(fd, 5, SEEK_SET), 0, "lseek on an eventfd succeeds without moving");

    /* A blocking read waits for a writer in another thread. */
    pthread_t th;
    pthread_create(&th, NULL, late_writer, &fd);
    CHECK_EQ(read(fd, &v, 8), 8, "blocking read woken by a write");
    CHECK_EQ(v, 5, "it reads what the thread wrote");
    void *ret;
    pthread_join(th, &ret);
    CHECK(ret == NULL, "writer thread succeeded");

    /* Shared across fork: the child's write wakes the parent's poll. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        cf_msleep(20);
        uint64_t one = 1;
        _exit(write(fd, &one, 8) == 8 ? 0 : 1);
    }
    struct pollfd p = {fd, POLLIN, 0};
    CHECK_EQ(poll(&p, 1, 5000), 1, "poll woken by the child's write");
    CHECK_EQ(p.revents, POLLIN, "POLLIN");
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "child wrote");
    CHECK_EQ(read(fd, &v, 8), 8, "read the child's count");
    CHECK_EQ(v, 1, "count 1");
    close(fd);
    return cf_done();
}
