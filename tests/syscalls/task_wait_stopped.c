/* Conformance: wait4 statuses of stopped, continued and killed children (WUNTRACED, WCONTINUED),
 * and fatal signals to a stopped child. Part of tests/syscalls (native and fnbox must match). */
#include "conform.h"

/* The child gets its own process group: a group whose members all have their parent inside it
 * (or in another session) is orphaned, and Linux discards SIGTSTP sent to orphaned groups. Our own
 * group may be orphaned (we may be a session leader in the sandbox), the child's never is. */
static pid_t child_pause(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        for (;;)
            pause();
    }
    setpgid(pid, pid);
    return pid;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    int st;
    pid_t pid = child_pause();
    CHECK_SYS(kill(pid, SIGSTOP), "SIGSTOP");
    CHECK(wait4(pid, &st, WUNTRACED, NULL) == pid, "wait4 WUNTRACED returns");
    CHECK_STR(cf_status_str(st), "stopped by SIGSTOP", "status");
    CHECK(WIFSTOPPED(st) && !WIFEXITED(st) && !WIFSIGNALED(st), "only WIFSTOPPED holds");
    CHECK_EQ(wait4(pid, &st, WUNTRACED | WNOHANG, NULL), 0, "a stop is reported only once");
    CHECK_SYS(kill(pid, SIGCONT), "SIGCONT");
    CHECK(wait4(pid, &st, WCONTINUED, NULL) == pid, "wait4 WCONTINUED returns");
    CHECK_STR(cf_status_str(st), "continued", "status");
    CHECK(WIFCONTINUED(st) && st == 0xffff, "WIFCONTINUED and status 0xffff");

    CHECK_SYS(kill(pid, SIGTSTP), "SIGTSTP");
    CHECK(wait4(pid, &st, WUNTRACED, NULL) == pid, "wait4 after SIGTSTP");
    CHECK_STR(cf_status_str(st), "stopped by SIGTSTP", "status");
    CHECK_SYS(kill(pid, SIGKILL), "SIGKILL the stopped child");
    CHECK(wait4(pid, &st, 0, NULL) == pid, "wait4 after SIGKILL");
    CHECK_STR(cf_status_str(st), "killed by SIGKILL", "status");

    /* A signal other than SIGKILL stays pending while the child is stopped; SIGCONT lets it act. */
    pid = child_pause();
    kill(pid, SIGSTOP);
    wait4(pid, &st, WUNTRACED, NULL);
    CHECK_SYS(kill(pid, SIGTERM), "SIGTERM to the stopped child");
    cf_msleep(20);
    CHECK_EQ(wait4(pid, &st, WNOHANG, NULL), 0, "stopped child is not killed by SIGTERM yet");
    CHECK_SYS(kill(pid, SIGCONT), "SIGCONT");
    CHECK(wait4(pid, &st, 0, NULL) == pid, "wait4 after SIGCONT");
    CHECK_STR(cf_status_str(st), "killed by SIGTERM", "pending SIGTERM acts once continued");

    /* Without WUNTRACED a stop is not reported: WNOHANG sees nothing. */
    pid = child_pause();
    kill(pid, SIGSTOP);
    cf_msleep(20);
    CHECK_EQ(wait4(pid, &st, WNOHANG, NULL), 0, "stop not reported without WUNTRACED");
    CHECK(wait4(pid, &st, WUNTRACED, NULL) == pid, "but is with WUNTRACED");
    CHECK_STR(cf_status_str(st), "stopped by SIGSTOP", "status");
    kill(pid, SIGCONT);
    kill(pid, SIGUSR1);
    CHECK(wait4(pid, &st, 0, NULL) == pid, "wait4 (continue not asked for)");
    CHECK_STR(cf_status_str(st), "killed by SIGUSR1", "status after SIGCONT then SIGUSR1");

    /* A child that stops itself. */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        raise(SIGSTOP);
        _exit(33);
    }
    CHECK(waitpid(pid, &st, WUNTRACED) == pid, "waitpid for the self-stopped child");
    CHECK_STR(cf_status_str(st), "stopped by SIGSTOP", "status");
    kill(pid, SIGCONT);
    CHECK(waitpid(pid, &st, 0) == pid, "waitpid after SIGCONT");
    CHECK_STR(cf_status_str(st), "exited 33", "child ran on after SIGCONT");
    return cf_done();
}
