/* Conformance: kill — to self, to a child, to a process group (kill(0), kill(-pgrp)), existence
 * checks with signal 0, zombies, ESRCH/EINVAL. Part of tests/syscalls (native == fnbox). */
#include "conform.h"

static volatile int usr1;
static void handler(int sig)
{
    (void)sig;
    usr1++;
}

/* A member of a group: reports SIGUSR1 receipt through its exit code. */
static int member(void *arg)
{
    int fd = (int)(long)arg;
    volatile int got = 0;
    signal(SIGUSR1, handler);
    write(fd, "r", 1);
    for (int i = 0; i < 5000 && !usr1; i++)
        cf_msleep(1);
    got = usr1;
    return got ? 0 : 1;
}

/* Runs in its own process group: signals the whole group and checks who got it. */
static int group_leader(void *arg)
{
    (void)arg;
    setpgid(0, 0);
    signal(SIGUSR1, handler);
    int pfd[2];
    pipe(pfd);
    pid_t kids[3];
    for (int i = 0; i < 3; i++)
        kids[i] = cf_spawn(member, (void *)(long)pfd[1]);
    char c;
    for (int i = 0; i < 3; i++)
        read(pfd[0], &c, 1);
    if (kill(0, SIGUSR1) != 0)
        return 10;
    int ok = 0;
    for (int i = 0; i < 3; i++) {
        int st = cf_wait(kids[i]);
        ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    if (ok != 3)
        return 11;
    if (!usr1)
        return 12; /* the sender is in the group too */
    /* kill(-pgrp) reaches a member in that group, not us after we move out. */
    pid_t k = cf_spawn(member, (void *)(long)pfd[1]);
    read(pfd[0], &c, 1);
    pid_t grp = getpgrp();
    setpgid(k, k); /* move the member into its own group */
    usr1 = 0;
    if (kill(-k, SIGUSR1) != 0)
        return 13;
    int st = cf_wait(k);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return 14;
    cf_msleep(5);
    if (usr1)
        return 15; /* we were not in the target group */
    if (kill(-grp, 0) != 0)
        return 16;
    return 0;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    signal(SIGUSR1, handler);
    CHECK_SYS(kill(getpid(), SIGUSR1), "kill self");
    CHECK_EQ(usr1, 1, "self signal handled before kill returns");
    CHECK_SYS(kill(getpid(), 0), "kill(self, 0)");

    int pfd[2];
    pipe(pfd);
    usr1 = 0;
    pid_t pid = cf_spawn(member, (void *)(long)pfd[1]);
    char c;
    read(pfd[0], &c, 1);
    CHECK_SYS(kill(pid, SIGUSR1), "kill child with SIGUSR1");
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "child handled SIGUSR1");

    pid = cf_spawn(member, (void *)(long)pfd[1]);
    read(pfd[0], &c, 1);
    CHECK_SYS(kill(pid, SIGTERM), "kill child with SIGTERM");
    CHECK_STR(cf_status_str(cf_wait(pid)), "killed by SIGTERM", "child status");

    /* A zombie can still be signalled (kill succeeds) until it is reaped. */
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        _exit(0);
    siginfo_t si;
    waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT);
    CHECK_SYS(kill(pid, 0), "kill(zombie, 0)");
    CHECK_SYS(kill(pid, SIGKILL), "kill(zombie, SIGKILL)");
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "zombie keeps its exit status");
    CHECK_ERR(kill(pid, 0), ESRCH, "kill of a reaped pid");
    CHECK_ERR(kill(1 << 22, SIGUSR1), ESRCH, "kill of a missing pid");
    CHECK_ERR(kill(-(1 << 22), SIGUSR1), ESRCH, "kill of a missing process group");
    CHECK_ERR(kill(getpid(), -1), EINVAL, "kill with signal -1");
    CHECK_ERR(kill(getpid(), 100), EINVAL, "kill with signal 100");

    CHECK_STR(cf_status_str(cf_run_child(group_leader, NULL)), "exited 0",
              "kill(0) and kill(-pgrp) reach exactly the group");
    return cf_done();
}
