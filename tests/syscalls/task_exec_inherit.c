/* Conformance: what survives execve — plain fds, signal mask, pending signals, ignored signals,
 * cwd, umask, rlimits, alarm — and what does not: O_CLOEXEC fds, handlers, the alt stack.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

static void handler(int sig)
{
    (void)sig;
}

static int role_check(char **argv)
{
    /* Runs after exec: argv[2] = plain fd, argv[3] = cloexec fd, argv[4] = expected cwd. */
    cf_prog = argv[0];
    setvbuf(stdout, NULL, _IOLBF, 0);
    unsigned left = alarm(0);
    CHECK(left > 0 && left <= 9, "child: alarm survives exec");
    alarm(10);
    int plain = atoi(argv[2]), cloexec = atoi(argv[3]);
    char c = 0;
    CHECK(read(plain, &c, 1) == 1 && c == 'p', "child: plain fd is inherited and readable");
    CHECK_ERR(fcntl(cloexec, F_GETFD), EBADF, "child: O_CLOEXEC fd was closed");
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    CHECK(sa.sa_handler == SIG_DFL, "child: caught signal reset to SIG_DFL");
    sigaction(SIGUSR2, NULL, &sa);
    CHECK(sa.sa_handler == SIG_IGN, "child: ignored signal stays ignored");
    sigset_t cur, pend;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    CHECK(sigismember(&cur, SIGTERM) == 1, "child: blocked mask kept");
    sigpending(&pend);
    CHECK(sigismember(&pend, SIGTERM) == 1, "child: pending blocked signal kept");
    char cwd[256];
    CHECK(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, argv[4]) == 0, "child: cwd kept");
    mode_t um = umask(0);
    CHECK_EQ(um, 027, "child: umask kept");
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    CHECK_EQ(rl.rlim_cur, 200, "child: RLIMIT_NOFILE soft limit kept");
    stack_t ss;
    sigaltstack(NULL, &ss);
    CHECK(ss.ss_flags & SS_DISABLE, "child: alternate signal stack reset");
    /* Take the pending SIGTERM so the child does not die of it. */
    int sig = 0;
    sigset_t w;
    sigemptyset(&w);
    sigaddset(&w, SIGTERM);
    CHECK(sigwait(&w, &sig) == 0 && sig == SIGTERM, "child: pending SIGTERM accepted by sigwait");
    return cf_failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc > 4 && strcmp(argv[1], "--role=check") == 0)
        return role_check(argv);
    cf_init(argc, argv);
    const char *dir = cf_tmpdir();
    int pfd[2];
    CHECK_SYS(pipe(pfd), "pipe");
    CHECK_EQ(write(pfd[1], "p", 1), 1, "write a byte for the child");
    int cl = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    CHECK(cl >= 0, "open /etc/passwd O_CLOEXEC");

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(9); /* fork does not inherit alarms; exec keeps them */
        signal(SIGUSR1, handler);
        signal(SIGUSR2, SIG_IGN);
        sigset_t m;
        sigemptyset(&m);
        sigaddset(&m, SIGTERM);
        sigprocmask(SIG_BLOCK, &m, NULL);
        kill(getpid(), SIGTERM);
        chdir(dir);
        umask(027);
        struct rlimit rl = {200, 200};
        setrlimit(RLIMIT_NOFILE, &rl);
        static char altstack[65536];
        stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack), .ss_flags = 0};
        sigaltstack(&ss, NULL);
        char a2[16], a3[16];
        snprintf(a2, sizeof(a2), "%d", pfd[0]);
        snprintf(a3, sizeof(a3), "%d", cl);
        execve("/proc/self/exe", (char *[]){argv[0], "--role=check", a2, a3, (char *)dir, NULL},
               (char *[]){NULL});
        _exit(127);
    }
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "exec'd child's checks");
    return cf_done();
}
