/* Conformance: default signal actions on a child — terminate (SIGTERM, SIGKILL, SIGUSR1, SIGALRM,
 * SIGPIPE), core (SIGSEGV, SIGABRT, SIGQUIT: no core flag with RLIMIT_CORE 0), ignore (SIGCHLD,
 * SIGURG, SIGWINCH). Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

static int pfd[2];

/* Child: tell the parent we're ready, then wait. */
static int waiter(void *arg)
{
    (void)arg;
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
    write(pfd[1], "r", 1);
    for (int i = 0; i < 500; i++)
        cf_msleep(10);
    return 99;
}

static int self_signal(void *arg)
{
    int sig = (int)(long)arg;
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
    signal(sig, SIG_DFL);
    raise(sig);
    return 50; /* the signal was ignored */
}

static int null_deref(void *arg)
{
    (void)arg;
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
    return *(volatile int *)arg;
}

static const char *send_to_waiter(int sig)
{
    pid_t pid = cf_spawn(waiter, NULL);
    char c;
    read(pfd[0], &c, 1);
    kill(pid, sig);
    if (sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT) {
        cf_msleep(10);
        kill(pid, SIGKILL);
    }
    return cf_status_str(cf_wait(pid));
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    pipe(pfd);
    static const int term[] = {SIGTERM, SIGKILL, SIGUSR1, SIGUSR2,
                               SIGHUP,  SIGINT,  SIGALRM, SIGPIPE};
    for (size_t i = 0; i < sizeof(term) / sizeof(term[0]); i++) {
        char want[48];
        snprintf(want, sizeof(want), "killed by %s", cf_signame(term[i]));
        CHECK_STR(send_to_waiter(term[i]), want, "child sent %s", cf_signame(term[i]));
    }
    static const int ign[] = {SIGCHLD, SIGURG, SIGWINCH, SIGCONT};
    for (size_t i = 0; i < sizeof(ign) / sizeof(ign[0]); i++)
        CHECK_STR(send_to_waiter(ign[i]), "killed by SIGKILL",
                  "child ignores %s by default (SIGKILL needed)", cf_signame(ign[i]));

    static const int core[] = {SIGSEGV, SIGABRT, SIGQUIT, SIGFPE, SIGILL, SIGBUS, SIGTRAP, SIGSYS};
    for (size_t i = 0; i < sizeof(core) / sizeof(core[0]); i++) {
        char want[48];
        snprintf(want, sizeof(want), "killed by %s", cf_signame(core[i]));
        CHECK_STR(cf_status_str(cf_run_child(self_signal, (void *)(long)core[i])), want,
                  "child raises %s (RLIMIT_CORE 0: no core flag)", cf_signame(core[i]));
    }
    int st = cf_run_child(null_deref, NULL);
    CHECK_STR(cf_status_str(st), "killed by SIGSEGV", "null dereference in a child");
    CHECK(WIFSIGNALED(st) && !WCOREDUMP(st), "WCOREDUMP clear with RLIMIT_CORE 0");
    CHECK_STR(cf_status_str(cf_run_child(self_signal, (void *)(long)SIGCHLD)), "exited 50",
              "child raising SIGCHLD survives");
    CHECK_STR(cf_status_str(cf_run_child(self_signal, (void *)(long)SIGWINCH)), "exited 50",
              "child raising SIGWINCH survives");
    return cf_done();
}
