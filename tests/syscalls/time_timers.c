/* Conformance: interval timers and POSIX timers — alarm, setitimer/getitimer ITIMER_REAL,
 * ITIMER_VIRTUAL/PROF, timer_create/settime/gettime/getoverrun with SIGEV_SIGNAL and SIGEV_NONE.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"
#include <sys/time.h>

static volatile int alrm, vt, prof, rt_hits, rt_val;
static void on_alrm(int s)
{
    (void)s;
    alrm++;
}
static void on_vt(int s)
{
    (void)s;
    vt++;
}
static void on_prof(int s)
{
    (void)s;
    prof++;
}
static void on_rt(int s, siginfo_t *si, void *uc)
{
    (void)s, (void)uc;
    rt_hits++;
    rt_val = si->si_value.sival_int;
}

/* Wait up to 2 s for *flag to reach want, sleeping in 1 ms steps (signals cut the sleeps short).
 * The alarm(10) guard cannot be used here: alarm() and ITIMER_REAL are the same timer. */
static void wait_for(volatile int *flag, int want)
{
    for (int i = 0; i < 2000 && *flag < want; i++)
        cf_msleep(1);
}

static void burn_until(volatile int *flag, int want)
{
    volatile uint64_t x = 1;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (*flag < want) {
        for (int i = 0; i < 100000; i++)
            x = x * 3 + 1;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 2)
            break;
    }
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    unsigned prev = alarm(5);
    CHECK(prev > 0 && prev <= 10, "alarm returns the remaining seconds of the guard");
    CHECK_EQ(alarm(0), 5, "alarm(0) cancels and returns 5");
    signal(SIGALRM, on_alrm);

    struct itimerval it = {{0, 0}, {0, 30000}}, old;
    CHECK_SYS(setitimer(ITIMER_REAL, &it, NULL), "setitimer ITIMER_REAL 30 ms one-shot");
    CHECK_SYS(getitimer(ITIMER_REAL, &old), "getitimer");
    CHECK(old.it_value.tv_sec == 0 && old.it_value.tv_usec > 0 && old.it_value.tv_usec <= 30000,
          "remaining time in (0, 30 ms]");
    wait_for(&alrm, 1);
    CHECK_EQ(alrm, 1, "SIGALRM delivered");
    getitimer(ITIMER_REAL, &old);
    CHECK(old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0, "one-shot timer now disarmed");

    it.it_interval.tv_usec = 10000;
    it.it_value.tv_usec = 10000;
    alrm = 0;
    setitimer(ITIMER_REAL, &it, NULL);
    wait_for(&alrm, 3);
    CHECK_SYS(setitimer(ITIMER_REAL, &(struct itimerval){{0, 0}, {0, 0}}, &old),
              "disarm, getting the old value");
    CHECK(old.it_interval.tv_usec == 10000, "old interval is 10 ms");
    CHECK(alrm >= 3, "periodic ITIMER_REAL fired at least 3 times");
    alarm(10); /* the guard again, now that ITIMER_REAL is free */

    signal(SIGVTALRM, on_vt);
    signal(SIGPROF, on_prof);
    struct itimerval cpu = {{0, 0}, {0, 20000}};
    CHECK_SYS(setitimer(ITIMER_VIRTUAL, &cpu, NULL), "ITIMER_VIRTUAL 20 ms");
    burn_until(&vt, 1);
    CHECK_EQ(vt, 1, "SIGVTALRM after 20 ms of user CPU");
    CHECK_SYS(setitimer(ITIMER_PROF, &cpu, NULL), "ITIMER_PROF 20 ms");
    burn_until(&prof, 1);
    CHECK_EQ(prof, 1, "SIGPROF after 20 ms of CPU");
    CHECK_ERR(setitimer(7, &cpu, NULL), EINVAL, "setitimer with a bad which");
    struct itimerval bad = {{0, 0}, {0, 1000000}};
    CHECK_ERR(setitimer(ITIMER_REAL, &bad, NULL), EINVAL, "setitimer with tv_usec 1e6");

    /* POSIX timers. */
    struct sigaction sa = {0};
    sa.sa_sigaction = on_rt;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGRTMIN, &sa, NULL);
    struct sigevent sev = {0};
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGRTMIN;
    sev.sigev_value.sival_int = 77;
    timer_t tid;
    CHECK_SYS(timer_create(CLOCK_MONOTONIC, &sev, &tid), "timer_create CLOCK_MONOTONIC");
    struct itimerspec its = {{0, 0}, {0, 20 * 1000 * 1000}}, cur;
    CHECK_SYS(timer_settime(tid, 0, &its, NULL), "timer_settime 20 ms");
    CHECK_SYS(timer_gettime(tid, &cur), "timer_gettime");
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0, "timer armed");
    wait_for(&rt_hits, 1);
    CHECK(rt_hits == 1 && rt_val == 77, "timer signal with sigev_value 77");
    CHECK_EQ(timer_getoverrun(tid), 0, "no overrun");
    CHECK_SYS(timer_delete(tid), "timer_delete");
    CHECK_ERR(timer_settime(tid, 0, &its, NULL), EINVAL, "timer_settime on a deleted timer");

    sev.sigev_notify = SIGEV_NONE;
    CHECK_SYS(timer_create(CLOCK_REALTIME, &sev, &tid), "timer_create SIGEV_NONE");
    its.it_value.tv_sec = 100;
    timer_settime(tid, 0, &its, NULL);
    timer_gettime(tid, &cur);
    CHECK(cur.it_value.tv_sec >= 99 && cur.it_value.tv_sec <= 100, "SIGEV_NONE timer counts down");
    timer_delete(tid);
    CHECK_ERR(timer_create(12345, &sev, &tid), EINVAL, "timer_create on an unknown clock");
    return cf_done();
}
