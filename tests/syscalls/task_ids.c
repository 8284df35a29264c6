/* Conformance: getpid, getppid, gettid relations across threads and fork.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"
#include <pthread.h>

static pid_t th_pid, th_tid, th_ppid;
static void *thread_fn(void *arg)
{
    (void)arg;
    th_pid = getpid();
    th_tid = gettid();
    th_ppid = getppid();
    return NULL;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    pid_t me = getpid();
    CHECK(me > 0, "getpid > 0");
    CHECK(syscall(SYS_getpid) == me, "raw getpid equals libc getpid");
    CHECK(gettid() == me, "main thread: gettid == getpid");
    CHECK(getppid() >= 0, "getppid >= 0");
    CHECK(getppid() != me, "getppid != getpid");

    pthread_t th;
    pthread_create(&th, NULL, thread_fn, NULL);
    pthread_join(th, NULL);
    CHECK(th_pid == me, "thread: getpid == process pid");
    CHECK(th_tid != me && th_tid > 0, "thread: gettid is its own");
    CHECK(th_ppid == getppid(), "thread: getppid == main's getppid");

    int pfd[2];
    pipe(pfd);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        pid_t v[3] = {getpid(), getppid(), gettid()};
        write(pfd[1], v, sizeof(v));
        _exit(0);
    }
    pid_t v[3];
    CHECK_EQ(read(pfd[0], v, sizeof(v)), sizeof(v), "child reported its ids");
    CHECK(v[0] == pid, "child's getpid == fork's return value");
    CHECK(v[1] == me, "child's getppid == parent's getpid");
    CHECK(v[2] == pid, "child's gettid == its pid");
    CHECK(v[0] != me, "child's pid differs from the parent's");
    cf_wait(pid);

    /* A grandchild's parent is the child. */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        pid_t c = getpid();
        pid_t g = fork();
        if (g == 0)
            _exit(getppid() == c ? 0 : 1);
        int st = cf_wait(g);
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 2);
    }
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "grandchild's getppid is the child");

    /* A thread's fork: the new process's parent is our process, not the thread. */
    fflush(stdout);
    pid = fork();
    CHECK(pid != me, "successive forks give new pids");
    if (pid == 0)
        _exit(0);
    cf_wait(pid);
    return cf_done();
}
