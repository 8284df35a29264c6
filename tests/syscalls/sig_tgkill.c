/* Conformance: tgkill/tkill to a specific thread — the handler runs in that thread; thread-directed
 * signals respect that thread's mask; ESRCH/EINVAL. Part of tests/syscalls (native == fnbox). */
#include "conform.h"
#include <pthread.h>

static volatile pid_t handler_tid;
static volatile int handler_hits;
static void handler(int sig)
{
    (void)sig;
    handler_tid = gettid();
    handler_hits++;
}

static volatile pid_t worker_tid;
static volatile int stop_worker;
static void *worker(void *arg)
{
    int block = (int)(long)arg;
    if (block) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &s, NULL);
    }
    worker_tid = gettid();
    while (!stop_worker)
        cf_msleep(1);
    if (block) {
        sigset_t p;
        sigpending(&p);
        return (void *)(long)sigismember(&p, SIGUSR1);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    signal(SIGUSR1, handler);
    pthread_t th;
    pthread_create(&th, NULL, worker, (void *)0);
    while (!worker_tid)
        cf_msleep(1);
    CHECK_SYS(syscall(SYS_tgkill, getpid(), worker_tid, SIGUSR1), "tgkill the worker");
    for (int i = 0; i < 2000 && !handler_hits; i++)
        cf_msleep(1);
    CHECK_EQ(handler_hits, 1, "handler ran once");
    CHECK(handler_tid == worker_tid, "handler ran in the target thread");
    CHECK_SYS(syscall(SYS_tkill, worker_tid, SIGUSR1), "tkill the worker");
    for (int i = 0; i < 2000 && handler_hits < 2; i++)
        cf_msleep(1);
    CHECK(handler_hits == 2 && handler_tid == worker_tid, "tkill handler ran in the target thread");
    CHECK_EQ(pthread_kill(th, SIGUSR1), 0, "pthread_kill");
    for (int i = 0; i < 2000 && handler_hits < 3; i++)
        cf_msleep(1);
    CHECK(handler_hits == 3 && handler_tid == worker_tid, "pthread_kill handler in the target");
    stop_worker = 1;
    pthread_join(th, NULL);

    /* A thread that blocks SIGUSR1 keeps a thread-directed SIGUSR1 pending: nobody else takes it.
     */
    stop_worker = 0;
    worker_tid = 0;
    handler_hits = 0;
    pthread_create(&th, NULL, worker, (void *)1);
    while (!worker_tid)
        cf_msleep(1);
    syscall(SYS_tgkill, getpid(), worker_tid, SIGUSR1);
    cf_msleep(20);
    CHECK_EQ(handler_hits, 0, "no thread ran the handler for a blocked thread-directed signal");
    stop_worker = 1;
    void *pending;
    pthread_join(th, &pending);
    CHECK_EQ((long)pending, 1, "signal is pending on the target thread");

    CHECK_SYS(syscall(SYS_tgkill, getpid(), gettid(), 0), "tgkill signal 0 to self");
    CHECK_ERR(syscall(SYS_tgkill, getpid(), 1 << 22, SIGUSR1), ESRCH, "tgkill a missing tid");
    CHECK_ERR(syscall(SYS_tgkill, 1 << 22, gettid(), SIGUSR1), ESRCH, "tgkill with the wrong tgid");
    CHECK_ERR(syscall(SYS_tgkill, 0, gettid(), SIGUSR1), EINVAL, "tgkill with tgid 0");
    CHECK_ERR(syscall(SYS_tgkill, getpid(), gettid(), 99), EINVAL, "tgkill with signal 99");
    CHECK_ERR(syscall(SYS_tkill, -1, SIGUSR1), EINVAL, "tkill with tid -1");
    CHECK_ERR(syscall(SYS_tkill, 1 << 22, SIGUSR1), ESRCH, "tkill a missing tid");
    return cf_done();
}
