/* Thread helpers shared by the Sentry's layers. */
#ifndef FB_UTIL_THREAD_H
#define FB_UTIL_THREAD_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>

/* The CPUs this process could use before the sandbox pinned itself to one (api/sandbox.c);
 * empty if it never did. */
extern cpu_set_t fb_cpus_before_pin;

/* Start a helper thread on another CPU than the caller's: a sandbox is pinned to one CPU,
 * but a short burst of parallel work (decompressing an image at restore) should use another
 * (left to the host scheduler, a new thread stays on its parent's CPU). Only CPUs the process
 * could use before the pin (taskset, cpusets) are taken; with none other, the thread starts
 * like any. Returns as pthread_create. */
int fb_thread_start_any_cpu(pthread_t *th, void *(*fn)(void *), void *arg);

/* fb_cpus_before_pin without `cpu`: false if that leaves none (or nothing was pinned). */
bool fb_cpus_except(int cpu, cpu_set_t *out);

#endif
