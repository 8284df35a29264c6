/* Benchmark helper: the time from starting a command until its standard output holds an
 * answer, which is what "restore -> response" means. The command's stdin is INPUT (then end of
 * file); the clock stops when PATTERN has appeared on its stdout, before the command's exit, so
 * neither the sandbox's teardown nor any shell or `date` process is in the figure. The rest of
 * its output is still read and printed, and its exit is waited for (untimed).
 *
 * Usage: answer_ms [-i INPUT] [-t TIMEOUT_S] PATTERN CMD ARGS...
 * Prints the command's stdout, then "response_ms=X". Exit status 0, or 1 if the command failed
 * or PATTERN never appeared (within TIMEOUT_S, default 30: then the command is killed).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OUT_MAX (1 << 20)

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    const char *input = "", *pattern;
    double t0, t1 = -1, timeout_s = 30;
    static char out[OUT_MAX + 1];
    size_t len = 0;
    int in[2], op[2], c, st = 0;
    pid_t pid;

    while ((c = getopt(argc, argv, "+i:t:")) != -1) {
        if (c == 'i')
            input = optarg;
        else if (c == 't')
            timeout_s = atof(optarg);
        else
            return fprintf(stderr, "usage: answer_ms [-i INPUT] [-t TIMEOUT_S] PATTERN CMD...\n"), 2;
    }
    if (argc - optind < 2)
        return fprintf(stderr, "usage: answer_ms [-i INPUT] [-t TIMEOUT_S] PATTERN CMD...\n"), 2;
    pattern = argv[optind];
    if (pipe(in) != 0 || pipe(op) != 0)
        return perror("pipe"), 1;
    signal(SIGPIPE, SIG_IGN);
    t0 = now_ms();
    pid = fork();
    if (pid < 0)
        return perror("fork"), 1;
    if (pid == 0) {
        setpgid(0, 0);
        dup2(in[0], 0);
        dup2(op[1], 1);
        close(in[0]);
        close(in[1]);
        close(op[0]);
        close(op[1]);
        execvp(argv[optind + 1], &argv[optind + 1]);
        _exit(127);
    }
    close(in[0]);
    close(op[1]);
    if (write(in[1], input, strlen(input)) != (ssize_t)strlen(input) && errno != EPIPE)
        perror("writing the input");
    close(in[1]);
    for (;;) {
        struct pollfd p = {op[0], POLLIN, 0};
        double left = t0 + timeout_s * 1e3 - now_ms();
        ssize_t n;
        if (left <= 0) {
            fprintf(stderr, "answer_ms: no answer in %.0f s: killed\n", timeout_s);
            kill(-pid, SIGKILL);
            break;
        }
        if (poll(&p, 1, (int)left + 1) < 0 && errno != EINTR)
            break;
        n = read(op[0], out + len, OUT_MAX - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* end of file (or the buffer is full: the answer must be in it by then) */
        len += (size_t)n;
        out[len] = 0;
        if (t1 < 0 && strstr(out, pattern))
            t1 = now_ms();
    }
    close(op[0]);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    fwrite(out, 1, len, stdout);
    if (t1 < 0) {
        fprintf(stderr, "answer_ms: the output never held \"%s\"\n", pattern);
        return 1;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "answer_ms: the command failed (status %#x)\n", st);
        return 1;
    }
    printf("response_ms=%.2f\n", t1 - t0);
    return 0;
}
