/* Conformance: catching SIGSEGV — null dereference (si_addr 0, SEGV_MAPERR), write to read-only
 * data (SEGV_ACCERR), jump to address 0; siglongjmp out restores the mask so it works repeatedly.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

static sigjmp_buf env;
static volatile int last_code;
static void *volatile last_addr;
static volatile int hits;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    hits++;
    last_code = si->si_code;
    last_addr = si->si_addr;
    siglongjmp(env, 1);
}

static const char rodata[16] = "read-only";

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);

    for (volatile int i = 0; i < 3; i++) {
        if (sigsetjmp(env, 1) == 0) {
            volatile int *p = NULL;
            (void)*p;
            CHECK(0, "null dereference %d did not fault", i);
        } else {
            CHECK(last_addr == NULL, "null dereference %d: si_addr is 0", i);
            CHECK_STR(cf_segv_code(SIGSEGV, last_code), "SEGV_MAPERR", "null dereference %d", i);
        }
    }
    CHECK_EQ(hits, 3, "handler ran 3 times (mask restored by siglongjmp)");
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    CHECK_EQ(sigismember(&cur, SIGSEGV), 0, "SIGSEGV not blocked after siglongjmp");

    if (sigsetjmp(env, 1) == 0) {
        *(volatile char *)&rodata[3] = 'x';
        CHECK(0, "write to .rodata did not fault");
    } else {
        CHECK(last_addr == &rodata[3], "write to .rodata: si_addr");
        CHECK_STR(cf_segv_code(SIGSEGV, last_code), "SEGV_ACCERR", "write to .rodata");
    }

    if (sigsetjmp(env, 1) == 0) {
        void (*volatile fn)(void) = NULL;
        fn();
        CHECK(0, "call through a null pointer did not fault");
    } else {
        CHECK(last_addr == NULL, "call through a null pointer: si_addr 0");
        CHECK_STR(cf_segv_code(SIGSEGV, last_code), "SEGV_MAPERR", "call through a null pointer");
    }

    if (sigsetjmp(env, 1) == 0) {
        *(volatile long *)0x10000ul = 1; /* below mmap_min_addr on Linux */
        CHECK(0, "write to 0x10000 did not fault");
    } else {
        CHECK(last_addr == (void *)0x10000ul, "write to 0x10000: si_addr");
    }

    /* Non-canonical address: general protection, reported as SIGSEGV SI_KERNEL with addr 0. */
    if (sigsetjmp(env, 1) == 0) {
        (void)*(volatile long *)0x8000000000000000ul;
        CHECK(0, "non-canonical read did not fault");
    } else {
        CHECK_STR(cf_segv_code(SIGSEGV, last_code), "SI_KERNEL", "non-canonical read si_code");
        CHECK(last_addr == NULL, "non-canonical read: si_addr 0");
    }

    /* sigsetjmp without saving the mask: SIGSEGV stays blocked after the jump unless SA_NODEFER. */
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    hits = 0;
    for (volatile int i = 0; i < 2; i++) {
        if (sigsetjmp(env, 0) == 0)
            (void)*(volatile int *)8;
    }
    CHECK_EQ(hits, 2, "SA_NODEFER + sigsetjmp(env, 0): two faults handled");
    return cf_done();
}
