/* fnbox's vDSO: mapped into every application address space ([vdso], AT_SYSINFO_EHDR) so that
 * the C library reads clocks without a system call -- under ptrace, a system call costs two
 * host context switches, and runtimes read clocks hundreds of times while they start.
 *
 * Built freestanding as its own tiny shared object (vdso.lds) and embedded in the Sentry
 * (vdso_blob.S); never linked into fnbox itself. The clocks are the host's, read through the
 * host's own vDSO, which the platform places at a fixed address in every stub, plus the
 * kernel's CLOCK_MONOTONIC offset: both come from the parameters at FB_VDSO_PARAMS_ADDR
 * (read-only to the application). The clock mapping is the Sentry's (sys_time.c): realtime
 * clocks read host CLOCK_REALTIME, monotonic ones host CLOCK_MONOTONIC plus the offset. Any
 * other clock, missing parameters (an older layout, no host vDSO) or a host error: the real
 * system call, which the Sentry answers. */
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "platform/platform.h"

#define NS 1000000000ll

typedef int (*host_clock_gettime_fn)(clockid_t, struct timespec *);

static long sys2(long nr, long a, long b)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return r;
}

static const volatile struct fb_vdso_params *params(void)
{
    const volatile struct fb_vdso_params *p = (const volatile void *)FB_VDSO_PARAMS_ADDR;
    return p->magic == FB_VDSO_PARAMS_MAGIC && p->clock_gettime ? p : 0;
}

int __vdso_clock_gettime(clockid_t clk, struct timespec *ts)
{
    const volatile struct fb_vdso_params *p = params();
    host_clock_gettime_fn f;
    int64_t off, ns;
    uint64_t gen;
    clockid_t host;

    switch (clk) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_TAI:
        host = CLOCK_REALTIME;
        break;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_BOOTTIME:
        host = CLOCK_MONOTONIC;
        break;
    default:
        goto sys;
    }
    if (!p)
        goto sys;
    /* The host time and the offset must come from the same Sentry: a checkpoint can stop this
     * thread anywhere in here and a restore resume it under new parameters (generation). */
    do {
        gen = p->generation;
        off = p->mono_offset_ns;
        f = (host_clock_gettime_fn)(uintptr_t)p->clock_gettime;
        if (f(host, ts) != 0)
            goto sys;
    } while (p->generation != gen);
    if (host == CLOCK_MONOTONIC && off) {
        ns = ts->tv_sec * NS + ts->tv_nsec + off;
        ts->tv_sec = ns / NS;
        ts->tv_nsec = ns % NS;
    }
    return 0;
sys:
    return (int)sys2(SYS_clock_gettime, clk, (long)ts);
}

int __vdso_gettimeofday(struct timeval *tv, struct timezone *tz)
{
    const volatile struct fb_vdso_params *p = params();
    struct timespec ts;

    if (!p || (tv && ((host_clock_gettime_fn)(uintptr_t)p->clock_gettime)(CLOCK_REALTIME, &ts)))
        return (int)sys2(SYS_gettimeofday, (long)tv, (long)tz);
    if (tv) {
        tv->tv_sec = ts.tv_sec;
        tv->tv_usec = ts.tv_nsec / 1000;
    }
    if (tz) {
        tz->tz_minuteswest = 0;
        tz->tz_dsttime = 0;
    }
    return 0;
}

time_t __vdso_time(time_t *t)
{
    const volatile struct fb_vdso_params *p = params();
    struct timespec ts;

    if (!p || ((host_clock_gettime_fn)(uintptr_t)p->clock_gettime)(CLOCK_REALTIME, &ts))
        return (time_t)sys2(SYS_time, (long)t, 0);
    if (t)
        *t = ts.tv_sec;
    return ts.tv_sec;
}

int clock_gettime(clockid_t, struct timespec *)
    __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct timeval *, void *) __attribute__((weak, alias("__vdso_gettimeofday")));
time_t time(time_t *) __attribute__((weak, alias("__vdso_time")));
