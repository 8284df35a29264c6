/* Conformance: realtime signals queue (each instance delivered, in order, with its value), lower
 * numbers first, rt_sigqueueinfo permission rules. Part of tests/syscalls (native == fnbox). */
#include "conform.h"

static volatile int n;
static volatile int sigs[16], vals[16];
static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (n < 16) {
        sigs[n] = sig;
        vals[n] = si->si_value.sival_int;
    }
    n++;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    struct sigaction sa = {0};
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigfillset(&sa.sa_mask); /* run handlers one after another, not nested */
    int r1 = SIGRTMIN + 1, r2 = SIGRTMIN + 2;
    sigaction(r1, &sa, NULL);
    sigaction(r2, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);

    sigset_t b, old;
    sigemptyset(&b);
    sigaddset(&b, r1);
    sigaddset(&b, r2);
    sigaddset(&b, SIGUSR1);
    sigprocmask(SIG_BLOCK, &b, &old);
    for (int i = 1; i <= 3; i++)
        CHECK_SYS(sigqueue(getpid(), r2, (union sigval){.sival_int = 20 + i}), "queue RTMIN+2 #%d",
                  i);
    for (int i = 1; i <= 3; i++)
        sigqueue(getpid(), r1, (union sigval){.sival_int = 10 + i});
    sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 1});
    sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 2});
    CHECK_EQ(n, 0, "nothing delivered while blocked");
    sigprocmask(SIG_SETMASK, &old, NULL);
    CHECK_EQ(n, 7, "7 deliveries: 3 + 3 realtime, 1 coalesced standard");
    CHECK(sigs[0] == SIGUSR1 && vals[0] == 1, "standard signal first (lowest number), first value");
    CHECK(sigs[1] == r1 && vals[1] == 11, "then RTMIN+1 value 11");
    CHECK(sigs[2] == r1 && vals[2] == 12, "then RTMIN+1 value 12");
    CHECK(sigs[3] == r1 && vals[3] == 13, "then RTMIN+1 value 13");
    CHECK(sigs[4] == r2 && vals[4] == 21, "then RTMIN+2 value 21");
    CHECK(sigs[5] == r2 && vals[5] == 22, "then RTMIN+2 value 22");
    CHECK(sigs[6] == r2 && vals[6] == 23, "then RTMIN+2 value 23");

    /* rt_sigqueueinfo to ourselves with SI_QUEUE works; a positive si_code to another process
     * is refused. */
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_signo = r1;
    si.si_code = SI_QUEUE;
    si.si_value.sival_int = 99;
    si.si_pid = getpid();
    si.si_uid = getuid();
    n = 0;
    CHECK_SYS(syscall(SYS_rt_sigqueueinfo, getpid(), r1, &si), "rt_sigqueueinfo SI_QUEUE to self");
    CHECK(n == 1 && vals[0] == 99, "delivered with value 99");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        for (;;)
            pause();
    }
    si.si_code = SI_KERNEL;
    CHECK_ERR(syscall(SYS_rt_sigqueueinfo, pid, SIGUSR1, &si), EPERM,
              "rt_sigqueueinfo with si_code SI_KERNEL to another process");
    si.si_code = SI_TKILL;
    CHECK_ERR(syscall(SYS_rt_sigqueueinfo, pid, SIGUSR1, &si), EPERM,
              "rt_sigqueueinfo with si_code SI_TKILL to another process");
    kill(pid, SIGKILL);
    cf_wait(pid);
    CHECK_ERR(sigqueue(getpid(), 99, (union sigval){0}), EINVAL, "sigqueue with signal 99");
    return cf_done();
}
