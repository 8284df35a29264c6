/* Conformance: POSIX timers on CPU-time clocks — a one-shot timer on the process clock fires
 * once the process has used that much CPU (not wall) time, a periodic timer on the thread clock
 * keeps firing, timer_gettime counts down with work and not while sleeping, SIGEV_NONE timers
 * expire silently, a timer on another thread's clock (pthread_getcpuclockid) follows that
 * thread's work. Under the checkpoint torture these timers are saved and restored mid-way.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"
#include <pthread.h>

static volatile sig_atomic_t fired1, fired2, fired3;
static volatile int64_t cpu_at_fire;
static void on_usr1(int sig)
{
    (void)sig;
    fired1++;
    cpu_at_fire = cf_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}
static void on_usr2(int sig)
{
    (void)sig;
    fired2++;
}
static void on_rt(int sig)
{
    (void)sig;
    fired3++;
}

/* Work until *flag reaches want (or 5 s of wall time pass). */
static void burn_until(volatile sig_atomic_t *flag, int want)
{
    int64_t give_up = cf_clock_ns(CLOCK_MONOTONIC) + 5000000000LL;
    volatile uint64_t x = 1;
    while (*flag < want && cf_clock_ns(CLOCK_MONOTONIC) < give_up)
        for (int i = 0; i < 10000; i++)
            x = x * 6364136223846793005ull + 1;
}

static int64_t left_ns(timer_t t)
{
    struct itimerspec cur;
    if (timer_gettime(t, &cur) != 0)
        return -1;
    return (int64_t)cur.it_value.tv_sec * 1000000000 + cur.it_value.tv_nsec;
}

static volatile int worker_go, worker_done;
static void *worker(void *arg)
{
    (void)arg;
    while (!worker_go)
        ;
    burn_until(&fired3, 1);
    worker_done = 1;
    return NULL;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    struct sigevent sev;
    timer_t t1, t2, t3, t4;
    struct itimerspec its;

    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, on_usr2);
    signal(SIGRTMIN, on_rt);

    /* One-shot, 40 ms of process CPU time. */
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    CHECK_SYS(timer_create(CLOCK_PROCESS_CPUTIME_ID, &sev, &t1),
              "timer_create on the process clock");
    memset(&its, 0, sizeof(its));
    its.it_value.tv_nsec = 40000000;
    int64_t cpu0 = cf_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    CHECK_SYS(timer_settime(t1, 0, &its, NULL), "arm it for 40 ms of CPU time");
    cf_msleep(60);
    CHECK(fired1 == 0, "sleeping 60 ms does not fire it");
    int64_t l1 = left_ns(t1);
    CHECK(l1 > 30000000 && l1 <= 40000000, "timer_gettime: still 30-40 ms left after the sleep");
    burn_until(&fired1, 1);
    CHECK(fired1 == 1, "it fires once the process has worked");
    CHECK(cpu_at_fire - cpu0 >= 40000000, "no earlier than 40 ms of CPU time");
    CHECK_EQ(left_ns(t1), 0, "a fired one-shot timer is disarmed");

    /* Periodic, every 10 ms of this thread's CPU time. */
    sev.sigev_signo = SIGUSR2;
    CHECK_SYS(timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &t2), "timer_create on the thread clock");
    its.it_value.tv_nsec = 10000000;
    its.it_interval.tv_nsec = 10000000;
    CHECK_SYS(timer_settime(t2, 0, &its, NULL), "arm it every 10 ms");
    burn_until(&fired2, 4);
    CHECK(fired2 >= 4, "a periodic thread-clock timer keeps firing");
    struct itimerspec cur;
    CHECK_SYS(timer_gettime(t2, &cur), "timer_gettime of the periodic timer");
    CHECK(cur.it_interval.tv_nsec == 10000000 && cur.it_interval.tv_sec == 0,
          "its interval is 10 ms");
    CHECK_SYS(timer_delete(t2), "timer_delete");

    /* SIGEV_NONE: counts down with work, never signals. */
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_NONE;
    CHECK_SYS(timer_create(CLOCK_PROCESS_CPUTIME_ID, &sev, &t3), "timer_create SIGEV_NONE");
    memset(&its, 0, sizeof(its));
    its.it_value.tv_nsec = 30000000;
    CHECK_SYS(timer_settime(t3, 0, &its, NULL), "arm it for 30 ms");
    int64_t b0 = cf_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    cf_burn_cpu(10000000);
    int64_t l3 = left_ns(t3);
    int64_t used = cf_clock_ns(CLOCK_PROCESS_CPUTIME_ID) - b0;
    /* The burn can overshoot: it checks the clock every few microseconds of work, and in fnbox a
     * sandbox thread preempted by the host is charged that wall time. Then the timer has
     * legitimately run out; what must never happen is expiring after only ~10 ms. */
    CHECK(l3 >= 0 && l3 <= 20000000 && (l3 > 0 || used >= 20000000),
          "after 10 ms of work at most 20 ms are left (none only if the work overshot)");
    cf_burn_cpu(25000000);
    CHECK_EQ(left_ns(t3), 0, "after 35 ms of work it has expired");

    /* Another thread's clock: the timer follows that thread's work. */
    pthread_t th;
    clockid_t wclock;
    pthread_create(&th, NULL, worker, NULL);
    CHECK_EQ(pthread_getcpuclockid(th, &wclock), 0, "pthread_getcpuclockid");
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGRTMIN;
    CHECK_SYS(timer_create(wclock, &sev, &t4), "timer_create on the worker's clock");
    memset(&its, 0, sizeof(its));
    its.it_value.tv_nsec = 20000000;
    CHECK_SYS(timer_settime(t4, 0, &its, NULL), "arm it for 20 ms of the worker's time");
    worker_go = 1;
    pthread_join(th, NULL);
    CHECK(worker_done && fired3 == 1, "it fires once the worker has worked 20 ms");
    CHECK_SYS(timer_delete(t4), "timer_delete");
    CHECK_SYS(timer_delete(t1), "timer_delete");
    CHECK_SYS(timer_delete(t3), "timer_delete");
    return cf_done();
}
