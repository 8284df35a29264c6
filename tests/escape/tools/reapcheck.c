/* Host-side helper of tests/escape/run.sh and the fuzz runs: run a command as a child subreaper
 * and report every host process it leaves behind (a Sentry, stub or Gofer that outlived the
 * sandbox would be reparented here instead of to init). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * Usage: reapcheck CMD [ARGS...]
 * Exit status: the command's (128+N if signal N killed it), or 99 if any process was left
 * behind after a grace period of one second; those are named on stderr and killed.
 */

/* Children of this process (live or zombie), from /proc/self/task/<tid>/children. */
static int list_children(pid_t *out, int max)
{
    char path[64], buf[4096];
    FILE *f;
    int n = 0;
    snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
    f = fopen(path, "r");
    if (!f)
        return 0;
    if (fgets(buf, sizeof(buf), f)) {
        char *s = buf, *end;
        for (;;) {
            long v = strtol(s, &end, 10);
            if (end == s || n >= max)
                break;
            out[n++] = (pid_t)v;
            s = end;
        }
    }
    fclose(f);
    return n;
}

static void comm_of(pid_t p, char *buf, size_t size)
{
    char path[64];
    FILE *f;
    snprintf(path, sizeof(path), "/proc/%d/comm", (int)p);
    buf[0] = 0;
    f = fopen(path, "r");
    if (f) {
        if (fgets(buf, (int)size, f))
            buf[strcspn(buf, "\n")] = 0;
        fclose(f);
    }
}

int main(int argc, char **argv)
{
    pid_t child, kids[256];
    int st = 0, rc, n, i, tries;

    if (argc < 2) {
        fprintf(stderr, "usage: reapcheck CMD [ARGS...]\n");
        return 2;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        perror("reapcheck: PR_SET_CHILD_SUBREAPER");
        return 2;
    }
    child = fork();
    if (child == 0) {
        execvp(argv[1], argv + 1);
        perror(argv[1]);
        _exit(127);
    }
    while (waitpid(child, &st, 0) < 0 && errno == EINTR)
        ;
    rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    /* Orphans that have already exited are reaped here; live ones get a second to go. */
    for (tries = 0; tries < 100; tries++) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        if (list_children(kids, 256) == 0)
            return rc;
        usleep(10000);
    }
    n = list_children(kids, 256);
    fprintf(stderr, "reapcheck: %d host process(es) left behind:", n);
    for (i = 0; i < n; i++) {
        char comm[32];
        comm_of(kids[i], comm, sizeof(comm));
        fprintf(stderr, " %d(%s)", (int)kids[i], comm);
        kill(kids[i], SIGKILL);
    }
    fputc('\n', stderr);
    while (waitpid(-1, NULL, 0) > 0)
        ;
    return 99;
}
