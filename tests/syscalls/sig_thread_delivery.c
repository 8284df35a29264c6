/* Conformance: process-directed signals go to a thread that does not block them; if every thread
 * blocks, the signal stays pending for the process until one unblocks.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"
#include <pthread.h>

static volatile pid_t ran_in;
static volatile int hits;
static void handler(int sig)
{
    (void)sig;
    ran_in = gettid();
    hits++;
}

static volatile pid_t worker_tid;
static volatile int phase, worker_blocked;
static void *worker(void *arg)
{
    (void)arg;
    worker_tid = gettid();
    while (phase == 0)
        cf_msleep(1);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    worker_blocked = 1;
    while (phase == 1)
        cf_msleep(1);
    return NULL;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    signal(SIGUSR1, handler);
    sigset_t s, pend;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    pthread_t th;
    pthread_create(&th, NULL, worker, NULL);
    while (!worker_tid)
        cf_msleep(1);

    pthread_sigmask(SIG_BLOCK, &s, NULL);
    CHECK_SYS(kill(getpid(), SIGUSR1), "kill(process) while main blocks SIGUSR1");
    for (int i = 0; i < 2000 && !hits; i++)
        cf_msleep(1);
    CHECK_EQ(hits, 1, "handled once");
    CHECK(ran_in == worker_tid, "handled by the worker thread, which does not block it");

    phase = 1;
    while (!worker_blocked)
        cf_msleep(1);
    hits = 0;
    CHECK_SYS(kill(getpid(), SIGUSR1), "kill(process) while every thread blocks SIGUSR1");
    cf_msleep(20);
    CHECK_EQ(hits, 0, "not delivered while all threads block it");
    sigpending(&pend);
    CHECK_EQ(sigismember(&pend, SIGUSR1), 1, "pending for the process (seen by main)");
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    CHECK_EQ(hits, 1, "delivered as soon as main unblocks");
    CHECK(ran_in == gettid(), "handled by main");
    phase = 2;
    pthread_join(th, NULL);

    /* sigpending in a thread shows both its own and the process's pending signals. */
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    sigset_t s2;
    sigemptyset(&s2);
    sigaddset(&s2, SIGUSR2);
    signal(SIGUSR2, handler);
    pthread_sigmask(SIG_BLOCK, &s2, NULL);
    kill(getpid(), SIGUSR1);
    raise(SIGUSR2); /* thread-directed */
    sigpending(&pend);
    CHECK(sigismember(&pend, SIGUSR1) == 1 && sigismember(&pend, SIGUSR2) == 1,
          "sigpending shows process and thread pending signals");
    hits = 0;
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    pthread_sigmask(SIG_UNBLOCK, &s2, NULL);
    CHECK_EQ(hits, 2, "both delivered after unblocking");
    return cf_done();
}
