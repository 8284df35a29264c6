/* Application clocks: host clocks plus offsets held by the kernel. CLOCK_MONOTONIC continues
 * across a restore (the offset absorbs the host difference); CLOCK_REALTIME is the host's. */
#include "kernel/kernel.h"

#include <time.h>

static int64_t ts_ns(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

int64_t fb_host_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts_ns(&ts);
}

int64_t fb_app_mono_ns(void)
{
    return fb_host_mono_ns() + (fb_k ? fb_k->mono_offset_ns : 0);
}

int64_t fb_app_real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts_ns(&ts);
}
