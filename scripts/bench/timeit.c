/* Benchmark helper: run one or more commands RUNS times each, interleaved, and print the
 * min/median/max wall time of each. Built static by `make bench` as build/bench/timeit and
 * used by scripts/bench.sh instead of bash loops, so that no shell overhead is timed.
 *
 * Usage: timeit [-n RUNS] [-w WARMUP] [-t TIMEOUT_S] [-p PAUSE_MS] [-o OUTPREFIX]
 *               [-e ERRPREFIX] ::: CMD ARGS... [::: CMD ARGS...]...
 * Round i runs command 0, 1, ... in turn, so slow drift of a noisy machine hits all commands
 * alike. PAUSE_MS (default 0) is slept before every run, untimed, so that the asynchronous
 * teardown of the previous command (runsc's exiting sandbox, cgroup removal) does not land in
 * the next command's time. Each run: stdin /dev/null; stdout appended to OUTPREFIX.K (else
 * /dev/null); stderr to ERRPREFIX.K, truncated per run so that it holds the last run's (else
 * inherited). A run that exits non-zero, dies of a signal or exceeds TIMEOUT_S (its process group
 * is killed) stops that command; the others go on. One line per command on stdout: K status=ok
 * runs=N min_ms=X median_ms=X max_ms=X all_ms=X,X,... K status=failed reason=exit_1 run=R
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CMDS 8
#define MAX_RUNS 1000

struct cmd {
    char **argv;
    double ms[MAX_RUNS];
    int runs;
    char reason[64]; /* empty while the command still succeeds */
    int failed_run;
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int redirect(int fd, const char *prefix, int k, const char *suffix, int flags)
{
    char path[4096];
    int f;

    if (!prefix)
        return 0;
    snprintf(path, sizeof(path), "%s.%d%s", prefix, k, suffix);
    f = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
    if (f < 0 || dup2(f, fd) < 0)
        return -1;
    close(f);
    return 0;
}

/* Run argv once; return its wall time in ms, or -1 with *reason set. */
static double run_once(char **argv, int k, int warmup, const char *outp, const char *errp,
                       double timeout_s, const sigset_t *oldmask, char *reason, size_t rlen)
{
    sigset_t chld;
    int status;
    pid_t pid;

    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    double t0 = now_ms();
    pid = fork();
    if (pid < 0) {
        snprintf(reason, rlen, "fork_%s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);

        setpgid(0, 0);
        sigprocmask(SIG_SETMASK, oldmask, NULL);
        if (null < 0 || dup2(null, 0) < 0)
            _exit(125);
        if (outp ? redirect(1, outp, k, warmup ? ".warmup" : "", O_APPEND) : dup2(null, 1) < 0)
            _exit(125);
        if (redirect(2, errp, k, "", O_TRUNC) < 0)
            _exit(125);
        execvp(argv[0], argv);
        fprintf(stderr, "timeit: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);

    struct timespec left;
    double deadline = t0 + timeout_s * 1e3;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);

        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            snprintf(reason, rlen, "waitpid_%s", strerror(errno));
            return -1;
        }
        double rem = deadline - now_ms();
        if (rem <= 0) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            snprintf(reason, rlen, "timeout_%gs", timeout_s);
            return -1;
        }
        left.tv_sec = (time_t)(rem / 1e3);
        left.tv_nsec = (long)((rem - left.tv_sec * 1e3) * 1e6);
        sigtimedwait(&chld, NULL, &left);
    }
    double t1 = now_ms();

    if (WIFSIGNALED(status)) {
        snprintf(reason, rlen, "signal_%d", WTERMSIG(status));
        return -1;
    }
    if (WEXITSTATUS(status) != 0) {
        snprintf(reason, rlen, "exit_%d", WEXITSTATUS(status));
        return -1;
    }
    return t1 - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int runs = 11, warmup = 1, ncmds = 0, opt;
    double timeout_s = 60, pause_ms = 0;
    const char *outp = NULL, *errp = NULL;
    static struct cmd cmds[MAX_CMDS];
    sigset_t chld, oldmask;

    while ((opt = getopt(argc, argv, "+n:w:t:p:o:e:")) != -1) {
        switch (opt) {
        case 'n':
            runs = atoi(optarg);
            break;
        case 'w':
            warmup = atoi(optarg);
            break;
        case 't':
            timeout_s = atof(optarg);
            break;
        case 'p':
            pause_ms = atof(optarg);
            break;
        case 'o':
            outp = optarg;
            break;
        case 'e':
            errp = optarg;
            break;
        default:
            goto usage;
        }
    }
    if (runs < 1 || runs > MAX_RUNS || warmup < 0 || timeout_s <= 0 || pause_ms < 0)
        goto usage;
    /* Split the rest at each ":::" into commands; the separators become argv terminators. */
    for (int i = optind; i < argc; i++) {
        if (strcmp(argv[i], ":::") == 0) {
            argv[i] = NULL;
            if (ncmds == MAX_CMDS)
                goto usage;
            if (i + 1 < argc && strcmp(argv[i + 1], ":::") != 0)
                cmds[ncmds++].argv = &argv[i + 1];
            else
                goto usage;
        } else if (ncmds == 0) {
            goto usage;
        }
    }
    if (ncmds == 0)
        goto usage;

    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &oldmask);

    for (int round = -warmup; round < runs; round++) {
        for (int k = 0; k < ncmds; k++) {
            struct cmd *c = &cmds[k];

            if (c->reason[0])
                continue;
            if (pause_ms > 0) {
                struct timespec p = {(time_t)(pause_ms / 1e3),
                                     (long)((pause_ms - (time_t)(pause_ms / 1e3) * 1e3) * 1e6)};
                while (nanosleep(&p, &p) < 0 && errno == EINTR)
                    ;
            }
            double ms = run_once(c->argv, k, round < 0, outp, errp, timeout_s, &oldmask, c->reason,
                                 sizeof(c->reason));
            if (ms < 0)
                c->failed_run = round;
            else if (round >= 0)
                c->ms[c->runs++] = ms;
        }
    }

    for (int k = 0; k < ncmds; k++) {
        struct cmd *c = &cmds[k];

        if (c->reason[0]) {
            printf("%d status=failed reason=%s run=%d\n", k, c->reason, c->failed_run);
            continue;
        }
        printf("%d status=ok runs=%d all_ms=", k, c->runs);
        for (int i = 0; i < c->runs; i++)
            printf("%s%.3f", i ? "," : "", c->ms[i]);
        qsort(c->ms, c->runs, sizeof(double), cmp_double);
        double med =
            c->runs % 2 ? c->ms[c->runs / 2] : (c->ms[c->runs / 2 - 1] + c->ms[c->runs / 2]) / 2;
        printf(" min_ms=%.3f median_ms=%.3f max_ms=%.3f\n", c->ms[0], med, c->ms[c->runs - 1]);
    }
    return 0;

usage:
    fprintf(stderr, "usage: timeit [-n RUNS] [-w WARMUP] [-t TIMEOUT_S] [-p PAUSE_MS] "
                    "[-o OUTPREFIX] [-e ERRPREFIX] ::: CMD ARGS... [::: CMD ARGS...]...\n");
    return 2;
}
