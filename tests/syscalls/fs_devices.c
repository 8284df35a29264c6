/* Conformance: /dev/null, /dev/zero, /dev/full (ENOSPC), /dev/random, /dev/urandom — reads,
 * writes, mmap of /dev/zero, seeks. Part of tests/syscalls (runs natively and under fnbox). */
#include "conform.h"

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    char buf[4096];
    int fd = open("/dev/null", O_RDWR);
    CHECK(fd >= 0, "open /dev/null");
    CHECK_EQ(read(fd, buf, sizeof(buf)), 0, "read /dev/null gives EOF");
    CHECK_EQ(write(fd, buf, sizeof(buf)), 4096, "write /dev/null swallows everything");
    close(fd);

    fd = open("/dev/zero", O_RDWR);
    memset(buf, 1, sizeof(buf));
    CHECK_EQ(read(fd, buf, sizeof(buf)), 4096, "read 4096 from /dev/zero");
    bool zero = true;
    for (size_t i = 0; i < sizeof(buf); i++)
        zero &= buf[i] == 0;
    CHECK(zero, "all zeros");
    CHECK_EQ(write(fd, "abc", 3), 3, "write /dev/zero succeeds");
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(m != MAP_FAILED && m[0] == 0 && m[8191] == 0, "private mmap of /dev/zero is zeroed");
    m[5] = 9;
    CHECK_EQ(m[5], 9, "and writable");
    munmap(m, 8192);
    char *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(s != MAP_FAILED, "shared mmap of /dev/zero");
    s[0] = 4;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        s[1] = 5;
        _exit(s[0] == 4 ? 0 : 1);
    }
    cf_wait(pid);
    CHECK_EQ(s[1], 5, "shared /dev/zero mapping is shared with a child");
    munmap(s, 4096);
    close(fd);

    fd = open("/dev/full", O_RDWR);
    CHECK_ERR(write(fd, "x", 1), ENOSPC, "write /dev/full");
    memset(buf, 1, 16);
    CHECK_EQ(read(fd, buf, 16), 16, "read /dev/full");
    CHECK_EQ(buf[0] + buf[15], 0, "/dev/full reads zeros");
    close(fd);

    unsigned char a[64], b[64];
    fd = open("/dev/urandom", O_RDONLY);
    CHECK_EQ(read(fd, a, 64), 64, "read 64 from /dev/urandom");
    CHECK_EQ(read(fd, b, 64), 64, "read 64 more");
    CHECK(memcmp(a, b, 64) != 0, "different bytes");
    close(fd);
    fd = open("/dev/random", O_RDONLY);
    CHECK_EQ(read(fd, a, 32), 32, "read 32 from /dev/random");
    close(fd);
    fd = open("/dev/urandom", O_WRONLY);
    CHECK_EQ(write(fd, "seed", 4), 4, "write to /dev/urandom is accepted");
    close(fd);
    CHECK_ERR(open("/dev/nonexistent-device", O_RDONLY), ENOENT, "missing device");
    return cf_done();
}
