/* Conformance: synchronous faults — SIGFPE FPE_INTDIV (divide by zero, INT_MIN/-1), SIGILL
 * ILL_ILLOPN (ud2), SIGTRAP (int3), SIGSEGV from hlt, with si_addr at the instruction; a handler
 * that advances RIP through the ucontext resumes after the instruction. Part of tests/syscalls. */
#include "conform.h"
#include <limits.h>
#include <ucontext.h>

extern char cf_div_insn[], cf_ud2_insn[], cf_int3_after[], cf_hlt_insn[], cf_skip_insn[];

static sigjmp_buf env;
static volatile int last_sig, last_code;
static void *volatile last_addr;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    last_sig = sig;
    last_code = si->si_code;
    last_addr = si->si_addr;
    siglongjmp(env, 1);
}

static volatile int skipped;
static void skip_ud2(int sig, siginfo_t *si, void *ucv)
{
    (void)sig, (void)si;
    ucontext_t *uc = ucv;
    uc->uc_mcontext.gregs[REG_RIP] += 2; /* ud2 is two bytes */
    uc->uc_mcontext.gregs[REG_RAX] = 1234;
    skipped++;
}

static const char *fpe_code(int c)
{
    return c == FPE_INTDIV ? "FPE_INTDIV" : c == FPE_INTOVF ? "FPE_INTOVF" : "other";
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGTRAP, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);

    volatile int zero = 0, num = 7;
    if (sigsetjmp(env, 1) == 0) {
        int q;
        __asm__ volatile(".globl cf_div_insn\n\tcf_div_insn: idivl %[d]"
                         : "=a"(q)
                         : "a"(num), "d"(0), [d] "r"(zero));
        CHECK(0, "division by zero did not fault");
    }
    CHECK_STR(cf_signame(last_sig), "SIGFPE", "integer division by zero");
    CHECK_STR(fpe_code(last_code), "FPE_INTDIV", "division by zero si_code");
    CHECK(last_addr == cf_div_insn, "si_addr is the idiv instruction");

    volatile int minv = INT_MIN, m1 = -1;
    last_sig = 0;
    if (sigsetjmp(env, 1) == 0) {
        volatile int r = minv / m1;
        (void)r;
        CHECK(0, "INT_MIN / -1 did not fault");
    }
    CHECK_STR(cf_signame(last_sig), "SIGFPE", "INT_MIN / -1");
    CHECK_STR(fpe_code(last_code), "FPE_INTDIV", "INT_MIN / -1 si_code (x86 reports INTDIV)");

    last_sig = 0;
    if (sigsetjmp(env, 1) == 0) {
        __asm__ volatile(".globl cf_ud2_insn\n\tcf_ud2_insn: ud2");
        CHECK(0, "ud2 did not fault");
    }
    CHECK_STR(cf_signame(last_sig), "SIGILL", "ud2");
    CHECK_EQ(last_code, ILL_ILLOPN, "ud2 si_code is ILL_ILLOPN");
    CHECK(last_addr == cf_ud2_insn, "si_addr is the ud2 instruction");

    last_sig = 0;
    if (sigsetjmp(env, 1) == 0) {
        __asm__ volatile("int3\n\t.globl cf_int3_after\n\tcf_int3_after: nop");
        CHECK(0, "int3 did not trap");
    }
    CHECK_STR(cf_signame(last_sig), "SIGTRAP", "int3");
    CHECK_STR(cf_segv_code(SIGTRAP, last_code), "SI_KERNEL", "int3 si_code");

    last_sig = 0;
    if (sigsetjmp(env, 1) == 0) {
        __asm__ volatile(".globl cf_hlt_insn\n\tcf_hlt_insn: hlt");
        CHECK(0, "hlt did not fault");
    }
    CHECK_STR(cf_signame(last_sig), "SIGSEGV", "hlt in user mode");
    CHECK_STR(cf_segv_code(SIGSEGV, last_code), "SI_KERNEL", "hlt si_code");
    CHECK(last_addr == NULL, "hlt si_addr is 0");

    /* Resume after the faulting instruction by editing the saved registers. */
    struct sigaction sk = {0};
    sk.sa_sigaction = skip_ud2;
    sk.sa_flags = SA_SIGINFO;
    sigemptyset(&sk.sa_mask);
    sigaction(SIGILL, &sk, NULL);
    long rax = 0;
    __asm__ volatile("xor %%eax, %%eax\n\t.globl cf_skip_insn\n\tcf_skip_insn: ud2" : "=a"(rax));
    CHECK_EQ(skipped, 1, "SIGILL handler ran once");
    CHECK_EQ(rax, 1234, "execution resumed after ud2 with RAX from the ucontext");

    /* Floating point division by zero does not trap by default. */
    volatile double dz = 0.0, one = 1.0;
    volatile double inf = one / dz;
    CHECK(inf > 1e308, "double 1/0 is +inf without a signal");
    return cf_done();
}
