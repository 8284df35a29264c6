/* Conformance: waitid — P_PID/P_PGID/P_ALL, WEXITED/WSTOPPED/WCONTINUED/WNOHANG/WNOWAIT and the
 * siginfo it fills. Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

static const char *cld_code(int c)
{
    switch (c) {
    case CLD_EXITED:
        return "CLD_EXITED";
    case CLD_KILLED:
        return "CLD_KILLED";
    case CLD_DUMPED:
        return "CLD_DUMPED";
    case CLD_STOPPED:
        return "CLD_STOPPED";
    case CLD_CONTINUED:
        return "CLD_CONTINUED";
    default:
        return "other";
    }
}

static pid_t child_exit(int code)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(code);
    return pid;
}

static pid_t child_pause(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        for (;;)
            pause();
    }
    return pid;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    siginfo_t si;
    pid_t pid = child_exit(3);
    memset(&si, 0, sizeof(si));
    CHECK_SYS(waitid(P_PID, (id_t)pid, &si, WEXITED), "waitid P_PID WEXITED");
    CHECK_STR(cf_signame(si.si_signo), "SIGCHLD", "si_signo");
    CHECK_STR(cld_code(si.si_code), "CLD_EXITED", "si_code");
    CHECK_EQ(si.si_status, 3, "si_status is the exit code");
    CHECK(si.si_pid == pid, "si_pid is the child");
    CHECK(si.si_uid == getuid(), "si_uid is our uid");

    pid = child_pause();
    memset(&si, 0xff, sizeof(si));
    CHECK_SYS(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG), "WNOHANG on a running child");
    CHECK_EQ(si.si_pid, 0, "si_pid is 0 when nothing is ready");
    CHECK_SYS(kill(pid, SIGSTOP), "SIGSTOP the child");
    CHECK_SYS(waitid(P_PID, (id_t)pid, &si, WSTOPPED), "waitid WSTOPPED");
    CHECK_STR(cld_code(si.si_code), "CLD_STOPPED", "stopped si_code");
    CHECK_STR(cf_signame(si.si_status), "SIGSTOP", "stopped si_status");
    CHECK_SYS(kill(pid, SIGCONT), "SIGCONT the child");
    CHECK_SYS(waitid(P_PID, (id_t)pid, &si, WCONTINUED), "waitid WCONTINUED");
    CHECK_STR(cld_code(si.si_code), "CLD_CONTINUED", "continued si_code");
    CHECK_STR(cf_signame(si.si_status), "SIGCONT", "continued si_status");
    CHECK_SYS(kill(pid, SIGKILL), "SIGKILL the child");
    CHECK_SYS(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), "waitid WNOWAIT");
    CHECK_STR(cld_code(si.si_code), "CLD_KILLED", "killed si_code");
    CHECK_STR(cf_signame(si.si_status), "SIGKILL", "killed si_status");
    memset(&si, 0, sizeof(si));
    CHECK_SYS(waitid(P_PID, (id_t)pid, &si, WEXITED), "waitid again after WNOWAIT");
    CHECK(si.si_pid == pid && si.si_code == CLD_KILLED, "child was still waitable");
    CHECK_ERR(waitid(P_PID, (id_t)pid, &si, WEXITED), ECHILD, "waitid on a reaped child");

    pid = child_exit(8);
    memset(&si, 0, sizeof(si));
    CHECK_SYS(waitid(P_ALL, 0, &si, WEXITED), "waitid P_ALL");
    CHECK(si.si_pid == pid && si.si_status == 8, "P_ALL found the child with status 8");

    /* P_PGID: the child moves to its own group. */
    int up[2], down[2];
    pipe(up);
    pipe(down);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        char c = 'r';
        write(up[1], &c, 1);
        read(down[0], &c, 1); /* wait until the parent has looked at our group */
        _exit(6);
    }
    char c;
    read(up[0], &c, 1);
    CHECK_EQ(getpgid(pid), pid, "child is its own group leader");
    write(down[1], "g", 1);
    memset(&si, 0, sizeof(si));
    CHECK_SYS(waitid(P_PGID, (id_t)pid, &si, WEXITED), "waitid P_PGID");
    CHECK(si.si_pid == pid && si.si_status == 6, "P_PGID found the child with status 6");
    close(up[0]), close(up[1]), close(down[0]), close(down[1]);

    CHECK_ERR(waitid(P_ALL, 0, &si, WEXITED), ECHILD, "waitid P_ALL with no children");
    CHECK_ERR(waitid(P_ALL, 0, &si, WNOHANG), EINVAL, "waitid without a state option");
    CHECK_ERR(waitid((idtype_t)42, 0, &si, WEXITED), EINVAL, "waitid with a bad idtype");
    pid = child_exit(0);
    CHECK_ERR(syscall(SYS_waitid, P_PID, pid, (siginfo_t *)8, WEXITED, NULL), EFAULT,
              "waitid with a bad siginfo pointer");
    cf_wait(pid);
    return cf_done();
}
