/* Conformance: fork + wait4/waitpid — exit codes, WNOHANG, ECHILD, waiting for any child,
 * rusage, reaping order independence. Part of tests/syscalls (native and fnbox must match). */
#include "conform.h"

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    static const int codes[] = {0, 3, 42, 255};
    for (size_t i = 0; i < 4; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
            _exit(codes[i]);
        int st = -1;
        struct rusage ru;
        pid_t w = wait4(pid, &st, 0, &ru);
        CHECK(w == pid, "wait4 returns the child's pid (code %d)", codes[i]);
        CHECK(WIFEXITED(st), "WIFEXITED for _exit(%d)", codes[i]);
        CHECK_EQ(WEXITSTATUS(st), codes[i], "WEXITSTATUS for _exit(%d)", codes[i]);
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(256 + 7); /* only the low 8 bits survive */
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 7", "_exit(263) is seen as");

    /* WNOHANG on a running child returns 0; once it exits it can be reaped. */
    int pfd[2];
    pipe(pfd);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        char c;
        close(pfd[1]);
        read(pfd[0], &c, 1);
        _exit(9);
    }
    close(pfd[0]);
    int st;
    CHECK_EQ(waitpid(pid, &st, WNOHANG), 0, "WNOHANG on a running child returns 0");
    close(pfd[1]);
    CHECK(waitpid(pid, &st, 0) == pid, "waitpid after the child exits");
    CHECK_STR(cf_status_str(st), "exited 9", "status");

    /* Several children, reaped with wait(-1) in any order: the set of codes is what matters. */
    int seen = 0;
    pid_t kids[5];
    for (int i = 0; i < 5; i++) {
        fflush(stdout);
        kids[i] = fork();
        if (kids[i] == 0)
            _exit(10 + i);
    }
    for (int i = 0; i < 5; i++) {
        pid_t w = wait(&st);
        for (int j = 0; j < 5; j++)
            if (w == kids[j] && WIFEXITED(st) && WEXITSTATUS(st) == 10 + j)
                seen |= 1 << j;
    }
    CHECK_EQ(seen, 0x1f, "wait(-1) reaped all 5 children with their codes");
    CHECK_ERR(wait(&st), ECHILD, "wait with no children");
    CHECK_ERR(waitpid(1 << 22, &st, 0), ECHILD, "waitpid for a pid that is not our child");
    CHECK_ERR(waitpid(-1, &st, 0x40000), EINVAL, "waitpid with an unknown option");

    /* A grandchild is not our child. */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        pid_t g = fork();
        if (g == 0)
            _exit(5);
        int s;
        _exit(waitpid(g, &s, 0) == g && WEXITSTATUS(s) == 5 ? 0 : 1);
    }
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "child reaps its own child");

    /* A zombie stays until reaped: wait with WNOHANG in a loop finds it. */
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        _exit(1);
    pid_t got = 0;
    for (int i = 0; i < 2000 && got == 0; i++) {
        got = waitpid(pid, &st, WNOHANG);
        if (got == 0)
            cf_msleep(1);
    }
    CHECK(got == pid, "WNOHANG eventually reaps the exited child");
    CHECK_STR(cf_status_str(st), "exited 1", "zombie's status");

    /* wait4 fills rusage with non-negative times. */
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        _exit(0);
    struct rusage ru;
    memset(&ru, 0xff, sizeof(ru));
    CHECK(wait4(pid, &st, 0, &ru) == pid, "wait4 with rusage");
    CHECK(ru.ru_utime.tv_sec >= 0 && ru.ru_stime.tv_sec >= 0 && ru.ru_utime.tv_usec < 1000000,
          "rusage times are sane");
    return cf_done();
}
