/* Forged signal frames: a handler that raises IOPL to 3, sets a kernel code segment, sets the
 * trap and alignment flags' neighbours, or points the stack at a kernel address before returning.
 * rt_sigreturn must sanitise what it restores: user segments (cs 0x33), IOPL 0. Outcome: after the
 * return, cs is 0x33, IOPL is 0 and cli faults (SIGSEGV); a bad frame address gives SIGSEGV. */
#include <ucontext.h>

#include "escape.h"

static void raise_privilege(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    (void)sig;
    (void)si;
    uc->uc_mcontext.gregs[REG_EFL] |= 0x3000; /* IOPL 3 */
    uc->uc_mcontext.gregs[REG_CSGSFS] = (uc->uc_mcontext.gregs[REG_CSGSFS] & ~0xffffull) | 0x10;
}

static void forged(void *a)
{
    struct sigaction sa;
    unsigned long fl;
    unsigned short cs;
    (void)a;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = raise_privilege;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    __asm__ volatile("pushf; pop %0" : "=r"(fl));
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    if (fl & 0x3000)
        _exit(10); /* IOPL kept: escape */
    if (cs != 0x33)
        _exit(11);
    __asm__ volatile("cli");
    _exit(12); /* cli worked */
}

static void bad_frame(void *a)
{
    (void)a;
    __asm__ volatile("mov %0, %%rsp; mov $15, %%eax; syscall" ::"r"(ESC_KERNEL_ADDR) : "memory");
}

static void zero_frame(void *a)
{
    static char zeros[4096] __attribute__((aligned(16)));
    (void)a;
    __asm__ volatile("mov %0, %%rsp; mov $15, %%eax; syscall" ::"r"(zeros + 2048) : "memory");
}

int main(void)
{
    bool to;
    int st = esc_run_child(forged, NULL, 5000, &to);
    esc_check(!to && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
              "IOPL/cs from a forged frame are not restored; cli faults (%s; 10 = IOPL kept, 11 = "
              "cs kept, 12 = cli ran)",
              esc_status_str(st));
    st = esc_run_child(bad_frame, NULL, 5000, &to);
    esc_check(!to && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
              "rt_sigreturn with the frame at a kernel address: SIGSEGV (%s)", esc_status_str(st));
    st = esc_run_child(zero_frame, NULL, 5000, &to);
    esc_check(!to && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
              "rt_sigreturn with an all-zero frame: SIGSEGV (%s)", esc_status_str(st));
    return esc_done();
}
