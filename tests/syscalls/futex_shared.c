/* Conformance: non-private futexes on MAP_SHARED memory work between processes, including a
 * shared file mapping; private futex ops do not cross processes. Part of tests/syscalls. */
#include "conform.h"
#include <linux/futex.h>

static long futex(volatile int *uaddr, int op, int val, const struct timespec *ts)
{
    return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static int child_wait(volatile int *w)
{
    w[1] = 1; /* ready */
    while (__atomic_load_n(&w[0], __ATOMIC_SEQ_CST) == 0)
        futex(&w[0], FUTEX_WAIT, 0, NULL);
    return 0;
}

static int wake_child(volatile int *w, pid_t pid, int op)
{
    while (__atomic_load_n(&w[1], __ATOMIC_SEQ_CST) == 0)
        cf_msleep(1);
    int woke = 0;
    if (op == FUTEX_WAKE) {
        /* Retry until the child is asleep in the kernel and gets woken (it then re-waits). */
        for (int i = 0; i < 5000 && woke == 0; i++) {
            woke = (int)futex(&w[0], op, 1, NULL);
            if (woke == 0)
                cf_msleep(1);
        }
    } else {
        cf_msleep(30);
        woke = (int)futex(&w[0], op, 1, NULL);
    }
    __atomic_store_n(&w[0], 1, __ATOMIC_SEQ_CST);
    while (waitpid(pid, NULL, WNOHANG) == 0) {
        futex(&w[0], FUTEX_WAKE, 1, NULL);
        cf_msleep(2);
    }
    return woke;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    volatile int *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(child_wait(w));
    CHECK_EQ(wake_child(w, pid, FUTEX_WAKE), 1, "shared futex: FUTEX_WAKE woke the child");

    w[0] = w[1] = 0;
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        _exit(child_wait(w));
    CHECK_EQ(wake_child(w, pid, FUTEX_WAKE_PRIVATE), 0,
             "FUTEX_WAKE_PRIVATE does not reach a waiter in another process");

    /* A shared file mapping: each process maps the file itself. */
    const char *path = cf_tmp("futexfile");
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    ftruncate(fd, 4096);
    volatile int *fw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        volatile int *cw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        _exit(child_wait(cw));
    }
    CHECK_EQ(wake_child(fw, pid, FUTEX_WAKE), 1, "futex on a shared file mapping mapped twice");
    close(fd);

    /* Timed wait on shared memory. */
    w[0] = 0;
    CHECK_ERR(futex(&w[0], FUTEX_WAIT, 0, &(struct timespec){0, 10 * 1000 * 1000}), ETIMEDOUT,
              "shared FUTEX_WAIT times out");
    return cf_done();
}
