/* Conformance: sigaction — handlers get siginfo (si_signo, si_code SI_USER/SI_TKILL/SI_QUEUE,
 * si_pid, si_value), old actions are returned, SIGKILL/SIGSTOP cannot be caught, bad numbers.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

static volatile int got_sig, got_code, got_val, got_pid_ok, got_uid_ok, plain_hits;

static void info_handler(int sig, siginfo_t *si, void *uc)
{
    got_sig = sig;
    got_code = si->si_code;
    got_val = si->si_value.sival_int;
    got_pid_ok = si->si_pid == getpid();
    got_uid_ok = si->si_uid == getuid();
    (void)uc;
}

static void plain_handler(int sig)
{
    (void)sig;
    plain_hits++;
}

static const char *code_name(int c)
{
    switch (c) {
    case SI_USER:
        return "SI_USER";
    case SI_TKILL:
        return "SI_TKILL";
    case SI_QUEUE:
        return "SI_QUEUE";
    case SI_KERNEL:
        return "SI_KERNEL";
    default:
        return "other";
    }
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    struct sigaction sa = {0}, old;
    sa.sa_sigaction = info_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK_SYS(sigaction(SIGUSR1, &sa, NULL), "install SA_SIGINFO handler for SIGUSR1");

    CHECK_SYS(kill(getpid(), SIGUSR1), "kill(self, SIGUSR1)");
    CHECK_STR(cf_signame(got_sig), "SIGUSR1", "handler si_signo");
    CHECK_STR(code_name(got_code), "SI_USER", "kill gives si_code");
    CHECK_EQ(got_pid_ok, 1, "si_pid is the sender (us)");
    CHECK_EQ(got_uid_ok, 1, "si_uid is our uid");

    got_sig = 0;
    CHECK_SYS(syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1), "tgkill(self, SIGUSR1)");
    CHECK_STR(code_name(got_code), "SI_TKILL", "tgkill gives si_code");
    got_sig = 0;
    CHECK_SYS(syscall(SYS_tkill, gettid(), SIGUSR1), "tkill(self, SIGUSR1)");
    CHECK_STR(code_name(got_code), "SI_TKILL", "tkill gives si_code");
    CHECK_EQ(raise(SIGUSR1), 0, "raise(SIGUSR1)");
    CHECK_STR(code_name(got_code), "SI_TKILL", "raise gives si_code");

    union sigval v = {.sival_int = 4242};
    CHECK_SYS(sigqueue(getpid(), SIGUSR1, v), "sigqueue with a value");
    CHECK_STR(code_name(got_code), "SI_QUEUE", "sigqueue gives si_code");
    CHECK_EQ(got_val, 4242, "si_value delivered");

    /* The old action comes back from the next sigaction call. */
    struct sigaction sb = {0};
    sb.sa_handler = plain_handler;
    sb.sa_flags = SA_RESTART;
    sigemptyset(&sb.sa_mask);
    sigaddset(&sb.sa_mask, SIGUSR2);
    CHECK_SYS(sigaction(SIGUSR1, &sb, &old), "replace the handler");
    CHECK(old.sa_sigaction == info_handler, "old action is the SA_SIGINFO handler");
    CHECK(old.sa_flags & SA_SIGINFO, "old flags include SA_SIGINFO");
    sigaction(SIGUSR1, NULL, &old);
    CHECK(old.sa_handler == plain_handler, "query returns the plain handler");
    CHECK(old.sa_flags & SA_RESTART, "query returns SA_RESTART");
    CHECK_EQ(sigismember(&old.sa_mask, SIGUSR2), 1, "query returns the sa_mask");
    kill(getpid(), SIGUSR1);
    CHECK_EQ(plain_hits, 1, "plain handler ran once");

    /* SIG_IGN discards the signal; SIG_DFL for a default-ignore signal too. */
    signal(SIGUSR1, SIG_IGN);
    CHECK_SYS(kill(getpid(), SIGUSR1), "kill with SIGUSR1 ignored");
    CHECK_EQ(plain_hits, 1, "ignored signal ran no handler");
    signal(SIGWINCH, SIG_DFL);
    CHECK_SYS(raise(SIGWINCH), "SIGWINCH with default action (ignore)");
    signal(SIGURG, SIG_DFL);
    CHECK_SYS(raise(SIGURG), "SIGURG with default action (ignore)");

    CHECK_ERR(sigaction(SIGKILL, &sb, NULL), EINVAL, "sigaction(SIGKILL)");
    CHECK_ERR(sigaction(SIGSTOP, &sb, NULL), EINVAL, "sigaction(SIGSTOP)");
    CHECK_SYS(sigaction(SIGKILL, NULL, &old), "query SIGKILL is allowed");
    CHECK_ERR(sigaction(0, &sb, NULL), EINVAL, "sigaction(0)");
    CHECK_ERR(sigaction(65, &sb, NULL), EINVAL, "sigaction(65)");
    CHECK_ERR(syscall(SYS_rt_sigaction, SIGUSR1, &sb, NULL, 4), EINVAL,
              "rt_sigaction with a wrong sigsetsize");
    CHECK_ERR(syscall(SYS_rt_sigaction, SIGUSR1, (void *)8, NULL, 8), EFAULT,
              "rt_sigaction with a bad act pointer");
    CHECK_ERR(kill(getpid(), 65), EINVAL, "kill with signal 65");
    CHECK_SYS(kill(getpid(), 0), "kill with signal 0 checks existence");

    /* Realtime signals can be caught like any other. */
    got_sig = 0;
    sigaction(SIGRTMIN + 3, &sa, NULL);
    kill(getpid(), SIGRTMIN + 3);
    CHECK_STR(cf_signame(got_sig), "SIGRTMIN+3", "realtime signal handler ran");
    return cf_done();
}
