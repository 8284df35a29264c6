/* Time system calls: clocks (host clocks plus the kernel's offsets), sleeps, and interval timers. */
#include "kernel/syscalls/syscall.h"

#include <errno.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "kernel/mm/mm.h"
#include "kernel/signal/signal.h"
#include "kernel/syscalls/sys_util.h"
#include "kernel/util/cleanup.h"

#define NS 1000000000ll

int fb_get_timespec(struct fb_task *t, uint64_t uaddr, int64_t *ns)
{
    struct timespec ts;
    if (fb_mm_copy_in(t->mm, uaddr, &ts, sizeof(ts)) != 0)
        return -EFAULT;
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= NS)
        return -EINVAL;
    *ns = ts.tv_sec > INT64_MAX / NS / 4 ? INT64_MAX / 4 : ts.tv_sec * NS + ts.tv_nsec;
    return 0;
}

int fb_put_timespec(struct fb_task *t, uint64_t uaddr, int64_t ns)
{
    struct timespec ts = {ns / NS, ns % NS};
    return fb_mm_copy_out(t->mm, uaddr, &ts, sizeof(ts)) ? -EFAULT : 0;
}

/* Read an application clock; -EINVAL for unknown clocks. */
static int read_clock(struct fb_task *t, int id, int64_t *ns)
{
    switch (id) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_TAI:
        *ns = fb_app_real_ns();
        return 0;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_BOOTTIME:
        *ns = fb_app_mono_ns();
        return 0;
    case CLOCK_PROCESS_CPUTIME_ID:
        *ns = t->tg->utime_ns + t->tg->stime_ns;
        return 0;
    case CLOCK_THREAD_CPUTIME_ID:
        *ns = t->utime_ns + t->stime_ns;
        return 0;
    default:
        return -EINVAL;
    }
}

FB_SYSCALL(clock_gettime)
{
    int64_t ns;
    int r = read_clock(t, ARG_INT(0), &ns);
    if (r < 0)
        return r;
    return fb_put_timespec(t, a[1], ns);
}

FB_SYSCALL(clock_getres)
{
    int64_t ns;
    int r = read_clock(t, ARG_INT(0), &ns);
    if (r < 0)
        return r;
    if (!a[1])
        return 0;
    return fb_put_timespec(t, a[1],
                           (ARG_INT(0) == CLOCK_REALTIME_COARSE ||
                            ARG_INT(0) == CLOCK_MONOTONIC_COARSE)
                               ? 4000000
                               : 1);
}

FB_SYSCALL(gettimeofday)
{
    int64_t ns = fb_app_real_ns();
    if (a[0]) {
        struct timeval tv = {ns / NS, (ns % NS) / 1000};
        if (fb_mm_copy_out(t->mm, a[0], &tv, sizeof(tv)) != 0)
            return -EFAULT;
    }
    if (a[1]) {
        struct timezone tz = {0, 0};
        if (fb_mm_copy_out(t->mm, a[1], &tz, sizeof(tz)) != 0)
            return -EFAULT;
    }
    return 0;
}

FB_SYSCALL(time)
{
    int64_t s = fb_app_real_ns() / NS;
    if (a[0] && fb_mm_copy_out(t->mm, a[0], &s, sizeof(s)) != 0)
        return -EFAULT;
    return s;
}

FB_SYSCALL(settimeofday)
{
    (void)t;
    (void)a;
    return -EPERM; /* the sandbox clock follows the host's */
}

FB_SYSCALL(clock_settime)
{
    (void)t;
    (void)a;
    return -EPERM;
}

/* Sleep until deadline (application monotonic). */
static int64_t sleep_until(struct fb_task *t, int64_t deadline, uint64_t urem)
{
    for (;;) {
        int r = fb_task_sleep(t, deadline);
        if (r == -ETIMEDOUT)
            return 0;
        if (r == -EINTR) {
            if (urem) {
                int64_t left = deadline - fb_app_mono_ns();
                fb_put_timespec(t, urem, left > 0 ? left : 0);
            }
            return -FB_ERESTARTNOHAND;
        }
    }
}

FB_SYSCALL(nanosleep)
{
    int64_t ns;
    int r = fb_get_timespec(t, a[0], &ns);
    if (r < 0)
        return r;
    return sleep_until(t, fb_task_deadline(t, ns), a[1]);
}

FB_SYSCALL(clock_nanosleep)
{
    int id = ARG_INT(0), flags = ARG_INT(1);
    int64_t ns, deadline;
    int r;

    if (id != CLOCK_REALTIME && id != CLOCK_MONOTONIC && id != CLOCK_BOOTTIME &&
        id != CLOCK_TAI)
        return id == CLOCK_THREAD_CPUTIME_ID ? -EINVAL : -EOPNOTSUPP;
    if (flags & ~TIMER_ABSTIME)
        return -EINVAL;
    r = fb_get_timespec(t, a[2], &ns);
    if (r < 0)
        return r;
    if (flags & TIMER_ABSTIME) {
        deadline = (id == CLOCK_REALTIME || id == CLOCK_TAI)
                       ? fb_app_mono_ns() + (ns - fb_app_real_ns())
                       : ns;
        if (deadline <= 0)
            deadline = 1;
        r = (int)sleep_until(t, deadline, 0);
        return r == -FB_ERESTARTNOHAND ? -FB_ERESTARTNOHAND : r;
    }
    return sleep_until(t, fb_task_deadline(t, ns), a[3]);
}

/* ---- interval timers -------------------------------------------------------------------------------- */

static void itimer_real_fire(struct fb_ktimer *k)
{
    struct fb_thread_group *tg = fb_container_of(k, struct fb_thread_group, itimer_real);
    siginfo_t si;

    memset(&si, 0, sizeof(si));
    si.si_signo = SIGALRM;
    si.si_code = SI_TIMER;
    if (tg->state != FB_TG_LIVE)
        return;
    if (tg->itimer_real_interval_ns)
        fb_ktimer_arm(k, k->deadline_ns + tg->itimer_real_interval_ns);
    fb_signal_send_tg(tg, SIGALRM, &si);
}

static struct itimerval real_value(struct fb_thread_group *tg)
{
    struct itimerval v;
    int64_t left = tg->itimer_real.armed ? tg->itimer_real.deadline_ns - fb_app_mono_ns() : 0;
    if (tg->itimer_real.armed && left <= 0)
        left = 1000;
    v.it_value.tv_sec = left / NS;
    v.it_value.tv_usec = (left % NS) / 1000;
    v.it_interval.tv_sec = tg->itimer_real_interval_ns / NS;
    v.it_interval.tv_usec = (tg->itimer_real_interval_ns % NS) / 1000;
    return v;
}

static int64_t tv_ns(const struct timeval *tv)
{
    return tv->tv_sec * NS + tv->tv_usec * 1000;
}

static int set_real(struct fb_thread_group *tg, const struct itimerval *nv)
{
    tg->itimer_real.fire = itimer_real_fire;
    fb_ktimer_cancel(&tg->itimer_real);
    tg->itimer_real_interval_ns = tv_ns(&nv->it_interval);
    if (nv->it_value.tv_sec || nv->it_value.tv_usec)
        fb_ktimer_arm(&tg->itimer_real, fb_app_mono_ns() + tv_ns(&nv->it_value));
    return 0;
}

FB_SYSCALL(getitimer)
{
    struct itimerval v;
    switch (ARG_INT(0)) {
    case ITIMER_REAL:
        v = real_value(t->tg);
        break;
    case ITIMER_VIRTUAL:
        v = t->tg->itimer_virt;
        break;
    case ITIMER_PROF:
        v = t->tg->itimer_prof;
        break;
    default:
        return -EINVAL;
    }
    return fb_mm_copy_out(t->mm, a[1], &v, sizeof(v)) ? -EFAULT : 0;
}

FB_SYSCALL(setitimer)
{
    struct itimerval nv, old;
    int which = ARG_INT(0);

    memset(&nv, 0, sizeof(nv));
    if (a[1] && fb_mm_copy_in(t->mm, a[1], &nv, sizeof(nv)) != 0)
        return -EFAULT;
    if (nv.it_value.tv_usec < 0 || nv.it_value.tv_usec >= 1000000 || nv.it_value.tv_sec < 0 ||
        nv.it_interval.tv_usec < 0 || nv.it_interval.tv_usec >= 1000000 ||
        nv.it_interval.tv_sec < 0)
        return -EINVAL;
    switch (which) {
    case ITIMER_REAL:
        old = real_value(t->tg);
        set_real(t->tg, &nv);
        break;
    case ITIMER_VIRTUAL:
        old = t->tg->itimer_virt;
        t->tg->itimer_virt = nv;
        break;
    case ITIMER_PROF:
        old = t->tg->itimer_prof;
        t->tg->itimer_prof = nv;
        break;
    default:
        return -EINVAL;
    }
    if (a[2] && fb_mm_copy_out(t->mm, a[2], &old, sizeof(old)) != 0)
        return -EFAULT;
    return 0;
}

FB_SYSCALL(alarm)
{
    struct itimerval old = real_value(t->tg), nv;
    int64_t left;
    memset(&nv, 0, sizeof(nv));
    nv.it_value.tv_sec = (time_t)(uint32_t)a[0];
    set_real(t->tg, &nv);
    left = old.it_value.tv_sec + (old.it_value.tv_usec >= 500000 ? 1 : 0);
    if (!left && (old.it_value.tv_usec))
        left = 1;
    return left;
}
