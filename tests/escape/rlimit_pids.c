/* Raising rlimits does not lift the sandbox's limits: with --pids 8 the program sets RLIMIT_NPROC,
 * RLIMIT_AS and RLIMIT_DATA to infinity (it is "root" inside), then forks. Outcome: EAGAIN at 8
 * tasks all the same. */
#include <sys/resource.h>

#include "escape.h"

int main(void)
{
    struct rlimit inf = {RLIM_INFINITY, RLIM_INFINITY};
    int n, err;
    setrlimit(RLIMIT_NPROC, &inf);
    setrlimit(RLIMIT_AS, &inf);
    setrlimit(RLIMIT_DATA, &inf);
    n = esc_fork_until_refused(100, &err);
    esc_check(err == EAGAIN && n == 7, "fork stops with EAGAIN at --pids 8 (%d children, %s)", n,
              esc_errname(err));
    kill(-1, SIGKILL);
    while (wait(NULL) > 0)
        ;
    return esc_done();
}
