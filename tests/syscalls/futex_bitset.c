/* Conformance: FUTEX_WAIT_BITSET/FUTEX_WAKE_BITSET select waiters by mask; absolute timeouts on
 * CLOCK_MONOTONIC and CLOCK_REALTIME; bitset 0 is EINVAL. Part of tests/syscalls. */
#include "conform.h"
#include <linux/futex.h>
#include <pthread.h>

static long futex(volatile int *uaddr, int op, int val, const struct timespec *ts, int val3)
{
    return syscall(SYS_futex, uaddr, op, val, ts, NULL, val3);
}

static volatile int word, started, passed_mask;
static void *waiter(void *arg)
{
    int bit = (int)(long)arg;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, NULL, 1 << bit);
    __atomic_or_fetch(&passed_mask, 1 << bit, __ATOMIC_SEQ_CST);
    return NULL;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    pthread_t th[3];
    for (long i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, waiter, (void *)i);
    while (started < 3)
        cf_msleep(1);
    cf_msleep(40);
    CHECK_EQ(futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, 1 << 5), 0,
             "WAKE_BITSET with a mask matching nobody");
    /* Retry until the waiter is asleep: each call wakes only waiters whose mask matches. */
    long r = 0;
    for (int i = 0; i < 5000 && r == 0; i++) {
        r = futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, 1 << 1);
        if (r == 0)
            cf_msleep(1);
    }
    CHECK_EQ(r, 1, "WAKE_BITSET bit 1 wakes exactly one");
    pthread_join(th[1], NULL);
    CHECK_EQ(passed_mask, 2, "only the bit-1 waiter passed");
    long total = 0;
    for (int i = 0; i < 5000 && total < 2; i++) {
        long n = futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, (1 << 0) | (1 << 2));
        total += n > 0 ? n : 0;
        if (total < 2)
            cf_msleep(1);
    }
    CHECK_EQ(total, 2, "WAKE_BITSET bits 0|2 wakes the other two");
    pthread_join(th[0], NULL);
    pthread_join(th[2], NULL);
    CHECK_EQ(passed_mask, 7, "all passed");

    CHECK_ERR(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, NULL, 0), EINVAL, "WAIT_BITSET mask 0");
    CHECK_ERR(futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, 0), EINVAL, "WAKE_BITSET mask 0");

    struct timespec now, t1;
    clock_gettime(CLOCK_MONOTONIC, &now);
    struct timespec dl = now;
    dl.tv_nsec += 30 * 1000 * 1000;
    if (dl.tv_nsec >= 1000000000)
        dl.tv_sec++, dl.tv_nsec -= 1000000000;
    CHECK_ERR(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &dl, FUTEX_BITSET_MATCH_ANY), ETIMEDOUT,
              "WAIT_BITSET with an absolute CLOCK_MONOTONIC deadline");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(t1.tv_sec > dl.tv_sec || (t1.tv_sec == dl.tv_sec && t1.tv_nsec >= dl.tv_nsec),
          "returned after the deadline");
    struct timespec past; /* 1 ms ago: a sandbox's monotonic clock may start near zero */
    clock_gettime(CLOCK_MONOTONIC, &past);
    if (past.tv_nsec >= 1000000)
        past.tv_nsec -= 1000000;
    else if (past.tv_sec > 0)
        past.tv_sec--, past.tv_nsec += 999000000;
    CHECK_ERR(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &past, FUTEX_BITSET_MATCH_ANY), ETIMEDOUT,
              "deadline in the past times out at once");
    clock_gettime(CLOCK_REALTIME, &now);
    now.tv_nsec += 20 * 1000 * 1000;
    if (now.tv_nsec >= 1000000000)
        now.tv_sec++, now.tv_nsec -= 1000000000;
    CHECK_ERR(futex(&word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &now,
                    FUTEX_BITSET_MATCH_ANY),
              ETIMEDOUT, "WAIT_BITSET with FUTEX_CLOCK_REALTIME deadline");
    CHECK_ERR(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 1, NULL, FUTEX_BITSET_MATCH_ANY), EAGAIN,
              "WAIT_BITSET when the value differs");
    return cf_done();
}
