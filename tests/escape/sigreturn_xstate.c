/* Regression (found by the syscall fuzzer): a signal frame whose XSAVE header claims components
 * the process may not use (AMX tile data, bits 17-18). The Sentry passed them on, the host refused
 * the whole FP state (PTRACE_SETREGSET: EINVAL) and the task ran on with its old registers, so a
 * handler's change to %xmm15 was silently lost. Outcome: the handler's %xmm15 is restored (fnbox
 * keeps the valid components) or the task gets SIGSEGV (what Linux does for a bad frame); never
 * the stale value. */
#include <ucontext.h>

#include "escape.h"

static void handler(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    char *fp = (char *)uc->uc_mcontext.fpregs;
    (void)sig;
    (void)si;
    memset(fp + 160 + 15 * 16, 0x5a, 16);  /* %xmm15 in the FXSAVE area */
    *(uint64_t *)(fp + 512) |= 3ull << 17; /* XSTATE_BV: + AMX TILECFG/TILEDATA */
}

static void run(void *a)
{
    struct sigaction sa;
    uint64_t x;
    (void)a;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    __asm__ volatile("pxor %%xmm15, %%xmm15\n\t"
                     "mov $39, %%eax\n\t" /* getpid */
                     "syscall\n\t"
                     "mov %%rax, %%rdi\n\t"
                     "mov $10, %%esi\n\t" /* SIGUSR1 */
                     "mov $62, %%eax\n\t" /* kill: the handler runs on the way back */
                     "syscall\n\t"
                     "movq %%xmm15, %0"
                     : "=r"(x)
                     :
                     : "rax", "rdi", "rsi", "rcx", "r11", "xmm15", "memory");
    _exit(x == 0x5a5a5a5a5a5a5a5aull ? 0 : x == 0 ? 10 : 11);
}

int main(void)
{
    bool to;
    int st = esc_run_child(run, NULL, 5000, &to);
    esc_check(!to && ((WIFEXITED(st) && WEXITSTATUS(st) == 0) ||
                      (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV)),
              "the handler's %%xmm15 is restored or the frame is refused (%s; 10 = stale value)",
              esc_status_str(st));
    return esc_done();
}
