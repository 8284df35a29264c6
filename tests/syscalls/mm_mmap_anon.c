/* Conformance: anonymous private mmap — zero fill, alignment, protections and argument errors.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    long pg = sysconf(_SC_PAGESIZE);
    CHECK_EQ(pg, 4096, "page size is 4096");

    size_t len = 16 * (size_t)pg;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED, "mmap 16 anon private pages");
    CHECK(((uintptr_t)p & (pg - 1)) == 0, "mapping is page aligned");
    bool zero = true;
    for (size_t i = 0; i < len; i++)
        zero &= p[i] == 0;
    CHECK(zero, "fresh anon memory reads as zeros");
    for (size_t i = 0; i < len; i++)
        p[i] = (char)(i * 7);
    bool same = true;
    for (size_t i = 0; i < len; i++)
        same &= p[i] == (char)(i * 7);
    CHECK(same, "writes read back across all pages");
    CHECK_SYS(munmap(p, len), "munmap");

    /* A length that is not a page multiple is rounded up: the whole last page is usable. */
    char *q = mmap(NULL, 100, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(q != MAP_FAILED, "mmap 100 bytes");
    CHECK(cf_write_at(q + pg - 1).signo == 0, "last byte of the rounded-up page is writable");
    CHECK_SYS(munmap(q, 100), "munmap 100 bytes");

    /* PROT_READ only: reads work, writes fault. */
    char *r = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(r != MAP_FAILED, "mmap PROT_READ");
    CHECK_EQ(cf_read_at(r).signo, 0, "read of PROT_READ page does not fault");
    struct cf_fault f = cf_write_at(r);
    CHECK_STR(cf_signame(f.signo), "SIGSEGV", "write to PROT_READ page raises");
    CHECK_STR(cf_segv_code(f.signo, f.code), "SEGV_ACCERR", "write to PROT_READ page si_code");
    CHECK(f.addr == r, "write to PROT_READ page si_addr is the page");
    munmap(r, pg);

    /* PROT_NONE: everything faults. */
    char *n = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(n != MAP_FAILED, "mmap PROT_NONE");
    f = cf_read_at(n + 10);
    CHECK_STR(cf_signame(f.signo), "SIGSEGV", "read of PROT_NONE page raises");
    CHECK_STR(cf_segv_code(f.signo, f.code), "SEGV_ACCERR", "read of PROT_NONE page si_code");
    CHECK(f.addr == n + 10, "read of PROT_NONE page si_addr is the byte");
    munmap(n, pg);

    /* Hint address that is free is honoured as a hint (we only check we got a mapping). */
    char *h = mmap((void *)0x600000000000ul, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(h != MAP_FAILED, "mmap with a hint address");
    CHECK(h == (void *)0x600000000000ul, "free hint address is used");
    munmap(h, pg);

    /* Errors. */
    CHECK_ERR((long)mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL,
              "mmap length 0");
    CHECK_ERR((long)mmap(NULL, pg, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL,
              "mmap without MAP_PRIVATE or MAP_SHARED");
    CHECK_ERR((long)mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_SHARED | MAP_ANONYMOUS, -1, 0),
              EINVAL, "anonymous mmap with MAP_SHARED_VALIDATE (PRIVATE|SHARED bits)");
    CHECK_ERR((long)mmap((void *)0x600000000123ul, pg, PROT_READ,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
              EINVAL, "MAP_FIXED unaligned address");
    CHECK_ERR((long)mmap(NULL, pg, PROT_READ, MAP_PRIVATE, -1, 0), EBADF, "file mmap with fd -1");
    CHECK_ERR((long)mmap(NULL, pg, PROT_READ, MAP_PRIVATE, 999, 0), EBADF, "file mmap with fd 999");
    CHECK_ERR((long)mmap(NULL, (size_t)1 << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              ENOMEM, "mmap 2^62 bytes");
    CHECK_ERR((long)mmap(NULL, (size_t)-4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              ENOMEM, "mmap length near 2^64");
    CHECK_ERR((long)mmap((void *)0x800000000000ul, pg, PROT_READ,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
              ENOMEM, "MAP_FIXED above the user address space");

    /* Many small mappings then unmapping them all. */
    void *many[64];
    bool all = true;
    for (int i = 0; i < 64; i++) {
        many[i] = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        all &= many[i] != MAP_FAILED;
        if (many[i] != MAP_FAILED)
            *(int *)many[i] = i;
    }
    CHECK(all, "64 separate mappings");
    bool keep = true;
    for (int i = 0; i < 64; i++)
        if (many[i] != MAP_FAILED)
            keep &= *(int *)many[i] == i, munmap(many[i], pg);
    CHECK(keep, "each of the 64 mappings kept its own data");
    return cf_done();
}
