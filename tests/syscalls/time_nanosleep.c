/* Conformance: nanosleep and clock_nanosleep (relative and TIMER_ABSTIME) sleep at least the
 * requested time; argument errors. Part of tests/syscalls (runs natively and under fnbox). */
#include "conform.h"

static int64_t now_ns(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    struct timespec req = {0, 30 * 1000 * 1000}, rem = {9, 9};
    CHECK_SYS(nanosleep(&req, &rem), "nanosleep 30 ms");
    int64_t el = now_ns(CLOCK_MONOTONIC) - t0;
    CHECK(el >= 30000000, "slept at least 30 ms");
    CHECK(el < 2000000000, "slept less than 2 s");

    t0 = now_ns(CLOCK_MONOTONIC);
    CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL), 0, "clock_nanosleep relative 30 ms");
    CHECK(now_ns(CLOCK_MONOTONIC) - t0 >= 30000000, "slept at least 30 ms");

    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_nsec += 25 * 1000 * 1000;
    if (dl.tv_nsec >= 1000000000)
        dl.tv_sec++, dl.tv_nsec -= 1000000000;
    CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &dl, NULL), 0,
             "clock_nanosleep TIMER_ABSTIME on CLOCK_MONOTONIC");
    int64_t after = now_ns(CLOCK_MONOTONIC);
    CHECK(after >= (int64_t)dl.tv_sec * 1000000000 + dl.tv_nsec, "woke after the deadline");

    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_nsec += 20 * 1000 * 1000;
    if (dl.tv_nsec >= 1000000000)
        dl.tv_sec++, dl.tv_nsec -= 1000000000;
    CHECK_EQ(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &dl, NULL), 0,
             "clock_nanosleep TIMER_ABSTIME on CLOCK_REALTIME");
    CHECK(now_ns(CLOCK_REALTIME) >= (int64_t)dl.tv_sec * 1000000000 + dl.tv_nsec,
          "woke after the realtime deadline");

    /* A deadline 1 ms ago (a sandbox's monotonic clock may start near zero: no fixed value). */
    struct timespec past;
    clock_gettime(CLOCK_MONOTONIC, &past);
    if (past.tv_nsec >= 1000000)
        past.tv_nsec -= 1000000;
    else if (past.tv_sec > 0)
        past.tv_sec--, past.tv_nsec += 999000000;
    t0 = now_ns(CLOCK_MONOTONIC);
    CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL), 0,
             "absolute deadline in the past returns at once");
    CHECK(now_ns(CLOCK_MONOTONIC) - t0 < 500000000, "and quickly");
    struct timespec zero = {0, 0};
    CHECK_SYS(nanosleep(&zero, NULL), "nanosleep 0");
    CHECK_EQ(clock_nanosleep(CLOCK_BOOTTIME, 0, &(struct timespec){0, 1000000}, NULL), 0,
             "clock_nanosleep on CLOCK_BOOTTIME");

    struct timespec bad = {0, 1000000000};
    CHECK_ERR(nanosleep(&bad, NULL), EINVAL, "nanosleep tv_nsec 1e9");
    struct timespec neg = {-1, 0};
    CHECK_ERR(nanosleep(&neg, NULL), EINVAL, "nanosleep negative seconds");
    struct timespec negns = {0, -1};
    CHECK_ERR(nanosleep(&negns, NULL), EINVAL, "nanosleep negative nanoseconds");
    CHECK_ERR(syscall(SYS_nanosleep, (void *)8, NULL), EFAULT, "nanosleep bad pointer");
    CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL), EINVAL,
             "clock_nanosleep tv_nsec 1e9 returns EINVAL");
    CHECK_EQ(clock_nanosleep(12345, 0, &req, NULL), EINVAL, "clock_nanosleep unknown clock");
    CHECK_EQ(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &req, NULL), EINVAL,
             "clock_nanosleep on CLOCK_THREAD_CPUTIME_ID");
    return cf_done();
}
