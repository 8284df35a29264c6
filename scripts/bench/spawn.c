/* Benchmark program: N times fork + execve(PROGRAM) + wait, timed inside (startup excluded).
 * Built static by `make bench` as build/bench/spawn; scripts/bench.sh runs it natively, under
 * runsc and under fnbox. Usage: spawn N PROGRAM [ARGS...]; prints
 * "us_per_spawn=X total_ms=T spawns=N". Any child that does not exit 0 is an error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
    long n = argc > 2 ? strtol(argv[1], NULL, 10) : 0;

    if (n <= 0) {
        fprintf(stderr, "usage: spawn N PROGRAM [ARGS...]\n");
        return 2;
    }
    double t0 = now_us();
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        int status;

        if (pid < 0) {
            fprintf(stderr, "spawn: fork #%ld: %s\n", i, strerror(errno));
            return 1;
        }
        if (pid == 0) {
            execve(argv[2], argv + 2, environ);
            fprintf(stderr, "spawn: execve %s: %s\n", argv[2], strerror(errno));
            _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0) {
            if (errno != EINTR) {
                fprintf(stderr, "spawn: waitpid: %s\n", strerror(errno));
                return 1;
            }
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "spawn: child #%ld: status 0x%x\n", i, status);
            return 1;
        }
    }
    double t1 = now_us();
    printf("us_per_spawn=%.1f total_ms=%.2f spawns=%ld\n", (t1 - t0) / n, (t1 - t0) / 1e3, n);
    return 0;
}
