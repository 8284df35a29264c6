/* Conformance: pthread mutex and condition variable stress — N threads increment shared counters
 * under a mutex, a producer/consumer queue with condvars, trylock/timedlock results.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"
#include <pthread.h>

#define THREADS 4
#define ITERS   20000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long counter, counters[THREADS];

static void *adder(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < ITERS; i++) {
        pthread_mutex_lock(&mu);
        counter++;
        counters[id]++;
        pthread_mutex_unlock(&mu);
    }
    return NULL;
}

#define QSIZE 8
static int queue[QSIZE], qhead, qcount;
static pthread_mutex_t qmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER, not_full = PTHREAD_COND_INITIALIZER;
static long consumed_sum, consumed_count;

static void *producer(void *arg)
{
    long base = (long)arg;
    for (int i = 1; i <= 2000; i++) {
        pthread_mutex_lock(&qmu);
        while (qcount == QSIZE)
            pthread_cond_wait(&not_full, &qmu);
        queue[(qhead + qcount) % QSIZE] = (int)(base + i);
        qcount++;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&qmu);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    long n = (long)arg;
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&qmu);
        while (qcount == 0)
            pthread_cond_wait(&not_empty, &qmu);
        int v = queue[qhead];
        qhead = (qhead + 1) % QSIZE;
        qcount--;
        consumed_sum += v;
        consumed_count++;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&qmu);
    }
    return NULL;
}

static pthread_cond_t bc = PTHREAD_COND_INITIALIZER;
static int go, arrived;
static void *bcast_waiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    arrived++;
    while (!go)
        pthread_cond_wait(&bc, &mu);
    pthread_mutex_unlock(&mu);
    return NULL;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    pthread_t th[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, adder, (void *)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(counter, THREADS * ITERS, "mutex-protected counter total");
    bool each = true;
    for (int i = 0; i < THREADS; i++)
        each &= counters[i] == ITERS;
    CHECK(each, "each thread's own counter is exact");

    pthread_t p[2], c[2];
    pthread_create(&p[0], NULL, producer, (void *)0L);
    pthread_create(&p[1], NULL, producer, (void *)100000L);
    pthread_create(&c[0], NULL, consumer, (void *)1500L);
    pthread_create(&c[1], NULL, consumer, (void *)2500L);
    for (int i = 0; i < 2; i++)
        pthread_join(p[i], NULL), pthread_join(c[i], NULL);
    CHECK_EQ(consumed_count, 4000, "consumers took all 4000 items");
    CHECK_EQ(consumed_sum, 2 * (2000 * 2001 / 2) + 2000 * 100000L, "sum of consumed items");

    pthread_t b[5];
    for (int i = 0; i < 5; i++)
        pthread_create(&b[i], NULL, bcast_waiter, NULL);
    for (;;) {
        pthread_mutex_lock(&mu);
        int a = arrived;
        pthread_mutex_unlock(&mu);
        if (a == 5)
            break;
        cf_msleep(1);
    }
    pthread_mutex_lock(&mu);
    go = 1;
    pthread_cond_broadcast(&bc);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < 5; i++)
        pthread_join(b[i], NULL);
    CHECK(1, "pthread_cond_broadcast released 5 waiters");

    pthread_mutex_lock(&mu);
    CHECK_STR(cf_errname(pthread_mutex_trylock(&mu)), "EBUSY", "trylock of a held mutex");
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_nsec += 20 * 1000 * 1000;
    if (dl.tv_nsec >= 1000000000)
        dl.tv_sec++, dl.tv_nsec -= 1000000000;
    CHECK_STR(cf_errname(pthread_mutex_timedlock(&mu, &dl)), "ETIMEDOUT",
              "timedlock of a held (normal) mutex from its owner");
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_nsec += 20 * 1000 * 1000;
    if (dl.tv_nsec >= 1000000000)
        dl.tv_sec++, dl.tv_nsec -= 1000000000;
    CHECK_STR(cf_errname(pthread_cond_timedwait(&bc, &mu, &dl)), "ETIMEDOUT",
              "pthread_cond_timedwait times out");
    pthread_mutex_unlock(&mu);

    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_t ec;
    pthread_mutex_init(&ec, &at);
    pthread_mutex_lock(&ec);
    CHECK_STR(cf_errname(pthread_mutex_lock(&ec)), "EDEADLK", "errorcheck mutex relock");
    pthread_mutex_unlock(&ec);
    CHECK_STR(cf_errname(pthread_mutex_unlock(&ec)), "EPERM", "errorcheck unlock when not owner");
    return cf_done();
}
