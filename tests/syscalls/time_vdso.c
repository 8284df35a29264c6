/* Conformance: clocks read through the vDSO (what the C library does for clock_gettime,
 * gettimeofday and time) agree with the system calls: AT_SYSINFO_EHDR names an ELF image; for
 * every monotonic clock, vDSO <= syscall <= vDSO over many rounds (under checkpoint torture
 * this crosses restores); realtime, gettimeofday and time agree; clocks the vDSO does not
 * serve still work or fail like the system call. Part of tests/syscalls. */
#include "conform.h"

#include <sys/auxv.h>
#include <sys/time.h>

static int64_t ns_of(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    const unsigned char *ehdr = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
    CHECK(ehdr != NULL, "AT_SYSINFO_EHDR is set");
    CHECK(ehdr && memcmp(ehdr, "\177ELF", 4) == 0, "and points at an ELF image");

    static const struct {
        clockid_t id;
        const char *name;
    } clocks[] = {
        {CLOCK_MONOTONIC, "CLOCK_MONOTONIC"},
        {CLOCK_MONOTONIC_RAW, "CLOCK_MONOTONIC_RAW"},
        {CLOCK_MONOTONIC_COARSE, "CLOCK_MONOTONIC_COARSE"},
        {CLOCK_BOOTTIME, "CLOCK_BOOTTIME"},
    };
    for (size_t c = 0; c < sizeof(clocks) / sizeof(clocks[0]); c++) {
        int bad = 0, errs = 0;
        for (int i = 0; i < 1500; i++) {
            struct timespec a, b, d;
            errs += clock_gettime(clocks[c].id, &a) != 0;
            errs += syscall(SYS_clock_gettime, clocks[c].id, &b) != 0;
            errs += clock_gettime(clocks[c].id, &d) != 0;
            if (ns_of(&a) > ns_of(&b) || ns_of(&b) > ns_of(&d))
                bad++;
        }
        CHECK(errs == 0 && bad == 0, "%s: vDSO <= syscall <= vDSO in 1500 rounds", clocks[c].name);
    }

    struct timespec rt, rs;
    struct timeval tv;
    struct timezone tz = {1, 1};
    CHECK_SYS(clock_gettime(CLOCK_REALTIME, &rt), "clock_gettime(CLOCK_REALTIME)");
    CHECK_SYS(syscall(SYS_clock_gettime, CLOCK_REALTIME, &rs), "the system call");
    CHECK(llabs(ns_of(&rt) - ns_of(&rs)) < 1000000000, "realtime: vDSO and syscall within 1 s");
    CHECK_SYS(gettimeofday(&tv, &tz), "gettimeofday with a timezone");
    CHECK(llabs((int64_t)tv.tv_sec - rt.tv_sec) <= 1, "gettimeofday agrees with CLOCK_REALTIME");
    CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000, "tv_usec in range");
    time_t t1 = time(NULL), t2 = 0;
    CHECK(llabs((int64_t)t1 - rt.tv_sec) <= 1, "time() agrees with CLOCK_REALTIME");
    CHECK(time(&t2) == t2 && llabs((int64_t)t2 - t1) <= 1, "time(&t) stores what it returns");

    struct timespec cpu;
    CHECK_SYS(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu), "a CPU clock through the library");
    CHECK(ns_of(&cpu) > 0, "it has counted this process's time");
    CHECK_ERR(clock_gettime((clockid_t)12345, &rt), EINVAL, "an unknown clock: EINVAL");
    return cf_done();
}
