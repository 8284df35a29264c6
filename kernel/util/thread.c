/* Thread helpers (thread.h). */
#include "kernel/util/thread.h"

cpu_set_t fb_cpus_before_pin;

bool fb_cpus_other_than_mine(cpu_set_t *out)
{
    int me = sched_getcpu();

    *out = fb_cpus_before_pin;
    if (me >= 0 && me < CPU_SETSIZE)
        CPU_CLR(me, out);
    return CPU_COUNT(out) > 0;
}

int fb_thread_start_any_cpu(pthread_t *th, void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    cpu_set_t other;
    int r;

    if (!fb_cpus_other_than_mine(&other) || pthread_attr_init(&attr) != 0)
        return pthread_create(th, NULL, fn, arg);
    r = pthread_attr_setaffinity_np(&attr, sizeof(other), &other) == 0
            ? pthread_create(th, &attr, fn, arg)
            : -1;
    pthread_attr_destroy(&attr);
    return r == 0 ? 0 : pthread_create(th, NULL, fn, arg);
}
