/* Conformance: sigprocmask/rt_sigprocmask — blocking keeps signals pending (rt_sigpending),
 * unblocking delivers them at once, SIGKILL/SIGSTOP cannot be blocked, argument errors.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

static volatile int hits[65];
static volatile int order[8], norder;
static void handler(int sig)
{
    hits[sig]++;
    if (norder < 8)
        order[norder++] = sig;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    /* Each handler blocks the others, so pending signals run one after another, not nested. */
    struct sigaction sa = {0};
    sa.sa_handler = handler;
    sigfillset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigset_t set, old, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK_SYS(sigprocmask(SIG_BLOCK, &set, &old), "block SIGUSR1");
    CHECK_EQ(sigismember(&old, SIGUSR1), 0, "SIGUSR1 was not blocked before");
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1);
    CHECK_EQ(hits[SIGUSR1], 0, "blocked signal not delivered");
    CHECK_SYS(sigpending(&pend), "sigpending");
    CHECK_EQ(sigismember(&pend, SIGUSR1), 1, "SIGUSR1 is pending");
    CHECK_EQ(sigismember(&pend, SIGUSR2), 0, "SIGUSR2 is not pending");
    uint64_t raw = 0;
    CHECK_SYS(syscall(SYS_rt_sigpending, &raw, 8), "rt_sigpending");
    CHECK_EQ(raw, 1ull << (SIGUSR1 - 1), "raw pending mask has only SIGUSR1");
    CHECK_SYS(sigprocmask(SIG_UNBLOCK, &set, NULL), "unblock SIGUSR1");
    CHECK_EQ(hits[SIGUSR1], 1, "two standard signals coalesce into one delivery on unblock");
    sigpending(&pend);
    CHECK_EQ(sigismember(&pend, SIGUSR1), 0, "no longer pending");

    /* Several pending standard signals are delivered lowest number first. */
    sigfillset(&set);
    sigprocmask(SIG_SETMASK, &set, &old);
    norder = 0;
    kill(getpid(), SIGUSR2);
    kill(getpid(), SIGHUP);
    kill(getpid(), SIGUSR1);
    sigprocmask(SIG_SETMASK, &old, NULL);
    CHECK_EQ(norder, 3, "three signals delivered on SIG_SETMASK");
    CHECK(order[0] == SIGHUP && order[1] == SIGUSR1 && order[2] == SIGUSR2,
          "delivered in order SIGHUP, SIGUSR1, SIGUSR2");

    /* SIGKILL and SIGSTOP are silently dropped from the mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGKILL);
    sigaddset(&set, SIGSTOP);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    sigprocmask(SIG_BLOCK, NULL, &old);
    CHECK_EQ(sigismember(&old, SIGKILL), 0, "SIGKILL cannot be blocked");
    CHECK_EQ(sigismember(&old, SIGSTOP), 0, "SIGSTOP cannot be blocked");
    CHECK_EQ(sigismember(&old, SIGTERM), 1, "SIGTERM was blocked");
    sigprocmask(SIG_UNBLOCK, &set, NULL);

    CHECK_ERR(sigprocmask(42, &set, NULL), EINVAL, "sigprocmask with a bad how");
    CHECK_ERR(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 4), EINVAL,
              "rt_sigprocmask with a wrong sigsetsize");
    CHECK_ERR(syscall(SYS_rt_sigprocmask, SIG_BLOCK, (void *)8, NULL, 8), EFAULT,
              "rt_sigprocmask with a bad set pointer");
    uint64_t raw2[2];
    CHECK_ERR(syscall(SYS_rt_sigpending, raw2, 16), EINVAL, "rt_sigpending with a too large size");

    /* The mask is per thread but inherited by fork; pending signals are not inherited. */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    kill(getpid(), SIGUSR2);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t m, p;
        sigprocmask(SIG_BLOCK, NULL, &m);
        sigpending(&p);
        _exit(sigismember(&m, SIGUSR2) == 1 && sigismember(&p, SIGUSR2) == 0 ? 0 : 1);
    }
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0",
              "fork child inherits the mask but not the pending signal");
    int before = hits[SIGUSR2];
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    CHECK_EQ(hits[SIGUSR2] - before, 1, "parent still had it pending");
    return cf_done();
}
