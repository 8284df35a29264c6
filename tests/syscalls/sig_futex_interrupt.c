/* Conformance: a signal interrupts a thread blocked in FUTEX_WAIT — EINTR without SA_RESTART;
 * with SA_RESTART the wait resumes and a later FUTEX_WAKE ends it normally.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"
#include <linux/futex.h>
#include <pthread.h>

static volatile int word;
static volatile int hits, waiter_done, waiter_in;
static volatile long waiter_ret;
static volatile int waiter_errno;

static void handler(int sig)
{
    (void)sig;
    hits++;
}

static void *waiter(void *arg)
{
    (void)arg;
    waiter_in = 1;
    long r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    waiter_errno = errno;
    waiter_ret = r;
    waiter_done = 1;
    return NULL;
}

static void install(int flags)
{
    struct sigaction sa = {0};
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    pthread_t th;
    install(0);
    word = 0;
    pthread_create(&th, NULL, waiter, NULL);
    while (!waiter_in)
        cf_msleep(1);
    for (int i = 0; i < 500 && !waiter_done; i++) {
        cf_msleep(5);
        pthread_kill(th, SIGUSR1);
    }
    pthread_join(th, NULL);
    CHECK(hits >= 1, "handler ran in the waiting thread");
    CHECK_EQ(waiter_ret, -1, "FUTEX_WAIT returned -1");
    CHECK_STR(cf_errname(waiter_errno), "EINTR", "FUTEX_WAIT errno without SA_RESTART");

    install(SA_RESTART);
    hits = 0;
    waiter_done = waiter_in = 0;
    pthread_create(&th, NULL, waiter, NULL);
    while (!waiter_in)
        cf_msleep(1);
    for (int i = 0; i < 5; i++) {
        cf_msleep(5);
        pthread_kill(th, SIGUSR1);
    }
    cf_msleep(20);
    CHECK_EQ(waiter_done, 0, "with SA_RESTART the wait continues after handlers");
    for (int i = 0; i < 500 && !waiter_done; i++) {
        syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
        cf_msleep(2);
    }
    pthread_join(th, NULL);
    CHECK(hits >= 1, "handlers ran");
    CHECK_EQ(waiter_ret, 0, "FUTEX_WAIT returned 0 after FUTEX_WAKE");

    /* A timed wait interrupted with SA_RESTART still times out (restart keeps the deadline). */
    struct timespec ts = {0, 100 * 1000 * 1000};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    errno = 0;
    long r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
    int e = errno;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(r == -1 && e == ETIMEDOUT, "timed FUTEX_WAIT: ETIMEDOUT");
    CHECK(ms >= 99, "timed FUTEX_WAIT waited at least 100 ms");
    return cf_done();
}
