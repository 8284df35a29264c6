/* A fork bomb under --pids 32: fork fails with EAGAIN once the sandbox has 32 tasks, and the
 * count never exceeds it. Outcome: EAGAIN seen, at most 31 children, clean exit. */
#include "escape.h"

int main(void)
{
    int err, n = esc_fork_until_refused(1000, &err);
    esc_check(err == EAGAIN, "fork fails with EAGAIN (%s)", esc_errname(err));
    esc_check(n == 31, "31 children besides pid 1 under --pids 32 (%d)", n);
    ESC_ERR(syscall(SYS_clone, CLONE_VM | CLONE_THREAD | CLONE_SIGHAND, NULL, NULL, NULL, NULL),
            EAGAIN);
    kill(-1, SIGKILL);
    while (wait(NULL) > 0)
        ;
    esc_check(fork() >= 0 || errno != EAGAIN, "forking works again after the children died");
    return esc_done();
}
