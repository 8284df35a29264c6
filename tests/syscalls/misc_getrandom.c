/* Conformance: getrandom — lengths, flags (GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE), two calls
 * differ, bad flags and pointers. Part of tests/syscalls (runs natively and under fnbox). */
#include "conform.h"
#include <sys/random.h>

static int nonzero(const unsigned char *b, size_t n)
{
    int c = 0;
    for (size_t i = 0; i < n; i++)
        c += b[i] != 0;
    return c;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    unsigned char a[256], b[256];
    CHECK_EQ(getrandom(a, 16, 0), 16, "getrandom 16 bytes");
    CHECK_EQ(getrandom(a, sizeof(a), 0), 256, "getrandom 256 bytes");
    CHECK_EQ(getrandom(b, sizeof(b), 0), 256, "getrandom another 256 bytes");
    CHECK(memcmp(a, b, sizeof(a)) != 0, "two calls return different bytes");
    CHECK(nonzero(a, sizeof(a)) > 200, "bytes are not mostly zero");
    CHECK_EQ(getrandom(a, 0, 0), 0, "getrandom 0 bytes returns 0");
    CHECK_EQ(getrandom(a, 64, GRND_NONBLOCK), 64, "GRND_NONBLOCK");
    CHECK_EQ(getrandom(a, 64, GRND_RANDOM), 64, "GRND_RANDOM");
    CHECK_EQ(getrandom(a, 64, GRND_INSECURE), 64, "GRND_INSECURE");
    CHECK_ERR(getrandom(a, 16, 0x80), EINVAL, "unknown flag");
    CHECK_ERR(getrandom(a, 16, GRND_RANDOM | GRND_INSECURE), EINVAL, "GRND_RANDOM|GRND_INSECURE");
    CHECK_ERR(syscall(SYS_getrandom, 8L, 16, 0), EFAULT, "bad buffer");

    /* Large requests may be short but never fail. */
    size_t big = 1 << 20;
    unsigned char *m = malloc(big);
    ssize_t n = getrandom(m, big, 0);
    CHECK(n > 0 && (size_t)n <= big, "1 MiB request returns a positive count");
    free(m);

    /* Byte distribution: each bit position set roughly half the time over 4 KiB. */
    unsigned char buf[4096];
    getrandom(buf, sizeof(buf), 0);
    bool balanced = true;
    for (int bit = 0; bit < 8; bit++) {
        int c = 0;
        for (size_t i = 0; i < sizeof(buf); i++)
            c += (buf[i] >> bit) & 1;
        balanced &= c > 1700 && c < 2400;
    }
    CHECK(balanced, "each bit set 41..59%% of the time over 4 KiB");

    /* A forked child gets different bytes than the parent. */
    int pfd[2];
    pipe(pfd);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        getrandom(b, 32, 0);
        write(pfd[1], b, 32);
        _exit(0);
    }
    getrandom(a, 32, 0);
    read(pfd[0], b, 32);
    cf_wait(pid);
    CHECK(memcmp(a, b, 32) != 0, "parent and child get different bytes");
    return cf_done();
}
