/* Thread helpers shared by the Sentry's layers. */
#ifndef FB_UTIL_THREAD_H
#define FB_UTIL_THREAD_H

#include <pthread.h>
#include <sched.h>

/* Start a helper thread on another CPU than the caller's: a sandbox is pinned to one CPU
 * (api/sandbox.c), but a short burst of parallel work (decompressing an image at restore)
 * should use another (left to the host scheduler, a new thread stays on its parent's CPU).
 * The kernel keeps the mask within the CPUs the process may use; with no other CPU allowed
 * the thread runs where it can. Returns as pthread_create. */
static inline int fb_thread_start_any_cpu(pthread_t *th, void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    cpu_set_t all;
    int r;

    CPU_ZERO(&all);
    for (int c = 0; c < CPU_SETSIZE; c++)
        CPU_SET(c, &all);
    if ((r = sched_getcpu()) >= 0 && r < CPU_SETSIZE)
        CPU_CLR(r, &all);
    if (pthread_attr_init(&attr) != 0)
        return pthread_create(th, NULL, fn, arg);
    r = pthread_attr_setaffinity_np(&attr, sizeof(all), &all) == 0
            ? pthread_create(th, &attr, fn, arg)
            : -1;
    pthread_attr_destroy(&attr);
    return r == 0 ? 0 : pthread_create(th, NULL, fn, arg);
}

#endif
