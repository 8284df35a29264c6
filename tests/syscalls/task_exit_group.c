/* Conformance: exit_group from a thread ends every thread; SYS_exit ends one thread only; the
 * status of a process whose leader exited first. Part of tests/syscalls (native == fnbox). */
#include "conform.h"
#include <pthread.h>

static void *exit_group_thread(void *arg)
{
    cf_msleep(10);
    syscall(SYS_exit_group, (long)arg);
    return NULL;
}

static void *exit_thread(void *arg)
{
    cf_msleep((long)arg > 0 ? 30 : 0);
    syscall(SYS_exit, (long)arg);
    return NULL;
}

static int blocked_pipe[2];
static void *blocked_reader(void *arg)
{
    (void)arg;
    char c;
    read(blocked_pipe[0], &c, 1);
    return NULL;
}

static void at_exit_marker(void)
{
    /* exit() from a thread runs atexit handlers once, in that thread. */
    write(1, "atexit handler ran\n", 19);
}
static void *exit_libc_thread(void *arg)
{
    (void)arg;
    exit(12);
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    pthread_t th;

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_create(&th, NULL, exit_group_thread, (void *)7);
        for (;;)
            pause();
    }
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 7", "exit_group(7) from a thread, main paused");

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        pipe(blocked_pipe);
        pthread_t r[3];
        for (int i = 0; i < 3; i++)
            pthread_create(&r[i], NULL, blocked_reader, NULL);
        cf_msleep(10);
        syscall(SYS_exit_group, 4);
    }
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 4",
              "exit_group from main while 3 threads block in read");

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        pthread_create(&th, NULL, exit_thread, (void *)0);
        pthread_join(th, NULL);
        _exit(0);
    }
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0",
              "SYS_exit in a thread ends only that thread (join works)");

    /* Leader exits first with SYS_exit(2); the last thread uses SYS_exit(6). Modern Linux (5.19+)
     * makes the last thread's code the group exit code, so the status is 6. */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        pthread_create(&th, NULL, exit_thread, (void *)6);
        syscall(SYS_exit, 2);
    }
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 6",
              "leader SYS_exit(2) then last thread SYS_exit(6)");

    /* Leader exits first; a thread then calls exit_group(5): status is 5. */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        pthread_create(&th, NULL, exit_group_thread, (void *)5);
        syscall(SYS_exit, 0);
    }
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 5", "leader SYS_exit(0) then exit_group(5)");

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        atexit(at_exit_marker);
        pthread_create(&th, NULL, exit_libc_thread, NULL);
        for (;;)
            pause();
    }
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 12", "exit(12) from a thread");
    return cf_done();
}
