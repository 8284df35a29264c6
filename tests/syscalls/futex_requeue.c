/* Conformance: FUTEX_REQUEUE and FUTEX_CMP_REQUEUE move waiters between futexes; CMP_REQUEUE
 * checks the value (EAGAIN); FUTEX_WAKE_OP. Part of tests/syscalls (native == fnbox). */
#include "conform.h"
#include <linux/futex.h>
#include <pthread.h>

static long futex(volatile int *uaddr, int op, long val, long val2, volatile int *u2, int val3)
{
    return syscall(SYS_futex, uaddr, op, val, val2, u2, val3);
}

static volatile int f1, f2, started, passed;
static void *waiter(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    futex(&f1, FUTEX_WAIT_PRIVATE, 0, 0, NULL, 0); /* woken directly, or after a requeue */
    __atomic_add_fetch(&passed, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, waiter, NULL);
    /* Move every waiter onto f2 as it arrives: the counts then say exactly where everyone is. */
    long moved = 0;
    for (int i = 0; i < 5000 && moved < 4; i++) {
        long r = futex(&f1, FUTEX_REQUEUE_PRIVATE, 0, 0x7fffffff, &f2, 0);
        if (r > 0)
            moved += r;
        else
            cf_msleep(1);
    }
    CHECK_EQ(moved, 4, "FUTEX_REQUEUE (wake 0) moved all 4 waiters onto f2");
    CHECK_EQ(passed, 0, "requeued waiters are still asleep");
    CHECK_EQ(futex(&f1, FUTEX_WAKE_PRIVATE, 10, 0, NULL, 0), 0, "nobody waits on f1");
    long r = futex(&f2, FUTEX_REQUEUE_PRIVATE, 1, 2, &f1, 0);
    CHECK_EQ(r, 3, "FUTEX_REQUEUE f2->f1 wakes 1 and moves 2 (returns 3)");
    for (int i = 0; i < 2000 && passed < 1; i++)
        cf_msleep(1);
    CHECK_EQ(passed, 1, "the woken waiter passed");
    CHECK_ERR(futex(&f1, FUTEX_CMP_REQUEUE_PRIVATE, 0, 10, &f2, 1), EAGAIN,
              "FUTEX_CMP_REQUEUE with a stale expected value");
    r = futex(&f1, FUTEX_CMP_REQUEUE_PRIVATE, 0, 1, &f2, 0);
    CHECK_EQ(r, 1, "FUTEX_CMP_REQUEUE wakes 0 and moves 1");
    CHECK_EQ(futex(&f1, FUTEX_WAKE_PRIVATE, 10, 0, NULL, 0), 1, "one waiter left on f1");
    CHECK_EQ(futex(&f2, FUTEX_WAKE_PRIVATE, 10, 0, NULL, 0), 2, "two waiters on f2");
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(passed, 4, "all waiters passed");
    CHECK_ERR(futex(&f1, FUTEX_CMP_REQUEUE_PRIVATE, -1, 1, &f2, f1), EINVAL,
              "FUTEX_CMP_REQUEUE with a negative wake count");
    CHECK_ERR(futex(&f1, FUTEX_CMP_REQUEUE_PRIVATE, 1, -1, &f2, f1), EINVAL,
              "FUTEX_CMP_REQUEUE with a negative requeue count");

    /* FUTEX_WAKE_OP: f2 += 5 (old value compared > 0 decides the second wake). */
    f1 = 0;
    f2 = 3;
    int op = FUTEX_OP(FUTEX_OP_ADD, 5, FUTEX_OP_CMP_GT, 0);
    r = futex(&f1, FUTEX_WAKE_OP_PRIVATE, 1, 1, &f2, op);
    CHECK_EQ(r, 0, "FUTEX_WAKE_OP with no waiters returns 0");
    CHECK_EQ(f2, 8, "FUTEX_WAKE_OP applied the add to the second word");
    op = FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 8);
    futex(&f1, FUTEX_WAKE_OP_PRIVATE, 1, 1, &f2, op);
    CHECK_EQ(f2, 1, "FUTEX_WAKE_OP set");
    return cf_done();
}
