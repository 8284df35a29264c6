/* Conformance: clone() sharing flags without threads — CLONE_VM, CLONE_FILES, CLONE_FS,
 * CLONE_SIGHAND, CLONE_VFORK, a non-SIGCHLD exit signal, invalid combinations, and clone3.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"
#include <linux/sched.h>

static volatile int shared_value;
static int fd_to_close;
static char *new_dir;

/* Children below share our thread pointer when CLONE_VM is set: they use raw syscalls only. */
static int set_value(void *arg)
{
    shared_value = (int)(long)arg;
    return 0;
}
static int close_fd(void *arg)
{
    (void)arg;
    syscall(SYS_close, fd_to_close);
    return 0;
}
static int change_dir(void *arg)
{
    (void)arg;
    syscall(SYS_chdir, new_dir);
    syscall(SYS_umask, 077);
    return 0;
}
static void usr2_handler(int s)
{
    (void)s;
}
static int set_handler(void *arg)
{
    (void)arg;
    struct sigaction sa = {0};
    sa.sa_handler = usr2_handler;
    return sigaction(SIGUSR2, &sa, NULL) == 0 ? 0 : 1;
}
static volatile int usr1_count;
static void usr1_handler(int s)
{
    (void)s;
    usr1_count++;
}

static pid_t do_clone(int (*fn)(void *), int flags, void *arg)
{
    static char stacks[4][64 * 1024] __attribute__((aligned(16)));
    static int n;
    char *stack = stacks[n++ % 4] + sizeof(stacks[0]);
    fflush(stdout);
    return clone(fn, stack, flags, arg);
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    shared_value = 0;
    pid_t pid = do_clone(set_value, CLONE_VM | SIGCHLD, (void *)5);
    CHECK(pid > 0, "clone CLONE_VM");
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "CLONE_VM child status");
    CHECK_EQ(shared_value, 5, "CLONE_VM child's write is visible");
    pid = do_clone(set_value, SIGCHLD, (void *)9);
    cf_wait(pid);
    CHECK_EQ(shared_value, 5, "child without CLONE_VM writes its own copy");

    fd_to_close = open("/etc/passwd", O_RDONLY);
    pid = do_clone(close_fd, SIGCHLD, NULL);
    cf_wait(pid);
    CHECK_SYS(fcntl(fd_to_close, F_GETFD), "fd still open after a non-CLONE_FILES child closed it");
    pid = do_clone(close_fd, CLONE_VM | CLONE_FILES | SIGCHLD, NULL);
    cf_wait(pid);
    CHECK_ERR(fcntl(fd_to_close, F_GETFD), EBADF, "CLONE_FILES child's close closed our fd");

    char before[256], after[256];
    getcwd(before, sizeof(before));
    new_dir = (char *)cf_tmpdir();
    mode_t old_umask = umask(022);
    pid = do_clone(change_dir, CLONE_VM | SIGCHLD, NULL);
    cf_wait(pid);
    getcwd(after, sizeof(after));
    CHECK(strcmp(before, after) == 0, "chdir in a child without CLONE_FS leaves our cwd");
    pid = do_clone(change_dir, CLONE_VM | CLONE_FS | SIGCHLD, NULL);
    cf_wait(pid);
    getcwd(after, sizeof(after));
    CHECK_SAME(after, new_dir, "CLONE_FS child's chdir moved our cwd");
    CHECK_EQ(umask(old_umask), 077, "CLONE_FS child's umask is ours");
    chdir(before);

    pid = do_clone(set_handler, CLONE_VM | CLONE_SIGHAND | SIGCHLD, NULL);
    cf_wait(pid);
    struct sigaction sa;
    sigaction(SIGUSR2, NULL, &sa);
    CHECK(sa.sa_handler == usr2_handler, "CLONE_SIGHAND child's sigaction is ours");

    shared_value = 0;
    pid = do_clone(set_value, CLONE_VM | CLONE_VFORK | SIGCHLD, (void *)77);
    CHECK_EQ(shared_value, 77, "CLONE_VFORK: parent resumes after the child finished");
    cf_wait(pid);

    signal(SIGUSR1, usr1_handler);
    pid = do_clone(set_value, SIGUSR1, (void *)1);
    int st;
    for (int i = 0; i < 2000 && usr1_count == 0; i++)
        cf_msleep(1);
    CHECK_EQ(usr1_count, 1, "exit signal SIGUSR1 delivered to the parent");
    CHECK_ERR(waitpid(pid, &st, 0), ECHILD, "waitpid without __WCLONE ignores a clone child");
    CHECK(waitpid(pid, &st, __WCLONE) == pid, "waitpid __WCLONE reaps it");
    CHECK_STR(cf_status_str(st), "exited 0", "clone child status");

    CHECK_ERR(do_clone(set_value, CLONE_SIGHAND | SIGCHLD, NULL), EINVAL,
              "CLONE_SIGHAND without CLONE_VM");
    CHECK_ERR(do_clone(set_value, CLONE_VM | CLONE_THREAD | SIGCHLD, NULL), EINVAL,
              "CLONE_THREAD without CLONE_SIGHAND");

    struct clone_args ca;
    memset(&ca, 0, sizeof(ca));
    ca.exit_signal = SIGCHLD;
    fflush(stdout);
    long r = syscall(SYS_clone3, &ca, sizeof(ca));
    if (r == 0)
        _exit(9);
    CHECK(r > 0, "clone3 fork-like");
    CHECK_STR(cf_status_str(cf_wait((pid_t)r)), "exited 9", "clone3 child status");
    CHECK_ERR(syscall(SYS_clone3, &ca, 8), EINVAL, "clone3 with a too small size");
    ca.flags = CLONE_THREAD;
    CHECK_ERR(syscall(SYS_clone3, &ca, sizeof(ca)), EINVAL, "clone3 CLONE_THREAD without VM");
    return cf_done();
}
