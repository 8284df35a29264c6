/* Conformance: mremap grows in place, shrinks, moves with MREMAP_MAYMOVE / MREMAP_FIXED, keeps
 * contents and reports the errors. Part of tests/syscalls (native and fnbox must match). */
#include "conform.h"

#define PG 4096

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    char *a = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(a != MAP_FAILED, "mmap 4 pages");
    CHECK_SYS(munmap(a + 2 * PG, 2 * PG), "free the top two pages");
    memset(a, 'm', 2 * PG);
    char *g = mremap(a, 2 * PG, 4 * PG, 0);
    CHECK(g == a, "grow in place into free space");
    CHECK(g[0] == 'm' && g[2 * PG - 1] == 'm', "contents kept");
    CHECK(g[2 * PG] == 0 && g[4 * PG - 1] == 0, "new pages are zero");

    char *s = mremap(a, 4 * PG, PG, 0);
    CHECK(s == a, "shrink to one page");
    struct cf_fault f = cf_read_at(a + PG);
    CHECK_STR(cf_segv_code(f.signo, f.code), "SEGV_MAPERR", "shrunk-away page faults");

    /* A neighbour blocks growth: ENOMEM without MAYMOVE, a move with it. */
    char *b = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(b, 'b', 3 * PG);
    CHECK_ERR((long)mremap(b, PG, 2 * PG, 0), ENOMEM, "grow in place over a mapped page");
    char *n = mremap(b, PG, 3 * PG, MREMAP_MAYMOVE);
    CHECK(n != MAP_FAILED && n != b, "MREMAP_MAYMOVE moves the page");
    CHECK(n[0] == 'b' && n[PG - 1] == 'b' && n[PG] == 0, "moved data kept, grown part zero");
    f = cf_read_at(b);
    CHECK_STR(cf_segv_code(f.signo, f.code), "SEGV_MAPERR", "old address is unmapped after move");
    CHECK_EQ(b[PG], 'b', "rest of the old mapping stays");

    /* MREMAP_FIXED to a chosen address replaces what was there. */
    char *t = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(t, 't', 2 * PG);
    char *x = mremap(n, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, t + PG);
    CHECK(x == t + PG, "MREMAP_FIXED to the chosen address");
    CHECK(x[0] == 'b' && t[0] == 't', "target shows moved data, neighbour untouched");
    CHECK_EQ(cf_read_at(n).signo, SIGSEGV, "source page gone after MREMAP_FIXED");

    /* Moving a file mapping keeps it file-backed. */
    int fd = open("/bin/sh", O_RDONLY);
    char *fm = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0);
    char *fm2 = mremap(fm, PG, 2 * PG, MREMAP_MAYMOVE);
    CHECK(fm2 != MAP_FAILED && memcmp(fm2, "\177ELF", 4) == 0,
          "moved file mapping keeps ELF magic");
    char buf[16];
    pread(fd, buf, 16, PG);
    CHECK(memcmp(fm2 + PG, buf, 16) == 0, "grown part of the file mapping shows the next page");
    close(fd);
    munmap(fm2, 2 * PG);

    CHECK_ERR((long)mremap(t + 1, PG, PG, MREMAP_MAYMOVE), EINVAL, "mremap unaligned address");
    CHECK_ERR((long)mremap(t, PG, 0, MREMAP_MAYMOVE), EINVAL, "mremap new length 0");
    CHECK_ERR((long)mremap(t, PG, PG, MREMAP_FIXED, t + 8 * PG), EINVAL,
              "MREMAP_FIXED without MREMAP_MAYMOVE");
    CHECK_ERR((long)mremap(t, PG, PG, 0x80), EINVAL, "mremap unknown flag");
    CHECK_ERR((long)mremap(t, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, t), EINVAL,
              "MREMAP_FIXED onto the same range");
    munmap(t, 2 * PG);
    CHECK_ERR((long)mremap(t, PG, 2 * PG, MREMAP_MAYMOVE), EFAULT, "mremap of unmapped memory");
    munmap(a, PG);
    munmap(b + PG, 2 * PG);
    return cf_done();
}
