/* Conformance: munmap splits mappings, unmapped pages fault with SEGV_MAPERR, argument errors.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

#define PG 4096

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    char *a = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(a != MAP_FAILED, "mmap 8 pages");
    memset(a, 'z', 8 * PG);
    CHECK_SYS(munmap(a + 2 * PG, 2 * PG), "munmap pages 2-3");
    struct cf_fault f = cf_read_at(a + 2 * PG + 17);
    CHECK_STR(cf_signame(f.signo), "SIGSEGV", "read of unmapped page");
    CHECK_STR(cf_segv_code(f.signo, f.code), "SEGV_MAPERR", "unmapped page si_code");
    CHECK(f.addr == a + 2 * PG + 17, "si_addr is the faulting byte");
    f = cf_write_at(a + 4 * PG - 1);
    CHECK_STR(cf_segv_code(f.signo, f.code), "SEGV_MAPERR", "write to last unmapped byte");
    CHECK(a[2 * PG - 1] == 'z' && a[4 * PG] == 'z', "neighbours keep their data");

    CHECK_SYS(munmap(a + 2 * PG, 2 * PG), "munmap of an already unmapped range succeeds");
    CHECK_SYS(munmap(a + PG, 4 * PG), "munmap across a hole");
    CHECK_EQ(cf_read_at(a + PG).signo, SIGSEGV, "page 1 is gone");
    CHECK_EQ(cf_read_at(a + 4 * PG).signo, SIGSEGV, "page 4 is gone");
    CHECK_EQ(cf_read_at(a + 5 * PG).signo, 0, "page 5 is still there");
    CHECK_EQ(cf_read_at(a).signo, 0, "page 0 is still there");

    CHECK_ERR(munmap(a + 1, PG), EINVAL, "munmap unaligned address");
    CHECK_ERR(munmap(a, 0), EINVAL, "munmap length 0");
    CHECK_ERR(munmap((void *)0xfffffffffffff000ul, PG), EINVAL, "munmap beyond the address space");
    CHECK_SYS(munmap(a, 5), "munmap with an unaligned length rounds up");
    CHECK_EQ(cf_read_at(a + PG - 1).signo, SIGSEGV, "the whole first page is gone");

    /* munmap of part of a file mapping. */
    int fd = open("/bin/sh", O_RDONLY);
    char *m = mmap(NULL, 3 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(m != MAP_FAILED, "map 3 pages of /bin/sh");
    char second = m[PG + 3], third = m[2 * PG + 3];
    CHECK_SYS(munmap(m, PG), "munmap the first page of the file mapping");
    CHECK(m[PG + 3] == second && m[2 * PG + 3] == third, "rest of the file mapping intact");
    close(fd);
    CHECK(m[PG + 3] == second, "file mapping outlives close(fd)");
    CHECK_SYS(munmap(m + PG, 2 * PG), "munmap the rest");

    /* Unmap then map again: reuse gives fresh zeros. */
    char *b = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    b[0] = 1;
    munmap(b, PG);
    char *c = mmap(b, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(c == b && c[0] == 0, "remapping a freed address gives zeros");
    munmap(c, PG);
    munmap(a + 5 * PG, 3 * PG);
    return cf_done();
}
