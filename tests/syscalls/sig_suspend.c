/* Conformance: sigsuspend and rt_sigsuspend — wait with a temporary mask, return EINTR after the
 * handler, restore the mask. Part of tests/syscalls (runs natively and under fnbox). */
#include "conform.h"

static volatile int hits;
static volatile int mask_in_handler_has_usr2;
static void handler(int sig)
{
    (void)sig;
    hits++;
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    mask_in_handler_has_usr2 = sigismember(&cur, SIGUSR2);
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    signal(SIGUSR1, handler);
    sigset_t block, old, waitmask, now;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, &old);
    kill(getpid(), SIGUSR1); /* pending while blocked */
    CHECK_EQ(hits, 0, "SIGUSR1 pending, not delivered");
    sigfillset(&waitmask);
    sigdelset(&waitmask, SIGUSR1);
    CHECK_ERR(sigsuspend(&waitmask), EINTR, "sigsuspend with a pending signal returns at once");
    CHECK_EQ(hits, 1, "handler ran during sigsuspend");
    CHECK_EQ(mask_in_handler_has_usr2, 1, "handler ran with the temporary mask (SIGUSR2 blocked)");
    sigprocmask(SIG_BLOCK, NULL, &now);
    CHECK_EQ(sigismember(&now, SIGUSR1), 1, "original mask restored after sigsuspend");

    /* A child sends the signal later while we are suspended. */
    pid_t me = getpid();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        cf_msleep(30);
        kill(me, SIGUSR1);
        _exit(0);
    }
    sigemptyset(&waitmask);
    CHECK_ERR(sigsuspend(&waitmask), EINTR, "sigsuspend woken by a signal from a child");
    CHECK_EQ(hits, 2, "handler ran again");
    cf_wait(pid);

    /* A signal that is ignored does not end sigsuspend; a handled one does. */
    signal(SIGUSR2, SIG_IGN);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        kill(me, SIGUSR2);
        cf_msleep(40);
        kill(me, SIGUSR1);
        _exit(0);
    }
    CHECK_ERR(sigsuspend(&waitmask), EINTR, "sigsuspend ignores SIGIGN'd signals, ends on SIGUSR1");
    CHECK_EQ(hits, 3, "the SIGUSR1 handler ran");
    cf_wait(pid);

    uint64_t raw = ~(1ull << (SIGUSR1 - 1));
    kill(me, SIGUSR1);
    CHECK_ERR(syscall(SYS_rt_sigsuspend, &raw, 8), EINTR, "raw rt_sigsuspend");
    CHECK_ERR(syscall(SYS_rt_sigsuspend, &raw, 4), EINVAL, "rt_sigsuspend with a wrong size");
    CHECK_ERR(syscall(SYS_rt_sigsuspend, (void *)8, 8), EFAULT, "rt_sigsuspend with a bad mask");
    sigprocmask(SIG_SETMASK, &old, NULL);
    return cf_done();
}
