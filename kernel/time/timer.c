/* Kernel timer thread (see timer.h). */
#include "kernel/time/timer.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>

#include "kernel/kernel.h"
#include "kernel/util/log.h"

static struct fb_list timers = FB_LIST_INIT(timers);
static pthread_cond_t timer_cond;

void fb_ktimer_arm(struct fb_ktimer *k, int64_t deadline_ns)
{
    if (k->armed)
        fb_list_del(&k->node);
    k->deadline_ns = deadline_ns;
    k->armed = true;
    fb_list_add_tail(&timers, &k->node);
    pthread_cond_signal(&timer_cond);
}

void fb_ktimer_cancel(struct fb_ktimer *k)
{
    if (k->armed) {
        fb_list_del(&k->node);
        k->armed = false;
    }
}

void fb_block_async_signals(void)
{
    static const int faults[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS};
    sigset_t set;

    sigfillset(&set);
    for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
        sigdelset(&set, faults[i]);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void *timer_main(void *arg)
{
    (void)arg;
    fb_block_async_signals();
    fb_kernel_lock();
    for (;;) {
        struct fb_list *pos;
        struct fb_ktimer *first = NULL;
        int64_t now = fb_app_mono_ns();

        fb_list_for_each(pos, &timers)
        {
            struct fb_ktimer *k = fb_list_entry(pos, struct fb_ktimer, node);
            if (!first || k->deadline_ns < first->deadline_ns)
                first = k;
        }
        if (!first) {
            pthread_cond_wait(&timer_cond, &fb_k->lock);
            continue;
        }
        if (first->deadline_ns <= now) {
            fb_ktimer_cancel(first);
            first->fire(first);
            continue;
        }
        {
            int64_t host = first->deadline_ns - fb_k->mono_offset_ns;
            struct timespec ts = {host / 1000000000, host % 1000000000};
            pthread_cond_timedwait(&timer_cond, &fb_k->lock, &ts);
        }
    }
    return NULL;
}

int fb_ktimer_start(void)
{
    pthread_condattr_t ca;
    pthread_t th;
    int r;

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&timer_cond, &ca);
    pthread_condattr_destroy(&ca);
    r = pthread_create(&th, NULL, timer_main, NULL);
    if (r)
        return -r;
    pthread_detach(th);
    return 0;
}
