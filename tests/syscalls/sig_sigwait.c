/* Conformance: sigwaitinfo/sigtimedwait/sigwait — take a blocked pending signal with its info,
 * time out with EAGAIN, reject bad timeouts. Part of tests/syscalls (native == fnbox). */
#include "conform.h"

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &set, NULL);

    sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 5});
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    CHECK_EQ(sigwaitinfo(&set, &si), SIGUSR1, "sigwaitinfo returns the pending SIGUSR1");
    CHECK(si.si_signo == SIGUSR1 && si.si_code == SI_QUEUE && si.si_value.sival_int == 5,
          "siginfo: SIGUSR1, SI_QUEUE, value 5");
    sigset_t pend;
    sigpending(&pend);
    CHECK_EQ(sigismember(&pend, SIGUSR1), 0, "signal consumed");

    struct timespec zero = {0, 0};
    CHECK_ERR(sigtimedwait(&set, &si, &zero), EAGAIN, "sigtimedwait with zero timeout, nothing");
    struct timespec t0, t1, to = {0, 50 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_ERR(sigtimedwait(&set, &si, &to), EAGAIN, "sigtimedwait 50 ms, nothing");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(ms >= 49, "sigtimedwait waited at least 50 ms");
    struct timespec bad = {0, 1000000000};
    CHECK_ERR(sigtimedwait(&set, &si, &bad), EINVAL, "sigtimedwait with tv_nsec 1e9");

    /* A signal sent later by a child ends the wait. */
    pid_t me = getpid();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        cf_msleep(20);
        kill(me, SIGRTMIN);
        _exit(0);
    }
    struct timespec longer = {5, 0};
    memset(&si, 0, sizeof(si));
    CHECK_EQ(sigtimedwait(&set, &si, &longer), SIGRTMIN, "sigtimedwait receives SIGRTMIN");
    CHECK(si.si_pid == pid && si.si_code == SI_USER, "sent by the child with SI_USER");
    cf_wait(pid);

    int sig = 0;
    kill(getpid(), SIGUSR1);
    CHECK_EQ(sigwait(&set, &sig), 0, "sigwait");
    CHECK_STR(cf_signame(sig), "SIGUSR1", "sigwait signal");

    /* Unblocked signals in the set are waited for too; SIGKILL in the set is ignored. */
    sigset_t k;
    sigemptyset(&k);
    sigaddset(&k, SIGUSR2);
    sigaddset(&k, SIGKILL);
    signal(SIGUSR2, SIG_DFL);
    sigprocmask(SIG_BLOCK, &k, NULL);
    kill(getpid(), SIGUSR2);
    CHECK_EQ(sigtimedwait(&k, &si, &zero), SIGUSR2, "set containing SIGKILL still works");
    CHECK_ERR(syscall(SYS_rt_sigtimedwait, &set, &si, &zero, 4), EINVAL,
              "rt_sigtimedwait with a wrong sigsetsize");
    return cf_done();
}
