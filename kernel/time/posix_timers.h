/* CPU-time clocks (clock ids that name a process or a thread), the CPU-time interval timers
 * (ITIMER_VIRTUAL, ITIMER_PROF) and POSIX timers (timer_create & co). Used by the time syscalls
 * (kernel/syscalls/sys_time.c); timers fire from kernel timers (timer.h) or from the run loop's
 * CPU accounting (fb_cputimers_account). Everything here runs under the kernel lock. */
#ifndef FB_TIME_POSIX_TIMERS_H
#define FB_TIME_POSIX_TIMERS_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>

#include "kernel/task/task.h"

/* Linux's encoding of CPU clock ids: (~pid << 3) | (per-thread << 2) | which; pid 0 = self.
 * CLOCK_PROCESS_CPUTIME_ID and CLOCK_THREAD_CPUTIME_ID are the SCHED clocks of pid 0. */
#define FB_CPUCLOCK_PROF  0 /* user + system */
#define FB_CPUCLOCK_VIRT  1 /* user */
#define FB_CPUCLOCK_SCHED 2 /* runtime (user + system here) */

struct fb_cpuclock {
    int which;                  /* FB_CPUCLOCK_* */
    struct fb_thread_group *tg; /* the process (of the thread, for thread clocks) */
    struct fb_task *task;       /* the thread for a thread clock, else NULL */
};

/* Does id name a CPU clock (as opposed to REALTIME, MONOTONIC, ...)? Says nothing of validity. */
bool fb_cpuclock_is(clockid_t id);
/* Resolve CPU clock `id` for task t: 0 with *out filled, or -EINVAL (bad encoding, no such
 * process or thread, a thread of another process). With `gettime`, the caller's own thread id
 * also names its process clock (Linux allows that for reading only). Kernel lock held. */
int fb_cpuclock_get(struct fb_task *t, clockid_t id, bool gettime, struct fb_cpuclock *out);
/* Current value of a resolved CPU clock, in ns. */
int64_t fb_cpuclock_read(const struct fb_cpuclock *c);
/* Resolution reported by clock_getres for a resolved CPU clock, in ns. */
int64_t fb_cpuclock_res(const struct fb_cpuclock *c);

/* getitimer/setitimer for ITIMER_VIRTUAL and ITIMER_PROF (which is validated by the caller).
 * `old` (optional) receives the previous setting. */
void fb_cpu_itimer_get(struct fb_thread_group *tg, int which, struct itimerval *out);
void fb_cpu_itimer_set(struct fb_thread_group *tg, int which, const struct itimerval *nv,
                       struct itimerval *old);

/* Called by the run loop after CPU time was accounted to a thread of tg (only when
 * tg->nr_cpu_timers): sends the signals of the CPU-time timers that expired. */
void fb_cputimers_account(struct fb_thread_group *tg);

/* The POSIX timer system calls: arguments as the application passed them (user addresses).
 * Return 0 or -errno. */
int64_t fb_timer_create(struct fb_task *t, clockid_t clock, uint64_t usevp, uint64_t uid);
int64_t fb_timer_settime(struct fb_task *t, int id, int flags, uint64_t unew, uint64_t uold);
int64_t fb_timer_gettime(struct fb_task *t, int id, uint64_t ucur);
int64_t fb_timer_getoverrun(struct fb_task *t, int id);
int64_t fb_timer_delete(struct fb_task *t, int id);

/* A SI_TIMER signal of tg is being dequeued for delivery: fill in its overrun count (the
 * expirations that happened while it was pending) and remember it for timer_getoverrun. */
void fb_posix_timer_dequeued(struct fb_thread_group *tg, siginfo_t *info);
/* Thread t is exiting: timers on its CPU clock stop and SIGEV_THREAD_ID timers aimed at it
 * fall silent. */
void fb_posix_timers_task_exit(struct fb_task *t);

/* Checkpoint support: timers are written with their absolute expiry in their own clock (CPU
 * clocks are saved with the threads' CPU times, so they continue) and re-armed on load (after
 * the threads exist: SIGEV_THREAD_ID targets and thread clocks are tids). */
struct fb_sw;
struct fb_sr;
void fb_posix_timers_save(const struct fb_thread_group *tg, struct fb_sw *w);
int fb_posix_timers_load(struct fb_thread_group *tg, struct fb_sr *r);
/* Delete every POSIX timer of tg (exec and exit). */
void fb_posix_timers_delete_all(struct fb_thread_group *tg);
/* The process is gone: stop every timer it owns (POSIX, CPU itimers and the CPU tick). */
void fb_cputimers_exit(struct fb_thread_group *tg);

#endif
