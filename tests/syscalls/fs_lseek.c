/* Conformance: lseek SEEK_SET/CUR/END, seeking past EOF makes a hole that reads as zeros,
 * EINVAL/ESPIPE/EBADF. Part of tests/syscalls (runs natively and under fnbox; output must match).
 */
#include "conform.h"

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    int fd = open(cf_tmp("seek"), O_RDWR | O_CREAT | O_TRUNC, 0600);
    write(fd, "abcdefghij", 10);
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0, "SEEK_SET 0");
    CHECK_EQ(lseek(fd, 4, SEEK_CUR), 4, "SEEK_CUR +4");
    CHECK_EQ(lseek(fd, -2, SEEK_CUR), 2, "SEEK_CUR -2");
    CHECK_EQ(lseek(fd, 0, SEEK_END), 10, "SEEK_END 0 is the size");
    CHECK_EQ(lseek(fd, -3, SEEK_END), 7, "SEEK_END -3");
    char c = 0;
    read(fd, &c, 1);
    CHECK_EQ(c, 'h', "read at offset 7");
    CHECK_ERR(lseek(fd, -1, SEEK_SET), EINVAL, "negative SEEK_SET");
    CHECK_ERR(lseek(fd, -20, SEEK_END), EINVAL, "SEEK_END before the start");
    CHECK_ERR(lseek(fd, 0, 42), EINVAL, "unknown whence");
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 8, "offset unchanged by failed seeks");

    CHECK_EQ(lseek(fd, 100, SEEK_SET), 100, "seek past EOF");
    CHECK_EQ(read(fd, &c, 1), 0, "read past EOF returns 0");
    CHECK_EQ(write(fd, "Z", 1), 1, "write at offset 100");
    struct stat st;
    fstat(fd, &st);
    CHECK_EQ(st.st_size, 101, "size is 101");
    char hole[90];
    memset(hole, 1, sizeof(hole));
    CHECK_EQ(pread(fd, hole, 90, 10), 90, "read the hole");
    bool zeros = true;
    for (int i = 0; i < 90; i++)
        zeros &= hole[i] == 0;
    CHECK(zeros, "the hole reads as zeros");
    CHECK_EQ(lseek(fd, (off_t)1 << 40, SEEK_SET), (off_t)1 << 40, "seek to 1 TiB");
    int p[2];
    pipe(p);
    CHECK_ERR(lseek(p[0], 0, SEEK_CUR), ESPIPE, "lseek on a pipe");
    CHECK_ERR(lseek(999, 0, SEEK_SET), EBADF, "lseek on a closed fd");
    int nul = open("/dev/null", O_RDWR);
    CHECK_EQ(lseek(nul, 123, SEEK_SET), 0, "lseek on /dev/null returns 0");
    int dfd = open(cf_tmpdir(), O_RDONLY | O_DIRECTORY);
    CHECK_EQ(lseek(dfd, 0, SEEK_SET), 0, "lseek a directory to 0");
    close(dfd);
    close(nul);
    close(p[0]);
    close(p[1]);
    close(fd);
    return cf_done();
}
