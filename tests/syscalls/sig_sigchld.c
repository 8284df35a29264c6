/* Conformance: SIGCHLD — delivered to the parent with CLD_EXITED/CLD_KILLED/CLD_STOPPED and the
 * child's status; SA_NOCLDSTOP; SIG_IGN and SA_NOCLDWAIT auto-reap (wait gives ECHILD).
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

static volatile int n_chld, last_code, last_status;
static volatile pid_t last_pid;
static void on_chld(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    n_chld++;
    last_code = si->si_code;
    last_status = si->si_status;
    last_pid = si->si_pid;
}

static void wait_for(int n)
{
    for (int i = 0; i < 3000 && n_chld < n; i++)
        cf_msleep(1);
}

/* kill(pid, 0) once the pid has settled. Linux wakes a waiter before an auto-reaped child
 * releases its pid (exit_notify calls release_task after the wake-up), so right after wait
 * says ECHILD the pid may still exist for a moment: poll, bounded at 2 s. */
static int kill_settled(pid_t pid)
{
    for (int i = 0; i < 2000; i++) {
        if (kill(pid, 0) != 0)
            return -1; /* errno set by kill */
        cf_msleep(1);
    }
    return kill(pid, 0);
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(21);
    wait_for(1);
    CHECK_EQ(n_chld, 1, "SIGCHLD delivered when the child exited");
    CHECK(last_code == CLD_EXITED && last_status == 21, "CLD_EXITED with status 21");
    CHECK(last_pid == pid, "si_pid is the child");
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 21", "child still reaped by wait");

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        for (;;)
            pause();
    }
    kill(pid, SIGSTOP);
    wait_for(2);
    CHECK(n_chld == 2 && last_code == CLD_STOPPED && last_status == SIGSTOP,
          "CLD_STOPPED SIGCHLD for a stopped child");
    kill(pid, SIGCONT);
    wait_for(3);
    CHECK(n_chld == 3 && last_code == CLD_CONTINUED, "CLD_CONTINUED SIGCHLD");
    kill(pid, SIGKILL);
    wait_for(4);
    CHECK(n_chld == 4 && last_code == CLD_KILLED && last_status == SIGKILL,
          "CLD_KILLED SIGCHLD with SIGKILL");
    cf_wait(pid);

    sa.sa_flags |= SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    n_chld = 0;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        for (;;)
            pause();
    }
    kill(pid, SIGSTOP);
    int st;
    waitpid(pid, &st, WUNTRACED);
    cf_msleep(10);
    CHECK_EQ(n_chld, 0, "SA_NOCLDSTOP: no SIGCHLD for a stop");
    kill(pid, SIGKILL);
    wait_for(1);
    CHECK_EQ(n_chld, 1, "SA_NOCLDSTOP still reports the death");
    cf_wait(pid);

    /* SA_NOCLDWAIT: children are reaped automatically but SIGCHLD still comes. */
    sa.sa_flags = SA_SIGINFO | SA_NOCLDWAIT;
    sigaction(SIGCHLD, &sa, NULL);
    n_chld = 0;
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        _exit(0);
    wait_for(1);
    CHECK_EQ(n_chld, 1, "SA_NOCLDWAIT: SIGCHLD still delivered");
    CHECK_ERR(waitpid(pid, &st, 0), ECHILD, "SA_NOCLDWAIT child was auto-reaped");

    /* SIG_IGN: auto-reap; wait blocks until the child is gone, then ECHILD. */
    signal(SIGCHLD, SIG_IGN);
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        _exit(3);
    CHECK_ERR(waitpid(pid, &st, 0), ECHILD, "SIGCHLD ignored: wait gives ECHILD");
    CHECK_ERR(kill_settled(pid), ESRCH, "the child is gone entirely");

    /* SIG_DFL: SIGCHLD is ignored but children become zombies. */
    signal(SIGCHLD, SIG_DFL);
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        _exit(4);
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 4", "SIG_DFL: child waitable, parent alive");
    return cf_done();
}
