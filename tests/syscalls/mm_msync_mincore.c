/* Conformance: msync, mincore, mlock/munlock argument checking and basic results.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

#define PG 4096

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    char *a = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(a, 1, 4 * PG);
    CHECK_SYS(msync(a, 4 * PG, MS_SYNC), "msync MS_SYNC on anon memory");
    CHECK_SYS(msync(a, 4 * PG, MS_ASYNC), "msync MS_ASYNC");
    CHECK_SYS(msync(a, 4 * PG, MS_INVALIDATE), "msync MS_INVALIDATE");
    CHECK_ERR(msync(a, PG, MS_SYNC | MS_ASYNC), EINVAL, "msync MS_SYNC|MS_ASYNC");
    CHECK_ERR(msync(a + 8, PG, MS_SYNC), EINVAL, "msync unaligned");
    CHECK_ERR(msync(a, PG, 0x100), EINVAL, "msync unknown flag");

    unsigned char vec[4] = {0};
    CHECK_SYS(mincore(a, 4 * PG, vec), "mincore on touched pages");
    CHECK((vec[0] & 1) && (vec[3] & 1), "touched pages are resident");
    CHECK_ERR(mincore(a + 1, PG, vec), EINVAL, "mincore unaligned");
    CHECK_SYS(mlock(a, PG), "mlock one page");
    CHECK_SYS(munlock(a, PG), "munlock one page");
    CHECK_SYS(mlock(a + 5, 10), "mlock rounds an unaligned start down");
    CHECK_SYS(munlock(a, PG), "munlock");
    munmap(a + 2 * PG, 2 * PG);
    CHECK_ERR(mincore(a + 2 * PG, PG, vec), ENOMEM, "mincore on unmapped memory");
    CHECK_ERR(msync(a, 4 * PG, MS_SYNC), ENOMEM, "msync over a hole");
    CHECK_ERR(mlock(a + 2 * PG, PG), ENOMEM, "mlock unmapped memory");
    CHECK_ERR(mincore(a, PG, (unsigned char *)8), EFAULT, "mincore with a bad vector");
    munmap(a, 2 * PG);
    return cf_done();
}
