/* Regression (found by the syscall fuzzer): clone(CLONE_SETTLS) with a TLS base at a kernel or
 * non-canonical address. The Sentry stored it, the host refused it in PTRACE_SETREGS and the
 * child's whole address space was torn down ("killed by the host?"). Outcome: EPERM as Linux's
 * ARCH_SET_FS rule, for processes and threads; a valid TLS still works. */
#include "escape.h"

int main(void)
{
    static const unsigned long bad[] = {ESC_KERNEL_ADDR, 0x7ffffffff000ul, 0x0000800000000000ul,
                                        ~0ul};
    size_t i;
    pid_t p;
    int st;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ESC_ERR(syscall(SYS_clone, CLONE_SETTLS | SIGCHLD, NULL, NULL, NULL, bad[i]), EPERM);
        ESC_ERR(syscall(SYS_clone, CLONE_VM | CLONE_THREAD | CLONE_SIGHAND | CLONE_SETTLS,
                        (char *)malloc(65536) + 65536, NULL, NULL, bad[i]),
                EPERM);
    }
    p = (pid_t)syscall(SYS_clone, CLONE_SETTLS | SIGCHLD, NULL, NULL, NULL, 0x10000ul);
    if (p == 0)
        syscall(SYS_exit, 7); /* no libc: fs points at nothing useful */
    waitpid(p, &st, 0);
    esc_check(p > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 7, "a valid TLS base works (%s)",
              esc_status_str(st));
    return esc_done();
}
