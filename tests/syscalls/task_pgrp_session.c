/* Conformance: process groups and sessions — setpgid, getpgid, getpgrp, setsid, getsid and their
 * EPERM/ESRCH/EACCES/EINVAL cases. Part of tests/syscalls (native and fnbox must match). */
#include "conform.h"

/* All of this runs in a child, so the program's own group and session never matter. */
static int in_child(void *arg)
{
    (void)arg;
    pid_t me = getpid();
    CHECK(getpgrp() == getpgid(0), "getpgrp == getpgid(0)");
    CHECK(getpgid(0) != me, "a fresh child is not a group leader");
    CHECK(getsid(0) == getsid(me), "getsid(0) == getsid(self)");
    CHECK_SYS(setpgid(0, 0), "setpgid(0, 0)");
    CHECK_EQ(getpgid(0), me, "now a group leader");
    CHECK_ERR(setpgid(0, -1), EINVAL, "setpgid with a negative pgid");
    CHECK_ERR(getpgid(1 << 22), ESRCH, "getpgid of a missing pid");
    CHECK_ERR(getsid(1 << 22), ESRCH, "getsid of a missing pid");
    CHECK_ERR(setpgid(1 << 22, 0), ESRCH, "setpgid of a missing pid");

    /* A grandchild joins and leaves groups; we move it while it waits. */
    int to_g[2], from_g[2];
    pipe(to_g);
    pipe(from_g);
    fflush(stdout);
    pid_t g = fork();
    if (g == 0) {
        char c;
        read(to_g[0], &c, 1);
        pid_t res[2] = {getpgid(0), 0};
        res[1] = setsid();
        pid_t after[2] = {getsid(0), getpgid(0)};
        int again = setsid() == -1 && errno == EPERM;
        pid_t r[5] = {res[0], res[1], after[0], after[1], again};
        write(from_g[1], r, sizeof(r));
        _exit(0);
    }
    CHECK_EQ(getpgid(g), me, "grandchild starts in our group");
    CHECK_SYS(setpgid(g, g), "setpgid(grandchild, grandchild)");
    CHECK_EQ(getpgid(g), g, "grandchild leads its own group");
    CHECK_SYS(setpgid(g, me), "move the grandchild back into our group");
    CHECK_EQ(getpgid(g), me, "grandchild back in our group");
    CHECK_ERR(setpgid(g, 1 << 22), EPERM, "setpgid to a group that does not exist");
    write(to_g[1], "1", 1);
    pid_t r[5];
    CHECK_EQ(read(from_g[0], r, sizeof(r)), sizeof(r), "grandchild reported setsid results");
    CHECK(r[0] == me, "grandchild saw our group before setsid");
    CHECK(r[1] == g, "setsid returns the new session id (its pid)");
    CHECK(r[2] == g && r[3] == g, "after setsid: getsid == getpgid == pid");
    CHECK_EQ(r[4], 1, "second setsid: EPERM");
    CHECK(getsid(g) == g, "getsid(grandchild) seen from outside");
    CHECK_ERR(setpgid(g, me), EPERM, "setpgid of a child in another session");
    CHECK_STR(cf_status_str(cf_wait(g)), "exited 0", "grandchild status");

    /* A child that has exec'd can no longer be moved by its parent. */
    fflush(stdout);
    pid_t g2 = fork();
    if (g2 == 0) {
        char *args[] = {"/bin/sh", "-c", "echo x; read y", NULL};
        dup2(to_g[0], 0);
        dup2(from_g[1], 1);
        execve("/bin/sh", args, (char *[]){NULL});
        _exit(127);
    }
    char line[8] = {0};
    read(from_g[0], line, 2); /* the shell is running: the child has exec'd */
    CHECK_STR(line, "x\n", "second grandchild exec'd a shell");
    CHECK_ERR(setpgid(g2, g2), EACCES, "setpgid of a child after it exec'd");
    write(to_g[1], "\n", 1);
    CHECK_STR(cf_status_str(cf_wait(g2)), "exited 0", "grandchild shell status");

    CHECK_ERR(setsid(), EPERM, "setsid as a group leader");
    return cf_failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    CHECK(getpgrp() > 0, "getpgrp > 0");
    CHECK(getsid(0) >= 0, "getsid(0) >= 0");
    int st = cf_run_child(in_child, NULL);
    CHECK_STR(cf_status_str(st), "exited 0", "child's checks");
    return cf_done();
}
