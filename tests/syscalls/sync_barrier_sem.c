/* Conformance: pthread_barrier (serial thread, repeated rounds), rwlocks, and POSIX semaphores
 * (sem_wait/sem_post/sem_trywait/sem_timedwait) across threads and processes. Part of
 * tests/syscalls. */
#include "conform.h"
#include <pthread.h>
#include <semaphore.h>

#define N 4
static pthread_barrier_t bar;
static volatile int serial_count, round_hits[10];
static void *barrier_thread(void *arg)
{
    (void)arg;
    for (int r = 0; r < 10; r++) {
        __atomic_add_fetch(&round_hits[r], 1, __ATOMIC_SEQ_CST);
        int ret = pthread_barrier_wait(&bar);
        if (ret == PTHREAD_BARRIER_SERIAL_THREAD)
            __atomic_add_fetch(&serial_count, 1, __ATOMIC_SEQ_CST);
        /* After the barrier every thread of this round has arrived. */
        if (__atomic_load_n(&round_hits[r], __ATOMIC_SEQ_CST) != N)
            return (void *)1;
    }
    return NULL;
}

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long shared_total;
static void *rw_thread(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < 2000; i++) {
        if (i % 4 == 0) {
            pthread_rwlock_wrlock(&rw);
            shared_total += id + 1;
            pthread_rwlock_unlock(&rw);
        } else {
            pthread_rwlock_rdlock(&rw);
            (void)shared_total;
            pthread_rwlock_unlock(&rw);
        }
    }
    return NULL;
}

static sem_t sem;
static volatile int posted;
static void *sem_poster(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++) {
        __atomic_add_fetch(&posted, 1, __ATOMIC_SEQ_CST);
        sem_post(&sem);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    CHECK_EQ(pthread_barrier_init(&bar, NULL, N), 0, "barrier for 4 threads");
    pthread_t th[N];
    for (int i = 0; i < N; i++)
        pthread_create(&th[i], NULL, barrier_thread, NULL);
    bool all_ok = true;
    for (int i = 0; i < N; i++) {
        void *r;
        pthread_join(th[i], &r);
        all_ok &= r == NULL;
    }
    CHECK(all_ok, "every thread saw all arrivals after each of 10 rounds");
    CHECK_EQ(serial_count, 10, "exactly one serial thread per round");
    pthread_barrier_destroy(&bar);
    CHECK_STR(cf_errname(pthread_barrier_init(&bar, NULL, 0)), "EINVAL", "barrier count 0");

    for (long i = 0; i < N; i++)
        pthread_create(&th[i], NULL, rw_thread, (void *)i);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(shared_total, 500 * (1 + 2 + 3 + 4), "rwlock writers' total");
    pthread_rwlock_rdlock(&rw);
    CHECK_EQ(pthread_rwlock_tryrdlock(&rw), 0, "second read lock while reading");
    CHECK_STR(cf_errname(pthread_rwlock_trywrlock(&rw)), "EBUSY",
              "write trylock while read-locked");
    pthread_rwlock_unlock(&rw);
    pthread_rwlock_unlock(&rw);

    sem_init(&sem, 0, 0);
    CHECK_ERR(sem_trywait(&sem), EAGAIN, "sem_trywait on 0");
    pthread_t p;
    pthread_create(&p, NULL, sem_poster, NULL);
    int got = 0;
    for (int i = 0; i < 100; i++)
        got += sem_wait(&sem) == 0;
    pthread_join(p, NULL);
    CHECK_EQ(got, 100, "100 sem_wait matched 100 sem_post");
    int v = -1;
    sem_getvalue(&sem, &v);
    CHECK_EQ(v, 0, "semaphore back to 0");
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_nsec += 20 * 1000 * 1000;
    if (dl.tv_nsec >= 1000000000)
        dl.tv_sec++, dl.tv_nsec -= 1000000000;
    CHECK_ERR(sem_timedwait(&sem, &dl), ETIMEDOUT, "sem_timedwait times out");

    /* A process-shared semaphore in shared memory. */
    sem_t *ps = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    sem_init(ps, 1, 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 10; i++)
            sem_wait(ps);
        _exit(7);
    }
    for (int i = 0; i < 10; i++) {
        sem_post(ps);
        if (i % 3 == 0)
            cf_msleep(2);
    }
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 7", "child took 10 posts on a shared semaphore");
    return cf_done();
}
