/* Conformance: pipe/pipe2 — data order, O_NONBLOCK EAGAIN on empty/full, capacity, EOF when
 * writers close, EPIPE + SIGPIPE when readers close, FIONREAD, O_CLOEXEC, errors.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"
#include <sys/ioctl.h>

static volatile int sigpipes;
static void on_pipe(int s)
{
    (void)s;
    sigpipes++;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    int p[2];
    CHECK_SYS(pipe(p), "pipe");
    CHECK_EQ(fcntl(p[0], F_GETFL) & O_ACCMODE, O_RDONLY, "read end is O_RDONLY");
    CHECK_EQ(fcntl(p[1], F_GETFL) & O_ACCMODE, O_WRONLY, "write end is O_WRONLY");
    CHECK_EQ(write(p[1], "hello", 5), 5, "write 5");
    CHECK_EQ(write(p[1], " world", 6), 6, "write 6");
    int avail = -1;
    CHECK_SYS(ioctl(p[0], FIONREAD, &avail), "FIONREAD");
    CHECK_EQ(avail, 11, "FIONREAD says 11 bytes");
    char buf[64] = {0};
    CHECK_EQ(read(p[0], buf, 3), 3, "read 3");
    CHECK_EQ(read(p[0], buf + 3, 60), 8, "read the rest (8)");
    CHECK_STR(buf, "hello world", "data in order");
    CHECK_ERR(write(p[0], "x", 1), EBADF, "write to the read end");
    CHECK_ERR(read(p[1], buf, 1), EBADF, "read from the write end");
    close(p[1]);
    CHECK_EQ(read(p[0], buf, 10), 0, "EOF once all writers closed");
    close(p[0]);

    CHECK_SYS(pipe2(p, O_NONBLOCK | O_CLOEXEC), "pipe2 O_NONBLOCK|O_CLOEXEC");
    CHECK_EQ(fcntl(p[0], F_GETFD), FD_CLOEXEC, "O_CLOEXEC on the read end");
    CHECK(fcntl(p[1], F_GETFL) & O_NONBLOCK, "O_NONBLOCK on the write end");
    CHECK_ERR(read(p[0], buf, 10), EAGAIN, "nonblocking read of an empty pipe");
    char chunk[4096];
    memset(chunk, 'c', sizeof(chunk));
    long total = 0;
    for (;;) {
        ssize_t n = write(p[1], chunk, sizeof(chunk));
        if (n < 0)
            break;
        total += n;
    }
    CHECK_STR(cf_errname(errno), "EAGAIN", "nonblocking write to a full pipe");
    CHECK_EQ(total, 65536, "a pipe holds 64 KiB");
    ioctl(p[0], FIONREAD, &avail);
    CHECK_EQ(avail, 65536, "FIONREAD on a full pipe");
    CHECK_EQ(read(p[0], chunk, 100), 100, "read 100 from the full pipe");
    CHECK_ERR(write(p[1], chunk, 4096), EAGAIN, "still no room for a whole page (PIPE_BUF rule)");
    close(p[0]);
    close(p[1]);

    /* Readers gone: SIGPIPE (handled) and EPIPE. */
    signal(SIGPIPE, on_pipe);
    pipe(p);
    close(p[0]);
    CHECK_ERR(write(p[1], "x", 1), EPIPE, "write with no readers");
    CHECK_EQ(sigpipes, 1, "SIGPIPE delivered");
    signal(SIGPIPE, SIG_IGN);
    CHECK_ERR(write(p[1], "x", 1), EPIPE, "EPIPE with SIGPIPE ignored");
    CHECK_EQ(sigpipes, 1, "no handler when ignored");
    close(p[1]);
    signal(SIGPIPE, SIG_DFL);
    pipe(p);
    close(p[0]); /* before fork: the child's write can never find a reader */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        write(p[1], "x", 1);
        _exit(0);
    }
    close(p[1]);
    CHECK_STR(cf_status_str(cf_wait(pid)), "killed by SIGPIPE", "default SIGPIPE kills the writer");

    CHECK_ERR(pipe2(p, O_APPEND), EINVAL, "pipe2 with an invalid flag");
    CHECK_ERR(syscall(SYS_pipe, 8L), EFAULT, "pipe with a bad pointer");
    struct stat st;
    pipe(p);
    fstat(p[0], &st);
    CHECK(S_ISFIFO(st.st_mode), "fstat says FIFO");
    CHECK_ERR(lseek(p[0], 0, SEEK_SET), ESPIPE, "lseek on a pipe");
    close(p[0]);
    close(p[1]);
    return cf_done();
}
