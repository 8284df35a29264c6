/* An endless loop under --timeout 1s, with SIGTERM, SIGINT and SIGHUP ignored and every other
 * signal blocked. Outcome: the sandbox is killed at the timeout, exit status 124 and a "timed
 * out" message, within a second or two of the limit. */
#include "escape.h"

int main(void)
{
    sigset_t all;
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    for (;;)
        __asm__ volatile("" ::: "memory");
}
