/* Conformance: read/write/pread64/pwrite64/readv/writev/preadv/pwritev — offsets, short reads at
 * EOF, vector order, EBADF/EFAULT/EINVAL/ESPIPE. Part of tests/syscalls (native == fnbox). */
#include "conform.h"
#include <sys/uio.h>

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    int fd = open(cf_tmp("rw"), O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK_EQ(write(fd, "0123456789", 10), 10, "write 10 bytes");
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 10, "offset advanced to 10");
    char buf[64] = {0};
    CHECK_EQ(read(fd, buf, 10), 0, "read at EOF returns 0");
    CHECK_EQ(pread(fd, buf, 4, 3), 4, "pread 4 at offset 3");
    CHECK_STR(buf, "3456", "pread data");
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 10, "pread does not move the offset");
    CHECK_EQ(pwrite(fd, "AB", 2, 1), 2, "pwrite 2 at offset 1");
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 10, "pwrite does not move the offset");
    memset(buf, 0, sizeof(buf));
    CHECK_EQ(pread(fd, buf, 60, 0), 10, "pread past EOF is short");
    CHECK_STR(buf, "0AB3456789", "contents after pwrite");
    CHECK_EQ(pread(fd, buf, 10, 1000), 0, "pread far past EOF returns 0");
    CHECK_EQ(write(fd, "", 0), 0, "zero-length write");
    CHECK_EQ(read(fd, buf, 0), 0, "zero-length read");

    struct iovec wv[3] = {{"ab", 2}, {"", 0}, {"cdef", 4}};
    lseek(fd, 0, SEEK_SET);
    CHECK_EQ(writev(fd, wv, 3), 6, "writev 3 vectors (one empty)");
    char x[3] = {0}, y[5] = {0};
    struct iovec rv[2] = {{x, 2}, {y, 4}};
    lseek(fd, 0, SEEK_SET);
    CHECK_EQ(readv(fd, rv, 2), 6, "readv into 2 vectors");
    CHECK(strcmp(x, "ab") == 0 && strcmp(y, "cdef") == 0, "readv filled the vectors in order");
    memset(x, 0, sizeof(x));
    CHECK_EQ(preadv(fd, rv, 1, 4), 2, "preadv at offset 4");
    CHECK_STR(x, "ef", "preadv data");
    struct iovec pv = {"ZZ", 2};
    CHECK_EQ(pwritev(fd, &pv, 1, 8), 2, "pwritev at offset 8");
    memset(buf, 0, sizeof(buf));
    pread(fd, buf, 64, 0);
    CHECK_STR(buf, "abcdef67ZZ", "file after writev/pwritev");
    CHECK_EQ(readv(fd, rv, 0), 0, "readv with 0 vectors");
    CHECK_ERR(syscall(SYS_readv, fd, rv, -1), EINVAL, "readv with a negative count");
    CHECK_ERR(syscall(SYS_readv, fd, rv, 1025), EINVAL, "readv with 1025 vectors");
    CHECK_ERR(pread(fd, buf, 1, -1), EINVAL, "pread at a negative offset");

    CHECK_ERR(write(999, "x", 1), EBADF, "write to a closed fd");
    CHECK_ERR(read(-1, buf, 1), EBADF, "read from fd -1");
    CHECK_ERR(syscall(SYS_write, fd, 8L, 4), EFAULT, "write from a bad buffer");
    CHECK_ERR(syscall(SYS_read, fd, 8L, 4), EFAULT, "read into a bad buffer");
    lseek(fd, 0, SEEK_SET);
    int p[2];
    pipe(p);
    CHECK_ERR(pread(p[0], buf, 1, 0), ESPIPE, "pread on a pipe");
    CHECK_ERR(pwrite(p[1], "x", 1, 0), ESPIPE, "pwrite on a pipe");
    close(p[0]);
    close(p[1]);

    /* Two fds on the same file have independent offsets; a dup shares one. */
    int fd2 = open(cf_tmp("rw"), O_RDONLY);
    int fd3 = dup(fd2);
    read(fd2, buf, 3);
    CHECK_EQ(lseek(fd3, 0, SEEK_CUR), 3, "a dup shares the offset");
    lseek(fd, 0, SEEK_SET);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 0, "a separate open has its own offset");
    close(fd2);
    close(fd3);

    /* A 1 MiB write and read back. */
    size_t big = 1 << 20;
    char *w = malloc(big), *r = malloc(big);
    uint64_t s = 42;
    for (size_t i = 0; i < big; i++)
        w[i] = (char)cf_rand(&s);
    lseek(fd, 0, SEEK_SET);
    CHECK_EQ(cf_write_full(fd, w, big), (long)big, "write 1 MiB");
    CHECK_EQ(pread(fd, r, big, 0), (long)big, "pread 1 MiB");
    CHECK(memcmp(w, r, big) == 0, "1 MiB round trip");
    free(w);
    free(r);
    close(fd);
    return cf_done();
}
