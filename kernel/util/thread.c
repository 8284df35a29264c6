/* Thread helpers (thread.h). */
#include "kernel/util/thread.h"

cpu_set_t fb_cpus_before_pin;

bool fb_cpus_except(int cpu, cpu_set_t *out)
{
    *out = fb_cpus_before_pin;
    if (cpu >= 0 && cpu < CPU_SETSIZE)
        CPU_CLR(cpu, out);
    return CPU_COUNT(out) > 0;
}

int fb_thread_start_any_cpu(pthread_t *th, void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    cpu_set_t other;
    int r;

    if (!fb_cpus_except(sched_getcpu(), &other) || pthread_attr_init(&attr) != 0)
        return pthread_create(th, NULL, fn, arg);
    r = pthread_attr_setaffinity_np(&attr, sizeof(other), &other) == 0
            ? pthread_create(th, &attr, fn, arg)
            : -1;
    pthread_attr_destroy(&attr);
    return r == 0 ? 0 : pthread_create(th, NULL, fn, arg);
}
