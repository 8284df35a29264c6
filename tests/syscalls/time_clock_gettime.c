/* Conformance: clock_gettime for REALTIME, MONOTONIC, BOOTTIME, *_COARSE, PROCESS/THREAD_CPUTIME
 * never goes backwards, clock_getres, and the errors (EINVAL, EFAULT through the raw syscall).
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

static const struct {
    clockid_t id;
    const char *name;
} clocks[] = {
    {CLOCK_REALTIME, "CLOCK_REALTIME"},
    {CLOCK_MONOTONIC, "CLOCK_MONOTONIC"},
    {CLOCK_BOOTTIME, "CLOCK_BOOTTIME"},
    {CLOCK_MONOTONIC_RAW, "CLOCK_MONOTONIC_RAW"},
    {CLOCK_REALTIME_COARSE, "CLOCK_REALTIME_COARSE"},
    {CLOCK_MONOTONIC_COARSE, "CLOCK_MONOTONIC_COARSE"},
    {CLOCK_PROCESS_CPUTIME_ID, "CLOCK_PROCESS_CPUTIME_ID"},
    {CLOCK_THREAD_CPUTIME_ID, "CLOCK_THREAD_CPUTIME_ID"},
};

static int64_t ns(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    for (size_t c = 0; c < sizeof(clocks) / sizeof(clocks[0]); c++) {
        struct timespec prev, now, res;
        bool ok = clock_gettime(clocks[c].id, &prev) == 0, mono = true, valid = true;
        for (int i = 0; i < 200 && ok; i++) {
            ok &= syscall(SYS_clock_gettime, clocks[c].id, &now) == 0;
            mono &= ns(now) >= ns(prev);
            valid &= now.tv_nsec >= 0 && now.tv_nsec < 1000000000 && now.tv_sec >= 0;
            prev = now;
        }
        CHECK(ok, "%s: clock_gettime works", clocks[c].name);
        CHECK(mono, "%s: 200 readings never go backwards", clocks[c].name);
        CHECK(valid, "%s: tv_nsec in [0, 1e9)", clocks[c].name);
        CHECK_SYS(clock_getres(clocks[c].id, &res), "%s: clock_getres", clocks[c].name);
        CHECK(res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 10000000,
              "%s: resolution in (0, 10 ms]", clocks[c].name);
    }
    struct timespec rt, mono, boot;
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_BOOTTIME, &boot);
    CHECK(rt.tv_sec > 1600000000, "CLOCK_REALTIME is after 2020");
    CHECK(ns(boot) >= ns(mono) - 1000000, "CLOCK_BOOTTIME >= CLOCK_MONOTONIC");
    struct timespec r1;
    clock_getres(CLOCK_REALTIME, &r1);
    CHECK_EQ(r1.tv_nsec, 1, "CLOCK_REALTIME resolution is 1 ns");

    /* A busy loop makes monotonic time advance. */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do
        clock_gettime(CLOCK_MONOTONIC, &b);
    while (ns(b) - ns(a) < 2000000);
    CHECK(ns(b) - ns(a) >= 2000000, "CLOCK_MONOTONIC advances (2 ms busy wait ends)");

    struct timespec t;
    CHECK_ERR(clock_gettime(12345, &t), EINVAL, "clock_gettime of an unknown clock");
    CHECK_ERR(clock_getres(12345, &t), EINVAL, "clock_getres of an unknown clock");
    CHECK_ERR(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (void *)8), EFAULT,
              "raw clock_gettime to a bad pointer");
    CHECK_SYS(syscall(SYS_clock_getres, CLOCK_MONOTONIC, NULL), "clock_getres with NULL result");
    CHECK_ERR(clock_settime(CLOCK_MONOTONIC, &rt), EINVAL, "clock_settime(CLOCK_MONOTONIC)");
    return cf_done();
}
