/* Kernel timers: callbacks run by one Sentry thread, under the kernel lock, at an application
 * monotonic deadline (alarm/setitimer, and anything else that must fire without a task). */
#ifndef FB_TIME_TIMER_H
#define FB_TIME_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/util/list.h"

struct fb_ktimer {
    struct fb_list node;
    int64_t deadline_ns;
    bool armed;
    void (*fire)(struct fb_ktimer *k);
};

/* For the Sentry's own threads: block every signal except synchronous faults (SIGSEGV, SIGBUS,
 * SIGILL, SIGFPE, SIGTRAP, SIGSYS), so that a crash on any thread reaches the crash handler
 * instead of killing the Sentry without a word. */
void fb_block_async_signals(void);
/* Start the timer thread (kernel boot). */
int fb_ktimer_start(void);
/* (Re)arm or cancel; kernel lock held. */
void fb_ktimer_arm(struct fb_ktimer *k, int64_t deadline_ns);
void fb_ktimer_cancel(struct fb_ktimer *k);
/* Restore a process's ITIMER_REAL (checkpoint restore; sys_time.c): armed at deadline_ns
 * (application monotonic) unless 0. */
struct fb_thread_group;
void fb_itimer_real_restore(struct fb_thread_group *tg, int64_t deadline_ns, int64_t interval_ns);

#endif
