/* Conformance: the signal frame saves and restores FP/SSE/AVX state — xmm0-15 (and ymm upper
 * halves with AVX), MXCSR and the x87 control word survive a handler that clobbers them; the
 * handler starts with the default MXCSR. A handler that edits %xmm15 in the frame's legacy
 * area (not its XSAVE header) has the edit applied by sigreturn, also when the SSE state was in
 * its initial state (every %xmm zero) when the signal came. Part of tests/syscalls (native ==
 * fnbox). */
#include "conform.h"
#include <ucontext.h>

static void edit_xmm15(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    (void)sig;
    (void)si;
    memset(&uc->uc_mcontext.fpregs->_xmm[15], 0x5a, 16);
}

static volatile unsigned handler_mxcsr_at_entry;
static volatile int handler_ran;
static int have_avx;

static void clobber(int sig)
{
    (void)sig;
    unsigned m;
    __asm__ volatile("stmxcsr %0" : "=m"(m));
    handler_mxcsr_at_entry = m;
    if (have_avx)
        __asm__ volatile("vzeroall" ::
                             : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
                               "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
                               "xmm15");
    __asm__ volatile("pxor %%xmm0, %%xmm0\n\tpcmpeqd %%xmm1, %%xmm1\n\t"
                     "movdqa %%xmm1, %%xmm7\n\tmovdqa %%xmm1, %%xmm15" ::
                         : "xmm0", "xmm1", "xmm7", "xmm15");
    unsigned newm = 0x7f80; /* round toward zero */
    __asm__ volatile("ldmxcsr %0" ::"m"(newm));
    unsigned short cw = 0x0c7f; /* x87: round toward zero, 24-bit precision */
    __asm__ volatile("fldcw %0" ::"m"(cw));
    volatile double d = 1.0;
    for (int i = 0; i < 100; i++)
        d = d * 1.5 + 0.25;
    handler_ran = 1;
}

static long raw_tgkill(int pid, int tid, int sig)
{
    long ret = SYS_tgkill;
    __asm__ volatile("syscall" : "+a"(ret) : "D"(pid), "S"(tid), "d"(sig) : "rcx", "r11", "memory");
    return ret;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    __builtin_cpu_init();
    have_avx = __builtin_cpu_supports("avx");
    signal(SIGUSR1, clobber);
    int pid = getpid(), tid = gettid();

    /* xmm0-15 loaded, signal sent with an inline syscall, registers stored right after. */
    static uint8_t in[16][16] __attribute__((aligned(16))),
        out[16][16] __attribute__((aligned(16)));
    for (int r = 0; r < 16; r++)
        for (int b = 0; b < 16; b++)
            in[r][b] = (uint8_t)(r * 16 + b + 1);
    long ret = SYS_tgkill;
    __asm__ volatile("movdqa 0(%[i]), %%xmm0\n\tmovdqa 16(%[i]), %%xmm1\n\t"
                     "movdqa 32(%[i]), %%xmm2\n\tmovdqa 48(%[i]), %%xmm3\n\t"
                     "movdqa 64(%[i]), %%xmm4\n\tmovdqa 80(%[i]), %%xmm5\n\t"
                     "movdqa 96(%[i]), %%xmm6\n\tmovdqa 112(%[i]), %%xmm7\n\t"
                     "movdqa 128(%[i]), %%xmm8\n\tmovdqa 144(%[i]), %%xmm9\n\t"
                     "movdqa 160(%[i]), %%xmm10\n\tmovdqa 176(%[i]), %%xmm11\n\t"
                     "movdqa 192(%[i]), %%xmm12\n\tmovdqa 208(%[i]), %%xmm13\n\t"
                     "movdqa 224(%[i]), %%xmm14\n\tmovdqa 240(%[i]), %%xmm15\n\t"
                     "syscall\n\t"
                     "movdqa %%xmm0, 0(%[o])\n\tmovdqa %%xmm1, 16(%[o])\n\t"
                     "movdqa %%xmm2, 32(%[o])\n\tmovdqa %%xmm3, 48(%[o])\n\t"
                     "movdqa %%xmm4, 64(%[o])\n\tmovdqa %%xmm5, 80(%[o])\n\t"
                     "movdqa %%xmm6, 96(%[o])\n\tmovdqa %%xmm7, 112(%[o])\n\t"
                     "movdqa %%xmm8, 128(%[o])\n\tmovdqa %%xmm9, 144(%[o])\n\t"
                     "movdqa %%xmm10, 160(%[o])\n\tmovdqa %%xmm11, 176(%[o])\n\t"
                     "movdqa %%xmm12, 192(%[o])\n\tmovdqa %%xmm13, 208(%[o])\n\t"
                     "movdqa %%xmm14, 224(%[o])\n\tmovdqa %%xmm15, 240(%[o])\n\t"
                     : "+a"(ret)
                     : [i] "r"(in), [o] "r"(out), "D"(pid), "S"(tid), "d"(SIGUSR1)
                     : "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
                       "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
                       "xmm15");
    CHECK_EQ(ret, 0, "tgkill from inline asm returned 0");
    CHECK_EQ(handler_ran, 1, "clobbering handler ran");
    int bad = -1;
    for (int r = 0; r < 16 && bad < 0; r++)
        if (memcmp(in[r], out[r], 16) != 0)
            bad = r;
    CHECK_EQ(bad, -1, "xmm0-xmm15 preserved across the signal (first bad register)");
    CHECK_EQ(handler_mxcsr_at_entry & 0xffbf, 0x1f80, "handler starts with the default MXCSR");

    /* MXCSR and the x87 control word. */
    unsigned m = 0x3f80, m_after = 0; /* round down */
    unsigned short cw = 0x037f, cw_set = 0x077f, cw_after = 0;
    __asm__ volatile("ldmxcsr %0" ::"m"(m));
    __asm__ volatile("fldcw %0" ::"m"(cw_set));
    handler_ran = 0;
    raw_tgkill(pid, tid, SIGUSR1);
    __asm__ volatile("stmxcsr %0" : "=m"(m_after));
    __asm__ volatile("fnstcw %0" : "=m"(cw_after));
    CHECK_EQ(handler_ran, 1, "handler ran again");
    CHECK_EQ(m_after & 0xffbf, 0x3f80, "MXCSR rounding mode preserved");
    CHECK_EQ(cw_after, 0x077f, "x87 control word preserved");
    m = 0x1f80;
    __asm__ volatile("ldmxcsr %0" ::"m"(m));
    __asm__ volatile("fldcw %0" ::"m"(cw));

    /* Doubles kept in registers by the compiler across a raise() survive too. */
    volatile double a = 1.25;
    double x = a, y = a * 3, z = a / 7;
    raise(SIGUSR1);
    CHECK(x == 1.25 && y == 3.75 && z == 1.25 / 7, "double values intact after raise");

    /* AVX: upper halves of ymm0-15. */
    bool ymm_ok = true;
    if (have_avx) {
        static uint8_t yin[16][32] __attribute__((aligned(32))),
            yout[16][32] __attribute__((aligned(32)));
        for (int r = 0; r < 16; r++)
            for (int b = 0; b < 32; b++)
                yin[r][b] = (uint8_t)(r * 32 + b + 7);
        ret = SYS_tgkill;
        __asm__ volatile("vmovdqa 0(%[i]), %%ymm0\n\tvmovdqa 32(%[i]), %%ymm1\n\t"
                         "vmovdqa 64(%[i]), %%ymm2\n\tvmovdqa 96(%[i]), %%ymm3\n\t"
                         "vmovdqa 128(%[i]), %%ymm4\n\tvmovdqa 160(%[i]), %%ymm5\n\t"
                         "vmovdqa 192(%[i]), %%ymm6\n\tvmovdqa 224(%[i]), %%ymm7\n\t"
                         "vmovdqa 256(%[i]), %%ymm8\n\tvmovdqa 288(%[i]), %%ymm9\n\t"
                         "vmovdqa 320(%[i]), %%ymm10\n\tvmovdqa 352(%[i]), %%ymm11\n\t"
                         "vmovdqa 384(%[i]), %%ymm12\n\tvmovdqa 416(%[i]), %%ymm13\n\t"
                         "vmovdqa 448(%[i]), %%ymm14\n\tvmovdqa 480(%[i]), %%ymm15\n\t"
                         "syscall\n\t"
                         "vmovdqa %%ymm0, 0(%[o])\n\tvmovdqa %%ymm1, 32(%[o])\n\t"
                         "vmovdqa %%ymm2, 64(%[o])\n\tvmovdqa %%ymm3, 96(%[o])\n\t"
                         "vmovdqa %%ymm4, 128(%[o])\n\tvmovdqa %%ymm5, 160(%[o])\n\t"
                         "vmovdqa %%ymm6, 192(%[o])\n\tvmovdqa %%ymm7, 224(%[o])\n\t"
                         "vmovdqa %%ymm8, 256(%[o])\n\tvmovdqa %%ymm9, 288(%[o])\n\t"
                         "vmovdqa %%ymm10, 320(%[o])\n\tvmovdqa %%ymm11, 352(%[o])\n\t"
                         "vmovdqa %%ymm12, 384(%[o])\n\tvmovdqa %%ymm13, 416(%[o])\n\t"
                         "vmovdqa %%ymm14, 448(%[o])\n\tvmovdqa %%ymm15, 480(%[o])\n\t"
                         "vzeroupper\n\t"
                         : "+a"(ret)
                         : [i] "r"(yin), [o] "r"(yout), "D"(pid), "S"(tid), "d"(SIGUSR1)
                         : "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
                           "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
                           "xmm14", "xmm15");
        ymm_ok = ret == 0 && memcmp(yin, yout, sizeof(yin)) == 0;
    }
    CHECK(ymm_ok, "ymm0-ymm15 preserved across the signal (checked when the CPU has AVX)");

    /* SSE in its initial state (an XRSTOR of it: every %xmm zero and the component not in
     * use, so XSAVE leaves its XSTATE_BV bit clear), then a handler edits the saved %xmm15. */
    static uint8_t xs[4096] __attribute__((aligned(64)));
    *(uint32_t *)(xs + 24) = 0x1f80; /* MXCSR, loaded by the XRSTOR */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = edit_xmm15;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, &sa, NULL);
    uint64_t lo = 0;
    ret = SYS_tgkill;
    __asm__ volatile("mov %%rax, %%r8\n\t"
                     "mov %%rdx, %%r9\n\t"
                     "mov $2, %%eax\n\t" /* RFBM: SSE */
                     "xor %%edx, %%edx\n\t"
                     "xrstor (%[xs])\n\t"
                     "mov %%r8, %%rax\n\t"
                     "mov %%r9, %%rdx\n\t"
                     "syscall\n\t"
                     "movq %%xmm15, %[lo]\n\t"
                     : "+a"(ret), [lo] "=r"(lo)
                     : "D"(pid), "S"(tid), "d"(SIGUSR2), [xs] "r"(xs)
                     : "rcx", "r8", "r9", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
                       "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
                       "xmm14", "xmm15");
    CHECK_EQ(ret, 0, "tgkill with every %%xmm zero returned 0");
    CHECK(lo == 0x5a5a5a5a5a5a5a5aull,
          "the handler's edit of the saved %%xmm15 is in %%xmm15 after sigreturn");
    return cf_done();
}
