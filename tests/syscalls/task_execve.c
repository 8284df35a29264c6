/* Conformance: execve — argv/envp passed through, pid kept, exec from a thread, and the errors
 * ENOENT, ENOTDIR, EACCES, ENOEXEC, EFAULT. Part of tests/syscalls (native and fnbox must match).
 */
#include "conform.h"
#include <pthread.h>

extern char **environ;

/* Child role: print what we were given. */
static int role_args(int argc, char **argv)
{
    printf("child: argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        if (i != 1)
            printf("child: argv[%d]=\"%s\"\n", i, argv[i]);
    int n = 0;
    for (char **e = environ; *e; e++)
        printf("child: env[%d]=\"%s\"\n", n++,
               strncmp(*e, "EXPECT_PID=", 11) == 0 ? "EXPECT_PID=<pid>" : *e);
    const char *want = getenv("EXPECT_PID");
    printf("child: pid kept across exec: %s\n", want && atoi(want) == getpid() ? "yes" : "no");
    fflush(stdout);
    return 0;
}

static void *exec_thread(void *arg)
{
    char **envp = arg;
    execve("/proc/self/exe", (char *[]){"from-thread", "--role=args", NULL}, envp);
    _exit(126);
}

static int run_and_capture(char *const argv[], char *const envp[], char *out, size_t size)
{
    int pfd[2];
    if (pipe(pfd) < 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    close(pfd[1]);
    ssize_t n = cf_read_full(pfd[0], out, size - 1);
    out[n < 0 ? 0 : n] = 0;
    close(pfd[0]);
    return cf_wait(pid);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--role=args") == 0)
        return role_args(argc, argv);
    cf_init(argc, argv);

    char pidenv[64];
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        snprintf(pidenv, sizeof(pidenv), "EXPECT_PID=%d", getpid());
        char *args[] = {"custom-argv0", "--role=args", "second arg", "", "x=y", NULL};
        char *envs[] = {"FOO=bar", "EMPTY=", pidenv, NULL};
        execve("/proc/self/exe", args, envs);
        _exit(127);
    }
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "exec of self with 5 args and 3 env vars");

    /* exec from a non-leader thread: the process keeps its pid. */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        snprintf(pidenv, sizeof(pidenv), "EXPECT_PID=%d", getpid());
        char *envs[] = {pidenv, NULL};
        pthread_t th;
        pthread_create(&th, NULL, exec_thread, envs);
        for (;;)
            pause();
    }
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "exec from a second thread");

    char out[512];
    int st = run_and_capture((char *[]){"/usr/bin/env", NULL},
                             (char *[]){"A=1", "B=two words", "C=", NULL}, out, sizeof(out));
    CHECK_STR(cf_status_str(st), "exited 0", "/usr/bin/env status");
    CHECK_STR(out, "A=1\nB=two words\nC=\n", "/usr/bin/env prints the given environment");
    st = run_and_capture((char *[]){"/bin/sh", "-c", "echo \"$0|$1|$#\"", "zero", "one", NULL},
                         (char *[]){NULL}, out, sizeof(out));
    CHECK_STR(out, "zero|one|1\n", "/bin/sh -c sees its positional arguments");
    st = run_and_capture((char *[]){"/bin/sh", "-c", "exit 17", NULL}, (char *[]){NULL}, out,
                         sizeof(out));
    CHECK_STR(cf_status_str(st), "exited 17", "/bin/sh -c 'exit 17'");

    CHECK_ERR(execve("/nonexistent/prog", (char *[]){"x", NULL}, environ), ENOENT,
              "execve of a missing file");
    CHECK_ERR(execve("/bin/sh/x", (char *[]){"x", NULL}, environ), ENOTDIR,
              "execve through a non-directory");
    CHECK_ERR(execve("/usr", (char *[]){"x", NULL}, environ), EACCES, "execve of a directory");
    const char *noexec = cf_tmp("noexec");
    cf_write_file(noexec, "#!/bin/sh\necho hi\n", 18, 0644);
    CHECK_ERR(execve(noexec, (char *[]){"x", NULL}, environ), EACCES,
              "execve of a file without execute permission");
    const char *garbage = cf_tmp("garbage");
    cf_write_file(garbage, "\001\002\003 this is not a program\n", 26, 0755);
    CHECK_ERR(execve(garbage, (char *[]){"x", NULL}, environ), ENOEXEC, "execve of garbage");
    const char *empty = cf_tmp("empty");
    cf_write_file(empty, "", 0, 0755);
    CHECK_ERR(execve(empty, (char *[]){"x", NULL}, environ), ENOEXEC, "execve of an empty file");
    const char *badelf = cf_tmp("badelf");
    char elf[64] = "\177ELF\002\001\001";
    cf_write_file(badelf, elf, sizeof(elf), 0755);
    CHECK_ERR(execve(badelf, (char *[]){"x", NULL}, environ), ENOEXEC,
              "execve of a truncated ELF header");
    CHECK_ERR(syscall(SYS_execve, 1L, (char *[]){"x", NULL}, environ), EFAULT,
              "execve with a bad path pointer");
    CHECK_ERR(syscall(SYS_execve, "/bin/true", 1L, environ), EFAULT,
              "execve with a bad argv pointer");
    CHECK_ERR(syscall(SYS_execve, "/bin/true", (char *[]){"x", (char *)1, NULL}, environ), EFAULT,
              "execve with a bad argv string");
    CHECK_ERR(execve("", (char *[]){"x", NULL}, environ), ENOENT, "execve of an empty path");
    CHECK(getpid() > 0, "still running after the failed execs");
    return cf_done();
}
