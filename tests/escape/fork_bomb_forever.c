/* An unbounded fork bomb: every process forks forever and never waits, under --pids 64 and
 * --timeout 3s. Outcome: the sandbox is killed at the timeout (124), every host process is
 * reaped (no stray stub or Sentry, the runner's subreaper checks), the host is unaffected. */
#include "escape.h"

int main(void)
{
    for (;;) {
        if (fork() < 0)
            sched_yield();
    }
}
