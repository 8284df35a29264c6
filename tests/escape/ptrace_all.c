/* ptrace(PTRACE_ATTACH) and friends against every pid the sandbox can see, and the host canary's
 * pid: the Sentry refuses ptrace (docs/compatibility.md: EPERM). Outcome: EPERM for every request,
 * including PTRACE_TRACEME; the targets keep running. */
#include <sys/ptrace.h>

#include "escape.h"

int main(void)
{
    long host = esc_host_pid();
    pid_t kid = fork();
    DIR *d;
    struct dirent *e;
    int n = 0;

    if (kid == 0) {
        for (;;)
            pause();
    }
    d = opendir("/proc");
    while (d && (e = readdir(d))) {
        long p;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        p = atol(e->d_name);
        n++;
        ESC_ERR(ptrace(PTRACE_ATTACH, (pid_t)p, NULL, NULL), EPERM);
        ESC_ERR(ptrace(PTRACE_SEIZE, (pid_t)p, NULL, NULL), EPERM);
        ESC_ERR(ptrace(PTRACE_PEEKDATA, (pid_t)p, (void *)&n, NULL), EPERM);
        ESC_ERR(ptrace(PTRACE_POKEDATA, (pid_t)p, (void *)&n, (void *)1), EPERM);
    }
    if (d)
        closedir(d);
    esc_check(n >= 2, "attacked %d pids", n);
    if (host > 0)
        ESC_ERR(ptrace(PTRACE_ATTACH, (pid_t)host, NULL, NULL), EPERM);
    ESC_ERR(ptrace(PTRACE_TRACEME, 0, NULL, NULL), EPERM);
    esc_check(kill(kid, 0) == 0, "the child is still alive");
    kill(kid, SIGKILL);
    waitpid(kid, NULL, 0);
    return esc_done();
}
