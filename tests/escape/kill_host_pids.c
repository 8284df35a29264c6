/* Signalling host processes by number: the sandbox has its own pid space, so the host canary's
 * pid (and every number up to pid_max) names either a sandbox process or nothing. Outcome: ESRCH
 * for the host pid with every signal-sending call; a scan finds only the sandbox's processes. */
#include <sys/syscall.h>

#include "escape.h"

int main(void)
{
    long host = esc_host_pid();
    int found = 0, p;
    pid_t kid = fork();
    siginfo_t si;

    if (kid == 0) {
        pause();
        _exit(0);
    }
    esc_check(host > 0, "host canary pid %ld from /info", host);
    if (host > 0 && host != kid && host != 1) {
        ESC_ERR(kill((pid_t)host, SIGKILL), ESRCH);
        ESC_ERR(kill(-(pid_t)host, SIGKILL), ESRCH);
        ESC_ERR(syscall(SYS_tkill, host, SIGKILL), ESRCH);
        ESC_ERR(syscall(SYS_tgkill, host, host, SIGKILL), ESRCH);
        memset(&si, 0, sizeof(si));
        si.si_code = SI_QUEUE;
        ESC_ERR(syscall(SYS_rt_sigqueueinfo, host, SIGKILL, &si), ESRCH);
        /* pidfd_open: ESRCH once implemented; until then the documented ENOSYS. */
        ESC_ERR(syscall(SYS_pidfd_open, host, 0),
                esc_documented_errno(SYS_pidfd_open) == ENOSYS ? ENOSYS : ESRCH);
        ESC_ERR(setpgid((pid_t)host, 0), ESRCH);
        ESC_ERR(getpgid((pid_t)host), ESRCH);
        ESC_ERR(syscall(SYS_sched_setaffinity, host, 0, NULL), ESRCH);
    }
    for (p = 1; p < 40000; p++)
        if (kill(p, 0) == 0)
            found++;
    esc_check(found == 2, "kill(n, 0) for n < 40000 finds only pid 1 and its child (%d)", found);
    kill(kid, SIGKILL);
    waitpid(kid, NULL, 0);
    return esc_done();
}
