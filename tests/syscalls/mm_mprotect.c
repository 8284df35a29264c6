/* Conformance: mprotect changes what faults (SEGV_ACCERR with the right si_addr), keeps contents,
 * splits mappings, and rejects bad arguments. Part of tests/syscalls (native and fnbox must match).
 */
#include "conform.h"

#define PG 4096

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    char *a = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(a != MAP_FAILED, "mmap 3 pages RW");
    memset(a, 'q', 3 * PG);

    CHECK_SYS(mprotect(a + PG, PG, PROT_READ), "mprotect middle page PROT_READ");
    struct cf_fault f = cf_write_at(a + PG + 123);
    CHECK_STR(cf_signame(f.signo), "SIGSEGV", "write to read-only page");
    CHECK_STR(cf_segv_code(f.signo, f.code), "SEGV_ACCERR", "si_code");
    CHECK(f.addr == a + PG + 123, "si_addr is the faulting byte");
    CHECK_EQ(a[PG + 123], 'q', "read-only page keeps its contents");
    CHECK_EQ(cf_write_at(a).signo, 0, "first page still writable");
    CHECK_EQ(cf_write_at(a + 2 * PG).signo, 0, "last page still writable");

    CHECK_SYS(mprotect(a + PG, PG, PROT_READ | PROT_WRITE), "mprotect back to RW");
    CHECK_EQ(cf_write_at(a + PG + 123).signo, 0, "page writable again");
    CHECK_EQ(a[PG + 124], 'q', "contents survived the round trip");

    CHECK_SYS(mprotect(a, 3 * PG, PROT_NONE), "mprotect all PROT_NONE");
    f = cf_read_at(a + 2 * PG + 1);
    CHECK_STR(cf_segv_code(f.signo, f.code), "SEGV_ACCERR", "read of PROT_NONE page");
    CHECK(f.addr == a + 2 * PG + 1, "PROT_NONE si_addr");
    CHECK_SYS(mprotect(a, 3 * PG, PROT_READ), "mprotect all PROT_READ");
    CHECK_EQ(a[1] + a[3 * PG - 1], 2 * 'q', "contents visible again after PROT_NONE");
    CHECK_SYS(mprotect(a, 3 * PG, PROT_READ | PROT_WRITE | PROT_EXEC),
              "mprotect RWX on anon memory");
    CHECK_SYS(mprotect(a, 3 * PG, PROT_READ | PROT_WRITE), "mprotect back to RW");

    /* Executing from memory: copy a tiny function ("mov $42,%eax; ret") and call it. */
    static const unsigned char code[] = {0xb8, 42, 0, 0, 0, 0xc3};
    memcpy(a, code, sizeof(code));
    CHECK_SYS(mprotect(a, PG, PROT_READ | PROT_EXEC), "mprotect PROT_READ|PROT_EXEC");
    int (*fn)(void) = (int (*)(void))(void *)a;
    CHECK_EQ(fn(), 42, "code in a PROT_EXEC page runs");

    CHECK_ERR(mprotect(a + 1, PG, PROT_READ), EINVAL, "mprotect unaligned");
    CHECK_ERR(mprotect(a, PG, 0x100), EINVAL, "mprotect unknown prot bit");
    CHECK_SYS(mprotect(a, 0, PROT_READ), "mprotect length 0 succeeds");
    CHECK_SYS(munmap(a + PG, PG), "punch a hole");
    CHECK_ERR(mprotect(a, 3 * PG, PROT_READ), ENOMEM, "mprotect across a hole");
    CHECK_ERR(mprotect(a + PG, PG, PROT_READ), ENOMEM, "mprotect of unmapped memory");
    munmap(a, 3 * PG);

    /* The stack and the program's own text. */
    int local = 5;
    uintptr_t sp = (uintptr_t)&local & ~(uintptr_t)(PG - 1);
    CHECK_SYS(mprotect((void *)sp, PG, PROT_READ | PROT_WRITE), "mprotect a stack page RW");
    uintptr_t text = (uintptr_t)(void *)main & ~(uintptr_t)(PG - 1);
    f = cf_write_at((void *)text);
    CHECK_STR(cf_segv_code(f.signo, f.code), "SEGV_ACCERR", "write to program text");
    return cf_done();
}
