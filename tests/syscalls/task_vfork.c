/* Conformance: vfork — the child borrows the parent's memory and the parent waits until the child
 * exits or execs. Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

static volatile int shared_var;

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    shared_var = 1;
    fflush(stdout);
    pid_t pid = vfork();
    if (pid == 0) {
        shared_var = 2; /* visible to the parent: same memory */
        _exit(4);
    }
    CHECK(pid > 0, "vfork returns the child pid in the parent");
    CHECK_EQ(shared_var, 2, "parent sees the child's write (memory is shared)");
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 4", "vfork child status");

    /* The parent resumes only once the child has exec'd: the exec'd program runs independently. */
    int pfd[2];
    CHECK_SYS(pipe(pfd), "pipe");
    shared_var = 10;
    fflush(stdout);
    pid = vfork();
    if (pid == 0) {
        shared_var = 11;
        dup2(pfd[1], 1);
        char *args[] = {"/bin/sh", "-c", "echo exec-from-vfork", NULL};
        execve("/bin/sh", args, (char *[]){"PATH=/usr/bin:/bin", NULL});
        _exit(127);
    }
    close(pfd[1]);
    CHECK_EQ(shared_var, 11, "parent resumed after the child exec'd");
    char buf[64] = {0};
    CHECK(cf_read_full(pfd[0], buf, sizeof(buf) - 1) > 0, "read the exec'd program's output");
    CHECK_STR(buf, "exec-from-vfork\n", "exec'd shell output");
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "exec'd shell status");
    close(pfd[0]);

    /* A failed exec in the vfork child: the child exits with 127 and the parent sees it. */
    fflush(stdout);
    pid = vfork();
    if (pid == 0) {
        execve("/nonexistent/prog", (char *[]){"x", NULL}, (char *[]){NULL});
        shared_var = errno;
        _exit(127);
    }
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 127", "vfork child after failed exec");
    CHECK_STR(cf_errname(shared_var), "ENOENT", "errno from the child's failed exec");

    /* vfork several times in a row. */
    volatile int sum = 0;
    for (volatile int i = 1; i <= 5; i++) {
        pid = vfork();
        if (pid == 0)
            _exit(i);
        int st = cf_wait(pid);
        sum += WEXITSTATUS(st);
    }
    CHECK_EQ(sum, 15, "five vforks, exit codes sum");
    return cf_done();
}
