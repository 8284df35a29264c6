/* Conformance: brk grows and shrinks the heap, refuses impossible requests by returning the old
 * break. Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

#define PG 4096

static uintptr_t sys_brk(uintptr_t want)
{
    return (uintptr_t)syscall(SYS_brk, want);
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    cf_say("brk test starting"); /* stdout's buffer is allocated before we move the break */

    /* Do all break manipulation first and only then print, so malloc never sees a moved break. */
    uintptr_t cur = sys_brk(0);
    uintptr_t again = sys_brk(0);
    uintptr_t up = sys_brk(cur + 64 * 1024);
    bool zeros = true;
    struct cf_fault fw = {0};
    if (up == cur + 64 * 1024) {
        for (uintptr_t p = (cur + PG - 1) & ~(uintptr_t)(PG - 1); p < up; p++)
            zeros &= *(char *)p == 0;
        memset((void *)cur, 0x11, 64 * 1024);
        fw = cf_write_at((void *)(up - 1));
    }
    uintptr_t up2 = sys_brk(cur + 128 * 1024);
    bool kept = up2 == cur + 128 * 1024 && *(char *)(cur + 64 * 1024 - 2) == 0x11;
    uintptr_t down = sys_brk(cur);
    uintptr_t first_free = (cur + PG - 1) & ~(uintptr_t)(PG - 1);
    struct cf_fault fgone = cf_read_at((void *)(first_free + PG));
    uintptr_t huge = sys_brk(cur + ((uintptr_t)1 << 46));
    uintptr_t low = sys_brk(4096);
    void *s0 = sbrk(0);
    void *s1 = sbrk(8192);
    void *s2 = sbrk(0);
    void *s3 = sbrk(-8192);
    void *s4 = sbrk(0);

    CHECK(cur > 0, "brk(0) returns the current break");
    CHECK(again == cur, "brk(0) is stable");
    CHECK(up == cur + 64 * 1024, "brk grows by 64 KiB");
    CHECK(zeros, "new heap pages read as zero");
    CHECK_EQ(fw.signo, 0, "last byte of the grown heap is writable");
    CHECK(kept, "growing again keeps earlier heap contents");
    CHECK(down == cur, "brk shrinks back");
    CHECK_STR(cf_segv_code(fgone.signo, fgone.code), "SEGV_MAPERR", "released heap page faults");
    CHECK(huge == cur, "impossible brk returns the old break");
    CHECK(low == cur, "brk below the heap start returns the old break");
    CHECK((uintptr_t)s0 == cur && (uintptr_t)s2 == cur + 8192, "sbrk(8192) moves the break");
    CHECK(s1 == s0 && s3 == s2 && s4 == s0, "sbrk returns the old break and shrinks back");

    /* The heap is private across fork. */
    char *m = malloc(1000);
    strcpy(m, "parent");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        strcpy(m, "child");
        uintptr_t c = sys_brk(0);
        _exit(sys_brk(c + PG) == c + PG ? 0 : 1);
    }
    int st = cf_wait(pid);
    CHECK_STR(cf_status_str(st), "exited 0", "child grows its own break");
    CHECK_STR(m, "parent", "child's heap write is private");
    CHECK(sys_brk(0) == cur, "parent's break unchanged by child");
    free(m);
    return cf_done();
}
