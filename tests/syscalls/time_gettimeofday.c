/* Conformance: gettimeofday, time() and CLOCK_REALTIME agree within a second; the timezone
 * argument, NULLs, and bad pointers. Part of tests/syscalls (native == fnbox). */
#include "conform.h"
#include <sys/time.h>

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    struct timeval tv;
    struct timespec ts;
    CHECK_SYS(gettimeofday(&tv, NULL), "gettimeofday");
    CHECK_SYS(clock_gettime(CLOCK_REALTIME, &ts), "clock_gettime(CLOCK_REALTIME)");
    time_t t = time(NULL);
    CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000, "tv_usec in [0, 1e6)");
    CHECK(llabs((long long)ts.tv_sec - tv.tv_sec) <= 1,
          "gettimeofday within 1 s of CLOCK_REALTIME");
    CHECK(llabs((long long)t - tv.tv_sec) <= 1, "time() within 1 s of gettimeofday");
    time_t t2 = 0;
    CHECK(time(&t2) == t2, "time(&t) stores and returns the same value");
    CHECK((long)syscall(SYS_time, NULL) >= t, "raw time syscall does not go backwards");
    struct timeval r;
    CHECK_SYS(syscall(SYS_gettimeofday, &r, NULL), "raw gettimeofday");
    struct timezone tz = {12345, 12345};
    CHECK_SYS(syscall(SYS_gettimeofday, &r, &tz), "raw gettimeofday with a timezone");
    CHECK(tz.tz_minuteswest == 0 && tz.tz_dsttime == 0, "kernel timezone is UTC with no DST");
    CHECK_SYS(syscall(SYS_gettimeofday, NULL, NULL), "raw gettimeofday with NULLs");
    CHECK_ERR(syscall(SYS_gettimeofday, (void *)8, NULL), EFAULT, "raw gettimeofday bad pointer");
    CHECK_ERR(syscall(SYS_time, (void *)8), EFAULT, "raw time with a bad pointer");

    /* Successive readings never go backwards by more than a tiny amount (NTP slews only). */
    bool ok = true;
    struct timeval prev = tv, now;
    for (int i = 0; i < 100; i++) {
        gettimeofday(&now, NULL);
        long long d = (now.tv_sec - prev.tv_sec) * 1000000LL + (now.tv_usec - prev.tv_usec);
        ok &= d >= -1000;
        prev = now;
    }
    CHECK(ok, "100 gettimeofday readings do not go backwards");
    struct timeval bad = {0, 2000000};
    CHECK_ERR(settimeofday(&bad, NULL), EINVAL, "settimeofday with tv_usec 2e6");
    return cf_done();
}
