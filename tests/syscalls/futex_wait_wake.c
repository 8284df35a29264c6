/* Conformance: FUTEX_WAIT/FUTEX_WAKE between threads — wake counts, EAGAIN when the value differs,
 * ETIMEDOUT, EINVAL/EFAULT/ENOSYS argument errors. Part of tests/syscalls (native == fnbox). */
#include "conform.h"
#include <linux/futex.h>
#include <pthread.h>

static long futex(volatile int *uaddr, int op, int val, const struct timespec *ts, volatile int *u2,
                  int val3)
{
    return syscall(SYS_futex, uaddr, op, val, ts, u2, val3);
}

static volatile int word, woken, started;
static void *waiter(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&word, __ATOMIC_SEQ_CST) == 0)
        futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    __atomic_add_fetch(&woken, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Wake until `want` waiters are asleep in the kernel: FUTEX_WAKE(0) does not wake but we cannot
 * count sleepers directly, so we simply give them time and rely on the loop in waiter(). */
int main(int argc, char **argv)
{
    cf_init(argc, argv);
    CHECK_EQ(futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), 0, "FUTEX_WAKE with no waiters");
    word = 1;
    CHECK_ERR(futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0), EAGAIN,
              "FUTEX_WAIT when the value differs");
    word = 0;
    struct timespec ts = {0, 30 * 1000 * 1000}, t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_ERR(futex(&word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0), ETIMEDOUT,
              "FUTEX_WAIT with a 30 ms timeout");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(ms >= 29, "waited at least 30 ms");
    struct timespec badts = {0, 1000000000};
    CHECK_ERR(futex(&word, FUTEX_WAIT_PRIVATE, 0, &badts, NULL, 0), EINVAL,
              "FUTEX_WAIT with tv_nsec 1e9");
    struct timespec negts = {-1, 0};
    CHECK_ERR(futex(&word, FUTEX_WAIT_PRIVATE, 0, &negts, NULL, 0), EINVAL,
              "FUTEX_WAIT with a negative timeout");
    CHECK_ERR(futex((int *)((char *)&word + 1), FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0), EINVAL,
              "FUTEX_WAIT on an unaligned address");
    CHECK_ERR(futex((int *)4096, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0), EFAULT,
              "FUTEX_WAIT on an unmapped address");
    CHECK_ERR(futex(&word, 99, 0, NULL, NULL, 0), ENOSYS, "unknown futex op");

    /* Four waiters; wake them one at a time and then all. */
    pthread_t th[4];
    word = 0;
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, waiter, NULL);
    while (started < 4)
        cf_msleep(1);
    cf_msleep(30);
    CHECK_EQ(woken, 0, "no waiter passes while the word is 0");
    /* Spurious FUTEX_WAKE returns to a loop that re-checks: nobody passes. */
    futex(&word, FUTEX_WAKE_PRIVATE, 4, NULL, NULL, 0);
    cf_msleep(20);
    CHECK_EQ(woken, 0, "woken waiters re-wait while the word is still 0");
    __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
    long total = 0;
    for (int i = 0; i < 200 && woken < 4; i++) {
        total += futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
        cf_msleep(2);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(woken, 4, "all four waiters passed after the word changed");
    CHECK(total <= 4, "FUTEX_WAKE(1) woke at most one waiter per call");

    /* A wake count of INT_MAX wakes everybody at once. */
    word = 0;
    woken = started = 0;
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, waiter, NULL);
    while (started < 4)
        cf_msleep(1);
    cf_msleep(30);
    __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
    long n = futex(&word, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    CHECK(n >= 0 && n <= 4, "FUTEX_WAKE(INT_MAX) returns the number woken (0..4)");
    CHECK_EQ(woken, 4, "all four passed");

    /* FUTEX_WAIT with an absolute timeout needs FUTEX_WAIT_BITSET; plain WAIT is relative. */
    CHECK_ERR(futex(&word, FUTEX_WAIT_PRIVATE, 1, &(struct timespec){0, 1000000}, NULL, 0),
              ETIMEDOUT, "relative 1 ms wait on matching value");
    return cf_done();
}
